#!/usr/bin/env bash
# Installs everything pgdr needs to build, test and demo, from Debian's
# packages and npm. Idempotent: installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  # build
  build-essential cmake ninja-build pkg-config git clang-format clang-tidy
  # libraries (DESIGN.md §2)
  libpq-dev prometheus-cpp-dev libcivetweb-dev libyaml-cpp-dev nlohmann-json3-dev libspdlog-dev
  libre2-dev libcurl4-openssl-dev libssl-dev libpugixml-dev libcli11-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  # real servers for the tests and the demo (DESIGN.md §7)
  postgresql-15 postgresql-client-15 prometheus prometheus-alertmanager pgbouncer
  barman-cli-cloud pgbackrest
  # test runner and tools
  python3 procps iproute2 curl
)
# Node.js and npm: Debian's packages unless the machine already has its own.
command -v node >/dev/null || packages+=(nodejs)
command -v npm >/dev/null || packages+=(npm)
if [[ -f scripts/packages-extra.txt ]]; then
  while read -r pkg; do
    [[ -n "$pkg" && "$pkg" != \#* ]] && packages+=("$pkg")
  done < scripts/packages-extra.txt
fi

missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Debian starts a cluster and services on install; the tests start their own.
for svc in postgresql prometheus prometheus-alertmanager pgbouncer; do
  if command -v systemctl >/dev/null && systemctl is-active --quiet "$svc" 2>/dev/null; then
    systemctl stop "$svc" 2>/dev/null || true
  fi
done

# npm tools (s3rver, azurite, ...) into .npm-tools, outside the source tree's build.
if [[ -f scripts/npm-packages.txt ]]; then
  mapfile -t npm_pkgs < <(grep -v '^\s*\(#\|$\)' scripts/npm-packages.txt)
  need=()
  for pkg in "${npm_pkgs[@]}"; do
    name="${pkg%@*}"
    [[ -z "$name" ]] && name="$pkg"
    [[ -d ".npm-tools/node_modules/$name" ]] || need+=("$pkg")
  done
  # The whole list every time: npm prunes what a --no-save install does not name.
  if ((${#need[@]})); then
    echo "setup: npm install ${npm_pkgs[*]} (missing: ${need[*]})"
    npm install --no-save --no-audit --no-fund --loglevel=error --prefix .npm-tools "${npm_pkgs[@]}" >/dev/null
  fi
fi
echo "setup: ok"

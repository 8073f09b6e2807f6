#!/usr/bin/env bash
# Benchmarks pgdr_exporter against prometheus-postgres-exporter, its latency
# floor, and its scale to 500 targets (issue 7; method in docs/benchmarks.md),
# the object-store poll cost, and the rule evaluator against a real Prometheus
# (method in docs/evaluator.md).
#
#   scripts/bench.sh            full run (< 25 min on 2 cores), writes bench/results.json
#                               and bench/evaluator_results.json
#   scripts/bench.sh --smoke    tiny run (< 3 min once built), writes build-bench/*-smoke.json
#
#   scripts/bench.sh --phases restore   restore time vs barman-cloud by hand (~30 min;
#                               not in the default set): PGDR_BENCH_RESTORE_SCALE (70),
#                               PGDR_BENCH_RESTORE_MINUTES (10), PGDR_BENCH_RESTORE_RATE
#                               (200 tps, 0 = unthrottled), PGDR_BENCH_RESTORE_ROUNDS (1)
#
# Options: --smoke, --out FILE (bench.py's results), --no-build (use
# $PGDR_EXPORTER or the existing build-bench binaries), --phases
# comparison,latency,scale,store,evaluator,restore (default: all but restore).
# Installs what it needs from Debian (idempotent), builds a Release binary in
# build-bench/, starts everything on loopback and stops it all on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

smoke=0 build=1 out="" phases=""
while (($#)); do
  case "$1" in
    --smoke) smoke=1 ;;
    --no-build) build=0 ;;
    --out) out="$2"; shift ;;
    --out=*) out="${1#--out=}" ;;
    --phases) phases="$2"; shift ;;
    --phases=*) phases="${1#--phases=}" ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "bench.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
# want PHASE: true when PHASE was asked for (or no --phases was given).
want() { [[ -z "$phases" || ",$phases," == *",$1,"* ]]; }
# bench.py's own phases, in the order given.
py_phases=$(tr ',' '\n' <<<"$phases" | grep -xE 'comparison|latency|scale|restore' | paste -sd, - || true)

# ---- packages (only what is missing)
packages=(
  build-essential cmake ninja-build pkg-config
  libpq-dev prometheus-cpp-dev libcivetweb-dev libyaml-cpp-dev nlohmann-json3-dev libspdlog-dev
  libre2-dev libcurl4-openssl-dev libssl-dev libpugixml-dev libcli11-dev
  postgresql-15 postgresql-contrib-15 postgresql-client-15 prometheus-postgres-exporter
  python3 python3-yaml procps util-linux
)
want restore && [[ -n "$phases" ]] && packages+=(barman-cli-cloud nodejs)
missing=()
for pkg in "${packages[@]}"; do
  # postgresql-contrib-15 is a virtual package provided by postgresql-15 on Debian 12
  if [[ "$pkg" == postgresql-contrib-15 ]]; then
    [[ -f /usr/lib/postgresql/15/lib/pg_stat_statements.so ]] || missing+=("$pkg")
    continue
  fi
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "bench: installing ${missing[*]}"
  SUDO=""
  [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian may start services on install; the bench starts its own, on free ports.
if command -v systemctl >/dev/null; then
  for svc in postgresql prometheus-postgres-exporter; do
    systemctl is-active --quiet "$svc" 2>/dev/null && systemctl stop "$svc" 2>/dev/null || true
  done
fi

# ---- Release build, in its own build directory
if ((build)); then
  # Warnings are errors here too: the tree builds clean at -O3 (scripts/build.sh
  # and test.sh check -O2).
  cmake -S "$root" -B "$root/build-bench" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DPGDR_WERROR=ON >/dev/null
  targets=()
  [[ -z "$phases" || -n "$py_phases" ]] && targets+=(pgdr_exporter)
  want store && targets+=(store_poll_bench)
  want evaluator && targets+=(evaluator_bench)
  ((${#targets[@]} == 0)) || ninja -C "$root/build-bench" -j"$(nproc)" "${targets[@]}"
fi

# ---- Object-store poll cost against history (issue 3): Google Benchmark,
# an in-process S3 server and a local directory, 100 vs 50,000 segments.
store_bench="$root/build-bench/tests/bench/store_poll_bench"
if want store && [[ -x "$store_bench" ]]; then
  if ((smoke)); then
    "$store_bench" --benchmark_filter='/100$' --benchmark_min_time=0.05
  else
    "$store_bench" --benchmark_repetitions=3 --benchmark_report_aggregates_only=true \
      --benchmark_out="$root/bench/store_poll.json" --benchmark_out_format=json
  fi
fi
py=python3
"$py" -c 'import yaml' 2>/dev/null || py=/usr/bin/python3
# run_py SCRIPT ARGS...: the Python benches stop every process they started
# (harness.TempDir) on exit, error, SIGINT and SIGTERM; the trap forwards a
# signal to them and waits.
run_py() {
  "$py" "$@" &
  child=$!
  trap 'kill -TERM "$child" 2>/dev/null || true; wait "$child" 2>/dev/null || true' INT TERM
  trap 'kill -TERM "$child" 2>/dev/null || true' EXIT
  local status=0
  wait "$child" || status=$?
  trap - EXIT INT TERM
  return "$status"
}

# ---- Rule evaluation (docs/evaluator.md): the built-in evaluator vs a real
# Prometheus 2.42 on the same data: rules/*.yml over a simulated 200-member
# fleet, and rules_large.yml (10,002 rules). ~4 min; smoke ~1 min.
if want evaluator; then
  eval_driver="$root/build-bench/tests/bench/evaluator_bench"
  [[ -x "$eval_driver" ]] || { echo "bench: no driver at $eval_driver" >&2; exit 1; }
  # rules_large.yml is in the conformance suites: $PGDR_CONFORMANCE_DIR, else
  # the default CMake recorded.
  if [[ -z "${PGDR_CONFORMANCE_DIR:-}" && -f "$root/build-bench/CMakeCache.txt" ]]; then
    export PGDR_CONFORMANCE_DEFAULT
    PGDR_CONFORMANCE_DEFAULT=$(sed -n 's/^PGDR_CONFORMANCE_DEFAULT:INTERNAL=//p' \
      "$root/build-bench/CMakeCache.txt")
  fi
  if ((smoke)); then
    run_py "$root/bench/evaluator_bench.py" --driver "$eval_driver" --smoke \
      --out "$root/build-bench/evaluator-results-smoke.json"
  else
    run_py "$root/bench/evaluator_bench.py" --driver "$eval_driver" \
      --out "$root/bench/evaluator_results.json"
  fi
fi

# ---- pgdr_exporter vs postgres_exporter, latency floor, scale (bench/bench.py)
[[ -n "$phases" && -z "$py_phases" ]] && exit 0
exporter="${PGDR_EXPORTER:-$root/build-bench/exporter/pgdr_exporter}"
[[ -x "$exporter" ]] || { echo "bench: no exporter binary at $exporter" >&2; exit 1; }

args=(--exporter "$exporter")
if ((smoke)); then
  args+=(--smoke --out "${out:-$root/build-bench/results-smoke.json}")
else
  args+=(--out "${out:-$root/bench/results.json}")
fi
[[ -n "$py_phases" ]] && args+=(--phases "$py_phases")
run_py "$root/bench/bench.py" "${args[@]}"

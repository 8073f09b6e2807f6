#!/usr/bin/env bash
# The soak (docs/reliability.md#soak): the demo sandbox with the shipped
# rules, a rate-limited pgbench load and a real failover every few minutes,
# sampling the exporter's RSS, fds, threads and connections each minute.
#   scripts/soak.sh [--duration 1h] [--failover-every 4m] [--retention 10m]
#                   [--rate 20] [--report docs/reliability.md]
# Exits 1 when the verdict fails. PGDR_EXPORTER=<binary> skips setup and build.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -z "${PGDR_EXPORTER:-}" ]]; then
  scripts/setup.sh
  scripts/build.sh pgdr_exporter
  export PGDR_EXPORTER="$PWD/build/exporter/pgdr_exporter"
fi
exec python3 scripts/soak.py "$@"

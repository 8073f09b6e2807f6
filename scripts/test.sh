#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, checks formatting,
# runs the sanitizer build of the unit tests, a bounded run of the fuzz
# targets, the rule checks, then every
# unit and integration test (real PostgreSQL, Prometheus, ... on loopback).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

scripts/setup.sh

echo "== format"
mapfile -t sources < <(git ls-files 'exporter/*.cc' 'exporter/*.h' 'include/*.h' 'tests/unit/*.cc' 'tests/bench/*.cc' 'tests/fuzz/*.cc' 'tests/fuzz/*.h')
if ((${#sources[@]})); then
  clang-format --dry-run --Werror "${sources[@]}"
fi

echo "== build"
scripts/build.sh

# Prometheus's conformance suites are not in this repository: the tests find
# them through $PGDR_CONFORMANCE_DIR, else the default CMake recorded, and skip
# when neither exists. Said once, as the last line, whatever the outcome.
conformance_default=$(sed -n 's/^PGDR_CONFORMANCE_DEFAULT:INTERNAL=//p' build/CMakeCache.txt)
conformance_dir=${PGDR_CONFORMANCE_DIR:-$conformance_default}
suites="PromQL (promql/*.test) and promtool (promtool/*.yml) conformance suites"
if [[ -d "$conformance_dir" ]]; then
  conformance_note="conformance: $suites run from $conformance_dir"
elif [[ -n "${PGDR_CONFORMANCE_DIR:-}" ]]; then
  conformance_note="conformance: PGDR_CONFORMANCE_DIR=$PGDR_CONFORMANCE_DIR absent — $suites NOT run"
else
  conformance_note="conformance: PGDR_CONFORMANCE_DIR not set and $conformance_default absent — $suites NOT run"
fi
# CloudNativePG's CRDs, for the mock Kubernetes API test, likewise.
cnpg_default=$(sed -n 's/^PGDR_CNPG_DEFAULT:INTERNAL=//p' build/CMakeCache.txt)
cnpg_dir=${PGDR_CNPG_DIR:-$cnpg_default}
if [[ -f "$cnpg_dir/postgresql.cnpg.io_clusters.yaml" ]]; then
  cnpg_note="cnpg: the mock Kubernetes API test validates against the CRDs in $cnpg_dir"
else
  cnpg_note="cnpg: CloudNativePG CRDs absent (PGDR_CNPG_DIR=${PGDR_CNPG_DIR:-unset}, default $cnpg_default) — test_cnpg_mock_api NOT run"
fi
trap 'echo "$conformance_note"; echo "$cnpg_note"' EXIT

echo "== unit tests under ASan + UBSan"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DPGDR_WERROR=ON -DPGDR_SANITIZE=ON \
  -DPGDR_UNIT_ONLY=ON >/dev/null
ninja -C build-asan -j"$jobs"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build-asan -L unit -j"$jobs" --output-on-failure --timeout 300 | tail -n 3

echo "== clang build with -Wthread-safety (the locking annotations of pgdr/core/mutex.h)"
cmake -S . -B build-clang -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER=clang++ \
  -DPGDR_UNIT_ONLY=ON -DCMAKE_CXX_FLAGS="-Wthread-safety -Werror=thread-safety" >/dev/null
mapfile -t libs < <(ninja -C build-clang -t targets all | sed -n 's/^lib\(pgdr_[a-z]*\)\.a: .*/\1/p')
ninja -C build-clang -j"$jobs" "${libs[@]}"

echo "== libFuzzer targets, 8 s each (scripts/fuzz.sh runs them longer)"
scripts/fuzz.sh --seconds 8

echo "== clang-tidy on the changed sources (scripts/tidy.sh checks all)"
scripts/tidy.sh --changed

if [[ -x scripts/check_rules.sh ]]; then
  echo "== promtool check/test rules"
  scripts/check_rules.sh
fi

echo "== all tests (unit + integration)"
ctest --test-dir build -j"$jobs" --output-on-failure --timeout 900

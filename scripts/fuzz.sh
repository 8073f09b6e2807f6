#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz in build-fuzz (clang, ASan +
# UBSan) and runs each for a bounded time on a copy of its seed corpus
# tests/fuzz/corpus/<target>/. Prints target, executions, time and crashes;
# exits non-zero when any target crashed, timed out or leaked, keeping the
# input that did it under build-fuzz/crashes/<target>/.
#
#   scripts/fuzz.sh [--seconds N] [target ...]   (N per target, default 60)
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=60
targets=()
while (($#)); do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --seconds=*) seconds="${1#*=}"; shift ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) targets+=("$1"); shift ;;
  esac
done
if ((${#targets[@]} == 0)); then
  mapfile -t targets < <(sed -n 's/^  \([a-z0-9_]*\):pgdr_[a-z]*)\{0,1\}$/\1/p' tests/fuzz/CMakeLists.txt)
fi

launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
# -O1 with line tables: libFuzzer's usual flags, and far quicker to build
# instrumented than -O2 -g on two cores.
cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=Fuzz -DCMAKE_CXX_FLAGS_FUZZ="-O1 -gline-tables-only" \
  -DCMAKE_CXX_COMPILER=clang++ -DPGDR_UNIT_ONLY=ON -DPGDR_FUZZ=ON "${launcher[@]}" >/dev/null
nice ninja -C build-fuzz -j"$(nproc)" "${targets[@]/%/_fuzz}" >/dev/null

work=build-fuzz/run
rm -rf "$work"
mkdir -p "$work" build-fuzz/crashes
failed=0
rows=()
for t in "${targets[@]}"; do
  corpus="$work/$t/corpus"
  crashes="build-fuzz/crashes/$t"
  mkdir -p "$corpus" "$crashes"
  cp -r "tests/fuzz/corpus/$t/." "$corpus/" 2>/dev/null || true
  log="$work/$t/log"
  start=$(date +%s.%N)
  rc=0
  (cd "$work/$t" && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    nice "$OLDPWD/build-fuzz/tests/fuzz/${t}_fuzz" corpus -max_total_time="$seconds" \
    -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$OLDPWD/$crashes/") >"$log" 2>&1 || rc=$?
  elapsed=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  found=$(find "$crashes" -type f | wc -l)
  if ((rc != 0)) || ((found > 0)); then
    failed=1
    echo "== $t failed (exit $rc); inputs kept in $crashes; log $log:"
    grep -m 5 -E 'ERROR|SUMMARY|runtime error' "$log" || tail -n 20 "$log"
  fi
  rows+=("$(printf '| %-16s | %12s | %7s s | %7s |' "$t" "${execs:-?}" "$elapsed" "$found")")
done

printf '| %-16s | %12s | %9s | %7s |\n' target executions time crashes
printf '|%s|%s|%s|%s|\n' ------------------ -------------- ----------- ---------
printf '%s\n' "${rows[@]}"
exit "$failed"

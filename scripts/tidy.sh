#!/usr/bin/env bash
# clang-tidy with the repository's .clang-tidy (WarningsAsErrors: '*'): any
# warning fails. Needs build/compile_commands.json (scripts/build.sh).
#
#   scripts/tidy.sh            every exporter/**/*.cc (run-clang-tidy; 61 files, ~4 min on 2 cores)
#   scripts/tidy.sh --changed  the exporter/**/*.cc changed since $PGDR_TIDY_BASE, at most
#                              $PGDR_TIDY_MAX (default 20) of them, so that it stays
#                              under 3 min on 2 cores; scripts/test.sh runs this
#
# PGDR_TIDY_BASE defaults to the merge base with origin/main when that ref
# exists and is behind HEAD (a branch), else HEAD~20 (a fresh clone of main,
# as in CI), else the first commit. Uncommitted changes count.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
build=build
[[ -f "$build/compile_commands.json" ]] || { echo "tidy: run scripts/build.sh first" >&2; exit 1; }
[[ -f .clang-tidy ]] || { echo "tidy: .clang-tidy missing" >&2; exit 1; }

if [[ "${1:-}" != --changed ]]; then
  # run-clang-tidy takes regular expressions over compile_commands.json's files.
  exec run-clang-tidy -p "$build" -j "$jobs" -quiet -extra-arg=-Wno-unknown-warning-option \
    "$PWD/exporter/.*\.cc\$"
fi

if [[ -n "${PGDR_TIDY_BASE:-}" ]]; then
  base=$PGDR_TIDY_BASE
elif git rev-parse --verify -q origin/main >/dev/null &&
  [[ $(git merge-base HEAD origin/main) != $(git rev-parse HEAD) ]]; then
  base=$(git merge-base HEAD origin/main)
elif git rev-parse --verify -q HEAD~20 >/dev/null; then
  base=HEAD~20
else
  base=$(git rev-list --max-parents=0 HEAD | tail -n 1)
fi
max=${PGDR_TIDY_MAX:-20}
mapfile -t changed < <(git diff --name-only --diff-filter=d "$base" -- 'exporter/*.cc')
if ((${#changed[@]} == 0)); then
  echo "tidy: no exporter/*.cc changed since $base"
  exit 0
fi
files=("${changed[@]:0:max}")
if ((${#changed[@]} > max)); then
  echo "tidy: ${#changed[@]} files changed since $base; checking the first $max" \
    "(PGDR_TIDY_MAX; scripts/tidy.sh checks them all)"
else
  echo "tidy: ${#files[@]} files changed since $base"
fi
# xargs exits non-zero when any clang-tidy does (a warning is an error); the
# count of suppressed system-header warnings each prints is noise.
printf '%s\0' "${files[@]}" | xargs -0 -n 1 -P "$jobs" clang-tidy -p "$build" --quiet \
  --extra-arg=-Wno-unknown-warning-option 2>&1 |
  { grep -Ev '^[0-9]+ warnings? (and [0-9]+ errors? )?generated\.$' || true; }
echo "tidy: ok"

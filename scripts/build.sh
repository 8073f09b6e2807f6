#!/usr/bin/env bash
# Configures and builds pgdr into build/ (warnings are errors).
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPGDR_WERROR=ON >/dev/null
ninja -C build -j"$(nproc)" "$@"

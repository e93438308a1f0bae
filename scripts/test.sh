#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test.
#   scripts/test.sh                      # RelWithDebInfo build in build/
#   scripts/test.sh --sanitize address,undefined   # the same under sanitizers, in build-asan/
set -euo pipefail
cd "$(dirname "$0")/.."
sanitize=""
if [ "${1:-}" = "--sanitize" ]; then sanitize="${2:?--sanitize needs a list, e.g. address,undefined}"; fi
scripts/install-deps.sh
build=build
args=(-DMODE_WARNINGS_AS_ERRORS=ON -DMODE_BUILD_BENCH=ON -DMODE_BUILD_EXAMPLES=ON)
if [ -n "$sanitize" ]; then
  build="build-${sanitize//[,;]/-}"
  args+=("-DMODE_SANITIZE=${sanitize//,/;}" -DCMAKE_BUILD_TYPE=Debug -DMODE_BUILD_BENCH=OFF)
fi
cmake -S . -B "$build" "${args[@]}"
cmake --build "$build" -j "$(nproc)"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir "$build" --output-on-failure -j "$(nproc)" --timeout 300

#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test.
#   scripts/test.sh                                # RelWithDebInfo build in build/
#   scripts/test.sh --sanitize address,undefined   # the same under sanitizers, in build-address-undefined/
#   scripts/test.sh --io-uring                     # the same on the io_uring event loop, in build-io-uring/
#   scripts/test.sh --clang                        # the same built with clang 16, in build-clang/
#   scripts/test.sh --portable                     # the same on Asio's public API alone, in build-portable/
#   scripts/test.sh --io-uring --portable          # options combine, in build-io-uring-portable/
#   scripts/test.sh --sanitize thread --tests Threads   # only the unit tests matching a regex
set -euo pipefail
cd "$(dirname "$0")/.."
sanitize=""
io_uring=OFF
clang=OFF
portable=OFF
tests=""
while [ $# -gt 0 ]; do
  case "$1" in
    --sanitize) sanitize="${2:?--sanitize needs a list, e.g. address,undefined}"; shift 2 ;;
    --io-uring) io_uring=ON; shift ;;
    --clang) clang=ON; shift ;;
    --portable) portable=ON; shift ;;
    --tests) tests="${2:?--tests needs a regular expression of test names}"; shift 2 ;;
    *) echo "scripts/test.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
scripts/install-deps.sh
build=build
args=(-DMODE_WARNINGS_AS_ERRORS=ON -DMODE_BUILD_BENCH=ON -DMODE_BUILD_EXAMPLES=ON)
if [ -n "$sanitize" ]; then
  build="build-${sanitize//[,;]/-}"
  args+=("-DMODE_SANITIZE=${sanitize//,/;}" -DCMAKE_BUILD_TYPE=Debug -DMODE_BUILD_BENCH=OFF)
fi
if [ "$io_uring" = ON ]; then
  build="$build-io-uring"
  args+=(-DMODE_IO_URING=ON -DMODE_BUILD_BENCH=OFF)
fi
if [ "$clang" = ON ]; then
  build="$build-clang"
  args+=(-DCMAKE_CXX_COMPILER=clang++-16 -DMODE_BUILD_BENCH=OFF)
fi
if [ "$portable" = ON ]; then
  build="$build-portable"
  args+=(-DMODE_PORTABLE=ON -DMODE_BUILD_BENCH=OFF)
fi
cmake -S . -B "$build" "${args[@]}"
ctest_args=()
if [ -n "$tests" ]; then
  # Only the unit tests are built: a selection is for a lean extra run, not the full suite.
  cmake --build "$build" -j "$(nproc)" --target mode-unit-tests
  ctest_args+=(-R "$tests")
else
  cmake --build "$build" -j "$(nproc)"
fi
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
ctest --test-dir "$build" --output-on-failure -j "$(nproc)" --timeout 300 "${ctest_args[@]}"

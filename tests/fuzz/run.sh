#!/usr/bin/env bash
# Builds the libFuzzer targets with clang and fuzzes each for a while, starting from its seed
# corpus (new finds go to a scratch copy, so the tree stays clean).
#   tests/fuzz/run.sh BUILD_DIR [SECONDS]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="${1:?usage: run.sh BUILD_DIR [SECONDS]}"
seconds="${2:-20}"
CXX=clang++ cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j "$(nproc)"
for corpus in "$here"/corpus/*/; do
  name="$(basename "$corpus")"
  work="$build/corpus-$name"
  mkdir -p "$work"
  cp -n "$corpus"* "$work"/
  "$build/mode-fuzz-$name" -max_total_time="$seconds" -print_final_stats=1 \
    -artifact_prefix="$build/crash-$name-" "$work"
done

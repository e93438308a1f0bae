#!/usr/bin/env bash
# Builds the libFuzzer targets with clang and fuzzes them for a while, each from its seed corpus
# (new finds go to a scratch copy, so the tree stays clean).
#   tests/fuzz/run.sh BUILD_DIR [SECONDS [NAME...]]
# Without names: builds, then fuzzes every target SECONDS (default 20) each. SECONDS 0: builds
# only. With names (times, logging, console, worker): fuzzes those, already built, without
# building, so that several runs can share one build.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="${1:?usage: run.sh BUILD_DIR [SECONDS [NAME...]]}"
seconds="${2:-20}"
shift $(($# < 2 ? $# : 2))
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  CXX=clang++ cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$build" -j "$(nproc)"
  [ "$seconds" -gt 0 ] || exit 0
  for corpus in "$here"/corpus/*/; do names+=("$(basename "$corpus")"); done
fi
for name in "${names[@]}"; do
  work="$build/corpus-$name"
  mkdir -p "$work"
  cp -n "$here/corpus/$name/"* "$work"/
  "$build/mode-fuzz-$name" -max_total_time="$seconds" -print_final_stats=1 \
    -artifact_prefix="$build/crash-$name-" "$work"
done

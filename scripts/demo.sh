#!/usr/bin/env bash
# Installs what is missing, builds, and runs the demo service tree (Ctrl-C stops it).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -DMODE_BUILD_EXAMPLES=ON
cmake --build build --target hello_tree -j "$(nproc)"
exec build/examples/hello_tree "$@"

#!/usr/bin/env bash
# Installs what is missing, builds, and runs the tutorial demo: a service tree under mode::Worker
# serving page views on http://127.0.0.1:8000/ (Ctrl-C stops it; --help lists its flags).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -DMODE_BUILD_EXAMPLES=ON
cmake --build build --target tutorial -j "$(nproc)"
exec build/examples/tutorial "$@"

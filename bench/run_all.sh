#!/usr/bin/env bash
# Runs the mode-bench scenarios of docs/BENCHMARKS.md: five runs each, then their medians line.
#   bench/run_all.sh [path/to/mode-bench]     (default: build-release/bench/mode-bench)
set -euo pipefail
bench="${1:-build-release/bench/mode-bench}"
for n in 1000 10000 100000; do "$bench" tree --n "$n" --repeat 5 --median; done
for k in 100 1000; do "$bench" timers --k "$k" --repeat 5 --median; done
"$bench" stop_latency --n 1000 --repeat 5 --median
"$bench" worker_shutdown --n 10000 --repeat 5 --median
"$bench" wait_set_event --n 5000000 --repeat 5 --median
"$bench" thread_call --n 100000 --repeat 5 --median
"$bench" restart --n 200000 --repeat 5 --median
"$bench" restart_storm --n 1000 --repeat 5 --median
"$bench" signal --n 2000000 --repeat 5 --median
"$bench" queue_flow --n 10000000 --repeat 5 --median
"$bench" queue_throwable --n 10000000 --repeat 5 --median

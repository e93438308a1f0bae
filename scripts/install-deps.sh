#!/usr/bin/env bash
# Installs the Debian packages mode-cpp builds with (DESIGN.md §1). Idempotent.
set -euo pipefail
packages=(build-essential cmake pkg-config libboost1.81-dev libboost-json1.81-dev libspdlog-dev libfmt-dev
          libcli11-dev libgtest-dev libgmock-dev libbenchmark-dev graphviz clang libclang-rt-dev clang-16
          liburing-dev libsystemd-dev systemd prometheus-cpp-dev prometheus python3-yaml chromium)
# prometheus is there for promtool (the /metrics test), not for its daemon: see policy-rc.d below.
# chromium is there for its headless mode (the console page's test), not as a browser.
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
# Without a policy-rc.d (Debian's hook that forbids starting services), installing prometheus
# would start its server (init script or systemd unit): forbid it for this install only.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" > /dev/null
  $sudo chmod +x "$policy"
  trap '$sudo rm -f "$policy"' EXIT
fi
$sudo apt-get install -y --no-install-recommends "${missing[@]}" ||
  { $sudo apt-get update && $sudo apt-get install -y --no-install-recommends "${missing[@]}"; }

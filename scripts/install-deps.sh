#!/usr/bin/env bash
# Installs the Debian packages mode-cpp builds with (DESIGN.md §1). Idempotent.
set -euo pipefail
packages=(build-essential cmake pkg-config libboost1.81-dev libboost-json1.81-dev libspdlog-dev libfmt-dev libcli11-dev
          libgtest-dev libgmock-dev libbenchmark-dev graphviz clang libclang-rt-dev clang-16 liburing-dev
          libsystemd-dev systemd)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get install -y --no-install-recommends "${missing[@]}" ||
  { $sudo apt-get update && $sudo apt-get install -y --no-install-recommends "${missing[@]}"; }

#!/usr/bin/env bash
# Installs the build tree into a scratch prefix, then builds and runs the consumer against it:
# once through CMake's find_package, once through pkg-config, with the library's own compiler.
set -euo pipefail
build=$1 source=$2 scratch=$3 cxx=$4
rm -rf "$scratch"
cmake --install "$build" --prefix "$scratch/prefix" > /dev/null
cmake -S "$source" -B "$scratch/consumer" -DCMAKE_PREFIX_PATH="$scratch/prefix" \
  -DCMAKE_CXX_COMPILER="$cxx" > /dev/null
cmake --build "$scratch/consumer" > /dev/null
"$scratch/consumer/consumer"
libdir=$(dirname "$(find "$scratch/prefix" -name mode.pc)")
export PKG_CONFIG_PATH="$libdir"
test "$(pkg-config --modversion mode)" = "$(sed -n 's/#define MODE_VERSION_STRING "\(.*\)"/\1/p' \
  "$scratch/prefix/include/mode/version.hpp")"
# shellcheck disable=SC2046  # the flags are words
"$cxx" -o "$scratch/pc-consumer" "$source/main.cpp" $(pkg-config --cflags --libs mode)
"$scratch/pc-consumer"

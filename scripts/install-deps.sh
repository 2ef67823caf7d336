#!/usr/bin/env bash
# Installs the system libraries IonLink builds against (Debian/Ubuntu; needs root or sudo).
# Swift 6 itself must already be installed (https://www.swift.org/install/linux/).
set -euo pipefail
packages=(pkg-config zlib1g-dev libopenblas-dev liblapacke-dev libhdf5-dev libcairo2-dev fonts-dejavu-core libopenmpi-dev openmpi-bin)
if ! command -v swift >/dev/null 2>&1; then
  echo "error: swift is not on PATH; install Swift 6.x first" >&2
  exit 1
fi
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

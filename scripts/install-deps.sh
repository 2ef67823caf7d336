#!/usr/bin/env bash
# Installs the system libraries IonLink builds against (Debian/Ubuntu; needs root or sudo).
# Swift 6 itself must already be installed (https://www.swift.org/install/linux/).
#   scripts/install-deps.sh          what building and running need
#   scripts/install-deps.sh --tests  also headless Chromium, which the report's browser test drives
set -euo pipefail
packages=(pkg-config zlib1g-dev libopenblas-dev liblapacke-dev libhdf5-dev libcairo2-dev fonts-dejavu-core libopenmpi-dev openmpi-bin)
browser=no
[ "${1:-}" = "--tests" ] && ! command -v chromium >/dev/null 2>&1 && browser=yes
if ! command -v swift >/dev/null 2>&1; then
  echo "error: swift is not on PATH; install Swift 6.x first" >&2
  exit 1
fi
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ] || [ "$browser" = yes ]; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  if [ "$browser" = yes ]; then
    # Debian's package; Ubuntu's chromium-browser is a snap wrapper that does not run in containers.
    # grep without -q reads all of apt-cache's output: with -q it would exit at the first match, and under pipefail
    # apt-cache's SIGPIPE would fail the test (the package was then taken for missing).
    if apt-cache show chromium 2>/dev/null | grep '^Version' >/dev/null; then
      missing+=(chromium)
    else
      echo "note: no 'chromium' package here; the report's browser test will be skipped" >&2
    fi
  fi
  [ ${#missing[@]} -gt 0 ] && $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
exit 0

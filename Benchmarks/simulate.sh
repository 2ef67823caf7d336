#!/usr/bin/env bash
# Side-by-side simulation benchmark: IonLink (release) and Brian2 (C++ standalone) on the paper protocol,
# run one after the other on the same machine. Usage: Benchmarks/simulate.sh [path/to/venv-with-brian2]
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${1:-.venv-bench}"
echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores," \
     "flags: $(grep -o -m1 -w -e avx512f /proc/cpuinfo || echo no-avx512) $(grep -o -m1 -w -e avx2 /proc/cpuinfo || true)"
swift build -c release --product ionlink >/dev/null
for threads in 1 2; do
  echo "## IonLink, $threads thread(s)"
  .build/release/ionlink bench simulate --count 4096 --repeats 5 --threads "$threads"
done
if [ -x "$venv/bin/python" ]; then
  for threads in 1 2; do
    echo "## Brian2, $threads thread(s)"
    "$venv/bin/python" Benchmarks/peers/brian2_m1.py --count 1000 --repeats 5 --threads "$threads"
  done
else
  echo "(no Brian2 venv at $venv: see Benchmarks/peers/brian2_m1.py)"
fi

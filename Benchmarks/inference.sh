#!/usr/bin/env bash
# NPE training benchmark (BENCHMARKS.md, "Neural posterior estimation"): trains the default MAF on synthetic
# pairs with the paper's settings for each seed, then reports held-out log-prob, SBC and coverage.
# The pairs come from the peers' generator, so sbi can be trained on the very same data:
#   python make_synthetic.py --out SYNTH --n-train 100000 --n-heldout 2000 --seed 0   (../shared/bench)
# Usage: Benchmarks/inference.sh SYNTH [pairs: 10k|100k] [seeds...]   (default: 10k, seeds 0 1 2)
set -euo pipefail
cd "$(dirname "$0")/.."
synth="${1:?usage: Benchmarks/inference.sh SYNTH_DIR [10k|100k] [seeds...]}"
size="${2:-10k}"
shift $(( $# > 1 ? 2 : 1 ))
seeds=("${@:-0 1 2}")
case "$size" in
  10k) theta="$synth/theta10k.npy"; x="$synth/x10k.npy"
       [ -f "$theta" ] || python3 -c "import numpy as n; [n.save('$synth/'+k+'10k.npy', n.load('$synth/'+k+'_train.npy')[:10000]) for k in ('theta','x')]" ;;
  100k) theta="$synth/theta_train.npy"; x="$synth/x_train.npy" ;;
  *) echo "pairs must be 10k or 100k" >&2; exit 2 ;;
esac
low=0.1,20,0.1,0,0,0,0,0,0,-130,50,-90,0.1
high=15,1000,70,250,100,30,3,250,3,-50,4000,-35,3
echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores, $size pairs"
swift build -c release --product ionlink >/dev/null
out=$(mktemp -d)
for seed in ${seeds[@]}; do
  echo "## seed $seed"
  /usr/bin/time -f "%e s wall" .build/release/ionlink train --theta "$theta" --x "$x" --prior-low=$low --prior-high=$high \
    --out "$out/model$seed.json" --seed "$seed" 2>&1 | grep -v '^epoch'
  .build/release/ionlink diagnose --model "$out/model$seed.json" --theta "$synth/theta_heldout.npy" --x "$synth/x_heldout.npy" \
    --cases 100 --samples 500
done
rm -rf "$out"

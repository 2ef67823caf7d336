#!/usr/bin/env bash
# NPE training benchmark (BENCHMARKS.md, "Neural posterior estimation"): trains the default MAF with the paper's
# settings for each seed, then reports held-out log-prob, SBC and coverage. The data sit in DIR as NPY files
# (theta_train, x_train, theta_heldout, x_heldout), so sbi can be trained on the very same pairs:
#   synthetic: python Benchmarks/peers/make_synthetic.py --out DIR --n-train 100000 --n-heldout 2000 --seed 0
#   bank:      made here: the valid rows of a 50 000-simulation M1 prior bank (seed 7) for training and the first
#              2 000 valid rows of a 5 000-simulation bank (seed 99) held out
#   sbi:       python Benchmarks/peers/sbi_npe.py --theta DIR/theta_train.npy --x DIR/x_train.npy \
#                --theta-heldout DIR/theta_heldout.npy --x-heldout DIR/x_heldout.npy [--limit 10000] --seed S
# Usage: Benchmarks/inference.sh DIR [10k|100k|bank] [seeds...]   (default: 10k, seeds 0 1 2)
set -euo pipefail
cd "$(dirname "$0")/.."
data="${1:?usage: Benchmarks/inference.sh DIR [10k|100k|bank] [seeds...]}"
size="${2:-10k}"
shift $(( $# > 1 ? 2 : 1 ))
seeds=("${@:-0 1 2}")
swift build -c release --product ionlink >/dev/null
case "$size" in
  10k) theta="$data/theta10k.npy"; x="$data/x10k.npy"
       [ -f "$theta" ] || python3 -c "import numpy as n; [n.save('$data/'+k+'10k.npy', n.load('$data/'+k+'_train.npy')[:10000]) for k in ('theta','x')]" ;;
  100k) theta="$data/theta_train.npy"; x="$data/x_train.npy" ;;
  bank) theta="$data/theta_train.npy"; x="$data/x_train.npy"; mkdir -p "$data"
        if [ ! -f "$theta" ]; then
          .build/release/ionlink simulate --count 50000 --seed 7 --out "$data/bank" --quiet
          .build/release/ionlink simulate --count 5000 --seed 99 --out "$data/heldout" --quiet
          python3 - "$data" <<'PY'
import sys, numpy as np
d = sys.argv[1]
def valid(bank):
    theta, x, ok = (np.load(f"{d}/{bank}/{k}.npy") for k in ("theta", "features", "valid"))
    keep = (ok == 1) & np.isfinite(x).all(axis=1)
    return theta[keep], x[keep]
theta, x = valid("bank"); np.save(f"{d}/theta_train.npy", theta); np.save(f"{d}/x_train.npy", x)
theta, x = valid("heldout"); np.save(f"{d}/theta_heldout.npy", theta[:2000]); np.save(f"{d}/x_heldout.npy", x[:2000])
PY
        fi ;;
  *) echo "pairs must be 10k, 100k or bank" >&2; exit 2 ;;
esac
low=0.1,20,0.1,0,0,0,0,0,0,-130,50,-90,0.1
high=15,1000,70,250,100,30,3,250,3,-50,4000,-35,3
echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores, $size pairs"
out=$(mktemp -d)
for seed in ${seeds[@]}; do
  echo "## seed $seed"
  /usr/bin/time -f "%e s wall" .build/release/ionlink train --theta "$theta" --x "$x" --prior-low=$low --prior-high=$high \
    --out "$out/model$seed.json" --seed "$seed" 2>&1 | grep -v '^epoch'
  .build/release/ionlink diagnose --model "$out/model$seed.json" --theta "$data/theta_heldout.npy" --x "$data/x_heldout.npy" \
    --cases 100 --samples 500
done
rm -rf "$out"

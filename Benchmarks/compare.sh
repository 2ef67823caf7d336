#!/usr/bin/env bash
# IonLink beside its Python peers, one after the other on this machine, and the ratio table of BENCHMARKS.md.
#
#   Benchmarks/compare.sh [--quick] [--no-sbi] [--venv DIR] [--out DIR]
#
# Peers (measurement only, never dependencies of IonLink): Brian2 2.9 (C++ standalone) for simulation, eFEL 5.7 for
# feature extraction, sbi 0.27 for NPE training and posterior sampling, all from Benchmarks/peers/requirements.txt. The
# venv (default .venv-bench) is created with pip if it is missing; pip must reach PyPI (or a --find-links folder) for it.
# Work:
#   simulation      the paper protocol (800 ms, dt 0.04 ms, 10 pA noise), 1 thread: IonLink's float64 and float32 kernels
#                   without and with the 23 features inline, Brian2 without features (4096 / 1000 simulations), taking
#                   turns over 3 rounds of 3 repeats each (--quick: 1 round): medians, and the range of the rounds' ratios
#   features        1000 noisy prior traces, 1 thread: IonLink's 23 features against eFEL's 11 standard features
#   training        the synthetic M1-sized problem (13 θ, 23 x; make_synthetic.py), paper settings (batch 50, Adam 5e-4,
#                   stop after 20 epochs), 2 threads each, seed 0: 100 000 pairs (--quick: 10 000)
#   sampling        each trained estimator: 10 000 posterior samples with their log-probs for each of 10 held-out x,
#                   1 thread (--quick: 3 cells)
# Prints each step's raw output, then the table (ratio = IonLink's speed / the peer's) and the features' share of the
# simulation time inline (per round: timed around the features inside the runs with them, and the rate without
# features / the rate with them − 1). About 45 minutes on 2 cores
# (--quick: about 8; --no-sbi: simulation and features only, about 4). Writes its files to --out (default: a temporary
# folder, removed at the end).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.venv-bench quick=0 sbi=1 out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --no-sbi) sbi=0 ;;
    --venv) venv="$2"; shift ;;
    --out) out="$2"; shift ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "compare.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
if [ -z "$out" ]; then out=$(mktemp -d); trap 'rm -rf "$out"' EXIT; else mkdir -p "$out"; fi
if [ ! -x "$venv/bin/python" ]; then
  echo "# setting up $venv from Benchmarks/peers/requirements.txt (measurement only)"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q -r Benchmarks/peers/requirements.txt
fi
py="$venv/bin/python"
swift build -c release --product ionlink 2>&1 | tail -1
ionlink=.build/release/ionlink
pairs=100000 cells=10 rounds=3
[ "$quick" = 1 ] && pairs=10000 cells=3 rounds=1
# Passes its input on and also shows it on stderr, through the inherited descriptor (tee /dev/stderr would reopen it, and
# with `compare.sh > log 2>&1` its writes and the script's own would overwrite each other in the log).
shown() { while IFS= read -r line; do printf '%s\n' "$line" >&2; printf '%s\n' "$line"; done; }
last() { tail -1 | awk '{print $1}'; }
json() { "$py" -c "import json,sys; print(json.loads(sys.stdin.read().strip().splitlines()[-1])$1)"; }
machine="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB"
echo "# $(date -u +%Y-%m-%dT%H:%MZ) $machine"

# Simulation: IonLink's four rows and Brian2 take turns, round after round, so that a drift of the machine's speed
# (hour to hour on shared machines) reaches both; each rate is the median over the rounds of that round's median of 3,
# each ratio the median of the rounds' ratios (their range is printed).
rows=(sim feat sim32 feat32)
declare -A flags=([sim]="" [feat]="--features" [sim32]="--precision float32" [feat32]="--precision float32 --features")
declare -A rates timed
for round in $(seq "$rounds"); do
  echo "## simulation, round $round of $rounds"
  for row in "${rows[@]}"; do
    # shellcheck disable=SC2086
    output=$($ionlink bench simulate --count 4096 --repeats 3 --threads 1 ${flags[$row]} | shown)
    rates[$row]+=" $(echo "$output" | last)"
    # The rows with features also time the features inside the run: their share of the simulation time.
    timed[$row]+=" $(echo "$output" | sed -nE 's/^features inline: ([0-9.]+)% .*/\1/p')"
  done
  rates[brian]+=" $("$py" Benchmarks/peers/brian2_m1.py --count 1000 --repeats 3 --threads 1 | shown | json "['sims_per_s_per_core']")"
done
median() { "$py" -c "import statistics, sys; print(f'{statistics.median(map(float, sys.argv[1:])):.0f}')" $1; }
# The median and range of the per-round ratios of row $1 to Brian2.
round_ratio() {
  "$py" -c "
import statistics, sys
r = [a / b for a, b in zip(map(float, sys.argv[1].split()), map(float, sys.argv[2].split()))]
print(f'{statistics.median(r):.2f}× ({min(r):.2f}–{max(r):.2f})' if len(r) > 1 else f'{r[0]:.2f}×')" "${rates[$1]}" "${rates[brian]}"
}
ion_sim=$(median "${rates[sim]}") ion_feat=$(median "${rates[feat]}")
ion_sim32=$(median "${rates[sim32]}") ion_feat32=$(median "${rates[feat32]}") brian=$(median "${rates[brian]}")

echo "## features"
$ionlink simulate --count 1000 --seed 1 --keep-traces 1000 --no-features --out "$out/traces" --quiet
ion_fx=$($ionlink bench features --traces "$out/traces/traces.npy" --repeats 5 | shown | last)
efel=$("$py" Benchmarks/peers/efel_features.py --traces "$out/traces/traces.npy" --dt-ms 0.04 --start-ms 100 --end-ms 700 \
       | shown | json "['us_per_trace']['11_features']")

if [ "$sbi" = 1 ]; then
  echo "## training, $pairs pairs"
  "$py" Benchmarks/peers/make_synthetic.py --out "$out/synth" --n-train "$pairs" --n-heldout 2000 --seed 0 >/dev/null
  low=0.1,20,0.1,0,0,0,0,0,0,-130,50,-90,0.1
  high=15,1000,70,250,100,30,3,250,3,-50,4000,-35,3
  start=$(date +%s%N)
  $ionlink train --theta "$out/synth/theta_train.npy" --x "$out/synth/x_train.npy" --prior-low=$low --prior-high=$high \
    --out "$out/model.json" --seed 0 2>&1 | grep -v '^epoch' >&2
  ion_train=$("$py" -c "print(($(date +%s%N) - $start) / 1e9)")
  ion_lp=$($ionlink diagnose --model "$out/model.json" --theta "$out/synth/theta_heldout.npy" --x "$out/synth/x_heldout.npy" \
           --cases 2000 --samples 100 | shown | grep -m1 'held-out log q' | sed -E 's/.*: (-?[0-9.]+).*/\1/')
  sbi_json=$("$py" Benchmarks/peers/sbi_npe.py --theta "$out/synth/theta_train.npy" --x "$out/synth/x_train.npy" \
    --theta-heldout "$out/synth/theta_heldout.npy" --x-heldout "$out/synth/x_heldout.npy" --threads 2 --seed 0 \
    --posterior-cells "$cells" --sample-threads 1 | tail -1)
  echo "$sbi_json" >&2
  sbi_train=$(echo "$sbi_json" | json "['train_wall_s']")
  sbi_lp=$(echo "$sbi_json" | json "['heldout_logprob_mean']")
  sbi_post=$(echo "$sbi_json" | json "['posterior_s_per_cell_median']")

  echo "## sampling"
  "$py" - "$out" <<'PY'
import json, sys, numpy as np
d = sys.argv[1]
names = json.load(open(f"{d}/model.json"))["featureNames"]
x = np.load(f"{d}/synth/x_heldout.npy")
with open(f"{d}/cells.csv", "w") as f:
    f.write(",".join(["cell_id"] + [f'"{n}"' for n in names]) + "\n")
    for i, row in enumerate(x[:100]):
        f.write(",".join([f"cell{i}"] + [repr(float(v)) for v in row]) + "\n")
PY
  ion_post=$($ionlink bench posterior --estimator "$out/model.json" --observed "$out/cells.csv" --cells "$cells" --samples 10000 \
             --threads 1 --repeats 3 | shown | last)
fi

ratio() { "$py" -c "print(f'{$1 / $2:.2f}')"; }
cat <<TABLE

Machine: $machine; $(date -u +%Y-%m-%d). Ratio: how many times faster IonLink is.

| work | IonLink | peer | ratio |
|---|---|---|---|
| simulation only, per core | $ion_sim/s | Brian2 $brian/s | $(round_ratio sim) |
| simulation + the 23 features inline, per core | $ion_feat/s | Brian2 without features $brian/s | $(round_ratio feat) |
| float32 kernel: simulation only, per core | $ion_sim32/s | Brian2 $brian/s | $(round_ratio sim32) |
| float32 kernel: simulation + the 23 features inline, per core | $ion_feat32/s | Brian2 without features $brian/s | $(round_ratio feat32) |
| features per trace, 1 thread | $ion_fx µs (23 features) | eFEL $(printf %.0f "$efel") µs (11 features) | $(ratio "$efel" "$ion_fx")× |
TABLE
if [ "$sbi" = 1 ]; then cat <<TABLE
| NPE training, $pairs pairs, 2 threads, to convergence | $(printf %.1f "$ion_train") s (held-out log-prob $ion_lp) | sbi $(printf %.1f "$sbi_train") s ($(printf %.2f "$sbi_lp")) | $(ratio "$sbi_train" "$ion_train")× |
| 10 000 posterior samples + log-probs per x, 1 thread | $ion_post s | sbi $(printf %.3f "$sbi_post") s | $(ratio "$sbi_post" "$ion_post")× |
TABLE
fi
# The features' share of the simulation time inline, two ways, each the median and range of the rounds: timed around
# the features inside the runs with features (a drift of the machine's speed reaches both parts alike), and from the
# rates of the runs with and without them, one after the other (rate without / rate with − 1; on a machine whose
# speed drifts from minute to minute this scatters far more).
spread() {
  "$py" -c "
import statistics, sys
r = [float(v) for v in sys.argv[1].split()]
print(f'{statistics.median(r):.0f}% ({min(r):.0f}–{max(r):.0f}%)' if len(r) > 1 else f'{r[0]:.0f}%')" "$1"
}
share() {
  spread "$("$py" -c "
import sys
print(' '.join(str(100 * (a / b - 1)) for a, b in zip(map(float, sys.argv[1].split()), map(float, sys.argv[2].split()))))" "${rates[$1]}" "${rates[$2]}")"
}
echo
echo "The 23 features inline cost, in simulation time: timed inside the runs, float64 $(spread "${timed[feat]}")," \
     "float32 $(spread "${timed[feat32]}"); from the rates with and without them, float64 $(share sim feat), float32 $(share sim32 feat32)."
echo "Per round, simulations/s per core: float64${rates[sim]}; with features${rates[feat]}; float32${rates[sim32]};" \
     "float32 with features${rates[feat32]}; Brian2${rates[brian]}"

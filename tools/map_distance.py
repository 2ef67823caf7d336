#!/usr/bin/env python3
"""The paper's MAP check (README, "Posteriors"): re-simulated MAP features against the observed ones.

  ionlink infer --model model.json --observed cells.csv --out fits/
  ionlink simulate --params fits/map.csv --features map_features.csv
  python tools/map_distance.py cells.csv map_features.csv

A MAP "fails" when any of its 23 re-simulated features is undefined; for the others, the distance is the
Euclidean distance over the 23 features z-scored by the observed cells' SD (cells with all 23 observed).
Needs numpy.
"""
import csv
import sys

import numpy as np


def load(path, n=23):
    rows = list(csv.reader(open(path)))
    ids = [r[0] for r in rows[1:]]
    values = [[float(v) if v not in ("", "nan", "NaN") else np.nan for v in r[1:1 + n]] for r in rows[1:]]
    return ids, np.array(values)


def main(observed_path, simulated_path):
    observed_ids, observed = load(observed_path)
    simulated_ids, simulated = load(simulated_path)
    by_id = dict(zip(simulated_ids, simulated))
    simulated = np.array([by_id[i] for i in observed_ids])
    failed = ~np.isfinite(simulated).all(1)
    usable = ~failed & np.isfinite(observed).all(1)
    sd = np.nanstd(observed, axis=0)
    distance = np.sqrt((((simulated[usable] - observed[usable]) / sd) ** 2).sum(1))
    print(f"failed {failed.mean() * 100:.2f}%  distance {distance.mean():.2f} ± {distance.std():.2f} "
          f"median {np.median(distance):.2f} (n={usable.sum()})")


if __name__ == "__main__":
    main(*sys.argv[1:3])

#!/usr/bin/env python3
"""Reference sparse reduced-rank regression in Python, built on scikit-learn's MultiTaskElasticNet
(alpha = λ, l1_ratio = α, no intercept), for IonLink's regression tests. Measurement/fixture tool only.

    .venv-tools/bin/pip install numpy scikit-learn
    .venv-tools/bin/python tools/srrr_reference.py            # writes Tests/IonLinkRegressionTests/Fixtures
    .venv-tools/bin/python tools/srrr_reference.py --time     # times the full CV grid (BENCHMARKS.md)

Inputs: the shipped data (data/m1/gene_counts.csv.gz, data/m1/npe_n_map_parameters.csv.gz), preprocessed as
REGRESSION.md says: GO ion-channel genes + Pvalb/Lamp5/Vip/Sst with >= 10 counts over the matched cells,
library-size normalisation over those genes, log2(x+1), z-score; outputs z-scored.
Outputs (numbers only): X.npy, Y.npy, genes.txt, and for rank 2, λ = 0.2, α = 1: w.npy, v.npy (sRRR),
w_relaxed.npy, v_relaxed.npy; cv.csv for ranks 2 and 13, λ in {0.2, 0.5, 1.0}, 10 folds of np.random.seed(42).
"""
import argparse
import csv
import gzip
import os
import re
import time

import numpy as np
from sklearn.linear_model import MultiTaskElasticNet

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "IonLinkRegressionTests", "Fixtures")


def normalise(cell):
    m = re.fullmatch(r"(\d{8})_?sample_?(\d+)", cell.strip().lower())
    return "%s_sample_%d" % (m.group(1), int(m.group(2))) if m else cell.strip()


def load():
    with gzip.open(os.path.join(ROOT, "data/m1/npe_n_map_parameters.csv.gz"), "rt") as f:
        rows = list(csv.reader(f))
    params = {normalise(r[0]): [float(x) for x in r[1:]] for r in rows[1:]}
    order = [normalise(r[0]) for r in rows[1:]]
    with gzip.open(os.path.join(ROOT, "data/m1/gene_counts.csv.gz"), "rt") as f:
        rows = list(csv.reader(f))
    cells = [normalise(c) for c in rows[0][1:]]
    genes = [r[0] for r in rows[1:]]
    counts = np.array([[float(x) for x in r[1:]] for r in rows[1:]]).T  # cells x genes
    index = {c: i for i, c in enumerate(cells)}
    matched = [c for c in order if c in index]
    X = counts[[index[c] for c in matched]]
    Y = np.array([params[c] for c in matched])
    go = set(l.strip() for l in open(os.path.join(ROOT, "data/m1/ion_channel_gene_symbols_GO.txt")) if l.strip())
    go |= {"Pvalb", "Lamp5", "Vip", "Sst"}
    keep = [j for j, g in enumerate(genes) if g in go and X[:, j].sum() >= 10]
    X = X[:, keep]
    rowsum = X.sum(axis=1, keepdims=True)
    X = np.log2(X / rowsum * np.median(rowsum) + 1)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    Y = (Y - Y.mean(axis=0)) / Y.std(axis=0)
    return X, Y, [genes[j] for j in keep]


def fix_signs(w, v):
    pos = np.argmax(np.abs(v), axis=0)
    flips = np.sign(v[pos, range(v.shape[1])])
    return w * flips, v * flips


def srrr(X, Y, rank, lam, alpha=1.0, max_iter=100):
    _, _, vt = np.linalg.svd(X.T @ Y, full_matrices=False)
    v = vt[:rank].T
    prev = np.inf
    for _ in range(max_iter):
        net = MultiTaskElasticNet(alpha=lam, l1_ratio=alpha, fit_intercept=False, tol=1e-14, max_iter=1_000_000)
        w = net.fit(X, Y @ v).coef_.T
        if np.all(w == 0):
            return w, v * 0
        a, _, bt = np.linalg.svd(Y.T @ X @ w, full_matrices=False)
        v = a @ bt
        w, v = fix_signs(w, v)
        loss = np.sum((Y - X @ w @ v.T) ** 2) / np.sum(Y ** 2)
        if abs(loss - prev) < 1e-6:
            break
        prev = loss
    return w, v


def relaxed(X, Y, w, rank, lam):
    selected = np.flatnonzero(np.any(w != 0, axis=1))
    out_w = np.zeros((X.shape[1], rank))
    if len(selected) == 0:
        return out_w, np.zeros((Y.shape[1], rank))
    Xs = X[:, selected]
    u, s, vt = np.linalg.svd(Xs, full_matrices=False)
    B = vt.T @ np.diag(s / (s ** 2 + lam * X.shape[0])) @ u.T @ Y
    _, _, pt = np.linalg.svd(Xs @ B, full_matrices=False)
    r = min(rank, len(selected))
    v = pt[:r].T
    ws, v = fix_signs(B @ v, v)
    out_w = np.zeros((X.shape[1], r))
    out_w[selected] = ws
    return out_w, v


def cv(X, Y, ranks, lambdas, folds=10, seed=42):
    n = X.shape[0]
    np.random.seed(seed)
    perm = np.random.permutation(n)
    size = n // folds
    rows = []
    for rank in ranks:
        for lam in lambdas:
            for k in range(folds):
                test = perm[k * size:(k + 1) * size]
                train = np.setdiff1d(np.arange(n), test)
                mx, my = X[train].mean(0), Y[train].mean(0)
                Xtr, Ytr, Xte, Yte = X[train] - mx, Y[train] - my, X[test] - mx, Y[test] - my
                w, v = srrr(Xtr, Ytr, rank, lam)
                genes = int(np.sum(np.any(w != 0, axis=1)))
                wr, vr = relaxed(Xtr, Ytr, w, rank, lam)
                r2 = lambda ww, vv, xx, yy: 0.0 if genes == 0 else 1 - np.sum((yy - xx @ ww @ vv.T) ** 2) / np.sum(yy ** 2)
                rows.append([rank, lam, k, genes, r2(w, v, Xte, Yte), r2(wr, vr, Xte, Yte), r2(w, v, Xtr, Ytr)])
    return rows


def main():
    a = argparse.ArgumentParser()
    a.add_argument("--time", action="store_true")
    args = a.parse_args()
    X, Y, genes = load()
    if args.time:
        lambdas = [round(0.1 * i, 1) for i in range(1, 20)]
        for rank in (2, 13):
            start = time.perf_counter()
            cv(X, Y, [rank], lambdas)
            print("rank %d, 19 lambdas, 10 folds: %.1f s" % (rank, time.perf_counter() - start))
        return
    os.makedirs(OUT, exist_ok=True)
    np.save(os.path.join(OUT, "X.npy"), X)
    np.save(os.path.join(OUT, "Y.npy"), Y)
    open(os.path.join(OUT, "genes.txt"), "w").write("\n".join(genes) + "\n")
    w, v = srrr(X, Y, 2, 0.2)
    wr, vr = relaxed(X, Y, w, 2, 0.2)
    for name, m in [("w", w), ("v", v), ("w_relaxed", wr), ("v_relaxed", vr)]:
        np.save(os.path.join(OUT, name + ".npy"), m)
    with open(os.path.join(OUT, "cv.csv"), "w") as f:
        f.write("rank,lambda,fold,n_genes,r2_test,r2_test_relaxed,r2_train\n")
        for r in cv(X, Y, [2, 13], [0.2, 0.5, 1.0]):
            f.write(",".join(repr(float(x)) if isinstance(x, float) else str(x) for x in r) + "\n")
    print(X.shape, Y.shape, "selected", int(np.sum(np.any(w != 0, axis=1))))


if __name__ == "__main__":
    main()

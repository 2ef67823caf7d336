#!/usr/bin/env python3
"""Writes Tests/IonLinkPatchSeqTests/Fixtures/{counts_csr.h5ad, counts_dense.h5ad}: 4 cells × 3 genes in the
AnnData on-disk layout (X as CSR sparse and as a dense matrix; obs/var dataframes with an `_index`), with h5py's
default file format. Fixture tool only: .venv-tools/bin/python tools/make_h5ad_fixture.py"""
import os

import h5py
import numpy as np

OUT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "Tests", "IonLinkPatchSeqTests", "Fixtures")
dense = np.array([[1, 0, 3], [0, 5, 0], [7, 0, 9], [2, 4, 0]], dtype=np.float32)
cells = ["20180918sample1", "20180918sample2", "20180918_sample_3", "20180918_sample_4"]
genes = ["Pvalb", "Vip", "Sst"]


def frame(f, name, index):
    g = f.create_group(name)
    g.attrs["encoding-type"] = "dataframe"
    g.attrs["encoding-version"] = "0.2.0"
    g.attrs["_index"] = "_index"
    g.attrs["column-order"] = np.array([], dtype=h5py.string_dtype())
    g.create_dataset("_index", data=np.array(index, dtype=h5py.string_dtype()))


os.makedirs(OUT, exist_ok=True)
with h5py.File(os.path.join(OUT, "counts_csr.h5ad"), "w") as f:
    frame(f, "obs", cells)
    frame(f, "var", genes)
    x = f.create_group("X")
    x.attrs["encoding-type"] = "csr_matrix"
    x.attrs["encoding-version"] = "0.1.0"
    x.attrs["shape"] = np.array(dense.shape)
    rows, cols = np.nonzero(dense)
    x.create_dataset("data", data=dense[rows, cols])
    x.create_dataset("indices", data=cols.astype(np.int32))
    x.create_dataset("indptr", data=np.concatenate([[0], np.cumsum((dense != 0).sum(axis=1))]).astype(np.int32))
with h5py.File(os.path.join(OUT, "counts_dense.h5ad"), "w") as f:
    frame(f, "obs", cells)
    frame(f, "var", genes)
    f.create_dataset("X", data=dense)
print(sorted(os.listdir(OUT)))

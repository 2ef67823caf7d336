#!/usr/bin/env python3
"""Peer benchmark (measurement only, never a dependency of IonLink): eFEL on a trace matrix.

    python3 -m venv .venv-bench && .venv-bench/bin/pip install efel==5.7.34 numpy
    .venv-bench/bin/python Benchmarks/peers/efel_features.py --traces T.npy --dt-ms 0.04 --start-ms 100 --end-ms 700

Times eFEL's Spikecount alone and 11 standard features per trace (median of 5 timings, one thread; building
the input dictionaries is excluded), with eFEL's default interpolation and with interp_step = dt.
"""
import argparse
import json
import statistics
import time

import numpy as np


def main():
    a = argparse.ArgumentParser()
    a.add_argument("--traces", required=True)
    a.add_argument("--dt-ms", type=float, required=True)
    a.add_argument("--start-ms", type=float, required=True)
    a.add_argument("--end-ms", type=float, required=True)
    a.add_argument("--repeats", type=int, default=5)
    args = a.parse_args()
    import efel
    v = np.load(args.traces).astype(np.float64)
    t = np.arange(v.shape[1]) * args.dt_ms
    traces = [{"T": t, "V": row, "stim_start": [args.start_ms], "stim_end": [args.end_ms]} for row in v]
    features = ["Spikecount", "AP_amplitude", "AP_width", "spike_half_width", "AHP_depth", "AP_begin_voltage",
                "ISI_CV", "mean_frequency", "time_to_first_spike", "adaptation_index2", "voltage_base"]
    results = {}
    for label, names, interp in [("spikecount", ["Spikecount"], None), ("11_features", features, None),
                                 ("spikecount_interp_dt", ["Spikecount"], args.dt_ms), ("11_features_interp_dt", features, args.dt_ms)]:
        efel.reset()
        if interp is not None:
            efel.set_setting("interp_step", interp)
        timings = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            efel.get_feature_values(traces, names, raise_warnings=False)
            timings.append((time.perf_counter() - start) / len(traces) * 1e6)
        results[label] = statistics.median(timings)
        print("%s: %.0f µs per trace (median of %d; runs %s)" % (label, results[label], args.repeats,
                                                               ", ".join("%.0f" % x for x in timings)))
    print(json.dumps({"peer": "efel", "version": efel.__version__, "traces": len(traces), "us_per_trace": results}))


if __name__ == "__main__":
    main()

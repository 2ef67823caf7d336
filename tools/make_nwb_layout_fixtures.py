#!/usr/bin/env python3
"""Writes the NWB layout fixtures of Tests/IonLinkElectrophysiologyTests/Fixtures/layouts (run on purpose; the
outputs are committed). Fixture tool only, never a dependency of IonLink.

    python3 -m venv .venv-tools && .venv-tools/bin/pip install numpy h5py pynwb
    .venv-tools/bin/python tools/make_nwb_layout_fixtures.py
    .venv-tools/bin/python tools/make_nwb_layout_fixtures.py --fuzz-seeds Fuzz/Seeds/NWB   # 400-sample versions

Each file holds two golden reference simulations (Sources/IonLinkTestSupport/Golden: theta1 and theta2; 25 kHz,
300 pA from 100 to 700 ms), cut to their first 800 ms, as NWB files in the layouts found on DANDI:

  dandi000008.nwb  the Scala et al. 2021 converter (DANDI 000008/000035): float64 millivolts stored under "volts"
                   and picoamperes under "amperes", both with conversion 1.0; a 0 pA IZeroClampSeries without a
                   stimulus first; sweep_number on every series and a legacy SweepTable
  conversion.nwb   SI-correct through conversion: int16-like float32 millivolts with conversion 1e-3 under "volts",
                   picoamperes with conversion 1e-12 under "amperes"
  icephys.nwb      NWB >= 2.4 icephys tables (intracellular recordings, simultaneous and sequential recordings with a
                   stimulus type), SI values, no sweep numbers on the series
  icephys_crossed.nwb  the icephys tables as the only correct pairing: the 300 pA response is named before the 0 pA
                   one but its stimulus after, so pairing by position (or name order) would be wrong; no sweep numbers;
                   stimulus type "long square"
  mies.nwb         Allen/MIES (DANDI 000020): data_0000N_AD0 responses and data_0000N_DA0 stimuli without sweep
                   numbers, SI float32; a voltage-clamp sweep in between, and an aborted current-clamp sweep whose
                   samples stop (NaN) halfway
"""
import datetime
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OUT = os.path.join(ROOT, "Tests", "IonLinkElectrophysiologyTests", "Fixtures", "layouts")
GOLDEN = os.path.join(ROOT, "Sources", "IonLinkTestSupport", "Golden")
RATE = 25000.0
ROWS = [0, 1]      # theta1, theta2
SAMPLES = 20000    # 800 ms


def golden():
    traces = np.load(os.path.join(GOLDEN, "sim_traces_f64.npy"))[ROWS, :SAMPLES].astype(np.float32).astype(np.float64)
    current = np.zeros(SAMPLES)
    current[SAMPLES // 8:SAMPLES * 7 // 8] = 300.0   # 100 to 700 ms of 800
    return traces, current


def new_file(name):
    from pynwb import NWBFile
    nwb = NWBFile(session_description="IonLink fixture: %s layout" % name, identifier="ionlink-%s" % name,
                  session_id="cell-%s" % name,
                  session_start_time=datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc))
    device = nwb.create_device(name="amplifier")
    electrode = nwb.create_icephys_electrode(name="electrode", description="patch pipette", device=device)
    return nwb, electrode


def write(nwb, name):
    from pynwb import NWBHDF5IO
    with NWBHDF5IO(os.path.join(OUT, name), "w") as io:
        io.write(nwb)


def dandi000008(traces, current):
    from pynwb.icephys import CurrentClampSeries, CurrentClampStimulusSeries, IZeroClampSeries
    nwb, electrode = new_file("dandi000008")
    nwb.add_acquisition(IZeroClampSeries(name="index_000", data=traces[0, :SAMPLES // 8].copy(), unit="volts", conversion=1.0,
                                         starting_time=0.0, rate=RATE, electrode=electrode, gain=1.0,
                                         sweep_number=np.uint32(0)))
    for i, v in enumerate(traces):
        number = np.uint32(i + 1)
        nwb.add_stimulus(CurrentClampStimulusSeries(
            name="index_%03d" % (i + 1), data=current.copy(), unit="amperes", conversion=1.0, starting_time=0.0,
            rate=RATE, electrode=electrode, gain=1.0, sweep_number=number))
        nwb.add_acquisition(CurrentClampSeries(
            name="index_%03d" % (i + 1), data=v.copy(), unit="volts", conversion=1.0, starting_time=0.0, rate=RATE,
            electrode=electrode, gain=1.0, stimulus_description="step_300pA", sweep_number=number))
    write(nwb, "dandi000008.nwb")
    add_sweep_table(os.path.join(OUT, "dandi000008.nwb"))


def add_sweep_table(path):
    """The legacy SweepTable (2n - 1 rows: the stimulus-less 0 pA sweep, then a stimulus and a response per sweep).
    pynwb >= 3 refuses to write it, so it is added with h5py as the 000008 converter laid it out."""
    import h5py
    with h5py.File(path, "a") as f:
        table = f.require_group("general/intracellular_ephys").create_group("sweep_table")
        series = [("acquisition", "index_000", 0)]
        for n in (1, 2):
            series += [("stimulus/presentation", "index_%03d" % n, n), ("acquisition", "index_%03d" % n, n)]
        table.attrs.update({"neurodata_type": "SweepTable", "namespace": "core", "description": "legacy sweep table",
                            "colnames": np.array([b"series", b"sweep_number"], dtype=object)})
        table.create_dataset("id", data=np.arange(len(series)))
        table.create_dataset("sweep_number", data=np.array([n for _, _, n in series], dtype=np.uint32))
        references = table.create_dataset("series", (len(series),), dtype=h5py.ref_dtype)
        for i, (group, name, _) in enumerate(series):
            references[i] = f[group + "/" + name].ref
        table.create_dataset("series_index", data=np.arange(1, len(series) + 1))


def conversion(traces, current):
    from pynwb.icephys import CurrentClampSeries, CurrentClampStimulusSeries
    nwb, electrode = new_file("conversion")
    for i, v in enumerate(traces):
        nwb.add_stimulus(CurrentClampStimulusSeries(
            name="stimulus_%d" % i, data=current.astype(np.float32), unit="amperes", conversion=1e-12,
            starting_time=0.0, rate=RATE, electrode=electrode, gain=1.0, sweep_number=np.uint32(i)))
        nwb.add_acquisition(CurrentClampSeries(
            name="response_%d" % i, data=v.astype(np.float32), unit="volts", conversion=1e-3, starting_time=0.0,
            rate=RATE, electrode=electrode, gain=1.0, stimulus_description="step_300pA", sweep_number=np.uint32(i)))
    write(nwb, "conversion.nwb")


def icephys(traces, current):
    from pynwb.icephys import CurrentClampSeries, CurrentClampStimulusSeries
    nwb, electrode = new_file("icephys")
    rows = []
    for i, v in enumerate(traces):
        stimulus = CurrentClampStimulusSeries(name="stimulus_%d" % i, data=(current * 1e-12).astype(np.float32), unit="amperes",
                                              starting_time=0.0, rate=RATE, electrode=electrode, gain=1.0)
        response = CurrentClampSeries(name="response_%d" % i, data=(v * 1e-3).astype(np.float32), unit="volts", starting_time=0.0,
                                      rate=RATE, electrode=electrode, gain=1.0, stimulus_description="step_300pA")
        rows.append(nwb.add_intracellular_recording(electrode=electrode, stimulus=stimulus, response=response))
    simultaneous = [nwb.add_icephys_simultaneous_recording(recordings=[r]) for r in rows]
    nwb.add_icephys_sequential_recording(simultaneous_recordings=simultaneous, stimulus_type="square")
    write(nwb, "icephys.nwb")


def icephys_crossed(traces, current):
    from pynwb.icephys import CurrentClampSeries, CurrentClampStimulusSeries
    nwb, electrode = new_file("icephys_crossed")
    rest = np.full(SAMPLES, traces[0][0])
    rows = []
    for response_name, stimulus_name, v, i in [("response_a", "stimulus_z", traces[0], current),
                                                ("response_b", "stimulus_a", rest, np.zeros(SAMPLES))]:
        stimulus = CurrentClampStimulusSeries(name=stimulus_name, data=(i * 1e-12).astype(np.float32), unit="amperes",
                                              starting_time=0.0, rate=RATE, electrode=electrode, gain=1.0)
        response = CurrentClampSeries(name=response_name, data=(v * 1e-3).astype(np.float32), unit="volts", starting_time=0.0,
                                      rate=RATE, electrode=electrode, gain=1.0)
        rows.append(nwb.add_intracellular_recording(electrode=electrode, stimulus=stimulus, response=response))
    simultaneous = [nwb.add_icephys_simultaneous_recording(recordings=[r]) for r in rows]
    nwb.add_icephys_sequential_recording(simultaneous_recordings=simultaneous, stimulus_type="long square")
    write(nwb, "icephys_crossed.nwb")


def mies(traces, current):
    from pynwb.icephys import (CurrentClampSeries, CurrentClampStimulusSeries, VoltageClampSeries,
                               VoltageClampStimulusSeries)
    nwb, electrode = new_file("mies")
    aborted = traces[1].copy()
    aborted[SAMPLES // 2:] = np.nan
    sweeps = [("cc", traces[0]), ("vc", None), ("cc", traces[1]), ("cc", aborted)]
    for n, (kind, v) in enumerate(sweeps):
        name = "data_%05d_" % n
        if kind == "vc":
            command = np.zeros(SAMPLES, dtype=np.float32)
            command[2500:5000] = -0.01
            nwb.add_stimulus(VoltageClampStimulusSeries(name=name + "DA0", data=command, unit="volts", starting_time=0.0,
                                                        rate=RATE, electrode=electrode, gain=1.0,
                                                        stimulus_description="EXTPINBATH_DA_0"))
            nwb.add_acquisition(VoltageClampSeries(name=name + "AD0", data=np.zeros(SAMPLES, dtype=np.float32) + 5e-11,
                                                   unit="amperes", starting_time=0.0, rate=RATE, electrode=electrode,
                                                   gain=1.0, stimulus_description="EXTPINBATH_DA_0"))
            continue
        nwb.add_stimulus(CurrentClampStimulusSeries(name=name + "DA0", data=(current * 1e-12).astype(np.float32),
                                                    unit="amperes", starting_time=0.0, rate=RATE, electrode=electrode,
                                                    gain=1.0, stimulus_description="C1LSCOARSE150216_DA_0"))
        nwb.add_acquisition(CurrentClampSeries(name=name + "AD0", data=(v * 1e-3).astype(np.float32), unit="volts",
                                               starting_time=0.0, rate=RATE, electrode=electrode, gain=1.0,
                                               stimulus_description="C1LSCOARSE150216_DA_0"))
    write(nwb, "mies.nwb")


def main():
    global OUT, SAMPLES
    if len(sys.argv) == 3 and sys.argv[1] == "--fuzz-seeds":
        # The same layouts with 400 samples per series (16 ms): small seeds for Fuzz/FuzzNWB.
        OUT, SAMPLES = sys.argv[2], 400
    os.makedirs(OUT, exist_ok=True)
    traces, current = golden()
    dandi000008(traces, current)
    conversion(traces, current)
    icephys(traces, current)
    icephys_crossed(traces, current)
    mies(traces, current)
    if SAMPLES < 20000:
        strip_specifications()
    for name in sorted(os.listdir(OUT)):
        print(name, os.path.getsize(os.path.join(OUT, name)))


def strip_specifications():
    """Rewrites each file without /specifications (the embedded NWB schema, ~180 kB, which IonLink never reads)."""
    import h5py
    for name in os.listdir(OUT):
        path = os.path.join(OUT, name)
        with h5py.File(path, "r") as source, h5py.File(path + ".tmp", "w") as target:
            for key, value in source.attrs.items():
                target.attrs[key] = value
            for key in source:
                if key != "specifications":
                    source.copy(source[key], target, name=key)
        os.replace(path + ".tmp", path)


if __name__ == "__main__":
    main()

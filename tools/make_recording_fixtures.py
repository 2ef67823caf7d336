#!/usr/bin/env python3
"""Writes the small recording fixtures of Tests/IonLinkElectrophysiologyTests/Fixtures (run on purpose;
the outputs are committed). Measurement/fixture tool only, never a dependency of IonLink.

    python3 -m venv .venv-tools && .venv-tools/bin/pip install numpy h5py pynwb pyabf
    .venv-tools/bin/python tools/make_recording_fixtures.py

Sweeps: three golden reference simulations (Sources/IonLinkTestSupport/Golden: theta1, theta2, prior_19;
25 kHz, 300 pA from 100 to 700 ms) written as
  sweeps.nwb         NWB 2.x via pynwb: CurrentClampSeries + CurrentClampStimulusSeries (HDF5 default libver)
  latest.nwb         an HDF5 file written with libver='latest' (libhdf5 1.10 cannot read its datasets)
  sweeps_abf2.abf    ABF2 written here from the format as pyABF reads it: 2 ADC channels (mV, pA, int16),
                     a DAC epoch table (steps); checked by reading it back with pyABF
  sweeps_abf1.abf    ABF1 written by pyABF's own writer (one mV channel, float32 samples stored as int16)
and the values pyABF reads from the ABF files (abf*_expected_*.npy) for the tests to compare.
"""
import datetime
import os
import struct

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OUT = os.path.join(ROOT, "Tests", "IonLinkElectrophysiologyTests", "Fixtures")
GOLDEN = os.path.join(ROOT, "Sources", "IonLinkTestSupport", "Golden")
RATE = 25000.0
ROWS = [0, 1, 28]  # theta1, theta2, prior_19


def golden_sweeps():
    traces = np.load(os.path.join(GOLDEN, "sim_traces_f64.npy"))[ROWS]
    current = np.zeros(traces.shape[1])
    current[2500:17500] = 300.0
    return traces, current


def write_nwb(traces, current):
    from pynwb import NWBFile, NWBHDF5IO
    from pynwb.icephys import CurrentClampSeries, CurrentClampStimulusSeries
    nwb = NWBFile(session_description="IonLink fixture: golden simulations as sweeps",
                  identifier="ionlink-fixture", session_start_time=datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc))
    device = nwb.create_device(name="amplifier")
    electrode = nwb.create_icephys_electrode(name="electrode", description="patch pipette", device=device)
    for i, v in enumerate(traces):
        nwb.add_stimulus(CurrentClampStimulusSeries(
            name="stimulus_%03d" % i, data=(current * 1e-12).astype(np.float32), unit="amperes", conversion=1.0,
            starting_time=0.0, rate=RATE, electrode=electrode, gain=1.0, sweep_number=np.uint32(i)))
        nwb.add_acquisition(CurrentClampSeries(
            name="response_%03d" % i, data=(v * 1e-3).astype(np.float32), unit="volts", conversion=1.0,
            starting_time=0.0, rate=RATE, electrode=electrode, gain=1.0, stimulus_description="step_300pA",
            sweep_number=np.uint32(i)))
    with NWBHDF5IO(os.path.join(OUT, "sweeps.nwb"), "w") as io:
        io.write(nwb)


def write_latest_hdf5():
    import h5py
    with h5py.File(os.path.join(OUT, "latest.nwb"), "w", libver="latest") as f:
        f.create_dataset("acquisition/x/data", data=np.arange(100, dtype=np.float32), chunks=(10,), compression="gzip")
        f["acquisition/x"].attrs["neurodata_type"] = "CurrentClampSeries"


def write_abf2(traces, path):
    """A minimal ABF2: header, protocol, ADC, DAC, epoch-per-DAC, epoch, strings and data sections."""
    sweeps, points = traces.shape
    channels = 2
    block = 512
    volt_scale, current_scale = 0.1, 0.001          # fInstrumentScaleFactor (V/mV, V/pA)
    adc_range, resolution = 10.0, 32768
    lsb_v = adc_range / resolution / volt_scale      # mV per count
    lsb_i = adc_range / resolution / current_scale   # pA per count
    # Epoch table on DAC 0: A holds 0 pA until 100 ms, B steps to 300 pA (no increment) for 600 ms,
    # C steps to -20 pA + -10 pA per sweep for 50 ms; Clampex adds points/64 of holding first.
    pre = points // 64
    epochs = [(1, 0.0, 0.0, 2500 - pre, 0), (1, 300.0, 0.0, 15000, 0), (1, -20.0, -10.0, 1250, 0)]
    command = []
    for s in range(sweeps):
        c = np.zeros(points)
        pos = pre
        for (etype, level, inc, dur, dinc) in epochs:
            d = dur + dinc * s
            c[pos:pos + d] = level + inc * s
            pos += d
        command.append(c)
    command = np.array(command)
    raw_v = np.round(traces / lsb_v).astype(np.int16)
    raw_i = np.round(command / lsb_i).astype(np.int16)
    interleaved = np.empty((sweeps, points, channels), dtype=np.int16)
    interleaved[:, :, 0] = raw_v
    interleaved[:, :, 1] = raw_i
    strings = b"\x00\x00" + b"\x00".join([b"Clampex", b"IN 0", b"mV", b"IN 1", b"pA", b"Cmd 0", b"pA", b"fixture.pro", b""])
    sections = {"protocol": 1, "adc": 2, "dac": 3, "epochperdac": 4, "epoch": 5, "strings": 6, "synch": 7, "data": 8}
    data = bytearray(sections["data"] * block + interleaved.size * 2)
    struct.pack_into("<4s4bIIIII", data, 0, b"ABF2", 0, 0, 6, 2, block, sweeps, 20260101, 0, 0)
    struct.pack_into("<HHHHI", data, 28, 0, 0, 1, 0, 0)           # nFileType, nDataFormat (int16), ...
    struct.pack_into("<4B", data, 56, 0, 0, 6, 10)                # creator version
    struct.pack_into("<III", data, 60, 1, 0, 8)                   # creator name, modifier, protocol path
    def section(offset, blk, size, count):
        struct.pack_into("<IIq", data, offset, blk, size, count)
    section(76, sections["protocol"], block, 1)
    section(92, sections["adc"], 128, channels)
    section(108, sections["dac"], 256, 1)
    section(124, sections["epoch"], 32, len(epochs))
    section(156, sections["epochperdac"], 48, len(epochs))
    section(220, sections["strings"], len(strings), 1)
    section(236, sections["data"], 2, interleaved.size)
    section(316, sections["synch"], 8, sweeps)
    p = sections["protocol"] * block
    struct.pack_into("<hf", data, p, 5, 1e6 / RATE)               # episodic; µs per sample
    struct.pack_into("<iii", data, p + 22, points * channels, 0, sweeps)
    struct.pack_into("<ffii", data, p + 110, adc_range, adc_range, resolution, resolution)
    struct.pack_into("<h", data, p + 142, 0)                      # nActiveDACChannel
    for c, (scale, name, unit) in enumerate([(volt_scale, 2, 3), (current_scale, 4, 5)]):
        a = sections["adc"] * block + c * 128
        struct.pack_into("<hhhf", data, a, c, 0, 0, 1.0)
        struct.pack_into("<hhfff", data, a + 24, c, c, 1.0, 1.0, 0.0)
        struct.pack_into("<ffff", data, a + 40, scale, 0.0, 1.0, 0.0)
        struct.pack_into("<ii", data, a + 74, name, unit)
    d = sections["dac"] * block
    struct.pack_into("<hhfff", data, d, 0, 0, 0.0, 1.0, 0.0)      # holding 0 pA
    struct.pack_into("<ii", data, d + 24, 6, 7)
    struct.pack_into("<hhh", data, d + 40, 1, 1, 0)               # waveform enabled from epochs, return to holding
    for i, (etype, level, inc, dur, dinc) in enumerate(epochs):
        e = sections["epochperdac"] * block + i * 48
        struct.pack_into("<hhhffiiii", data, e, i, 0, etype, level, inc, dur, dinc, 0, 0)
        struct.pack_into("<hh", data, sections["epoch"] * block + i * 32, i, 0)
    data[sections["strings"] * block: sections["strings"] * block + len(strings)] = strings
    for s in range(sweeps):  # synch array: (start, length) of each sweep, fixed-length sweeps
        struct.pack_into("<ii", data, sections["synch"] * block + 8 * s, s * points * channels, points * channels)
    data[sections["data"] * block:] = interleaved.tobytes()
    with open(path, "wb") as f:
        f.write(data)
    return raw_v * lsb_v, command


def main():
    import pyabf
    import pyabf.abfWriter
    os.makedirs(OUT, exist_ok=True)
    traces, current = golden_sweeps()
    write_nwb(traces, current)
    write_latest_hdf5()

    abf2 = os.path.join(OUT, "sweeps_abf2.abf")
    expected_v, expected_c = write_abf2(traces, abf2)
    abf = pyabf.ABF(abf2)
    assert abf.sweepCount == 3 and abf.dataRate == RATE and abf.adcUnits == ["mV", "pA"], (abf.sweepCount, abf.dataRate, abf.adcUnits)
    voltage, command, measured = [], [], []
    for s in abf.sweepList:
        abf.setSweep(s, channel=0)
        voltage.append(abf.sweepY.copy())
        command.append(abf.sweepC.copy())
        abf.setSweep(s, channel=1)
        measured.append(abf.sweepY.copy())
    voltage, command, measured = np.array(voltage), np.array(command), np.array(measured)
    assert np.abs(voltage - expected_v).max() < 1e-3, "pyABF reads other voltages than written"
    assert np.abs(command - expected_c).max() < 1e-9, "pyABF rebuilds another command than written"
    np.save(os.path.join(OUT, "abf2_expected_voltage.npy"), voltage)
    np.save(os.path.join(OUT, "abf2_expected_command.npy"), command)
    np.save(os.path.join(OUT, "abf2_expected_current.npy"), measured)

    abf1 = os.path.join(OUT, "sweeps_abf1.abf")
    pyabf.abfWriter.writeABF1(traces.astype(np.float32), abf1, RATE, units="mV")
    abf = pyabf.ABF(abf1)
    voltage = []
    for s in abf.sweepList:
        abf.setSweep(s)
        voltage.append(abf.sweepY.copy())
    assert abf.dataRate == RATE
    np.save(os.path.join(OUT, "abf1_expected_voltage.npy"), np.array(voltage))
    for name in sorted(os.listdir(OUT)):
        print(name, os.path.getsize(os.path.join(OUT, name)))


if __name__ == "__main__":
    main()

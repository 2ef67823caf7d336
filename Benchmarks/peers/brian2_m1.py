#!/usr/bin/env python3
"""Peer benchmark (measurement only, never a dependency of IonLink): the paper's M1 Hodgkin-Huxley model
(docs/reference/model.md) in Brian2, C++ standalone, one NeuronGroup of N neurons drawn from the prior box,
10 pA current noise drawn per neuron and per step, 800 ms at dt 0.04 ms, exponential Euler, no recording.

    python3 -m venv .venv-bench && .venv-bench/bin/pip install Brian2==2.9.0 numpy==2.3.5 Cython setuptools
    .venv-bench/bin/python Benchmarks/peers/brian2_m1.py --count 1000 --threads 1 --repeats 5

Prints one line per repeat and a JSON summary; the simulation time is Brian2's own measurement inside the
compiled binary (device._last_run_time), as `ionlink bench simulate` times only the simulation.
"""
import argparse, json, os, platform, statistics, tempfile, time
import numpy as np

LOW = [0.1, 20, 0.1, 0, 0, 0, 0, 0, 0, -130, 50, -90, 0.1]
HIGH = [15, 1000, 70, 250, 100, 30, 3, 250, 3, -50, 4000, -35, 3]
NAMES = ["C", "R_input", "tau", "gNat", "gNa", "gKd", "gM", "gKv31", "gL", "E_leak", "tau_max", "VT", "r_SS"]

EQUATIONS = """
dV/dt = (-(gNat*m**3*h + gNa*mt**3*ht)*(V - ENa) - (gKd*n**4 + gM*p + gKv31*w)*(V - EK)
         - gL*q**2*r*(V - ECa) - (C/tau)*(V - E_leak) + 1e-3*C*R_input/tau*(I_inj(t) + I_noise)) / C / ms : 1
dm/dt = (am*(1-m) - bm*m)*phiHay/ms : 1
dh/dt = (ah*(1-h) - bh*h)*phiHay/ms : 1
dmt/dt = (amt*(1-mt) - bmt*mt)*phiPos/r_SS/ms : 1
dht/dt = (aht*(1-ht) - bht*ht)*phiPos/r_SS/ms : 1
dn/dt = (an*(1-n) - bn*n)*phiPos/r_SS/ms : 1
dp/dt = (pinf - p)*phiPos*(3.3*exp((V+35)/20) + exp(-(V+35)/20))/tau_max/ms : 1
dw/dt = (winf - w)*phiHay*(1 + exp(-(V+56.56)/44.14))/4/ms : 1
dq/dt = (aq*(1-q) - bq*q)/ms : 1
dr/dt = (ar*(1-r) - br*r)/ms : 1
am = 0.182*(V+38)/(1-exp(-(V+38)/6)) : 1
bm = -0.124*(V+38)/(1-exp((V+38)/6)) : 1
ah = -0.015*(V+66)/(1-exp((V+66)/6)) : 1
bh = 0.015*(V+66)/(1-exp(-(V+66)/6)) : 1
amt = -0.32*(V-VT-13)/(exp(-(V-VT-13)/4)-1) : 1
bmt = 0.28*(V-VT-40)/(exp((V-VT-40)/5)-1) : 1
aht = 0.128*exp(-(V-VT-17)/18) : 1
bht = 4/(1+exp(-(V-VT-40)/5)) : 1
an = -0.032*(V-VT-15)/(exp(-(V-VT-15)/5)-1) : 1
bn = 0.5*exp(-(V-VT-10)/40) : 1
pinf = 1/(1+exp(-(V+35)/10)) : 1
winf = 1/(1+exp(-(V-18.7)/9.7)) : 1
aq = -0.055*(27+V)/(exp(-(27+V)/3.8)-1) : 1
bq = 0.94*exp(-(75+V)/17) : 1
ar = 0.000457*exp(-(13+V)/50) : 1
br = 0.0065/(1+exp(-(15+V)/28)) : 1
I_noise : 1
C : 1
R_input : 1
tau : 1
gNat : 1
gNa : 1
gKd : 1
gM : 1
gKv31 : 1
gL : 1
E_leak : 1
tau_max : 1
VT : 1
r_SS : 1
"""


def main():
    a = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    a.add_argument("--count", type=int, default=1000)
    a.add_argument("--threads", type=int, default=1)
    a.add_argument("--repeats", type=int, default=5)
    a.add_argument("--noise-pa", type=float, default=10.0)
    a.add_argument("--seed", type=int, default=1)
    args = a.parse_args()

    import brian2 as b2
    build = tempfile.mkdtemp(prefix="brian2-m1-")
    b2.set_device("cpp_standalone", directory=build, build_on_run=False)
    if args.threads > 1:
        b2.prefs.devices.cpp_standalone.openmp_threads = args.threads
    b2.defaultclock.dt = 0.04 * b2.ms
    phiHay, phiPos = 2.3 ** ((25 - 21) / 10), 2.3 ** ((25 - 36) / 10)
    ns = dict(ENa=69.0, EK=-98.4, ECa=127.2, phiHay=phiHay, phiPos=phiPos, ms=b2.ms,
              I_inj=b2.TimedArray([0, 300, 300, 300, 300, 300, 300, 0], dt=100 * b2.ms))
    group = b2.NeuronGroup(args.count, EQUATIONS, method="exponential_euler", namespace=ns)
    group.run_regularly(f"I_noise = {args.noise_pa}*randn()", when="start")
    rng = np.random.default_rng(args.seed)
    theta = rng.uniform(LOW, HIGH, size=(args.count, 13))
    for j, name in enumerate(NAMES):
        setattr(group, name, theta[:, j])
    group.V = "E_leak"
    # gates at steady state at E_leak (expressions in terms of V = E_leak)
    group.m = "am/(am+bm)"; group.h = "ah/(ah+bh)"; group.mt = "amt/(amt+bmt)"; group.ht = "aht/(aht+bht)"
    group.n = "an/(an+bn)"; group.p = "pinf"; group.w = "winf"; group.q = "aq/(aq+bq)"; group.r = "ar/(ar+br)"
    net = b2.Network(group)
    net.run(800 * b2.ms)
    t0 = time.time()
    b2.device.build(run=False, directory=build)
    compile_s = time.time() - t0
    sims = []
    for r in range(args.repeats):
        values = rng.uniform(LOW, HIGH, size=(args.count, 13))
        run_args = {getattr(group, name): np.ascontiguousarray(values[:, j]) for j, name in enumerate(NAMES)} if r > 0 else {}
        t0 = time.time()
        b2.device.run(run_args=run_args)
        wall = time.time() - t0
        sims.append(b2.device._last_run_time)
        print(f"repeat {r + 1}: simulation {sims[-1]:.3f} s (wall {wall:.3f} s), "
              f"{args.count / sims[-1] / args.threads:.0f} simulations/s per core")
    median = statistics.median(sims)
    print(json.dumps({"peer": "brian2", "version": b2.__version__, "count": args.count, "threads": args.threads,
                      "noise_pa": args.noise_pa, "compile_s": round(compile_s, 2), "sim_s": sims,
                      "sims_per_s_per_core": round(args.count / median / args.threads, 1),
                      "machine": platform.processor() or platform.machine()}))


if __name__ == "__main__":
    main()

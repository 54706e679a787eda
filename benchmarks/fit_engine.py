"""Benchmark of the fit engine (compile once, fit many) against the reference
path (``inference.fit``: build, compile and ``pm.sample`` per fit), on the
design sweeps' fits, with the kernel-limit anchor run in the same process
tree for a ratio that does not depend on how busy the machine is.

    .venv/bin/python benchmarks/fit_engine.py [--batch 50] [--reference 3] [--routes nutpie numpyro]
        [--aims 1 2] [--target-accept 0.95]

Fits: the aim 1 model of one marker (IL-6) and the aim 2 (coupling) model of
one marker (IL-1RA), each at the trial's design, 2 chains x (300 tuning + 500
draws), chains one after another on one core (as a sweep worker runs them),
diagnostics included. Prints, per model, seconds per fit for the reference
path and for each of the engine's routes (nutpie, numpyro: ``--routes``), the
engine's per fit with its compilations spread over the batch, and per chain;
the CPU cost of one log density and gradient of the nutpie-compiled model;
then the anchor's cost per chain (``../shared/anchors/kernel_limit.py``, when
present) and the ratios.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from ketamine_nif.paths import ROOT
from ketamine_nif.runner import configure_environment

ANCHOR = ROOT.parent / "shared" / "anchors" / "kernel_limit.py"
CHAINS, TUNE, DRAWS = 2, 300, 500


def twins(n: int, seed: int, marker: str):
    """``n`` prepared twins of the trial's design (paper-null), one marker."""
    from ketamine_nif.contract import load_dataset
    from ketamine_nif.models import prepare
    from ketamine_nif.twin import simulate

    with tempfile.TemporaryDirectory() as folder:
        return [prepare(load_dataset(simulate("paper-null", seed=seed + k).write(Path(folder) / str(k))), markers=[marker])
                for k in range(n)]


def anchor_per_chain() -> float | None:
    """Seconds per one-chain fit of the anchor, sequential on the CPU (same tuning and draws)."""
    if not ANCHOR.exists():
        return None
    out = subprocess.run([sys.executable, str(ANCHOR), "--reps", "8", "--warmup", str(TUNE), "--draws", str(DRAWS),
                          "--seq", "8"], capture_output=True, text=True, check=True).stdout
    print("anchor:", " | ".join(out.strip().splitlines()), flush=True)
    return float(re.search(r"sequential: ([\d.]+) ms/fit", out).group(1)) / 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=50, help="engine fits (one compilation per room needed)")
    parser.add_argument("--reference", type=int, default=3, help="inference.fit fits of each model")
    parser.add_argument("--routes", nargs="+", default=["nutpie", "numpyro"], help="the engine's routes to measure")
    parser.add_argument("--aims", nargs="+", default=["1", "2"], help="the models to measure: 1 (aim 1), 2 (aim 2)")
    parser.add_argument("--target-accept", type=float, default=0.95,
                        help="NUTS target acceptance (0.95: the sweeps' and the book's; the anchor's NumPyro default is 0.8)")
    args = parser.parse_args()
    configure_environment()
    os.environ["KETAMINE_NIF_SAMPLER_CORES"] = "1"  # chains one after another, as in a sweep worker
    from ketamine_nif.inference import SamplerSettings
    from ketamine_nif.models import build_coupling_model, build_nif_trajectory_model

    settings = SamplerSettings(draws=DRAWS, tune=TUNE, chains=CHAINS, seed=int(time.time()) % 100_000,
                               target_accept=args.target_accept)
    print(f"target acceptance {settings.target_accept}", flush=True)
    per_chain = {}
    for label, form, build, marker in (("aim 1", "nif_trajectory", build_nif_trajectory_model, "IL-6"),
                                       ("aim 2", "coupling", build_coupling_model, "IL-1RA")):
        if label.split()[-1] not in args.aims:
            continue
        per_chain.update(compare(label, form, build, twins(args.batch, settings.seed, marker), settings, args.reference,
                                 args.routes))
    anchor = anchor_per_chain()
    if anchor is not None:
        print(f"anchor: {anchor:.3f} s per chain; " + "; ".join(
            f"{label} engine per chain / anchor per chain: {cost / anchor:.1f}x" for label, cost in per_chain.items()))


def gradient_cost(compiled, calls: int = 20_000) -> float:
    """Microseconds of CPU (this thread's) per log density and gradient of a
    nutpie-compiled model, called through its C callback at a point near
    the origin of the unconstrained space; the best of 5 rounds."""
    import ctypes

    dim = compiled.n_dim
    point, gradient, logp = np.random.default_rng(0).normal(0, 0.3, dim), np.zeros(dim), np.zeros(())
    double = ctypes.POINTER(ctypes.c_double)
    args = (ctypes.c_uint64(dim), point.ctypes.data_as(double), gradient.ctypes.data_as(double),
            logp.ctypes.data_as(double), ctypes.c_void_p(compiled.user_data.ctypes.data))
    call = compiled.compiled_logp_func.ctypes
    if call(*args) != 0:
        raise RuntimeError("the compiled log density failed at the benchmark's point")
    best = float("inf")
    for _ in range(5):
        start = time.thread_time()
        for _ in range(calls):
            call(*args)
        best = min(best, (time.thread_time() - start) / calls)
    return best * 1e6


def compare(label: str, form: str, build, data: list, settings, reference_count: int, routes: list[str]) -> dict:
    """Prints each path's cost for one model; returns the engine's seconds per chain, per route."""
    from ketamine_nif.engine import compiled, engine
    from ketamine_nif.inference import fit

    marker = data[0].markers[0]
    print(f"{label}, {marker}, {len(data[0].participants)} participants, {CHAINS} x ({TUNE} + {DRAWS}); "
          f"{len(data)} engine fits per route, {reference_count} reference fits", flush=True)
    start = time.perf_counter()
    for k in range(reference_count):
        fit(build(data[k]), settings.for_fit(k), "reference")
    reference = (time.perf_counter() - start) / reference_count
    print(f"  inference.fit: {reference:.2f} s per fit (build, compile, sample)", flush=True)
    per_chain = {}
    for sampler in routes:
        routed = replace(settings, sampler=sampler)
        fits, seconds = [], []
        for k, d in enumerate(data):  # as a sweep worker does: a new compilation only for a twin that needs more room
            start = time.perf_counter()
            fits.append(engine(form, d, routed).fit(d, seed=settings.seed + k))
            seconds.append(time.perf_counter() - start)
        per_fit = float(np.median(seconds))  # a fit once the model is compiled (JAX compiles at an engine's first fit)
        divergent = sum(f.diagnostics.divergences > 0 for f in fits)
        print(f"  engine, {sampler}: {len(compiled(form, sampler))} compilation(s); median {per_fit:.3f} s per fit "
              f"({per_fit / CHAINS:.3f} s per chain), sampling and diagnostics; {sum(seconds) / len(data):.3f} s per fit "
              f"with the compilations spread over {len(data)}; {divergent} of {len(data)} fits with divergences")
        print(f"  ratio inference.fit / engine ({sampler}), compilation included over {len(data)}: "
              f"{reference / (sum(seconds) / len(data)):.1f}x", flush=True)
        per_chain[f"{label} {sampler}"] = per_fit / CHAINS
        if sampler == "nutpie":
            print(f"  log density and gradient (nutpie, numba): {gradient_cost(engine(form, data[-1], routed).compiled):.1f} "
                  f"microseconds of CPU per evaluation, the C callback included", flush=True)
    return per_chain


if __name__ == "__main__":
    main()

"""Benchmark of the sweep runner: the same sweep with 1 worker and with all
cores, printed as a speed-up ratio, with the cost per fit. Optionally the same
sweep with another sampler (e.g. numpyro on a GPU), as a ratio to the first.

    .venv/bin/python benchmarks/sweep_scaling.py [--sweep sweeps/smoke.yaml] [--replicates 4]
                                                 [--compare-sampler numpyro]

Runs go to a temporary folder each time (nothing is skipped as already done),
and each pass uses other seeds, so that no pass finds the previous one's
compiled models in PyTensor's disk cache.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from dataclasses import replace

from ketamine_nif.runner import configure_environment
from ketamine_nif.sweep import load_sweep, run_sweep


def timed(sweep, workers: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as out:
        result = run_sweep(sweep, out=out, workers=workers, log=lambda _: None, progress=False)
    if len(result.failures):
        raise SystemExit(f"{len(result.failures)} run(s) failed: {result.failures['error'].tolist()}")
    return result.seconds, result.seconds * workers / result.executed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sweep", default="sweeps/smoke.yaml")
    parser.add_argument("--replicates", type=int, default=4, help="replicates per grid point (more: steadier ratio)")
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    parser.add_argument("--seed", type=int, default=None,
                        help="first seed (default: from the clock, so that no pass finds models compiled by an earlier run)")
    parser.add_argument("--compare-sampler", default=None, help="also run with this sampler (all workers) and print the ratio")
    args = parser.parse_args()
    configure_environment()
    sweep = load_sweep(args.sweep)
    seed = args.seed if args.seed is not None else int(time.time()) % 100_000 * 10
    sweep = replace(sweep, replicates=args.replicates, seed=seed)
    runs = len(sweep.runs())
    one, cost_one = timed(sweep, 1)
    print(f"{sweep.name}: {runs} fits, 1 worker: {one:.1f} s ({cost_one:.1f} core-seconds per fit)", flush=True)
    # other seeds (new data), so that the second pass compiles its models as the first did
    # instead of finding them in PyTensor's disk cache
    many, cost_many = timed(replace(sweep, seed=sweep.seed + 1000), args.workers)
    print(f"{sweep.name}: {runs} fits, {args.workers} workers: {many:.1f} s ({cost_many:.1f} core-seconds per fit)")
    print(f"speed-up 1 -> {args.workers} workers: {one / many:.2f}x (ideal {args.workers}x)")
    if args.compare_sampler:
        other = replace(sweep, seed=sweep.seed + 2000, fixed={**sweep.fixed, "sampling": {**sweep.fixed.get("sampling", {}), "sampler": args.compare_sampler}})
        seconds, _ = timed(other, args.workers)
        print(f"{args.compare_sampler}: {seconds:.1f} s; ratio to pymc on the CPU: {many / seconds:.2f}x faster")


if __name__ == "__main__":
    main()

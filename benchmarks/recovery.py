"""Recovery study: fit every aim's model to several synthetic twins of a
scenario (different seeds) and report coverage of the 95% intervals and bias
per estimand. Slow (minutes per seed); not part of the default build.

    .venv/bin/python benchmarks/recovery.py --scenario planted-effects --seeds 1,2,3 [--draws 1000] [--out DIR]

Saves per-fit estimates joined to the truth (recovery-estimates.csv), the
summary per estimand (recovery-summary.csv) and the command that made them
(recovery-command.txt) into --out (default _build/studies/recovery-<scenario>),
where the model-criticism chapter can read them.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

import pandas as pd

from ketamine_nif import estimates
from ketamine_nif.contract import load_dataset
from ketamine_nif.inference import SamplerSettings
from ketamine_nif.paths import BUILD
from ketamine_nif.recovery import fit_all
from ketamine_nif.runner import configure_environment
from ketamine_nif.twin import simulate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="planted-effects")
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--sampler", default="pymc")
    parser.add_argument("--markers", default=None, help="comma-separated subset of markers (default: all)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    configure_environment()
    out = args.out or BUILD / "studies" / f"recovery-{args.scenario}"
    out.mkdir(parents=True, exist_ok=True)
    markers = args.markers.split(",") if args.markers else None
    frames = []
    for seed in (int(s) for s in args.seeds.split(",")):
        start = time.perf_counter()
        twin = simulate(args.scenario, seed=seed)
        twin.write(out / f"data-seed-{seed}")
        settings = SamplerSettings(sampler=args.sampler, draws=args.draws, tune=args.draws, chains=args.chains, seed=seed)
        table, _ = fit_all(load_dataset(out / f"data-seed-{seed}"), settings, markers)
        frames.append(estimates.recovery(table, twin.truth).assign(seed=seed))
        print(f"seed {seed}: {len(table)} estimates in {time.perf_counter() - start:.0f} s", flush=True)
    joined = pd.concat(frames, ignore_index=True)
    joined["error"] = joined["mean"] - joined["truth"]
    summary = joined.groupby(["estimand"]).agg(
        fits=("seed", "nunique"), estimates=("mean", "size"), coverage=("covered", "mean"),
        bias=("error", "mean"), rmse=("error", lambda e: float((e**2).mean() ** 0.5)),
        detected_planted=("detected_in_direction", lambda d: float(d[joined.loc[d.index, "planted"]].mean()) if joined.loc[d.index, "planted"].any() else float("nan")),
        false_detections=("detected", lambda d: int(d[~joined.loc[d.index, "planted"]].sum())),
    ).reset_index()
    joined.to_csv(out / "recovery-estimates.csv", index=False)
    summary.to_csv(out / "recovery-summary.csv", index=False)
    (out / "recovery-command.txt").write_text(" ".join(shlex.quote(a) for a in [".venv/bin/python", *sys.argv]) + "\n")
    print(summary.to_string(index=False))
    print(f"saved to {out}")


if __name__ == "__main__":
    main()

"""Values under the detection limit: which treatment is less biased? Fits the
aim 1 model to several synthetic twins (seeds) of a scenario three ways: the
censored likelihood, LOD/2 substituted, LOD/sqrt(2) substituted; joins each
ketamine/saline ratio to the truth. Not part of the default build.

    .venv/bin/python benchmarks/lod_bias.py --scenario planted-effects --seeds 1,2,3 [--markers IL-6,IL-10,CRP] [--out DIR]

Saves the joined estimates (lod-bias-estimates.csv), the summary per method and
marker (lod-bias-summary.csv) and the command that made them
(lod-bias-command.txt) into --out (default studies/lod-bias-<scenario>, kept in the repository),
where the model-criticism chapter reads them.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

import pandas as pd

from ketamine_nif import criticism, estimates
from ketamine_nif.analysis import load as load_analysis
from ketamine_nif.contract import load_dataset
from ketamine_nif.estimands import NIF_CHANGE_RATIO
from ketamine_nif.inference import SamplerSettings, fit
from ketamine_nif.models import build_nif_trajectory_model, prepare
from ketamine_nif.models.trajectory import BELOW_LOD
from ketamine_nif.paths import ROOT
from ketamine_nif.runner import configure_environment
from ketamine_nif.twin import simulate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="planted-effects")
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--markers", default="IL-6,IL-10,CRP", help="comma-separated markers (those with a lod matter)")
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    configure_environment()
    out = args.out or ROOT / "studies" / f"lod-bias-{args.scenario}"
    out.mkdir(parents=True, exist_ok=True)
    markers = args.markers.split(",")
    frames = []
    for seed in (int(s) for s in args.seeds.split(",")):
        start = time.perf_counter()
        twin = simulate(args.scenario, seed=seed)
        twin.write(out / f"data-seed-{seed}")
        data = prepare(load_dataset(out / f"data-seed-{seed}"), markers=markers)
        by_method = {}
        for offset, method in enumerate(BELOW_LOD, start=1):
            settings = SamplerSettings(draws=args.draws, tune=args.draws, chains=args.chains, seed=seed * 100 + offset)
            result = fit(build_nif_trajectory_model(data, below_lod=method), settings, f"nif-{method}")
            by_method[method] = estimates.summarise(result.idata, NIF_CHANGE_RATIO, load_analysis().rope(NIF_CHANGE_RATIO), result.diagnostics.converged)
        joined = criticism.lod_bias(by_method, twin.truth, markers)
        share = pd.Series(data.nif_censored).groupby(pd.Series(data.markers)[data.nif_marker].to_numpy()).mean()
        frames.append(joined.assign(seed=seed, censored_share=joined["marker"].map(share)))
        print(f"seed {seed}: {len(joined)} estimates in {time.perf_counter() - start:.0f} s", flush=True)
    joined = pd.concat(frames, ignore_index=True)
    summary = joined.groupby(["method", "marker"], sort=False).agg(
        fits=("seed", "nunique"), censored_share=("censored_share", "mean"), estimates=("log_error", "size"),
        bias_log_ratio=("log_error", "mean"), rmse_log_ratio=("log_error", lambda e: float((e**2).mean() ** 0.5)),
        coverage=("covered", "mean"),
    ).reset_index()
    joined.to_csv(out / "lod-bias-estimates.csv", index=False)
    summary.to_csv(out / "lod-bias-summary.csv", index=False)
    (out / "lod-bias-command.txt").write_text(" ".join(shlex.quote(a) for a in [".venv/bin/python", *sys.argv]) + "\n")
    print(summary.to_string(index=False))
    print(f"saved to {out}")


if __name__ == "__main__":
    main()

"""Benchmark: each model on the default synthetic twin with each sampler.

Prints wall time (model build + compile + sampling), the smallest bulk ESS over
all parameters, min ESS per second, and each as a ratio to PyMC's own NUTS.
Saves the table to _build/benchmarks/samplers.csv.

    .venv/bin/python benchmarks/samplers.py [--samplers pymc,nutpie,numpyro] [--models ...] [--draws 1000]
"""

from __future__ import annotations

import argparse
import os
import platform
import time

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=4")  # numpyro: 4 chains in parallel

import pandas as pd  # noqa: E402

from ketamine_nif.contract import load_dataset  # noqa: E402
from ketamine_nif.inference import SamplerSettings, fit  # noqa: E402
from ketamine_nif.models import (  # noqa: E402
    build_coupling_model,
    build_moderation_model,
    build_nif_trajectory_model,
    build_outcome_model,
    prepare,
)
from ketamine_nif.paths import BUILD, SYNTHETIC_DATA  # noqa: E402
from ketamine_nif.runner import configure_environment  # noqa: E402

MODELS = {
    "nif-trajectories": build_nif_trajectory_model,
    "outcome": build_outcome_model,
    "coupling": build_coupling_model,
    "moderation": build_moderation_model,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samplers", default="pymc,nutpie,numpyro")
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--data", default=str(SYNTHETIC_DATA))
    args = parser.parse_args()
    configure_environment()
    data = prepare(load_dataset(args.data))
    rows = []
    for model_name in args.models.split(","):
        for sampler in args.samplers.split(","):
            settings = SamplerSettings(sampler=sampler, draws=args.draws, tune=args.draws, chains=4, seed=1)
            start = time.perf_counter()
            result = fit(MODELS[model_name](data), settings, model_name)
            seconds = time.perf_counter() - start
            d = result.diagnostics
            rows.append({"model": model_name, "sampler": sampler, "seconds": round(seconds, 1),
                         "min_ess_bulk": round(d.min_ess_bulk), "min_ess_per_s": round(d.min_ess_bulk / seconds, 2),
                         "max_r_hat": round(d.max_r_hat, 4), "divergences": d.divergences, "converged": d.converged})
            print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    base = table[table["sampler"] == "pymc"].set_index("model")
    table["time_ratio_to_pymc"] = (table["seconds"] / table["model"].map(base["seconds"])).round(2)
    table["ess_per_s_ratio_to_pymc"] = (table["min_ess_per_s"] / table["model"].map(base["min_ess_per_s"])).round(2)
    print(f"\nmachine: {platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(table.to_string(index=False))
    out = BUILD / "benchmarks"
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "samplers.csv", index=False)
    print(f"saved {out / 'samplers.csv'}")


if __name__ == "__main__":
    main()

"""What the reproducibility appendix reports: software versions, platform, git
state, the data, and each notebook's run (parameters, threads, run time) from
the files the runner writes (``_build/run-log.json``, ``_build/report-data.json``)
and the chapters' ``diagnostics.json``."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path

import pandas as pd

# the packages whose versions decide the numbers and the book
PACKAGES = (
    "ketamine-nif", "pymc", "pytensor", "arviz", "numpy", "scipy", "pandas", "xarray", "nutpie", "numpyro", "jax",
    "statsmodels", "matplotlib", "papermill", "jupytext", "nbformat", "ipykernel", "pypandoc-binary", "typst", "pyyaml",
)


def read_json(path: str | Path) -> dict:
    """A JSON file, or {} when it does not exist."""
    path = Path(path)
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def package_versions(packages=PACKAGES) -> pd.DataFrame:
    rows = []
    for name in packages:
        try:
            version = metadata.version(name)
        except metadata.PackageNotFoundError:
            version = "not installed"
        rows.append({"package": name, "version": version})
    return pd.DataFrame(rows)


def git_state(root: str | Path) -> dict:
    """The commit of the checkout and whether it has uncommitted changes;
    ``commit`` says 'not a git checkout' where there is none (or no git)."""
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=True, timeout=30).stdout.strip()

    try:
        if git("rev-parse", "--show-toplevel") != str(Path(root).resolve()):
            raise subprocess.CalledProcessError(1, "git")
        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.CalledProcessError, subprocess.TimeoutExpired):
        return {"commit": "not a git checkout", "uncommitted changes": "unknown"}
    return {"commit": commit, "uncommitted changes": "yes" if dirty else "no"}


def platform_table(root: str | Path) -> pd.DataFrame:
    """Python, operating system, processor and git state of this build."""
    git = git_state(root)
    rows = {
        "Python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": platform.platform(),
        "machine": platform.machine(),
        "CPU cores": str(os.cpu_count()),
        "git commit": git["commit"],
        "uncommitted changes to tracked files": git["uncommitted changes"],
    }
    return pd.DataFrame({"item": list(rows), "value": list(rows.values())})


def data_table(report_data: dict) -> pd.DataFrame:
    """Which data the book ran on: directory, fingerprint, synthetic scenario and seed."""
    rows = {"data directory": report_data.get("data_dir", "unknown"), "data hash (SHA-256, first 16)": report_data.get("data_hash", "unknown")}
    if report_data.get("synthetic"):
        rows["synthetic twin: scenario"] = str(report_data.get("scenario", "unknown"))
        rows["synthetic twin: seed"] = str(report_data.get("seed", "unknown"))
    else:
        rows["origin"] = "real data (no synthetic marker)"
    return pd.DataFrame({"item": list(rows), "value": list(rows.values())})


def run_table(run_log: dict, stems: list[str]) -> pd.DataFrame:
    """Each notebook's last execution: when, how long, Python, and its parameters
    (besides the data and output folders, which every notebook gets)."""
    rows = []
    for stem in stems:
        record = run_log.get(stem)
        if not record:
            rows.append({"notebook": stem, "last executed": "not recorded", "seconds": "", "Python": "", "parameters": ""})
            continue
        parameters = {k: v for k, v in (record.get("parameters") or {}).items() if k not in ("data_dir", "output_dir")}
        rows.append({
            "notebook": stem,
            "last executed": str(record.get("started", "")).replace("T", " ") or "before run times were dated",
            "seconds": f"{record['seconds']:.1f}" if isinstance(record.get("seconds"), int | float) else "",
            "Python": record.get("python", ""),
            "parameters": ", ".join(f"{k}={json.dumps(v)}" for k, v in parameters.items()) or "(defaults)",
        })
    return pd.DataFrame(rows)


def thread_table(run_log: dict) -> pd.DataFrame:
    """The thread settings the notebooks ran with (each value, and how many notebooks used it)."""
    counts: dict[tuple[str, str], int] = {}
    for record in run_log.values():
        for key, value in (record.get("threads") or {}).items():
            counts[(key, str(value))] = counts.get((key, str(value)), 0) + 1
    return pd.DataFrame([{"setting": k, "value": v, "notebooks": n} for (k, v), n in sorted(counts.items())],
                        columns=["setting", "value", "notebooks"])


def sampler_table(outputs_dir: str | Path, stems: list[str]) -> pd.DataFrame:
    """Every fit's sampler settings and verdict, from each chapter's
    diagnostics.json (a target acceptance starred: the fit was refitted at
    it after a first fit failed the checks)."""
    rows = []
    for stem in stems:
        for model, d in read_json(Path(outputs_dir) / stem / "diagnostics.json").items():
            if not isinstance(d, dict) or "sampler" not in d:
                continue
            rows.append({
                "chapter": stem, "model": d.get("model", model), "sampler": d["sampler"],
                "chains x draws (tune)": f"{d.get('chains')} x {d.get('draws')} ({d.get('tune')})",
                "target acceptance": (f"{d['target_accept']:.2f}" + ("*" if d.get("refit") else "")
                                      if d.get("target_accept") is not None else ""),
                "seed": str(d.get("seed", "")), "seconds": f"{d.get('seconds', float('nan')):.0f}",
                "verdict": "pass" if d.get("converged") else "FAIL",
            })
    return pd.DataFrame(rows, columns=["chapter", "model", "sampler", "chains x draws (tune)", "target acceptance", "seed",
                                       "seconds", "verdict"])

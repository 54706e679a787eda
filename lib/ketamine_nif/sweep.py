"""Sweeps: many runs of one notebook or function over a parameter grid and
seeds, in parallel, resumable, gathered into one tidy table.

A sweep file (YAML)::

    name: smoke                                   # results go to _build/sweeps/<name>/
    description: what the sweep is for
    function: ketamine_nif.design:detection_replicate   # or  notebook: notebooks/02-nif-trajectories.py
    fixed: {marker: IL-6, sampling: {draws: 200}} # passed to every run
    grid: {effect: [1.0, 1.8]}                    # every combination is a grid point
    replicates: 2                                 # runs per grid point, seeds seed, seed+1, ...
    seed: 1
    out: studies/smoke                            # optional: results folder in the project (default _build/sweeps/<name>)

A function is called as ``fn(seed=..., **fixed, **point)`` and returns a dict
(one row), a list of dicts or a DataFrame. A notebook is executed by Papermill
with those parameters (``seed`` only if it defines one) and a private
``output_dir``; its rows are that run's ``estimates.csv``.

Each run is recorded in ``runs/<run>.json`` as soon as it finishes (runs go
replicate by replicate over the whole grid, so an early stop leaves results at
every grid point). A failing run is recorded with its error and traceback
(and, for a notebook, the partial executed notebook) while the others go on.
``results.csv`` gathers the rows of every successful run with the run, its
seed and grid values, and ``finished.csv`` lists those runs with the key of
their inputs and their seconds; ``failures.csv`` lists the failed runs;
``sweep.json`` holds timings and settings, and ``command.txt`` the command.
The tables are written also when a sweep is interrupted. A run that either
its record or ``finished.csv`` shows finished with the same inputs is skipped
next time, so an interrupted sweep resumes where it stopped, and a sweep
resumes from its tables alone: the report's studies keep ``studies/<name>/``
in the repository without the records (``runs/`` is not kept), so that the
book shows them on a fresh clone and a sweep can be resumed or extended on
another machine.

Runs go to a local process pool (one process per core by default, each with
one BLAS thread and one sampling process) or, with ``scheduler``, to a Dask
distributed scheduler (``tcp://host:port``), whose workers need this package
installed; function sweeps return their rows to the client, so workers need no
shared file system (notebook sweeps do, for their executed notebooks).
"""

from __future__ import annotations

import hashlib
import importlib
import itertools
import json
import logging
import math
import os
import re
import shlex
import sys
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from .paths import BUILD, ROOT, atomic_path, write_atomic
from .provenance import git_state

SWEEPS = BUILD / "sweeps"


class SweepError(ValueError):
    """A sweep file that cannot be run; the message says why."""


@dataclass(frozen=True)
class Run:
    """One run: a grid point and a seed."""

    id: str
    point: dict
    seed: int
    replicate: int


@dataclass
class Sweep:
    name: str
    kind: str  # "function" or "notebook"
    target: str  # module:function, or the notebook's path
    fixed: dict = field(default_factory=dict)
    grid: dict = field(default_factory=dict)
    replicates: int = 1
    seed: int = 1
    description: str = ""
    source: Path | None = None
    out: Path | None = None  # results folder (default: _build/sweeps/<name>)

    def runs(self) -> list[Run]:
        """Replicate by replicate, each over the whole grid, so that a sweep
        stopped early has results at every grid point."""
        names = list(self.grid)
        points = [dict(zip(names, values, strict=True)) for values in itertools.product(*self.grid.values())]
        runs = []
        for r in range(self.replicates):
            seed = self.seed + r
            for point in points:
                label = "-".join([*(f"{k}={_slug(v)}" for k, v in point.items()), f"seed={seed}"])
                runs.append(Run(label, point, seed, r))
        return runs

    def key(self, run: Run) -> str:
        """Fingerprint of what a run computes: a record with another key is stale."""
        text = json.dumps([self.kind, self.target, self.fixed, run.point, run.seed], sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def _slug(value) -> str:
    return re.sub(r"[^A-Za-z0-9.+_-]+", "_", str(value))


def load_sweep(path: str | Path) -> Sweep:
    """Read and check a sweep file; SweepError says what is wrong."""
    path = Path(path)
    if not path.exists():
        raise SweepError(f"sweep file {path} not found")
    try:
        spec = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise SweepError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(spec, dict):
        raise SweepError(f"{path}: expected a mapping with name, function or notebook, grid, replicates")
    known = {"name", "description", "function", "notebook", "fixed", "grid", "replicates", "seed", "out"}
    unknown = sorted(set(spec) - known)
    if unknown:
        raise SweepError(f"{path}: unknown key(s) {', '.join(unknown)}; known keys are {', '.join(sorted(known))}")
    if ("function" in spec) == ("notebook" in spec):
        raise SweepError(f"{path}: name exactly one of `function: module:function` or `notebook: path`")
    kind = "function" if "function" in spec else "notebook"
    target = str(spec[kind])
    grid = spec.get("grid") or {}
    if not isinstance(grid, dict) or any(not isinstance(v, list) or not v for v in grid.values()):
        raise SweepError(f"{path}: grid must map each parameter to a non-empty list of values")
    fixed = spec.get("fixed") or {}
    clash = sorted(set(fixed) & set(grid) | ({"seed"} & (set(fixed) | set(grid))))
    if clash:
        raise SweepError(f"{path}: {', '.join(clash)} set in both fixed and grid, or seed given as a parameter (use `seed:` and `replicates:`)")
    replicates, seed = spec.get("replicates", 1), spec.get("seed", 1)
    if not isinstance(replicates, int) or replicates < 1 or not isinstance(seed, int):
        raise SweepError(f"{path}: replicates must be a positive whole number and seed a whole number")
    sweep = Sweep(str(spec.get("name") or path.stem), kind, target, fixed, grid, replicates, seed,
                  " ".join(str(spec.get("description", "")).split()), path, ROOT / spec["out"] if spec.get("out") else None)
    if kind == "function":
        resolve_function(target)  # fail before any run starts
    elif not (ROOT / target).exists() and not Path(target).exists():
        raise SweepError(f"{path}: notebook {target} not found")
    return sweep


def resolve_function(target: str) -> Callable:
    module_name, _, name = target.partition(":")
    if not name:
        raise SweepError(f"function must be written module:function, e.g. ketamine_nif.design:detection_replicate; got {target!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise SweepError(f"cannot import {module_name} ({exc})") from None
    function = getattr(module, name, None)
    if not callable(function):
        raise SweepError(f"{module_name} has no function {name}")
    return function


# --- one run, in a worker process -------------------------------------------------

def worker_environment() -> None:
    """One BLAS thread and one sampling process per run: runs, not threads or
    chains, share the cores."""
    from .inference import CORES_VARIABLE
    from .runner import configure_environment

    configure_environment()
    os.environ[CORES_VARIABLE] = "1"
    # each run's record keeps its R-hat and ESS; PyMC's per-fit notices would drown the progress lines
    logging.getLogger("pymc.stats.convergence").setLevel(logging.CRITICAL)
    try:  # BLAS may already be loaded in a long-lived (Dask) worker
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except ImportError:
        pass


def execute(task: dict) -> dict:
    """Run one task; never raises: failures come back as a record with the error."""
    worker_environment()
    start = time.perf_counter()
    record = {"run": task["run"], "key": task["key"], "seed": task["seed"], "point": task["point"]}
    try:
        if task["kind"] == "function":
            rows = _rows(resolve_function(task["target"])(seed=task["seed"], **task["fixed"], **task["point"]))
        else:
            rows = _run_notebook(task)
        record.update(status="ok", rows=rows)
    except Exception as exc:  # a failed run must not stop the sweep
        record.update(status="failed", error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc(limit=20))
        if task["kind"] == "notebook":
            record["partial_output"] = task["notebook_out"]
    record["seconds"] = round(time.perf_counter() - start, 2)
    return record


def _rows(value) -> list[dict]:
    if isinstance(value, pd.DataFrame):
        return json.loads(value.to_json(orient="records"))
    if isinstance(value, dict):
        value = [value]
    return json.loads(json.dumps(list(value), default=_plain))


def _plain(value):
    return value.item() if hasattr(value, "item") else str(value)


def _run_notebook(task: dict) -> list[dict]:
    from .runner import execute as execute_notebook
    from .runner import find_job

    job = find_job(task["target"])
    parameters = {**task["fixed"], **task["point"], "output_dir": task["output_dir"]}
    if task["has_seed"]:
        parameters["seed"] = task["seed"]
    execute_notebook(job, parameters, output=Path(task["notebook_out"]))
    estimates = Path(task["output_dir"]) / "estimates.csv"
    return _rows(pd.read_csv(estimates)) if estimates.exists() else []


# --- the sweep --------------------------------------------------------------------

@dataclass
class SweepResult:
    out: Path
    results: pd.DataFrame
    failures: pd.DataFrame
    executed: int
    skipped: int
    seconds: float


def run_sweep(sweep: Sweep, out: str | Path | None = None, workers: int | None = None,
              scheduler: str | None = None, log: Callable[[str], None] = print,
              progress: bool | None = None) -> SweepResult:
    """Run every run of ``sweep`` not already done; gather the results."""
    out = Path(out) if out else sweep.out or SWEEPS / sweep.name
    records = out / "runs"
    records.mkdir(parents=True, exist_ok=True)
    runs = sweep.runs()
    tasks, skipped = [], 0
    has_seed = sweep.kind == "notebook" and _notebook_has_seed(sweep)
    ledger = _ledger(out)
    for run in runs:
        if _finished(sweep, run, records, ledger):
            skipped += 1
            continue
        tasks.append({
            "run": run.id, "key": sweep.key(run), "seed": run.seed, "point": run.point, "fixed": sweep.fixed,
            "kind": sweep.kind, "target": sweep.target, "has_seed": has_seed,
            "output_dir": str(out / "outputs" / run.id), "notebook_out": str(out / "notebooks" / f"{run.id}.ipynb"),
        })
    workers = max(1, workers or os.cpu_count() or 1)
    where = f"Dask scheduler {scheduler}" if scheduler else f"{workers} local worker process(es)"
    log(f"sweep {sweep.name}: {len(runs)} runs, {skipped} already done, {len(tasks)} to run on {where}")
    start = time.perf_counter()
    bar = Progress(len(tasks), log, progress)
    try:
        for record in _dispatch(tasks, workers, scheduler):
            write_atomic(records / f"{record['run']}.json", json.dumps(record, indent=1, default=_plain) + "\n")
            bar.update(record)
    finally:  # also when interrupted: the table holds every run finished so far
        bar.close()
        seconds = time.perf_counter() - start
        result = gather(sweep, out)
        _write_summary(sweep, out, result, bar.done, skipped, seconds, workers, scheduler)
    failed = len(result.failures)
    log(f"sweep {sweep.name}: {len(tasks)} run now, {skipped} skipped, {failed} failed, in {seconds:.1f} s; "
        f"results in {out / 'results.csv'}" + (f"; failures in {out / 'failures.csv'}" if failed else ""))
    return SweepResult(out, result.results, result.failures, len(tasks), skipped, seconds)


def _finished(sweep: Sweep, run: Run, records: Path, ledger: dict[str, tuple[str, float]]) -> bool:
    """Whether ``run`` finished with the sweep's current settings: a
    successful record, or a line of the gathered tables (``ledger``: :func:`_ledger`)."""
    record = _read(records / f"{run.id}.json")
    if record:
        return record.get("status") == "ok" and record.get("key") == sweep.key(run)
    return ledger.get(run.id, ("", 0.0))[0] == sweep.key(run)


FINISHED = "finished.csv"  # the gathered runs: run, key, seconds


def _ledger(out: Path) -> dict[str, tuple[str, float]]:
    """The runs that ``results.csv`` holds, by run: (key of their inputs, seconds)."""
    path = out / FINISHED
    if not path.exists() or path.stat().st_size < 2:
        return {}
    table = pd.read_csv(path, dtype={"run": str, "key": str})
    return {run: (key, float(seconds)) for run, key, seconds in zip(table["run"], table["key"], table["seconds"], strict=True)}


def plan_sweep(sweep: Sweep, out: str | Path | None = None) -> list[str]:
    """Check a sweep without running it (``ketamine-nif sweep FILE --dry-run``):
    its function or notebook takes every parameter, and how many runs are
    already recorded. Returns the lines to print; raises SweepError."""
    import inspect

    out = Path(out) if out else sweep.out or SWEEPS / sweep.name
    runs = sweep.runs()
    if sweep.kind == "function":
        signature = inspect.signature(resolve_function(sweep.target))
        for run in runs[:1]:
            try:
                signature.bind(seed=run.seed, **sweep.fixed, **run.point)
            except TypeError as exc:
                raise SweepError(f"{sweep.target} cannot take this sweep's parameters ({exc})") from None
    else:
        _notebook_has_seed(sweep)
    ledger = _ledger(out)
    done = sum(_finished(sweep, run, out / "runs", ledger) for run in runs)
    points = len(runs) // sweep.replicates
    return [f"sweep {sweep.name}: {sweep.kind} {sweep.target}, {len(runs)} runs ({points} grid point"
            f"{'s' if points != 1 else ''} x {sweep.replicates} replicates), {done} already done, "
            f"{len(runs) - done} to run; results would go to {out}",
            *(f"  {run.id}: seed {run.seed}, {run.point}" for run in runs[:3]),
            *(["  ..."] if len(runs) > 3 else [])]


def _notebook_has_seed(sweep: Sweep) -> bool:
    from .runner import RunError, find_job, notebook_parameters, to_notebook

    try:
        known = notebook_parameters(to_notebook(find_job(sweep.target)))
    except RunError as exc:
        raise SweepError(str(exc)) from None
    unknown = sorted((set(sweep.fixed) | set(sweep.grid)) - known)
    if unknown:
        raise SweepError(f"{sweep.target} has no parameter(s) {', '.join(unknown)}; its parameters are {', '.join(sorted(known))}")
    return "seed" in known


def _dispatch(tasks: list[dict], workers: int, scheduler: str | None) -> Iterable[dict]:
    if not tasks:
        return
    if scheduler:
        from distributed import Client, as_completed

        with Client(scheduler, timeout="30s") as client:
            futures = client.map(execute, tasks, pure=False, key=[f"sweep-{t['run']}-{t['key']}" for t in tasks])
            for future in as_completed(futures):
                yield future.result()
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    from .runner import configure_environment

    configure_environment()  # inherited by the workers before they import numpy
    context = multiprocessing.get_context("spawn")
    # worker processes even for one worker: a stop signal then reaches this process, not a fit in progress
    # (no max_tasks_per_child: with it, Python 3.12's pool hangs once every worker has been replaced)
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)
    try:
        futures = {pool.submit(execute, task): task for task in tasks}
        for future in as_completed(futures):
            try:
                yield future.result()
            except Exception as exc:  # the worker process died (memory, signal)
                task = futures[future]
                yield {"run": task["run"], "key": task["key"], "seed": task["seed"], "point": task["point"],
                       "status": "failed", "error": f"worker process died: {type(exc).__name__}: {exc}", "seconds": math.nan}
    except BaseException:  # interrupted: stop the workers now (finished runs are recorded; rerun to resume)
        for process in list((pool._processes or {}).values()):
            process.terminate()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()


def _read(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None


@dataclass
class Gathered:
    results: pd.DataFrame
    failures: pd.DataFrame
    seconds: dict[str, float]  # per finished run


def gather(sweep: Sweep, out: str | Path) -> Gathered:
    """One tidy table of the sweep's current runs, from their records or,
    for a run without one, from the table gathered before (``finished.csv``
    says which runs it holds and with which inputs); stale or foreign
    records and rows are left out."""
    out = Path(out)
    ledger, table = _ledger(out), out / "results.csv"
    before = dict(tuple(pd.read_csv(table, dtype={"run": str}).groupby("run"))) if ledger and table.exists() else {}
    rows, failures, finished = [], [], []
    for run in sweep.runs():
        record, key = _read(out / "runs" / f"{run.id}.json"), sweep.key(run)
        if not record:
            if ledger.get(run.id, ("", 0.0))[0] == key:
                rows += before[run.id].to_dict("records") if run.id in before else []
                finished.append((run.id, key, ledger[run.id][1]))
            continue
        if record.get("key") != key:
            continue
        base = {"run": run.id, "seed": run.seed, "replicate": run.replicate, **run.point}
        if record["status"] == "ok":
            rows += [{**base, **row} for row in record["rows"]]
            finished.append((run.id, key, record["seconds"]))
        else:
            failures.append({**base, "error": record.get("error", ""), "partial_output": record.get("partial_output", ""),
                             "traceback": record.get("traceback", "")})
    results = pd.DataFrame(rows)
    failed = pd.DataFrame(failures, columns=["run", "seed", "replicate", *sweep.grid, "error", "partial_output", "traceback"])
    finished = pd.DataFrame(finished, columns=["run", "key", "seconds"])
    for frame, name in ((results, "results.csv"), (failed, "failures.csv"), (finished, FINISHED)):
        with atomic_path(out / name) as temporary:
            frame.to_csv(temporary, index=False)
    return Gathered(results, failed, dict(zip(finished["run"], finished["seconds"], strict=True)))


def _write_summary(sweep: Sweep, out: Path, result: Gathered, executed: int, skipped: int, seconds: float,
                   workers: int, scheduler: str | None) -> None:
    seconds_per_run = list(result.seconds.values())
    summary = {
        "name": sweep.name, "description": sweep.description, "runs": len(sweep.runs()),
        "finished_runs": len(seconds_per_run), "executed_now": executed,
        "skipped": skipped, "failed": len(result.failures), "wall_seconds_now": round(seconds, 1),
        "workers": None if scheduler else workers, "scheduler": scheduler,
        "mean_seconds_per_run": round(sum(seconds_per_run) / len(seconds_per_run), 2) if seconds_per_run else None,
        "finished": time.strftime("%Y-%m-%d %H:%M:%S"),
        "code": git_state(ROOT),  # the version of the code that made the runs done now
    }
    write_atomic(out / "sweep.json", json.dumps(summary, indent=2) + "\n")
    if sweep.source is not None:
        (out / "sweep.yaml").write_text(Path(sweep.source).read_text(encoding="utf-8"), encoding="utf-8")
    if Path(sys.argv[0]).name == "ketamine-nif":
        argv = ["ketamine-nif", *sys.argv[1:]]
    else:  # called from Python: the command that does the same
        source = Path(sweep.source).resolve() if sweep.source else None
        argv = ["ketamine-nif", "sweep", str(source.relative_to(ROOT) if source and source.is_relative_to(ROOT) else source)]
    (out / "command.txt").write_text(" ".join(shlex.quote(a) for a in argv) + "\n", encoding="utf-8")


@dataclass
class SavedSweep:
    """A sweep's saved results, as a chapter reads them: the tidy table, the
    sweep file (``spec``), timings (``summary``), the command that made them
    and the number of failed runs."""

    folder: Path
    results: pd.DataFrame
    spec: dict
    summary: dict
    command: str
    failures: int

    @property
    def progress(self) -> str:
        """'250 runs', or '76 of 250 runs finished so far ...' for a sweep stopped early."""
        runs = self.summary.get("runs", "?")
        done = self.summary.get("finished_runs", runs)
        return f"{runs} runs" if done == runs else f"{done} of {runs} runs finished so far: the sweep resumes where it stopped"


def read_saved(folder: str | Path) -> SavedSweep | None:
    """The saved results of the sweep whose ``out`` is ``folder``; None when
    it has not been run (no or an empty ``results.csv``)."""
    folder = Path(folder)
    path = folder / "results.csv"
    if not path.exists() or path.stat().st_size < 2:
        return None
    results = pd.read_csv(path)
    if results.empty:
        return None
    failures = folder / "failures.csv"
    return SavedSweep(
        folder=folder, results=results,
        spec=yaml.safe_load((folder / "sweep.yaml").read_text(encoding="utf-8")) if (folder / "sweep.yaml").exists() else {},
        summary=_read(folder / "sweep.json") or {},
        command=(folder / "command.txt").read_text(encoding="utf-8").strip() if (folder / "command.txt").exists() else "(not recorded)",
        failures=len(pd.read_csv(failures)) if failures.exists() and failures.stat().st_size > 1 else 0,
    )


class Progress:
    """A one-line progress bar on a terminal; one line per finished run otherwise."""

    def __init__(self, total: int, log: Callable[[str], None], tty: bool | None = None):
        self.total, self.log, self.done, self.failed = total, log, 0, 0
        self.start = time.perf_counter()
        self.tty = sys.stdout.isatty() if tty is None else tty

    def update(self, record: dict) -> None:
        self.done += 1
        self.failed += record["status"] != "ok"
        elapsed = time.perf_counter() - self.start
        eta = elapsed / self.done * (self.total - self.done)
        width = 30
        filled = int(width * self.done / max(self.total, 1))
        status = f"{self.done}/{self.total} runs, {self.failed} failed, {elapsed:.0f} s elapsed, about {eta:.0f} s left"
        if self.tty:
            sys.stdout.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {status}")
            sys.stdout.flush()
        else:
            outcome = "ok" if record["status"] == "ok" else f"FAILED ({record.get('error', '')})"
            self.log(f"  [{status}] {record['run']}: {outcome} in {record['seconds']} s")

    def close(self) -> None:
        if self.tty and self.total:
            sys.stdout.write("\n")

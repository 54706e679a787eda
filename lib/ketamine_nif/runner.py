"""Execute the report's notebooks through Papermill, skipping unchanged ones.

The chapters and their order come from ``_quarto.yml``: a chapter
``01-data.ipynb`` is executed from ``notebooks/01-data.py`` (Jupytext
py:percent) with ``params/01-data.yaml`` into ``_build/notebooks/01-data.ipynb``
(the renderer stages it into the book project, ``render.project``). A notebook is executed again
only when one of its inputs changed: its source, its parameters, the data, or
the package code in ``lib/``, or the analysis configuration
(``params/analysis.yaml``, or the file its ``analysis_config`` parameter names).

A notebook that reads the other chapters' results (the summary of findings, the
reproducibility appendix) says so in its Jupytext header::

    # jupyter:
    #   ketamine-nif:
    #     run: last              # executed after every other chapter
    #     reads: [estimates.csv] # outputs of the other chapters it depends on

It keeps its place in the book (the summary is shown first) but is executed
after the other chapters, and it is executed again whenever one of the files it
reads changed. ``reads`` names files in each chapter's output folder, or
``run-log`` for the chapters' records in ``_build/run-log.json``.

A chapter that reads other files, such as the saved results of a slow study
(a sweep) or one chapter's posterior, lists them under ``inputs`` (paths in
the project, e.g. ``[studies/design-nif/results.csv]``): it is executed
again when one of them appears or changes.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import yaml

from .analysis import CONFIG as ANALYSIS_CONFIG
from .contract import METADATA_FILE, Dataset, Study, hash_files, load_dataset, read_metadata
from .paths import (
    BUILD,
    EXECUTED,
    NOTEBOOKS,
    PARAMS,
    QUARTO_CONFIG,
    ROOT,
    run_output_dir,
    write_atomic,
)

THREAD_SETTINGS = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
}
CACHE = BUILD / "cache"
REPORT_DATA = BUILD / "report-data.json"  # which data the book was run on
RUN_LOG = BUILD / "run-log.json"  # parameters, timings and settings of each notebook


class RunError(RuntimeError):
    """A notebook could not run; the message names it, the cell and where the partial output is."""


@dataclass
class NotebookJob:
    stem: str
    source: Path  # notebooks/NN-name.py
    params_file: Path  # params/NN-name.yaml (optional)
    output: Path  # the executed notebook
    runs_last: bool = False  # executed after the other chapters (header: ketamine-nif: run: last)
    reads: tuple[str, ...] = field(default_factory=tuple)  # other chapters' outputs it depends on
    inputs: tuple[str, ...] = field(default_factory=tuple)  # other files (project paths) it reads

    @property
    def output_dir(self) -> Path:
        return run_output_dir(self.stem)


def configure_environment(cache: Path = CACHE) -> dict[str, str]:
    """One BLAS thread per process, and tool caches inside ``cache`` (the build
    folder's by default), so runs are repeatable and leave nothing in $HOME.
    Settings already in the environment win. Returns what is in force."""
    defaults = {
        **THREAD_SETTINGS,
        "MPLCONFIGDIR": str(cache / "matplotlib"),
        "PYTENSOR_FLAGS": f"base_compiledir={cache / 'pytensor'}",  # C modules and the Numba cache
        "IPYTHONDIR": str(cache / "ipython"),
        "JUPYTER_RUNTIME_DIR": str(cache / "jupyter-runtime"),
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        "XLA_FLAGS": "--xla_force_host_platform_device_count=4",  # numpyro: 4 chains in parallel on the CPU
    }
    for key, value in defaults.items():
        os.environ.setdefault(key, value)
    for key in ("MPLCONFIGDIR", "IPYTHONDIR", "JUPYTER_RUNTIME_DIR"):
        Path(os.environ[key]).mkdir(parents=True, exist_ok=True)
    # kernels talk to Papermill over local TCP; keep ipykernel's notice about it off the console
    kernel_config = Path(os.environ["IPYTHONDIR"]) / "profile_default" / "ipython_kernel_config.py"
    if not kernel_config.exists():
        kernel_config.parent.mkdir(parents=True, exist_ok=True)
        kernel_config.write_text('c.IPKernelApp.log_level = "ERROR"\n')
    return {key: os.environ[key] for key in defaults}


def run_settings(source: Path) -> dict:
    """The ``ketamine-nif`` entry of a notebook's Jupytext header ({} when absent)."""
    if not source.exists():
        return {}
    header = []
    for line in source.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        header.append(line[2:] if line.startswith("# ") else line[1:])
    if not header or header[0].strip() != "---":
        return {}
    try:
        meta = yaml.safe_load("\n".join(header[1:header.index("---", 1)])) or {}
    except (ValueError, yaml.YAMLError):
        return {}
    settings = (meta.get("jupyter") or {}).get("ketamine-nif") or {}
    if settings.get("run", "in-order") not in ("in-order", "last"):
        raise RunError(f"{display_path(source)}: ketamine-nif.run must be 'last' or 'in-order', not {settings['run']!r}")
    return settings


def book_jobs(config_path: Path = QUARTO_CONFIG) -> list[NotebookJob]:
    """The notebooks behind the chapters of the book, in book order."""
    config = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
    jobs = []
    for entry in (config.get("book") or {}).get("chapters", []):
        chapter = Path(entry if isinstance(entry, str) else entry["href"])
        stem = chapter.stem
        source = NOTEBOOKS / f"{stem}.py"
        settings = run_settings(source)
        jobs.append(NotebookJob(stem, source, PARAMS / f"{stem}.yaml", EXECUTED / chapter.name,
                                runs_last=settings.get("run") == "last", reads=tuple(settings.get("reads") or ()),
                                inputs=tuple(settings.get("inputs") or ())))
    return jobs


def execution_order(jobs: list[NotebookJob]) -> list[NotebookJob]:
    """Book order, except that notebooks marked ``run: last`` come after the others."""
    return [j for j in jobs if not j.runs_last] + [j for j in jobs if j.runs_last]


def dependency_hash(job: NotebookJob, chapters: list[NotebookJob], run_log: dict) -> str:
    """A fingerprint of what ``job`` reads from the other chapters and of the
    other files it reads (empty when it reads nothing)."""
    if not job.reads and not job.inputs:
        return ""
    parts = []
    for name in job.inputs:
        path = ROOT / name
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "missing"
        parts.append(f"input:{name}:{digest}")
    for other in chapters:
        if other.stem == job.stem:
            continue
        for name in job.reads:
            if name == "run-log":
                record = {k: v for k, v in run_log.get(other.stem, {}).items() if k != "status"}
                parts.append(f"{other.stem}:run-log:{json.dumps(record, sort_keys=True, default=str)}")
            else:
                path = other.output_dir / name
                digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "missing"
                parts.append(f"{other.stem}:{name}:{digest}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def find_job(name: str) -> NotebookJob:
    """A book notebook by stem (``01-data``), file name or path."""
    stem = Path(name).stem
    for job in book_jobs():
        if job.stem == stem:
            return job
    source = Path(name)
    if source.suffix == ".py" and source.exists():
        return NotebookJob(stem, source.resolve(), PARAMS / f"{stem}.yaml", EXECUTED / f"{stem}.ipynb")
    known = ", ".join(j.stem for j in book_jobs())
    raise RunError(f"unknown notebook {name!r}; the book's notebooks are {known}")


def display_path(path: Path | str) -> str:
    """A path relative to the project root where it lies inside it."""
    path = Path(path).resolve()
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def code_hash() -> str:
    package = Path(__file__).resolve().parent
    return hash_files(p for p in package.rglob("*") if p.suffix in {".py", ".yaml"})


def analysis_hash(parameters: dict) -> str:
    """The content of the analysis configuration a chapter reads (its
    ``analysis_config`` parameter, else ``params/analysis.yaml``, which also
    gives the priors classes their defaults): a change reruns the chapter."""
    files = [ANALYSIS_CONFIG, *([Path(parameters["analysis_config"])] if parameters.get("analysis_config") else [])]
    files = [p if p.is_absolute() else ROOT / p for p in files]
    missing = [display_path(p) for p in files if not p.is_file()]
    if missing:
        raise RunError(f"analysis configuration {', '.join(missing)} not found (the book's is {display_path(ANALYSIS_CONFIG)})")
    return hash_files(set(files))


def load_parameters(job: NotebookJob, overrides: dict) -> dict:
    parameters = {}
    if job.params_file.exists():
        parameters = yaml.safe_load(job.params_file.read_text(encoding="utf-8")) or {}
    return {**parameters, **overrides}


_NAME = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")


def fill_names(text: str, study: Study, where: str = "") -> str:
    """``text`` with the study's names in place of ``{{outcome}}``, ``{{treatment}}``,
    ``{{Treatment}}``, ``{{reference}}``, ``{{Reference}}``, ``{{baseline}}`` and
    ``{{outcome_title}}`` (spaces inside the braces allowed); any other
    ``{{...}}`` is an error naming it."""
    names = study.names()
    unknown = sorted({m.group(1) for m in _NAME.finditer(text)} - set(names))
    if unknown:
        raise RunError(f"{where}: unknown name(s) {', '.join('{{' + u + '}}' for u in unknown)}; the study's are "
                       + ", ".join("{{" + n + "}}" for n in names))
    return _NAME.sub(lambda m: names[m.group(1)], text)


def study_of(data_dir: str | Path | None) -> Study:
    """The study described by ``dataset.json`` in ``data_dir`` (this trial's when there is none)."""
    if data_dir is None:
        return Study()
    folder = Path(data_dir) if Path(data_dir).is_absolute() else ROOT / data_dir
    return Study.from_metadata(read_metadata(folder), str(folder / METADATA_FILE)) if folder.is_dir() else Study()


def to_notebook(job: NotebookJob, folder: Path = BUILD / "sources", study: Study | None = None) -> Path:
    """The Jupytext source as an unexecuted .ipynb (Papermill's input), written into ``folder``,
    with the names of ``study`` (default: this trial's) in its cells (:func:`fill_names`)."""
    import jupytext

    if not job.source.exists():
        raise RunError(f"notebook source {display_path(job.source)} not found")
    notebook = jupytext.read(job.source)
    for cell in notebook.cells:
        cell.source = fill_names(cell.source, study or Study(), display_path(job.source))
    # atomically: parallel sweep workers convert the same notebook at once, and none may read a half-written file
    return write_atomic(folder / f"{job.stem}.ipynb", jupytext.writes(notebook, fmt="ipynb"))


def notebook_parameters(notebook: Path) -> set[str]:
    """Names defined in a notebook's parameters cell."""
    import papermill

    return {p["name"] for p in papermill.inspect_notebook(str(notebook)).values()}


def notebook_defaults(notebook: Path) -> dict:
    """The values of a notebook's parameters cell (literals only)."""
    import ast

    import papermill

    values = {}
    for p in papermill.inspect_notebook(str(notebook)).values():
        try:
            values[p["name"]] = ast.literal_eval(p["default"])
        except (ValueError, SyntaxError):
            pass
    return values


def check_parameters(notebook: Path, parameters: dict, job: NotebookJob) -> None:
    known = notebook_parameters(notebook)
    unknown = sorted(set(parameters) - known)
    if unknown:
        raise RunError(
            f"{job.stem}: unknown parameter(s) {', '.join(unknown)}; the notebook's parameters are {', '.join(sorted(known))}"
        )


def execute(job: NotebookJob, parameters: dict, output: Path | None = None) -> float:
    """Run one notebook with Papermill into ``output`` (default: the book's
    executed notebook); returns seconds. With an ``output`` of the caller's, the
    unexecuted notebook and the tools' caches go to ``.ketamine-nif/`` beside it,
    so nothing is written inside the project. On failure the partial notebook
    is kept and RunError names the failing cell."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    work = Path(output).parent / ".ketamine-nif" if output else BUILD
    configure_environment(work / "cache")
    data_dir = (parameters["data_dir"] if "data_dir" in parameters  # else the notebook's default, read from its source
                else notebook_defaults(to_notebook(job, work / "sources")).get("data_dir"))
    notebook = to_notebook(job, work / "sources", study_of(data_dir))
    check_parameters(notebook, parameters, job)
    output = output or job.output
    output.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    try:
        papermill.execute_notebook(
            str(notebook), str(output), parameters=parameters, kernel_name="python3",
            progress_bar=False, cwd=str(ROOT),
        )
    except PapermillExecutionError as exc:
        raise RunError(
            f"{job.stem} failed in cell {exc.exec_count} ({exc.ename}: {exc.evalue}).\n"
            f"The partial output, with the failing cell marked, is in {display_path(output)}"
        ) from None
    return time.perf_counter() - start


def prerequisites(job: NotebookJob, jobs: list[NotebookJob]) -> set[str]:
    """The notebooks of this run that must finish before ``job`` starts: those
    whose outputs it lists under ``inputs``, every other chapter when it
    ``reads`` the chapters' outputs (of those that read them too, the ones
    before it), and for a ``run: last`` notebook every chapter and the
    ``run: last`` notebooks before it."""
    before = {j.stem for j in jobs[:jobs.index(job)]}
    if job.runs_last:
        return before | {j.stem for j in jobs if not j.runs_last and j.stem != job.stem}
    if job.reads:
        return {j.stem for j in jobs if not j.runs_last and j.stem != job.stem and (not j.reads or j.stem in before)}
    return {j.stem for j in jobs if j.stem != job.stem and any((ROOT / name).is_relative_to(j.output_dir) for name in job.inputs)}


def default_jobs() -> int:
    """Notebooks executed side by side: ``KETAMINE_NIF_JOBS``, else the CPU
    count up to 4 (each notebook's sampler runs its chains in processes of its own)."""
    return max(1, int(os.environ.get("KETAMINE_NIF_JOBS") or min(os.cpu_count() or 1, 4)))


def run_book(data_dir: Path, overrides: dict | None = None, force: bool = False, only: list[str] | None = None,
             log=print, jobs: int | None = None) -> list[dict]:
    """Validate the data, then execute each book notebook whose inputs changed,
    up to ``jobs`` at a time (default :func:`default_jobs`), each once the
    notebooks it depends on (:func:`prerequisites`) are done. A failure stops
    new notebooks from starting; those running finish, then it is raised.
    Returns one record per notebook (stem, status, seconds), in execution order."""
    from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

    settings = configure_environment()
    dataset: Dataset = load_dataset(data_dir)  # stops with ContractError before any notebook runs
    data_hash = hash_files(p for p in Path(data_dir).iterdir() if p.is_file())
    BUILD.mkdir(parents=True, exist_ok=True)
    write_atomic(REPORT_DATA,
                 json.dumps({"data_dir": display_path(data_dir), "data_hash": dataset.data_hash(), **dataset.metadata}, indent=2) + "\n")
    chapters = book_jobs()
    order = execution_order([j for j in chapters if not only or j.stem in only])
    # an override goes to the notebooks that define it, and must be known to one of them
    known = {job.stem: notebook_parameters(to_notebook(job)) for job in order}
    stray = sorted(set(overrides or {}) - set().union(*known.values()))
    if stray:
        raise RunError(f"unknown parameter(s) {', '.join(stray)}: no notebook run here defines them")
    previous = json.loads(RUN_LOG.read_text()) if RUN_LOG.exists() else {}
    run_log = dict(previous)  # written after each notebook, so later ones (the appendix) read it
    package, needs = code_hash(), {job.stem: prerequisites(job, order) for job in order}
    startable, stuck = set(), [job.stem for job in order]
    while any(needs[s] <= startable for s in stuck):
        startable |= {s for s in stuck if needs[s] <= startable}
        stuck = [s for s in stuck if s not in startable]
    if stuck:
        raise RunError("these notebooks cannot start, each waiting (directly or through another) for the outputs of "
                       f"another of them (inputs or reads in their headers): {', '.join(stuck)}")
    records, keys, done, failure = {}, {}, set(), None

    def prepare(n: int, job: NotebookJob) -> dict | None:
        """The notebook's parameters, or None when its outputs are up to date (recorded as cached)."""
        mine = {k: v for k, v in (overrides or {}).items() if k in known[job.stem]}
        parameters = load_parameters(job, {"data_dir": display_path(data_dir), "output_dir": display_path(job.output_dir), **mine})
        keys[job.stem] = hashlib.sha256(
            "\n".join([job.source.read_text(encoding="utf-8"), json.dumps(parameters, sort_keys=True), data_hash, package,
                       analysis_hash(parameters), dependency_hash(job, chapters, run_log)]).encode()
        ).hexdigest()
        stamp = CACHE / f"{job.stem}.key"
        if not force and job.output.exists() and stamp.exists() and stamp.read_text() == keys[job.stem]:
            log(f"[{n}/{len(order)}] {job.stem}: unchanged, not re-executed")
            records[job.stem] = {**previous.get(job.stem, {}), "stem": job.stem, "status": "cached"}
            done.add(job.stem)
            return None
        log(f"[{n}/{len(order)}] {job.stem}: executing ...")
        stamp.unlink(missing_ok=True)
        return parameters

    waiting, running, width = list(enumerate(order, start=1)), {}, jobs or default_jobs()
    if width < 1:
        raise RunError(f"jobs must be at least 1; got {width}")
    with ThreadPoolExecutor(max_workers=width) as pool:
        while waiting or running:
            ready = [(n, job) for n, job in waiting if needs[job.stem] <= done] if failure is None else []
            for n, job in ready[:width - len(running)]:
                waiting.remove((n, job))
                parameters = prepare(n, job)
                if parameters is not None:
                    started = datetime.now(UTC)
                    running[pool.submit(execute, job, parameters)] = (n, job, parameters, started)
            if failure is not None and not running:
                raise failure
            if not running:
                continue  # cached notebooks were marked done: look again for ready ones
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                n, job, parameters, started = running.pop(future)
                try:
                    seconds = future.result()
                except Exception as exc:  # the others running finish first
                    failure = failure or exc
                    continue
                write_atomic(CACHE / f"{job.stem}.key", keys[job.stem])
                log(f"[{n}/{len(order)}] {job.stem}: done in {seconds:.1f} s")
                records[job.stem] = run_log[job.stem] = {
                    "stem": job.stem, "status": "executed", "seconds": round(seconds, 1), "parameters": parameters,
                    "threads": {k: settings[k] for k in THREAD_SETTINGS}, "python": platform.python_version(),
                    "platform": platform.platform(), "started": started.isoformat(timespec="seconds"),
                }
                done.add(job.stem)
                _write_run_log(run_log)
    records = [records[job.stem] for job in order]
    run_log.update({r["stem"]: r for r in records})
    _write_run_log(run_log)
    return records


def _write_run_log(run_log: dict) -> None:
    write_atomic(RUN_LOG, json.dumps(run_log, indent=2, default=str) + "\n")

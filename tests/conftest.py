"""Shared fixtures: small synthetic datasets written to temporary folders, and
one book built at test size in a copy of the project (shared by the end-to-end,
browser and summary tests, so it is built once per session)."""

from __future__ import annotations

import os
import pickle
import shutil
import subprocess
import sys
from collections import OrderedDict
from pathlib import Path

# One compile cache for the whole test session, set before anything imports
# PyTensor: the notebooks run in each project copy and the fits run in this
# process reuse what an earlier one compiled (PyTensor's C modules), instead of
# compiling every model afresh in every copy. The runner leaves a setting
# already in the environment alone; a test of the cache itself sets its own.
os.environ.setdefault("PYTENSOR_FLAGS", f"base_compiledir={Path(__file__).resolve().parents[1] / '_build' / 'test-cache' / 'pytensor'}")
# With pytest-xdist's workers (make test) the cores are shared by the workers,
# so each fit's chains run one after another in its own process, as in a
# sweep (inference.CORES_VARIABLE): no test process forks chain processes,
# which could deadlock in a worker where JAX has started its threads.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.setdefault("KETAMINE_NIF_SAMPLER_CORES", "1")

import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from filelock import FileLock  # noqa: E402
from pypdf import PdfReader  # noqa: E402

from ketamine_nif.paths import ROOT  # noqa: E402
from ketamine_nif.twin import load_scenario, simulate  # noqa: E402

BIN = Path(sys.executable).parent

# The two files whose first test builds a whole test-size book (the other
# trial's, and this session's, which the other built_book tests then share):
# with pytest-xdist's workers they start first, one on each worker, instead of
# where xdist's order (files with the most tests first) puts them. Left late,
# a book build was the run's tail while the other worker had run out of work.
BOOKS_FIRST = ("tests/test_other_trial.py", "tests/test_summary.py")


class _BooksFirst(OrderedDict):
    """xdist's queue of test files, handing out :data:`BOOKS_FIRST` before the rest."""

    def popitem(self, last: bool = True):
        for scope in BOOKS_FIRST:
            if scope in self:
                return scope, self.pop(scope)
        return super().popitem(last=last)


def pytest_xdist_make_scheduler(config, log):
    """``--dist loadfile`` (``make test``) with :data:`BOOKS_FIRST` handed out first."""
    if config.getoption("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    scheduler = LoadFileScheduling(config, log)
    scheduler.workqueue = _BooksFirst()
    return scheduler


# test-size sampling for the analysis chapters (their fits are flagged as unconverged;
# at 60 tuning steps a lower step-size target saves most of the leapfrog steps)
TINY = ["-p", "draws=60", "-p", "tune=60", "-p", "chains=2", "-p", "prior_draws=30", "-p", "target_accept=0.8",
        "-p", "retry=False"]  # test-size fits fail the ESS check by design: no refits
# a whole test-size book: also fewer imputed data sets in chapter 05 (each one a fit)
TINY_BOOK = [*TINY, "-p", "imputations=2"]


def make_project(root: Path) -> Path:
    """A copy of the project (book config, notebooks, parameters, saved studies) with a 20-participant twin."""
    root.mkdir(parents=True, exist_ok=True)
    for name in ("_quarto.yml", "references.bib"):
        shutil.copy(ROOT / name, root / name)
    for folder in ("notebooks", "params"):
        shutil.copytree(ROOT / folder, root / folder)
    # the saved studies chapters 08 and 10 read (not their ignored per-run data)
    shutil.copytree(ROOT / "studies", root / "studies", ignore=shutil.ignore_patterns("data-seed-*", "notebooks", "outputs"))
    simulate(load_scenario("paper-null", overrides={"design": {"n_ketamine": 12, "n_saline": 8}}), seed=2).write(root / "data" / "synthetic")
    return root


def cli(root: Path, *args: str) -> subprocess.CompletedProcess:
    """``ketamine-nif`` run in the copied project."""
    env = {**os.environ, "KETAMINE_NIF_ROOT": str(root)}
    return subprocess.run([str(BIN / "ketamine-nif"), *args], cwd=root, env=env, capture_output=True, text=True, timeout=1800)


@pytest.fixture(scope="session")
def built_book(tmp_path_factory):
    """Every chapter run at test size (TINY_BOOK) in a copied project, then rendered:
    (root, the run's result, the render's result). Built once per test run:
    with pytest-xdist's workers (``make test``), the first worker to need it
    builds it in their shared temporary folder while the others wait for it.
    Tests only read it or run in it what writes elsewhere (``--out``); one
    that changes the book works on a copy."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker is None:
        return _build_book(tmp_path_factory.mktemp("project"))
    shared = tmp_path_factory.getbasetemp().parent  # the run's folder, above each worker's own
    with FileLock(shared / "built-book.lock"):
        saved = shared / "built-book.pickle"
        if not saved.exists():
            shutil.rmtree(shared / "built-book", ignore_errors=True)  # what a failed build left: its error shows again
            saved.write_bytes(pickle.dumps(_build_book(shared / "built-book")))
        return pickle.loads(saved.read_bytes())


def _build_book(folder: Path) -> tuple[Path, subprocess.CompletedProcess, subprocess.CompletedProcess]:
    root = make_project(folder)
    first = cli(root, "run", *TINY_BOOK)
    assert first.returncode == 0, first.stderr
    rendered = cli(root, "render")
    assert rendered.returncode == 0, rendered.stderr
    return root, first, rendered


def book_text(root: Path) -> tuple[str, str]:
    """The text of a built book: every HTML page, and the PDF's pages."""
    html = "\n".join(p.read_text() for p in (root / "_book").glob("*.html"))
    pdf = next((root / "_book").glob("*.pdf"))
    return html, "\n".join(page.extract_text() for page in PdfReader(pdf).pages)


SMALL = {"design": {"n_ketamine": 8, "n_saline": 6}}


@pytest.fixture(scope="session")
def small_twin_dir(tmp_path_factory) -> Path:
    """A valid, small synthetic dataset (14 participants)."""
    out = tmp_path_factory.mktemp("small-twin")
    simulate(load_scenario("paper-null", overrides=SMALL), seed=11).write(out)
    return out


@pytest.fixture
def data_copy(small_twin_dir, tmp_path) -> Path:
    """A fresh copy of the small dataset that a test may corrupt."""
    target = tmp_path / "data"
    shutil.copytree(small_twin_dir, target)
    return target


def read(data_dir: Path, table: str) -> pd.DataFrame:
    return pd.read_csv(data_dir / f"{table}.csv", dtype=str, keep_default_na=False)


def write(frame: pd.DataFrame, data_dir: Path, table: str) -> None:
    frame.to_csv(data_dir / f"{table}.csv", index=False)


def pytest_collection_modifyitems(config, items):
    """Tests marked ``jax`` run last, in their order, and the other tests of
    their files just before them (in one process). JAX starts threads in the process; a
    ``pm.sample`` that forks chain processes after that can deadlock in a
    child (JAX and Python warn of it), and many tests sample in-process. The
    ``jax`` tests' own reference fits run their chains in one process
    (``KETAMINE_NIF_SAMPLER_CORES=1``), as every fit does in ``make
    test``'s pytest-xdist workers (above), which take whole files
    (:data:`BOOKS_FIRST`, then the files with the most tests)."""
    jax = {item.path for item in items if item.get_closest_marker("jax") is not None}
    items.sort(key=lambda item: (item.path in jax, item.get_closest_marker("jax") is not None))

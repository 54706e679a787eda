"""Every shell command in the README files runs as written, as a new user
would run it on a fresh clone after ``make report``: a copy of the
repository's tracked files, with the test-size book of this session (run and
rendered by the ``built_book`` fixture) standing in for that first build.

A few commands cannot run here as written; :data:`REDUCED` gives each one's
reduced form and :data:`NOT_HERE` says why the others are left out. Both are
keyed by the command exactly as the README writes it, and a test checks that
every key still appears there (a stale entry fails). Placeholders for the
reader's own data are replaced by the copy's twin (:data:`PLACEHOLDERS`)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import BIN, TINY, TINY_BOOK
from ketamine_nif.paths import ROOT

READMES = ("README.md", "data/README.md")
FENCE = re.compile(r"^```bash\n(.*?)^```", re.S | re.M)
PLACEHOLDERS = {"/secure/path/to/trial-data": "data/synthetic", "/secure/trial-data": "data/synthetic",
                "path/to/dir": "data/synthetic"}
SMALL = " ".join(TINY)  # test-size sampling of one notebook
BOOK = " ".join(TINY_BOOK)  # the test book's settings (its build is reused: nothing runs again)
REDUCED = {
    "make report": f"make report RUN_ARGS='{BOOK}'",
    "make report DATA=/secure/trial-data": f"make report DATA=data/synthetic RUN_ARGS='{BOOK}'",
    "make report DATA=/secure/path/to/trial-data": f"make report DATA=data/synthetic RUN_ARGS='{BOOK}'",
    ".venv/bin/ketamine-nif run 02-nif-trajectories --out runs/il6/02-nif-trajectories.ipynb -p 'markers=[\"IL-6\"]' -p sampler=numpyro":
        f".venv/bin/ketamine-nif run 02-nif-trajectories --out runs/il6/02-nif-trajectories.ipynb -p 'markers=[\"IL-6\"]' -p sampler=numpyro {SMALL}",
    # studies of hundreds of fits: the file is checked and its runs counted (`--dry-run`), none is run
    **{f".venv/bin/ketamine-nif sweep sweeps/{name}.yaml": f".venv/bin/ketamine-nif sweep sweeps/{name}.yaml --dry-run"
       for name in ("design-nif", "design-coupling", "design-nif-book", "design-coupling-book", "recovery", "recovery-madrs",
                    "recovery-mnar", "lod-bias", "sbc", "sbc-coupling", "sbc-moderation", "sbc-moderation-censored", "sbc-subgroups",
                    "calibration")},
    ".venv/bin/ketamine-nif run 02-nif-trajectories --out runs/priors/02-nif-trajectories.ipynb -p analysis_config=my-analysis.yaml":
        f".venv/bin/ketamine-nif run 02-nif-trajectories --out runs/priors/02-nif-trajectories.ipynb -p analysis_config=my-analysis.yaml {SMALL}",
    ".venv/bin/ketamine-nif sweep sweeps/design-nif.yaml --scheduler tcp://<host>:8786":
        ".venv/bin/ketamine-nif sweep sweeps/design-nif.yaml --dry-run",
    # the suite itself: only that the marker expression selects tests
    '.venv/bin/python -m pytest -m "not slow"': '.venv/bin/python -m pytest -m "not slow" --collect-only -q',
}
NOT_HERE = {
    "make test": "the command running this test",
    "dask scheduler": "a long-running service on a cluster (tests/test_sweep.py runs a sweep on a Dask LocalCluster)",
    "OMP_NUM_THREADS=1 dask worker tcp://<host>:8786 --nworkers <cores> --nthreads 1": "as above: a cluster's worker",
    "conda env create -f environment.yml": "conda is not installable on these machines (tests/test_environment.py checks the file)",
    "conda run --no-capture-output -n ketamine-nif make report CONDA=1": "as above",
}


@dataclass
class Outcome:
    command: str  # as the README writes it
    ran: str  # what ran: the command, its reduced form, or why nothing ran
    returncode: int | None
    output: str

    @property
    def failed(self) -> bool:
        output = KERNEL_SHUTDOWN_NOISE.sub("", self.output)
        return self.returncode not in (0, None) or "Traceback (most recent call last)" in output


# ipykernel's shutdown race (ipython/ipykernel#1518, not in 7.4.0): after the last cell has run, the kernel may log
# a traceback from publishing its idle status on a socket already closed; the notebook had finished, so that
# traceback is not the command's failure (any other traceback still is)
KERNEL_SHUTDOWN_NOISE = re.compile(
    r"ERROR:tornado\.general:Uncaught exception in ZMQStream callback\n.*?zmq\.error\.ZMQError: Socket operation on non-socket",
    re.S)


def test_a_traceback_fails_a_command_but_the_kernels_shutdown_race_does_not():
    shutdown = ("Executing: 100%\nERROR:tornado.general:Uncaught exception in ZMQStream callback\nTraceback (most recent "
                "call last):\n  File \"ipykernel/kernelbase.py\", line 409, in process_control\n"
                "zmq.error.ZMQError: Socket operation on non-socket\n")
    assert not Outcome("x", "x", 0, shutdown).failed
    assert Outcome("x", "x", 0, "Traceback (most recent call last):\nValueError: bad\n" + shutdown).failed
    assert Outcome("x", "x", 0, shutdown + "Traceback (most recent call last):\nValueError: bad\n").failed
    assert Outcome("x", "x", 1, "").failed and not Outcome("x", "x", None, "").failed


def commands(markdown: str) -> list[str]:
    """The shell commands of a Markdown text's ```bash blocks, one per line, without comments."""
    found = []
    for block in FENCE.findall(markdown):
        for line in block.splitlines():
            command = re.sub(r"(^|\s+)#.*$", "", line).strip()
            if command:
                found.append(command)
    return found


def run_commands(listed: list[str], root: Path, reduced: dict, not_here: dict, timeout: int = 900) -> list[Outcome]:
    """Run each command in ``root`` (bash, pipefail) in order, as the README lists them."""
    env = {**os.environ, "KETAMINE_NIF_ROOT": str(root)}
    outcomes = []
    for command in listed:
        if command in not_here:
            outcomes.append(Outcome(command, f"not run: {not_here[command]}", None, ""))
            continue
        ran = reduced.get(command, command)
        for placeholder, value in PLACEHOLDERS.items():
            ran = ran.replace(placeholder, value)
        done = subprocess.run(["bash", "-o", "pipefail", "-c", ran], cwd=root, env=env, capture_output=True, text=True,
                              timeout=timeout)
        outcomes.append(Outcome(command, ran, done.returncode, done.stdout + done.stderr))
    return outcomes


def fresh_clone(target: Path, built: Path | None = None) -> Path:
    """The repository's tracked files (as in the working tree) with the
    environment linked in; with ``built``, that project's twin, build folder
    and book copied in, as if ``make report`` had run."""
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    for name in filter(None, tracked.split("\0")):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)  # keeps the times, so make sees the environment as installed
    (target / ".venv").symlink_to(BIN.parent)
    stamp = BIN.parent / ".installed"  # make's record that the environment is installed
    if stamp.exists():  # the clone's install inputs older than it: make must not reinstall the clone (`pip install
        older = stamp.stat().st_mtime_ns - 1_000_000_000  # -e`) into the shared environment. A second older, in
        for name in ("pyproject.toml", "requirements.lock"):  # nanoseconds: a float time can round up past it
            os.utime(target / name, ns=(older, older))
    for folder in ("data/synthetic", "_build", "_book") if built else ():
        shutil.copytree(built / folder, target / folder, symlinks=True)
    return target


def _report(outcomes: list[Outcome]) -> str:
    return "\n\n".join(f"$ {o.ran}\n(exit {o.returncode})\n{o.output[-3000:]}" for o in outcomes if o.failed)


def test_commands_are_read_from_bash_blocks():
    text = "Intro `make x`\n\n```bash\nmake report   # build\n# a comment\n\n.venv/bin/ketamine-nif run 01-data -p 'a=[\"#1\"]'\n```\n\n```text\nnot a command\n```\n"
    assert commands(text) == ["make report", ".venv/bin/ketamine-nif run 01-data -p 'a=[\"#1\"]'"]


def test_every_reduced_or_skipped_command_is_in_a_readme():
    listed = {c for name in READMES for c in commands((ROOT / name).read_text(encoding="utf-8"))}
    stale = sorted((set(REDUCED) | set(NOT_HERE)) - listed)
    assert not stale, f"no longer in the READMEs (remove from REDUCED/NOT_HERE): {stale}"


@pytest.mark.slow
def test_a_broken_readme_command_fails_the_check(tmp_path):
    """The harness itself: on a fixture README, a command that exits non-zero
    and one that prints a traceback fail; a good one and a skipped one do not."""
    readme = ("```bash\n.venv/bin/ketamine-nif validate data/synthetic\nmake test\n"
              ".venv/bin/ketamine-nif run 01-data -p no_such_parameter=1\n"
              ".venv/bin/python -c 'import ketamine_nif.nothing'\n```\n")
    root = fresh_clone(tmp_path / "clone")
    subprocess.run([str(BIN / "ketamine-nif"), "simulate", "--out", "data/synthetic"], cwd=root, check=True,
                   capture_output=True, env={**os.environ, "KETAMINE_NIF_ROOT": str(root)})
    outcomes = run_commands(commands(readme), root, {}, {"make test": "recursion"})
    assert [o.failed for o in outcomes] == [False, False, True, True], _report(outcomes)
    assert "unknown parameter(s) no_such_parameter" in outcomes[2].output


@pytest.mark.slow
def test_every_readme_command_runs(built_book, tmp_path):
    root = fresh_clone(tmp_path / "clone", built=built_book[0])
    stamp = BIN.parent / ".installed"
    installed = stamp.stat().st_mtime_ns if stamp.exists() else None
    listed = [c for name in READMES for c in commands((root / name).read_text(encoding="utf-8"))]
    outcomes = run_commands(listed, root, REDUCED, NOT_HERE)
    # the clone shares this run's environment: a reinstall from it would point the package at the clone
    assert (stamp.stat().st_mtime_ns if stamp.exists() else None) == installed, "make reinstalled the environment"
    assert not [o for o in outcomes if o.failed], _report(outcomes)
    ran = [o for o in outcomes if o.returncode is not None]
    assert len(ran) >= 20 and len(ran) + len(NOT_HERE) == len(listed)
    # what the commands were for: the rerun examples wrote their notebooks; the report, built already, ran nothing again
    assert (root / "runs" / "01-data.ipynb").exists() and (root / "runs" / "bmi30" / "01-data.ipynb").exists()
    report = next(o for o in outcomes if o.command == "make report")
    assert "notebooks: 0 executed" in report.output, report.output


def test_contributing_and_the_readme_layout_match_the_tree():
    """Every file or folder CONTRIBUTING.md names exists (examples a reader
    makes, such as 11-my-question, aside); every module of the package and
    every top-level folder is named in the README's layout section."""
    contributing = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    for token in re.findall(r"`([^`\s]+)`", contributing):
        path = token.split("::")[0].rstrip(",.")
        if "/" not in path or "<" in path or "my-" in path or path.startswith(("runs/", ".venv/")):
            continue
        assert any(ROOT.glob(path)) if "*" in path else (ROOT / path).exists(), \
            f"CONTRIBUTING.md names {path}, which is not in the tree"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    layout = readme[readme.index("## Layout"):]
    layout = layout[:layout.index("\n## ", 1)]
    package = ROOT / "lib" / "ketamine_nif"
    modules = {p.stem for p in package.glob("*.py") if p.stem != "__init__"} | {p.name for p in package.iterdir()
                                                                              if (p / "__init__.py").exists()}
    missing = sorted(m for m in modules if not re.search(rf"\b{m}\b", layout))
    assert not missing, f"modules not in the README's layout section: {missing}"
    folders = {p.name for p in ROOT.iterdir() if p.is_dir() and not p.name.startswith((".", "_")) and p.name != "lib"}
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    folders &= {path.split("/")[0] for path in tracked}
    assert not sorted(f for f in folders if f"{f}/" not in layout), "top-level folders not in the layout section"

"""Faults leave a consistent state: records are replaced in one step (a killed
writer leaves the old file, never half a new one), and one build at a time
holds the checkout's build folder."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import BIN, TINY, TINY_BOOK, cli, make_project
from ketamine_nif.paths import BuildLocked, atomic_path, build_lock, write_atomic


def test_write_atomic_replaces_the_file(tmp_path):
    target = tmp_path / "deep" / "record.json"
    write_atomic(target, "old\n")
    write_atomic(target, "new\n")
    assert target.read_text() == "new\n"
    assert [p.name for p in target.parent.iterdir()] == ["record.json"]  # no temporary left


def test_an_error_while_writing_leaves_the_old_file(tmp_path):
    target = tmp_path / "estimates.csv"
    target.write_text("complete\n")
    with pytest.raises(RuntimeError), atomic_path(target) as temporary:
        temporary.write_text("half a ")
        raise RuntimeError("killed")
    assert target.read_text() == "complete\n"
    assert [p.name for p in tmp_path.iterdir()] == ["estimates.csv"]


def test_a_killed_writer_leaves_the_old_file(tmp_path):
    """SIGKILL in the middle of a write: no cleanup runs, and still the record
    is the old, complete one (the next write replaces the stray temporary's role)."""
    target = tmp_path / "run-log.json"
    write_atomic(target, '{"01-data": "done"}\n')
    code = (
        "import os, signal, sys\n"
        "from ketamine_nif.paths import atomic_path\n"
        f"with atomic_path({str(target)!r}) as t:\n"
        "    t.write_text('{\"01-data\": \"do')\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    killed = subprocess.run([sys.executable, "-c", code], capture_output=True)
    assert killed.returncode == -9
    assert target.read_text() == '{"01-data": "done"}\n'
    write_atomic(target, "{}\n")
    assert target.read_text() == "{}\n"


def _holder(lock_file, seconds: float) -> subprocess.Popen:
    """Another process holding the lock for ``seconds``, once it prints 'held'."""
    code = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from ketamine_nif.paths import build_lock\n"
        f"with build_lock(lock_file=Path({str(lock_file)!r})):\n"
        "    print('held', flush=True)\n"
        f"    time.sleep({seconds})\n"
        "print('released', flush=True)\n"
    )
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "held"
    return process


def test_a_second_build_waits_for_the_first(tmp_path):
    lock_file = tmp_path / "_build" / ".lock"
    holder = _holder(lock_file, 1.5)
    with pytest.raises(BuildLocked, match=f"pid {holder.pid}"):
        with build_lock(wait=False, lock_file=lock_file):
            pass
    said = []
    start = time.monotonic()
    with build_lock(log=said.append, lock_file=lock_file):
        waited = time.monotonic() - start
        assert holder.stdout.readline().strip() == "released"  # the first build let go before the second went on
    assert len(said) == 1 and "another build is running" in said[0] and f"pid {holder.pid}" in said[0]
    assert waited > 1.0
    holder.wait()


def test_a_killed_build_releases_the_lock(tmp_path):
    lock_file = tmp_path / "_build" / ".lock"
    holder = _holder(lock_file, 60)
    holder.kill()
    holder.wait()
    with build_lock(wait=False, lock_file=lock_file):
        assert f"pid {os.getpid()}" in lock_file.read_text()


@pytest.mark.slow
def test_run_and_render_wait_for_a_running_build(tmp_path):
    """``ketamine-nif run`` started while another build holds the checkout waits,
    says so, and goes on when that build ends."""
    root = make_project(tmp_path / "project")
    holder = _holder(root / "_build" / ".lock", 8)
    env = {**os.environ, "KETAMINE_NIF_ROOT": str(root)}
    second = subprocess.run([str(BIN / "ketamine-nif"), "run", "01-data"], cwd=root, env=env, capture_output=True,
                            text=True, timeout=900)
    assert holder.poll() is not None
    assert second.returncode == 0, second.stderr
    assert f"another build is running in this checkout (pid {holder.pid}" in second.stdout
    assert second.stdout.index("waiting") < second.stdout.index("[1/1] 01-data")


def _killed_midway(root, args: tuple[str, ...], after: str, delay: float) -> None:
    """Start ``ketamine-nif ARGS`` in ``root``, wait for a line containing
    ``after``, then SIGKILL it and every process it started (kernel included)."""
    env = {**os.environ, "KETAMINE_NIF_ROOT": str(root)}
    process = subprocess.Popen([str(BIN / "ketamine-nif"), *args], cwd=root, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True)
    for line in process.stdout:
        if after in line:
            break
    time.sleep(delay)
    assert process.poll() is None, "finished before it could be killed"
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _pages(book) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(book.glob("*.html"))}


@pytest.mark.slow
def test_a_killed_build_resumes_and_equals_a_clean_one(built_book, tmp_path):
    """SIGKILL in the middle of a notebook, then in the middle of the render;
    running again completes, re-executes only the interrupted notebook (and the
    appendix, which reports run times), and gives the clean build's estimates
    and pages."""
    root = tmp_path / "copy"
    shutil.copytree(built_book[0], root, symlinks=True)
    chapter = "09-external-validation"
    # the reference is the copy's complete build as it stands (run again, in case a chapter's outputs are
    # newer than its render)
    assert cli(root, "run", *TINY_BOOK).returncode == 0 and cli(root, "render").returncode == 0
    theirs = _pages(root / "_book")
    outputs = {stem: Path("_build") / "outputs" / stem / "estimates.csv" for stem in (chapter, "index")}
    estimates = {stem: (root / path).read_text() for stem, path in outputs.items() if (root / path).exists()}
    sampling = [a for flag, value in zip(TINY[::2], TINY[1::2], strict=True) if not value.startswith("prior_draws")
                for a in (flag, value)]  # the chapter has no prior predictive draws
    _killed_midway(root, ("run", chapter, "--force", *sampling), f"{chapter}: executing", 4.0)
    assert not (root / "_build" / "cache" / f"{chapter}.key").exists()
    resumed = cli(root, "run", *TINY_BOOK)
    assert resumed.returncode == 0, resumed.stderr
    executed = sorted(re.findall(r"\] (\S+): executing", resumed.stdout))
    assert executed == sorted([chapter, "appendix"]), resumed.stdout
    for stem, text in estimates.items():
        assert (root / outputs[stem]).read_text() == text, stem
    json.loads((root / "_build" / "run-log.json").read_text())  # whole, not truncated

    _killed_midway(root, ("render",), "rendering", 1.0)
    rendered = cli(root, "render")
    assert rendered.returncode == 0, rendered.stderr
    assert cli(root, "check-book").returncode == 0
    ours = _pages(root / "_book")
    assert ours.keys() == theirs.keys()
    rerun = {f"{chapter}.html", "appendix.html"}  # their pages show the new run's fit times; its estimates are equal (above)
    changed = sorted(name for name in ours if ours[name] != theirs[name])
    assert set(changed) <= rerun, changed

"""One place that knows where everything lives, so code works from any directory."""

from __future__ import annotations

import os
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path


def project_root() -> Path:
    """The repository root: ``$KETAMINE_NIF_ROOT``, else the folder above ``lib/``
    holding ``_quarto.yml``, else the nearest parent of the working directory
    that holds one."""
    env = os.environ.get("KETAMINE_NIF_ROOT")
    if env:
        return Path(env).resolve()
    here = Path(__file__).resolve()
    for candidate in [here.parents[2], *Path.cwd().resolve().parents, Path.cwd().resolve()]:
        if (candidate / "_quarto.yml").exists():
            return candidate
    return Path.cwd().resolve()  # outside a checkout; commands that need the book say so


ROOT = project_root()
NOTEBOOKS = ROOT / "notebooks"
PARAMS = ROOT / "params"
BUILD = ROOT / "_build"  # executed notebooks, per-run outputs, caches (ignored by git)
EXECUTED = BUILD / "notebooks"  # the executed notebooks, one per chapter of _quarto.yml
BOOK = ROOT / "_book"  # the rendered book (ignored by git)
SYNTHETIC_DATA = ROOT / "data" / "synthetic"  # the default twin (generated, ignored)
QUARTO_CONFIG = ROOT / "_quarto.yml"
SCENARIOS = Path(__file__).resolve().parent / "scenarios"


def run_output_dir(notebook_stem: str) -> Path:
    """Where one notebook's run writes its tables, figures and diagnostics."""
    return BUILD / "outputs" / notebook_stem


@contextmanager
def atomic_path(path: str | Path):
    """Yield a temporary path beside ``path``; when the block finishes, it
    replaces ``path`` in one step (``os.replace``), so a reader never sees a
    half-written file and a killed writer leaves the old one. On an error the
    temporary file is removed and ``path`` is untouched."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    temporary = Path(name)
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def write_atomic(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically (:func:`atomic_path`)."""
    with atomic_path(path) as temporary:
        temporary.write_text(text, encoding="utf-8")
    return Path(path)


class BuildLocked(RuntimeError):
    """Another build holds the checkout's build folder."""


@contextmanager
def build_lock(wait: bool = True, log=print, lock_file: Path | None = None):
    """Hold the checkout's build lock (``_build/.lock``) for the block, so that
    two builds never execute or render into the same files at once. A second
    build waits, saying who holds it (``wait=False``: raises
    :class:`BuildLocked`). The lock is the operating system's (``flock``): it
    goes with the process, also when that is killed."""
    import fcntl

    lock_file = lock_file or BUILD / ".lock"
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_file, "a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            message = f"another build is running in this checkout ({holder}; lock {lock_file})"
            if not wait:
                raise BuildLocked(f"{message}; try again when it has finished") from None
            log(f"{message}: waiting for it to finish ...")
            fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}, since {time.strftime('%H:%M:%S')}")
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            handle.flush()
            fcntl.flock(handle, fcntl.LOCK_UN)

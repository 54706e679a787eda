"""The book project that both renderers render, generated in ``_build/book/``.

Quarto takes as a book's home page only a chapter whose path, relative to the
project, starts with ``index.``, and it places each page at its chapter's path
relative to the project (``_build/notebooks/01-data.ipynb`` would become
``_book/_build/notebooks/01-data.html``). So the executed notebooks are staged
side by side in one generated project folder, with the repository's
``_quarto.yml`` copied beside them (its paths are relative to that folder):
the home page is the project's ``index.ipynb``, every page lands at
``_book/<chapter>.html``, and a chapter's link to another chapter's notebook
(``[...](03-coupling.ipynb)``) is a link between siblings, which Quarto and the
offline renderer both resolve to that chapter's page.

Staging adds to each chapter how to reproduce it (a last markdown cell with a
download link to its executed notebook and the command that reruns it with the
parameters it was run with) and copies the executed notebooks, for download,
into ``notebooks/`` (a resource of the project, copied into ``_book/``). In
both, the paths of the build machine are made relative (or replaced by a
placeholder), so that nothing in the book holds an absolute path of it.
Warnings stay in the downloads and out of the pages: stderr by ``execute:
warning: false``, and warnings that a library displayed as rich output (a
progress bar's console in Jupyter) are left out of the staged chapters.
"""

from __future__ import annotations

import html
import json
import re
import shlex
import shutil
import sys
import tempfile
from pathlib import Path

import nbformat
import yaml

from .convert import RenderError

BANNER_CLASS = "synthetic-banner"
BANNER_HTML = "banner.html"  # include-before-body of the HTML format (_quarto.yml)
BANNER_TYPST = "banner.typ"  # include-in-header of the Typst format (_quarto.yml)
DOWNLOADS = "notebooks"  # the executed notebooks, offered for download (project.resources)
DATA_PLACEHOLDER = "DATA_DIR"  # shown instead of a data folder outside the project
_WARNING = re.compile(r"^\s*\S+:\d+: [A-Z]\w*Warning: ")  # Python's warning format: file:line: Category: message
_SHOWS_SOMETHING = re.compile(r"<(img|svg|iframe|canvas|video|table)\b", re.I)


def typst_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def typst_banner(banner: str | None) -> str:
    """A Typst rule that draws the banner at the top of every page. It sets the
    page's ``foreground``, not its ``header``: Quarto's book template sets its own
    running header after the document header is included, which would replace a
    banner set as the header, while a set rule for another field of ``page`` keeps."""
    if not banner:
        return ""
    return (
        '#set page(foreground: place(top + center, dy: 0.35cm, block(width: 90%, inset: 4pt, radius: 2pt, '
        f'fill: rgb("#fde68a"), align(center, text(size: 7.5pt, weight: "bold", fill: rgb("#3d2e00"), {typst_string(banner)})))))\n'
    )


def write_includes(banner: str | None, project_dir: Path) -> None:
    """The banner files that ``_quarto.yml`` includes (empty for real data)."""
    project_dir.mkdir(parents=True, exist_ok=True)
    html_banner = (
        f'<div class="{BANNER_CLASS}" role="note" style="background:#fde68a;color:#3d2e00;padding:.5rem 1rem;'
        f'font-weight:600;text-align:center">{html.escape(banner)}</div>\n'
        if banner
        else ""
    )
    (project_dir / BANNER_HTML).write_text(html_banner, encoding="utf-8")
    (project_dir / BANNER_TYPST).write_text(typst_banner(banner), encoding="utf-8")


def load_run_log(path: Path) -> dict:
    """``_build/run-log.json`` (what the runner recorded), or {} when there is none."""
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise RenderError(f"{path} is not valid JSON ({exc}); rerun the notebooks (make report)") from None


def _parameter_text(value) -> str:
    """A parameter value as the command line reads it (YAML)."""
    if isinstance(value, str):
        try:
            if yaml.safe_load(value) == value:
                return value
        except yaml.YAMLError:
            pass
    return json.dumps(value)


def rerun_command(stem: str, record: dict) -> str:
    """The command that reruns a chapter with the parameters it was run with."""
    parameters = dict(record.get("parameters") or {})
    data_dir = parameters.pop("data_dir", None)
    parameters.pop("output_dir", None)
    args = [".venv/bin/ketamine-nif", "run", stem]
    if data_dir:
        args += ["--data", str(data_dir)]
    for key, value in parameters.items():
        args += ["-p", f"{key}={_parameter_text(value)}"]
    return " ".join(shlex.quote(a) for a in args)


def run_block(stem: str, notebook: str, record: dict | None) -> str:
    """How to reproduce a chapter: a link to its executed notebook (a download
    in the HTML book, a link beside the PDF) and the command that reruns it."""
    link = f'[{notebook}]({DOWNLOADS}/{notebook}){{download="{notebook}"}}'
    if not record:
        return (f"::: {{.chapter-run}}\n**Reproduce this chapter.** Executed notebook: {link}. "
                "Its run is not recorded in `_build/run-log.json`.\n:::")
    when = f" on {record['started'].replace('T', ' ')}" if record.get("started") else ""
    took = f" in {record['seconds']:g} s" if isinstance(record.get("seconds"), int | float) else ""
    return (
        f"::: {{.chapter-run}}\n**Reproduce this chapter.** Executed notebook: {link}, run{when}{took}. "
        f"This command reruns it with the parameters it was run with:\n\n"
        f"```bash\n{rerun_command(stem, record)}\n```\n:::"
    )


def machine_paths(root: Path, data_dir: str | None = None) -> list[tuple[str, str]]:
    """(absolute path, what replaces it), most specific first: the project root
    (paths become relative), a data folder outside it, the Python environment,
    the home folder and the temporary folder."""
    pairs = [(str(root.resolve()) + "/", ""), (str(root.resolve()), ".")]
    if data_dir and Path(data_dir).is_absolute():
        pairs.append((str(Path(data_dir)), DATA_PLACEHOLDER))
    checkout = Path(__file__).resolve().parents[3]  # the package's own checkout, when installed from one (pip -e)
    if (checkout / "lib" / "ketamine_nif").is_dir() and checkout != root.resolve():
        pairs.append((str(checkout) + "/", ""))
    for prefix, name in ((sys.prefix, "<python>"), (sys.base_prefix, "<python>"), (str(Path.home()), "~"),
                         (tempfile.gettempdir(), "<tmp>")):
        if len(prefix) > 1:
            pairs.append((prefix.rstrip("/") + "/", name + "/"))
    return pairs


def scrub(text: str, pairs: list[tuple[str, str]]) -> str:
    for path, replacement in pairs:
        boundary = "" if path.endswith("/") else r"(?![\w.-])"  # /work/x, not /work/x-other
        text = re.sub(re.escape(path) + boundary, replacement.replace("\\", "\\\\"), text)
    return text


def _scrub_metadata(value, pairs: list[tuple[str, str]]):
    """Metadata with the machine's paths replaced in every string (Papermill's
    ``input_path`` and ``output_path``, for one)."""
    if isinstance(value, str):
        return scrub(value, pairs)
    if isinstance(value, dict):
        return type(value)({k: _scrub_metadata(v, pairs) for k, v in value.items()})
    if isinstance(value, list):
        return [_scrub_metadata(v, pairs) for v in value]
    return value


def scrub_notebook(notebook, pairs: list[tuple[str, str]]):
    """The notebook with the machine's paths replaced in every text it holds
    (metadata, sources, streams, text and Markdown outputs, errors); images untouched."""
    notebook.metadata = _scrub_metadata(notebook.metadata, pairs)
    for cell in notebook.cells:
        cell.metadata = _scrub_metadata(cell.metadata, pairs)
        cell.source = scrub(cell.source, pairs)
        for output in cell.get("outputs", []):
            if "text" in output:
                output["text"] = scrub(output["text"], pairs)
            for mime, value in (output.get("data") or {}).items():
                if mime.startswith("text/") and isinstance(value, str):
                    output["data"][mime] = scrub(value, pairs)
            if "evalue" in output:
                output["evalue"] = scrub(output["evalue"], pairs)
            if "traceback" in output:
                output["traceback"] = [scrub(line, pairs) for line in output["traceback"]]
    return notebook


def displayed_warning(output) -> bool:
    """Whether an output is a warning (or nothing) displayed as rich output, such
    as the console of a progress bar in Jupyter: only text and HTML, whose text
    is empty or a Python warning, and whose HTML shows nothing else."""
    data = output.get("data") or {}
    if output.get("output_type") != "display_data" or not data or set(data) - {"text/plain", "text/html"}:
        return False
    page = data.get("text/html", "")
    text = data.get("text/plain", "")
    return (not text.strip() or bool(_WARNING.match(text))) and not _SHOWS_SOMETHING.search(page)


def chapter_files(config: dict, config_path: Path) -> list[str]:
    """The chapters of ``_quarto.yml``, which sit side by side in the book project."""
    chapters = [c if isinstance(c, str) else c.get("href") for c in (config.get("book") or {}).get("chapters", [])]
    if not chapters:
        raise RenderError(f"{config_path}: book.chapters lists no chapter")
    nested = [c for c in chapters if Path(c).name != c]
    if nested:
        raise RenderError(
            f"{config_path}: chapters are listed by file name ({', '.join(nested)} is in a folder). Quarto places a page "
            "by its chapter's path and takes as the home page only a root-level index.*; the chapters are staged side "
            "by side in the book project (_build/book/)"
        )
    if not any(c.startswith("index.") for c in chapters):
        raise RenderError(f"{config_path}: Book contents must include a home page (e.g. index.ipynb)")
    return chapters


def stage_book(config_path: Path, executed_dir: Path, project_dir: Path, banner: str | None,
               run_log: dict | None = None, data_dir: str | None = None) -> Path:
    """Write the book project (``project_dir``) from ``_quarto.yml`` and the
    executed notebooks in ``executed_dir``; returns the project's ``_quarto.yml``."""
    if not config_path.exists():
        raise RenderError(f"{config_path} not found: the book's configuration is missing")
    text = config_path.read_text(encoding="utf-8")
    config = yaml.safe_load(text) or {}
    chapters = chapter_files(config, config_path)
    missing = [c for c in chapters if not (executed_dir / c).exists()]
    if missing:
        raise RenderError(f"{executed_dir / missing[0]}: executed notebook not found; run the notebooks first (make report)")
    if project_dir.exists():
        shutil.rmtree(project_dir)
    (project_dir / DOWNLOADS).mkdir(parents=True)
    (project_dir / "_quarto.yml").write_text(text, encoding="utf-8")
    bibliography = config.get("bibliography")
    if bibliography:
        source = config_path.parent / bibliography
        if not source.exists():
            raise RenderError(f"bibliography {source} not found")
        shutil.copyfile(source, project_dir / bibliography)
    write_includes(banner, project_dir)
    pairs = machine_paths(config_path.parent, data_dir)
    for name in chapters:
        notebook = scrub_notebook(nbformat.read(executed_dir / name, as_version=4), pairs)
        nbformat.write(notebook, project_dir / DOWNLOADS / name)
        for cell in notebook.cells:
            if cell.get("outputs"):
                cell.outputs = [o for o in cell.outputs if not displayed_warning(o)]
        stem = Path(name).stem
        block = scrub(run_block(stem, name, (run_log or {}).get(stem)), pairs)
        notebook.cells.append(nbformat.v4.new_markdown_cell(block))
        nbformat.write(notebook, project_dir / name)
    return project_dir / "_quarto.yml"

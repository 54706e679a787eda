"""The offline renderer: the executed notebooks listed in ``_quarto.yml`` become
an HTML book (sidebar, previous/next, numbered captions, resolved references
and citations, banner) and a PDF (Pandoc -> Typst), without Quarto.

Pandoc comes from ``pypandoc-binary`` and Typst from the ``typst`` package, both
on PyPI. Only the Quarto subset in ``docs/quarto-subset.md`` is understood;
anything else passes through as Pandoc Markdown.
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import yaml

from .convert import Chapter, Label, RenderError, notebook_to_chapter

_REFERENCE = re.compile(r"(?<![\w@\[])@((?:fig|tbl|sec)-[A-Za-z0-9]+(?:[-_][A-Za-z0-9]+)*)")
_FENCE = re.compile(r"^\s*(```|~~~)")
BANNER_CLASS = "synthetic-banner"


@dataclass
class BookConfig:
    root: Path
    title: str
    subtitle: str
    author: str
    chapters: list[Path]
    bibliography: Path | None
    output_dir: Path
    output_file: str
    echo: bool

    @classmethod
    def load(cls, config_path: Path) -> BookConfig:
        if not config_path.exists():
            raise RenderError(f"{config_path} not found: the book's configuration is missing")
        config = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
        book = config.get("book") or {}
        chapters = [c if isinstance(c, str) else c.get("href") for c in book.get("chapters", [])]
        if not chapters:
            raise RenderError(f"{config_path}: book.chapters lists no chapter")
        root = config_path.parent
        bibliography = config.get("bibliography")
        return cls(
            root=root,
            title=str(book.get("title", "Untitled")),
            subtitle=str(book.get("subtitle", "")),
            author=str(book.get("author", "")),
            chapters=[root / c for c in chapters],
            bibliography=root / bibliography if bibliography else None,
            output_dir=root / (config.get("project", {}).get("output-dir") or "_book"),
            output_file=str(book.get("output-file") or re.sub(r"\W+", "-", str(book.get("title", "book"))).strip("-")),
            echo=bool((config.get("execute") or {}).get("echo", True)),
        )


def pandoc_path() -> str:
    found = shutil.which("pandoc")
    if found:
        return found
    try:
        import pypandoc

        return pypandoc.get_pandoc_path()
    except (ImportError, OSError) as exc:
        raise RenderError("pandoc not found: install the project (pip install -e .) to get pypandoc-binary") from exc


def _asset(name: str) -> Path:
    return Path(str(resources.files("ketamine_nif.render") / "assets" / name))


def run_pandoc(markdown: str, to: str, extra: list[str], cwd: Path) -> str:
    args = [pandoc_path(), "--from=markdown", f"--to={to}", "--columns=1000", f"--lua-filter={_asset('callouts.lua')}", *extra]
    result = subprocess.run(args, input=markdown, capture_output=True, text=True, cwd=cwd, check=False)
    if result.returncode != 0:
        raise RenderError(f"pandoc ({to}) failed: {result.stderr.strip()}")
    return result.stdout


def resolve_references(markdown: str, labels: dict[str, Label], here: str | None, source: Path) -> str:
    """Replace ``@fig-x``/``@tbl-x``/``@sec-x`` by numbered links. ``here`` is the
    chapter's HTML file (links to other chapters name their file) or None for one
    document (the PDF)."""
    unresolved = []

    def link(match: re.Match) -> str:
        key = match.group(1)
        label = labels.get(key)
        if label is None:
            unresolved.append(key)
            return match.group(0)
        target = f"#{key}" if here is None or label.chapter == here else f"{label.chapter}#{key}"
        if label.is_chapter and here is not None:
            target = label.chapter
        return f"[{label.text}]({target})"

    out, in_fence = [], False
    for line in markdown.splitlines():
        if _FENCE.match(line):
            in_fence = not in_fence
        out.append(line if in_fence else _REFERENCE.sub(link, line))
    if unresolved:
        raise RenderError(f"{source}: unresolved cross-reference(s) {', '.join('@' + k for k in sorted(set(unresolved)))}")
    return "\n".join(out)


def load_chapters(config: BookConfig) -> tuple[list[Chapter], dict[str, Label]]:
    chapters, labels = [], {}
    number = 0
    for i, path in enumerate(config.chapters):
        html_name = "index.html" if i == 0 else f"{path.stem}.html"
        chapter_number = None if i == 0 else (number := number + 1)
        chapter = notebook_to_chapter(path, html_name, chapter_number, echo_default=config.echo)
        for key, label in chapter.labels.items():
            if key in labels:
                raise RenderError(f"label '{key}' occurs in {labels[key].chapter} and in {chapter.html_name}: labels must be unique across the book")
            labels[key] = label
        chapters.append(chapter)
    return chapters, labels


def _citation_args(config: BookConfig) -> list[str]:
    if config.bibliography is None:
        return []
    if not config.bibliography.exists():
        raise RenderError(f"bibliography {config.bibliography} not found")
    return ["--citeproc", f"--bibliography={config.bibliography}", "--metadata=reference-section-title:References", "--metadata=link-citations:true"]


def _chapter_heading(chapter: Chapter) -> str:
    return f"{chapter.number}\u2002{chapter.title}" if chapter.number is not None else chapter.title


def _page(config: BookConfig, chapters: list[Chapter], i: int, body: str, banner: str | None) -> str:
    chapter = chapters[i]
    items = []
    for other in chapters:
        current = ' aria-current="page" class="current"' if other is chapter else ""
        items.append(f'<li><a href="{other.html_name}"{current}>{html.escape(_chapter_heading(other))}</a></li>')
    pager = []
    if i > 0:
        prev = chapters[i - 1]
        pager.append(f'<a class="prev" rel="prev" href="{prev.html_name}">&larr; {html.escape(_chapter_heading(prev))}</a>')
    if i + 1 < len(chapters):
        nxt = chapters[i + 1]
        pager.append(f'<a class="next" rel="next" href="{nxt.html_name}">{html.escape(_chapter_heading(nxt))} &rarr;</a>')
    banner_html = f'<div class="{BANNER_CLASS}" role="note">{html.escape(banner)}</div>\n' if banner else ""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(chapter.title)} &ndash; {html.escape(config.title)}</title>
<link rel="stylesheet" href="assets/book.css">
</head>
<body>
{banner_html}<div class="layout">
<nav class="sidebar" aria-label="Chapters">
<a class="book-title" href="index.html">{html.escape(config.title)}</a>
<ol class="chapters">
{chr(10).join(items)}
</ol>
<a class="download" href="{config.output_file}.pdf">Download the PDF</a>
</nav>
<main id="content">
{body}
<nav class="pager" aria-label="Previous and next chapter">{"".join(pager)}</nav>
</main>
</div>
</body>
</html>
"""


def build_html(config: BookConfig, chapters: list[Chapter], labels: dict[str, Label], banner: str | None) -> list[Path]:
    out = config.output_dir
    (out / "figures").mkdir(parents=True, exist_ok=True)
    (out / "assets").mkdir(exist_ok=True)
    shutil.copyfile(_asset("book.css"), out / "assets" / "book.css")
    pages = []
    for i, chapter in enumerate(chapters):
        for name, data in chapter.images.items():
            (out / "figures" / name).write_bytes(data)
        markdown = resolve_references(chapter.markdown, labels, chapter.html_name, chapter.source)
        body = run_pandoc(markdown, "html5", ["--mathml", *_citation_args(config)], cwd=config.root)
        page = out / chapter.html_name
        page.write_text(_page(config, chapters, i, body, banner), encoding="utf-8")
        pages.append(page)
    return pages


def typst_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _typst_preamble(config: BookConfig, banner: str | None) -> str:
    header = (
        f"header: align(center, block(fill: rgb(\"#fde68a\"), inset: 5pt, radius: 2pt, "
        f"text(size: 8.5pt, weight: \"bold\", {typst_string(banner)}))),"
        if banner
        else ""
    )
    subtitle = f'#text(size: 13pt, {typst_string(config.subtitle)})\n#v(1em)\n' if config.subtitle else ""
    return f"""#set document(title: {typst_string(config.title)})
#set page(paper: "a4", margin: (x: 2.2cm, top: 2.6cm, bottom: 2.2cm), numbering: "1", {header})
#set text(size: 10.5pt)
#set par(justify: true)
#set figure(numbering: none)
#show figure.caption: set text(size: 9.5pt)
#show heading.where(level: 1): it => {{ pagebreak(weak: true); v(1em); text(size: 20pt, it.body); v(0.8em) }}
#show link: set text(fill: rgb("#0b5394"))
#align(center)[
#v(4cm)
#text(size: 22pt, weight: "bold", {typst_string(config.title)})
#v(1em)
{subtitle}#text(size: 12pt, {typst_string(config.author)})
]
#pagebreak()
#outline(title: "Contents", depth: 1)
"""


def build_pdf(config: BookConfig, chapters: list[Chapter], labels: dict[str, Label], banner: str | None, work_dir: Path) -> Path:
    import typst

    work_dir.mkdir(parents=True, exist_ok=True)
    (work_dir / "figures").mkdir(exist_ok=True)
    parts = []
    for chapter in chapters:
        for name, data in chapter.images.items():
            (work_dir / "figures" / name).write_bytes(data)
        parts.append(resolve_references(chapter.markdown, labels, None, chapter.source))
    body = run_pandoc("\n\n".join(parts), "typst", _citation_args(config), cwd=config.root)
    source = work_dir / "book.typ"
    source.write_text(_typst_preamble(config, banner) + "\n" + body, encoding="utf-8")
    pdf = config.output_dir / f"{config.output_file}.pdf"
    try:
        typst.compile(str(source), output=str(pdf), root=str(work_dir), timestamp=int(datetime(2025, 4, 4, tzinfo=UTC).timestamp()))
    except Exception as exc:  # noqa: BLE001 - typst raises its own error type with the message
        raise RenderError(f"typst could not compile {source}: {exc}") from None
    return pdf


def render_book(config_path: Path, banner: str | None, work_dir: Path) -> tuple[Path, Path]:
    """Render the book; returns (index.html, the PDF)."""
    config = BookConfig.load(config_path)
    chapters, labels = load_chapters(config)
    if config.output_dir.exists():
        shutil.rmtree(config.output_dir)
    config.output_dir.mkdir(parents=True)
    pages = build_html(config, chapters, labels, banner)
    pdf = build_pdf(config, chapters, labels, banner, work_dir)
    return pages[0], pdf

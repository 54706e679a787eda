"""The offline renderer: the book project that Quarto would render (staged by
``render.project``: ``_quarto.yml`` beside the executed chapters) becomes an
HTML book (sidebar, previous/next, numbered captions, resolved references and
citations, banner) and a PDF (Pandoc -> Typst), without Quarto.

Pandoc comes from ``pypandoc-binary`` and Typst from the ``typst`` package, both
on PyPI. Only the Quarto subset in ``docs/quarto-subset.md`` is understood;
anything else passes through as Pandoc Markdown. It follows Quarto's book rules
where the subset meets them: the home page is the chapter named ``index.*``
(``index.html``), every other page is ``<chapter>.html``, a chapter is numbered
unless its heading is ``{.unnumbered}``, a link to a chapter's notebook file
(``[the coupling chapter](03-coupling.ipynb)``) leads to that chapter, and the
files of ``project.resources`` are copied into the book. The HTML book has an
offline search box (``search-index.js`` holds the text of every page).
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import yaml

from .convert import Chapter, Label, RenderError, notebook_to_chapter, numbered_heading
from .project import BANNER_CLASS, typst_banner, typst_string

_REFERENCE = re.compile(r"(?<![\w@\[])@((?:fig|tbl|sec)-[A-Za-z0-9]+(?:[-_][A-Za-z0-9]+)*)")
_FENCE = re.compile(r"^\s*(```|~~~)")
_CHAPTER_LINK = re.compile(r"\]\(([A-Za-z0-9_.-]+)\.ipynb(#[A-Za-z0-9_-]+)?\)")


def _substitute_outside_fences(markdown: str, pattern: re.Pattern, replace) -> str:
    """``pattern.sub(replace, line)`` on every line outside fenced code blocks."""
    out, in_fence = [], False
    for line in markdown.splitlines():
        if _FENCE.match(line):
            in_fence = not in_fence
        out.append(line if in_fence else pattern.sub(replace, line))
    return "\n".join(out)


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
    resources: list[str]

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
        project = config.get("project") or {}
        return cls(
            root=root,
            title=str(book.get("title", "Untitled")),
            subtitle=str(book.get("subtitle", "")),
            author=str(book.get("author", "")),
            chapters=[root / c for c in chapters],
            bibliography=root / bibliography if bibliography else None,
            output_dir=root / (project.get("output-dir") or "_book"),
            output_file=str(book.get("output-file") or re.sub(r"\W+", "-", str(book.get("title", "book"))).strip("-")),
            echo=bool((config.get("execute") or {}).get("echo", True)),
            resources=[str(r) for r in (project.get("resources") or [])],
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
    args = [pandoc_path(), "--from=markdown", f"--to={to}", "--columns=1000", "--wrap=none", f"--lua-filter={_asset('callouts.lua')}", *extra]
    result = subprocess.run(args, input=markdown, capture_output=True, text=True, cwd=cwd, check=False)
    if result.returncode != 0:
        raise RenderError(f"pandoc ({to}) failed: {result.stderr.strip()}")
    return result.stdout


def resolve_references(markdown: str, labels: dict[str, Label], here: str | None, source: Path) -> str:
    """Replace ``@fig-x``/``@tbl-x``/``@sec-x`` by numbered links. ``here`` is the
    chapter's HTML file (links to other chapters name their file) or None for one
    document (the PDF)."""
    unresolved, unnumbered = [], []

    def link(match: re.Match) -> str:
        key = match.group(1)
        label = labels.get(key)
        if label is None:
            unresolved.append(key)
            return match.group(0)
        if not label.number:
            unnumbered.append(key)
            return match.group(0)
        target = f"#{key}" if here is None or label.chapter == here else f"{label.chapter}#{key}"
        if label.is_chapter and here is not None:
            target = label.chapter
        return f"[{label.text}]({target})"

    markdown = _substitute_outside_fences(markdown, _REFERENCE, link)
    if unresolved:
        raise RenderError(f"{source}: unresolved cross-reference(s) {', '.join('@' + k for k in sorted(set(unresolved)))}")
    if unnumbered:
        raise RenderError(f"{source}: {', '.join('@' + k for k in sorted(set(unnumbered)))} refers to an unnumbered heading, "
                          "which has no number to cite; link to it instead ([its title](#label))")
    return markdown


def resolve_chapter_links(markdown: str, chapters: list[Chapter], here: str | None, source: Path) -> str:
    """Links to a chapter's notebook (``03-coupling.ipynb``, optionally with
    ``#anchor``) lead to its page (``here`` is the current page) or, in the one
    document of the PDF (``here`` None), to its heading."""
    by_stem = {c.source.stem: c for c in chapters}
    unknown = []

    def link(match: re.Match) -> str:
        chapter = by_stem.get(match.group(1))
        if chapter is None:
            unknown.append(match.group(1) + ".ipynb")
            return match.group(0)
        anchor = match.group(2) or ""
        if here is None:
            return f"](#{anchor[1:] or chapter.anchor})"
        page = "" if chapter.html_name == here and anchor else chapter.html_name
        return f"]({page}{anchor})"

    markdown = _substitute_outside_fences(markdown, _CHAPTER_LINK, link)
    if unknown:
        raise RenderError(f"{source}: link(s) to {', '.join(sorted(set(unknown)))}, which is not a chapter of the book")
    return markdown


def load_chapters(config: BookConfig) -> tuple[list[Chapter], dict[str, Label]]:
    """The chapters in book order, home page first (as Quarto orders them), with
    their numbers: a chapter is numbered unless its heading is ``{.unnumbered}``."""
    paths = [p for p in config.chapters if p.name.startswith("index.")]
    if not paths:
        raise RenderError(f"{config.root / '_quarto.yml'}: Book contents must include a home page (e.g. index.ipynb)")
    if any(p.parent != config.root for p in config.chapters):
        raise RenderError("the offline renderer renders chapters that sit beside the project's index (stage the book first)")
    paths += [p for p in config.chapters if p not in paths]
    chapters, labels, number = [], {}, 0
    for path in paths:
        chapter_number = (number := number + 1) if numbered_heading(path) else None
        chapter = notebook_to_chapter(path, f"{path.stem}.html", chapter_number, echo_default=config.echo)
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


def page_text(body: str) -> str:
    """The plain text of an HTML fragment (for the search index)."""
    text = re.sub(r"<(script|style|math)\b.*?</\1>", " ", body, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", text))).strip()


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
    title_block = ""
    if chapter.html_name == "index.html":  # as in Quarto, the home page opens with the book's title block
        lines = [f'<p class="book-title">{html.escape(config.title)}</p>']
        lines += [f'<p class="{key}">{html.escape(value)}</p>' for key, value in (("subtitle", config.subtitle), ("author", config.author)) if value]
        title_block = '<header class="title-block">\n' + "\n".join(lines) + "\n</header>\n"
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
<form class="search" role="search" onsubmit="return false">
<label for="search">Search the book</label>
<input id="search" type="search" placeholder="a marker, a word ..." autocomplete="off">
<ol id="search-results" aria-live="polite"></ol>
</form>
<ol class="chapters">
{chr(10).join(items)}
</ol>
<a class="download" href="{config.output_file}.pdf">Download the PDF</a>
</nav>
<main id="content">
{title_block}{body}
<nav class="pager" aria-label="Previous and next chapter">{"".join(pager)}</nav>
</main>
</div>
<script src="search-index.js"></script>
<script src="assets/search.js"></script>
</body>
</html>
"""


def copy_resources(config: BookConfig) -> None:
    """The files of ``project.resources`` (globs in the project), copied into the
    book at the same relative paths, as Quarto copies them."""
    for pattern in config.resources:
        found = [p for p in config.root.glob(pattern) if p.is_file()]
        if not found:
            raise RenderError(f"project.resources: {pattern!r} matches no file in {config.root}")
        for path in found:
            target = config.output_dir / path.relative_to(config.root)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)


def build_html(config: BookConfig, chapters: list[Chapter], labels: dict[str, Label], banner: str | None) -> list[Path]:
    out = config.output_dir
    (out / "figures").mkdir(parents=True, exist_ok=True)
    (out / "assets").mkdir(exist_ok=True)
    for asset in ("book.css", "search.js"):
        shutil.copyfile(_asset(asset), out / "assets" / asset)
    copy_resources(config)
    pages, index = [], []
    for i, chapter in enumerate(chapters):
        for name, data in chapter.images.items():
            (out / "figures" / name).write_bytes(data)
        markdown = resolve_references(chapter.markdown, labels, chapter.html_name, chapter.source)
        markdown = resolve_chapter_links(markdown, chapters, chapter.html_name, chapter.source)
        body = run_pandoc(markdown, "html5", ["--mathml", *_citation_args(config)], cwd=config.root)
        page = out / chapter.html_name
        page.write_text(_page(config, chapters, i, body, banner), encoding="utf-8")
        pages.append(page)
        index.append({"href": chapter.html_name, "title": _chapter_heading(chapter), "text": page_text(body)})
    (out / "search-index.js").write_text(
        "// The text of every page, for the search box (assets/search.js); generated by the renderer.\n"
        f"window.BOOK_SEARCH = {json.dumps(index, ensure_ascii=False)};\n", encoding="utf-8")
    return pages


def _typst_preamble(config: BookConfig, banner: str | None) -> str:
    subtitle = f'#text(size: 13pt, {typst_string(config.subtitle)})\n#v(1em)\n' if config.subtitle else ""
    return f"""#set document(title: {typst_string(config.title)})
#set page(paper: "a4", margin: (x: 2.2cm, top: 2.6cm, bottom: 2.2cm), numbering: "1")
{typst_banner(banner)}#set text(size: 10.5pt)
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
        markdown = resolve_references(chapter.markdown, labels, None, chapter.source)
        markdown = resolve_chapter_links(markdown, chapters, None, chapter.source)
        parts.append(markdown)
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

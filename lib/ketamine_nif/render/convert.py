"""Executed notebook -> one chapter of Pandoc Markdown, for the offline renderer.

Covers the documented Quarto subset (``docs/quarto-subset.md``): cell options
(``#| label``, ``fig-cap``, ``fig-alt``, ``tbl-cap``, ``echo``, ``output``,
``include``), figure and table labels, chapter and section labels on headings,
and outputs as PNG images, Markdown, HTML (HTML book only), plain text and
streams. Numbers of figures, tables and sections are assigned here; references
(``@fig-...``) are resolved by the book, which knows every chapter.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import yaml

LABEL_KINDS = {"fig": "Figure", "tbl": "Table", "sec": "Section"}
_OPTION_LINE = re.compile(r"^#\|\s?(.*)$")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*(\{[^}]*\})?\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")


class RenderError(RuntimeError):
    """The book cannot be rendered; the message says which file and what."""


@dataclass
class Label:
    kind: str  # fig, tbl or sec
    number: str  # e.g. "2.1"; "" for a heading that is not numbered
    chapter: str  # html file name of the chapter that holds it
    is_chapter: bool = False

    @property
    def text(self) -> str:
        name = "Chapter" if self.is_chapter else LABEL_KINDS[self.kind]
        return f"{name} {self.number}"


@dataclass
class Chapter:
    source: Path
    html_name: str
    number: int | None  # None for an unnumbered chapter (heading {.unnumbered})
    title: str = ""
    anchor: str = ""  # the id of the chapter's heading (its sec- label, else chapter-<name>)
    markdown: str = ""
    labels: dict[str, Label] = field(default_factory=dict)
    images: dict[str, bytes] = field(default_factory=dict)  # file name -> PNG bytes


def _unnumbered(attrs: str | None) -> bool:
    """Whether a heading's attributes say ``{.unnumbered}`` (or Pandoc's ``{-}``)."""
    return bool(re.search(r"(^|\s|\{)(\.unnumbered|-)(?=[\s}])", attrs or ""))


def numbered_heading(path: Path) -> bool:
    """Whether a notebook's chapter heading (its first level-1 heading) is numbered:
    as in Quarto, unless it carries ``{.unnumbered}``."""
    try:
        notebook = nbformat.read(path, as_version=4)
    except FileNotFoundError:
        raise RenderError(f"{path}: executed notebook not found; run the notebooks first (make report)") from None
    for cell in notebook.cells:
        if cell.cell_type != "markdown":
            continue
        in_fence = False
        for line in _text(cell.source).splitlines():
            if _FENCE.match(line):
                in_fence = not in_fence
            match = None if in_fence else _HEADING.match(line)
            if match and len(match.group(1)) == 1:
                return not _unnumbered(match.group(3))
    return True


def cell_options(source: str) -> tuple[dict, str]:
    """Split leading ``#|`` option lines (YAML) from a code cell's source."""
    lines = source.splitlines()
    option_lines = []
    for line in lines:
        match = _OPTION_LINE.match(line)
        if not match:
            break
        option_lines.append(match.group(1))
    try:
        options = yaml.safe_load("\n".join(option_lines)) or {}
    except yaml.YAMLError as exc:
        raise RenderError(f"cell options are not valid YAML ({exc}):\n" + "\n".join(option_lines)) from None
    return options, "\n".join(lines[len(option_lines):]).strip("\n")


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def _fenced(text: str, info: str = "") -> str:
    fence = "````" if "```" in text else "```"
    return f"{fence}{info}\n{text.rstrip()}\n{fence}"


def _attr(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


class _ChapterBuilder:
    def __init__(self, chapter: Chapter, echo_default: bool):
        self.chapter = chapter
        self.echo_default = echo_default
        self.counts = {"fig": 0, "tbl": 0}
        self.blocks: list[str] = []

    def number(self, kind: str) -> str:
        self.counts[kind] += 1
        prefix = f"{self.chapter.number}." if self.chapter.number is not None else ""
        return f"{prefix}{self.counts[kind]}"

    def add_label(self, label: str, kind: str, number: str, is_chapter: bool = False) -> None:
        if label in self.chapter.labels:
            raise RenderError(f"{self.chapter.source}: label '{label}' is used twice")
        self.chapter.labels[label] = Label(kind, number, self.chapter.html_name, is_chapter)

    def image(self, png_b64, caption: str | None, label: str | None, alt: str | None) -> str:
        name = f"{Path(self.chapter.html_name).stem}-{len(self.chapter.images) + 1}.png"
        self.chapter.images[name] = base64.b64decode(_text(png_b64))
        if label is None:
            return f'![]({"figures/" + name}){{alt="{_attr(alt or caption or "")}"}}'  # no alt: check-book says so
        number = self.number("fig")
        self.add_label(label, "fig", number)
        text = f"Figure {number}: {caption or ''}".strip()
        return f'![{text}](figures/{name}){{#{label} alt="{_attr(alt or caption or "")}"}}'

    def code_cell(self, cell) -> None:
        options, code = cell_options(_text(cell.source))
        if options.get("include") is False:
            return
        label = options.get("label")
        label = str(label) if label else None
        if options.get("echo", self.echo_default) and code:
            self.blocks.append(_fenced(code, "python"))
        if options.get("output") is False:
            return
        figure_label = label if label and label.startswith("fig-") else None
        table_label = label if label and label.startswith("tbl-") else None
        for output in cell.get("outputs", []):
            kind = output.get("output_type")
            if kind == "stream":
                if output.get("name") == "stdout" and _text(output.get("text", "")).strip():
                    self.blocks.append(_fenced(_text(output["text"])))
                continue
            if kind == "error":
                message = f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"
                self.blocks.append(f'::: {{.callout-important title="This cell failed"}}\n{_fenced(message)}\n:::')
                continue
            data = output.get("data", {})
            if "image/png" in data:
                self.blocks.append(self.image(data["image/png"], options.get("fig-cap"), figure_label, options.get("fig-alt")))
                figure_label = None  # one labelled figure per cell; further images are plain
            elif "text/markdown" in data:
                markdown = _text(data["text/markdown"]).strip()
                if table_label:
                    number = self.number("tbl")
                    self.add_label(table_label, "tbl", number)
                    caption = f"Table {number}: {options.get('tbl-cap', '')}".strip()
                    markdown = f"::: {{#{table_label}}}\n\n{markdown}\n\n: {caption}\n\n:::"
                    table_label = None
                self.blocks.append(markdown)
            elif "text/html" in data:
                self.blocks.append(f"```{{=html}}\n{_text(data['text/html'])}\n```")
            elif "text/plain" in data:
                self.blocks.append(_fenced(_text(data["text/plain"])))
        # A labelled cell without its image or table (say, a study's outputs are missing and
        # the cell says so instead) shows its other outputs and defines no label; a
        # reference to that label then fails as unresolved, with its name.

    def headings(self, markdown: str) -> str:
        """Number chapter (level 1) and section (levels 2-3) headings; record labels."""
        out, in_fence, counters = [], False, [0, 0]
        for line in markdown.splitlines():
            if _FENCE.match(line):
                in_fence = not in_fence
            match = None if in_fence else _HEADING.match(line)
            if not match:
                out.append(line)
                continue
            hashes, text, attrs = match.groups()
            level = len(hashes)
            label = re.search(r"#((?:sec)-[\w-]+)", attrs or "")
            if level == 1:
                if self.chapter.title:
                    raise RenderError(f"{self.chapter.source}: a chapter has one level-1 heading; found a second: {text!r}")
                self.chapter.title = text
                number = "" if self.chapter.number is None else str(self.chapter.number)
                if label:
                    self.add_label(label.group(1), "sec", number, is_chapter=True)
                    self.chapter.anchor = label.group(1)
                elif not re.search(r"#[\w-]", attrs or ""):
                    self.chapter.anchor = f"chapter-{Path(self.chapter.html_name).stem}"
                    attrs = "{#" + self.chapter.anchor + (" " + attrs[1:] if attrs else "}")
                else:
                    self.chapter.anchor = re.search(r"#([\w-]+)", attrs).group(1)
            elif level <= 3 and self.chapter.number is not None and not _unnumbered(attrs):
                if level == 2:
                    counters = [counters[0] + 1, 0]
                else:
                    counters[1] += 1
                parts = [str(self.chapter.number), str(counters[0])] + ([str(counters[1])] if level == 3 else [])
                number = ".".join(parts)
                if label:
                    self.add_label(label.group(1), "sec", number)
            else:
                number = ""  # an anchor to link to; a reference to it (@sec-...) fails, having no number
                if label:
                    self.add_label(label.group(1), "sec", number)
            numbered = f"{number}\u2002{text}" if number else text
            out.append(f"{hashes} {numbered} {attrs or ''}".rstrip())
        return "\n".join(out)


def notebook_to_chapter(path: Path, html_name: str, number: int | None, echo_default: bool = False) -> Chapter:
    """Convert one executed notebook into a chapter (Markdown, labels, images)."""
    try:
        notebook = nbformat.read(path, as_version=4)
    except FileNotFoundError:
        raise RenderError(f"{path}: executed notebook not found; run the notebooks first (make report)") from None
    chapter = Chapter(source=path, html_name=html_name, number=number)
    builder = _ChapterBuilder(chapter, echo_default)
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            builder.blocks.append(_text(cell.source).strip())
        elif cell.cell_type == "code":
            try:
                builder.code_cell(cell)
            except RenderError:
                raise
            except Exception as exc:  # noqa: BLE001 - name the cell behind any surprise
                raise RenderError(f"{path}: cannot convert a cell ({exc})") from exc
    chapter.markdown = builder.headings("\n\n".join(b for b in builder.blocks if b))
    if not chapter.title:
        raise RenderError(f"{path}: the chapter needs a level-1 heading ('# Title') in its first markdown cell")
    return chapter

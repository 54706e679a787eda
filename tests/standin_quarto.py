"""A stand-in for `quarto render` of a book project, for the tests (nobody on the
team can run Quarto on the project's machines). It follows Quarto's documented
book contract strictly, and refuses what it does not cover, so that a layout
Quarto rejects or renders wrongly fails here too:

- `quarto render [DIR] [--no-execute]`, in a project whose `_quarto.yml` says
  `project: type: book`; it never executes (`--execute` or `execute: enabled:
  true` is refused).
- Every chapter must exist. The home page is the chapter whose path relative to
  the project starts with `index.`; without one: "Book contents must include a
  home page (e.g. index.md)". The home page goes first.
- Each page lands at its chapter's path relative to the project, under the
  output directory (`_build/notebooks/01-x.ipynb` -> `_book/_build/notebooks/01-x.html`).
- A chapter is numbered unless its level-1 heading has `.unnumbered` (the home
  page too); its heading becomes the page title ("N  Title"), except on the home
  page, whose title block is the book's title and keeps its own heading.
  Sections of a numbered chapter are numbered N.M; figures and tables N.K
  (K alone in an unnumbered chapter).
- `@fig-`/`@tbl-`/`@sec-` become "Figure N.K", "Table N.K", "Chapter N" or
  "Section N.M" links; an unknown one is left as `?@label` (as Quarto does); a
  reference to an unnumbered heading is refused.
- A link to a chapter's source file (`03-x.ipynb`, resolved against the linking
  chapter's folder) becomes a link to that chapter's page; other links are kept.
- Cell options `echo`, `output`, `include`, `warning` (defaults from `execute`);
  stderr streams are shown, in `.cell-output-stderr`, unless `warning: false`.
- `html-math-method`: `mathml` needs no network; anything else (the default is
  MathJax) leaves TeX between `\\(` `\\)` for a script loaded from a CDN.
- `include-before-body` (HTML) goes at the top of every page; `include-in-header`
  (Typst) goes before the book template, whose show rule sets its own running
  page header, as Quarto's book template does.
- `project.resources` are copied; the PDF is `<output-dir>/<book.output-file>.pdf`.
"""

from __future__ import annotations

import base64
import html
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import yaml

HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*(\{[^}]*\})?\s*$")
REFERENCE = re.compile(r"(?<![\w@\[])@((?:fig|tbl|sec)-[\w-]*\w)")
SOURCE_LINK = re.compile(r"\[([^\]]*)\]\(([^)#\s]+\.(?:ipynb|qmd|md))(#[\w-]+)?\)")
CDN_MATHJAX = "https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-chtml-full.js"


class QuartoError(Exception):
    pass


def pandoc(markdown: str, *args: str, cwd: Path) -> str:
    import pypandoc

    result = subprocess.run([pypandoc.get_pandoc_path(), "--from=markdown", "--wrap=none", *args], input=markdown, capture_output=True,
                            text=True, cwd=cwd, check=False)
    if result.returncode != 0:
        raise QuartoError(f"pandoc: {result.stderr}")
    return result.stdout


def options_of(source: str) -> tuple[dict, str]:
    lines = source.splitlines()
    head = []
    for line in lines:
        if not line.startswith("#|"):
            break
        head.append(re.sub(r"^#\|\s?", "", line))
    return yaml.safe_load("\n".join(head)) or {}, "\n".join(lines[len(head):])


def first_heading(notebook) -> tuple[str, str]:
    """(text, attributes) of the notebook's first level-1 heading."""
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                match = HEADING.match(line)
                if match and len(match.group(1)) == 1:
                    return match.group(2), match.group(3) or ""
    return "", ""


class Book:
    def __init__(self, project: Path):
        config_file = project / "_quarto.yml"
        if not config_file.exists():
            raise QuartoError(f"No _quarto.yml in {project}")
        self.project = project
        self.config = yaml.safe_load(config_file.read_text()) or {}
        if (self.config.get("project") or {}).get("type") != "book":
            raise QuartoError("this stand-in renders book projects only")
        if (self.config.get("execute") or {}).get("enabled") is True:
            raise QuartoError("execute: enabled: true -- this stand-in never executes")
        self.book = self.config.get("book") or {}
        self.execute = self.config.get("execute") or {}
        self.output = project / ((self.config.get("project") or {}).get("output-dir") or "_book")
        hrefs = [c if isinstance(c, str) else c["href"] for c in self.book.get("chapters", [])]
        missing = [h for h in hrefs if not (project / h).exists()]
        if missing:
            raise QuartoError("Book contents file(s) do not exist: " + ", ".join(missing))
        homes = [h for h in hrefs if Path(os.path.normpath(h)).as_posix().startswith("index.")]
        if not homes:
            raise QuartoError("Book contents must include a home page (e.g. index.md)")
        self.hrefs = [homes[0]] + [h for h in hrefs if h != homes[0]]
        self.notebooks = {h: nbformat.read(project / h, as_version=4) for h in self.hrefs}
        self.labels: dict[str, tuple[str, str, str]] = {}  # label -> (kind text, number, page)
        self.numbers: dict[str, int | None] = {}
        self.titles: dict[str, str] = {}
        self.anchors: dict[str, str] = {}
        number = 0
        for href in self.hrefs:
            title, attrs = first_heading(self.notebooks[href])
            self.numbers[href] = None if ".unnumbered" in attrs else (number := number + 1)
            self.titles[href] = title
            key = re.search(r"#(sec-[\w-]+)", attrs)
            self.anchors[href] = key.group(1) if key else ""

    def page(self, href: str) -> str:
        return Path(os.path.normpath(href)).with_suffix(".html").as_posix()

    def relative(self, href_from: str, page_to: str) -> str:
        return Path(os.path.relpath(self.output / page_to, (self.output / self.page(href_from)).parent)).as_posix()

    # --- notebooks to markdown, with numbers -------------------------------------------------

    def chapter_markdown(self, href: str) -> tuple[str, str, list[tuple[str, bytes]]]:
        """(title, body markdown, images) of a chapter; records its labels."""
        chapter = self.numbers[href]
        page, stem = self.page(href), Path(href).stem
        counts = {"fig": 0, "tbl": 0}
        sections = [0, 0]
        blocks, images, title = [], [], ""

        def number(kind: str) -> str:
            counts[kind] += 1
            return f"{chapter}.{counts[kind]}" if chapter else str(counts[kind])

        def label(key: str, text: str, value: str) -> None:
            if key in self.labels:
                raise QuartoError(f"duplicate label {key}")
            self.labels[key] = (text, value, page)

        for cell in self.notebooks[href].cells:
            if cell.cell_type == "markdown":
                lines = []
                for line in cell.source.splitlines():
                    match = HEADING.match(line)
                    if not match:
                        lines.append(line)
                        continue
                    hashes, text, attrs = match.group(1), match.group(2), match.group(3) or ""
                    key = re.search(r"#(sec-[\w-]+)", attrs)
                    if len(hashes) == 1 and not title:
                        title = text
                        if key:
                            label(key.group(1), "Chapter", str(chapter or ""))
                        if href == self.hrefs[0]:  # the home page keeps its heading in the body
                            shown = f"[{chapter}]{{.header-section-number}} {text}" if chapter else text
                            lines.append(f"# {shown} {attrs}".rstrip())
                        continue
                    if chapter and len(hashes) in (2, 3) and ".unnumbered" not in attrs:
                        sections = [sections[0] + 1, 0] if len(hashes) == 2 else [sections[0], sections[1] + 1]
                        value = f"{chapter}.{sections[0]}" + (f".{sections[1]}" if len(hashes) == 3 else "")
                        text = f"[{value}]{{.header-section-number}} {text}"
                    else:
                        value = ""
                    if key:
                        label(key.group(1), "Section", value)
                    lines.append(f"{hashes} {text} {attrs}".rstrip())
                blocks.append("\n".join(lines))
                continue
            if cell.cell_type != "code":
                continue
            options, code = options_of(cell.source)
            if options.get("include", self.execute.get("include", True)) is False:
                continue
            if options.get("echo", self.execute.get("echo", True)) and code.strip():
                blocks.append(f"```python\n{code}\n```")
            if options.get("output", self.execute.get("output", True)) is False:
                continue
            warning = options.get("warning", self.execute.get("warning", True))
            key = str(options.get("label") or "")
            for output in cell.get("outputs", []):
                kind = output.get("output_type")
                if kind == "stream":
                    if output.get("name") == "stderr" and warning is False:
                        continue
                    blocks.append(f"::: {{.cell-output .cell-output-{output['name']}}}\n```\n{output['text'].rstrip()}\n```\n:::")
                    continue
                if kind == "error":
                    blocks.append(f"::: {{.cell-output .cell-output-error}}\n```\n{output['ename']}: {output['evalue']}\n```\n:::")
                    continue
                data = output.get("data", {})
                if "image/png" in data:
                    name = f"{stem}_files/figure-html/{key or 'cell'}-output-{len(images) + 1}.png"
                    images.append((name, base64.b64decode(data["image/png"])))
                    alt = options.get("fig-alt") or options.get("fig-cap") or ""
                    if key.startswith("fig-"):
                        value = number("fig")
                        label(key, "Figure", value)
                        blocks.append(f'![Figure {value}: {options.get("fig-cap", "")}]({name}){{#{key} alt="{alt}"}}')
                        key = ""
                    else:
                        blocks.append(f'![]({name}){{alt="{alt}"}}')
                elif "text/markdown" in data:
                    text = data["text/markdown"]
                    if key.startswith("tbl-"):
                        value = number("tbl")
                        label(key, "Table", value)
                        text = f"::: {{#{key}}}\n\n{text}\n\n: Table {value}: {options.get('tbl-cap', '')}\n\n:::"
                        key = ""
                    blocks.append(text)
                elif "text/plain" in data:
                    blocks.append(f"```\n{data['text/plain']}\n```")
        return title, "\n\n".join(blocks), images

    def resolve(self, href: str, markdown: str, for_pdf: bool) -> str:
        def reference(match: re.Match) -> str:
            key = match.group(1)
            if key not in self.labels:
                print(f"WARNING: unable to resolve crossref @{key}", file=sys.stderr)
                return f"?@{key}"
            text, value, page = self.labels[key]
            if not value:
                raise QuartoError(f"@{key} refers to an unnumbered heading (this stand-in refuses it)")
            if for_pdf:
                return f"{text} {value}"
            target = "" if page == self.page(href) else self.relative(href, page)
            return f"[{text} {value}]({target}#{key})"

        def source_link(match: re.Match) -> str:
            text, path, fragment = match.group(1), match.group(2), match.group(3) or ""
            target = Path(os.path.normpath(Path(href).parent / path)).as_posix()
            if target not in self.hrefs:
                return match.group(0)  # not a project input: left as written
            if for_pdf:
                return f"[{text}]({fragment})" if fragment else text
            return f"[{text}]({self.relative(href, self.page(target))}{fragment})"

        markdown = REFERENCE.sub(reference, markdown)
        return SOURCE_LINK.sub(source_link, markdown)

    # --- output -------------------------------------------------------------------------------

    def render(self) -> None:
        if self.output.exists():
            shutil.rmtree(self.output)
        self.output.mkdir(parents=True)
        chapters = {h: self.chapter_markdown(h) for h in self.hrefs}  # every label first
        fmt = self.config.get("format") or {}
        html_format, typst_format = fmt.get("html") or {}, fmt.get("typst") or {}
        math = html_format.get("html-math-method", "mathjax")
        before = self.include(html_format, "include-before-body")
        bibliography = self.config.get("bibliography")
        cite = ["--citeproc", f"--bibliography={bibliography}", "--metadata=link-citations:true"] if bibliography else []
        for href, (title, body, images) in chapters.items():
            page = self.output / self.page(href)
            page.parent.mkdir(parents=True, exist_ok=True)
            for name, data in images:
                (page.parent / name).parent.mkdir(parents=True, exist_ok=True)
                (page.parent / name).write_bytes(data)
            html_body = pandoc(self.resolve(href, body, for_pdf=False), "--to=html5",
                               "--mathml" if math == "mathml" else "--mathjax", *cite, cwd=self.project)
            page.write_text(self.page_html(href, title, html_body, before, math))
        libs = self.output / "site_libs"
        libs.mkdir()
        (libs / "quarto.css").write_text("body { font-family: sans-serif; }\n")
        for pattern in (self.config.get("project") or {}).get("resources") or []:
            for path in self.project.glob(pattern):
                target = self.output / path.relative_to(self.project)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target)
        self.render_pdf(chapters, typst_format, cite)

    def include(self, options: dict, key: str) -> str:
        """The text of a file that a format includes (`key`); a missing file is an error."""
        if not options.get(key):
            return ""
        path = self.project / options[key]
        if not path.exists():
            raise QuartoError(f"{key}: {path} not found")
        return path.read_text()

    def nav_text(self, href: str) -> str:
        number, title = self.numbers[href], self.titles[href]
        return f"{number}\u00a0 {title}" if number and href != self.hrefs[0] else title

    def page_html(self, href: str, title: str, body: str, before: str, math: str) -> str:
        number = self.numbers[href]
        book_title = self.book.get("title", "")
        css = self.relative(href, "site_libs/quarto.css")
        nav = "\n".join(f'<li><a href="{self.relative(href, self.page(h))}">{html.escape(self.nav_text(h))}</a></li>'
                        for h in self.hrefs)
        if href == self.hrefs[0]:
            header = f'<h1 class="title">{html.escape(book_title)}</h1>'
            if self.book.get("subtitle"):
                header += f'\n<p class="subtitle lead">{html.escape(self.book["subtitle"])}</p>'
            pagetitle = book_title
        else:
            anchor = self.anchors[href]
            ident = f' id="{anchor}"' if anchor else ""
            inner = (f'<span class="chapter-number">{number}</span>\u00a0 <span class="chapter-title">{html.escape(title)}</span>'
                     if number else f'<span class="chapter-title">{html.escape(title)}</span>')
            header = f'<h1 class="title"><span class="quarto-section-identifier"{ident}>{inner}</span></h1>'
            pagetitle = f"{number}\u00a0 {title}" if number else title
        script = f'<script src="{CDN_MATHJAX}" type="text/javascript"></script>' if math != "mathml" else ""
        return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(pagetitle)} – '
                f'{html.escape(book_title)}</title><link href="{css}" rel="stylesheet">{script}</head>\n<body>\n{before}'
                f'<nav id="quarto-sidebar"><ul>\n{nav}\n</ul></nav>\n<main class="content" id="quarto-document-content">\n'
                f'<header id="title-block-header">{header}</header>\n{body}\n</main>\n</body></html>\n')

    def render_pdf(self, chapters: dict, typst_format: dict, cite: list[str]) -> None:
        import typst

        work = self.project / ".quarto" / "standin"
        work.mkdir(parents=True, exist_ok=True)
        parts = []
        for href, (title, body, images) in chapters.items():
            for name, data in images:
                (work / name).parent.mkdir(parents=True, exist_ok=True)
                (work / name).write_bytes(data)
            body = re.sub(r"\]\(([^)]*_files/figure-html/[^)]*)\)", lambda m: f"](/.quarto/standin/{m.group(1)})", body)
            number = self.numbers[href]
            heading = title if href == self.hrefs[0] else (f"{number}\u00a0 {title}" if number else title)
            parts.append(f"# {heading} {{.unnumbered}}\n\n" + (body if href != self.hrefs[0] else
                                                                re.sub(r"^# .*$", "", body, count=1, flags=re.M)))
        markdown = "\n\n".join(self.resolve(h, p, for_pdf=True) for h, p in zip(chapters, parts, strict=True))
        body = pandoc(markdown, "--to=typst", *cite, cwd=self.project)
        header = self.include(typst_format, "include-in-header")
        title = self.book.get("title", "")
        template = f"""{header}
#let book(title: none, body) = {{
  set page(paper: "a4", margin: 2.5cm, numbering: "1",
           header: context align(right, text(size: 9pt)[#title]))  // the template's own running header
  align(center + horizon, text(size: 20pt, weight: "bold", title))
  pagebreak()
  body
}}
#show: book.with(title: {json.dumps(title)})
"""
        source = work / "book.typ"
        source.write_text(template + body)
        pdf = self.output / f"{self.book.get('output-file') or 'book'}.pdf"
        typst.compile(str(source), output=str(pdf), root=str(self.project))


def main(argv: list[str]) -> int:
    if not argv or argv[0] != "render":
        print(f"this stand-in runs `quarto render` only, not {argv}", file=sys.stderr)
        return 2
    rest = argv[1:]
    unknown = [a for a in rest if a.startswith("-") and a != "--no-execute"]
    if unknown:
        print(f"this stand-in does not take {unknown} (and never executes)", file=sys.stderr)
        return 2
    targets = [a for a in rest if not a.startswith("-")]
    project = Path(targets[0]) if targets else Path.cwd()
    try:
        book = Book(project.resolve())
        book.render()
    except QuartoError as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 1
    print(f"Output created: {book.output / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

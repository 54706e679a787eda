"""``ketamine-nif check-book``: checks of a rendered book, whichever renderer
made it (Quarto or the offline one). Each problem names the page and the rule:

pages     ``index.html`` at the book's root and every chapter's page beside it
          (``<chapter>.html``), no page in a subfolder
links     every internal link and anchor resolves (pages, figures, downloads,
          ``#ids``); no unresolved cross-reference (``?@fig-...``)
offline   no page loads a script, stylesheet or image from the network
math      no raw TeX outside rendered math (``\\(``, ``\\[``, ``$$``, ``\\beta``)
stderr    no stderr or warning blocks (``UserWarning: ...``, sampler log lines)
paths     no absolute path of the build machine in pages, search index,
          downloadable notebooks or the PDF
alt-text  every image has alt text
banner    with synthetic data, the banner on every HTML page and every PDF
          page; with real data, on none
pdf       the PDF exists and holds every chapter's title
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import yaml

from .convert import RenderError

BANNER_WORDS = "SYNTHETIC DATA"
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
_HIDDEN = {"script", "style", "template"}  # no text a reader sees
_NOT_PROSE = {"math", "pre", "code", "svg"}  # text that may hold TeX-like or code characters
_TEX = re.compile(r"\\[()\[\]]|\$\$|\\[A-Za-z]+")
_STDERR = re.compile(
    r"\b[A-Z]\w*Warning: |Traceback \(most recent call last\)|warnings\.warn\("
    r"|^\s*(?:Sampling: \[|NUTS: \[|Initializing NUTS|Auto-assigning NUTS|Multiprocess sampling|Sequential sampling)", re.M)
_UNRESOLVED_REFERENCE = re.compile(r"\?@(?:fig|tbl|sec|eq)-[\w-]+")
# a Python value shown as its repr: a cell whose last line returns something (a path, a DataFrame, an object)
_REPR = re.compile(r"(?:Pure)?(?:Posix|Windows)Path\('|<[\w.]+(?: object)? at 0x[0-9a-f]+>|\d+ rows [x×] \d+ columns")
_SYSTEM_ROOTS = {"home", "Users", "root", "tmp", "var", "private", "opt", "usr", "srv", "mnt", "media", "work", "scratch",
                 "data", "nfs", "gpfs", "lustre", "Volumes", "nix", "etc", "builds", "github", "runner"}
_CHAPTER_NUMBER = re.compile(r"^\s*(?:\d+|[A-Z])[\s\u00a0\u2002]+(?=\S)")


@dataclass(frozen=True)
class Problem:
    where: str  # the page or file, relative to the book
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: [{self.rule}] {self.message}"


@dataclass
class Page:
    """What the checks need from one HTML page."""

    ids: set[str] = field(default_factory=set)
    links: list[tuple[str, str]] = field(default_factory=list)  # (what, url): a tag, or "load" for what the page loads
    images: list[tuple[str, str | None]] = field(default_factory=list)  # (src, alt)
    stderr_blocks: int = 0
    banners: list[str] = field(default_factory=list)
    headings: list[str] = field(default_factory=list)  # text of each h1
    chapter_titles: list[str] = field(default_factory=list)  # Quarto's span.chapter-title
    text: str = ""  # everything a reader can see, code included
    prose: str = ""  # the same without math, code and preformatted text
    hidden: str = ""  # text in hidden elements (class or attribute hidden): not seen, but in the file


class _PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = Page()
        self.stack: list[tuple[str, list[str], bool]] = []  # (tag, what to capture into, hidden)
        self.text: list[str] = []
        self.prose: list[str] = []
        self.hidden: list[str] = []
        self.captures: dict[int, list[str]] = {}

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        classes = (attributes.get("class") or "").split()
        for name in ("id", "name") if tag == "a" else ("id",):
            if attributes.get(name):
                self.page.ids.add(attributes[name])
        loads = tag in ("script", "img", "iframe", "source", "audio", "video") or (
            tag == "link" and (attributes.get("rel") or "") in ("stylesheet", "icon", "preload", "modulepreload"))
        for name in ("href", "src"):
            if attributes.get(name) is not None:
                self.page.links.append((f"load <{tag}>" if loads else tag, attributes[name]))
        if tag == "img":
            self.page.images.append((attributes.get("src") or "", attributes.get("alt")))
        hidden = "hidden" in classes or "hidden" in attributes or any(h for _, _, h in self.stack)
        if "cell-output-stderr" in classes and not hidden:
            self.page.stderr_blocks += 1
        if tag in _VOID:
            return
        captures = []
        if "synthetic-banner" in classes:
            captures.append("banner")
        if tag == "h1":
            captures.append("h1")
        if "chapter-title" in classes:
            captures.append("chapter-title")
        self.stack.append((tag, captures, hidden))
        if captures:
            self.captures[id(self.stack[-1])] = []

    def handle_startendtag(self, tag, attrs):
        if tag in _VOID:
            self.handle_starttag(tag, attrs)
        else:  # <mspace/> and the like: open and close at once
            self.handle_starttag(tag, attrs)
            self.handle_endtag(tag)

    def handle_endtag(self, tag):
        tags = [t for t, _, _ in self.stack]
        if tag not in tags:
            return
        while self.stack:
            entry = self.stack.pop()
            texts = self.captures.pop(id(entry), None)
            if texts is not None:
                value = re.sub(r"\s+", " ", "".join(texts)).strip()
                for kind in entry[1]:
                    {"banner": self.page.banners, "h1": self.page.headings, "chapter-title": self.page.chapter_titles}[kind].append(value)
            if entry[0] == tag:
                break

    def handle_data(self, data):
        tags = [t for t, _, _ in self.stack]
        if _HIDDEN & set(tags):
            return
        if self.stack and self.stack[-1][2]:
            self.hidden.append(data)
            return
        self.text.append(data)
        if not _NOT_PROSE & set(tags):
            self.prose.append(data)
        for entry in self.stack:
            if id(entry) in self.captures:
                self.captures[id(entry)].append(data)


def parse_page(path: Path) -> Page:
    parser = _PageParser()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    parser.close()
    parser.page.text = "".join(parser.text)
    parser.page.prose = "".join(parser.prose)
    parser.page.hidden = "".join(parser.hidden)
    return parser.page


def absolute_paths(text: str, roots: set[str]) -> list[str]:
    """Absolute paths of a machine in ``text`` (POSIX paths under a system
    folder or the build's own top folders, Windows drive paths, file:// URLs)."""
    top = "|".join(sorted(re.escape(r) for r in roots))
    pattern = re.compile(
        rf"(?<![\w.~:/\\+=%-])(?:/(?:{top})(?:/[\w.@+-]+)+|\b[A-Za-z]:\\[\w. -]+\\[\w.\\ -]*|file:///[^\s\"'<>)]+)"
    )
    return sorted(set(pattern.findall(text)))


def notebook_text(path: Path) -> str:
    """The text a notebook holds (metadata, sources and text outputs; not images)."""
    try:
        notebook = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        return path.read_text(encoding="utf-8", errors="replace")
    parts = [json.dumps(notebook.get("metadata", {}))]
    for cell in notebook.get("cells", []):
        parts.append(json.dumps(cell.get("metadata", {})))
        parts.append("".join(cell.get("source", "")))
        for output in cell.get("outputs", []):
            parts.append("".join(output.get("text", "")))
            parts.append(str(output.get("evalue", "")))
            parts.extend(output.get("traceback", []))
            for mime, value in (output.get("data") or {}).items():
                if mime.startswith("text/"):
                    parts.append("".join(value) if isinstance(value, list) else str(value))
    return "\n".join(parts)


def _normal(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\u00ad", "").replace("-\n", "")).strip().casefold()


def page_title(page: Page) -> str | None:
    """A page's chapter title: Quarto's span.chapter-title, else its first
    level-1 heading without the chapter number."""
    if page.chapter_titles:
        return page.chapter_titles[0]
    if page.headings:
        return _CHAPTER_NUMBER.sub("", page.headings[0]).strip() or None
    return None


def synthetic_from_build(book: Path) -> bool:
    """Whether the book's data are synthetic, from ``_build/report-data.json`` beside it."""
    record = Path(book).resolve().parent / "_build" / "report-data.json"
    if not record.exists():
        raise RenderError(f"cannot tell whether the data of {book} are synthetic ({record} not found): "
                          "pass --synthetic or --real")
    return bool(json.loads(record.read_text(encoding="utf-8")).get("synthetic"))


def _book_config(book: Path) -> dict:
    config = book.resolve().parent / "_quarto.yml"
    return (yaml.safe_load(config.read_text(encoding="utf-8")) or {}) if config.exists() else {}


class _Checker:
    def __init__(self, book: Path, synthetic: bool):
        self.book = book
        self.synthetic = synthetic
        self.problems: list[Problem] = []
        self.pages: dict[str, Page] = {}
        resolved = book.resolve()
        self.roots = _SYSTEM_ROOTS | {p for p in (resolved.parts[1:2] + Path.home().parts[1:2]) if p}
        self.machine = [str(resolved.parent)] if len(resolved.parents) > 2 else []

    def add(self, where: str, rule: str, message: str) -> None:
        self.problems.append(Problem(where, rule, message))

    def name(self, path: Path) -> str:
        return path.relative_to(self.book).as_posix()

    def paths_in(self, where: str, text: str) -> None:
        found = absolute_paths(text, self.roots) + [m for m in self.machine if m in text]
        for path in sorted(set(found))[:5]:
            self.add(where, "paths", f"absolute path of the build machine: {path}")

    def run(self) -> str:
        if not self.book.is_dir():
            self.add(str(self.book), "pages", "no rendered book here (render it first: ketamine-nif render)")
            return "no book"
        html_files = sorted(p for p in self.book.rglob("*.html") if "site_libs" not in p.relative_to(self.book).parts)
        self.pages = {self.name(p): parse_page(p) for p in html_files}
        self.check_layout()
        links = sum(self.check_page(name, page) for name, page in self.pages.items())
        self.check_other_files()
        pdf_pages = self.check_pdf()
        return f"{len(self.pages)} pages, {links} internal links, PDF of {pdf_pages} pages"

    def check_layout(self) -> None:
        if "index.html" not in self.pages:
            self.add("index.html", "pages", "the book has no home page at its root (index.html)")
        for name in self.pages:
            if "/" in name:
                self.add(name, "pages", "a page in a subfolder: every page of the book sits at its root (<chapter>.html); "
                                         "Quarto places a page by its chapter's path in the project")
        chapters = (_book_config(self.book).get("book") or {}).get("chapters") or []
        for chapter in chapters:
            href = chapter if isinstance(chapter, str) else chapter.get("href", "")
            expected = "index.html" if Path(href).name.startswith("index.") else f"{Path(href).stem}.html"
            if expected not in self.pages:
                self.add(expected, "pages", f"no page for the chapter {href} (expected {expected} at the book's root)")

    def check_page(self, name: str, page: Page) -> int:
        checked = 0
        for tag, url in page.links:
            parts = urlsplit(url)
            if parts.scheme or url.startswith("//"):
                if parts.scheme in ("http", "https") and tag.startswith("load "):
                    self.add(name, "offline", f"{tag[5:]} loads {url} from the network; the book must work offline")
                elif parts.scheme == "file":
                    self.add(name, "paths", f"link to a file of the build machine: {url}")
                continue
            if not parts.path and not parts.fragment:
                continue
            checked += 1
            if parts.path.startswith("/"):
                self.add(name, "paths", f"absolute link {url!r}: the book's links are relative")
                continue
            target = (self.book / name).parent / unquote(parts.path) if parts.path else self.book / name
            target = target.resolve()
            if target.is_dir():
                target = target / "index.html"
            try:
                target_name = target.relative_to(self.book.resolve()).as_posix()
            except ValueError:
                self.add(name, "links", f"link {url!r} leads out of the book")
                continue
            if not target.is_file():
                self.add(name, "links", f"link {url!r}: {target_name} is not in the book")
            elif parts.fragment:
                anchors = self.pages.get(target_name)
                if anchors is None:
                    self.add(name, "links", f"link {url!r}: an anchor in {target_name}, which is not an HTML page")
                elif unquote(parts.fragment) not in anchors.ids:
                    self.add(name, "links", f"link {url!r}: no element with id {parts.fragment!r} in {target_name}")
        for reference in sorted(set(_UNRESOLVED_REFERENCE.findall(page.text))):
            self.add(name, "links", f"unresolved cross-reference {reference}")
        tex = sorted(set(_TEX.findall(page.prose)))
        if tex:
            self.add(name, "math", f"raw TeX outside rendered math: {' '.join(tex[:6])} (a math method that needs a network, or none)")
        if page.stderr_blocks:
            self.add(name, "stderr", f"{page.stderr_blocks} stderr block(s) (class cell-output-stderr) shown")
        for line in sorted({m.group(0).strip() for m in _STDERR.finditer(page.text)})[:5]:
            self.add(name, "stderr", f"warning or stderr text shown: {line!r}")
        for shown in sorted({m.group(0) for m in _REPR.finditer(page.text)})[:5]:
            self.add(name, "repr", f"a Python value's repr shown: {shown!r} (end the cell's last line with an assignment)")
        self.paths_in(name, "\n".join([page.text, page.hidden, *(url for _, url in page.links)]))
        for src, alt in page.images:
            if not (alt or "").strip():
                self.add(name, "alt-text", f"image {src} has no alt text")
        has_banner = any(BANNER_WORDS in b for b in page.banners)
        if self.synthetic and not has_banner:
            self.add(name, "banner", "no synthetic-data banner on this page (the data are synthetic)")
        if not self.synthetic and (page.banners or BANNER_WORDS in page.text):
            self.add(name, "banner", "a synthetic-data banner on a book of real data")
        return checked

    def check_other_files(self) -> None:
        """Search indexes and downloadable notebooks hold no machine path either."""
        for path in sorted(self.book.rglob("*")):
            if not path.is_file() or "site_libs" in path.relative_to(self.book).parts:
                continue
            if path.suffix == ".ipynb":
                self.paths_in(self.name(path), notebook_text(path))
            elif path.suffix in (".json", ".js") and "search" in path.name:
                self.paths_in(self.name(path), path.read_text(encoding="utf-8", errors="replace"))

    def pdf_path(self) -> Path | None:
        output_file = (_book_config(self.book).get("book") or {}).get("output-file")
        if output_file:
            return self.book / f"{output_file}.pdf"
        found = sorted(self.book.glob("*.pdf"))
        return found[0] if len(found) == 1 else None

    def check_pdf(self) -> int:
        pdf = self.pdf_path()
        if pdf is None or not pdf.exists():
            self.add(pdf.name if pdf else "*.pdf", "pdf", "the book's PDF is missing")
            return 0
        from pypdf import PdfReader

        texts = [page.extract_text() or "" for page in PdfReader(pdf).pages]
        where = pdf.name
        for number, text in enumerate(texts, start=1):
            has_banner = BANNER_WORDS in text
            if self.synthetic and not has_banner:
                self.add(f"{where} page {number}", "banner", "no synthetic-data banner on this PDF page")
            elif not self.synthetic and has_banner:
                self.add(f"{where} page {number}", "banner", "a synthetic-data banner in a book of real data")
        everything = "\n".join(texts)
        for line in sorted({m.group(0).strip() for m in _STDERR.finditer(everything)})[:5]:
            self.add(where, "stderr", f"warning or stderr text in the PDF: {line!r}")
        tex = sorted(set(re.findall(r"\\[()\[\]]|\$\$|\\[A-Za-z]{2,}", everything)))
        if tex:
            self.add(where, "math", f"raw TeX in the PDF: {' '.join(tex[:6])}")
        for reference in sorted(set(_UNRESOLVED_REFERENCE.findall(everything))):
            self.add(where, "links", f"unresolved cross-reference {reference} in the PDF")
        self.paths_in(where, everything)
        normal = _normal(everything)
        for name, page in self.pages.items():
            title = page_title(page)
            if title and _normal(title) not in normal:
                self.add(where, "pdf", f"the PDF lacks the title of {name}: {title!r}")
        return len(texts)


def check_book(book: Path, synthetic: bool) -> tuple[list[Problem], str]:
    """Every problem of the rendered book in ``book``, and a one-line summary of what was checked."""
    checker = _Checker(Path(book), synthetic)
    summary = checker.run()
    return checker.problems, summary

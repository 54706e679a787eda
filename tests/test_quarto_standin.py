"""The Quarto path, with a stand-in for `quarto` (tests/standin_quarto.py) that
follows Quarto's documented book contract strictly: home page only a
root-level index.*, pages placed by their chapter's path, MathJax from a CDN
unless told otherwise, stderr shown unless `warning: false`, a running header
set by the book template. The layout of issue 16's report fails here as it did
under Quarto; the project's layout renders, passes check-book, and agrees with
the offline renderer on URLs, chapter numbers and cross-reference texts."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader
from test_render import BANNER, CHAPTERS, make_book, render

from ketamine_nif.render.check import check_book, parse_page
from ketamine_nif.render.project import stage_book

STANDIN = Path(__file__).with_name("standin_quarto.py")


@pytest.fixture
def quarto(tmp_path, monkeypatch) -> Path:
    """`quarto` on PATH is the stand-in."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "quarto"
    script.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{STANDIN}" "$@"\n')
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return script


def quarto_render(project: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["quarto", "render", "--no-execute"], cwd=project, capture_output=True, text=True, timeout=300)


def staged(root: Path) -> Path:
    """The fixture's book project, staged as `ketamine-nif render` stages it; returns its folder."""
    return stage_book(root / "_quarto.yml", root / "_build" / "notebooks", root / "_build" / "book", BANNER).parent


def rules(book: Path) -> dict[str, list[str]]:
    found, _ = check_book(book, synthetic=True)
    out: dict[str, list[str]] = {}
    for problem in found:
        out.setdefault(problem.rule, []).append(str(problem))
    return out


def test_the_reported_layout_is_refused(tmp_path, quarto):
    """Issue 16: chapters listed as executed notebooks in _build/notebooks/."""
    make_book(tmp_path, chapters=[f"_build/notebooks/{c}" for c in CHAPTERS])
    result = quarto_render(tmp_path)
    assert result.returncode == 1
    assert "Book contents must include a home page (e.g. index.md)" in result.stderr


def test_an_index_at_the_root_beside_chapters_in_a_folder_breaks_the_links(tmp_path, quarto):
    """The report's workaround (the index copied to the root): it renders, but the
    chapters' pages land under _book/_build/notebooks/ and the home page's link to
    a chapter (`02-second.ipynb`) leads nowhere; check-book says so."""
    make_book(tmp_path, chapters=["index.ipynb", *(f"_build/notebooks/{c}" for c in CHAPTERS[1:])])
    shutil.copyfile(tmp_path / "_build" / "notebooks" / "index.ipynb", tmp_path / "index.ipynb")
    for name in ("banner.html", "banner.typ"):
        (tmp_path / name).write_text("")
    (tmp_path / "notebooks").mkdir()
    result = quarto_render(tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "_book" / "_build" / "notebooks" / "01-first.html").exists()
    found = rules(tmp_path / "_book")
    assert "_build/notebooks/01-first.html: [pages] a page in a subfolder" in " ".join(found["pages"])
    assert "01-first.html: [pages] no page for the chapter _build/notebooks/01-first.ipynb" in " ".join(found["pages"])
    assert "index.html: [links] link '02-second.ipynb': 02-second.ipynb is not in the book" in found["links"]


def test_quartos_defaults_show_tex_warnings_and_lose_the_pdf_banner(tmp_path, quarto):
    """Without `html-math-method: mathml` and `warning: false`, and with the
    banner set as the page header: the failures the report saw, each caught."""
    make_book(tmp_path)
    project = staged(tmp_path)
    config = (project / "_quarto.yml").read_text()
    config = config.replace("    html-math-method: mathml\n", "").replace("  warning: false\n", "")
    (project / "_quarto.yml").write_text(config)
    (project / "banner.typ").write_text(f'#set page(header: align(center, text(size: 8pt, "{BANNER}")))\n')
    assert quarto_render(project).returncode == 0
    found = rules(project / "_book")
    assert any(p.startswith("01-first.html: [math] raw TeX outside rendered math: \\(") for p in found["math"])
    assert any("[offline] <script> loads https://cdn.jsdelivr.net/" in p for p in found["offline"])
    assert "01-first.html: [stderr] 1 stderr block(s) (class cell-output-stderr) shown" in found["stderr"]
    pdf_pages = [p for p in found["banner"] if p.startswith("fixture-book.pdf page ")]
    # every HTML page has it; every page of the PDF lost it to the template's running header
    assert found["banner"] == pdf_pages and len(pdf_pages) == len(PdfReader(project / "_book" / "fixture-book.pdf").pages) > 1


def test_the_book_renders_with_quarto_and_passes_check_book(tmp_path, quarto):
    make_book(tmp_path)
    pdf = render(tmp_path, engine="quarto")
    assert pdf == tmp_path / "_book" / "fixture-book.pdf" and pdf.exists()
    found, _ = check_book(tmp_path / "_book", synthetic=True)
    assert [str(p) for p in found] == []
    # the staged notebooks carry the reproduce block; stderr stays out of the page
    page = (tmp_path / "_book" / "01-first.html").read_text()
    assert "Reproduce this chapter" in page and "stderr_sentinel" not in page
    assert (tmp_path / "_book" / "notebooks" / "01-first.ipynb").exists()


def numbering(book: Path, title: str) -> dict[str, dict]:
    """Per page: its chapter heading (number and title), its captions, and its
    cross-references (text and the page they lead to)."""
    out = {}
    for path in sorted(book.glob("*.html")):
        text = path.read_text()
        page = parse_page(path)
        heading = next(h for h in page.headings if h != title)
        references = sorted({(label, target or path.name) for target, label in re.findall(
            r'<a\s+href="([^"#]*)(?:#[^"]*)?"[^>]*>((?:Figure|Table|Chapter|Section) [\dA-Z.]+)</a>', text)})
        captions = sorted(set(re.findall(r"(?:Figure|Table) [\d.]+: [^<]*", text)))
        out[path.name] = {"heading": re.sub(r"[\s\u00a0\u2002]+", " ", heading), "captions": captions, "references": references}
    return out


def test_both_renderers_agree_on_urls_numbers_and_references(tmp_path, quarto):
    offline, with_quarto = tmp_path / "offline", tmp_path / "quarto"
    for root, engine in ((offline, "offline"), (with_quarto, "quarto")):
        make_book(root)
        render(root, engine=engine)
    ours, theirs = numbering(offline / "_book", "Fixture Book"), numbering(with_quarto / "_book", "Fixture Book")
    assert set(ours) == set(theirs) == {"index.html", "01-first.html", "02-second.html", "appendix.html"}
    assert ours == theirs
    assert ours["index.html"]["heading"] == "About this book" and ours["appendix.html"]["heading"] == "How it was made"
    assert ours["02-second.html"]["heading"] == "2 Second chapter"
    assert ("Chapter 1", "01-first.html") in ours["index.html"]["references"]
    assert ("Figure 1.1", "01-first.html") in ours["02-second.html"]["references"]
    assert "Table 1: Versions." in ours["appendix.html"]["captions"]

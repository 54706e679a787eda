"""`ketamine-nif check-book` on the fixture book (tests/test_render.py): it
passes on the offline renderer's book and fails, naming the page and the rule,
on copies that break each of its rules."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from test_render import BANNER, make_book, render

from conftest import cli
from ketamine_nif.render.check import absolute_paths, check_book


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Path:
    """The fixture book rendered offline, on synthetic data (the banner on)."""
    root = tmp_path_factory.mktemp("checked")
    make_book(root)
    render(root)
    return root


@pytest.fixture
def book(rendered, tmp_path) -> Path:
    """A copy of the rendered project that a test may break; returns its _book/."""
    copy = tmp_path / "project"
    shutil.copytree(rendered, copy)
    return copy / "_book"


def problems(book: Path, synthetic: bool = True) -> list[str]:
    found, _ = check_book(book, synthetic=synthetic)
    return [str(p) for p in found]


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1))


def test_the_offline_book_passes(rendered):
    found, summary = check_book(rendered / "_book", synthetic=True)
    assert found == []
    assert re.fullmatch(r"4 pages, \d+ internal links, PDF of \d+ pages", summary)


def _remove_page(book):
    (book / "02-second.html").unlink()


def _page_in_a_folder(book):
    (book / "_build").mkdir()
    shutil.move(book / "01-first.html", book / "_build" / "01-first.html")


PROSE = "<p>Computed prose"
RAW_TEX = ("01-first.html", "Inline math", r"Inline math \(\beta_1\) and")


def _image_without_alt(book):
    page = book / "01-first.html"
    page.write_text(re.sub(r'(<img src="figures/01-first-1.png")[^>]*>', r"\1>", page.read_text(), count=1))


def _page_without_banner(book):
    page = book / "02-second.html"
    page.write_text(re.sub(r'<div class="synthetic-banner".*?</div>', "", page.read_text(), count=1, flags=re.S))


def _missing_pdf(book):
    (book / "fixture-book.pdf").unlink()


def _title_not_in_pdf(book):
    edit(book / "02-second.html", "2\u2002Second chapter</h1>", "2\u2002A title the PDF never had</h1>")


# what breaks a rule: a function of the book, or (file, text, what replaces it)
BREAKS = {
    "a chapter without its page": (_remove_page, "02-second.html: [pages] no page for the chapter 02-second.ipynb"),
    "a page in a subfolder": (_page_in_a_folder, "_build/01-first.html: [pages] a page in a subfolder"),
    "a broken anchor": (("02-second.html", 'href="01-first.html#fig-line"', 'href="01-first.html#fig-nowhere"'), "02-second.html: [links] link '01-first.html#fig-nowhere': no element with id 'fig-nowhere'"),
    "a link to a notebook instead of its page": (("index.html", 'href="02-second.html">the second chapter', 'href="02-second.ipynb">the second chapter'), "index.html: [links] link '02-second.ipynb': 02-second.ipynb is not in the book"),
    "an unresolved cross-reference": (("02-second.html", "Back to", "Back to ?@fig-gone and"), "02-second.html: [links] unresolved cross-reference ?@fig-gone"),
    "math loaded from a CDN": (("01-first.html", "</head>", '<script src="https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-chtml.js"></script></head>'), "01-first.html: [offline] <script> loads https://cdn.jsdelivr.net/"),
    "raw TeX": (RAW_TEX, "01-first.html: [math] raw TeX outside rendered math: \\( \\) \\beta"),
    "a stderr block": (("01-first.html", PROSE, '<div class="cell-output cell-output-stderr"><pre><code>Sampling: [alpha]</code></pre></div>' + PROSE), "01-first.html: [stderr] 1 stderr block(s)"),
    "a warning": (("01-first.html", PROSE, "<pre><code>model.py:3: UserWarning: the sampler says so</code></pre>" + PROSE), "01-first.html: [stderr] warning or stderr text shown: 'UserWarning:'"),
    "a path's repr": (("01-first.html", PROSE, "<pre><code>PosixPath('_build/outputs/01-first/estimates.csv')</code></pre>" + PROSE), "01-first.html: [repr] a Python value's repr shown: \"PosixPath('\""),
    "a data frame's repr": (("01-first.html", PROSE, "<pre><code>   run  seed\n0    1     1\n\n[300 rows x 22 columns]</code></pre>" + PROSE), "01-first.html: [repr] a Python value's repr shown: '300 rows x 22 columns'"),
    "an object's repr": (("01-first.html", PROSE, "<pre><code>&lt;ketamine_nif.inference.Fit at 0x7f3a2c1b9d90&gt;</code></pre>" + PROSE), "01-first.html: [repr] a Python value's repr shown: '<ketamine_nif.inference.Fit at 0x7f3a2c1b9d90>'"),
    "a figure call's repr": (("01-first.html", PROSE, "<pre><code>[&lt;matplotlib.lines.Line2D at 0x7f0e1a2b3c4d&gt;]</code></pre>" + PROSE), "01-first.html: [repr] a Python value's repr shown: '<matplotlib.lines.Line2D at 0x7f0e1a2b3c4d>'"),
    "a data frame shown as HTML": (("01-first.html", PROSE, "<div><table><tr><td>a</td></tr></table><p>300 rows × 1 columns</p></div>" + PROSE), "01-first.html: [repr] a Python value's repr shown: '300 rows × 1 columns'"),
    "a path in a page": (("01-first.html", PROSE, "<pre><code>saved to /home/alice/run/x.csv</code></pre>" + PROSE), "01-first.html: [paths] absolute path of the build machine: /home/alice/run/x.csv"),
    "a path in a download's metadata": (("notebooks/02-second.ipynb", '"metadata": {', '"metadata": {\n  "papermill": {"input_path": "/home/alice/repo/_build/sources/02-second.ipynb"},', ),
                                        "notebooks/02-second.ipynb: [paths] absolute path of the build machine: /home/alice/repo/_build/sources/02-second.ipynb"),
    "a path in a download": (("notebooks/02-second.ipynb", '"source": [', '"source": [\n    "# data in /Users/alice/trial\\n",'), "notebooks/02-second.ipynb: [paths] absolute path of the build machine: /Users/alice/trial"),
    "an image without alt text": (_image_without_alt, "01-first.html: [alt-text] image figures/01-first-1.png has no alt text"),
    "a page without the banner": (_page_without_banner, "02-second.html: [banner] no synthetic-data banner on this page"),
    "no PDF": (_missing_pdf, "fixture-book.pdf: [pdf] the book's PDF is missing"),
    "a title missing from the PDF": (_title_not_in_pdf, "fixture-book.pdf: [pdf] the PDF lacks the title of 02-second.html: 'A title the PDF never had'"),
}


@pytest.mark.parametrize("name", BREAKS)
def test_each_rule_names_the_page_and_the_rule(book, name):
    change, expected = BREAKS[name]
    if callable(change):
        change(book)
    else:
        edit(book / change[0], *change[1:])
    found = problems(book)
    assert any(p.startswith(expected) for p in found), found
    # nothing but the broken rule (a missing or moved page or PDF also breaks the links to it)
    rules = {re.search(r"\[([\w-]+)\]", p).group(1) for p in found}
    allowed = {re.search(r"\[([\w-]+)\]", expected).group(1)} | ({"links"} if "[pages]" in expected or "[pdf] the book" in expected else set())
    assert rules <= allowed, found


def test_the_banner_must_be_on_every_pdf_page_and_absent_for_real_data(tmp_path):
    make_book(tmp_path)
    render(tmp_path, banner=None)
    found = problems(tmp_path / "_book", synthetic=True)
    pdf_pages = [p for p in found if p.startswith("fixture-book.pdf page ") and "[banner] no synthetic-data banner" in p]
    assert len(pdf_pages) >= 4 and "fixture-book.pdf page 1: [banner]" in pdf_pages[0]
    assert sum("[banner] no synthetic-data banner on this page" in p for p in found) == 4  # and every HTML page
    assert problems(tmp_path / "_book", synthetic=False) == []
    render(tmp_path, banner=BANNER)
    assert any("[banner] a synthetic-data banner on a book of real data" in p for p in problems(tmp_path / "_book", synthetic=False))


def test_a_path_printed_by_a_cell_is_found_in_the_page_and_the_pdf(tmp_path):
    import nbformat
    from test_render import code, stdout

    make_book(tmp_path)
    path = tmp_path / "_build" / "notebooks" / "02-second.ipynb"
    notebook = nbformat.read(path, 4)
    notebook.cells.append(code("print(where)", stdout("results in /home/alice/trial/results.csv\n")))
    nbformat.write(notebook, path)
    render(tmp_path)
    found = problems(tmp_path / "_book")
    for where in ("02-second.html", "fixture-book.pdf", "notebooks/02-second.ipynb"):
        assert f"{where}: [paths] absolute path of the build machine: /home/alice/trial/results.csv" in found


def test_hidden_output_is_no_stderr_shown_but_its_paths_count(book):
    edit(book / "01-first.html", PROSE, '<div class="cell-output cell-output-stderr hidden"><pre><code>'
         "/home/alice/x.py:1: UserWarning: not shown</code></pre></div>" + PROSE)
    assert problems(book) == ["01-first.html: [paths] absolute path of the build machine: /home/alice/x.py"]


def test_the_renderer_invents_no_alt_text(tmp_path):
    import nbformat
    from test_render import code, image_output

    make_book(tmp_path)
    path = tmp_path / "_build" / "notebooks" / "02-second.ipynb"
    notebook = nbformat.read(path, 4)
    notebook.cells.append(code("plot_without_options()", image_output()))
    nbformat.write(notebook, path)
    render(tmp_path)
    assert problems(tmp_path / "_book") == ["02-second.html: [alt-text] image figures/02-second-2.png has no alt text"]


def test_absolute_paths_are_told_from_urls_and_relative_paths():
    roots = {"home", "work", "tmp"}
    text = ("see https://doi.org/10.1016/j.bbi.2025.04.006 and _build/outputs/02-x/estimates.csv, ketamine/saline, "
            ".venv/bin/ketamine-nif, ~/x/y, <python>/lib/x.py; but /work/me/repo/x.py, (/tmp/ipykernel_1/2.py) and file:///home/x")
    assert absolute_paths(text, roots) == ["/tmp/ipykernel_1/2.py", "/work/me/repo/x.py", "file:///home/x"]


def test_command_line(rendered, tmp_path):
    book = rendered / "_book"
    passed = cli(rendered, "check-book", str(book), "--synthetic")
    assert passed.returncode == 0, passed.stderr
    assert f"check-book: {book} passes every check (4 pages" in passed.stdout
    broken = tmp_path / "_book"
    shutil.copytree(book, broken)
    edit(broken / RAW_TEX[0], *RAW_TEX[1:])
    failed = cli(rendered, "check-book", str(broken), "--synthetic")
    assert failed.returncode == 1
    assert "01-first.html: [math] raw TeX outside rendered math: \\( \\) \\beta" in failed.stderr and "error: check-book: 1 problem(s)" in failed.stderr
    unknown = cli(rendered, "check-book", str(broken))  # no _build/report-data.json beside it
    assert unknown.returncode == 1 and "pass --synthetic or --real" in unknown.stderr and "Traceback" not in unknown.stderr

"""The offline renderer on a fixture book that uses every construct of the
documented Quarto subset (docs/quarto-subset.md), staged as the book project
Quarto renders (render.project): home page index.html, chapters <name>.html."""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import nbformat  # noqa: E402
import pytest  # noqa: E402
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output  # noqa: E402
from pypdf import PdfReader  # noqa: E402

from ketamine_nif.render import RenderError, banner_text, build_book  # noqa: E402

BIB = """@article{rengasamy2025, author = {Rengasamy, Manivel and Price, Rebecca B.}, title = {Lack of relationships},
  journal = {Brain, Behavior, and Immunity}, year = {2025}}
@article{price2022, author = {Price, Rebecca B.}, title = {A brief intervention}, journal = {American Journal of Psychiatry}, year = {2022}}
"""
BANNER = banner_text({"synthetic": True, "scenario": "paper-null", "seed": 1})


def png() -> str:
    fig, ax = plt.subplots(figsize=(2, 1.5))
    ax.plot([0, 1], [1, 0])
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode()


def code(source: str, *outputs) -> nbformat.NotebookNode:
    cell = new_code_cell(source)
    cell.outputs = list(outputs)
    return cell


def image_output():
    return new_output("display_data", data={"image/png": png(), "text/plain": "<Figure>"})


def markdown_output(text: str):
    return new_output("display_data", data={"text/markdown": text, "text/plain": "<Markdown>"})


def stdout(text: str):
    return new_output("stream", name="stdout", text=text)


def stderr(text: str):
    return new_output("stream", name="stderr", text=text)


def write_notebook(path: Path, cells) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(new_notebook(cells=cells), path)


CONFIG = """project:
  type: book
  output-dir: _book
  resources:
    - notebooks/*.ipynb
book:
  title: Fixture Book
  author: Tester
  output-file: fixture-book
  chapters:
{chapters}
bibliography: references.bib
execute:
  enabled: false
  echo: false
  warning: false
format:
  html:
    html-math-method: mathml
    include-before-body: banner.html
  typst:
    include-in-header: banner.typ
"""
CHAPTERS = ["index.ipynb", "01-first.ipynb", "02-second.ipynb", "appendix.ipynb"]


def make_book(root: Path, chapter_two_extra: str = "", second_label: str = "tbl-second", chapters=CHAPTERS) -> Path:
    """Executed notebooks in _build/notebooks/ and _quarto.yml listing them by name."""
    build = root / "_build" / "notebooks"
    write_notebook(build / "index.ipynb", [
        new_markdown_cell("# About this book {.unnumbered}\n\nThe home page cites the trial [@rengasamy2025] and links to @sec-first"
                          " and [the second chapter](02-second.ipynb)."),
    ])
    write_notebook(build / "01-first.ipynb", [
        new_markdown_cell(
            "# First chapter {#sec-first}\n\nAs @price2022 reported, see @fig-line and @tbl-counts, and @sec-method."
            " Two sources [@rengasamy2025; @price2022]. Inline math $\\beta_1 + x^2$ and display math:\n\n"
            "$$\ny_{it} = \\alpha_i + \\beta t + \\varepsilon_{it}\n$$"
        ),
        code("parameters_sentinel = 1", ),
        new_markdown_cell("## Method {#sec-method}\n\n### A detail\n\n::: {.callout-note}\nA plain note.\n:::\n\n"
                          '::: {.callout-warning title="Mind the gap"}\nA titled warning.\n:::'),
        code('#| label: fig-line\n#| fig-cap: "A falling line."\n#| fig-alt: "Alt text of the falling line."\nhidden_code_sentinel()', image_output()),
        code('#| label: tbl-counts\n#| tbl-cap: "Counts by arm."\nshow()', markdown_output("| arm | n |\n|---|---|\n| ketamine | 89 |\n| saline | 44 |")),
        code("#| echo: true\nshown_code_sentinel = 2", stdout("stdout_sentinel printed\n")),
        code("#| output: false\nprint('x')", stdout("hidden_output_sentinel\n")),
        code("#| include: false\nincluded_sentinel = 3", stdout("excluded_sentinel\n")),
        code("say()", markdown_output("Computed prose: **42** participants.")),
        code("plain", new_output("execute_result", data={"text/plain": "plain_result_sentinel"}, execution_count=1)),
        code("fit()", stderr(f"{root}/.venv/lib/site-packages/pymc/x.py:1: UserWarning: stderr_sentinel\n"),
             stdout("fit done\n")),
        code("with_progress_bar()", *(new_output("display_data", data={"text/html": f"<pre>{text}</pre>", "text/plain": text}) for text in (
            f"{root}/.venv/lib/site-packages/rich/live.py:260: UserWarning: install ipywidgets_sentinel\n", ""))),
    ])
    write_notebook(build / "02-second.ipynb", [
        new_markdown_cell(f"# Second chapter {{#sec-second}}\n\nBack to @fig-line in @sec-first; here @tbl-second. {chapter_two_extra}"),
        code(f'#| label: {second_label}\n#| tbl-cap: "A second table."\nshow()', markdown_output("| a | b |\n|---|---|\n| 1 | 2 |")),
        code('#| label: fig-second\n#| fig-cap: "Second figure."\nplot()', image_output()),
    ])
    write_notebook(build / "appendix.ipynb", [
        new_markdown_cell("# How it was made {#sec-made .unnumbered}\n\n## Versions {#sec-versions}\n\nSee [the versions](#sec-versions)."),
        code('#| label: tbl-versions\n#| tbl-cap: "Versions."\nshow()', markdown_output("| package | version |\n|---|---|\n| x | 1 |")),
    ])
    (root / "references.bib").write_text(BIB)
    (root / "_quarto.yml").write_text(CONFIG.format(chapters="\n".join(f"    - {c}" for c in chapters)))
    return root / "_quarto.yml"


def render(root: Path, banner: str | None = BANNER, engine: str = "offline", run_log: dict | None = None) -> Path:
    """Stage the fixture's book project and render it into root/_book; returns the PDF."""
    return build_book(root / "_quarto.yml", root / "_build" / "notebooks", root / "_build", root / "_book", banner, engine,
                      run_log=run_log)


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    root = tmp_path_factory.mktemp("book")
    make_book(root)
    pdf = render(root)
    pages = {p.name: p.read_text() for p in (root / "_book").glob("*.html")}
    return root, root / "_book" / "index.html", pdf, pages


def test_pages_and_navigation(book):
    root, index, pdf, pages = book
    assert index.exists() and pdf == root / "_book" / "fixture-book.pdf"
    assert set(pages) == {"index.html", "01-first.html", "02-second.html", "appendix.html"}
    for html in pages.values():
        for title in (">About this book<", "1\u2002First chapter", "2\u2002Second chapter", ">How it was made<"):
            assert title in html  # sidebar lists every chapter; the home page and the appendix are unnumbered
        assert BANNER.split(" \u2014")[0] in html and 'class="synthetic-banner"' in html
        assert 'href="fixture-book.pdf"' in html
    first = pages["01-first.html"]
    assert 'rel="prev" href="index.html"' in first and 'rel="next" href="02-second.html"' in first
    assert 'rel="prev"' not in pages["index.html"] and 'rel="next"' not in pages["appendix.html"]
    # the home page opens with the book's title block, then its own heading
    assert pages["index.html"].index('class="book-title">Fixture Book<') < pages["index.html"].index("<h1")


def test_figures_tables_and_cross_references(book):
    root, _, _, pages = book
    first, second = pages["01-first.html"], pages["02-second.html"]
    assert re.search(r'<figure id="fig-line">\s*<img src="figures/01-first-1.png" alt="Alt text of the falling line."', first)
    assert "Figure 1.1: A falling line." in first
    assert (root / "_book" / "figures" / "01-first-1.png").exists()
    assert '<a href="#fig-line">Figure 1.1</a>' in first
    assert '<a href="#tbl-counts">Table 1.1</a>' in first
    assert "Table 1.1: Counts by arm." in first and "<table>" in first
    assert '<a href="#sec-method">Section 1.1</a>' in first and 'id="sec-method"' in first
    assert "1.1.1\u2002A detail" in first
    assert '<a href="01-first.html#fig-line">Figure 1.1</a>' in second
    assert '<a href="01-first.html">Chapter 1</a>' in second
    assert "Table 2.1: A second table." in second and "Figure 2.1: Second figure." in second
    assert '<a href="01-first.html">Chapter 1</a>' in pages["index.html"]
    assert '<a href="02-second.html">the second chapter</a>' in pages["index.html"]
    # an unnumbered chapter: no number on its sections, tables numbered without a chapter prefix
    appendix = pages["appendix.html"]
    assert ">Versions<" in appendix and "Table 1: Versions." in appendix and 'href="#sec-versions"' in appendix


def test_citations_callouts_math_and_outputs(book):
    _, _, _, pages = book
    first = pages["01-first.html"]
    words = re.sub(r"<[^>]+>", "", first)
    assert "As Price (2022) reported" in words and "(Rengasamy and Price 2025; Price 2022)" in words
    assert 'href="#ref-price2022"' in first
    assert 'id="ref-rengasamy2025"' in first and "References" in first
    assert 'class="callout-note callout"' in first and "<strong>Note</strong>" in first
    assert 'class="callout-warning callout"' in first and "<strong>Mind the gap</strong>" in first
    assert "<math" in first and "<mi>β</mi>" in first
    assert "shown_code_sentinel" in first  # echo: true
    assert "stdout_sentinel printed" in first and "plain_result_sentinel" in first and "fit done" in first
    assert "Computed prose: <strong>42</strong> participants." in first
    for absent in ("hidden_code_sentinel", "parameters_sentinel", "hidden_output_sentinel", "excluded_sentinel", "included_sentinel",
                   "stderr_sentinel", "UserWarning", "ipywidgets_sentinel", "<pre></pre>"):
        assert absent not in first


def test_no_raw_quarto_syntax_is_left(book):
    _, _, _, pages = book
    for html in pages.values():
        assert "#|" not in html
        assert not re.search(r"[?]?@(fig|tbl|sec)-", html)
        assert "???" not in html


def test_pdf_holds_every_chapter(book):
    _, _, pdf, _ = book
    assert pdf.name == "fixture-book.pdf"
    reader = PdfReader(pdf)
    text = "\n".join(page.extract_text() for page in reader.pages)
    for expected in ("Fixture Book", "About this book", "First chapter", "Second chapter", "Figure 1.1: A falling line.",
                     "Table 2.1: A second table.", "Mind the gap", "Rengasamy and Price 2025", "References"):
        assert expected in text
    assert "@fig-" not in text and "#|" not in text and "stderr_sentinel" not in text
    assert all("SYNTHETIC DATA" in page.extract_text() for page in reader.pages)
    assert 4 <= len(reader.pages) <= 20


def test_no_banner_for_real_data(tmp_path):
    make_book(tmp_path)
    render(tmp_path, banner=None)
    html = (tmp_path / "_book" / "01-first.html").read_text()
    assert "synthetic-banner" not in html
    text = "".join(p.extract_text() for p in PdfReader(tmp_path / "_book" / "fixture-book.pdf").pages)
    assert "SYNTHETIC" not in text


def test_unresolved_reference_fails_with_its_name(tmp_path):
    make_book(tmp_path, chapter_two_extra="See @fig-missing.")
    with pytest.raises(RenderError, match="@fig-missing"):
        render(tmp_path)


def test_reference_to_an_unnumbered_heading_fails(tmp_path):
    make_book(tmp_path, chapter_two_extra="See @sec-versions.")
    with pytest.raises(RenderError, match="@sec-versions refers to an unnumbered heading"):
        render(tmp_path)


def test_duplicate_label_across_chapters_fails(tmp_path):
    make_book(tmp_path, second_label="tbl-counts")
    text = (tmp_path / "_build/notebooks/02-second.ipynb").read_text().replace("@tbl-second", "the table")
    (tmp_path / "_build/notebooks/02-second.ipynb").write_text(text)
    with pytest.raises(RenderError, match="tbl-counts.*unique"):
        render(tmp_path)


def test_missing_notebook_says_run_first(tmp_path):
    make_book(tmp_path)
    (tmp_path / "_build/notebooks/02-second.ipynb").unlink()
    with pytest.raises(RenderError, match="run the notebooks first"):
        render(tmp_path)


def test_a_book_without_a_root_level_index_is_refused(tmp_path):
    """As Quarto refuses it: the home page is the chapter named index.*, and the
    chapters sit side by side in the book project."""
    make_book(tmp_path, chapters=[f"_build/notebooks/{c}" for c in CHAPTERS])
    with pytest.raises(RenderError, match="chapters are listed by file name"):
        render(tmp_path)
    make_book(tmp_path, chapters=CHAPTERS[1:])
    with pytest.raises(RenderError, match="must include a home page"):
        render(tmp_path)


def test_chapter_links_downloads_rerun_commands_and_search_index(tmp_path):
    """Links to a chapter's notebook lead to its page (or its heading in the PDF);
    each chapter links its executed notebook, copied into the book, and shows the
    command that reruns it with the parameters of its recorded run."""
    import json

    make_book(tmp_path, chapter_two_extra="See [the first chapter](01-first.ipynb) and [its method](01-first.ipynb#sec-method).")
    record = {"seconds": 12.3, "started": "2026-01-02T03:04:05+00:00",
              "parameters": {"data_dir": "data/x", "output_dir": "_build/outputs/01-first", "markers": ["IL-6"], "sampler": "numpyro"}}
    render(tmp_path, banner=None, run_log={"01-first": record})
    book = tmp_path / "_book"
    second, first = (book / "02-second.html").read_text(), (book / "01-first.html").read_text()
    assert '<a href="01-first.html">the first chapter</a>' in second and '<a href="01-first.html#sec-method">its method</a>' in second
    assert ".ipynb)" not in second
    command = """.venv/bin/ketamine-nif run 01-first --data data/x -p 'markers=["IL-6"]' -p sampler=numpyro"""
    assert command in re.sub(r"<[^>]+>", "", first).replace("&quot;", '"').replace("&#39;", "'")
    assert 'href="notebooks/01-first.ipynb"' in first and "in 12.3 s" in first
    assert "not recorded" in second and 'href="notebooks/02-second.ipynb"' in second
    assert {p.name for p in (book / "notebooks").iterdir()} == set(CHAPTERS)
    # the downloads are the executed notebooks: warnings kept, the machine's paths made relative
    download = (book / "notebooks" / "01-first.ipynb").read_text()
    assert "stderr_sentinel" in download and ".venv/lib/site-packages/pymc/x.py" in download and str(tmp_path) not in download
    assert "ipywidgets_sentinel" in download
    assert "Reproduce this chapter" not in download
    assert 'id="search"' in first and (book / "assets" / "search.js").exists()
    index = json.loads((book / "search-index.js").read_text().split("=", 1)[1].strip().rstrip(";"))
    assert [p["href"] for p in index] == ["index.html", "01-first.html", "02-second.html", "appendix.html"]
    assert "Counts by arm" in index[1]["text"] and "<" not in index[1]["text"]
    pdf = "\n".join(page.extract_text() for page in PdfReader(book / "fixture-book.pdf").pages)
    assert "ketamine-nif run 01-first" in pdf and "Reproduce this chapter" in pdf


def test_link_to_a_notebook_that_is_no_chapter_fails(tmp_path):
    make_book(tmp_path, chapter_two_extra="See [elsewhere](99-nowhere.ipynb).")
    with pytest.raises(RenderError, match="99-nowhere.ipynb"):
        render(tmp_path)


def test_labelled_cell_without_its_figure_shows_its_message_and_defines_no_label(tmp_path):
    """A chapter whose study outputs are missing says so in the figure's cell instead."""
    make_book(tmp_path)
    path = tmp_path / "_build/notebooks/02-second.ipynb"
    notebook = nbformat.read(path, 4)
    notebook.cells.append(code('#| label: fig-absent\n#| fig-cap: "Never drawn."\nsay()', markdown_output("*No curves: the sweep has not run.*")))
    nbformat.write(notebook, path)
    render(tmp_path)
    page = (tmp_path / "_book" / "02-second.html").read_text()
    assert "<em>No curves: the sweep has not run.</em>" in page and "Never drawn" not in page and 'id="fig-absent"' not in page
    notebook.cells.append(new_markdown_cell("See @fig-absent."))
    nbformat.write(notebook, path)
    with pytest.raises(RenderError, match="@fig-absent"):
        render(tmp_path)

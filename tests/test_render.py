"""The offline renderer on a fixture book that uses every construct of the
documented Quarto subset (docs/quarto-subset.md)."""

from __future__ import annotations

import base64
import io
import os
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import nbformat  # noqa: E402
import pytest  # noqa: E402
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output  # noqa: E402
from pypdf import PdfReader  # noqa: E402

from ketamine_nif.render import RenderError, banner_text, render_book  # noqa: E402

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


def write_notebook(path: Path, cells) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(new_notebook(cells=cells), path)


def make_book(root: Path, chapter_two_extra: str = "", second_label: str = "tbl-second") -> Path:
    build = root / "_build" / "notebooks"
    write_notebook(build / "index.ipynb", [
        new_markdown_cell("# A fixture book\n\nThe home page cites the trial [@rengasamy2025] and links to @sec-first."),
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
    ])
    write_notebook(build / "02-second.ipynb", [
        new_markdown_cell(f"# Second chapter {{#sec-second}}\n\nBack to @fig-line in @sec-first; here @tbl-second. {chapter_two_extra}"),
        code(f'#| label: {second_label}\n#| tbl-cap: "A second table."\nshow()', markdown_output("| a | b |\n|---|---|\n| 1 | 2 |")),
        code('#| label: fig-second\n#| fig-cap: "Second figure."\nplot()', image_output()),
    ])
    (root / "references.bib").write_text(BIB)
    (root / "_quarto.yml").write_text(
        "project:\n  type: book\n  output-dir: _book\nbook:\n  title: Fixture Book\n  author: Tester\n"
        "  output-file: fixture-book\n  chapters:\n    - _build/notebooks/index.ipynb\n"
        "    - _build/notebooks/01-first.ipynb\n    - _build/notebooks/02-second.ipynb\n"
        "bibliography: references.bib\nexecute:\n  echo: false\n"
    )
    return root / "_quarto.yml"


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    root = tmp_path_factory.mktemp("book")
    index, pdf = render_book(make_book(root), BANNER, root / "_build" / "render")
    pages = {p.name: p.read_text() for p in (root / "_book").glob("*.html")}
    return root, index, pdf, pages


def test_pages_and_navigation(book):
    root, index, pdf, pages = book
    assert index == root / "_book" / "index.html"
    assert set(pages) == {"index.html", "01-first.html", "02-second.html"}
    for html in pages.values():
        for title in ("A fixture book", "1\u2002First chapter", "2\u2002Second chapter"):
            assert title in html  # sidebar lists every chapter
        assert BANNER.split(" \u2014")[0] in html and 'class="synthetic-banner"' in html
        assert 'href="fixture-book.pdf"' in html
    first = pages["01-first.html"]
    assert 'rel="prev" href="index.html"' in first and 'rel="next" href="02-second.html"' in first
    assert 'rel="prev"' not in pages["index.html"] and 'rel="next"' not in pages["02-second.html"]


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
    assert "stdout_sentinel printed" in first and "plain_result_sentinel" in first
    assert "Computed prose: <strong>42</strong> participants." in first
    for absent in ("hidden_code_sentinel", "parameters_sentinel", "hidden_output_sentinel", "excluded_sentinel", "included_sentinel"):
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
    for expected in ("Fixture Book", "A fixture book", "First chapter", "Second chapter", "Figure 1.1: A falling line.",
                     "Table 2.1: A second table.", "Mind the gap", "Rengasamy and Price 2025", "References"):
        assert expected in text
    assert "@fig-" not in text and "#|" not in text
    assert all("SYNTHETIC DATA" in page.extract_text() for page in reader.pages)
    assert 4 <= len(reader.pages) <= 20


def test_no_banner_for_real_data(tmp_path):
    render_book(make_book(tmp_path), None, tmp_path / "_build" / "render")
    html = (tmp_path / "_book" / "01-first.html").read_text()
    assert "synthetic-banner" not in html
    text = "".join(p.extract_text() for p in PdfReader(tmp_path / "_book" / "fixture-book.pdf").pages)
    assert "SYNTHETIC" not in text


def test_unresolved_reference_fails_with_its_name(tmp_path):
    config = make_book(tmp_path, chapter_two_extra="See @fig-missing.")
    with pytest.raises(RenderError, match="@fig-missing"):
        render_book(config, None, tmp_path / "work")


def test_duplicate_label_across_chapters_fails(tmp_path):
    config = make_book(tmp_path, second_label="tbl-counts")
    text = (tmp_path / "_build/notebooks/02-second.ipynb").read_text().replace("@tbl-second", "the table")
    (tmp_path / "_build/notebooks/02-second.ipynb").write_text(text)
    with pytest.raises(RenderError, match="tbl-counts.*unique"):
        render_book(config, None, tmp_path / "work")


def test_missing_notebook_says_run_first(tmp_path):
    config = make_book(tmp_path)
    (tmp_path / "_build/notebooks/02-second.ipynb").unlink()
    with pytest.raises(RenderError, match="run the notebooks first"):
        render_book(config, None, tmp_path / "work")


def test_quarto_route_gets_banner_files_and_a_home_page(tmp_path, monkeypatch):
    """With `quarto` on PATH, render calls it without execution (here a stand-in
    that records its arguments) and makes sure _book/index.html exists."""
    from ketamine_nif.render.quarto import render_with_quarto, write_includes

    write_includes(BANNER, tmp_path / "_build")
    assert "SYNTHETIC DATA" in (tmp_path / "_build" / "banner.html").read_text()
    assert (tmp_path / "_build" / "banner.typ").read_text().startswith("#set page(header:")
    write_includes(None, tmp_path / "_build")
    assert (tmp_path / "_build" / "banner.html").read_text() == ""

    config = make_book(tmp_path)
    fake = tmp_path / "bin" / "quarto"
    fake.parent.mkdir()
    fake.write_text('#!/bin/sh\necho "$@" > quarto-args.txt\nmkdir -p _book/_build/notebooks\n'
                    'echo home > _book/_build/notebooks/index.html\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}:{os.environ['PATH']}")
    index = render_with_quarto(config)
    assert (tmp_path / "quarto-args.txt").read_text().split() == ["render", "--no-execute"]
    assert index == tmp_path / "_book" / "index.html"
    assert 'url=_build/notebooks/index.html' in index.read_text()
    assert {p.name for p in (tmp_path / "_book" / "notebooks").iterdir()} == {"index.ipynb", "01-first.ipynb", "02-second.ipynb"}


def test_chapter_links_downloads_rerun_commands_and_search_index(tmp_path):
    """Links to a chapter's notebook lead to its page (or its heading in the PDF);
    each chapter links its executed notebook, copied into the book, and shows the
    command that reruns it with the parameters of its recorded run."""
    import json

    config = make_book(tmp_path, chapter_two_extra="See [the first chapter](01-first.ipynb) and [its method](01-first.ipynb#sec-method).")
    record = {"seconds": 12.3, "started": "2026-01-02T03:04:05+00:00",
              "parameters": {"data_dir": "data/x", "output_dir": "_build/outputs/01-first", "markers": ["IL-6"], "sampler": "numpyro"}}
    (tmp_path / "_build" / "run-log.json").write_text(json.dumps({"01-first": record}))
    render_book(config, None, tmp_path / "work")
    book = tmp_path / "_book"
    second, first = (book / "02-second.html").read_text(), (book / "01-first.html").read_text()
    assert '<a href="01-first.html">the first chapter</a>' in second and '<a href="01-first.html#sec-method">its method</a>' in second
    assert ".ipynb)" not in second
    command = """.venv/bin/ketamine-nif run 01-first --data data/x -p 'markers=["IL-6"]' -p sampler=numpyro"""
    assert command in re.sub(r"<[^>]+>", "", first).replace("&quot;", '"').replace("&#39;", "'")
    assert 'href="notebooks/01-first.ipynb"' in first and "in 12.3 s" in first
    assert "not recorded" in second and 'href="notebooks/02-second.ipynb"' in second
    assert {p.name for p in (book / "notebooks").iterdir()} == {"index.ipynb", "01-first.ipynb", "02-second.ipynb"}
    assert 'id="search"' in first and (book / "assets" / "search.js").exists()
    index = json.loads((book / "search-index.js").read_text().split("=", 1)[1].strip().rstrip(";"))
    assert [p["href"] for p in index] == ["index.html", "01-first.html", "02-second.html"]
    assert "Counts by arm" in index[1]["text"] and "<" not in index[1]["text"]
    pdf = "\n".join(page.extract_text() for page in PdfReader(book / "fixture-book.pdf").pages)
    assert "ketamine-nif run 01-first" in pdf and "Reproduce this chapter" in pdf


def test_link_to_a_notebook_that_is_no_chapter_fails(tmp_path):
    config = make_book(tmp_path, chapter_two_extra="See [elsewhere](99-nowhere.ipynb).")
    with pytest.raises(RenderError, match="99-nowhere.ipynb"):
        render_book(config, None, tmp_path / "work")


def test_labelled_cell_without_its_figure_shows_its_message_and_defines_no_label(tmp_path):
    """A chapter whose study outputs are missing says so in the figure's cell instead."""
    config = make_book(tmp_path)
    path = tmp_path / "_build/notebooks/02-second.ipynb"
    notebook = nbformat.read(path, 4)
    notebook.cells.append(code('#| label: fig-absent\n#| fig-cap: "Never drawn."\nsay()', markdown_output("*No curves: the sweep has not run.*")))
    nbformat.write(notebook, path)
    render_book(config, None, tmp_path / "work")
    page = (tmp_path / "_book" / "02-second.html").read_text()
    assert "<em>No curves: the sweep has not run.</em>" in page and "Never drawn" not in page and 'id="fig-absent"' not in page
    notebook.cells.append(new_markdown_cell("See @fig-absent."))
    nbformat.write(notebook, path)
    with pytest.raises(RenderError, match="@fig-absent"):
        render_book(config, None, tmp_path / "work")

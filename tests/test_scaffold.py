"""CONTRIBUTING.md's "add a chapter" recipe, checked: ``ketamine-nif new-chapter``
writes a notebook in the book's shape, its parameters and its place in the book,
and the new chapter runs as it is."""

from __future__ import annotations

import json

import jupytext
import pytest
import yaml

from conftest import cli, make_project
from ketamine_nif.scaffold import ScaffoldError, new_chapter


def test_a_new_chapter_is_written_in_the_books_shape_and_runs(tmp_path):
    root = make_project(tmp_path / "project")
    made = cli(root, "new-chapter", "11-sleep-and-nifs", "Sleep and blood factors")
    assert made.returncode == 0, made.stderr
    assert "notebooks/11-sleep-and-nifs.py" in made.stdout and "CONTRIBUTING.md" in made.stdout
    chapters = yaml.safe_load((root / "_quarto.yml").read_text())["book"]["chapters"]
    assert chapters[-2:] == ["11-sleep-and-nifs.ipynb", "appendix.ipynb"]
    assert "# The book." in (root / "_quarto.yml").read_text()  # its comments are kept
    notebook = jupytext.read(root / "notebooks" / "11-sleep-and-nifs.py")
    assert notebook.cells[0].source.startswith("# Sleep and blood factors {#sec-sleep-and-nifs}")
    assert sum("parameters" in c.metadata.get("tags", []) for c in notebook.cells) == 1
    ran = cli(root, "run", "11-sleep-and-nifs")
    assert ran.returncode == 0, ran.stderr
    executed = json.loads((root / "_build" / "notebooks" / "11-sleep-and-nifs.ipynb").read_text())
    outputs = [o for c in executed["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])]
    assert any("The analysis uses 7 markers of 20 participants." in "".join(o.get("data", {}).get("text/markdown", ""))
               for o in outputs)


def test_a_chapter_is_not_written_over_nor_named_outside_the_convention(tmp_path):
    notebooks, params = tmp_path / "notebooks", tmp_path / "params"
    notebooks.mkdir(), params.mkdir()
    book = tmp_path / "_quarto.yml"
    book.write_text("book:\n  chapters:\n    - index.ipynb\n    - appendix.ipynb\n")
    with pytest.raises(ScaffoldError, match="two digits, a dash and kebab-case"):
        new_chapter("11_sleep", "Sleep", notebooks, params, book)
    new_chapter("11-sleep", "Sleep", notebooks, params, book)
    with pytest.raises(ScaffoldError, match="11-sleep.py exists already"):
        new_chapter("11-sleep", "Sleep", notebooks, params, book)
    (notebooks / "11-sleep.py").unlink()
    with pytest.raises(ScaffoldError, match="11-sleep.yaml exists already"):
        new_chapter("11-sleep", "Sleep", notebooks, params, book)
    (params / "11-sleep.yaml").unlink()
    with pytest.raises(ScaffoldError, match="lists 11-sleep.ipynb already"):
        new_chapter("11-sleep", "Sleep", notebooks, params, book)
    book.write_text("book:\n  chapters:\n    - index.ipynb\n")
    with pytest.raises(ScaffoldError, match="no '- appendix.ipynb' chapter"):
        new_chapter("12-more", "More", notebooks, params, book)

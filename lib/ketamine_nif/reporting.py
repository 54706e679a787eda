"""Turning computed values into the report's prose and tables: numbers in text
are formatted here from data, never typed in a notebook."""

from __future__ import annotations

import pandas as pd


def markdown_table(frame: pd.DataFrame, digits: int = 2) -> str:
    """A pipe table (Pandoc and Quarto read it; so do readers of the .ipynb)."""

    def cell(value) -> str:
        if isinstance(value, float):
            text = "–" if pd.isna(value) else f"{value:.{digits}f}"
        else:
            text = str(value)
        return text.replace("|", "\\|").replace("\n", " ")

    header = "| " + " | ".join(cell(c) for c in frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *body])


def show_table(frame: pd.DataFrame, digits: int = 2):
    """Display a table as Markdown output (label and caption come from cell options)."""
    from IPython.display import Markdown, display

    display(Markdown(markdown_table(frame, digits)))


def say(text: str):
    """Display computed prose as Markdown output."""
    from IPython.display import Markdown, display

    display(Markdown(text))


def join_words(items) -> str:
    """'a', 'a and b', 'a, b and c'."""
    items = [str(i) for i in items]
    if len(items) <= 2:
        return " and ".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]

"""A new chapter in the project's shape: ``ketamine-nif new-chapter STEM TITLE``.

Writes ``notebooks/STEM.py`` (a Jupytext notebook with the skeleton every
chapter follows: the question, a complete parameters cell, one set-up cell that
reads the data and the analysis configuration, the model, the answer),
``params/STEM.yaml`` and adds the chapter to ``_quarto.yml`` before the
appendix. The new chapter runs and renders as it is; CONTRIBUTING.md says what
to fill in. Until it writes ``estimates.csv``, the summary page names it as a
chapter without estimates.
"""

from __future__ import annotations

import re
from pathlib import Path

from .paths import NOTEBOOKS, PARAMS, QUARTO_CONFIG

STEM = re.compile(r"^\d{2}-[a-z0-9]+(-[a-z0-9]+)*$")

TEMPLATE = '''# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # {title} {{#sec-{slug}}}
#
# The question this chapter answers, in one paragraph of plain words: what a
# reader learns, from which data, and why it matters.

# %% tags=["parameters"]
data_dir = "data/synthetic"  # the data directory (contract: data/README.md)
output_dir = "_build/outputs/{stem}"  # estimates.csv and the chapter's other outputs
seed = 20250404  # every random draw below derives from this
analysis_config = "params/analysis.yaml"  # priors, regions of practical equivalence and decision levels
markers = None  # list of markers to analyse; None for every NIF in the data

# %%
from ketamine_nif import analysis
from ketamine_nif.chapter import start
from ketamine_nif.reporting import say

out, data, informed = start(data_dir, output_dir, markers)  # informed: what the data can inform (identifiability)
config = analysis.load(analysis_config)

# %% [markdown]
# ## The data {{#sec-{slug}-data}}
#
# What the analysis uses, and what it leaves out.

# %%
say(f"The analysis uses {{len(data.markers)}} markers of {{len(set(data.nif_person))}} participants.")

# %% [markdown]
# ## The model {{#sec-{slug}-model}}
#
# The model in mathematics, with its priors justified (from the analysis
# configuration, never typed here), a prior predictive check, the fit and its
# diagnostics, each in a few lines that call `lib/`.

# %% [markdown]
# ## Answer {{#sec-{slug}-answer}}
#
# The answer, from a tested function of `lib/ketamine_nif/answers/`, and how
# sure we are. Estimates pass through `informed.keep(...)` before they are
# shown or written, after `say(reporting.uninformed_callout(informed.gaps_for([...])))`
# has named those the data cannot inform.
'''


class ScaffoldError(ValueError):
    """The chapter cannot be created; the message says why."""


def new_chapter(stem: str, title: str, notebooks: Path = NOTEBOOKS, params: Path = PARAMS,
                book: Path = QUARTO_CONFIG) -> list[Path]:
    """Create the chapter ``stem`` ("11-my-question") titled ``title``; returns the files written or changed."""
    if not STEM.match(stem):
        raise ScaffoldError(f"chapter stem {stem!r} must be two digits, a dash and kebab-case words, like 11-my-question")
    source, parameters = notebooks / f"{stem}.py", params / f"{stem}.yaml"
    for path in (source, parameters):
        if path.exists():
            raise ScaffoldError(f"{path} exists already")
    config = book.read_text(encoding="utf-8")
    if re.search(rf"^\s*- {re.escape(stem)}\.ipynb", config, re.M):
        raise ScaffoldError(f"{book} lists {stem}.ipynb already")
    entry = re.search(r"^([ \t]*)- appendix\.ipynb", config, re.M)
    if entry is None:
        raise ScaffoldError(f"{book}: no '- appendix.ipynb' chapter to insert the new chapter before")
    slug = stem.split("-", 1)[1]
    source.write_text(TEMPLATE.format(title=title, slug=slug, stem=stem), encoding="utf-8")
    parameters.write_text(f"# Parameters of notebooks/{stem}.py for the book (the runner adds data_dir and output_dir)\n"
                          f"seed: 20250404\n", encoding="utf-8")
    book.write_text(config[:entry.start()] + f"{entry.group(1)}- {stem}.ipynb\n" + config[entry.start():], encoding="utf-8")
    return [source, parameters, book]

# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
#   ketamine-nif:
#     run: last
#     reads: [estimates.csv]
#     inputs: [studies/calibration/results.csv, studies/calibration-madrs/results.csv, studies/recovery/results.csv]
# ---

# %% [markdown]
# # Overview {.unnumbered}
#
# Does a single ketamine infusion change the blood levels of neurotrophic and
# inflammatory factors (NIFs: BDNF, IL-6, IL-1RA and others) in people with
# treatment-resistant depression, and do those levels move with depression over
# the five days after the infusion? A randomised trial of 133 adults found no
# such relationships [@rengasamy2025]. This report asks the same questions again
# with Bayesian hierarchical models, which use every measurement at once, let
# each marker's answer rest on its own data, and say not only whether an
# effect was found but how large an effect the data can rule out.

# %% tags=["parameters"]
data_dir = "data/synthetic"  # the data directory (contract: data/README.md)
output_dir = "_build/outputs/index"  # where this page writes its files (summary.csv, the summary figure)
outputs_dir = "_build/outputs"  # where the chapters wrote their outputs (<chapter>/estimates.csv)

# %%
from pathlib import Path

from ketamine_nif import describe, identifiability, plotting, recovery, summary
from ketamine_nif.chapter import open_data
from ketamine_nif.plotting.summary import evidence_by_marker
from ketamine_nif.reporting import say
from ketamine_nif.runner import book_jobs

plotting.setup()
dataset = open_data(data_dir)
out = Path(output_dir)
out.mkdir(parents=True, exist_ok=True)
jobs = book_jobs()
chapters = summary.collect(jobs, outputs_dir)
questions = summary.questions(chapters)
rates, rates_source = recovery.verdict_error_rates()  # measured on simulated trials (chapter 08)
summary.summary_frame(questions, rates).to_csv(out / "summary.csv", index=False)

# %% [markdown]
# ## Summary of findings
#
# Every line below is computed from the estimates that the analysis chapters
# wrote when this edition was built; the link in each line leads to the
# chapter that explains the model, its checks and the full results.

# %%
say(summary.thresholds_text(questions))
say(summary.findings_text(questions, rates, rates_source))
say(summary.missing_text(chapters, summary.missing_planned(jobs)))
say(summary.uninformed_text(identifiability.assess(dataset)))

# %%
#| label: fig-summary
#| fig-cap: "Evidence across markers: for each question (row) and marker (column), the estimate with the strongest evidence of an effect, coloured and shaped by its evidence category (a verdict that the table withholds, as wrong too often on simulated trials, is drawn as withheld)."
#| fig-alt: "Dot chart with one row per question of the report and one column per blood marker or {{outcome}}; each dot's colour and shape give the evidence category: supported, ruled out, inconclusive, unreliable, or withheld where the rule gives that verdict wrongly too often."
fig = evidence_by_marker(questions, rates)
plotting.save(fig, out / "summary.png")
plotting.show()

# %% [markdown]
# ## The trial
#
# Adults with treatment-resistant depression received one infusion of ketamine
# (0.5 mg/kg) or saline; depression was rated on the Montgomery–Åsberg
# Depression Rating Scale (MADRS) [@montgomery1979] and blood was drawn before
# the infusion and over the following five days. The parent trial
# [@price2022] also randomised the ketamine group to an automated
# self-association training (ASAT) or a sham version from a day after the
# infusion, while everyone on saline received ASAT.
#
# ::: {.callout-important title="A training imbalance from day 1 on"}
# Every saline participant had active training and only about half of the
# ketamine participants did, so from day 1 on the ketamine–saline contrast mixes
# the drug with a difference in training, and the training subgroup exists only
# inside the ketamine arm.
# :::

# %% [markdown]
# ## The data behind this edition

# %%
say(describe.edition_text(dataset))

# %% [markdown]
# ## The chapters
#
# Each analysis chapter shows its model in mathematics, prior and posterior
# predictive checks, convergence diagnostics that gate its conclusions, and a
# plain answer. Every result in the text is computed when the report is built;
# the only numbers typed by hand describe the published trial and its design.

# %%
say("\n".join(f"- [{summary.chapter_title(j.source)}]({j.stem}.ipynb)" for j in jobs if j.stem != "index"))

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
# ---

# %% [markdown]
# # Ketamine, blood markers and depression: a Bayesian reanalysis
#
# Does a single ketamine infusion change the blood levels of neurotrophic and
# inflammatory factors (NIFs: BDNF, IL-6, IL-1RA and others) in people with
# treatment-resistant depression, and do those levels move with depression over
# the five days after the infusion? A randomised trial of 133 adults found no
# such relationships [@rengasamy2025]. This report asks the same questions again
# with Bayesian hierarchical models, which use every measurement at once, share
# strength across markers, and say not only whether an effect was found but
# how large an effect the data can rule out.

# %% tags=["parameters"]
data_dir = "data/synthetic"  # the data directory (contract: data/README.md)
output_dir = "_build/outputs/index"  # where this page writes its files

# %%
from pathlib import Path

from ketamine_nif.contract import load_dataset
from ketamine_nif.describe import arm_sizes
from ketamine_nif.reporting import join_words, say

dataset = load_dataset(data_dir)
Path(output_dir).mkdir(parents=True, exist_ok=True)
sizes = arm_sizes(dataset)

# %% [markdown]
# ## The trial
#
# Adults with treatment-resistant depression received one infusion of ketamine
# (0.5 mg/kg) or saline. Depression severity was rated on the
# Montgomery–Åsberg Depression Rating Scale (MADRS) [@montgomery1979] and blood
# was drawn before the infusion and over the following five days. The trial
# behind it [@price2022] also randomised the ketamine group to an automated
# self-association training (ASAT) or a sham version, starting a day after the
# infusion, while everyone on saline received ASAT.
#
# ::: {.callout-important title="A training imbalance from day 1 on"}
# Because every saline participant had active training and only about half of
# the ketamine participants did, the ketamine–saline contrast from day 1 on mixes
# the drug with a difference in training. The training subgroup exists only
# inside the ketamine arm. Every chapter that compares the arms after day 1 has
# to be read with this in mind.
# :::

# %% [markdown]
# ## The data behind this edition

# %%
if dataset.synthetic:
    meta = dataset.metadata
    say(
        f"This edition runs on **synthetic data**: the project's synthetic twin of the trial "
        f"(scenario `{meta.get('scenario')}`, seed {meta.get('seed')}), generated with the trial's design "
        f"because the participant-level trial data are not public. {meta.get('description', '')} "
        f"Numbers in this report describe that simulated trial, not real patients."
    )
else:
    say("This edition runs on **real trial data** supplied by the user; no participant-level values are shown.")
say(
    f"It holds {len(dataset.participants)} participants ({sizes['ketamine']} ketamine, {sizes['saline']} saline), "
    f"rated at {len(dataset.visits)} visits ({join_words(dataset.visits)}), with "
    f"{len(dataset.markers)} blood markers ({join_words(dataset.markers)}). "
    f"Data fingerprint (SHA-256, first 16 digits): `{dataset.data_hash()}`."
)

# %% [markdown]
# ## What this report covers
#
# @sec-data describes the data: how they were checked, who was measured when,
# how the arms compare at baseline, how MADRS and each marker evolved, and
# every assumption the analyses rest on. Then the three questions, each with
# its model in mathematics, prior and posterior predictive checks, convergence
# diagnostics that gate the conclusions, and a plain answer:
#
# - @sec-nif-trajectories: do NIF levels change differently after ketamine
#   than after saline?
# - @sec-coupling: how much did ketamine lower depression scores, and does a
#   participant's depression move with their NIF levels?
# - @sec-baseline-prediction: do pre-infusion NIF levels tell who benefits
#   from ketamine?
#
# Every result in the text is computed from the data when the report is built;
# the only numbers typed by hand describe the published trial and its design.

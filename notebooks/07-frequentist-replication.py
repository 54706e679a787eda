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
# # The original approach, replicated {#sec-frequentist}
#
# What would the analysis look like done the way the paper most likely did
# it: a linear mixed model per marker, question and subgroup, each judged by
# its p-value? This chapter fits those models, lists every test, and counts
# how many come out "significant" (p < 0.05) against how many chance alone
# would give if nothing were going on.

# %% tags=["parameters"]
data_dir = "data/synthetic"  # the data directory (contract: data/README.md)
output_dir = "_build/outputs/07-frequentist-replication"  # estimates.csv, tests.csv, diagnostics.json
markers = None  # list of markers to analyse, such as IL-1RA and CRP; None for every NIF in the data
subgroups_file = "params/subgroups.yaml"  # subgroup definitions (14 binary splits)
splits = None  # names of the splits to analyse, such as bmi and sex; None for every split in the file
lod_fraction = 0.5  # values under the detection limit count as this fraction of the limit (0.5: LOD/2)
alpha = 0.05  # the significance level of the original analysis
analysis_config = "params/analysis.yaml"  # the paper's finding (and the book's other analysis choices)
bayesian_outputs = ["02-nif-trajectories", "03-coupling", "04-baseline-prediction"]  # chapters whose estimates are set beside these

# %%
import json
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ketamine_nif import analysis, estimates, frequentist, plotting
from ketamine_nif.contract import load_dataset
from ketamine_nif.estimands import ALL_PARTICIPANTS, COUPLING_WITHIN, NIF_CHANGE_RATIO
from ketamine_nif.reporting import join_words, say, show_table
from ketamine_nif.subgroups import load_splits

plotting.setup()
out = Path(output_dir)
out.mkdir(parents=True, exist_ok=True)
dataset = load_dataset(data_dir)
chosen = [s for s in load_splits(subgroups_file) if splits is None or s.name in splits]
marker_list = markers or dataset.markers

# %% [markdown]
# ## The models {#sec-frequentist-models}
#
# The paper's exact models are not published; these are the standard ones
# for its three questions, each a linear mixed model with a random intercept
# per participant, fitted by restricted maximum likelihood (statsmodels
# `mixedlm`), one marker at a time:
#
# 1. **NIF change by arm**: the change in log concentration from baseline at
#    each post-infusion visit, with a mean per visit and a ketamine minus
#    saline difference per visit. Test: the difference at each visit
#    (reported as the ketamine/saline ratio of geometric-mean change).
# 2. **Coupling**: MADRS at every visit on the log2 concentration split into
#    its deviation from the person's mean (within) and that mean (between),
#    with a mean per visit, in each arm; and both arms together with each term
#    interacting with arm. Test: the within-person slope in each arm (MADRS
#    points per doubling) and its arm difference.
# 3. **Baseline NIF as predictor**: MADRS change from baseline at each
#    post-infusion visit on arm × standardised baseline log concentration.
#    Test: the arm × baseline interaction at each visit (points per SD).
#
# p-values are the Wald tests statsmodels reports (estimate over standard
# error against a normal distribution), which run a little small in small
# subgroups.
#
# Every model is fitted to all participants and again within each subgroup.
# Comparisons between arms are skipped in a subgroup that has fewer than
# three participants in an arm; in particular the training split exists only
# in the ketamine arm (every saline participant had active training), so
# there only the ketamine-arm coupling is tested.
#
# **Values under the detection limit** are replaced by a fraction of the
# limit (here the common LOD/2), as such analyses usually do. Unlike the
# Bayesian chapters, which treat them as unknowns below the limit, this
# shrinks the variation of markers often under the limit (IL-6, IL-10).

# %%
say(
    f"Values under the detection limit count as {lod_fraction:g} × the limit. "
    f"The analysis covers {len(marker_list)} markers, all participants and {2 * len(chosen)} subgroups from "
    f"{len(chosen)} splits."
)

# %% [markdown]
# ## Every test {#sec-frequentist-tests}

# %%
started = time.perf_counter()
tests, failures = frequentist.all_tests(dataset, chosen, marker_list, lod_fraction)
seconds = time.perf_counter() - started
tests.to_csv(out / "tests.csv", index=False, float_format="%.6g")
table = frequentist.to_estimates(tests)
estimates.write(table, out)
n_fits = int(tests.drop_duplicates(["subgroup", "marker", "aim", "term"]).groupby(["subgroup", "marker", "aim"]).ngroups)
record = {"frequentist": {"model": "statsmodels mixedlm (REML, random intercept per participant)", "tests": len(tests),
                          "failed_fits": failures, "not_converged": int((~tests["converged"]).sum()),
                          "seconds": round(seconds, 1), "converged": bool(tests["converged"].all()) and not failures}}
(out / "diagnostics.json").write_text(json.dumps(record, indent=2) + "\n")
hits = tests[tests["p_value"] < alpha]

# %%
#| label: tbl-frequentist-overall
#| tbl-cap: "All participants: estimate, 95% confidence interval and p-value of every test (aim 1 as ketamine/saline ratio of geometric-mean change; aim 2 in MADRS points per doubling; aim 3 in MADRS points per SD)."
overall = tests[tests["subgroup"] == ALL_PARTICIPANTS]
ratio = overall["estimand"] == NIF_CHANGE_RATIO


def interval(frame, mask):
    """'estimate [low, high]' per row; ratios (mask) back on the ratio scale."""
    est = np.where(mask, np.exp(frame["estimate"]), frame["estimate"])
    low = np.where(mask, np.exp(frame["ci_low"]), frame["ci_low"])
    high = np.where(mask, np.exp(frame["ci_high"]), frame["ci_high"])
    return [f"{e:.2f} [{lo:.2f}, {hi:.2f}]" for e, lo, hi in zip(est, low, high, strict=True)]


show_table(pd.DataFrame({
    "aim": overall["aim"], "question": overall["estimand"].str.replace("_", " "), "marker": overall["marker"],
    "visit": overall["visit"], "estimate [95% CI]": interval(overall, ratio), "p": overall["p_value"].map(lambda p: f"{p:.3f}"),
}))

# %% [markdown]
# ## How many "findings" chance alone would give {#sec-frequentist-multiplicity}

# %%
#| label: tbl-frequentist-multiplicity
#| tbl-cap: "Number of tests, how many have p < 0.05, and how many a global null (no effect anywhere) would give on average."
counts = frequentist.multiplicity(tests, alpha)
show_table(counts, digits=1)

# %%
expected = alpha * len(tests)
sd = np.sqrt(len(tests) * alpha * (1 - alpha))
say(
    f"Of {len(tests)} tests, {len(hits)} have p < {alpha:g}; if no effect existed anywhere, about {expected:.0f} would "
    f"(give or take {sd:.0f} if the tests were independent). They are not: all of them reuse the same "
    f"{dataset.participants.shape[0]} participants. Each subgroup's tests reuse participants of the overall analysis, "
    f"the two halves of a split together make up the whole sample, and within one group the {len(tests) // max(1, tests['subgroup'].nunique())} "
    f"tests per group come from only {n_fits // max(1, tests['subgroup'].nunique())} model fits (the visits of aims 1 and 3 share "
    "a fit; the coupling difference reuses both arms' data). None of the tests is independent of all the others, "
    "so the count of hits varies more from sample to sample than the binomial figure suggests, but its expectation "
    f"under the global null stays {expected:.0f}. "
    + (f"{len(failures)} fits failed and are not counted ({join_words(failures[:3])}{' ...' if len(failures) > 3 else ''}). "
       if failures else "Every model could be fitted. ")
    + (f"{int((~tests['converged']).sum())} fits warned about convergence (flagged in estimates.csv)."
       if (~tests["converged"]).any() else "")
)

# %%
#| label: fig-frequentist-pvalues
#| fig-cap: "Distribution of the p-values of every test. Under the global null they would be spread evenly (dashed line); the shaded bar holds the tests with p < 0.05."
#| fig-alt: "Histogram of p-values, roughly flat across the range from 0 to 1."
fig, ax = plt.subplots(figsize=(plotting.FIGURE_WIDTH * 0.7, 2.8))
bins = np.linspace(0, 1, 21)
ax.hist(tests["p_value"], bins=bins, color="0.6")
ax.axvspan(0, alpha, color="#D55E00", alpha=0.25)
ax.axhline(len(tests) / 20, color="0.2", ls="--", lw=1)
ax.set_xlabel("p-value")
ax.set_ylabel("tests")
plt.show()

# %% [markdown]
# ## The hits {#sec-frequentist-hits}

# %%
#| label: tbl-frequentist-hits
#| tbl-cap: "Tests with p < 0.05 (the ten smallest p-values)."
smallest = hits.sort_values("p_value").head(10)
show_table(pd.DataFrame({
    "question": smallest["estimand"].str.replace("_", " "), "marker": smallest["marker"], "visit": smallest["visit"],
    "subgroup": smallest["subgroup"], "estimate [95% CI]": interval(smallest, smallest["estimand"] == NIF_CHANGE_RATIO),
    "p": smallest["p_value"].map(lambda p: f"{p:.4f}"),
}))

# %%
finding = analysis.load(analysis_config).paper_finding
paper = tests[(tests["marker"] == finding["marker"]) & (tests["subgroup"] == finding["subgroup"])
                  & (tests["estimand"] == COUPLING_WITHIN["ketamine"])]
say(
    f"{len(hits)} 'significant' results among {len(tests)} tests is "
    + ("about what chance alone produces" if len(hits) <= expected + 2 * sd else "more than chance alone would produce")
    + f" (expected {expected:.0f}). "
    + (f"The paper's finding, {finding['marker']} coupling in the ketamine arm with {finding['subgroup']}, has "
       f"p = {paper.iloc[0]['p_value']:.3f} here. " if not paper.empty else "")
    + "Read one by one, each hit looks like a finding; read together, they are what a search of this size finds in "
    "data without effects. @sec-subgroups asks the same questions in one model that weighs every subgroup together."
)

# %% [markdown]
# ## Beside the Bayesian estimates {#sec-frequentist-bayes}

# %%
#| label: tbl-frequentist-bayes
#| tbl-cap: "All participants: the frequentist estimate [95% confidence interval] beside the Bayesian posterior mean [95% interval] of chapters 02-04, for the same estimands."
bayes = [pd.read_csv(path) for stem in bayesian_outputs if (path := out.parent / stem / "estimates.csv").exists()]
if bayes:
    keys = ["estimand", "marker", "visit", "subgroup"]
    side = table[table["subgroup"] == ALL_PARTICIPANTS].merge(pd.concat(bayes), on=keys, suffixes=("_f", "_b"))
    show_table(pd.DataFrame({
        "question": side["estimand"].str.replace("_", " "), "marker": side["marker"], "visit": side["visit"],
        "frequentist": [f"{m:.2f} [{lo:.2f}, {hi:.2f}]" for m, lo, hi in zip(side["mean_f"], side["ci_low_f"], side["ci_high_f"], strict=True)],
        "Bayesian": [f"{m:.2f} [{lo:.2f}, {hi:.2f}]" for m, lo, hi in zip(side["mean_b"], side["ci_low_b"], side["ci_high_b"], strict=True)],
    }))
    agree = ((side["ci_low_f"] <= side["mean_b"]) & (side["mean_b"] <= side["ci_high_f"])).mean()
    say(f"For {100 * agree:.0f}% of the {len(side)} shared estimands the Bayesian posterior mean lies inside the "
        "frequentist 95% confidence interval: the two approaches tell the same story where they ask the same question; "
        "they differ in how they treat values under the detection limit and in partial pooling across markers.")
else:
    say("The Bayesian chapters' estimates were not found next to this chapter's outputs "
        f"({', '.join(bayesian_outputs)}); run them first to see the two side by side.")

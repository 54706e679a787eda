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
import time
from pathlib import Path

from ketamine_nif import analysis, frequentist, plotting
from ketamine_nif.answers import frequentist as answers
from ketamine_nif.chapter import open_data
from ketamine_nif.estimands import ALL_PARTICIPANTS
from ketamine_nif.plotting.frequentist import p_values
from ketamine_nif.reporting import say, show_table
from ketamine_nif.subgroups import load_splits, usable

# %%
plotting.setup()
out = Path(output_dir)
out.mkdir(parents=True, exist_ok=True)
dataset = open_data(data_dir)
available, absent = usable(load_splits(subgroups_file), dataset)
chosen = [s for s in available if splits is None or s.name in splits]
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
#    each post-infusion visit, with a mean per visit and a {{treatment}} minus
#    {{reference}} difference per visit. Test: the difference at each visit
#    (reported as the {{treatment}}/{{reference}} ratio of geometric-mean
#    change).
# 2. **Coupling**: {{outcome}} at every visit on the log2 concentration split
#    into its deviation from the person's mean (within) and that mean (between),
#    with a mean per visit, in each arm; and both arms together with each term
#    interacting with arm. Test: the within-person slope in each arm
#    ({{outcome}} points per doubling) and its arm difference.
# 3. **Baseline NIF as predictor**: {{outcome}} change from baseline at each
#    post-infusion visit on arm × standardised baseline log concentration. Test:
#    the arm × baseline interaction at each visit (points per SD).
#
# p-values are the Wald tests statsmodels reports (estimate over standard
# error against a normal distribution), which run a little small in small
# subgroups.
#
# Every model is fitted to all participants and again within each subgroup.
# Comparisons between arms are skipped in a subgroup that has fewer than
# three participants in an arm. In the published trial the training split
# exists only in the ketamine arm (every saline participant had active
# training), so there only the ketamine-arm coupling is tested.
#
# **Values under the detection limit** are replaced by a fraction of the
# limit (here the common LOD/2), as such analyses usually do. Unlike the
# Bayesian chapters, which treat them as unknowns below the limit, this
# shrinks the variation of markers often under the limit (IL-6, IL-10).

# %%
say(answers.scope(lod_fraction, len(marker_list), len(chosen)))
say(absent)

# %% [markdown]
# ## Every test {#sec-frequentist-tests}

# %%
started = time.perf_counter()
tests, failures = frequentist.all_tests(dataset, chosen, marker_list, lod_fraction)
table = frequentist.write_outputs(out, tests, failures, time.perf_counter() - started)

# %%
#| label: tbl-frequentist-overall
#| tbl-cap: "All participants: estimate, 95% confidence interval and p-value of every test (aim 1 as {{treatment}}/{{reference}} ratio of geometric-mean change; aim 2 in {{outcome}} points per doubling; aim 3 in {{outcome}} points per SD)."
show_table(frequentist.tests_table(tests[tests["subgroup"] == ALL_PARTICIPANTS]).drop(columns="subgroup"))

# %% [markdown]
# ## How many "findings" chance alone would give {#sec-frequentist-multiplicity}

# %%
#| label: tbl-frequentist-multiplicity
#| tbl-cap: "Number of tests, how many have p < 0.05, and how many a global null (no effect anywhere) would give on average."
counts = frequentist.multiplicity(tests, alpha)
show_table(counts, digits=1)

# %%
say(answers.multiplicity(tests, alpha, dataset.participants.shape[0], failures))

# %%
#| label: fig-frequentist-pvalues
#| fig-cap: "Distribution of the p-values of every test. Under the global null they would be spread evenly (dashed line); the shaded bar holds the tests with p < 0.05."
#| fig-alt: "Histogram of p-values, roughly flat across the range from 0 to 1."
p_values(tests["p_value"], alpha)
plotting.show()

# %% [markdown]
# ## The hits {#sec-frequentist-hits}

# %%
#| label: tbl-frequentist-hits
#| tbl-cap: "Tests with p < 0.05 (the ten smallest p-values)."
smallest = tests[tests["p_value"] < alpha].sort_values("p_value").head(10)
show_table(frequentist.tests_table(smallest, p_digits=4).drop(columns="aim"))

# %%
say(answers.finding(tests, alpha, analysis.load(analysis_config).paper_finding))

# %% [markdown]
# ## Beside the Bayesian estimates {#sec-frequentist-bayes}

# %%
#| label: tbl-frequentist-bayes
#| tbl-cap: "All participants: the frequentist estimate [95% confidence interval] beside the Bayesian posterior mean [95% interval] of chapters 02-04, for the estimands both ask about (the couplings measure within-person change differently: see the text)."
side = frequentist.beside_bayesian(table, out.parent, bayesian_outputs)
if side is not None:
    show_table(frequentist.comparison_table(side))

# %%
say(answers.agreement(side, bayesian_outputs))

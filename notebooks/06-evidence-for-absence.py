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
#     inputs:
#       - _build/outputs/02-nif-trajectories/nif-trajectories.nc
#       - _build/outputs/03-coupling/depression.nc
#       - _build/outputs/03-coupling/coupling.nc
#       - _build/outputs/04-baseline-prediction/baseline-prediction.nc
#       - _build/outputs/02-nif-trajectories/diagnostics.json
#       - _build/outputs/03-coupling/diagnostics.json
#       - _build/outputs/04-baseline-prediction/diagnostics.json
# ---

# %% [markdown]
# # Evidence for absence {#sec-evidence}
#
# "No significant difference" can mean two things: the effect is absent, or
# the study could not see it. This chapter asks, for every key estimand of
# the three aims, how strongly the data say the effect is too small to matter,
# in two ways: the probability that it lies inside a region of practical
# equivalence (ROPE), and a Bayes factor that weighs "no effect at all"
# against "some effect" as the model's prior describes it. Then it asks how
# much those answers owe to choices: the width of the ROPE, the scale of the
# priors, and the sceptical, neutral and optimistic priors with which
# published Bayesian reanalyses of trials test their conclusions.

# %% tags=["parameters"]
data_dir = "data/synthetic"  # the data directory (contract: data/README.md); the estimates come from the chapters below
output_dir = "_build/outputs/06-evidence-for-absence"  # estimates.csv, bayes-factors.csv, sensitivity.csv, diagnostics.json
outputs_dir = None  # where chapters 02-04 wrote their outputs; None: the folder above output_dir
analysis_config = "params/analysis.yaml"  # ROPEs, the equivalence level and the important effects
prior_factors = [0.5, 1.0, 2.0]  # multiples of the book's prior scales in the sensitivity table
rope_factors = [0.5, 1.0, 1.5, 2.0]  # multiples of the ROPE half-widths in the sensitivity table

# %%
from pathlib import Path

from ketamine_nif import analysis, evidence, identifiability, plotting, reporting
from ketamine_nif.chapter import open_data
from ketamine_nif.estimands import MADRS_CHANGE_DIFFERENCE, description
from ketamine_nif.reporting import say, show_table

# %%
plotting.setup()
out = Path(output_dir)
out.mkdir(parents=True, exist_ok=True)
sources = Path(outputs_dir) if outputs_dir else out.parent
config = analysis.load(analysis_config)
equivalence_level = config.equivalence_level
key_estimands = [key.estimand for key in evidence.KEY_ESTIMANDS]
ropes = config.ropes_for(key_estimands)
important = evidence.important_effects(config)
informed = identifiability.assess(open_data(data_dir))  # the estimands the data inform

# %%
table, missing = evidence.rope_estimates(sources, ropes, informed)
factors = evidence.bayes_factors(sources, informed)
converged = evidence.write_outputs(out, sources, table, factors, missing)
if missing:
    say(evidence.missing_inputs(missing))
say(reporting.uninformed_callout(informed.gaps_for(key_estimands)))

# %% [markdown]
# ## Regions of practical equivalence {#sec-evidence-rope}
#
# A ROPE is the range of effects too small to matter clinically or
# biologically. @tbl-evidence-ropes lists them, one per kind of estimand, as
# the analysis configuration (`params/analysis.yaml`) sets them for the whole
# book. The posterior probability inside the ROPE is read as follows: at
# least the equivalence level, the effect is ruled out for practical purposes;
# at most one minus it, it is practically present; in between, the data cannot tell.

# %%
#| label: tbl-evidence-ropes
#| tbl-cap: "Regions of practical equivalence and important effects (the reference of the alternative priors below), per kind of estimand, from the analysis configuration."
show_table(reporting.rope_table(config, key_estimands))

# %%
#| label: tbl-evidence-rope
#| tbl-cap: "Per key estimand: how many markers and visits have the effect ruled out (P(inside the ROPE) at least the equivalence level), practically present (at most one minus it), or undecided, with the smallest and largest P(inside the ROPE)."
if table.empty:
    say("No estimates to show.")
else:
    show_table(evidence.verdict_summary(table, ropes, equivalence_level))

# %%
#| label: fig-evidence-rope
#| fig-cap: "Posterior probability that each effect lies inside its region of practical equivalence, per marker (rows) and estimand (panels); the dashed line marks the equivalence level. Points from fits that failed the convergence checks are hollow."
#| fig-alt: "Dot plots of the probability inside the region of practical equivalence for each marker, one panel per estimand."
if not table.empty:
    plotting.rope_probabilities(table, equivalence_level)
    plotting.show()

# %% [markdown]
# ## Bayes factors {#sec-evidence-bayes-factors}
#
# The Bayes factor $\mathrm{BF}_{01}$ compares "the effect is exactly zero"
# with "the effect follows the model's prior": above 1 the data favour no
# effect, below 1 an effect. It is computed by the **Savage-Dickey density
# ratio**: for a parameter $\theta$ whose null model is the full model
# conditioned on $\theta = 0$,
#
# $$
# \mathrm{BF}_{01} = \frac{p(\theta = 0 \mid \text{data})}{p(\theta = 0)},
# $$
#
# the posterior density at zero over the prior density at zero. The prior is
# read from the saved fit, as the chapter that made it declared it, never typed
# again here; its density at zero is exact (Student-$t$; for the {{treatment}}
# minus {{reference}} difference of two couplings, the convolution of their two
# priors). The posterior density at zero is a Gaussian kernel density estimate
# of the posterior draws (Scott's bandwidth), or a normal approximation when
# zero lies outside the central 99% of the draws, where the Bayes factor is then
# only accurate to its order of magnitude. The method was checked on a conjugate
# normal model, whose Bayes factor is known exactly, to within 5%
# (`tests/test_evidence.py`). Ratios are tested on the log scale (null: log
# ratio 0). A Bayes factor depends on the prior's width: a wider prior favours
# the null more (@sec-evidence-sensitivity).

# %%
#| label: tbl-evidence-bayes-factors
#| tbl-cap: "Bayes factors BF01 (above 1: evidence for no effect) per key estimand, over markers and visits or arms: the prior the fit used, the range and median, and how many favour the null (BF01 > 3) or an effect (BF01 < 1/3)."
if factors.empty:
    say("No saved fits to compute Bayes factors from.")
else:
    show_table(evidence.bayes_factor_summary(factors).assign(estimand=lambda f: f["estimand"].map(description)), digits=3)

# %% [markdown]
# ## How much the answers owe to the ROPE and the priors {#sec-evidence-sensitivity}
#
# @tbl-evidence-sensitivity recomputes every "ruled out" and Bayes-factor
# verdict with each ROPE half the width, one and a half and twice as wide, and
# with every prior scale of the effects (the slab of @sec-nif-model) halved or
# doubled. A new prior needs no refit: each saved draw is reweighted by the
# ratio of the new prior's density to the book's (importance sampling); where
# the weights rest on fewer than 200 effective draws the table says so.

# %%
#| label: tbl-evidence-sensitivity
#| tbl-cap: "Verdicts under other ROPE widths and prior scales: per key estimand and multiple of the book's prior scale, the number ruled out at each multiple of the ROPE's half-width, and the number of Bayes factors above 3 and below 1/3."
sensitivity = evidence.sensitivity(sources, ropes, tuple(prior_factors), tuple(rope_factors), equivalence_level, informed)
sensitivity.to_csv(out / "sensitivity.csv", index=False, float_format="%.6g")
if sensitivity.empty:
    say("No saved fits to reweight.")
else:
    show_table(evidence.sensitivity_table(sensitivity).assign(estimand=lambda f: f["estimand"].map(description)))

# %% [markdown]
# ## Sceptical, neutral and optimistic priors {#sec-evidence-priors}
#
# Bayesian reanalyses of trials show their conclusions under a range of
# priors [@spiegelhalter1994]: a *sceptical* prior centred on no effect with a
# 5% chance of an effect beyond the clinically important size, a *neutral*
# prior centred on no effect and wide (SD twice the important size), and an
# *optimistic* prior centred on the important effect with the sceptic's
# spread. The important sizes are those of @tbl-evidence-ropes (for {{outcome}},
# {{treatment}} lowering it). For the NIFs no direction is expected, so the
# optimist believes in an effect of that size of either sign.
# @tbl-evidence-priors gives, under each prior, how many estimates are ruled
# out and the largest probability of an effect beyond the ROPE.

# %%
#| label: tbl-evidence-priors
#| tbl-cap: "Key estimands under the book's prior and the sceptical, neutral and optimistic priors: how many estimates are ruled out (P(beyond the ROPE) ≤ 0.05) and the largest P(beyond the ROPE), by reweighting the saved draws."
alternatives = evidence.alternative_priors(sources, ropes, important, {MADRS_CHANGE_DIFFERENCE: -1}, informed=informed)
alternatives.to_csv(out / "alternative-priors.csv", index=False, float_format="%.6g")
if alternatives.empty:
    say("No saved fits to reweight.")
else:
    show_table(evidence.alternative_summary(alternatives, equivalence_level).assign(estimand=lambda f: f["estimand"].map(description)))

# %% [markdown]
# ## Answer {#sec-evidence-answer}

# %%
say(evidence.answer(table, factors, alternatives, converged, equivalence_level))

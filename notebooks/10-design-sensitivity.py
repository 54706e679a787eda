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
#     inputs: [studies/design-nif-book/results.csv, studies/design-coupling-book/results.csv]
# ---

# %% [markdown]
# # What could this trial have found? {#sec-design-sensitivity}
#
# "No association was found" means little until we know how large an
# association the trial could have found. This chapter asks it by simulation:
# if ketamine really raised a marker by a given factor, or depression really
# moved with a marker within a person by a given amount, how often would this
# report's own analysis, on a trial of this size and design, have said so, and
# how often would it have wrongly called the effect negligible? The answer is
# two curves against true effect size, the chance of "supported" and the
# chance of "ruled out", and the smallest effect the trial would support four
# times out of five.

# %% tags=["parameters"]
data_dir = "data/synthetic"  # the data of this edition (their design is compared with the simulations)
output_dir = "_build/outputs/10-design-sensitivity"  # detection.csv and smallest-detectable.csv
sweeps_dir = "studies"  # where the sweeps keep their results (out: in sweeps/*.yaml)
nif_sweep = "design-nif-book"  # sweep of the aim 1 arm effect (sweeps/design-nif-book.yaml)
coupling_sweep = "design-coupling-book"  # sweep of the aim 2 coupling (sweeps/design-coupling-book.yaml)
target_power = 0.8  # probability of "supported" that defines the smallest detectable effect

# %%
from pathlib import Path

from ketamine_nif import design, plotting, summary
from ketamine_nif.answers import design as answers
from ketamine_nif.contract import load_dataset
from ketamine_nif.describe import arm_sizes
from ketamine_nif.plotting.design import detection_curves
from ketamine_nif.reporting import say, show_table
from ketamine_nif.sweep import read_saved

plotting.setup()
out = Path(output_dir)
out.mkdir(parents=True, exist_ok=True)
sizes = arm_sizes(load_dataset(data_dir))  # this trial's design: its names, whatever the data's
sweeps = {name: read_saved(Path(sweeps_dir) / name) for name in (nif_sweep, coupling_sweep)}

# %% [markdown]
# ## How the question is answered {#sec-design-method}
#
# One replicate simulates the trial with the project's synthetic twin (the
# trial's arms, visits, dropout, detection limits and assumed marker
# variability; the paper-null scenario), plants one effect of true size
# $\theta$ in one marker, fits the model this report uses for that question
# to every marker of the twin, exactly as its chapter does, and applies the
# summary page's decision rule to the planted marker's estimate. The effect is
# *supported* when the posterior probability of its direction reaches the
# level that the summary page asks of each estimate of its question
# ($1 - (1 - d)/n$ for a question of $n$ estimates, where $d$ is the level of
# a single estimate, `detection_level` of `params/analysis.yaml`:
# Bonferroni-adjusted over the question's estimates, one per marker and, for
# a NIF ratio, per visit; @sec-criticism-calibration) and the fit passed the convergence verdict; it is *ruled out* when the posterior probability that
# it lies inside the region of practical equivalence (ROPE: effects too small
# to matter, @sec-evidence-rope) is at least 0.95. Over $R$ replicates at
# each size, the probability of each verdict, for example
#
# $$
# \pi(\theta) = \Pr\bigl(\text{supported in the true direction} \;\big|\; \theta\bigr),
# $$
#
# is estimated by the share $\hat\pi$ of replicates that gave it, with Monte
# Carlo standard error $\sqrt{\hat\pi(1-\hat\pi)/R}$ (the bars show 95%
# Wilson intervals). At $\theta$ = no effect, "supported" is a false alarm,
# which the question's level keeps at or below about 5% over all of its
# estimates, far less for the one estimate drawn here, and "ruled out" is
# the right answer; for $\theta$ outside the ROPE, "ruled out" is wrong. The
# smallest detectable effect is where a logistic regression of "supported" on
# $\theta$ (on the log scale for ratios) crosses the target probability; its
# interval carries the regression's uncertainty.
#
# Two effects are studied:
#
# - **Aim 1**: ketamine raises IL-6 at 24 hours by a factor $\theta$ (the
#   ketamine/saline ratio of geometric-mean change from baseline), estimated
#   with the NIF trajectory model of @sec-nif-trajectories fitted to every
#   marker of the twin.
# - **Aim 2**: within a person in the ketamine arm, MADRS moves by $\theta$
#   points per doubling of IL-1RA (the marker of the paper's one subgroup
#   finding), estimated with the coupling model of @sec-coupling fitted to
#   every marker of the twin (each adjusted for the others).
#
# Each fit is the book's model through the fit engine (the model compiled
# once per worker and each twin's data swapped in, sampled with nutpie's NUTS;
# its log density is the book form's, and its fits agree with the book's
# sampler within Monte Carlo error, both checked by tests), with the chains
# and draws given with the results below (fewer draws than the book's own
# fits, which the convergence verdict checks fit by fit). The results depend on the twin's assumed variability of each
# marker within and between people (@sec-data), which the paper did not
# report, and on paper-null's exact assays: the calibration suite of
# @sec-criticism-calibration measures the verdicts on twins with assay error,
# correlated markers and dropout that follows depression.

# %% [markdown]
# ## Results {#sec-design-results}

# %%
available = {name: s for name, s in sweeps.items() if s is not None}
say(answers.missing_sweeps([name for name in sweeps if name not in available]))
curves, smallest = design.studies((s.results for s in available.values()), target_power)
design.save_studies(curves, smallest, out)
say(answers.provenance(available, sizes))

# %%
#| label: tbl-design-nif
#| tbl-cap: "Aim 1 (ketamine effect on IL-6 at 24 h, all markers fitted): share of simulated trials in which the analysis supported the effect in its true direction and share in which it ruled the effect out (± Monte Carlo standard error), coverage of the 95% credible interval, share of fits that passed the convergence verdict and share with divergent transitions."
if design.NIF_CHANGE_RATIO in curves:
    show_table(design.detection_table(curves[design.NIF_CHANGE_RATIO], design.NIF_CHANGE_RATIO))
else:
    say("*Not available: the aim 1 sweep has not been run.*")

# %%
#| label: tbl-design-coupling
#| tbl-cap: "Aim 2 (within-person coupling of IL-1RA and MADRS, ketamine arm, all markers fitted): share of simulated trials in which the analysis supported the coupling in its true direction and share in which it ruled the coupling out (± Monte Carlo standard error), coverage of the 95% credible interval, share of fits that passed the convergence verdict and share with divergent transitions."
coupling = design.COUPLING_WITHIN["ketamine"]
if coupling in curves:
    show_table(design.detection_table(curves[coupling], coupling))
else:
    say("*Not available: the aim 2 sweep has not been run.*")

# %%
#| label: fig-design-curves
#| fig-cap: "Probability that the report's analysis supports an effect (blue) and that it rules the effect out (grey, dashed), against its true size, with 95% Monte Carlo intervals. Dashed line: the target probability; dotted: the false-alarm rate of the planted estimate in one direction at its question's level; orange line and band: the smallest detectable effect and its 95% interval."
#| fig-alt: "For the ketamine effect on IL-6 and the within-person coupling of IL-1RA with depression: a curve of support rising from near zero at no effect toward one at large effects, and a curve of ruling out that falls as the effect grows."
if curves:
    detection_curves(curves, smallest, target_power)
    plotting.show()
else:
    say("*No curves: neither sweep has been run.*")

# %% [markdown]
# ## Answer {#sec-design-answer}

# %%
say(answers.answer(curves, smallest, target_power, summary.detection_rule()))

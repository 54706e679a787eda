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
#     inputs: [studies/design-nif/results.csv, studies/design-coupling/results.csv]
# ---

# %% [markdown]
# # What could this trial have found? {#sec-design-sensitivity}
#
# "No association was found" means little until we know how large an
# association the trial could have found. This chapter asks it by simulation:
# if ketamine really raised a marker by a given factor, or depression really
# moved with a marker within a person by a given amount, how often would this
# report's own analysis, on a trial of this size and design, have said so?
# The answer is a curve of detection probability against true effect size, and
# the smallest effect the trial would detect four times out of five.

# %% tags=["parameters"]
data_dir = "data/synthetic"  # the data of this edition (their design is compared with the simulations)
output_dir = "_build/outputs/10-design-sensitivity"  # detection.csv and smallest-detectable.csv
sweeps_dir = "studies"  # where the sweeps keep their results (out: in sweeps/*.yaml)
nif_sweep = "design-nif"  # sweep of the aim 1 arm effect (sweeps/design-nif.yaml)
coupling_sweep = "design-coupling"  # sweep of the aim 2 coupling (sweeps/design-coupling.yaml)
target_power = 0.8  # detection probability that defines the smallest detectable effect

# %%
from pathlib import Path

from ketamine_nif import design, plotting
from ketamine_nif.answers import design as answers
from ketamine_nif.contract import load_dataset
from ketamine_nif.describe import arm_sizes
from ketamine_nif.estimates import DETECTION
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
# $\theta$, fits the model this report uses for that question, and applies the
# report's decision rule: the effect is *detected* when the posterior
# probability of its true direction is at least 0.975, that is, when its 95%
# interval excludes no effect. Over $R$ replicates at each size, the detection
# probability
#
# $$
# \pi(\theta) = \Pr\bigl(\Pr(\text{effect in the true direction} \mid \text{data}) \ge 0.975 \;\big|\; \theta\bigr)
# $$
#
# is estimated by the share $\hat\pi$ of replicates in which the effect was
# detected, with Monte Carlo standard error $\sqrt{\hat\pi(1-\hat\pi)/R}$ (the
# bars show 95% Wilson intervals). At $\theta$ = no effect, $\hat\pi$ is the
# rate of false alarms, which the rule keeps near 5% (2.5% in each direction).
# The smallest detectable effect is where a logistic regression of detection
# on $\theta$ (on the log scale for ratios) crosses the target probability;
# its interval carries the regression's uncertainty.
#
# Two effects are studied:
#
# - **Aim 1**: ketamine raises IL-6 at 24 hours by a factor $\theta$ (the
#   ketamine/saline ratio of geometric-mean change from baseline), estimated
#   with the NIF trajectory model of @sec-nif-trajectories.
# - **Aim 2**: within a person in the ketamine arm, MADRS moves by $\theta$
#   points per doubling of IL-1RA (the marker of the paper's one subgroup
#   finding), estimated with the coupling model of @sec-coupling.
#
# Two simplifications keep hundreds of fits affordable, and both are stated
# where they matter. Each replicate fits the planted marker alone; the book's
# models share nothing between markers for these effects (each marker is
# shrunk by its own scale), so for aim 1 the book's answer for a marker is the
# same as fitted alone, and for aim 2 it differs only through the adjustment
# for the other markers. Both sweeps fit the book's current models through
# the fit engine (the model compiled once per worker and each twin's data
# swapped in, sampled with nutpie's NUTS; its log density is the book form's,
# and its fits agree with the book's sampler within Monte Carlo error, both
# checked by tests). And each fit draws fewer samples than the book
# (the settings are given with the results): enough to place a probability near
# 0.975 on the right side of the threshold, but short of the report's verdict,
# which asks every one of the model's parameters, most of them person levels,
# for R-hat ≤ 1.01 and 400 effective draws; the tables show each size's median
# largest R-hat and the share of fits with divergent transitions instead. The
# results also depend on the twin's assumed variability of each marker within
# and between people (@sec-data), which the paper did not report.

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
#| tbl-cap: "Aim 1 (ketamine effect on IL-6 at 24 h): share of simulated trials in which the effect was detected (± Monte Carlo standard error), coverage of the 95% credible interval, median of each fit's largest R-hat and share of fits with divergent transitions."
if design.NIF_CHANGE_RATIO in curves:
    show_table(design.detection_table(curves[design.NIF_CHANGE_RATIO], design.NIF_CHANGE_RATIO))
else:
    say("*Not available: the aim 1 sweep has not been run.*")

# %%
#| label: tbl-design-coupling
#| tbl-cap: "Aim 2 (within-person coupling of IL-1RA and MADRS, ketamine arm): share of simulated trials in which the coupling was detected (± Monte Carlo standard error), coverage of the 95% credible interval, median of each fit's largest R-hat and share of fits with divergent transitions."
coupling = design.COUPLING_WITHIN["ketamine"]
if coupling in curves:
    show_table(design.detection_table(curves[coupling], coupling))
else:
    say("*Not available: the aim 2 sweep has not been run.*")

# %%
#| label: fig-design-curves
#| fig-cap: "Probability that the report's analysis detects an effect, against its true size, with 95% Monte Carlo intervals. Dashed: the target probability; dotted: the 2.5% false-alarm rate in one direction; orange line and band: the smallest detectable effect and its 95% interval."
#| fig-alt: "Detection probability curves rising from near zero at no effect toward one at large effects, for the ketamine effect on IL-6 and the within-person coupling of IL-1RA with depression."
if curves:
    detection_curves(curves, smallest, target_power)
    plotting.show()
else:
    say("*No curves: neither sweep has been run.*")

# %% [markdown]
# ## Answer {#sec-design-answer}

# %%
say(answers.answer(curves, smallest, target_power, DETECTION))

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
# ---

# %% [markdown]
# # Subgroups without the multiplicity trap {#sec-subgroups}
#
# The paper's one positive finding, that rising IL-1RA after ketamine went
# with less improvement on day 1 in participants with BMI < 25, came out of 28
# subgroup analyses, each repeated for several markers and three questions.
# Among that many tests some "findings" are expected by chance alone. This
# chapter asks whether any subgroup really differs, in one model that looks at
# every subgroup, marker and arm at once and lets the subgroups borrow
# strength from each other, so that a difference must stand out from the
# noise of all the others before it is believed.

# %% tags=["parameters"]
data_dir = "data/synthetic"  # the data directory (contract: data/README.md)
output_dir = "_build/outputs/05-subgroups"  # estimates.csv, diagnostics.json, posterior
seed = 20250404  # every random draw below derives from this
draws = 2000  # posterior draws per chain (at 1000 the max R-hat of PyMC's fits at target acceptance 0.95 reached 1.015 in one of five)
tune = 300  # tuning steps per chain (nutpie's default; the five fits at it: max R-hat 1.0074, min ESS 877 (1,174 at 1,000 steps: the shrinkage scales mix slowly), no divergence; pymc adapts more slowly: give it 1000)
chains = 4  # independent chains (R-hat needs several)
sampler = "nutpie"  # nutpie, pymc or numpyro (nutpie: the subgroup model compiled once for all completed data sets, 29-41 s per fit against pymc's 88-138 s; max R-hat 1.005-1.008 against 1.004-1.005, min ESS 1,174-1,664 against 1,332-1,565)
target_accept = 0.95  # NUTS step-size target (no divergence in 15 fits of the five data sets at 0.95, 10 with pymc and 5 with nutpie; at 0.8 the shrinkage scales of the first mixed too slowly: max R-hat 1.036, min ESS 71)
retry = True  # a fit failing the convergence checks is drawn again once: target acceptance 0.95 or more, twice the draws, a seed of its own (False: it stands, failed)
markers = None  # list of markers to analyse, such as IL-1RA and CRP; None for every NIF in the data
subgroups_file = "params/subgroups.yaml"  # subgroup definitions (14 binary splits)
splits = None  # names of the splits to analyse, such as bmi and sex; None for every split in the file
imputations = 5  # completed data sets, values under the detection limit drawn from chapter 02's posterior (0: substitute lod_fraction x limit)
nif_posterior = None  # chapter 02's saved posterior; None: 02-nif-trajectories/nif-trajectories.nc beside output_dir
lod_fraction = 0.5  # the frequentist comparisons (and runs without imputations) count values under the limit as this fraction of it (as in chapter 07)
analysis_config = "params/analysis.yaml"  # priors, regions of practical equivalence, decision levels and the paper's finding
prior_draws = 500  # draws for the prior check

# %%
from pathlib import Path

import pandas as pd
import xarray as xr

from ketamine_nif import analysis, estimates, frequentist, plotting, reporting, subgroup_analysis
from ketamine_nif.answers import subgroups as answers
from ketamine_nif.chapter import open_data
from ketamine_nif.engine import fit_each
from ketamine_nif.estimands import COUPLING_WITHIN
from ketamine_nif.identifiability import anchored, assess_subgroups
from ketamine_nif.imputation import impute_below_lod
from ketamine_nif.inference import SamplerSettings, fit
from ketamine_nif.models import Day1Priors, SubgroupPriors, build_day1_model, build_subgroup_model
from ketamine_nif.plotting.subgroups import prior_differences
from ketamine_nif.reporting import diagnostics_table, say, show_table, verdict
from ketamine_nif.subgroups import load_splits, subgroup_counts, usable

# %%
plotting.setup()
config = analysis.load(analysis_config)
focus_marker, focus_subgroup, day1_visit = (config.paper_finding[k] for k in ("marker", "subgroup", "visit"))
dataset = open_data(data_dir)
all_splits, absent = usable(load_splits(subgroups_file), dataset)
chosen = [s for s in all_splits if splits is None or s.name in splits]
posterior_file = Path(nif_posterior) if nif_posterior else Path(output_dir).parent / "02-nif-trajectories" / "nif-trajectories.nc"
imputed = bool(imputations) and posterior_file.exists()
fitted = anchored(dataset, markers)  # the markers measured at baseline (the others are named below)
completed = (impute_below_lod(dataset, xr.open_datatree(posterior_file)["posterior"], imputations, seed + 5, fitted)
             if imputed else [dataset])

# %%
data = subgroup_analysis.subgroup_data(completed[0], fitted, lod_fraction)
design = subgroup_analysis.subgroup_design(dataset, chosen, data.participants)
subgroup_priors = config.priors(SubgroupPriors)
model = build_subgroup_model(data, design, subgroup_priors=subgroup_priors)
settings = SamplerSettings(sampler=sampler, draws=draws, tune=tune, chains=chains, seed=seed, target_accept=target_accept,
                           retry=retry)
ropes = config.ropes_for(subgroup_analysis.ESTIMANDS)
rope_coupling = ropes[COUPLING_WITHIN["ketamine"]]
n_differences = subgroup_analysis.differences_tested(data, chosen)

# %% [markdown]
# ## Subgroups {#sec-subgroups-definitions}
#
# The subgroups are the binary splits of the subgroup parameter file
# (@sec-data) whose covariates these data hold. In the published trial,
# training exists only in the ketamine arm (every saline participant had
# active training), so that split compares ketamine participants with each
# other and says nothing about saline.

# %%
#| label: tbl-subgroups-counts
#| tbl-cap: "Participants per subgroup and arm."
show_table(subgroup_counts(dataset, chosen).drop(columns="definition"))

# %%
say(absent)

# %% [markdown]
# ## The model {#sec-subgroups-model}
#
# One model holds every marker $m$ and every split $k$. Each participant $i$
# belongs to one subgroup of each split; $c_{ik}$ codes it, centred:
# $1 - p_k$ in the split's first subgroup, $-p_k$ in its second ($p_k$ the
# first subgroup's share), 0 where the split does not apply (training, saline
# arm) or the covariate is missing.
#
# **Coupling (aim 2).** {{outcome}} at every visit, with the marker's log2
# concentration split, as in the original analysis, into its deviation from the
# person's mean $w_{imt}$ (within) and that mean $b_{im}$ (between):
#
# $$
# y_{imt} = a_{m,a(i),t} + g_{mi}\,w_{imt} + \lambda_m b_{im} + u_{im} + \varepsilon_{imt},\qquad
# g_{mi} = \gamma_{m,a(i)} + \sum_k c_{ik}\, d_{m,a(i),k},
# $$
#
# with a person effect $u_{im} \sim \mathrm N(0, s_m)$ (integrated out
# exactly) and $\varepsilon \sim \mathrm N(0, \sigma_m)$. $d_{m,a,k}$ is the
# difference in coupling between the two subgroups of split $k$ in arm $a$.
#
# **NIF change (aim 1).** The change in log concentration since baseline,
#
# $$
# \Delta x_{imt} = \delta_{mt} + (k_i - \bar k)\Bigl(\beta_{mt} + \sum_k c_{ik}\, e_{mk}\Bigr) + v_{im} + \eta_{imt},
# $$
#
# where $e_{mk}$ is the difference between the two subgroups in the
# {{treatment}} effect on the marker (log ratio).
#
# **Shrinkage.** The subgroup differences of one marker (and arm) share one
# scale across all splits:
#
# $$
# d_{m,a,k} = s_{ma}\, z_{m,a,k},\quad e_{mk} = s'_m\, z'_{mk},\quad z, z' \sim t_\nu(0, 1),\quad
# s_{ma} \sim \mathrm{HalfNormal}(\sigma_d),\quad s'_m \sim \mathrm{HalfNormal}(\sigma_e).
# $$
#
# If a marker's differences between subgroups are mostly noise, the data pull
# its scale towards zero and every one of its differences with it: a single
# subgroup must stand out from all the others to be believed, which is how the
# model deals with multiplicity (no correction factor is needed). The
# Student-t deviations (few degrees of freedom $\nu$) have heavy tails, so one
# large real difference is not shrunk away with the rest. (A single scale shared by all
# markers as well was tried: with 294 differences it shrank even a planted
# difference of 10 points per doubling to half its size.) $\gamma$ and $\beta$ have the fixed Student-$t$
# priors of @sec-coupling and @sec-nif-trajectories.
#
# **Priors** (@tbl-subgroups-priors). $\sigma_d$ is of the size of the region of
# practical equivalence of a coupling: subgroup differences are expected within
# it unless the data say otherwise. $\sigma_e$, on the log scale of the
# {{treatment}}/{{reference}} ratio, plays the same role for NIF change. The
# other priors are those of chapters 02 and 03.

# %%
#| label: tbl-subgroups-priors
#| tbl-cap: "Priors of the subgroup differences (from the analysis configuration, params/analysis.yaml)."
show_table(reporting.prior_table(subgroup_priors, {
    "coupling_deviation_sd": ("s_ma ~ HalfNormal(·)", "scale of a marker's subgroup differences in coupling (MADRS points per doubling)"),
    "arm_deviation_sd": ("s'_m ~ HalfNormal(·)", "scale of a marker's subgroup differences in the ketamine effect (log ratio)"),
    "nu": ("z, z' ~ t_ν(0, 1)", "degrees of freedom ν of the deviations (heavy tails)"),
}))

# %% [markdown]
# **Values under the detection limit** are not replaced by a fraction of the
# limit. They are imputed several times from the posterior of
# @sec-nif-trajectories: each completed data set takes one posterior draw of
# that model (each person's level, the change per visit and arm, the occasion
# SD) and draws every value under the limit from its normal distribution
# truncated at the limit. The subgroup model is fitted to each completed data
# set and the posterior draws are mixed [@zhou2010], so the intervals carry
# what is not known about those values; R-hat and effective sample sizes are
# computed within each fit. Two limits remain. The imputation model knows
# nothing of depression or of the subgroups, so couplings and subgroup
# differences of markers often under the limit (IL-6, IL-10) are attenuated,
# about as much as with a fixed fraction of the limit; their intervals are
# wider, as the unknown values warrant, so a planted difference is still
# covered. And five imputations estimate the between-imputation variation only
# roughly; raise `imputations` for a final analysis of real data.

# %%
say(answers.detection_limit(imputations, imputed, posterior_file.as_posix(), lod_fraction) + " "
    + answers.model_size(len(data.markers), len(chosen), len(data.y), len(data.change), n_differences))

# %% [markdown]
# ## Prior check {#sec-subgroups-prior}
#
# @fig-subgroups-prior shows what the priors alone say about a subgroup
# difference in coupling.

# %%
#| label: fig-subgroups-prior
#| fig-cap: "Prior distribution of a subgroup difference in within-person coupling ({{outcome}} points per doubling), with the region of practical equivalence shaded."
#| fig-alt: "Histogram of prior subgroup differences in coupling, concentrated near zero with heavy tails."
prior_d = subgroup_analysis.prior_deviations(model, prior_draws, seed + 1)
prior_differences(prior_d, rope_coupling)
plotting.show()

# %%
say(answers.prior_check(prior_d, rope_coupling))

# %% [markdown]
# ## Fit and diagnostics {#sec-subgroups-fit}
#
# One fit per completed data set: the first is the model above, the others
# the same model on the other completed data sets, compiled once and each
# data set swapped in, as the studies of @sec-criticism-sbc are fitted (with
# `sampler = "pymc"` the reference path instead builds and samples each fit).

# %%
#| label: tbl-subgroups-diagnostics
#| tbl-cap: "Sampler settings and convergence diagnostics of the subgroup model."
names = ["subgroups", *(f"subgroups-imputation-{k + 1}" for k in range(1, len(completed)))]
copies = [data, *(subgroup_analysis.subgroup_data(copy, fitted, lod_fraction) for copy in completed[1:])]
results = fit_each("subgroups", copies, settings, names, output_dir, design=design, subgroup_priors=subgroup_priors)
show_table(diagnostics_table(*(r.diagnostics for r in results)))

# %%
say(verdict(*(r.diagnostics for r in results)))
converged = all(r.diagnostics.converged for r in results)

# %% [markdown]
# ## Subgroup differences {#sec-subgroups-differences}

# %%
informed = assess_subgroups(dataset, all_splits, markers, subgroup_analysis.ESTIMANDS)
say(reporting.uninformed_callout(informed.gaps))
table = informed.keep(subgroup_analysis.subgroup_estimates([r.idata for r in results], data, design, ropes, converged))
differences = subgroup_analysis.subgroup_differences(table)
found = differences[estimates.detected(differences)]
scale_means, widest = subgroup_analysis.deviation_scales([r.idata for r in results])

# %%
#| label: tbl-subgroups-largest
#| tbl-cap: "The subgroup differences in coupling with the highest posterior probability of a direction: first minus second subgroup, {{outcome}} points per doubling, in each arm."
show_table(subgroup_analysis.largest_coupling_differences(differences))

# %%
say(answers.differences_found(len(differences), found, float(scale_means.min()), float(scale_means.max()),
                              float(widest.max()), rope_coupling, converged))

# %% [markdown]
# ## Shrinkage {#sec-subgroups-shrinkage}
#
# @fig-subgroups-shrinkage sets, for the marker of the paper's finding, the
# {{treatment}}-arm coupling in every subgroup estimated separately (no pooling:
# a frequentist mixed model fitted to that subgroup alone, as in
# @sec-frequentist, with its 95% confidence interval) beside the same coupling
# in the one model that pools the subgroups.

# %%
#| label: fig-subgroups-shrinkage
#| fig-cap: "Within-person coupling in the {{treatment}} arm for the paper's marker, per subgroup: separate frequentist fits (no pooling, grey, 95% confidence intervals) and the partial-pooling model (colour, 95% posterior intervals). The shaded band is the region of practical equivalence."
#| fig-alt: "Paired intervals per subgroup; the pooled intervals are narrower and drawn towards the overall coupling."
separate, _ = frequentist.all_tests(dataset, chosen, [focus_marker], lod_fraction, aims=(2,))
separate = separate[(separate["estimand"] == COUPLING_WITHIN["ketamine"]) & (separate["subgroup"] != "all")]
pooled_focus = table[(table["estimand"] == COUPLING_WITHIN["ketamine"]) & (table["marker"] == focus_marker)]
plotting.shrinkage(separate.rename(columns={"estimate": "mean"}), pooled_focus, 0.0, rope_coupling,
                   f"{focus_marker}: MADRS points per doubling, ketamine arm")
plotting.show()

# %% [markdown]
# ## The paper's finding {#sec-subgroups-finding}

# %%
finding = subgroup_analysis.finding_rows(table, separate, focus_marker, focus_subgroup)
say(answers.paper_finding(focus_marker, focus_subgroup, **finding, converged=converged))

# %% [markdown]
# ## The paper's own question: day 1 {#sec-subgroups-day1}
#
# The paper's finding was narrower than the coupling above: in participants
# with BMI < 25 given ketamine, a rise in IL-1RA from baseline to day 1 (24 h)
# went with less improvement in MADRS at day 1. That question has one
# observation per participant: the {{outcome}} change $\Delta y_i$ from baseline
# to day 1 and the marker's change $\Delta x_i$ over the same day, in doublings
# ($\log_2$ of day 1 over baseline; values under the detection limit are
# imputed as above, and the least squares beside the posterior count them as
# a fraction of the limit). In each subgroup $g$ of the split,
# {{treatment}} arm only,
#
# $$
# \Delta y_i \sim \mathrm N\bigl(a_{g} + b_{g}\,\Delta x_i + t_{g}\,(y_{i0} - \bar y_0),\ s_{g}\bigr),
# $$
#
# where $y_{i0}$ is the baseline {{outcome}} ($\bar y_0$ its mean) and $b_g$ is
# the day-1 coupling: {{outcome}} points per doubling of the marker, positive
# when a rise goes with less improvement (the paper's direction). The two
# subgroups are fitted side by side without pooling, as the paper looked at
# them, so that their difference $b_1 - b_2$ has a posterior; the pooled view is
# the one above. @tbl-subgroups-day1-priors gives the priors.

# %%
#| label: tbl-subgroups-day1-priors
#| tbl-cap: "Priors of the day-1 regressions ({{outcome}} points; from the analysis configuration, params/analysis.yaml)."
day1_priors = config.priors(Day1Priors)
show_table(reporting.prior_table(day1_priors, {
    "coupling_sd": ("b_g ~ N(0, ·)", "day-1 coupling per doubling: as a coupling in chapter 03, a few points at most"),
    "intercept_sd": ("a_g ~ N(0, ·)", "day-1 MADRS change at no change in the marker, either direction"),
    "baseline_slope_sd": ("t_g ~ N(0, ·)", "change per point of baseline MADRS: between −1 (full regression to the mean) and 0 in most trials"),
    "sigma_sd": ("s_g ~ HalfNormal(·)", "spread of a MADRS change between people: typically 5 to 10 points"),
}))

# %%
day1 = subgroup_analysis.day1_question(dataset, all_splits, focus_marker, focus_subgroup, day1_visit, lod_fraction)
say(answers.day1_participants(day1, focus_marker, focus_subgroup, day1_visit))

# %%
day1_table, day1_fits, ols = table.iloc[:0], [], {}
if day1 is not None and day1.enough:  # one fit per completed data set; the paper's least squares keep its LOD substitution
    names = ["day1_coupling", *(f"day1_coupling-imputation-{k + 1}" for k in range(1, len(completed)))]
    questions = [subgroup_analysis.day1_question(copy, all_splits, focus_marker, focus_subgroup, day1_visit, lod_fraction)
                 for copy in completed]
    day1_fits = [fit(build_day1_model(question, day1_priors), settings.for_fit(name), name, output_dir)
                 for question, name in zip(questions, names, strict=True)]
    day1_converged = all(f.diagnostics.converged for f in day1_fits)
    day1_table = subgroup_analysis.day1_estimates([f.idata for f in day1_fits], day1, ropes, day1_converged)
    ols = {label: subgroup_analysis.day1_ols(day1, label) for label in day1.labels}

# %%
#| label: tbl-subgroups-day1
#| tbl-cap: "Day-1 coupling in the {{treatment}} arm: {{outcome}} change from baseline to day 1 per doubling of the marker over the same day, adjusted for baseline {{outcome}}. Bayesian posterior (95% interval, probability of a positive slope) and ordinary least squares in each subgroup alone (95% confidence interval, p-value)."
if day1_fits:
    show_table(subgroup_analysis.day1_comparison(day1_table, day1, ols), digits=3)
else:
    say("No day-1 estimates on these data (see above).")

# %%
if day1_fits:
    problems = [p for f in day1_fits for p in f.diagnostics.problems()]
    say(answers.day1_finding(day1_table, day1, focus_subgroup, ols[focus_subgroup], problems,
                             config.equivalence_level, 2 * len(all_splits)))

# %%
saved = estimates.write(informed.keep(pd.concat([table, day1_table], ignore_index=True)), output_dir)

# %% [markdown]
# ## Answer {#sec-subgroups-answer}

# %%
say(answers.answer(len(differences), len(found), converged))

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
draws = 1000  # posterior draws per chain
tune = 1000  # tuning steps per chain (the shrinkage scales mix slowly)
chains = 4  # independent chains (R-hat needs several)
sampler = "pymc"  # pymc, nutpie or numpyro
target_accept = 0.99  # NUTS step-size target (the heavy-tailed deviations need small steps: at 0.95 the book's fits had 1-3 divergences each)
markers = None  # list of markers to analyse, such as IL-1RA and CRP; None for every NIF in the data
subgroups_file = "params/subgroups.yaml"  # subgroup definitions (14 binary splits)
splits = None  # names of the splits to analyse, such as bmi and sex; None for every split in the file
imputations = 5  # completed data sets, values under the detection limit drawn from chapter 02's posterior (0: substitute lod_fraction x limit)
nif_posterior = None  # chapter 02's saved posterior; None: 02-nif-trajectories/nif-trajectories.nc beside output_dir
lod_fraction = 0.5  # the frequentist comparisons (and runs without imputations) count values under the limit as this fraction of it (as in chapter 07)
analysis_config = "params/analysis.yaml"  # priors, regions of practical equivalence, decision levels and the paper's finding
prior_draws = 500  # draws for the prior check

# %%
import logging
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pymc as pm
import xarray as xr

from ketamine_nif import analysis, estimates, frequentist, plotting
from ketamine_nif.contract import load_dataset
from ketamine_nif.estimands import (
    COUPLING_WITHIN,
    NIF_CHANGE_RATIO,
    SUBGROUP_COUPLING_DIFFERENCE,
    SUBGROUP_NIF_RATIO,
)
from ketamine_nif.imputation import impute_below_lod
from ketamine_nif.inference import SamplerSettings, fit
from ketamine_nif.models.subgroups import (
    MIN_DAY1_PARTICIPANTS,
    Day1Priors,
    SubgroupPriors,
    build_day1_model,
    build_subgroup_model,
    day1_data,
    day1_estimates,
    day1_ols,
    mixed_posterior,
    subgroup_data,
    subgroup_design,
    subgroup_estimates,
)
from ketamine_nif.reporting import diagnostics_table, join_words, say, show_table, verdict
from ketamine_nif.subgroups import load_splits, subgroup_counts

plotting.setup()
config = analysis.load(analysis_config)
focus_marker, focus_subgroup, day1_visit = (config.paper_finding[k] for k in ("marker", "subgroup", "visit"))
dataset = load_dataset(data_dir)
chosen = [s for s in load_splits(subgroups_file) if splits is None or s.name in splits]
posterior_file = Path(nif_posterior) if nif_posterior else Path(output_dir).parent / "02-nif-trajectories" / "nif-trajectories.nc"
completed = (impute_below_lod(dataset, xr.open_datatree(posterior_file)["posterior"], imputations, seed + 5, markers)
             if imputations and posterior_file.exists() else [dataset])
data = subgroup_data(completed[0], markers, lod_fraction)
design = subgroup_design(dataset, chosen, data.participants)
subgroup_priors = config.priors(SubgroupPriors)
model = build_subgroup_model(data, design, subgroup_priors=subgroup_priors)
settings = SamplerSettings(sampler=sampler, draws=draws, tune=tune, chains=chains, seed=seed, target_accept=target_accept)
ropes = config.ropes_for([*COUPLING_WITHIN.values(), *SUBGROUP_COUPLING_DIFFERENCE.values(), NIF_CHANGE_RATIO, SUBGROUP_NIF_RATIO])
rope_coupling = ropes[COUPLING_WITHIN["ketamine"]]
n_tests = len(data.markers) * len(chosen) * 3  # two arms' coupling differences and one NIF ratio per marker and split

# %% [markdown]
# ## Subgroups {#sec-subgroups-definitions}
#
# The subgroups are the binary splits of the subgroup parameter file
# (@sec-data). Training exists only in the ketamine arm (every saline
# participant had active training), so that split compares ketamine
# participants with each other and says nothing about saline.

# %%
#| label: tbl-subgroups-counts
#| tbl-cap: "Participants per subgroup and arm."
show_table(subgroup_counts(dataset, chosen).drop(columns="definition"))

# %% [markdown]
# ## The model {#sec-subgroups-model}
#
# One model holds every marker $m$ and every split $k$. Each participant $i$
# belongs to one subgroup of each split; $c_{ik}$ codes it, centred:
# $1 - p_k$ in the split's first subgroup, $-p_k$ in its second ($p_k$ the
# first subgroup's share), 0 where the split does not apply (training, saline
# arm) or the covariate is missing.
#
# **Coupling (aim 2).** MADRS at every visit, with the marker's log2
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
# where $e_{mk}$ is the difference between the two subgroups in the ketamine
# effect on the marker (log ratio).
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
# its scale towards zero and every one of its 14 differences with it: a single
# subgroup must stand out from all the others to be believed, which is how the
# model deals with multiplicity (no correction factor is needed). The
# Student-t deviations ($\nu = 3$) have heavy tails, so one large real
# difference is not shrunk away with the rest. (A single scale shared by all
# markers as well was tried: with 294 differences it shrank even a planted
# difference of 10 points per doubling to half its size.) $\gamma$ and $\beta$ have the fixed Student-$t$
# priors of @sec-coupling and @sec-nif-trajectories.
#
# **Priors.** $\sigma_d$ is one MADRS point per doubling, the region of
# practical equivalence of a coupling: subgroup differences are expected
# within it unless the data say otherwise. $\sigma_e$ = 0.1 on the log scale
# (a 10% difference in the ketamine/saline ratio) plays the same role for NIF
# change. The other priors are those of chapters 02 and 03.
#
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
say(
    (f"Values under the detection limit: {len(completed)} completed data sets drawn from `{posterior_file.as_posix()}`. "
     if len(completed) > 1 else
     f"Values under the detection limit count as {lod_fraction:g} of the limit (no imputation: "
     + ("`imputations` is 0)." if not imputations else f"`{posterior_file.as_posix()}` is missing; run chapter 02 first).") + " ")
    + f"The model covers {len(data.markers)} markers and {len(chosen)} splits ({2 * len(chosen)} subgroups): "
    f"{len(data.y)} MADRS ratings paired with a marker value and {len(data.change)} post-infusion changes in a marker. "
    f"It estimates {n_tests} subgroup differences ({len(data.markers)} markers × {len(chosen)} splits × "
    "coupling in each arm and ketamine effect on the marker)."
)

# %% [markdown]
# ## Prior check {#sec-subgroups-prior}
#
# @fig-subgroups-prior shows what the priors alone say about a subgroup
# difference in coupling.

# %%
#| label: fig-subgroups-prior
#| fig-cap: "Prior distribution of a subgroup difference in within-person coupling (MADRS points per doubling), with the region of practical equivalence shaded."
#| fig-alt: "Histogram of prior subgroup differences in coupling, concentrated near zero with heavy tails."
with warnings.catch_warnings():  # the likelihood is a Potential: prior draws of the deviations only, as intended
    warnings.simplefilter("ignore", UserWarning)
    logging.getLogger("pymc").setLevel(logging.ERROR)
    prior = pm.sample_prior_predictive(draws=prior_draws, model=model, random_seed=seed + 1,
                                       var_names=["coupling_deviation", "arm_deviation"])
prior_d = np.asarray(prior.prior["coupling_deviation"]).ravel()
fig, ax = plt.subplots(figsize=(plotting.FIGURE_WIDTH * 0.6, 2.6))
ax.hist(np.clip(prior_d, -10, 10), bins=80, density=True, color="0.6")
ax.axvspan(*rope_coupling, color="#56B4E9", alpha=0.35, label="practical equivalence")
ax.set_xlabel("subgroup difference in coupling (MADRS points per doubling)")
ax.set_yticks([])
ax.legend(fontsize=8)
plt.show()

# %%
say(
    f"Before seeing the data, {100 * np.mean(np.abs(prior_d) <= rope_coupling[1]):.0f}% of the prior mass of a subgroup "
    f"difference lies inside ±{rope_coupling[1]:g} point per doubling, and {100 * np.mean(np.abs(prior_d) > 5):.1f}% beyond "
    "±5 points: the prior expects subgroups to be alike, but leaves room for a large difference."
)

# %% [markdown]
# ## Fit and diagnostics {#sec-subgroups-fit}

# %%
#| label: tbl-subgroups-diagnostics
#| tbl-cap: "Sampler settings and convergence diagnostics of the subgroup model."
results = [fit(model if k == 0 else build_subgroup_model(subgroup_data(copy, markers, lod_fraction), design, subgroup_priors=subgroup_priors),
               settings.for_fit(name := "subgroups" if k == 0 else f"subgroups-imputation-{k + 1}"), name, output_dir)
           for k, copy in enumerate(completed)]
show_table(diagnostics_table(*(r.diagnostics for r in results)))

# %%
say(verdict(*(r.diagnostics for r in results)))
converged = all(r.diagnostics.converged for r in results)

# %% [markdown]
# ## Subgroup differences {#sec-subgroups-differences}

# %%
table = subgroup_estimates([r.idata for r in results], data, design, ropes, converged)  # written with the day-1 rows below
differences = table[table["estimand"].isin([*SUBGROUP_COUPLING_DIFFERENCE.values(), SUBGROUP_NIF_RATIO])]
found = differences[estimates.detected(differences)]
scale = mixed_posterior([r.idata for r in results])["coupling_deviation_scale"]  # (marker, arm)
scale_means = scale.mean(("chain", "draw"))
widest = scale.quantile(0.975, ("chain", "draw"))

# %%
#| label: tbl-subgroups-largest
#| tbl-cap: "The subgroup differences in coupling with the highest posterior probability of a direction: first minus second subgroup, MADRS points per doubling, in each arm."
coupling_diffs = differences[differences["estimand"] != SUBGROUP_NIF_RATIO].copy()
coupling_diffs["certainty"] = np.maximum(coupling_diffs["p_positive"], 1 - coupling_diffs["p_positive"])
top = coupling_diffs.sort_values("certainty", ascending=False).head(8)
show_table(top.assign(arm=top["estimand"].str.replace("coupling_subgroup_difference_", ""),
                      estimate=[f"{r.mean:+.1f} [{r.ci_low:+.1f}, {r.ci_high:+.1f}]" for r in top.itertuples()])
           [["marker", "arm", "subgroup", "estimate", "p_positive", "p_rope"]]
           .rename(columns={"subgroup": "split", "estimate": "difference [95% interval]", "p_positive": "P(> 0)",
                            "p_rope": "P(ROPE)"}))

# %%
say(
    f"Of the {len(differences)} subgroup differences, {len(found) or 'none'} {'has' if len(found) < 2 else 'have'} a 95% "
    f"posterior interval that excludes zero (no difference){': ' + join_words(f'{r.marker}, {r.subgroup} ({r.estimand.rsplit(chr(95), 1)[-1]})' for r in found.itertuples()) if len(found) else ''}. "
    f"The scales of the coupling differences (one per marker and arm) have posterior means from "
    f"{float(scale_means.min()):.2f} to {float(scale_means.max()):.2f} points per doubling, and none has its 97.5% "
    f"quantile above {float(widest.max()):.2f}: "
    + ("the data see little variation between subgroups beyond noise." if float(scale_means.max()) < rope_coupling[1]
       else "the data see real variation between subgroups for some marker.")
)

# %% [markdown]
# ## Shrinkage {#sec-subgroups-shrinkage}
#
# @fig-subgroups-shrinkage sets, for the marker of the paper's finding, the
# ketamine-arm coupling in every subgroup estimated separately (no pooling: a
# frequentist mixed model fitted to that subgroup alone, as in
# @sec-frequentist, with its 95% confidence interval) beside the same coupling
# in the one model that pools the subgroups.

# %%
#| label: fig-subgroups-shrinkage
#| fig-cap: "Within-person coupling in the ketamine arm for the paper's marker, per subgroup: separate frequentist fits (no pooling, grey, 95% confidence intervals) and the partial-pooling model (colour, 95% posterior intervals). The shaded band is the region of practical equivalence."
#| fig-alt: "Paired intervals per subgroup; the pooled intervals are narrower and drawn towards the overall coupling."
separate, _ = frequentist.all_tests(dataset, chosen, [focus_marker], lod_fraction, aims=(2,))
separate = separate[(separate["estimand"] == COUPLING_WITHIN["ketamine"]) & (separate["subgroup"] != "all")]
pooled_focus = table[(table["estimand"] == COUPLING_WITHIN["ketamine"]) & (table["marker"] == focus_marker)]
plotting.shrinkage(separate.rename(columns={"estimate": "mean"}), pooled_focus, 0.0, rope_coupling,
                   f"{focus_marker}: MADRS points per doubling, ketamine arm")
plt.show()

# %% [markdown]
# ## The paper's finding {#sec-subgroups-finding}

# %%
focus = pooled_focus[pooled_focus["subgroup"] == focus_subgroup]
split_row = differences[(differences["marker"] == focus_marker) & differences["subgroup"].str.startswith(f"{focus_subgroup} vs")
                        & (differences["estimand"] == SUBGROUP_COUPLING_DIFFERENCE["ketamine"])]
no_pool = separate[separate["subgroup"] == focus_subgroup]
if focus.empty or split_row.empty:
    say(f"The subgroup {focus_subgroup!r} or the marker {focus_marker!r} is not part of this run.")
else:
    f, d = focus.iloc[0], split_row.iloc[0]
    separate_text = (f"Fitted alone, the subgroup gives {no_pool.iloc[0]['estimate']:+.1f} points per doubling "
                     f"(95% CI {no_pool.iloc[0]['ci_low']:+.1f} to {no_pool.iloc[0]['ci_high']:+.1f}, p = {no_pool.iloc[0]['p_value']:.3f}). "
                     if not no_pool.empty else "")
    say(
        f"**{focus_marker} in participants with {focus_subgroup}, ketamine arm.** {separate_text}In the pooled model, a "
        f"doubling of {focus_marker} within a person goes with {f['mean']:+.1f} MADRS points (95% interval "
        f"{f['ci_low']:+.1f} to {f['ci_high']:+.1f}; P(> 0) = {f['p_positive']:.2f}); it differs from the other BMI "
        f"subgroup by {d['mean']:+.1f} points (95% interval {d['ci_low']:+.1f} to {d['ci_high']:+.1f}; P(> 0) = "
        f"{d['p_positive']:.2f}). "
        + ("In plain words: once every subgroup is weighed together, this subgroup does stand out."
           if estimates.detected(split_row).iloc[0] else
           "In plain words: once every subgroup is weighed together, this subgroup does not stand out from the others; "
           "the coupling there is not distinguishable from the coupling elsewhere.")
        + " The coupling here is the slope across all visits (day 1 included), as in the original analysis's model; "
        "the paper's own day-1 question follows in @sec-subgroups-day1."
    )

# %% [markdown]
# ## The paper's own question: day 1 {#sec-subgroups-day1}
#
# The paper's finding was narrower than the coupling above: in participants
# with BMI < 25 given ketamine, a rise in IL-1RA from baseline to day 1 (24 h)
# went with less improvement in MADRS at day 1. That question has one
# observation per participant: the MADRS change $\Delta y_i$ from baseline to
# day 1 and the marker's change $\Delta x_i$ over the same day, in doublings
# ($\log_2$ of day 1 over baseline; values under the detection limit count as
# a fraction of the limit, as above). In each subgroup $g$ of the split,
# ketamine arm only,
#
# $$
# \Delta y_i \sim \mathrm N\bigl(a_{g} + b_{g}\,\Delta x_i + t_{g}\,(y_{i0} - \bar y_0),\ s_{g}\bigr),
# $$
#
# where $y_{i0}$ is the baseline MADRS ($\bar y_0$ its mean) and $b_g$ is the
# day-1 coupling: MADRS points per doubling of the marker, positive when a rise
# goes with less improvement (the paper's direction). The two subgroups are
# fitted side by side without pooling, as the paper looked at them, so that
# their difference $b_1 - b_2$ has a posterior; the pooled view is the one
# above.
#
# **Priors.** $b_g \sim \mathrm N(0, 3)$, chapter 03's prior for a coupling
# (@sec-coupling): a doubling is expected to move MADRS by a few points at
# most. $a_g \sim \mathrm N(0, 10)$: a day-1 change of up to about 20 points in
# either direction at no change in the marker. $t_g \sim \mathrm N(0, 1)$: the
# change per point of baseline lies between $-1$ (full regression to the mean)
# and 0 in most trials. $s_g \sim \mathrm{HalfNormal}(10)$: the spread of a
# MADRS change between people is typically 5 to 10 points.

# %%
focus_split = next((s for s in load_splits(subgroups_file) if focus_subgroup in s.labels), None)
day1 = (day1_data(dataset, focus_split, focus_marker, day1_visit, lod_fraction)
        if focus_split is not None and focus_marker in dataset.markers and day1_visit in dataset.visits else None)
day1_table = table.iloc[:0]
if day1 is None:
    say(f"The subgroup {focus_subgroup!r}, the marker {focus_marker!r} or the visit {day1_visit!r} is not in this run's data, "
        "so the day-1 question is not asked.")
else:
    other = next(label for label in day1.labels if label != focus_subgroup)
    left = sum(day1.left_out.values())
    say(
        f"In the ketamine arm, {day1.count(focus_subgroup)} participants with {focus_subgroup} and {day1.count(other)} with "
        f"{other} have MADRS and {focus_marker} at baseline and at {day1_visit}; "
        + (f"{left} more ({day1.left_out[focus_subgroup]} with {focus_subgroup}, {day1.left_out[other]} with {other}) lack "
           "one of these values and are left out."
           if left else "none is left out for a missing value.")
        + ("" if day1.enough else
           f" That is fewer than {MIN_DAY1_PARTICIPANTS} in a subgroup, too few to estimate a slope there: the day-1 "
           "question is not fitted on these data.")
    )

# %%
#| label: tbl-subgroups-day1
#| tbl-cap: "Day-1 coupling in the ketamine arm: MADRS change from baseline to day 1 per doubling of the marker over the same day, adjusted for baseline MADRS. Bayesian posterior (95% interval, probability of a positive slope) and ordinary least squares in each subgroup alone (95% confidence interval, p-value)."
if day1 is not None and day1.enough:
    day1_fits = [fit(build_day1_model(day1_data(copy, focus_split, focus_marker, day1_visit, lod_fraction),
                                      config.priors(Day1Priors)),
                     settings.for_fit(name := "day1_coupling" if k == 0 else f"day1_coupling-imputation-{k + 1}"), name, output_dir)
                 for k, copy in enumerate(completed)]  # the paper's least squares below keep its LOD substitution
    day1_converged = all(f.diagnostics.converged for f in day1_fits)
    day1_table = day1_estimates([f.idata for f in day1_fits], day1, ropes, day1_converged)
    ols = {label: day1_ols(day1, label) for label in day1.labels}
    show_table(day1_table.assign(
        participants=[day1.count(r.subgroup) if r.subgroup in ols else len(day1.table) for r in day1_table.itertuples()],
        posterior=[f"{r.mean:+.1f} [{r.ci_low:+.1f}, {r.ci_high:+.1f}]" for r in day1_table.itertuples()],
        least_squares=[f"{ols[r.subgroup]['estimate']:+.1f} [{ols[r.subgroup]['ci_low']:+.1f}, {ols[r.subgroup]['ci_high']:+.1f}]"
                       if r.subgroup in ols else "" for r in day1_table.itertuples()],
        p_value=[f"{ols[r.subgroup]['p_value']:.3f}" if r.subgroup in ols else "" for r in day1_table.itertuples()],
    )[["subgroup", "participants", "posterior", "p_positive", "least_squares", "p_value"]]
        .rename(columns={"posterior": "posterior mean [95% interval]", "p_positive": "P(> 0)",
                         "least_squares": "least squares [95% CI]", "p_value": "p"}), digits=3)
else:
    say("No day-1 estimates on these data (see above).")

# %%
if day1 is not None and day1.enough:
    f = day1_table[day1_table["subgroup"] == focus_subgroup].iloc[0]
    d = day1_table[day1_table["estimand"] == SUBGROUP_COUPLING_DIFFERENCE["ketamine"]].iloc[0]
    o = ols[focus_subgroup]
    if not day1_converged:
        meaning = (f"The fit did not pass the convergence checks ({join_words(p for f in day1_fits for p in f.diagnostics.problems())}), "
                   "so these numbers are not findings.")
    elif f["p_positive"] >= estimates.DETECTION:
        meaning = ("The data agree with the paper's claim in this subgroup"
                   + (", and the coupling there differs from the other subgroup's." if d["p_positive"] >= estimates.DETECTION
                      else f", but not that it is special to it: the coupling there is not distinguishable from that in "
                           f"participants with {other}."))
    elif f["p_positive"] <= 1 - estimates.DETECTION:
        meaning = "The data point the other way from the paper's claim: a rise went with more improvement."
    else:
        meaning = ("The data do not support the paper's claim: the 95% interval includes no coupling"
                   + (", and an effect of practical size cannot be ruled out either." if f["p_rope"] < config.equivalence_level else
                      ", and a coupling of practical size is ruled out."))
    say(
        f"**Day 1, {focus_marker}, {focus_subgroup}, ketamine arm.** Each doubling of {focus_marker} from baseline to "
        f"{day1_visit} went with a MADRS change of {f['mean']:+.1f} points (95% interval {f['ci_low']:+.1f} to "
        f"{f['ci_high']:+.1f}); the probability that a rise went with less improvement, as the paper found, is "
        f"{f['p_positive']:.3f}. The slope differs from that in participants with {other} by {d['mean']:+.1f} points "
        f"(95% interval {d['ci_low']:+.1f} to {d['ci_high']:+.1f}; P(> 0) = {d['p_positive']:.2f}). Fitted the paper's "
        f"way, by least squares in this subgroup alone, the slope is {o['estimate']:+.1f} (95% CI {o['ci_low']:+.1f} to "
        f"{o['ci_high']:+.1f}, p = {o['p_value']:.3f})"
        + ("; the posterior lies nearer zero because the prior expects a doubling to move MADRS by a few points at most. "
           if abs(f["mean"]) < abs(o["estimate"]) else ". ")
        + f"{meaning} This is one of many looks at these data (the paper's finding was one of "
        f"{2 * len(load_splits(subgroups_file))} subgroups, several markers and three questions; the pooled model above "
        "weighs it among all of them)"
        + (", so one result this strong is expected somewhere by chance and is not, by itself, evidence of a "
           "subgroup-specific effect." if max(f["p_positive"], 1 - f["p_positive"]) >= estimates.DETECTION else ".")
    )

# %%
estimates.write(pd.concat([table, day1_table], ignore_index=True), output_dir)

# %% [markdown]
# ## Answer {#sec-subgroups-answer}

# %%
if not converged:
    say("**No answer is given**: a fit did not pass the convergence checks (see above), so its numbers are not findings.")
else:
    say(
        f"Across {len(differences)} subgroup differences (couplings in each arm and ketamine effects on each marker), "
        + (f"{len(found)} stand out from the rest" if len(found) else "none stands out from the rest")
        + ". Testing each subgroup separately at p < 0.05 would produce about "
        f"{0.05 * len(differences):.0f} such 'findings' by chance alone (see @sec-frequentist); the pooled model "
        "asks instead whether a difference is larger than the variation between all subgroups, and answers in "
        "probabilities rather than in counts of significant tests."
    )

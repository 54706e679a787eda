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
#     inputs: [studies/recovery/results.csv, studies/recovery-madrs/results.csv, studies/sbc/results.csv, studies/lod-bias-planted-effects/lod-bias-summary.csv]
# ---

# %% [markdown]
# # Model criticism {#sec-model-criticism}
#
# Can the models of this report be trusted? This chapter puts them to the
# tests a sceptical reviewer would ask for: do data simulated from the fitted
# models look like the data; do simpler or more robust variants predict
# left-out participants better; do the conclusions move when the priors are
# made stronger or weaker; how should values under the detection limit be
# handled, judged on a twin where the truth is known; and does the fitting
# procedure itself recover known truths (the recovery study) and give
# calibrated posteriors (simulation-based calibration). The heavy studies are
# scripts whose saved results this chapter reads; it says so when they are
# missing.

# %% tags=["parameters"]
data_dir = "data/synthetic"  # the data directory (contract: data/README.md)
output_dir = "_build/outputs/08-model-criticism"  # estimates.csv, diagnostics.json, posteriors
seed = 20250404  # every random draw below derives from this
draws = 1000  # posterior draws per chain for each variant (at 500 the R-hat of the person levels stays above 1.01)
tune = 1000  # tuning steps per chain
chains = 4  # independent chains
sampler = "pymc"  # pymc, nutpie or numpyro
target_accept = 0.95  # NUTS step-size target
markers = ["IL-6", "IL-10"]  # markers for the aim 1 variants: the two most often under the detection limit
quadrature_nodes = 24  # Gauss-Hermite nodes for integrating out each person's level (leave-one-participant-out)
prior_scale_factor = 2.0  # refit with the prior scale of the arm effects (the slab) multiplied and divided by this
recovery_dir = "studies/recovery"  # saved by: ketamine-nif sweep sweeps/recovery.yaml
recovery_madrs_dir = "studies/recovery-madrs"  # saved by: ketamine-nif sweep sweeps/recovery-madrs.yaml
lod_study_dir = "studies/lod-bias-planted-effects"  # saved by benchmarks/lod_bias.py
sbc_dir = "studies/sbc"  # saved by: ketamine-nif sweep sweeps/sbc.yaml
analysis_config = "params/analysis.yaml"  # priors and the region of practical equivalence

# %%
import logging
import warnings
from dataclasses import replace
from pathlib import Path

import arviz_stats
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pymc as pm

from ketamine_nif import analysis, checks, criticism, estimates, plotting
from ketamine_nif.chapter import start
from ketamine_nif.estimands import NIF_CHANGE_RATIO
from ketamine_nif.inference import SamplerSettings, fit
from ketamine_nif.models import (
    OutcomePriors,
    TrajectoryPriors,
    build_nif_trajectory_model,
    build_outcome_model,
)
from ketamine_nif.recovery import show_study
from ketamine_nif.reporting import diagnostics_table, join_words, say, show_table, verdict
from ketamine_nif.sweep import read_saved

logging.getLogger("arviz_stats").setLevel(logging.ERROR)  # its advice is in the prose below
warnings.filterwarnings("ignore", message="Estimated shape parameter of Pareto")  # Pareto k is tabled below
out, data = start(data_dir, output_dir, markers)
settings = SamplerSettings(sampler=sampler, draws=draws, tune=tune, chains=chains, seed=seed, target_accept=target_accept)
config = analysis.load(analysis_config)
book_priors = config.priors(TrajectoryPriors)
rope = config.rope(NIF_CHANGE_RATIO)

# %% [markdown]
# ## The variants {#sec-criticism-variants}
#
# The aim 1 model (@sec-nif-trajectories) is fitted five ways to the same
# markers: as in the book (normal occasion-to-occasion noise, values under the
# detection limit as censored), with Student-$t$ noise (robust to outlying
# values), with the common substitution of a value under the limit $L$ by
# $L/2$ or by $L/\sqrt 2$, taken as if measured, and with person-level slopes.
# The book's model gives each participant their own stable level of each
# marker but lets the course after the infusion differ only between the arms;
# the slopes variant adds each participant's own linear course over the days
# since the infusion $d_t$ (0 before it; the visits' median days below):
#
# $$\log y_{imt} = \dots + g_{im}\, d_t, \qquad g_{im} \sim \mathcal N(0, \omega_m), \qquad \omega_m \sim \text{Half-Normal}(\cdot).$$
#
# The depression outcome model behind aims 2 and 3 (@sec-coupling) is fitted
# once for its predictive check.

# %%
slope_scale, last_day = book_priors.person_slope_sd, float(data.visit_days[-1])
say(f"The visits fall {join_words(f'{d:.1f}' for d in data.visit_days[1:])} days after the infusion. The prior scale of "
    f"$\\omega_m$ is {slope_scale:g} per day: one SD of slopes then moves a person's level by a factor of up to about "
    f"{np.exp(slope_scale * last_day):.1f} by day {last_day:.0f}, more than short-term biological variation should.")

# %%
#| label: tbl-criticism-diagnostics
#| tbl-cap: "The fits of this chapter: sampler settings and convergence diagnostics."
VARIANTS = {
    "normal, censored": {"likelihood": "normal", "below_lod": "censored"},
    "Student-t, censored": {"likelihood": "student", "below_lod": "censored"},
    "normal, LOD/2": {"likelihood": "normal", "below_lod": "lod/2"},
    "normal, LOD/√2": {"likelihood": "normal", "below_lod": "lod/sqrt2"},
    "normal, censored, person slopes": {"likelihood": "normal", "below_lod": "censored", "person_slopes": True},
}
FIT_NAMES = {"normal, censored": "nif-normal", "Student-t, censored": "nif-student", "normal, LOD/2": "nif-lod-half",
             "normal, LOD/√2": "nif-lod-sqrt2", "normal, censored, person slopes": "nif-person-slopes"}
fits = {}
for label, options in VARIANTS.items():
    variant_settings = settings.for_fit(FIT_NAMES[label])
    if options.get("person_slopes"):  # the SD of the slopes mixes slowly: twice the draws for its ESS
        variant_settings = replace(variant_settings, draws=2 * draws)
    fits[label] = fit(build_nif_trajectory_model(data, priors=book_priors, **options), variant_settings, FIT_NAMES[label], out)
outcome_fit = fit(build_outcome_model(data, priors=config.priors(OutcomePriors)), settings.for_fit("depression"), "depression", out)
all_diagnostics = [f.diagnostics for f in fits.values()] + [outcome_fit.diagnostics]
show_table(diagnostics_table(*all_diagnostics))

# %%
say(verdict(*all_diagnostics))

# %% [markdown]
# ## Posterior predictive checks {#sec-criticism-ppc}
#
# Data simulated from a fitted model, reported as the laboratory reports them
# (values under the limit shown at the limit), should look like the data.
# @fig-criticism-ppc-distributions compares the whole distribution of each
# marker's log concentration with that of replicated data sets, for the book's
# model and for the LOD/2 substitution; @fig-criticism-ppc-trajectories and
# @fig-criticism-ppc-outcome compare the mean course by arm.

# %%
#| label: fig-criticism-ppc-distributions
#| fig-cap: "Distribution check: the observed cumulative distribution of log concentrations (line) within the 90% range of replicated ones (band), per marker (columns), for the censored model (top row) and the LOD/2 substitution (bottom row)."
#| fig-alt: "Panels of cumulative distribution curves of observed log concentrations lying inside grey bands of replicated curves."
replicates = {}
for offset, label in enumerate(("normal, censored", "normal, LOD/2"), start=1):
    names = ["log_nif", "log_nif_censored"] if (label.endswith("censored") and data.nif_censored.any()) else ["log_nif"]
    group = checks.posterior_predictive(fits[label].idata, fits[label].model, seed + 10 + offset, names).posterior_predictive
    replicates[label] = criticism.nif_replicates_any(group, data)
observed = np.maximum(data.nif_log, data.nif_log_lod)
panels = {}
for label, rep in replicates.items():
    for j, marker in enumerate(data.markers):
        rows = data.nif_marker == j
        grid = np.linspace(*np.quantile(observed[rows], [0.0, 1.0]), 80)
        panels[f"{marker} ({label.split(', ')[1]})"] = criticism.ecdf_check(observed[rows], rep[::4, rows], grid)
criticism.plot_ecdf_checks(panels, "log concentration", columns=len(data.markers))
plt.show()

# %%
outside = {name: float(((c["observed"] < c["low"]) | (c["observed"] > c["high"])).mean()) for name, c in panels.items()}
by_variant = {label.split(", ")[1]: np.mean([v for k, v in outside.items() if k.endswith(f"({label.split(', ')[1]})")])
              for label in replicates}
worst = max(outside, key=outside.get)
better = min(by_variant, key=by_variant.get)
say(
    "Share of evaluation points where the observed distribution leaves the 90% band of replicated ones, averaged over "
    "markers: " + join_words(f"{100 * v:.0f}% with the {k} treatment" for k, v in by_variant.items())
    + f" (worst panel: {worst}, {100 * outside[worst]:.0f}%). "
    + (f"The {better} treatment reproduces the reported distribution better"
       + (": a model fitted to values substituted at half the limit learns a distribution that reaches too far down, so "
          "its replicates pile too many values up at the limit." if better == "censored" else ".")
       if abs(np.diff(list(by_variant.values()))[0]) > 0.05 else "The two reproduce the reported distribution about equally well.")
)

# %%
#| label: fig-criticism-ppc-trajectories
#| fig-cap: "Trajectory check of the book's aim 1 model: observed mean log concentration by arm and visit (dots) and the 90% range of replicated means (bars)."
#| fig-alt: "Panels per marker comparing observed mean log concentrations with bars of replicated means for both arms at each visit."
ppc = checks.nif_check(data, replicates["normal, censored"])
plotting.predictive_check(ppc, "mean log concentration")
plt.show()

# %%
#| label: fig-criticism-ppc-outcome
#| fig-cap: "Trajectory check of the depression outcome model (aims 2 and 3): observed mean MADRS by arm and post-infusion visit (dots) and the 90% range of replicated means (bars)."
#| fig-alt: "Observed mean depression scores for the ketamine and saline arms at each visit inside bars of replicated means."
outcome_group = checks.posterior_predictive(outcome_fit.idata, outcome_fit.model, seed + 20, ["y"]).posterior_predictive
outcome_ppc = checks.outcome_check(data, checks.outcome_replicates(outcome_group))
plotting.predictive_check(outcome_ppc, "mean MADRS")
plt.show()

# %%
inside_nif = ((ppc["observed"] >= ppc["low"]) & (ppc["observed"] <= ppc["high"])).mean()
inside_outcome = ((outcome_ppc["observed"] >= outcome_ppc["low"]) & (outcome_ppc["observed"] <= outcome_ppc["high"])).mean()
say(
    f"The observed mean lies within the 90% range of replicated means in {100 * inside_nif:.0f}% of the {len(ppc)} "
    f"marker × arm × visit cells of the aim 1 model and in {100 * inside_outcome:.0f}% of the {len(outcome_ppc)} arm × visit "
    "cells of the outcome model (about 90% is expected when a model describes the data). The coupling and moderation "
    "models of aims 2 and 3 carry the same outcome model and the aim 1 trajectories; their own predictive checks are in "
    "their chapters."
)

# %% [markdown]
# ## Leave-one-participant-out comparison {#sec-criticism-loo}
#
# Which variant predicts a new participant best? Leaving out single
# observations would ask the wrong question (a participant's other visits
# still inform their own level), and leaving out a whole participant while
# their own level parameters stay in the model breaks importance sampling
# (Pareto $k > 0.7$ for most participants). So each participant's levels are
# integrated out, by Gauss-Hermite quadrature over the level of each marker,
# and PSIS-LOO [@vehtari2017] is run on the resulting per-participant
# likelihood (`arviz_stats.loo` and `compare`); for the slopes variant each
# participant's slope is integrated out as well (a product grid). Every
# variant is scored on the data as observed: a value under the limit counts
# with the probability of being under the limit, also for the substitution
# variants, so that all five predict the same thing.

# %%
#| label: tbl-criticism-loo
#| tbl-cap: "Leave-one-participant-out comparison (integrated PSIS-LOO): expected log predictive density (elpd) of each variant, difference from the best with its standard error, stacking weight, and the share of participants with Pareto k > 0.7."
elpd = {}
for label, options in VARIANTS.items():
    per_person = criticism.integrated_participant_log_likelihood(fits[label].idata.posterior, data, options["likelihood"],
                                                                 nodes=quadrature_nodes)
    elpd[label] = criticism.participant_loo(fits[label].idata, per_person, data.participants)
loo_table = criticism.comparison_table(elpd)
show_table(pd.DataFrame({
    "variant": loo_table.index, "elpd": loo_table["elpd"].round(1), "difference": loo_table["elpd_diff"].round(1),
    "SE of difference": loo_table["dse"].round(1), "weight": loo_table["weight"].round(2),
    "share k > 0.7": loo_table["share_k_over_0.7"].round(2),
}))

# %%
best = loo_table.index[0]
clear = loo_table[(-loo_table["elpd_diff"] > 4) & (-loo_table["elpd_diff"] > 2 * loo_table["dse"])]  # elpd_diff < 0: worse
student_vs_normal = elpd["Student-t, censored"].elpd - elpd["normal, censored"].elpd
slopes_vs_book = elpd["normal, censored, person slopes"].elpd - elpd["normal, censored"].elpd
slopes_se = criticism.difference_se(elpd["normal, censored, person slopes"], elpd["normal, censored"])
say(
    f"The best-predicting variant is **{best}**. "
    + (f"Clearly worse (difference > 4 and more than twice its SE): {join_words(clear.index)}. " if len(clear) else
       "No variant is clearly worse (every difference is under 4 or within two SEs). ")
    + (f"At most {100 * loo_table['share_k_over_0.7'].max():.0f}% of participants have Pareto k > 0.7 "
       if loo_table["share_k_over_0.7"].max() > 0 else "No participant has Pareto k > 0.7 ")
    + ("(reliable estimates). " if loo_table["share_k_over_0.7"].max() <= 0.05 else "(read the comparison with care). ")
    + f"Student-t noise changes the elpd by {student_vs_normal:+.1f} against normal noise: "
    + ("the data ask for heavier tails than the book's model has. " if "Student-t, censored" not in clear.index and best == "Student-t, censored"
       and student_vs_normal > 4 else "the book's normal model is adequate for these markers. ")
    + f"Person-level slopes change it by {slopes_vs_book:+.1f} (SE of the difference {slopes_se:.1f}): "
    + ("participants' own courses after the infusion differ more than the book's model allows, and its intervals may be "
       "too narrow." if slopes_vs_book > 4 and slopes_vs_book > 2 * slopes_se else
       "participants do not need courses of their own to predict new participants; the book's simpler model, whose arm "
       "effects are the report's estimands, loses nothing.")
)

# %% [markdown]
# ## Prior sensitivity {#sec-criticism-prior}
#
# Power-scaling [@kallioinen2024] asks how much the posterior would move if
# the prior (or the likelihood) were made a little stronger or weaker, without
# refitting; it flags a parameter when the prior matters although the data
# should dominate ("prior-data conflict") or when neither does (a weak
# likelihood). Only the top-level priors are scaled; the distribution of
# person levels is part of the model, not a prior belief. As a direct check
# the book's model is also refitted with the prior scale of the arm effects
# (the slab, the prior mean of each marker's scale) multiplied and divided by
# the factor in the parameters.

# %%
#| label: tbl-criticism-psense
#| tbl-cap: "Power-scaling sensitivity of the book's aim 1 model: the prior and likelihood sensitivity of each main parameter (values above 0.05 flag sensitivity) and ArviZ's diagnosis."
book = fits["normal, censored"]
pm.stats.compute_log_prior(book.idata, model=book.model)
top_level = ["mu", "delta", "log_ratio_scale", "tau", "sigma"]
sensitivity = arviz_stats.psense_summary(book.idata, var_names=[v for v in ["log_ratio_scale", "tau", "sigma"] if v in book.idata.posterior],
                                         prior_var_names=[v for v in top_level if v in book.idata.posterior])
show_table(sensitivity.reset_index().rename(columns={"index": "parameter"}), digits=3)

# %%
base_priors = book_priors
scaled = {}
for word, factor in (("wider", prior_scale_factor), ("narrower", 1 / prior_scale_factor)):
    priors = replace(base_priors, arm_scale=base_priors.arm_scale * factor)
    scaled[word] = fit(build_nif_trajectory_model(data, priors=priors), settings.for_fit(f"nif-priors-{word}"), f"nif-priors-{word}", out)
say(verdict(*[f.diagnostics for f in scaled.values()]))
ratio_tables = {"book": estimates.summarise(book.idata, NIF_CHANGE_RATIO, rope, book.diagnostics.converged)}
ratio_tables.update({w: estimates.summarise(f.idata, NIF_CHANGE_RATIO, rope, f.diagnostics.converged) for w, f in scaled.items()})

# %%
#| label: fig-criticism-prior-refits
#| fig-cap: "Ketamine/saline ratios of geometric-mean change (95% intervals) with the book's priors of the arm effects and with priors twice as wide and half as wide (by default)."
#| fig-alt: "Forest plot in which the intervals for each marker and visit under three priors are drawn side by side and largely overlap."
fig, ax = plt.subplots(figsize=(plotting.FIGURE_WIDTH * 0.8, 0.4 * len(ratio_tables["book"]) + 1.0))
keys = [f"{r.marker} {r.visit}" for r in ratio_tables["book"].itertuples()]
for k, (word, colour) in enumerate(zip(ratio_tables, ["#000000", "#E69F00", "#56B4E9"], strict=True)):
    t = ratio_tables[word]
    y = np.arange(len(t)) + (k - 1) * 0.22
    ax.errorbar(t["mean"], y, xerr=[t["mean"] - t["ci_low"], t["ci_high"] - t["mean"]], fmt="o", ms=3, color=colour, capsize=1.5, label=word)
ax.axvline(1, color="0.5", lw=0.8)
ax.set_xscale("log")
nice = np.array([0.5, 0.67, 0.8, 0.9, 1.0, 1.1, 1.25, 1.5, 2.0])
low_x, high_x = ax.get_xlim()
ax.set_xticks(nice[(nice >= low_x) & (nice <= high_x)], [f"{v:g}" for v in nice[(nice >= low_x) & (nice <= high_x)]])
ax.minorticks_off()
ax.set_yticks(np.arange(len(keys)), keys, fontsize=8)
ax.invert_yaxis()
ax.set_xlabel("ketamine/saline ratio")
ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
fig.tight_layout()
plt.show()

# %%
flagged = sensitivity[sensitivity["diagnosis"] != "✓"] if "diagnosis" in sensitivity else sensitivity.iloc[0:0]
shift = max(float(np.abs(np.log(ratio_tables[w]["mean"]) - np.log(ratio_tables["book"]["mean"])).max()) for w in scaled)
say(
    ("Power-scaling flags no parameter. " if flagged.empty else
     f"Power-scaling flags {join_words(flagged.index)} ({join_words(sorted(set(flagged['diagnosis'])))}). ")
    + "Each marker's scale of arm effects is learned from its three visits only, so its prior is expected to matter; "
    f"what matters for the conclusions is the ratios, and there the refits answer directly: with the arm-effect priors "
    f"{prior_scale_factor:g} times wider or narrower, the posterior mean ratios move by at most a factor of "
    f"{np.exp(shift):.2f} (@fig-criticism-prior-refits)."
)

# %% [markdown]
# ## Values under the detection limit: which treatment is less biased? {#sec-criticism-lod}
#
# Substituting $L/2$ (or $L/\sqrt 2$) for a value under the limit invents a
# number that is the same for everybody and pretends it was measured: it
# shrinks the spread of low values and, when the share under the limit
# differs between arms or visits, biases the change. The censored likelihood
# uses only what is known, that the value was under $L$. On a synthetic twin
# the truth is known, so the three treatments can be compared with it: the
# error of each estimated ratio on the log scale, and whether its 95%
# interval covers the truth.

# %%
truth_file = Path(data_dir) / "truth.csv"
by_method = {"censored": ratio_tables["book"]}
by_method.update({
    VARIANTS[label]["below_lod"]: estimates.summarise(fits[label].idata, NIF_CHANGE_RATIO, rope, fits[label].diagnostics.converged)
    for label in ("normal, LOD/2", "normal, LOD/√2")
})
share_below = pd.Series(data.nif_censored).groupby(np.asarray(data.markers)[data.nif_marker]).mean()
if truth_file.exists():
    lod_joined = criticism.lod_bias(by_method, pd.read_csv(truth_file), data.markers)
    lod_here = lod_joined.groupby(["method", "marker"], sort=False).agg(
        bias=("log_error", "mean"), rmse=("log_error", lambda e: float(np.sqrt((e**2).mean()))), coverage=("covered", "mean")).reset_index()
    lod_here["share under the limit"] = lod_here["marker"].map(share_below)
    say("On this data set (one twin; its `truth.csv` holds the true ratios), per method and marker: mean error of the log "
        "ratio over the post-infusion visits (bias), its root mean square, and the share of 95% intervals covering the truth.")
    show_table(lod_here, digits=3)
else:
    say("These data carry no `truth.csv` (real data), so the comparison with the truth rests on the saved study below.")

# %%
lod_study = criticism.read_study(lod_study_dir, ["lod-bias-summary.csv"], "lod-bias-command.txt")
if lod_study.missing:
    say(f"**The saved study of values under the limit is missing** ({join_words(lod_study.missing)}). Run "
        "`.venv/bin/python benchmarks/lod_bias.py --scenario planted-effects --seeds 1,2,3` to make it (a few minutes).")
else:
    study = lod_study.tables["lod-bias-summary.csv"]
    say(f"The study over several twins of the planted-effects scenario, made by `{lod_study.command}`:")
    show_table(study, digits=3)

# %%
#| label: fig-criticism-lod-bias
#| fig-cap: "Error of the estimated ketamine/saline ratio (log scale; 0 = truth) by treatment of values under the detection limit, per marker, in the saved multi-seed study (or this data set when the study is missing)."
#| fig-alt: "Dot plot of estimation errors for three treatments of values under the detection limit; the censored likelihood sits closest to zero."
errors = None
if not lod_study.missing and (Path(lod_study_dir) / "lod-bias-estimates.csv").exists():
    errors = pd.read_csv(Path(lod_study_dir) / "lod-bias-estimates.csv")
elif truth_file.exists():
    errors = lod_joined
fig, ax = plt.subplots(figsize=(plotting.FIGURE_WIDTH * 0.75, 2.8))
if errors is not None:
    methods = list(dict.fromkeys(errors["method"]))
    marker_list = list(dict.fromkeys(errors["marker"]))
    for k, marker in enumerate(marker_list):
        for j, method in enumerate(methods):
            e = errors[(errors["marker"] == marker) & (errors["method"] == method)]["log_error"]
            x = k + (j - 1) * 0.25 + np.linspace(-0.05, 0.05, len(e))
            ax.scatter(x, e, s=12, color=plotting.OKABE_ITO[j], label=method if k == 0 else None)
    ax.set_xticks(range(len(marker_list)), marker_list)
    ax.axhline(0, color="0.5", lw=0.8)
    ax.set_ylabel("log ratio: estimate − truth")
    ax.legend(fontsize=8)
plt.show()

# %%
#| label: tbl-criticism-lod-paired
#| tbl-cap: "Each substitution against the censored likelihood on the same estimates: mean difference of the error of the log ratio (positive: further above the truth) and of its absolute error (positive: less accurate), with standard errors."
if errors is not None:
    paired = criticism.paired_differences(errors)
    show_table(paired, digits=4)

# %%
if errors is not None:
    def verdict_of(row):
        if abs(row.abs_error_difference) <= 2 * row.abs_se:
            return f"{row.method} is as accurate as the censored likelihood (difference in absolute error {row.abs_error_difference:+.3f}, SE {row.abs_se:.3f})"
        word = "less" if row.abs_error_difference > 0 else "more"
        return f"{row.method} is {word} accurate (absolute error {row.abs_error_difference:+.3f}, SE {row.abs_se:.3f})"

    planted_rows = errors[~np.isclose(errors["truth"], 1.0)]
    planted_note = ""
    if len(planted_rows):
        planted_paired = criticism.paired_differences(planted_rows).set_index("method")
        planted_note = (" Where an effect is planted (and the share under the limit therefore differs between the arms), "
                        "the substitutions move the estimate by " + join_words(
                            f"{r.error_difference:+.3f} (SE {r.se:.3f}) with {m}" for m, r in planted_paired.iterrows())
                        + " on the log scale relative to the censored likelihood.")
    say(
        "Judged against the truth, " + join_words(verdict_of(r) for r in paired.itertuples()) + "." + planted_note
        + " At this trial's size the differences are small next to the estimation error itself (RMSE "
        f"{float(np.sqrt((errors.loc[errors['method'] == 'censored', 'log_error'] ** 2).mean())):.3f} on the log scale with "
        "the censored likelihood), so the choice does not decide the report's conclusions. The book keeps the censored "
        "likelihood: it needs no invented values, it is the likelihood of what was actually observed (the yardstick on "
        "which all variants were scored in @sec-criticism-loo), and it does not assume how far under the limit the true "
        "values lie, which a fixed substitute does (LOD/√2 happens to suit these twins' log-normal markers, where a "
        "quarter to two fifths of values fall under the limit; it would not suit every assay)."
    )

# %% [markdown]
# ## Recovery study {#sec-criticism-recovery}
#
# Fitting every aim's model to several twins with planted effects shows how
# often the 95% intervals cover the truth and how large the errors are, per
# estimand. The study is a sweep (`ketamine-nif sweep sweeps/recovery.yaml`);
# this chapter reads its saved results.

# %%
show_study(recovery_dir, "sweeps/recovery.yaml", "about 3-4 minutes per replicate and core")

# %% [markdown]
# The MADRS arm difference has a study of its own, five times as large: the
# depression model alone on 100 twins (`ketamine-nif sweep
# sweeps/recovery-madrs.yaml`). An earlier version of the model made its
# intervals 1.6 times too narrow (the person effects summed to zero within each
# arm, so the arm means carried no between-person variance), which only a study
# of this size measures to within a few percentage points.

# %%
show_study(recovery_madrs_dir, "sweeps/recovery-madrs.yaml", "about 10 seconds per replicate and core", explain=False)

# %% [markdown]
# ## Simulation-based calibration {#sec-criticism-sbc}
#
# If the model and the sampler are right, then for parameters drawn from the
# prior and data simulated from them, the rank of the true value among the
# posterior draws is uniform [@talts2018]. Each replicate of
# `ketamine_nif.criticism.sbc_replicate` draws the aim 1 model's parameters
# and a data set (two markers; the number of participants is given below) from
# the prior, fits the model through the fit engine (compiled once, each data
# set swapped in) and records the ranks; a sweep
# (`ketamine-nif sweep sweeps/sbc.yaml`) runs the replicates. The second
# marker has a detection limit fixed in advance, as an assay's is, where about
# a quarter of its values fall on average (more or fewer, as the drawn
# parameters place them). SBC checks the whole pipeline, including how the
# data are made, and earlier runs caught two faults. Taking the limit from
# each simulated data set (its lower quartile) made censoring depend on the
# values it hides, which the model's likelihood does not describe, and the
# spread of the arm effects came out miscalibrated. And with a half-normal
# prior on the between-person SD $\tau_m$, replicates whose true $\tau_m$ was
# tiny next to the occasion-to-occasion SD got posteriors that excluded it:
# the sampler cannot enter the funnel of the centred person levels. The
# model's $\tau_m$ now has a zero-avoiding Gamma(2) prior (@sec-nif-model),
# which rules out what biology rules out (everybody's level the same to within
# a few percent). @fig-criticism-sbc shows, per main parameter, the empirical CDF
# of the ranks (as PIT values) minus the uniform CDF, with a 95% simultaneous
# band computed by simulation [@sailynoja2022]: a curve that leaves the band
# signals a miscalibrated posterior (a hump for too wide, an S for too narrow,
# a shift for bias).

# %%
sbc_study = read_saved(sbc_dir)
sbc = sbc_study.results if sbc_study is not None else None
if sbc is None:
    say(f"**The SBC results are missing** ({sbc_dir}). Run `.venv/bin/ketamine-nif sweep sweeps/sbc.yaml` "
        "(about 5 s per replicate and core, compilations included, as measured at the trial's size).")
else:
    say(f"{sbc['seed'].nunique()} replicates of {sbc_study.spec.get('fixed', {}).get('participants', 'an unrecorded number of')} participants, made by "
        f"`{sbc_study.command}` ({sbc_study.progress}).")

# %%
#| label: fig-criticism-sbc
#| fig-cap: "Simulation-based calibration of the aim 1 model: ECDF of the rank statistics (as PIT values) minus the uniform CDF (line), with the 95% simultaneous band (grey), per main parameter."
#| fig-alt: "Small panels, one per parameter, each with a wiggly line that should stay within a grey band around zero."
if sbc is not None:
    criticism.plot_sbc(sbc, seed=seed)
else:
    plt.figure(figsize=(plotting.FIGURE_WIDTH * 0.5, 1.0))
    plt.axis("off")
    plt.text(0.5, 0.5, "SBC results missing", ha="center", va="center")
plt.show()

# %%
if sbc is not None:
    sbc_table = criticism.sbc_summary(sbc, seed=seed)
    show_table(sbc_table, digits=3)
    bad = sbc_table[sbc_table["outside_band"]]
    divergent = float((sbc.groupby("seed")["divergences"].first() > 0).mean())
    n_markers = sbc["parameter"].str.startswith("mu[").sum() // sbc["seed"].nunique()
    under = sbc.groupby("seed")["censored_share"].first() * n_markers  # share of the censored marker's values
    say(f"On average {100 * under.mean():.0f}% of the second marker's values fell under its fixed limit "
        f"({100 * under.min():.0f}% to {100 * under.max():.0f}% across replicates). "
        + ("No parameter's rank ECDF leaves its 95% simultaneous band: no systematic miscalibration is visible at this "
           "number of replicates." if bad.empty else
           f"The rank ECDF leaves its band for {join_words(bad['parameter'])}: read those parameters' intervals with care.")
        + f" {100 * divergent:.0f}% of the replicate fits had divergent transitions (reduced settings; the book's fits are "
        "gated on having none). With one band per parameter, about one parameter in twenty leaves its band by chance.")
post = book.idata.posterior
tau_over_sigma = (post["tau"] / post["sigma"]).mean(("chain", "draw")).to_series()
say("In this chapter's fit of the book's model the between-person SD is "
    + join_words(f"{v:.1f} times the occasion-to-occasion SD for {m}" for m, v in tau_over_sigma.items())
    + " (posterior means): far from the corner of near-zero between-person SDs.")

# %% [markdown]
# ## Estimates {#sec-criticism-estimates}
#
# `estimates.csv` holds the ketamine/saline ratios of each variant for these
# markers: `nif_change_ratio` (the book's model), and
# `nif_change_ratio_student`, `nif_change_ratio_lod_half`,
# `nif_change_ratio_lod_sqrt2` and `nif_change_ratio_person_slopes` for the
# others.

# %%
SUFFIX = {"normal, censored": "", "Student-t, censored": "_student", "normal, LOD/2": "_lod_half", "normal, LOD/√2": "_lod_sqrt2",
          "normal, censored, person slopes": "_person_slopes"}
estimates.write(pd.concat([
    estimates.summarise(f.idata, NIF_CHANGE_RATIO, rope, f.diagnostics.converged).assign(estimand=NIF_CHANGE_RATIO + SUFFIX[label])
    for label, f in fits.items()
], ignore_index=True), out)

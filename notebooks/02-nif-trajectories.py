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
# # NIF trajectories by arm {#sec-nif-trajectories}
#
# Does {{treatment}} change the blood levels of neurotrophic and inflammatory
# factors over the visits after the infusion, compared with {{reference}}?
# For each marker and each visit after the infusion, this chapter estimates how
# much more (or less) the marker changed from baseline with {{treatment}} than
# with {{reference}}, as a ratio of geometric means: 1 means no difference, 1.2
# means a 20% larger rise with {{treatment}}. All markers are analysed in one
# model, but each marker's answer rests on its own data: every effect has its
# own sceptical prior, and no marker borrows its verdict from the others.

# %% tags=["parameters"]
data_dir = "data/synthetic"  # the data directory (contract: data/README.md)
output_dir = "_build/outputs/02-nif-trajectories"  # estimates.csv, diagnostics.json, posterior
seed = 20250404  # every random draw below derives from this
draws = 2000  # posterior draws per chain (2000 keeps max R-hat over ~2,500 parameters safely under 1.01)
tune = 300  # tuning steps per chain (nutpie's default; both fits with it and the target below, 3 seeds each: max R-hat 1.0042, min ESS 1,658, no divergence; pymc adapts more slowly: give it 1000)
chains = 4  # independent chains (R-hat needs several)
sampler = "nutpie"  # nutpie, pymc or numpyro (nutpie: 1.3-1.8 times the effective draws per second of pymc on the book's models, benchmarks/samplers.py)
target_accept = 0.8  # NUTS step-size target (0.8 takes half the leapfrog steps of 0.95 here, for 82-100% of its ESS)
retry = True  # a fit failing the convergence checks is drawn again once: target acceptance 0.95 or more, twice the draws, a seed of its own (False: it stands, failed)
markers = None  # list of markers to analyse, such as IL-6 and CRP; None for every NIF in the data
likelihood = "normal"  # normal or student (robust to outlying values)
analysis_config = "params/analysis.yaml"  # priors, regions of practical equivalence and decision levels
prior_draws = 500  # draws for the prior predictive check
calibration_replicates = 100  # simulated trials per prior structure in the check of how markers share strength

# %%
import numpy as np

from ketamine_nif import analysis, checks, estimates, plotting, reporting, shrinkage
from ketamine_nif.answers import trajectories as answers
from ketamine_nif.chapter import start
from ketamine_nif.estimands import NIF_CHANGE_RATIO
from ketamine_nif.inference import SamplerSettings, fit
from ketamine_nif.models import TrajectoryPriors, build_nif_trajectory_model
from ketamine_nif.reporting import say, show_table

# %%
out, data, informed = start(data_dir, output_dir, markers)
config = analysis.load(analysis_config)
priors = config.priors(TrajectoryPriors)
settings = SamplerSettings(sampler=sampler, draws=draws, tune=tune, chains=chains, seed=seed, target_accept=target_accept,
                           retry=retry)
model = build_nif_trajectory_model(data, likelihood=likelihood, priors=priors)
shared_model = build_nif_trajectory_model(data, likelihood=likelihood, priors=priors, pooling="shared")
rope = config.rope(NIF_CHANGE_RATIO)

# %% [markdown]
# ## The model {#sec-nif-model}
#
# For participant $i$, marker $m$ and visit $t$ ($t = 0$ before the infusion),
# the log concentration is
#
# $$
# \log y_{imt} = \ell_{im} + [t > 0]\,\bigl(\delta_{mt} + (k_i - \bar k)\,\beta_{mt}\bigr) + \varepsilon_{imt},
# \qquad \ell_{im} \sim \mathrm{N}(\mu_m, \tau_m),
# $$
#
# where $k_i = 1$ for {{treatment}} and 0 for {{reference}} ($\bar k$ its mean,
# so that $\delta_{mt}$ is the change averaged over the arms), $\ell_{im}$ is
# the participant's stable level and $\beta_{mt}$ the extra change with
# {{treatment}}. There is no arm term at baseline: randomisation makes the arms
# equal before the infusion, and the model says so (a constrained baseline).
# Then $e^{\beta_{mt}}$ is the {{treatment}}/{{reference}} ratio of
# geometric-mean change from baseline. The occasion-to-occasion noise
# $\varepsilon_{imt}$ is normal with SD $\sigma_m$ (or Student-$t$ with the
# `likelihood` parameter). A value under the detection limit $L$ enters through
# $\Pr(\log y_{imt} \le \log L)$, the probability of a value that low, instead
# of a made-up number.
#
# Each {{treatment}} effect has its own sceptical, heavy-tailed prior,
#
# $$
# \beta_{mt} \sim \text{Student-}t_3(0,\ \bar s),
# $$
#
# centred on no effect with the size of a realistic effect as its scale (the
# *slab* $\bar s$ of @tbl-nif-priors, read like every prior and region of
# practical equivalence from the analysis configuration `params/analysis.yaml`):
# most of the prior mass lies on modest ratios (@sec-nif-prior says how
# much), and the heavy tails let a large real effect through unshrunk. Nothing is
# shared between markers, no common mean and no common scale: BDNF and pro-
# and anti-inflammatory cytokines have no reason to move in the same
# direction, and a marker's verdict must rest on its own data.
# @sec-nif-sharing shows what sharing a scale across markers would do to the
# verdicts. @tbl-nif-priors lists the priors. The
# between-person SD $\tau_m$ has a zero-avoiding Gamma(2) prior [@chung2013],
# whose density vanishes at zero: people's blood levels of a marker never
# agree to within a few percent, and a prior that allowed it would send the
# sampler into the funnel of the person levels, where simulation-based
# calibration (@sec-criticism-sbc) showed it overstating small SDs.

# %%
#| label: tbl-nif-priors
#| tbl-cap: "Priors of the NIF trajectory model (natural-log scale of a concentration)."
prior_rows = {
    "intercept_sd": ("μ_m ~ N(marker median, ·)", "each marker's typical level"),
    "time_sd": ("δ_mt ~ N(0, ·)", "change common to both arms"),
    "arm_scale": ("β_mt ~ Student-t(3, 0, ·)", "ketamine effect (log ratio), its own prior for each marker and visit"),
    "person_sd": ("τ_m ~ Gamma(2, 2/·), mean ·", "between-person SD; zero-avoiding: people's levels never agree to within a few percent"),
    "residual_sd": ("σ_m ~ half-N(0, ·)", "occasion-to-occasion SD"),
    "person_slope_sd": ("ω_m ~ half-N(0, ·)", "between-person SD of slopes per day (only the model-criticism variant with person-level slopes)"),
}
show_table(reporting.prior_table(priors, prior_rows))

# %% [markdown]
# ## Prior predictive check {#sec-nif-prior}
#
# Before seeing the data, do the priors produce plausible data and plausible
# effects? @fig-nif-prior draws data sets from the priors alone.

# %%
#| label: fig-nif-prior
#| fig-cap: "Prior predictive check. Left: log concentrations simulated from the priors (grey) against the observed ones (all markers). Right: the prior of the {{treatment}}/{{reference}} ratio, with the region of practical equivalence."
#| fig-alt: "Two histograms: simulated against observed log concentrations, and the prior distribution of the {{treatment}} to {{reference}} ratio centred on 1."
prior = checks.prior_predictive(model, prior_draws, seed + 1)
prior_values = checks.nif_replicates(prior.prior_predictive, data)
prior_ratio = np.asarray(prior.prior[NIF_CHANGE_RATIO]).ravel()
plotting.prior_check(prior_values, np.maximum(data.nif_log, data.nif_log_lod), "log concentration (all markers)",
                     prior_ratio, "ketamine/saline ratio", rope, log_estimand=True)
plotting.show()

# %%
say(answers.prior_check(prior_ratio, rope, prior_values, data.nif_log))

# %% [markdown]
# ## Fit and diagnostics {#sec-nif-fit}
#
# The model is fitted by Hamiltonian Monte Carlo. Conclusions are drawn only
# from fits that pass the convergence checks in @tbl-nif-diagnostics.

# %%
#| label: tbl-nif-diagnostics
#| tbl-cap: "Sampler settings and convergence diagnostics."
result = fit(model, settings.for_fit("nif-trajectories"), "nif-trajectories", out)
shared = fit(shared_model, settings.for_fit("nif-trajectories-shared-scale"), "nif-trajectories-shared-scale", out)
show_table(reporting.diagnostics_table(result.diagnostics, shared.diagnostics))

# %%
say(reporting.verdict(result.diagnostics, shared.diagnostics))

# %% [markdown]
# ## Posterior predictive check {#sec-nif-ppc}
#
# Data simulated from the fitted model should look like the data. For each
# marker, arm and visit, @fig-nif-ppc compares the observed mean log
# concentration (values under the limit counted at the limit, as reported)
# with the 90% range of the same mean in replicated data sets.

# %%
#| label: fig-nif-ppc
#| fig-cap: "Posterior predictive check: observed mean log concentration (dots) and the 90% range in replicated data (bars), by marker, arm and visit."
#| fig-alt: "Panels per marker comparing observed mean log concentrations with bars of replicated means for the {{treatment}} and {{reference}} arms at each visit."
replicated = checks.posterior_predictive(result.idata, model, seed + 2, ["log_nif", "log_nif_censored"] if data.nif_censored.any() else ["log_nif"])
ppc = checks.nif_check(data, checks.nif_replicates(replicated.posterior_predictive, data))
plotting.predictive_check(ppc, "mean log concentration")
plotting.show()

# %%
say(answers.predictive_check(ppc))

# %% [markdown]
# ## {{Treatment}}/{{reference}} ratios {#sec-nif-estimates}
#
# @tbl-nif-estimates and @fig-nif-forest give, per marker and visit, the
# posterior ratio of geometric-mean change from baseline ({{treatment}} over
# {{reference}}), its 95% interval, the probability that it exceeds 1, and the
# probability that it lies inside the region of practical equivalence.

# %%
say(reporting.uninformed_callout(informed.gaps_for([NIF_CHANGE_RATIO])))

# %%
#| label: tbl-nif-estimates
#| tbl-cap: "{{Treatment}}/{{reference}} ratio of geometric-mean change from baseline: posterior mean, 95% interval, P(ratio > 1), P(inside the region of practical equivalence)."
table = informed.keep(estimates.summarise(result.idata, NIF_CHANGE_RATIO, rope, result.diagnostics.converged))
estimates.write(table, out)
show_table(reporting.estimates_table(table))

# %%
#| label: fig-nif-forest
#| fig-cap: "{{Treatment}}/{{reference}} ratios of geometric-mean change from baseline with 95% intervals, by marker and visit; the shaded band is the region of practical equivalence."
#| fig-alt: "Forest plot of ratios with intervals for each blood marker at each visit after the infusion, around the line of no difference at 1."
plotting.forest(table, 1.0, rope, "ketamine/saline ratio of geometric-mean change", log=True)
plotting.show()

# %% [markdown]
# ## Pooled and unpooled estimates {#sec-nif-pooling}
#
# The estimates above are unpooled: each marker on its own data.
# @fig-nif-pooling sets them beside those of the same model with partial
# pooling, the markers sharing one scale of their effects, learned from all of
# them ($\beta_{mt} \sim \mathrm N(0, S)$, $S \sim \text{half-N}(0, \bar s)$, the
# classic hierarchical prior; fitted in the same run).

# %%
#| label: fig-nif-pooling
#| fig-cap: "{{Treatment}}/{{reference}} ratios per marker and visit: pooled (one scale shared by all markers, grey) and the book's unpooled estimates (colour), with 95% intervals; the shaded band is the region of practical equivalence."
#| fig-alt: "Paired intervals per marker and visit: the pooled estimate above the book's, around the line of no difference at 1."
shared_table = informed.keep(estimates.summarise(shared.idata, NIF_CHANGE_RATIO, rope, shared.diagnostics.converged))
plotting.pooling_comparison(table, shared_table, 1.0, rope, "ketamine/saline ratio of geometric-mean change", log=True)
plotting.show()

# %%
say(reporting.pooling_sentence(table, shared_table))

# %% [markdown]
# ## Why markers do not share strength {#sec-nif-sharing}
#
# Partial pooling lets the markers' answers borrow from each other: one scale
# learned from all of them (a hierarchical normal or Student-$t$ prior, or a
# horseshoe), or one scale per marker learned from its visits.
# @tbl-nif-sharing measures what each would do on this trial's precision: the
# estimates of each marker are simulated as normal around their true values
# with the standard errors (posterior SDs) of the fit above, the posterior
# under each prior structure is computed exactly on a grid, and the decision
# rule of a single estimate is applied (supported: the probability of its
# direction reaches `detection_level` of `params/analysis.yaml`; the summary
# page asks more of an estimate that is one of its question's many, so the
# chance of "supported" in @sec-design-sensitivity is lower): with every effect null; with one real effect of
# the size a reader cares about (a 1.2-fold rise of one marker at the first
# visit); and with the most precise effect just outside the region of
# practical equivalence, where a "ruled out" is wrong.

# %%
#| label: tbl-nif-sharing
#| tbl-cap: "How the way markers share strength decides the verdicts (simulated trials with this fit's standard errors): share of null effects called supported or ruled out and their 95% coverage; for one real 1.2-fold rise, how often it is called ruled out (a false verdict: 1.2 lies outside the region of practical equivalence) or supported, and its coverage; for the most precise effect just outside that region, how often it is wrongly called ruled out."
calibration, planted = shrinkage.fit_calibration(result.idata.posterior["log_ratio"], table, priors.arm_scale, rope,
                                                 calibration_replicates, seed + 3)
if calibration is not None:
    show_table(calibration.rename(columns={
        "null_supported": "null: supported", "null_ruled_out": "null: ruled out", "null_coverage": "null: coverage",
        "real_ruled_out": "real: ruled out", "real_supported": "real: supported", "real_coverage": "real: coverage",
        "edge_ruled_out": "edge: ruled out"}))

# %%
if calibration is not None:
    say(shrinkage.calibration_sentence(calibration, planted))

# %% [markdown]
# ## Answer {#sec-nif-answer}

# %%
say(answers.answer(table, rope, config.equivalence_level, result.diagnostics.converged))

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
# # Coupling of NIF and depression trajectories {#sec-coupling}
#
# When a participant's blood level of a neurotrophic or inflammatory factor
# rises after the infusion, does their depression move with it? This chapter
# first estimates how much {{treatment}} lowered depression scores ({{outcome}})
# compared with {{reference}}, then asks, for each marker, how many {{outcome}}
# points go with a doubling of the marker within the same person, separately for
# {{treatment}} and {{reference}}, and whether the two arms differ.

# %% tags=["parameters"]
data_dir = "data/synthetic"  # the data directory (contract: data/README.md)
output_dir = "_build/outputs/03-coupling"  # estimates.csv, diagnostics.json, posteriors
seed = 20250404  # every random draw below derives from this
draws = 2000  # posterior draws per chain (2000 keeps max R-hat over ~2,500 parameters safely under 1.01)
tune = 300  # tuning steps per chain (nutpie's default; with the target below, the three fits at 3 seeds each: max R-hat 1.0047, min ESS 1,911, no divergence; pymc adapts more slowly: give it 1000)
chains = 4  # independent chains (R-hat needs several)
sampler = "nutpie"  # nutpie, pymc or numpyro (nutpie: 1.3-1.8 times the effective draws per second of pymc on the book's models, benchmarks/samplers.py)
target_accept = 0.8  # NUTS step-size target (0.8 takes half the leapfrog steps of 0.95 here, 31 per draw against 60, for 87-108% of its ESS)
retry = True  # a fit failing the convergence checks is drawn again once: target acceptance 0.95 or more, twice the draws, a seed of its own (False: it stands, failed)
markers = None  # list of markers to analyse, such as IL-6 and CRP; None for every NIF in the data
likelihood = "normal"  # normal or student, for the MADRS outcome
analysis_config = "params/analysis.yaml"  # priors, regions of practical equivalence and decision levels
prior_draws = 500  # draws for the prior predictive check

# %%
import numpy as np
import pandas as pd

from ketamine_nif import analysis, checks, estimates, frequentist, plotting, reporting, sensitivity
from ketamine_nif.answers import coupling as answers
from ketamine_nif.chapter import start
from ketamine_nif.estimands import COUPLING_WITHIN, MADRS_CHANGE_DIFFERENCE
from ketamine_nif.inference import SamplerSettings, fit
from ketamine_nif.models import OutcomePriors, build_coupling_model, build_outcome_model
from ketamine_nif.reporting import say, show_table

# %%
out, data, informed = start(data_dir, output_dir, markers)
config = analysis.load(analysis_config)
priors = config.priors(OutcomePriors)
rope_madrs, rope_coupling = config.rope(MADRS_CHANGE_DIFFERENCE), config.rope(COUPLING_WITHIN["ketamine"])
settings = SamplerSettings(sampler=sampler, draws=draws, tune=tune, chains=chains, seed=seed, target_accept=target_accept,
                           retry=retry)
outcome_model = build_outcome_model(data, likelihood=likelihood, priors=priors)
coupling_model = build_coupling_model(data, likelihood=likelihood, priors=priors)
shared_model = build_coupling_model(data, likelihood=likelihood, priors=priors, pooling="shared")
excluded = sum(data.excluded.values())

# %% [markdown]
# ## The models {#sec-coupling-model}
#
# **Depression trajectory.** For participant $i$ at visit $t$ after the
# infusion, the {{outcome}} score is
#
# $$
# y_{it} = \alpha + d_t + \theta\,(y_{i0} - \bar y_0) + (k_i - \bar k)\,b_t + u_i + \varepsilon_{it},
# \qquad u_i \sim \mathrm{N}(0, s),\quad \varepsilon_{it} \sim \mathrm{N}(0, \sigma),
# $$
#
# adjusted for the pre-infusion score $y_{i0}$ as in a randomised trial;
# $k_i$ is 1 for {{treatment}} and 0 for {{reference}} ($\bar k$ its mean), and
# $b_t$ is the {{treatment}} minus {{reference}} difference in mean {{outcome}}
# change from baseline at visit $t$, with a wide normal prior
# (@tbl-coupling-priors). The person effects $u_i$ are independent of the arm,
# so the arm means carry the variation between people, as they must for an
# honest interval; they are integrated out of the likelihood exactly (a
# participant's ratings are jointly normal with a common covariance), which
# removes one parameter per participant from the sampler. Missing visits are
# simply absent from the likelihood; no value is carried forward.
#
# **Coupling.** Every marker $m$ adds its terms to the same likelihood, so
# each rating enters once and each coupling is adjusted for the other markers:
#
# $$
# y_{it} = \dots + \sum_m \Bigl[\gamma_{m,a(i)}\,\frac{x_{imt} - x_{im0}}{\ln 2} + \lambda_m\,\frac{\ell_{im} - \mu_m}{\ln 2}\Bigr],
# $$
#
# where $x_{imt}$ is the log concentration and $\ell_{im}$ the person's stable
# level of the marker in the trajectory model of @sec-nif-trajectories (fitted
# jointly here): the change since baseline is the within-person part (per
# doubling after division by $\ln 2$), the stable level the between-person
# part, so that the noise of the single baseline sample stays out of the
# between-person term.
# $\gamma_{m,a}$ is the coupling in arm $a$: {{outcome}} points per doubling of
# the marker within a person. Values under the detection limit and missed
# samples are not filled in: they are unknowns of the model, drawn from the
# marker's trajectory model and, for censored values, kept below the limit. Each
# coupling has its own sceptical prior, as the {{treatment}} effects in
# @sec-nif-trajectories, $\gamma_{m,a} \sim \text{Student-}t_3(0, \bar s)$ with
# the slab $\bar s$ of @tbl-coupling-priors: heavy tails for a large real
# coupling; nothing is shared between markers. The within-person term holds the
# baseline sample's own deviation from the person's stable level (the same at
# every visit), so the coupling also draws on how that deviation varies between
# people; with the twin's markers this is what a coupling is, and a real data
# set could fit a separate term for it. (The brief's joint model with correlated
# person-level slopes of {{outcome}} and each marker would also use each rating
# once; with three post-infusion visits (this trial) a person's slopes are
# barely identified, and the time-varying predictor above answers the same
# question.)

# %%
#| label: tbl-coupling-priors
#| tbl-cap: "Priors of the effects ({{outcome}} points; from the analysis configuration, params/analysis.yaml)."
show_table(reporting.prior_table(priors, {
    "arm_sd": ("b_t ~ N(0, ·)", "ketamine minus saline MADRS change at a visit"),
    "coupling_scale": ("γ_ma ~ Student-t(3, 0, ·)", "coupling (the slab): half its mass within ±0.76 × the scale"),
}))

# %%
say(reporting.scale_note(data.study))
say(answers.ratings(len(data.y), len(set(data.y_person)), excluded))

# %% [markdown]
# ## Prior predictive check {#sec-coupling-prior}
#
# @fig-coupling-prior simulates {{outcome}} scores and couplings from the priors
# alone.

# %%
#| label: fig-coupling-prior
#| fig-cap: "Prior predictive check. Left: {{outcome}} scores after the infusion simulated from the priors (grey) against the observed ones. Right: the prior of the within-person coupling, with the region of practical equivalence."
#| fig-alt: "Two histograms: simulated against observed {{outcome}} scores, and the prior distribution of the coupling in {{outcome}} points per doubling centred on zero."
prior = checks.prior_predictive(coupling_model, prior_draws, seed + 1)
prior_y = checks.outcome_replicates(prior.prior_predictive)
prior_coupling = np.asarray(prior.prior[COUPLING_WITHIN["ketamine"]]).ravel()
plotting.prior_check(prior_y, data.y, "MADRS after the infusion", prior_coupling, "MADRS points per doubling", rope_coupling)
plotting.show()

# %%
say(answers.prior_check(prior_y, prior_coupling))

# %% [markdown]
# ## Fits and diagnostics {#sec-coupling-fit}

# %%
#| label: tbl-coupling-diagnostics
#| tbl-cap: "Sampler settings and convergence diagnostics of the depression and coupling models."
outcome_fit = fit(outcome_model, settings.for_fit("depression"), "depression", out)
coupling_fit = fit(coupling_model, settings.for_fit("coupling"), "coupling", out)
shared_fit = fit(shared_model, settings.for_fit("coupling-shared-scale"), "coupling-shared-scale", out)
show_table(reporting.diagnostics_table(outcome_fit.diagnostics, coupling_fit.diagnostics, shared_fit.diagnostics))

# %%
say(reporting.verdict(outcome_fit.diagnostics, coupling_fit.diagnostics, shared_fit.diagnostics))

# %% [markdown]
# ## Posterior predictive check {#sec-coupling-ppc}
#
# @fig-coupling-ppc compares the observed mean {{outcome}} per arm and visit
# with the same mean in data sets replicated from the coupling model.

# %%
#| label: fig-coupling-ppc
#| fig-cap: "Posterior predictive check of the coupling model: observed mean {{outcome}} (dots) and the 90% range in replicated data (bars), by arm and visit."
#| fig-alt: "Observed mean {{outcome}} scores at each visit for both arms shown within bars of replicated means."
replicated = checks.posterior_predictive(coupling_fit.idata, coupling_model, seed + 3, ["y"])
ppc = checks.outcome_check(data, checks.outcome_replicates(replicated.posterior_predictive))
plotting.predictive_check(ppc, "mean MADRS")
plotting.show()

# %% [markdown]
# ## {{Treatment}} and depression {#sec-coupling-madrs}
#
# @tbl-coupling-madrs gives the arm difference beside the same quantity from
# an independent method, a frequentist mixed model with a random intercept per
# participant fitted to the same ratings (statsmodels, REML): the two should
# agree in uncertainty, and in estimate up to the prior's pull toward no
# difference, which the mixed model's estimates shrunk by the same prior in
# closed form show.

# %%
say(reporting.uninformed_callout(informed.gaps_for([MADRS_CHANGE_DIFFERENCE, *COUPLING_WITHIN.values()])))

# %%
#| label: tbl-coupling-madrs
#| tbl-cap: "{{Treatment}} minus {{reference}} difference in mean {{outcome}} change from baseline (points), with P(difference > 0) and P(inside the region of practical equivalence), beside the mixed model's estimate and standard error."
madrs = informed.keep(estimates.summarise(outcome_fit.idata, MADRS_CHANGE_DIFFERENCE, rope_madrs, outcome_fit.diagnostics.converged,
                                           marker=data.outcome))
pull_prior = priors.arm_sd if likelihood == "normal" else None  # the closed form needs the mixed model's normal noise
mixed = frequentist.arm_difference_mixed_model(data, madrs["visit"], pull_prior)
show_table(reporting.estimates_table(madrs, digits=1).assign(
    **{"posterior SD": madrs["sd"].map(lambda v: f"{v:.2f}").to_numpy(),
       "mixed model [SE]": [f"{e:.1f} [{s:.2f}]" for e, s in zip(mixed["estimate"], mixed["se"], strict=True)]}))

# %%
say(answers.madrs(madrs, mixed, pull_prior))

# %% [markdown]
# ### If those who left had done worse {#sec-coupling-madrs-delta}
#
# The depression model leaves the missing ratings (participants who left,
# visits missed) out of its likelihood, which is right when they are *missing at random*:
# that a participant who left would have gone on like those who stayed with
# the same course so far. Nothing in the data can check this. The usual
# sensitivity analysis asks how much worse those who left the {{treatment}} arm
# would have to have fared for the answer to change (a delta adjustment with
# its tipping point, @ratitch2013). If their ratings at visit $t$ were
# $\delta$ points worse than the model assumes, the {{treatment}} arm's mean change
# moves by $\delta$ times the share $m_t$ of its participants without a
# rating there, and the arm difference, draw by draw, becomes
#
# $$
# \Delta_t(\delta) = \Delta_t + \delta\, m_t ,
# $$
#
# exact for the expected mean of the completed data under this linear model.
# The {{reference}} arm is left as the model has it (penalising only the treatment
# arm is the conservative direction for a benefit of {{treatment}}). @tbl-coupling-madrs-delta
# gives, for $\delta$ from 0 to 10 points, the smallest shift at which the
# summary page's verdict on the difference changes.

# %%
#| label: tbl-coupling-madrs-delta
#| tbl-cap: "Delta adjustment of the {{treatment}} minus {{reference}} difference in {{outcome}} change: the share of the {{treatment}} arm without a rating, the estimate (95% interval) and verdict under missing at random, the smallest shift (in points, worse, for those without a rating) that changes the verdict, and the estimate at the largest shift tried."
shares = sensitivity.missing_shares(data)
adjusted = sensitivity.delta_adjusted(sensitivity.posterior_by_visit(outcome_fit.idata), shares[shares["visit"].isin(madrs["visit"])],
                                      rope_madrs, outcome_fit.diagnostics.converged)
show_table(sensitivity.tipping_table(adjusted))

# %%
say(answers.madrs_tipping(sensitivity.tipping_points(adjusted)))

# %% [markdown]
# ## Couplings {#sec-coupling-estimates}
#
# @tbl-coupling-estimates and @fig-coupling-forest give the within-person
# couplings per marker: in each arm, and the {{treatment}} minus {{reference}}
# difference.

# %%
#| label: tbl-coupling-estimates
#| tbl-cap: "Within-person coupling, {{outcome}} points per doubling of the marker: posterior mean, 95% interval, P(> 0), P(inside the region of practical equivalence)."
coupling = informed.keep(pd.concat(
    [estimates.summarise(coupling_fit.idata, name, rope_coupling, coupling_fit.diagnostics.converged) for name in COUPLING_WITHIN.values()],
    ignore_index=True,
))
estimates.write(pd.concat([madrs, coupling], ignore_index=True), out)
by_arm = coupling.assign(visit=coupling["estimand"].str.replace("coupling_within_", ""))
show_table(reporting.estimates_table(by_arm, digits=2).rename(columns={"visit": "arm"}))

# %%
#| label: fig-coupling-forest
#| fig-cap: "Within-person coupling ({{outcome}} points per doubling of the marker) with 95% intervals, by marker, in each arm and as the arm difference; the shaded band is the region of practical equivalence."
#| fig-alt: "Forest plot of couplings with intervals per marker for {{treatment}}, {{reference}} and their difference around the line of zero."
plotting.forest(by_arm, 0.0, rope_coupling, "MADRS points per doubling of the marker")
plotting.show()

# %% [markdown]
# ## Pooled and unpooled estimates {#sec-coupling-pooling}
#
# The couplings above are unpooled: each marker on its own data.
# @fig-coupling-pooling sets them beside those of the same model with partial
# pooling, the markers sharing one scale of their couplings ($S \sim$
# half-N(0, $\bar s$), the slab of @tbl-coupling-priors; fitted in the same run).

# %%
#| label: fig-coupling-pooling
#| fig-cap: "Within-person couplings per marker and arm: pooled (one scale shared by all markers, grey) and the book's unpooled estimates (colour), with 95% intervals; the shaded band is the region of practical equivalence."
#| fig-alt: "Paired intervals per marker and arm: the pooled estimate above the book's, around the line of zero."
shared = informed.keep(pd.concat([estimates.summarise(shared_fit.idata, name, rope_coupling, shared_fit.diagnostics.converged)
                                  for name in COUPLING_WITHIN.values()], ignore_index=True))
shared_by_arm = shared.assign(visit=shared["estimand"].str.replace("coupling_within_", ""))
plotting.pooling_comparison(by_arm, shared_by_arm, 0.0, rope_coupling, "MADRS points per doubling of the marker")
plotting.show()

# %%
say(reporting.pooling_sentence(coupling, shared))

# %% [markdown]
# ## Answer {#sec-coupling-answer}

# %%
converged = outcome_fit.diagnostics.converged and coupling_fit.diagnostics.converged
say(answers.answer(coupling, rope_coupling, config.equivalence_level, converged))

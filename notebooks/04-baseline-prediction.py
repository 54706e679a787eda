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
# # Baseline NIF levels as predictors {#sec-baseline-prediction}
#
# Do people who start with higher (or lower) blood levels of a neurotrophic or
# inflammatory factor respond better to {{treatment}}? For each marker and
# visit, this chapter estimates how much the {{treatment}} minus {{reference}}
# difference in {{outcome}} change shifts per standard deviation of the marker's
# pre-infusion level. Zero means the marker does not tell who benefits from
# {{treatment}}.

# %% tags=["parameters"]
data_dir = "data/synthetic"  # the data directory (contract: data/README.md)
output_dir = "_build/outputs/04-baseline-prediction"  # estimates.csv, diagnostics.json, posterior
seed = 20250404  # every random draw below derives from this
draws = 2000  # posterior draws per chain (2000 keeps max R-hat over ~2,500 parameters safely under 1.01)
tune = 300  # tuning steps per chain (nutpie's default; both fits with it and the target below, 3 seeds each: max R-hat 1.0039, min ESS 2,584, no divergence; pymc adapts more slowly: give it 1000)
chains = 4  # independent chains (R-hat needs several)
sampler = "nutpie"  # nutpie, pymc or numpyro (nutpie: 1.3-1.8 times the effective draws per second of pymc on the book's models, benchmarks/samplers.py)
target_accept = 0.8  # NUTS step-size target (0.8 takes half the leapfrog steps of 0.95 here, for 73-97% of its ESS)
retry = True  # a fit failing the convergence checks is drawn again once: target acceptance 0.95 or more, twice the draws, a seed of its own (False: it stands, failed)
markers = None  # list of markers to analyse, such as IL-6 and CRP; None for every NIF in the data
likelihood = "normal"  # normal or student, for the MADRS outcome
analysis_config = "params/analysis.yaml"  # priors, regions of practical equivalence and decision levels
prior_draws = 500  # draws for the prior predictive check

# %%
import numpy as np

from ketamine_nif import analysis, checks, estimates, plotting, reporting
from ketamine_nif.answers import baseline as answers
from ketamine_nif.chapter import start
from ketamine_nif.estimands import BASELINE_MODERATION_DIFFERENCE
from ketamine_nif.inference import SamplerSettings, fit
from ketamine_nif.models import OutcomePriors, build_moderation_model, moderation_data
from ketamine_nif.reporting import say, show_table

# %%
out, data, informed = start(data_dir, output_dir, markers)
data = moderation_data(data)  # without a marker with too few baseline values above its limit (the callout below names it)
config = analysis.load(analysis_config)
priors = config.priors(OutcomePriors)
settings = SamplerSettings(sampler=sampler, draws=draws, tune=tune, chains=chains, seed=seed, target_accept=target_accept,
                           retry=retry)
model = build_moderation_model(data, likelihood=likelihood, priors=priors)
shared_model = build_moderation_model(data, likelihood=likelihood, priors=priors, pooling="shared")
rope = config.rope(BASELINE_MODERATION_DIFFERENCE)

# %% [markdown]
# ## The model {#sec-baseline-model}
#
# The depression trajectory of @sec-coupling-model gains, for every marker $m$
# at once (each rating enters the likelihood once), terms in the standardised
# pre-infusion level $z_{im}$:
#
# $$
# y_{it} = \alpha + d_t + \theta\,(y_{i0} - \bar y_0) + (k_i - \bar k)\,b_t + u_i
#   + \sum_m \bigl(\lambda_{mt} + (k_i - \bar k)\,\kappa_{mt}\bigr)\,z_{im} + \varepsilon_{it},
# \qquad z_{im} = \frac{x_{im0} - \mu_m}{\sigma^0_m},
# $$
#
# where $x_{im0}$ is the log concentration before the infusion, with mean
# $\mu_m$ and SD $\sigma^0_m$ across participants (estimated in the same model;
# a value under the detection limit is an unknown kept below the limit, a
# missing sample an unknown). A marker with fewer baseline values above its
# limit than the analysis configuration's `min_per_arm` (over both arms) is
# left out of this model: so few values hardly set its $\sigma^0_m$, the unit
# of $z_{im}$, which would then rest on its prior, and on such data nearly
# every fit diverges (@sec-criticism-sbc-moderation). The other markers'
# moderations are then adjusted for the markers left in. $\lambda_{mt}$ is how baseline level relates to
# {{outcome}} change averaged over the arms, and $\kappa_{mt}$, the estimand,
# how much more (or less) it does so on {{treatment}} than on {{reference}},
# adjusted for the other markers. Each moderation has its own sceptical prior,
# $\kappa_{mt} \sim \text{Student-}t_3(0, \bar s)$ with the slab $\bar s$ of
# @tbl-baseline-priors: heavy tails for a large real moderation; nothing is shared
# between markers, as for the effects of @sec-nif-trajectories. The person
# effects $u_i$ are independent and integrated out, as in
# @sec-coupling-model.

# %%
#| label: tbl-baseline-priors
#| tbl-cap: "Prior of the moderations ({{outcome}} points per SD; from the analysis configuration, params/analysis.yaml)."
show_table(reporting.prior_table(priors, {
    "moderation_scale": ("κ_mt ~ Student-t(3, 0, ·)", "moderation (the slab): half its mass within ±0.76 × the scale"),
}))

# %%
say(reporting.scale_note(data.study))

# %% [markdown]
# ## Prior predictive check {#sec-baseline-prior}

# %%
#| label: fig-baseline-prior
#| fig-cap: "Prior predictive check. Left: {{outcome}} scores after the infusion simulated from the priors (grey) against the observed ones. Right: the prior of the moderation ({{outcome}} points per SD of baseline level), with the region of practical equivalence."
#| fig-alt: "Two histograms: simulated against observed {{outcome}} scores, and the prior distribution of the moderation centred on zero."
prior = checks.prior_predictive(model, prior_draws, seed + 1)
prior_y = checks.outcome_replicates(prior.prior_predictive)
prior_kappa = np.asarray(prior.prior[BASELINE_MODERATION_DIFFERENCE]).ravel()
plotting.prior_check(prior_y, data.y, "MADRS after the infusion", prior_kappa, "MADRS points per SD of baseline level", rope)
plotting.show()

# %%
say(answers.prior_check(prior_y, prior_kappa))

# %% [markdown]
# ## Fit and diagnostics {#sec-baseline-fit}

# %%
#| label: tbl-baseline-diagnostics
#| tbl-cap: "Sampler settings and convergence diagnostics of the baseline-prediction model."
result = fit(model, settings.for_fit("baseline-prediction"), "baseline-prediction", out)
shared = fit(shared_model, settings.for_fit("baseline-prediction-shared-scale"), "baseline-prediction-shared-scale", out)
show_table(reporting.diagnostics_table(result.diagnostics, shared.diagnostics))

# %%
say(reporting.verdict(result.diagnostics, shared.diagnostics))

# %% [markdown]
# ## Posterior predictive check {#sec-baseline-ppc}

# %%
#| label: fig-baseline-ppc
#| fig-cap: "Posterior predictive check of the baseline-prediction model: observed mean {{outcome}} (dots) and the 90% range in replicated data (bars), by arm and visit."
#| fig-alt: "Observed mean {{outcome}} scores at each visit for both arms shown within bars of replicated means."
replicated = checks.posterior_predictive(result.idata, model, seed + 2, ["y"])
ppc = checks.outcome_check(data, checks.outcome_replicates(replicated.posterior_predictive))
plotting.predictive_check(ppc, "mean MADRS")
plotting.show()

# %% [markdown]
# ## Moderation by baseline level {#sec-baseline-estimates}
#
# @tbl-baseline-estimates and @fig-baseline-forest give, per marker and visit,
# the {{treatment}} minus {{reference}} difference in {{outcome}} change per SD
# of the pre-infusion level. A negative value means that participants with
# higher baseline levels gained more from {{treatment}} ({{outcome}} falls with
# improvement).

# %%
say(reporting.uninformed_callout(informed.gaps_for([BASELINE_MODERATION_DIFFERENCE])))

# %%
#| label: tbl-baseline-estimates
#| tbl-cap: "Arm difference in {{outcome}} change per SD of baseline log level: posterior mean, 95% interval, P(> 0), P(inside the region of practical equivalence)."
table = informed.keep(estimates.summarise(result.idata, BASELINE_MODERATION_DIFFERENCE, rope, result.diagnostics.converged))
estimates.write(table, out)
show_table(reporting.estimates_table(table))

# %%
#| label: fig-baseline-forest
#| fig-cap: "Arm difference in {{outcome}} change per SD of baseline level, with 95% intervals, by marker and visit; the shaded band is the region of practical equivalence."
#| fig-alt: "Forest plot of moderation estimates with intervals per marker and visit around the line of zero."
plotting.forest(table, 0.0, rope, "MADRS points per SD of baseline level (ketamine minus saline)")
plotting.show()

# %% [markdown]
# ## Pooled and unpooled estimates {#sec-baseline-pooling}
#
# The moderations above are unpooled: each marker on its own data.
# @fig-baseline-pooling sets them beside those of the same model with partial
# pooling, the markers sharing one scale of their moderations ($S \sim$
# half-N(0, $\bar s$); fitted in the same run).

# %%
#| label: fig-baseline-pooling
#| fig-cap: "Moderation by baseline level per marker and visit: pooled (one scale shared by all markers, grey) and the book's unpooled estimates (colour), with 95% intervals; the shaded band is the region of practical equivalence."
#| fig-alt: "Paired intervals per marker and visit: the pooled estimate above the book's, around the line of zero."
shared_table = informed.keep(estimates.summarise(shared.idata, BASELINE_MODERATION_DIFFERENCE, rope, shared.diagnostics.converged))
plotting.pooling_comparison(table, shared_table, 0.0, rope, "MADRS points per SD of baseline level (ketamine minus saline)")
plotting.show()

# %%
say(reporting.pooling_sentence(table, shared_table))

# %% [markdown]
# ## Answer {#sec-baseline-answer}

# %%
say(answers.answer(table, rope, config.equivalence_level, result.diagnostics.converged))

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
#     inputs: [studies/recovery/results.csv, studies/recovery-madrs/results.csv, studies/recovery-mnar/results.csv, studies/calibration/results.csv, studies/calibration-madrs/results.csv, studies/sbc/results.csv, studies/sbc-coupling/results.csv, studies/sbc-moderation/results.csv, studies/sbc-moderation-censored/results.csv, studies/sbc-subgroups/results.csv, studies/lod-bias/results.csv]
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
tune = 300  # tuning steps per chain (nutpie's default; every variant's fit at it: max R-hat 1.0086, min ESS 1,181, no divergence; pymc adapts more slowly: give it 1000)
chains = 4  # independent chains
sampler = "nutpie"  # nutpie, pymc or numpyro (nutpie: 1.3-1.8 times the effective draws per second of pymc on the book's models, benchmarks/samplers.py)
target_accept = 0.95  # NUTS step-size target
retry = True  # a fit failing the convergence checks is drawn again once: target acceptance 0.95 or more, twice the draws, a seed of its own (False: it stands, failed)
markers = ["IL-6", "IL-10"]  # markers for the aim 1 variants: the two most often under the detection limit
quadrature_nodes = 24  # Gauss-Hermite nodes for integrating out each person's level (leave-one-participant-out)
prior_scale_factor = 2.0  # refit with the prior scale of the arm effects (the slab) multiplied and divided by this
recovery_dir = "studies/recovery"  # saved by: ketamine-nif sweep sweeps/recovery.yaml
recovery_madrs_dir = "studies/recovery-madrs"  # saved by: ketamine-nif sweep sweeps/recovery-madrs.yaml
recovery_mnar_dir = "studies/recovery-mnar"  # saved by: ketamine-nif sweep sweeps/recovery-mnar.yaml
calibration_dir = "studies/calibration"  # saved by: ketamine-nif sweep sweeps/calibration.yaml
calibration_madrs_dir = "studies/calibration-madrs"  # saved by: ketamine-nif sweep sweeps/calibration-madrs.yaml
lod_study_dir = "studies/lod-bias"  # saved by: ketamine-nif sweep sweeps/lod-bias.yaml
sbc_dir = "studies/sbc"  # saved by: ketamine-nif sweep sweeps/sbc.yaml
sbc_coupling_dir = "studies/sbc-coupling"  # saved by: ketamine-nif sweep sweeps/sbc-coupling.yaml
sbc_moderation_dir = "studies/sbc-moderation"  # saved by: ketamine-nif sweep sweeps/sbc-moderation.yaml
sbc_censored_dir = "studies/sbc-moderation-censored"  # saved by: ketamine-nif sweep sweeps/sbc-moderation-censored.yaml
sbc_subgroups_dir = "studies/sbc-subgroups"  # saved by: ketamine-nif sweep sweeps/sbc-subgroups.yaml
analysis_config = "params/analysis.yaml"  # priors and the region of practical equivalence

# %%
import logging
import warnings
from pathlib import Path

import pandas as pd

from ketamine_nif import analysis, checks, criticism, estimates, models, plotting, recovery, sweep
from ketamine_nif.answers import criticism as answers
from ketamine_nif.chapter import start
from ketamine_nif.estimands import NIF_CHANGE_RATIO
from ketamine_nif.inference import SamplerSettings, fit
from ketamine_nif.models import OutcomePriors, TrajectoryPriors, build_outcome_model
from ketamine_nif.plotting import criticism as figures
from ketamine_nif.reporting import diagnostics_table, say, show_table, uninformed_callout, verdict

# %%
logging.getLogger("arviz_stats").setLevel(logging.ERROR)  # its advice is in the prose below
warnings.filterwarnings("ignore", message="Estimated shape parameter of Pareto")  # Pareto k is tabled below
out, data, informed = start(data_dir, output_dir, markers)
settings = SamplerSettings(sampler=sampler, draws=draws, tune=tune, chains=chains, seed=seed, target_accept=target_accept,
                           retry=retry)
config = analysis.load(analysis_config)
book_priors = config.priors(TrajectoryPriors)
rope = config.rope(NIF_CHANGE_RATIO)

# %%
say(uninformed_callout(informed.gaps_for([NIF_CHANGE_RATIO])))

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
say(answers.slope_prior(data.visit_days, book_priors.person_slope_sd))

# %%
#| label: tbl-criticism-diagnostics
#| tbl-cap: "The fits of this chapter: sampler settings and convergence diagnostics."
fits = {variant: criticism.fit_variant(variant, data, book_priors, settings, out) for variant in criticism.VARIANTS}
outcome_fit = fit(build_outcome_model(data, priors=config.priors(OutcomePriors)), settings.for_fit("depression"), "depression", out)
show_table(diagnostics_table(*[f.diagnostics for f in fits.values()], outcome_fit.diagnostics))

# %%
say(verdict(*[f.diagnostics for f in fits.values()], outcome_fit.diagnostics))

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
compared = (criticism.BOOK, criticism.LOD_HALF)
replicates = {v: criticism.nif_posterior_replicates(fits[v], data, settings.for_fit(f"{v.fit_name}-replicates").seed)
              for v in compared}
panels = criticism.distribution_checks(data, {v.treatment: values for v, values in replicates.items()})
figures.ecdf_checks(panels, "log concentration", columns=len(data.markers))
plotting.show()

# %%
say(answers.distribution_check(criticism.share_outside(panels), [fits[v].diagnostics for v in compared]))

# %%
#| label: fig-criticism-ppc-trajectories
#| fig-cap: "Trajectory check of the book's aim 1 model: observed mean log concentration by arm and visit (dots) and the 90% range of replicated means (bars)."
#| fig-alt: "Panels per marker comparing observed mean log concentrations with bars of replicated means for both arms at each visit."
ppc = checks.nif_check(data, replicates[criticism.BOOK])
plotting.predictive_check(ppc, "mean log concentration")
plotting.show()

# %%
#| label: fig-criticism-ppc-outcome
#| fig-cap: "Trajectory check of the depression outcome model (aims 2 and 3): observed mean {{outcome}} by arm and post-infusion visit (dots) and the 90% range of replicated means (bars)."
#| fig-alt: "Observed mean depression scores for the {{treatment}} and {{reference}} arms at each visit inside bars of replicated means."
outcome_seed = settings.for_fit("depression-replicates").seed
outcome_group = checks.posterior_predictive(outcome_fit.idata, outcome_fit.model, outcome_seed, ["y"]).posterior_predictive
outcome_ppc = checks.outcome_check(data, checks.outcome_replicates(outcome_group))
plotting.predictive_check(outcome_ppc, "mean MADRS")
plotting.show()

# %%
say(answers.mean_checks(ppc, outcome_ppc, [fits[criticism.BOOK].diagnostics, outcome_fit.diagnostics]))

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
# variants, so that all five predict the same thing. The slopes variant,
# run at more draws than the others, is scored on every k-th draw of each
# chain, as many draws as the others have (thinning its autocorrelated
# chains loses little of their effective sample size; its quadrature grid
# over all of them took minutes).

# %%
#| label: tbl-criticism-loo
#| tbl-cap: "Leave-one-participant-out comparison (integrated PSIS-LOO): expected log predictive density (elpd) of each variant, difference from the best with its standard error, stacking weight, and the share of participants with Pareto k > 0.7."
elpd = {v.label: criticism.participant_elpd(fits[v], data, v.likelihood, quadrature_nodes, max_draws=draws * chains)
        for v in criticism.VARIANTS}
loo_table = criticism.comparison_table(elpd)
show_table(pd.DataFrame({
    "variant": loo_table.index, "elpd": loo_table["elpd"].round(1), "difference": loo_table["elpd_diff"].round(1),
    "SE of difference": loo_table["dse"].round(1), "weight": loo_table["weight"].round(2),
    "share k > 0.7": loo_table["share_k_over_0.7"].round(2),
}))

# %%
say(answers.loo_comparison(loo_table, elpd, [f.diagnostics for f in fits.values()]))

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
# (the scale of each effect's Student-$t$ prior) multiplied and divided by the
# factor in the parameters.

# %%
#| label: tbl-criticism-psense
#| tbl-cap: "Power-scaling sensitivity of the book's aim 1 model: the prior and likelihood sensitivity of each main parameter (values above 0.05 flag sensitivity) and ArviZ's diagnosis."
sensitivity = criticism.power_scaling(fits[criticism.BOOK])
show_table(sensitivity.reset_index().rename(columns={"index": "parameter"}), digits=3)

# %%
refits = criticism.fit_scaled_priors(data, book_priors, prior_scale_factor, settings, out)
say(verdict(*[f.diagnostics for f in refits.values()]))

# %%
#| label: fig-criticism-prior-refits
#| fig-cap: "{{Treatment}}/{{reference}} ratios of geometric-mean change (95% intervals) with the book's priors of the arm effects and with priors twice as wide and half as wide (by default)."
#| fig-alt: "Forest plot in which the intervals for each marker and visit under three priors are drawn side by side and largely overlap."
ratio_tables = {"book": informed.keep(criticism.ratio_estimates(fits[criticism.BOOK], rope))}
ratio_tables.update({word: informed.keep(criticism.ratio_estimates(f, rope)) for word, f in refits.items()})
figures.prior_refits(ratio_tables)
plotting.show()

# %%
say(answers.prior_sensitivity(sensitivity, ratio_tables, prior_scale_factor,
                              [fits[criticism.BOOK].diagnostics, *[f.diagnostics for f in refits.values()]]))

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
treatments = (criticism.BOOK, criticism.LOD_HALF, criticism.LOD_SQRT2)
by_method = {v.below_lod: informed.keep(criticism.ratio_estimates(fits[v], rope)) for v in treatments}
lod_here = (recovery.join_methods(by_method, pd.read_csv(truth_file), data.markers)
            .assign(censored_share=lambda t: t["marker"].map(recovery.below_limit_share(data)))
            if truth_file.exists() else None)
say(answers.lod_here(lod_here is not None))
if lod_here is not None:
    show_table(recovery.recovery_summary(lod_here, by=recovery.LOD_GROUPS, error="log_error"), digits=3)

# %%
lod_study = recovery.show_study(lod_study_dir, "sweeps/lod-bias.yaml", "about 4-5 minutes per twin and core", by=recovery.LOD_GROUPS,
                    error="log_error", explain=False)
errors = lod_study.results if lod_study is not None else lod_here

# %%
#| label: fig-criticism-lod-bias
#| fig-cap: "Error of the estimated {{treatment}}/{{reference}} ratio (log scale; 0 = truth) by treatment of values under the detection limit, per marker, in the saved multi-seed study (or this data set when the study is missing)."
#| fig-alt: "Dot plot of estimation errors for three treatments of values under the detection limit, per marker (the text says which is most accurate)."
figures.lod_errors(errors)
plotting.show()

# %%
#| label: tbl-criticism-lod-paired
#| tbl-cap: "Each substitution against the censored likelihood on the same estimates: mean difference of the error of the log ratio (positive: further above the truth) and of its absolute error (positive: less accurate), with standard errors."
if errors is not None:
    show_table(recovery.paired_differences(errors), digits=4)

# %%
if errors is not None:
    say(answers.lod_comparison(errors))

# %% [markdown]
# ## Recovery study {#sec-criticism-recovery}
#
# Fitting every aim's model to several twins with planted effects shows how
# often the 95% intervals cover the truth and how large the errors are, per
# estimand. The study is a sweep (`ketamine-nif sweep sweeps/recovery.yaml`);
# this chapter reads its saved results.

# %%
recovery_study = recovery.show_study(recovery_dir, "sweeps/recovery.yaml", "about 3-4 minutes per replicate and core")

# %% [markdown]
# ### How often is each verdict wrong? {#sec-criticism-calibration}
#
# The report calls an effect "supported" when its posterior is nearly sure of
# the effect's direction, and "ruled out" when it is nearly sure that the
# effect lies inside the region of practical equivalence (the levels are the
# decision rule's, `params/analysis.yaml`; the tables of this section judge
# each estimate alone, as the chapters do, and @tbl-criticism-calibration-answers
# below judges the summary page's answers to whole questions). Each
# verdict can be wrong: a null effect called supported, or an effect too large
# to be negligible called ruled out. @tbl-criticism-calibration counts both
# in the recovery study, per estimand family, with the power to find the
# planted effects; its Monte Carlo errors treat each twin's estimates as one
# cluster, since they share the twin's data. These twins are kinder than real
# blood data (no assay error, independent markers, dropout at random); the
# scenario `realistic-effects` adds those difficulties for a larger study.

# %%
#| label: tbl-criticism-calibration
#| tbl-cap: "Calibration of the verdicts in the recovery study: coverage of the 95% intervals, false “supported” (among null effects), false “ruled out” (among effects outside the region of practical equivalence) and power (planted effects supported in their direction), each with its Monte Carlo error and the number of estimates it rests on; bias and RMSE on the estimand's scale."
if recovery_study is not None:
    calibration, calibration_text = recovery.calibration_by_scenario(recovery_study.results)
    show_table(calibration)
    say(calibration_text)

# %% [markdown]
# The calibration suite (`ketamine-nif sweep sweeps/calibration.yaml`) asks
# the same of twins that are harder and closer to the report's situation:
# `paper-null`, where every effect on or of a blood marker is null, so that
# any "supported" is false, and `realistic-effects`, the modest planted
# effects on data with assay error, correlated inflammatory markers, dropout
# that follows depression and the training imbalance. Once it has as many
# twins per scenario as the recovery study, the summary page reads its false
# "ruled out" per estimate on `realistic-effects`, and its false "supported"
# per question on `paper-null` (@tbl-criticism-calibration-answers), beside
# its answers, and withholds an answer (counts its estimates as
# inconclusive) that the rule gave wrongly more often than `max_error_rate`
# of `params/analysis.yaml` allows.

# %%
#| label: tbl-criticism-calibration-suite
#| tbl-cap: "Calibration of the verdicts in the calibration suite, per scenario and estimand family (columns as in the table above)."
calibration_study = recovery.show_calibration(calibration_dir, "sweeps/calibration.yaml",
                                              "about 3.6 hours with 2 workers; it resumes from its tables")

# %% [markdown]
# Both of the suite's scenarios plant the paper's MADRS arm difference, so
# neither can say how often the rule calls a null difference "supported".
# A companion study does (`ketamine-nif sweep sweeps/calibration-madrs.yaml`):
# the depression model alone, with the book's model and priors, on twins of
# `madrs-null`, in which ketamine changes depression no more than saline
# does. Their dropout follows the course of depression, but with no
# difference between the arms it leaves as many ratings missing in one arm
# as in the other and cannot bias the contrast: this study measures the
# decision rule on a null that the model describes well, not the model's
# robustness (the studies of dropout below do that). The summary page reads
# its false "supported" for the MADRS arm difference beside the suite's rates.

# %%
#| label: tbl-criticism-calibration-madrs
#| tbl-cap: "Calibration of the MADRS verdicts on twins with no arm difference (columns as in the tables above)."
calibration_madrs = recovery.show_calibration(calibration_madrs_dir, "sweeps/calibration-madrs.yaml",
                                              "137 s with 2 workers beside another sweep")

# %% [markdown]
# The tables above judge the rule estimate by estimate, as the chapters use
# it. The summary page answers questions: a question is answered "supported"
# when any of its estimates is (for a NIF ratio, one per marker and visit),
# so a single null estimate that crosses the detection level $d$ by chance
# would answer it wrongly. The page therefore holds each of a question's $n$
# estimates to $P(\text{direction}) \ge 1 - (1 - d)/n$ (Bonferroni; $d$ and
# `multiplicity` in `params/analysis.yaml`). @tbl-criticism-calibration-answers
# judges the page's answers on the same twins, one answer per question and
# twin: "supported" when no estimate of the question had an effect, "ruled
# out" when one had an effect too large to be negligible, and the power to
# answer "supported" through a planted effect; under the book's rule and, for
# comparison, with each estimate judged alone. The summary page prints the
# first beside its answers, and withholds an answer that is wrong more often
# than `max_error_rate` allows.

# %%
#| label: tbl-criticism-calibration-answers
#| tbl-cap: "Calibration of the summary page's answers, one per question and twin, in the calibration suite and its MADRS companion: false “supported” (among twins in which no estimate of the question has an effect), false “ruled out” (among twins in which one has an effect outside the region of practical equivalence) and power (supported through a planted effect, in its direction), each with its Monte Carlo error and the number of twins; under the book's rule and with each estimate judged alone at the detection level."
answer_studies = [s.results for s in (calibration_study, calibration_madrs) if s is not None]
if answer_studies:
    answers_table, answers_text = recovery.answer_calibration(pd.concat(answer_studies, ignore_index=True))
    show_table(answers_table)
    say(answers_text)

# %% [markdown]
# The coverage of the MADRS arm difference has a recovery study of its own,
# larger than the recovery study above: the depression model alone on twins
# of `planted-effects` (`ketamine-nif sweep sweeps/recovery-madrs.yaml`). An earlier version of the model made its
# intervals 1.6 times too narrow (the person effects summed to zero within each
# arm, so the arm means carried no between-person variance), which only a study
# of this size measures to within a few percentage points. Its estimates sit
# a little on the side of no difference (a positive bias of a few tenths of
# a point, here and in the tables above), and much of that is the prior on
# each visit's difference at work (normal, centred on no difference,
# `params/analysis.yaml`). A normal prior with SD $s$ moves estimates with
# covariance $C$ toward zero by about $C b / s^2$ for true differences $b$;
# the visits' estimates are strongly correlated (one person's visits share
# their intercept), so the pull is about as large at the small day 5
# difference as at the large 24-hour one. @sec-coupling-madrs computes the
# pull on this edition's data from the mixed model (whose own estimates carry
# no prior), and a test checks that the model's posterior means are the mixed
# model's estimates shrunk by the prior in closed form.

# %%
recovery_madrs_study = recovery.show_study(recovery_madrs_dir, "sweeps/recovery-madrs.yaml", "about 10 seconds per replicate and core", explain=False)

# %% [markdown]
# The depression model assumes that missing ratings are missing at random.
# The next study breaks that assumption on purpose: twins of `mnar-dropout`,
# which is `realistic-effects` with its dropout on the observed course
# replaced by dropout on the rating the participant *would* have had (those
# who would have rated worse than others at a visit leave more often),
# something no analysis of the observed ratings can detect; and the same
# twins with dropout completely at random, `mnar-control` (same seeds, same
# ratings; only who leaves differs) (`ketamine-nif sweep
# sweeps/recovery-mnar.yaml`). The difference of the two biases, twin by
# twin, is the error that dropout not at random adds here, on data with this
# trial's modest dropout: the size of error that the delta adjustment of
# @sec-coupling-madrs-delta asks the reader to imagine.

# %%
mnar_study = recovery.show_study(recovery_mnar_dir, "sweeps/recovery-mnar.yaml", "about 2 seconds per replicate and core",
                                 by=("scenario", "estimand", "visit"), explain=False)
if mnar_study is not None:
    say(recovery.missing_not_at_random_sentence(mnar_study.results))

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
# data are made, and earlier runs caught three faults. Taking the limit from
# each simulated data set (its lower quartile) made censoring depend on the
# values it hides, which the model's likelihood does not describe, and the
# spread of the arm effects came out miscalibrated. And with a half-normal
# prior on the between-person SD $\tau_m$, replicates whose true $\tau_m$ was
# tiny next to the occasion-to-occasion SD got posteriors that excluded it:
# the sampler cannot enter the funnel of the centred person levels. The
# model's $\tau_m$ now has a zero-avoiding Gamma(2) prior (@sec-nif-model),
# which rules out what biology rules out (everybody's level the same to within
# a few percent). The third was in the models of aims 2 and 3, which keep
# each value under the limit as an unknown below it: written as the limit
# minus a positive gap, the unknowns and the SD of a marker mostly under its
# limit formed a funnel, and the aim 3 model's posterior of that SD missed
# its truth in many replicates without a single divergence; each unknown is
# now written by its quantile in the part of its normal under the limit,
# which removes that funnel; the mean and SD of a marker with very few values
# above its limit stay weakly identified (@sec-criticism-sbc-moderation).
# @fig-criticism-sbc shows, per main parameter, the empirical CDF
# of the ranks (as PIT values) minus the uniform CDF, with a 95% simultaneous
# band computed by simulation [@sailynoja2022]: a curve that leaves the band
# signals a miscalibrated posterior (a hump for too wide, an S for too narrow,
# a shift for bias). Each grey band holds for its own parameter with
# probability 95%, so among a model's $n$ parameters about $0.05\,n$ leave
# theirs by chance even when the posterior is exact. The dashed lines are
# the model's band, at level $1 - 0.05/n$ for each parameter (Bonferroni):
# all $n$ curves of a calibrated model stay inside them together with
# probability about 95% or more, whatever the dependence between the
# parameters, so a curve that leaves the model's band is hard to put down to
# chance. The model's band is wider, so it catches only larger
# miscalibration; the tables give both. Where a model has a censored
# marker, each section also says how the replicates with every value of
# that marker under its limit fared, and what the others show without them
# (a split by the data alone keeps the ranks uniform on each side).
# SBC checks the computation (that the posterior is the one the model
# implies), not whether the model describes the world. The replicates are
# fitted with shorter steps (a higher target acceptance) than chapters 02-04
# use; both target the same posterior, and each of those chapters' fits is
# vouched for by its own diagnostics (no divergence, R-hat, ESS; a fit that
# fails them is refitted with shorter steps and more draws).

# %%
sbc_study = sweep.read_saved(sbc_dir)
say(answers.sbc_source(sbc_study, sbc_dir))

# %%
#| label: fig-criticism-sbc
#| fig-cap: "Simulation-based calibration of the aim 1 model: ECDF of the rank statistics (as PIT values) minus the uniform CDF (line), with the 95% simultaneous band (grey) and the model's band for all its parameters together (dashed), per main parameter."
#| fig-alt: "Small panels, one per parameter, each with a wiggly line that should stay within a grey band around zero."
figures.sbc(criticism.sbc_ecdf(sbc_study.results, seed=seed) if sbc_study is not None else None)
plotting.show()

# %%
answers.show_sbc(sbc_study, seed)

# %%
say(answers.between_person_spread(fits[criticism.BOOK].idata.posterior, [fits[criticism.BOOK].diagnostics]))

# %% [markdown]
# ### The aim 2 (coupling) model {#sec-criticism-sbc-coupling}
#
# The coupling model (@sec-coupling-model) is calibrated the same way. A joint
# draw from its prior needs the latent NIF values before the MADRS ratings
# that depend on them, so `ketamine_nif.criticism.sbc_coupling_replicate`
# builds the model on a design in which every NIF sample is missing: each
# cell of the NIF grid is then a latent value drawn from its prior (from the
# trajectory part of the model), and the ratings are drawn given them and
# the couplings. The drawn grid becomes the data's NIF values (the second
# marker censored under a limit fixed in advance, as above), the drawn
# ratings its MADRS, and the model is fitted to them through the fit engine
# (`ketamine-nif sweep sweeps/sbc-coupling.yaml`). The priors that the book
# centres on the data (the NIF intercepts, the outcome's centre and scale)
# are centred on fixed values here, so that every replicate shares one
# prior. @fig-criticism-sbc-coupling shows the couplings $\gamma_{m,a}$, the
# between-person slopes $\lambda_m$, the arm effect on MADRS, the outcome
# model's intercept, baseline slope and SDs, and the NIF trajectories' arm
# effects, means and SDs.

# %%
sbc_coupling = sweep.read_saved(sbc_coupling_dir)
say(answers.sbc_source(sbc_coupling, sbc_coupling_dir, "sweeps/sbc-coupling.yaml",
                       "about 7 s per replicate and core, and about a minute per compilation"))

# %%
#| label: fig-criticism-sbc-coupling
#| fig-cap: "Simulation-based calibration of the aim 2 (coupling) model: ECDF of the rank statistics (as PIT values) minus the uniform CDF (line), with the 95% simultaneous band (grey) and the model's band for all its parameters together (dashed), per main parameter."
#| fig-alt: "Small panels, one per parameter of the coupling model, each with a wiggly line that should stay within a grey band around zero."
figures.sbc(criticism.sbc_ecdf(sbc_coupling.results, seed=seed) if sbc_coupling is not None else None)
plotting.show()

# %%
answers.show_sbc(sbc_coupling, seed, level="nif_mu")

# %% [markdown]
# ### The aim 3 (moderation) model {#sec-criticism-sbc-moderation}
#
# The moderation model (@sec-baseline-model) is calibrated in the same way
# (`ketamine_nif.criticism.sbc_moderation_replicate`): built on a design with
# every NIF sample missing, it draws each participant's baseline level of
# each marker from its prior and the MADRS ratings given them; the drawn
# levels (the second marker censored under the fixed limit) and ratings
# become the data (`ketamine-nif sweep sweeps/sbc-moderation.yaml`).
# @fig-criticism-sbc-moderation shows the moderations $\kappa_{m,t}$, the
# baseline slopes, the arm effect on MADRS, the outcome model's intercept,
# baseline slope and SDs, and the baseline levels' means and SDs, on the
# replicates of data the book fits with this model: a replicate whose
# censored marker has too few values above its limit is set apart below, as
# the book leaves such a marker out of this model (@sec-baseline-model).

# %%
sbc_moderation = sweep.read_saved(sbc_moderation_dir)
say(answers.sbc_source(sbc_moderation, sbc_moderation_dir, "sweeps/sbc-moderation.yaml",
                       "about 5 s per replicate and core, and about a minute per compilation"))

# %%
#| label: fig-criticism-sbc-moderation
#| fig-cap: "Simulation-based calibration of the aim 3 (moderation) model: ECDF of the rank statistics (as PIT values) minus the uniform CDF (line), with the 95% simultaneous band (grey) and the model's band for all its parameters together (dashed), per main parameter, on the replicates whose censored marker has enough values above its limit for the book to fit it."
#| fig-alt: "Small panels, one per parameter of the moderation model, each with a wiggly line that should stay within a grey band around zero."
moderation_used = answers.sbc_used(sbc_moderation, "nif0_mu", models.MIN_ABOVE_LIMIT)  # the data the book fits this model on
figures.sbc(criticism.sbc_ecdf(moderation_used, seed=seed) if moderation_used is not None else None)
plotting.show()

# %%
answers.show_sbc(sbc_moderation, seed, level="nif0_mu", left_out=models.MIN_ABOVE_LIMIT)

# %% [markdown]
# That rule's threshold was read off replicates like these, and few of them
# fall just inside it, so the model is checked again there on draws of its
# own: a second SBC of the same model puts the censored marker's limit where
# most of its values fall under it (the share is given below), and fits only
# the data sets the book would fit
# (`ketamine-nif sweep sweeps/sbc-moderation-censored.yaml`).

# %%
sbc_censored = sweep.read_saved(sbc_censored_dir)
say(" ".join([answers.sbc_source(sbc_censored, sbc_censored_dir, "sweeps/sbc-moderation-censored.yaml",
                                 "about 5 s per fitted replicate and core, and about a minute per compilation"),
              answers.sbc_selected(sbc_censored, "nif0_mu")]).strip())
answers.show_sbc(sbc_censored, seed, level="nif0_mu")

# %% [markdown]
# ### The subgroup model {#sec-criticism-sbc-subgroups}
#
# The subgroup model (@sec-subgroups-model) has its likelihood as two sums
# written by hand (each marker's person intercepts integrated out in closed
# form), so PyMC cannot draw data from it; `ketamine_nif.criticism.sbc_subgroup_replicate`
# draws the parameters from the model's prior and then the ratings and NIF
# changes as that likelihood says (a test checks that data so drawn, put back
# into the model at the parameters that made them, have the chi-square fit
# they should). The design is the trial's: one twin's participants, arms,
# visits, NIF covariates and memberships of every split of
# `params/subgroups.yaml`, with two markers.
# Each marker's part of the model has its own copy of the ratings and
# parameters of its own (none is shared between markers), so the model is one
# model per marker fitted side by side, and each marker's ratings are drawn
# afresh. The NIF covariates of the ratings' part are held at the twin's
# values while the NIF changes are drawn, although in real data both come
# from the same samples: SBC checks that the model is fitted correctly, not
# that treating the two parts as separate likelihoods is right.
# @fig-criticism-sbc-subgroups shows the
# couplings and NIF arm effects, the SDs and the scales of the subgroup
# differences of each marker, and the subgroup differences themselves for
# two splits (BMI, in both arms; training, which applies to the ketamine arm
# only, so its saline-arm difference is the prior's)
# (`ketamine-nif sweep sweeps/sbc-subgroups.yaml`).

# %%
sbc_subgroups = sweep.read_saved(sbc_subgroups_dir)
say(answers.sbc_source(sbc_subgroups, sbc_subgroups_dir, "sweeps/sbc-subgroups.yaml",
                       "about 4 s per replicate and core, and about 3 minutes per compilation"))

# %%
#| label: fig-criticism-sbc-subgroups
#| fig-cap: "Simulation-based calibration of the subgroup model: ECDF of the rank statistics (as PIT values) minus the uniform CDF (line), with the 95% simultaneous band (grey) and the model's band for all its parameters together (dashed), per main parameter."
#| fig-alt: "Small panels, one per parameter of the subgroup model, each with a wiggly line that should stay within a grey band around zero."
figures.sbc(criticism.sbc_ecdf(sbc_subgroups.results, seed=seed) if sbc_subgroups is not None else None)
plotting.show()

# %%
answers.show_sbc(sbc_subgroups, seed)

# %% [markdown]
# ## Estimates {#sec-criticism-estimates}
#
# Each variant's ratios are written to `estimates.csv` under an estimand of
# their own, so that the summary can set them beside the book's.

# %%
say(answers.estimand_names(criticism.VARIANTS))
saved = estimates.write(informed.keep(pd.concat([criticism.ratio_estimates(fits[v], rope, v.estimand) for v in criticism.VARIANTS], ignore_index=True)), out)

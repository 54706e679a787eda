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
# against "some effect" as the model's prior describes it.

# %% tags=["parameters"]
data_dir = "data/synthetic"  # the data directory (contract: data/README.md); the estimates come from the chapters below
output_dir = "_build/outputs/06-evidence-for-absence"  # estimates.csv, bayes-factors.csv, diagnostics.json
outputs_dir = None  # where chapters 02-04 wrote their outputs; None: the folder above output_dir
rope_ratio = [0.9, 1.1]  # ROPE of a ketamine/saline NIF change ratio (±10%)
rope_madrs = [-2.0, 2.0]  # ROPE of the ketamine minus saline MADRS change (points)
rope_coupling = [-1.0, 1.0]  # ROPE of a within-person coupling (MADRS points per doubling)
rope_moderation = [-1.5, 1.5]  # ROPE of a baseline moderation (MADRS points per SD)
equivalence_level = 0.95  # P(inside the ROPE) at which an effect counts as ruled out
prior_arm_mean_sd = 0.3  # chapter 02's prior SD of the pooled log ratio
prior_arm_spread_sd = 0.15  # chapter 02's half-normal scale of marker-to-marker spread
prior_madrs_arm_sd = 5.0  # chapter 03's prior SD of the ketamine minus saline MADRS change
prior_coupling_mean_sd = 3.0  # chapter 03's prior SD of the pooled coupling
prior_coupling_spread_sd = 1.5  # chapter 03's half-normal scale of marker-to-marker spread of couplings
prior_moderation_mean_sd = 3.0  # chapter 04's prior SD of the pooled moderation
prior_moderation_spread_sd = 1.5  # chapter 04's half-normal scale of marker-to-marker spread of moderations

# %%
import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ketamine_nif import estimates, evidence, plotting
from ketamine_nif.estimands import (
    BASELINE_MODERATION_DIFFERENCE,
    COUPLING_WITHIN,
    DESCRIPTIONS,
    MADRS_CHANGE_DIFFERENCE,
    NIF_CHANGE_RATIO,
)
from ketamine_nif.reporting import join_words, say, show_table

plotting.setup()
out = Path(output_dir)
out.mkdir(parents=True, exist_ok=True)
sources = Path(outputs_dir) if outputs_dir else out.parent
ropes = {NIF_CHANGE_RATIO: tuple(rope_ratio), MADRS_CHANGE_DIFFERENCE: tuple(rope_madrs),
         **{name: tuple(rope_coupling) for name in COUPLING_WITHIN.values()},
         BASELINE_MODERATION_DIFFERENCE: tuple(rope_moderation)}
table, missing = evidence.rope_estimates(sources, ropes)
specs = evidence.headlines(prior_arm_mean_sd, prior_arm_spread_sd, prior_madrs_arm_sd, prior_coupling_mean_sd,
                           prior_coupling_spread_sd, prior_moderation_mean_sd, prior_moderation_spread_sd)
factors = evidence.bayes_factors(sources, specs)
estimates.write(table if not table.empty else pd.DataFrame(columns=estimates.COLUMNS), out)
factors.to_csv(out / "bayes-factors.csv", index=False, float_format="%.6g")
converged = bool(len(table)) and bool(table["converged"].all())
_ = (out / "diagnostics.json").write_text(json.dumps({"evidence": {
    "sources": str(sources), "missing": missing, "estimands": len(table), "bayes_factors": len(factors),
    "converged": converged}}, indent=2) + "\n")

# %%
if missing:
    say(f"**Missing inputs**: {join_words(missing)} not found. This chapter reads the posterior draws that chapters "
        "02-04 save; run them first (`make report` does). Estimands without their fit are left out below.")

# %% [markdown]
# ## Regions of practical equivalence {#sec-evidence-rope}
#
# A ROPE is the range of effects too small to matter clinically or
# biologically: here a NIF change ratio between 0.9 and 1.1 (±10%), a MADRS
# difference within ±2 points (a fraction of the minimal clinically important
# difference), a coupling within ±1 MADRS point per doubling of a marker and a
# baseline moderation within ±1.5 points per SD. All are parameters of this
# chapter. The posterior probability inside the ROPE is read as follows: at
# least 0.95, the effect is ruled out for practical purposes; at most 0.05,
# it is practically present; in between, the data cannot tell.

# %%
#| label: tbl-evidence-rope
#| tbl-cap: "Per key estimand: how many markers and visits have the effect ruled out (P(inside the ROPE) ≥ 0.95), practically present (≤ 0.05), or undecided, with the smallest and largest P(inside the ROPE)."
if table.empty:
    say("No estimates to show.")
else:
    table["verdict"] = np.select([table["p_rope"] >= equivalence_level, table["p_rope"] <= 1 - equivalence_level],
                                 ["ruled out", "present"], "undecided")
    summary = table.groupby("estimand", sort=False).agg(
        estimates=("p_rope", "size"), ruled_out=("verdict", lambda v: int((v == "ruled out").sum())),
        present=("verdict", lambda v: int((v == "present").sum())), undecided=("verdict", lambda v: int((v == "undecided").sum())),
        lowest=("p_rope", "min"), highest=("p_rope", "max")).reset_index()
    summary.insert(1, "ROPE", summary["estimand"].map(lambda e: f"{ropes[e][0]:g} to {ropes[e][1]:g}"))
    summary["estimand"] = summary["estimand"].map(DESCRIPTIONS)
    show_table(summary.rename(columns={"ruled_out": "ruled out", "lowest": "min P(ROPE)", "highest": "max P(ROPE)"}))

# %%
#| label: fig-evidence-rope
#| fig-cap: "Posterior probability that each effect lies inside its region of practical equivalence, per marker (rows) and estimand (panels); the dashed line marks 0.95. Points from fits that failed the convergence checks are hollow."
#| fig-alt: "Dot plots of the probability inside the region of practical equivalence for each marker, one panel per estimand."
SHORT_TITLES = {NIF_CHANGE_RATIO: "NIF change\nratio", MADRS_CHANGE_DIFFERENCE: "MADRS\ndifference",
                COUPLING_WITHIN["ketamine"]: "coupling,\nketamine", COUPLING_WITHIN["saline"]: "coupling,\nsaline",
                COUPLING_WITHIN["difference"]: "coupling,\ndifference", BASELINE_MODERATION_DIFFERENCE: "baseline\nmoderation"}
if not table.empty:
    families = list(dict.fromkeys(table["estimand"]))
    fig, axes = plt.subplots(1, len(families), figsize=(plotting.FIGURE_WIDTH, 0.3 * table["marker"].nunique() + 1.6),
                             sharey=True, squeeze=False)
    rows = list(dict.fromkeys(table["marker"]))
    for ax, family in zip(axes.flat, families, strict=True):
        part = table[table["estimand"] == family]
        y = part["marker"].map({m: i for i, m in enumerate(rows)})
        ok = part["converged"].astype(bool)
        ax.scatter(part["p_rope"][ok], y[ok], s=14, color="#0072B2")
        ax.scatter(part["p_rope"][~ok], y[~ok], s=14, facecolor="white", edgecolor="#0072B2")
        ax.axvline(equivalence_level, color="0.3", ls="--", lw=0.8)
        ax.set_xlim(-0.03, 1.03)
        ax.set_title(SHORT_TITLES.get(family, family), fontsize=8)
        ax.set_xticks([0, 0.5, 1], ["0", "0.5", "1"])
    axes.flat[0].set_yticks(range(len(rows)), rows)
    axes.flat[0].invert_yaxis()
    fig.supxlabel("P(inside the region of practical equivalence)", fontsize=9)
    fig.tight_layout()
    plt.show()

# %% [markdown]
# ## Bayes factors for the headline nulls {#sec-evidence-bayes-factors}
#
# The Bayes factor $\mathrm{BF}_{01}$ compares "the effect is exactly zero"
# with "the effect follows the model's prior": above 1 the data favour no
# effect, below 1 an effect. It is computed by the **Savage-Dickey density
# ratio**: for a parameter $\theta$ whose null value leaves the prior of
# everything else unchanged,
#
# $$
# \mathrm{BF}_{01} = \frac{p(\theta = 0 \mid \text{data})}{p(\theta = 0)},
# $$
#
# the posterior density at zero over the prior density at zero. The prior
# density is exact: normal for a pooled mean (the headline "on average over
# markers" nulls), and for one marker's effect, partially pooled as
# $\theta_m = \bar\theta + s\,w_m$, the normal scale mixture
# $\int \mathrm N(0 \mid 0, \sqrt{\sigma_{\bar\theta}^2 + s^2})\, p(s)\, ds$,
# integrated numerically (for a marker's effect the null model is the full
# model conditioned on $\theta_m = 0$). The posterior density at zero is a
# Gaussian kernel density estimate of the posterior draws (Scott's
# bandwidth), or a normal approximation when zero lies outside the central 99%
# of the draws, where the Bayes factor is then only accurate to its order of
# magnitude. The method was checked on a conjugate normal model, whose Bayes
# factor is known exactly, to within 5% (`tests/test_evidence.py`). Ratios
# are tested on the log scale (null: log ratio 0). A Bayes factor depends on
# the prior's width: a wider prior favours the null more; the priors are those
# of chapters 02-04, justified there.

# %%
#| label: tbl-evidence-headline
#| tbl-cap: "Bayes factors BF01 (above 1: evidence for no effect) for the pooled effects across markers and for ketamine's effect on MADRS, with the prior and the method used for the posterior density at zero."
if factors.empty:
    say("No saved fits to compute Bayes factors from.")
else:
    pooled = factors[factors["marker"].isin(["all", "MADRS"])]
    show_table(pd.DataFrame({
        "null": pooled["null"], "arm / visit": [a or v for a, v in zip(pooled["arm"], pooled["visit"], strict=True)],
        "prior": pooled["prior"], "BF01": pooled["bf01"].map(lambda b: f"{b:.3g}"), "reading": pooled["evidence"],
        "posterior density": pooled["method"],
    }))

# %%
#| label: tbl-evidence-markers
#| tbl-cap: "Bayes factors BF01 for each marker's effect: range over markers (and visits or arms)."
if not factors.empty:
    per_marker = factors[~factors["marker"].isin(["all", "MADRS"])]
    show_table(per_marker.groupby("null", sort=False).agg(
        tests=("bf01", "size"), smallest=("bf01", "min"), median=("bf01", "median"), largest=("bf01", "max"),
        favour_null=("bf01", lambda b: int((b > 3).sum())), favour_effect=("bf01", lambda b: int((b < 1 / 3).sum())),
    ).reset_index().rename(columns={"favour_null": "BF01 > 3", "favour_effect": "BF01 < 1/3"}))

# %% [markdown]
# ## Answer {#sec-evidence-answer}

# %%
if table.empty or factors.empty:
    say("No answer can be given without the posterior draws of chapters 02-04.")
else:
    nif = table[table["estimand"] != MADRS_CHANGE_DIFFERENCE]
    madrs = table[table["estimand"] == MADRS_CHANGE_DIFFERENCE]
    per_marker = factors[~factors["marker"].isin(["all", "MADRS"])]
    by_family = {DESCRIPTIONS[e]: (int((g["verdict"] == "ruled out").sum()), len(g)) for e, g in nif.groupby("estimand", sort=False)}
    say(
        ("" if converged else "**Caution**: some source fits did not pass the convergence checks; their numbers are "
         "shown but are not findings. ")
        + f"Of {len(nif)} NIF estimands, {int((nif['verdict'] == 'ruled out').sum())} are ruled out for practical "
        f"purposes (P(inside the ROPE) ≥ {equivalence_level:g}), {int((nif['verdict'] == 'present').sum())} are practically "
        f"present and {int((nif['verdict'] == 'undecided').sum())} undecided ("
        + join_words(f"{k}: {a} of {n}" for k, (a, n) in by_family.items()) + "). "
        f"The Bayes factors for each marker's effect range from {per_marker['bf01'].min():.2g} to "
        f"{per_marker['bf01'].max():.2g}, {int((per_marker['bf01'] > 3).sum())} of {len(per_marker)} above 3 (at least "
        "moderate evidence for no effect). "
        + (f"Ketamine's effect on MADRS, by contrast, is practically present at {join_words(madrs.loc[madrs['verdict'] == 'present', 'visit'])}. "
           if (madrs["verdict"] == "present").any() else "")
        + "Where an effect is 'undecided', the trial is silent rather than negative: the interval still reaches "
        "effects that would matter."
    )

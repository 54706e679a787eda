"""Honest uncertainty: the book's models are as uncertain as the data, and a
"ruled out" verdict comes from a marker's own data.

* The ketamine minus saline MADRS difference has the posterior SD of the
  standard error of an independent method, a statsmodels mixed model with a
  random intercept fitted to the same data (within 15%).
* One modest real effect among null markers (an IL-6 ratio of 1.25 at 24 h;
  a coupling of 3 MADRS points per doubling of IL-1RA in the ketamine arm; a
  moderation of -3 points per SD of baseline BDNF), each on the book's default
  twin: the effect is not ruled out, its posterior SD is within 30% of the
  same marker fitted alone, and no null marker is detected.

These fits run at the trial's size (a few minutes in all).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from ketamine_nif import estimates, frequentist
from ketamine_nif.analysis import load as load_analysis
from ketamine_nif.answers.coupling import PULL_PLUG_IN
from ketamine_nif.contract import load_dataset
from ketamine_nif.convergence import ess_bulk
from ketamine_nif.estimands import (
    BASELINE_MODERATION_DIFFERENCE,
    COUPLING_WITHIN,
    MADRS_CHANGE_DIFFERENCE,
    NIF_CHANGE_RATIO,
)
from ketamine_nif.inference import SamplerSettings, fit
from ketamine_nif.models import (
    OutcomePriors,
    build_coupling_model,
    build_moderation_model,
    build_nif_trajectory_model,
    build_outcome_model,
    prepare,
)
from ketamine_nif.twin import DEFAULT_SEED, load_scenario, simulate

pytestmark = pytest.mark.slow

SETTINGS = SamplerSettings(draws=500, tune=500, chains=4, seed=3)


def twin(tmp_path, effects: dict | None = None):
    """The book's default twin (paper-null, default seed), with ``effects`` planted."""
    scenario = load_scenario("paper-null", overrides={"effects": effects} if effects else None)
    simulate(scenario, seed=DEFAULT_SEED).write(tmp_path)
    return load_dataset(tmp_path)


def test_madrs_difference_is_as_uncertain_as_a_mixed_model(tmp_path):
    data = prepare(twin(tmp_path))
    result = fit(build_outcome_model(data), SETTINGS, "depression")
    draws = result.idata.posterior[MADRS_CHANGE_DIFFERENCE]
    frame = pd.DataFrame({"y": data.y, "person": data.y_person, "visit": np.asarray(data.visits)[data.y_visit],
                          "y0c": (data.y0 - np.nanmean(data.y0))[data.y_person], "k": data.arm_contrast[data.y_person]})
    mixed = smf.mixedlm("y ~ 0 + C(visit) + y0c + C(visit):k", frame, groups=frame["person"]).fit(reml=True)
    terms = [f"C(visit)[{visit}]:k" for visit in data.post_visits]
    # the prior N(0, arm_sd) on each visit's difference, applied to the mixed model's estimates in closed form
    shrunk = frequentist.shrunk_by_prior(mixed.params[terms].to_numpy(), mixed.cov_params().loc[terms, terms].to_numpy(),
                                         OutcomePriors().arm_sd)
    assert frequentist.arm_difference_mixed_model(data, data.post_visits, OutcomePriors().arm_sd)["shrunk"].to_numpy() == pytest.approx(shrunk, abs=1e-4)
    for visit, term, expected in zip(data.post_visits, terms, shrunk, strict=True):
        sd = float(draws.sel(post_visit=visit).std())
        se = float(mixed.bse[term])
        assert abs(sd / se - 1) <= 0.15, (visit, sd, se)
        # and the estimate is the mixed model's pulled toward no difference by the prior, as the closed form says
        # (about 0.2 points here, the MADRS bias of the calibration studies), to Monte Carlo error and the closed
        # form's own approximation (answers.coupling.PULL_PLUG_IN)
        mean = float(draws.sel(post_visit=visit).mean())
        mcse = sd / np.sqrt(float(ess_bulk(draws.sel(post_visit=visit).to_numpy()[None])[0]))
        assert abs(mean - expected) < 3 * mcse + PULL_PLUG_IN, (visit, mean, expected, mcse)
        # nearer the shrunk value than the mixed model's own: a model that ignored its prior would fail
        assert abs(mean - expected) < abs(mean - mixed.params[term]) and abs(expected) < abs(mixed.params[term])


def _check(table: pd.DataFrame, alone: pd.DataFrame, planted: pd.Series, variable_sd) -> None:
    """The planted rows (``planted`` marks them in ``table``) are not ruled out
    and their SDs (``variable_sd(table_rows)``) are within 30% of the alone fit's;
    no other row is detected."""
    real, nulls = table[planted], table[~planted]
    assert (real["p_rope"] < 0.95).all(), real
    ratio = variable_sd(real) / variable_sd(alone)
    assert np.all(np.abs(ratio - 1) <= 0.30), ratio
    assert not estimates.detected(nulls).any(), nulls[estimates.detected(nulls)]


def test_a_modest_nif_effect_survives_among_null_markers(tmp_path):
    effects = {"nif_change_ratio": {"IL-6": {"24h": 1.25, "day3": 1.0, "day5": 1.0}}}
    dataset = twin(tmp_path, effects)
    rope = load_analysis().rope(NIF_CHANGE_RATIO)
    tables = {}
    for label, markers in (("all", None), ("alone", ["IL-6"])):
        result = fit(build_nif_trajectory_model(prepare(dataset, markers=markers)), SETTINGS, label)
        table = estimates.summarise(result.idata, NIF_CHANGE_RATIO, rope, True)
        log_sd = result.idata.posterior["log_ratio"].std(("chain", "draw"))
        tables[label] = table.assign(log_sd=[float(log_sd.sel(marker=m, post_visit=v)) for m, v in zip(table["marker"], table["visit"], strict=True)])
    table, alone = tables["all"], tables["alone"]
    planted = (table["marker"] == "IL-6") & (table["visit"] == "24h")
    _check(table, alone[alone["visit"] == "24h"], planted, lambda rows: rows["log_sd"].to_numpy())


def test_a_modest_coupling_survives_among_null_markers(tmp_path):
    dataset = twin(tmp_path, {"coupling_within": {"IL-1RA": {"ketamine": 3.0, "saline": 0.0}}})
    tables = {}
    for label, markers in (("all", None), ("alone", ["IL-1RA"])):
        result = fit(build_coupling_model(prepare(dataset, markers=markers)), SETTINGS, label)
        tables[label] = pd.concat([estimates.summarise(result.idata, name, load_analysis().rope(name), True) for name in COUPLING_WITHIN.values()],
                                  ignore_index=True)
    table, alone = tables["all"], tables["alone"]
    # the ketamine arm's coupling is planted (and so is the arm difference)
    planted = (table["marker"] == "IL-1RA") & (table["estimand"] != COUPLING_WITHIN["saline"])
    reference = alone[alone["estimand"] != COUPLING_WITHIN["saline"]]
    _check(table, reference, planted, lambda rows: rows["sd"].to_numpy())


def test_a_modest_moderation_survives_among_null_markers(tmp_path):
    dataset = twin(tmp_path, {"baseline_moderation": {"BDNF": {"24h": -3.0, "day3": -3.0, "day5": -3.0}}})
    rope = load_analysis().rope(BASELINE_MODERATION_DIFFERENCE)
    tables = {}
    for label, markers in (("all", None), ("alone", ["BDNF"])):
        result = fit(build_moderation_model(prepare(dataset, markers=markers)), SETTINGS, label)
        tables[label] = estimates.summarise(result.idata, BASELINE_MODERATION_DIFFERENCE, rope, True)
    table, alone = tables["all"], tables["alone"]
    _check(table, alone, table["marker"] == "BDNF", lambda rows: rows["sd"].to_numpy())

"""The delta-adjusted tipping-point analysis of the MADRS arm difference
(``ketamine_nif.sensitivity``, chapter 03): the missing shares counted from
the data's own tables, the closed-form shift checked against completing
draws by hand, and the tipping point found where the verdict changes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ketamine_nif import sensitivity
from ketamine_nif.answers import coupling as answers
from ketamine_nif.contract import load_dataset
from ketamine_nif.models import prepare
from ketamine_nif.twin import load_scenario, simulate

ROPE = (-2.0, 2.0)


def test_missing_shares_are_counted_from_the_ratings_table(tmp_path):
    scenario = load_scenario("paper-null", overrides={"design": {"n_ketamine": 40, "n_saline": 20},
                                                      "missingness": {"dropout_per_visit": 0.2}})
    folder = simulate(scenario, seed=5).write(tmp_path / "data")
    shares = sensitivity.missing_shares(prepare(load_dataset(folder))).set_index("visit")
    # independently: participants with a baseline MADRS, and whether each has one at the visit
    ratings = pd.read_csv(folder / "measurements.csv").query("measure == 'MADRS'")
    arms = pd.read_csv(folder / "participants.csv").set_index("participant_id")["arm"]
    rated = set(ratings.loc[ratings["visit"] == "baseline", "participant_id"])
    for visit in ("24h", "day3", "day5"):
        seen = set(ratings.loc[ratings["visit"] == visit, "participant_id"])
        for arm, column in (("ketamine", "treatment"), ("saline", "reference")):
            people = [p for p in rated if arms[p] == arm]
            expected = np.mean([p not in seen for p in people])
            assert shares.loc[visit, column] == pytest.approx(expected)
    assert shares.loc["day5", "treatment"] > 0.3  # dropout accumulates over the visits


def test_the_shift_is_the_completed_data_mean_draw_by_draw():
    # completing by hand: 10 ketamine participants, 3 missing, each missing value delta worse than
    # its MAR value; the arm mean moves by delta * 3/10, the difference with it
    rng = np.random.default_rng(1)
    mar_ketamine, saline = rng.normal(-8, 1, (4000, 10)), rng.normal(-3, 1, (4000, 1))
    missing = np.zeros(10, dtype=bool)
    missing[:3] = True
    delta = 4.0
    by_hand = (mar_ketamine + delta * missing).mean(axis=1) - saline[:, 0]
    draws = {"day5": mar_ketamine.mean(axis=1) - saline[:, 0]}
    shares = pd.DataFrame({"visit": ["day5"], "treatment": [0.3], "reference": [0.0]})
    table = sensitivity.delta_adjusted(draws, shares, ROPE, True, deltas=[0.0, delta]).set_index("delta")
    assert table.loc[delta, "mean"] == pytest.approx(by_hand.mean())
    assert table.loc[delta, "ci_low"] == pytest.approx(np.quantile(by_hand, 0.025))
    assert table.loc[0.0, "mean"] == pytest.approx(draws["day5"].mean())
    # a shift of the reference arm's missing ratings moves the difference the other way
    both = sensitivity.delta_adjusted(draws, shares.assign(reference=0.5), ROPE, True, deltas=[delta], reference_delta=2.0)
    assert both["mean"].iloc[0] == pytest.approx(by_hand.mean() - 2.0 * 0.5)


def test_the_tipping_point_is_where_the_verdict_changes():
    rng = np.random.default_rng(2)
    draws = {"24h": rng.normal(-6.0, 1.0, 8000), "day5": rng.normal(-0.2, 0.5, 8000)}
    shares = pd.DataFrame({"visit": ["24h", "day5"], "treatment": [0.5, 0.1], "reference": [0.0, 0.0]})
    table = sensitivity.delta_adjusted(draws, shares, ROPE, True)
    tips = sensitivity.tipping_points(table).set_index("visit")
    # 24h: supported while -6 + 0.5 delta stays two SDs below zero, i.e. up to delta = 8 (then -2.0, P(<0) ~ 0.977)
    adjusted = table.set_index(["visit", "delta"])
    first_change = min(d for d in sensitivity.DELTAS if adjusted.loc[("24h", d), "p_positive"] > 0.025)
    assert tips.loc["24h", "verdict"] == "supported" and tips.loc["24h", "tipping_delta"] == first_change
    assert tips.loc["24h", "becomes"] == "inconclusive" and 7 <= first_change <= 9
    # day5: ruled out, and 10 points on 10% of the arm moves it by one point: still inside (-2, 2)
    assert tips.loc["day5", "verdict"] == "ruled out" and np.isnan(tips.loc["day5", "tipping_delta"])
    unconverged = sensitivity.delta_adjusted(draws, shares, ROPE, False)
    assert set(unconverged["verdict"]) == {"unreliable"}
    shown = sensitivity.tipping_table(table).set_index("visit")
    assert shown.loc["day5", "tipping point (points)"] == "none" and shown.loc["24h", "treatment arm without a rating"] == "50%"
    assert shown.loc["24h", "tipping point (points)"] == f"{first_change:.0f}: inconclusive"


def test_the_tipping_point_in_words():
    tips = pd.DataFrame({"visit": ["24h", "day5"], "verdict": ["supported", "ruled out"], "largest_delta": [10.0, 10.0],
                         "tipping_delta": [8.0, np.nan], "becomes": ["inconclusive", ""]})
    assert answers.madrs_tipping(tips) == (
        'If the ketamine participants without a rating would have rated that many points worse than the model assumes '
        '(missing not at random), at 24h "supported" turns "inconclusive" at 8 points and at day5 "ruled out" holds up '
        'to 10 points. A shift of 8 points already changes a verdict: read that verdict with this assumption in mind.')
    fragile = tips.assign(tipping_delta=[2.0, np.nan])
    assert answers.madrs_tipping(fragile).endswith(
        "A shift of 2 points already changes a verdict: no more than the minimal important difference of 2 points, so "
        "that verdict rests on the untestable assumption that those who left would have gone on like those who stayed.")
    robust = tips.assign(tipping_delta=np.nan)
    assert answers.madrs_tipping(robust).endswith(
        "Every verdict survives a shift of 10 points, far beyond the minimal important difference of 2 points: "
        "this answer does not hinge on how those who left would have fared.")
    assert answers.madrs_tipping(tips.iloc[:0]) == ""
    assert answers.madrs_tipping(tips.assign(verdict="unreliable")) == (
        "**No answer is given**: the depression fit did not pass the convergence checks (see above), so its numbers are "
        "not findings. There is no verdict to test for its sensitivity to dropout.")


def test_no_arm_difference_gives_an_empty_table_and_no_sentence():
    """One arm (or no visit with a difference): nothing to adjust, and the
    chapter's table and sentence are empty rather than an error."""
    shares = pd.DataFrame(columns=["visit", "treatment", "reference"])
    table = sensitivity.delta_adjusted({}, shares, ROPE, True)
    assert table.empty and {"verdict", "delta"} <= set(table.columns)
    shown = sensitivity.tipping_table(table)
    assert shown.empty and list(shown.columns)[-1] == "10 points worse"
    assert answers.madrs_tipping(sensitivity.tipping_points(table)) == ""

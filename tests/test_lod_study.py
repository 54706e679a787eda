"""The study of values under the detection limit, a sweep like every study:
its replicate (three treatments of the same twin joined to the truth), and the
one summary of studies against the truth, grouped by treatment and marker."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ketamine_nif.estimands import NIF_CHANGE_RATIO
from ketamine_nif.recovery import (
    LOD_GROUPS,
    join_methods,
    lod_bias_replicate,
    paired_differences,
    recovery_summary,
)


def estimates(means, low, high):
    return pd.DataFrame({"estimand": NIF_CHANGE_RATIO, "marker": ["IL-6", "IL-6", "CRP"], "visit": ["24h", "day3", "24h"],
                         "subgroup": "all", "mean": means, "ci_low": low, "ci_high": high,
                         "p_positive": [0.99, 0.5, 0.5], "converged": True})


TRUTH = pd.DataFrame({"estimand": NIF_CHANGE_RATIO, "marker": ["IL-6", "IL-6", "CRP"], "visit": ["24h", "day3", "24h"],
                      "subgroup": "all", "value": [1.25, 1.0, 1.0]})


def test_treatments_are_joined_to_the_truth_on_the_log_scale_and_summarised_per_treatment_and_marker():
    joined = join_methods({"censored": estimates([1.25, 1.1, 0.9], [1.1, 0.9, 0.8], [1.4, 1.3, 1.2]),
                           "lod/2": estimates([1.5, 1.0, 1.0], [1.3, 0.9, 0.9], [1.7, 1.1, 1.1])}, TRUTH)
    joined = joined.assign(censored_share=joined["marker"].map({"IL-6": 0.3, "CRP": 0.1}))
    assert np.allclose(joined["log_error"], np.log([1.0, 1.1, 0.9, 1.2, 1.0, 1.0]))
    summary = recovery_summary(joined, by=LOD_GROUPS, error="log_error").set_index(list(LOD_GROUPS))
    assert list(summary.index) == [("censored", "IL-6"), ("censored", "CRP"), ("lod/2", "IL-6"), ("lod/2", "CRP")]
    censored = summary.loc[("censored", "IL-6")]
    assert censored["replicates"] == 1 and censored["estimates"] == 2 and censored["share under the limit"] == 0.3
    assert censored["bias"] == pytest.approx(np.log(1.1) / 2) and censored["rmse"] == pytest.approx(np.log(1.1) / 2**0.5)
    assert censored["coverage"] == 1.0 and censored["detected_planted"] == 1.0 and censored["false_detections"] == 0
    assert summary.loc[("lod/2", "IL-6"), "coverage"] == 0.5  # 1.5 (1.3-1.7) misses the true 1.25
    paired = paired_differences(joined).iloc[0]
    assert paired["method"] == "lod/2" and paired["estimates"] == 3


@pytest.mark.slow
def test_a_replicate_fits_each_treatment_to_the_same_twin():
    rows = lod_bias_replicate(seed=3, markers=["IL-6", "CRP"], draws=60, chains=2)
    assert set(rows["method"]) == {"censored", "lod/2", "lod/sqrt2"}
    assert len(rows) == 3 * 2 * 3  # treatments x markers x post-infusion visits
    assert rows.groupby("method")["truth"].apply(tuple).nunique() == 1  # the same twin for every treatment
    share = rows.groupby("marker")["censored_share"].first()
    assert share["IL-6"] > 0.1 and 0 <= share["CRP"] < 0.05  # IL-6's limit censors about a quarter, CRP's almost none
    assert {"log_error", "covered", "planted"} <= set(rows.columns)


def test_paired_differences_pair_the_same_estimates():
    errors = pd.DataFrame({
        "seed": [1, 1, 2, 2] * 2, "marker": ["A", "B"] * 4, "visit": "24h",
        "method": ["censored"] * 4 + ["lod/2"] * 4,
        "log_error": [0.0, 0.1, -0.1, 0.0, 0.1, 0.2, 0.0, 0.1],
    })
    row = paired_differences(errors).iloc[0]
    assert row["method"] == "lod/2" and row["estimates"] == 4
    assert row["error_difference"] == pytest.approx(0.1) and row["se"] == pytest.approx(0.0, abs=1e-12)
    assert row["abs_error_difference"] == pytest.approx((0.1 + 0.2 + 0.0 + 0.1 - 0.0 - 0.1 - 0.1 - 0.0) / 4)

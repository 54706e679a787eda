"""Subgroup assignment and the data chapter's summaries, checked against
direct counts on the data."""

from __future__ import annotations

import pandas as pd
import pytest

from ketamine_nif import describe
from ketamine_nif.contract import load_dataset
from ketamine_nif.paths import PARAMS
from ketamine_nif.reporting import join_words, markdown_table
from ketamine_nif.subgroups import Split, SubgroupError, assign, load_splits, subgroup_counts


@pytest.fixture(scope="module")
def dataset(small_twin_dir):
    return load_dataset(small_twin_dir)


def test_project_subgroup_file_has_fourteen_splits(dataset):
    splits = load_splits(PARAMS / "subgroups.yaml")
    assert len(splits) == 14 and len({s.name for s in splits}) == 14
    counts = subgroup_counts(dataset, splits)
    training = counts[counts["split"] == "training"]
    assert training["saline"].sum() == 0  # training splits the ketamine arm only
    assert training["ketamine"].sum() == (dataset.participants["arm"] == "ketamine").sum()


def test_threshold_median_and_baseline_rules(dataset):
    p = dataset.participants.set_index("participant_id")
    bmi = assign(Split("bmi", "bmi", "threshold", ("low", "high"), value=25), dataset)
    assert ((bmi == "low") == (p["bmi"] < 25)).all()
    age = assign(Split("age", "age", "median", ("young", "old")), dataset)
    assert ((age == "young") == (p["age"] < p["age"].median())).all()
    m = dataset.measurements
    madrs0 = m[(m["visit"] == "baseline") & (m["measure"] == "MADRS")].set_index("participant_id")["value"]
    base = assign(Split("b", "baseline:MADRS", "threshold", ("mild", "severe"), value=33), dataset)
    assert ((base == "mild") == (madrs0.reindex(base.index) < 33)).all()


def test_bad_subgroup_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "s.yaml"
    bad.write_text("splits:\n  - {name: x, covariate: bmi, rule: cutoff, labels: [a, b]}\n")
    with pytest.raises(SubgroupError, match="rule must be one of"):
        load_splits(bad)
    with pytest.raises(SubgroupError, match="cannot read"):
        load_splits(tmp_path / "missing.yaml")


def test_flow_counts_match_the_data(dataset):
    flow = describe.participant_flow(dataset).set_index("visit")
    m = dataset.measurements.merge(dataset.participants[["participant_id", "arm"]])
    rated = m[(m["measure"] == "MADRS") & (m["visit"] == "24h") & (m["arm"] == "ketamine")]["participant_id"].nunique()
    assert flow.loc["24h", "ketamine: MADRS"].startswith(f"{rated} (")
    assert flow.loc["baseline", "saline: MADRS"] == "6 (100%)"


def test_baseline_table_and_change(dataset):
    table = describe.baseline_table(dataset).set_index("characteristic")
    assert table.loc["Participants, n", "ketamine"] == "8"
    assert {"BDNF, ng/mL, median [IQR]", "MADRS before infusion, mean (SD)"} <= set(table.index)
    change = describe.mean_change(dataset)
    assert list(change["visit"]) == ["24h", "day3", "day5"]
    assert (change["difference"] == change["ketamine"] - change["saline"]).all()


def test_trajectory_summary_brackets_the_mean(dataset):
    summary = describe.trajectory_summary(dataset, "IL-6")
    assert (summary["low"] <= summary["centre"]).all() and (summary["centre"] <= summary["high"]).all()
    assert set(summary["arm"]) == {"ketamine", "saline"}


def test_markdown_table_and_words():
    table = markdown_table(pd.DataFrame({"a": [1.234, float("nan")], "b|c": ["x|y", "z"]}), digits=1)
    assert table.splitlines() == ["| a | b\\|c |", "|---|---|", "| 1.2 | x\\|y |", "| – | z |"]
    assert join_words(["a"]) == "a" and join_words(["a", "b", "c"]) == "a, b and c"

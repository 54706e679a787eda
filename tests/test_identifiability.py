"""What the data can inform: estimands that would rest (almost) on the prior
alone are found from the data before any fit (unit tests here; the chapters'
callouts and estimates.csv are checked end to end in
tests/test_identifiability_chapters.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import read, write
from ketamine_nif import engine, reporting
from ketamine_nif.contract import load_dataset
from ketamine_nif.estimands import (
    BASELINE_MODERATION_DIFFERENCE,
    BTHEB_TREATMENT,
    COUPLING_WITHIN,
    MADRS_CHANGE_DIFFERENCE,
    NIF_CHANGE_RATIO,
    REGISTRY,
    SUBGROUP_COUPLING_DIFFERENCE,
    SUBGROUP_NIF_RATIO,
)
from ketamine_nif.identifiability import MIN_PER_ARM, anchored, assess, assess_subgroups, in_words
from ketamine_nif.inference import SamplerSettings
from ketamine_nif.models import ModelDataError, moderation_data, prepare
from ketamine_nif.models.depression import unscaled_markers
from ketamine_nif.recovery import fit_all
from ketamine_nif.subgroups import load_splits

SPLITS = Path(__file__).resolve().parents[1] / "params" / "subgroups.yaml"
ARM_ESTIMANDS = (NIF_CHANGE_RATIO, COUPLING_WITHIN["saline"], COUPLING_WITHIN["difference"], BASELINE_MODERATION_DIFFERENCE)


def one_arm(data_dir):
    """Keep only the ketamine arm."""
    people = read(data_dir, "participants")
    kept = people[people["arm"] == "ketamine"]
    write(kept, data_dir, "participants")
    rows = read(data_dir, "measurements")
    write(rows[rows["participant_id"].isin(kept["participant_id"])], data_dir, "measurements")


def no_baseline(data_dir, marker="IL-6"):
    """Drop every baseline sample of one marker (as for a drug level before dosing)."""
    rows = read(data_dir, "measurements")
    write(rows[~((rows["measure"] == marker) & (rows["visit"] == "baseline"))], data_dir, "measurements")


def saline_ids(data_dir) -> set[str]:
    people = read(data_dir, "participants")
    return set(people.loc[people["arm"] == "saline", "participant_id"])


def test_the_twin_informs_every_estimand(small_twin_dir):
    dataset = load_dataset(small_twin_dir)
    assert assess(dataset).gaps == [] and anchored(dataset) == dataset.markers


def test_one_arm_leaves_out_every_contrast_and_the_missing_arms_coupling(data_copy):
    one_arm(data_copy)
    dataset = load_dataset(data_copy)
    found = assess(dataset)
    for marker in dataset.markers:
        for visit in ("24h", "day3", "day5"):
            assert not found.informed(NIF_CHANGE_RATIO, marker, visit)
        assert all(not found.informed(e, marker, "day5") for e in ARM_ESTIMANDS)
        assert found.informed(COUPLING_WITHIN["ketamine"], marker)
    assert found.reasons(MADRS_CHANGE_DIFFERENCE, "MADRS", "day3") == [
        f"the saline arm has 0 participants with MADRS at baseline and at day3 (at least {MIN_PER_ARM} needed)"]


def test_one_visit_without_data_in_an_arm_loses_the_estimands_of_that_visit_only(data_copy):
    rows = read(data_copy, "measurements")
    dropped = (rows["measure"] == "MADRS") & (rows["visit"] == "day5") & rows["participant_id"].isin(saline_ids(data_copy))
    write(rows[~dropped], data_copy, "measurements")
    found = assess(load_dataset(data_copy))
    assert not found.informed(MADRS_CHANGE_DIFFERENCE, "MADRS", "day5")
    assert found.informed(MADRS_CHANGE_DIFFERENCE, "MADRS", "day3")
    assert not found.informed(BASELINE_MODERATION_DIFFERENCE, "IL-6", "day5")
    assert found.informed(BASELINE_MODERATION_DIFFERENCE, "IL-6", "24h")
    assert found.informed(NIF_CHANGE_RATIO, "IL-6", "day5") and found.informed(COUPLING_WITHIN["saline"], "IL-6")


def test_a_marker_missing_at_baseline_is_left_out_of_the_fits_with_every_estimand(data_copy):
    no_baseline(data_copy, "IL-6")
    dataset = load_dataset(data_copy)
    found = assess(dataset)
    assert "IL-6" not in anchored(dataset) and len(anchored(dataset)) == len(dataset.markers) - 1
    for estimand in (NIF_CHANGE_RATIO, *COUPLING_WITHIN.values(), BASELINE_MODERATION_DIFFERENCE):
        assert not found.informed(estimand, "IL-6", "24h")
        assert all(found.informed(estimand, m, "24h") for m in dataset.markers if m != "IL-6")
    assert found.informed(MADRS_CHANGE_DIFFERENCE, "MADRS", "24h")
    assert found.reasons(NIF_CHANGE_RATIO, "IL-6") == [
        f"the marker is measured at baseline in 0 participants (at least {MIN_PER_ARM} needed), and the models "
        "anchor each marker's course at its baseline level: it is left out of the fits"]


def test_a_marker_with_no_value_at_all_is_left_out_too(data_copy):
    rows = read(data_copy, "measurements")
    rows.loc[rows["measure"] == "IL-6", ["value", "below_lod"]] = ["", "false"]
    write(rows, data_copy, "measurements")
    dataset = load_dataset(data_copy)
    assert "IL-6" not in anchored(dataset) and not assess(dataset).informed(COUPLING_WITHIN["ketamine"], "IL-6")


def test_a_marker_entirely_under_the_detection_limit_informs_no_change(data_copy):
    rows = read(data_copy, "measurements")
    il6 = rows["measure"] == "IL-6"
    rows.loc[il6, "value"], rows.loc[il6, "below_lod"] = "", "true"
    write(rows, data_copy, "measurements")
    dataset = load_dataset(data_copy)
    found = assess(dataset)
    assert "IL-6" in anchored(dataset)  # measured (under the limit) at baseline: fitted, but no change is reported
    assert not found.informed(NIF_CHANGE_RATIO, "IL-6", "24h") and not found.informed(COUPLING_WITHIN["ketamine"], "IL-6")
    assert found.reasons(NIF_CHANGE_RATIO, "IL-6", "24h") == [
        "in the ketamine arm every value of the marker at 24h is under the detection limit; "
        "in the saline arm every value of the marker at 24h is under the detection limit"]
    assert found.informed(NIF_CHANGE_RATIO, "CRP", "24h")
    # nor a moderation by its baseline level: the marker is left out of that model (models.moderation_data)
    assert not found.informed(BASELINE_MODERATION_DIFFERENCE, "IL-6", "24h")
    assert found.reasons(BASELINE_MODERATION_DIFFERENCE, "IL-6", "24h") == [
        f"none of the marker's values at baseline is above the detection limit (at least {MIN_PER_ARM} needed to set its "
        "SD across participants, the unit of a moderation): it is left out of the baseline-prediction model"]
    assert found.informed(BASELINE_MODERATION_DIFFERENCE, "CRP", "24h")


def test_the_moderation_model_leaves_out_a_marker_with_too_few_values_above_its_limit_at_baseline(data_copy, monkeypatch):
    """Fewer than min_per_arm baseline values of IL-6 above its limit (later
    ones measured): the aim 3 model's data lose IL-6 and nothing else, as the
    chapter's callout says; the other models keep it; the studies' fits
    give the model the same data."""
    rows = read(data_copy, "measurements")
    base = (rows["measure"] == "IL-6") & (rows["visit"] == "baseline") & (rows["value"] != "")
    kept_above = base[base].index[: MIN_PER_ARM - 1]  # one short of the minimum stays above the limit
    rows.loc[base & ~rows.index.isin(kept_above), ["value", "below_lod"]] = ["", "true"]
    write(rows, data_copy, "measurements")
    dataset = load_dataset(data_copy)
    data = prepare(dataset)
    assert unscaled_markers(data) == ["IL-6"]
    kept = [m for m in dataset.markers if m != "IL-6"]
    fitted = moderation_data(data)
    expected = prepare(dataset, markers=kept)  # what only() must give: the same arrays as preparing those markers
    assert fitted.markers == kept
    for name in ("nif_person", "nif_marker", "nif_visit", "nif_log", "nif_censored", "nif_log_lod", "y", "y0"):
        np.testing.assert_array_equal(getattr(fitted, name), getattr(expected, name))
    assert assess(dataset).reasons(BASELINE_MODERATION_DIFFERENCE, "IL-6", "day5") == [
        f"only {MIN_PER_ARM - 1} of the marker's values at baseline are above the detection limit (at least {MIN_PER_ARM} "
        "needed to set its SD across participants, the unit of a moderation): it is left out of the baseline-prediction model"]
    assert assess(dataset).informed(NIF_CHANGE_RATIO, "IL-6", "24h")  # its later values still give changes
    assert moderation_data(expected) is expected  # nothing to leave out
    assert unscaled_markers(data, minimum=MIN_PER_ARM - 1) == []  # the minimum is the rule's
    # a laboratory that reports a value under the limit as the limit itself: the same rule, and the same reason
    reported = rows.copy()
    under = base & ~rows.index.isin(kept_above)
    reported.loc[under, "value"] = reported.loc[under, "lod"]
    write(reported, data_copy, "measurements")
    assert unscaled_markers(prepare(load_dataset(data_copy))) == ["IL-6"]
    assert assess(load_dataset(data_copy)).reasons(BASELINE_MODERATION_DIFFERENCE, "IL-6", "day5") == assess(
        dataset).reasons(BASELINE_MODERATION_DIFFERENCE, "IL-6", "day5")
    write(rows, data_copy, "measurements")
    # the studies' fits give the model the same data (recovery.fit_all, through the fit engine)
    given = {}

    def record(form, data, settings, name):
        given[form] = data.markers
        raise StopIteration

    monkeypatch.setattr(engine, "fit_form", record)
    with pytest.raises(StopIteration):
        fit_all(dataset, SamplerSettings(sampler="nutpie"), fits=["baseline-prediction"])
    assert given == {"moderation": kept}
    # one more value above the limit is enough to set the SD
    rows.loc[base[base].index[MIN_PER_ARM - 1], ["value", "below_lod"]] = ["50", "false"]
    write(rows, data_copy, "measurements")
    assert unscaled_markers(prepare(load_dataset(data_copy))) == []
    assert assess(load_dataset(data_copy)).informed(BASELINE_MODERATION_DIFFERENCE, "IL-6", "day5")
    with pytest.raises(ModelDataError, match=f"fewer than {MIN_PER_ARM} baseline values of IL-6 are above the detection limit"):
        moderation_data(data.only(["IL-6"]))
    with pytest.raises(ModelDataError, match="not in these data"):
        data.only(["IL-99"])


def test_a_marker_under_the_limit_at_baseline_in_one_arm_informs_no_moderation(data_copy):
    rows = read(data_copy, "measurements")
    base = (rows["measure"] == "IL-6") & (rows["visit"] == "baseline") & ~rows["participant_id"].isin(saline_ids(data_copy))
    rows.loc[base, "value"], rows.loc[base, "below_lod"] = "", "true"
    write(rows, data_copy, "measurements")
    found = assess(load_dataset(data_copy))
    assert found.reasons(BASELINE_MODERATION_DIFFERENCE, "IL-6", "24h") == [
        "in the ketamine arm every value of the marker at baseline is under the detection limit"]
    assert found.informed(NIF_CHANGE_RATIO, "IL-6", "24h")  # its later values still give changes


def test_too_few_participants_with_paired_changes_leave_out_that_arms_coupling(data_copy):
    """Saline participants keep their IL-6 at baseline but lose it afterwards
    but for two: their coupling has too few within-person changes."""
    rows = read(data_copy, "measurements")
    saline = sorted(saline_ids(data_copy))
    dropped = (rows["measure"] == "IL-6") & (rows["visit"] != "baseline") & rows["participant_id"].isin(saline[2:])
    write(rows[~dropped], data_copy, "measurements")
    found = assess(load_dataset(data_copy))
    assert not found.informed(COUPLING_WITHIN["saline"], "IL-6")
    assert found.informed(COUPLING_WITHIN["ketamine"], "IL-6")
    assert found.reasons(COUPLING_WITHIN["saline"], "IL-6") == [
        f"the saline arm has 2 participants with the marker at baseline and at a later visit with a MADRS rating "
        f"(at least {MIN_PER_ARM} needed)"]


def test_subgroups_of_a_one_arm_split_report_no_coupling_of_the_other_arm(small_twin_dir):
    """Training applies to the ketamine arm only: its subgroups hold no saline
    participant, so their saline couplings (and the split's saline
    difference) would be the prior, while its ratio of NIF change needs only
    ketamine participants."""
    dataset = load_dataset(small_twin_dir)
    training = [s for s in load_splits(SPLITS) if s.name == "training"]
    found = assess_subgroups(dataset, training, estimands=[*COUPLING_WITHIN.values(), SUBGROUP_COUPLING_DIFFERENCE["saline"],
                                                           SUBGROUP_COUPLING_DIFFERENCE["ketamine"], SUBGROUP_NIF_RATIO])
    first, second = training[0].labels
    assert not found.informed(COUPLING_WITHIN["saline"], "IL-6", "all", first)
    assert not found.informed(SUBGROUP_COUPLING_DIFFERENCE["saline"], "IL-6", "all", f"{first} vs {second}")
    assert found.reasons(COUPLING_WITHIN["saline"], "IL-6", "all", first)[0].startswith(f"in the subgroup {first}, the saline arm has 0")
    assert found.informed(SUBGROUP_NIF_RATIO, "IL-6", "all", f"{first} vs {second}")
    assert found.informed(COUPLING_WITHIN["saline"], "IL-6", "all", "all")  # the whole trial is another matter


def test_keep_drops_the_uninformed_rows_and_the_callout_names_them(data_copy):
    no_baseline(data_copy, "IL-6")
    found = assess(load_dataset(data_copy))
    table = pd.DataFrame({"estimand": [NIF_CHANGE_RATIO, NIF_CHANGE_RATIO, f"{NIF_CHANGE_RATIO}_student", MADRS_CHANGE_DIFFERENCE],
                          "marker": ["IL-6", "CRP", "IL-6", "MADRS"], "visit": ["24h"] * 4, "subgroup": ["all"] * 4})
    kept = found.keep(table)
    assert list(zip(kept["estimand"], kept["marker"], strict=True)) == [(NIF_CHANGE_RATIO, "CRP"), (MADRS_CHANGE_DIFFERENCE, "MADRS")]
    callout = reporting.uninformed_callout(found.gaps_for([NIF_CHANGE_RATIO]))
    assert callout.startswith('::: {.callout-warning title="Not reported: estimates these data cannot inform"}')
    assert "- **NIF change, ketamine / saline** for IL-6: the marker is measured at baseline in 0 participants" in callout
    assert callout.endswith(":::") and "CRP" not in callout
    assert reporting.uninformed_callout([]) == ""


def test_the_callout_lists_markers_with_one_reason_together(data_copy):
    one_arm(data_copy)
    found = assess(load_dataset(data_copy))
    lines = in_words(found.gaps_for([COUPLING_WITHIN["saline"], MADRS_CHANGE_DIFFERENCE]))
    assert lines[0] == "MADRS change, ketamine - saline: the saline arm has 0 participants with MADRS at baseline and at 24h (at least 3 needed)"
    assert lines[-1] == ("coupling, saline arm for BDNF, IL-6, IL-1RA, TNF-alpha, IL-8, IL-10 and CRP: the saline arm has 0 "
                         "participants with the marker at baseline and at a later visit with a MADRS rating (at least 3 needed)")
    assert len(lines) == 4  # three visits of the MADRS difference, one coupling line for every marker


def test_validate_names_what_the_data_cannot_inform(data_copy, capsys):
    from ketamine_nif.cli import main

    no_baseline(data_copy, "IL-6")
    assert main(["validate", str(data_copy)]) == 0
    printed = capsys.readouterr().out
    assert "not informed by these data (the chapters leave these estimates out, with a callout):" in printed
    assert "    - NIF change, ketamine / saline for IL-6: the marker is measured at baseline in 0 participants" in printed


def test_every_estimand_of_this_trials_data_states_what_it_needs():
    for name, spec in REGISTRY.items():
        assert (spec.needs == "") == (name == BTHEB_TREATMENT), name
        assert spec.needs in ("", "outcome change", "marker change", "baseline marker", "paired change")
        assert bool(spec.arms) == bool(spec.needs) and set(spec.arms) <= {"ketamine", "saline"}

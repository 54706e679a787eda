"""The data contract: valid data pass untouched; each kind of bad input stops
with a message naming the file, the rows (CSV line numbers) and the rule."""

from __future__ import annotations

import pandas as pd
import pytest

from conftest import read, write
from ketamine_nif.cli import main
from ketamine_nif.contract import RULES, ContractError, load_dataset, validation_summary


def test_valid_data_pass_and_nothing_is_dropped(small_twin_dir):
    dataset = load_dataset(small_twin_dir)
    raw = read(small_twin_dir, "measurements")
    assert len(dataset.measurements) == len(raw)
    assert len(dataset.participants) == 14
    assert dataset.synthetic
    assert dataset.visits == ["baseline", "24h", "day3", "day5"]
    assert dataset.measurements["hours"].dtype == float
    assert dataset.measurements["below_lod"].dtype == bool
    summary = validation_summary(dataset).set_index("item")["count"]
    assert summary["measurement rows"] == len(raw)
    assert summary["assay rows below the limit of detection"] == int((raw["below_lod"] == "true").sum())


def first_row(frame, **where):
    mask = True
    for column, value in where.items():
        mask = mask & (frame[column] == value)
    return frame.index[mask][0]


def corrupt_measurements(data, edit):
    m = read(data, "measurements")
    line = edit(m)
    write(m, data, "measurements")
    return "measurements.csv", line


def corrupt_participants(data, edit):
    p = read(data, "participants")
    line = edit(p)
    write(p, data, "participants")
    return "participants.csv", line


def _set(frame, row, column, value):
    frame.loc[row, column] = value
    return row + 2  # CSV line: header is line 1


def missing_column(data):
    m = read(data, "measurements").drop(columns="hours")
    write(m, data, "measurements")
    return "measurements.csv", None


def wrong_type(data):
    return corrupt_measurements(data, lambda m: _set(m, 5, "hours", "yesterday"))


def unknown_arm(data):
    return corrupt_participants(data, lambda p: _set(p, 3, "arm", "placebo"))


def duplicate_participant(data):
    def edit(p):
        p.loc[4, "participant_id"] = p.loc[3, "participant_id"]
        return 4 + 2

    return corrupt_participants(data, edit)


def unknown_participant(data):
    return corrupt_measurements(data, lambda m: _set(m, 7, "participant_id", "P999"))


def negative_concentration(data):
    return corrupt_measurements(data, lambda m: _set(m, first_row(m, measure="BDNF"), "value", "-3.2"))


def impossible_time(data):
    return corrupt_measurements(data, lambda m: _set(m, first_row(m, visit="day5"), "hours", "20000"))


def baseline_after_infusion(data):
    def edit(m):
        rows = m.index[(m["visit"] == "baseline") & (m["participant_id"] == "P001")]
        m.loc[rows, "hours"] = "3.0"
        return rows[0] + 2

    return corrupt_measurements(data, edit)


def visits_out_of_order(data):
    def edit(m):
        pid = m.loc[first_row(m, visit="day5"), "participant_id"]
        day3 = (m["participant_id"] == pid) & (m["visit"] == "day3")
        day5 = (m["participant_id"] == pid) & (m["visit"] == "day5")
        m.loc[day3, "hours"], m.loc[day5, "hours"] = "121.0", "70.0"
        return m.index[day3][0] + 2

    return corrupt_measurements(data, edit)


def visit_time_spread(data):
    return corrupt_measurements(data, lambda m: _set(m, first_row(m, visit="24h", measure="CRP"), "hours", "47.0"))


def unflagged_below_lod(data):
    def edit(m):
        row = first_row(m, measure="IL-6", below_lod="false")
        m.loc[row, "value"] = "0.2"  # lod 0.7
        return row + 2

    return corrupt_measurements(data, edit)


def empty_file(data):
    (data / "measurements.csv").write_text("")
    return "measurements.csv", None


def header_only(data):
    m = read(data, "measurements").iloc[:0]
    write(m, data, "measurements")
    return "measurements.csv", None


def semicolon_delimiter(data):
    m = read(data, "measurements")
    m.to_csv(data / "measurements.csv", index=False, sep=";")
    return "measurements.csv", 1


def utf16_encoding(data):
    text = (data / "participants.csv").read_text(encoding="utf-8")
    (data / "participants.csv").write_bytes(text.encode("utf-16"))
    return "participants.csv", None


def duplicate_measurement(data):
    m = read(data, "measurements")
    m = pd.concat([m, m.iloc[[2]]], ignore_index=True)
    write(m, data, "measurements")
    return "measurements.csv", 2 + 2


def madrs_out_of_range(data):
    return corrupt_measurements(data, lambda m: _set(m, first_row(m, measure="MADRS"), "value", "75"))


def bad_boolean(data):
    return corrupt_measurements(data, lambda m: _set(m, 3, "below_lod", "maybe"))


def flagged_without_lod(data):
    def edit(m):
        row = first_row(m, measure="BDNF")  # BDNF has no lod
        m.loc[row, ["below_lod", "value"]] = ["true", ""]
        return row + 2

    return corrupt_measurements(data, edit)


def covariate_wrong_type(data):
    return corrupt_participants(data, lambda p: _set(p, 2, "age", "thirty"))


def missing_table(data):
    (data / "participants.csv").unlink()
    return "participants.csv", None


def no_depression_scale(data):
    m = read(data, "measurements")
    write(m[m["measure"] != "MADRS"], data, "measurements")
    return "measurements.csv", None


BAD_INPUTS = {
    "missing column": (missing_column, "required-columns", "hours"),
    "wrong type": (wrong_type, "hours-number", "yesterday"),
    "unknown arm": (unknown_arm, "arm-known", "placebo"),
    "duplicate participant": (duplicate_participant, "participant-id-unique", "P00"),
    "unknown participant": (unknown_participant, "measurement-participant-known", "P999"),
    "negative concentration": (negative_concentration, "concentration-positive", "BDNF at visit 'baseline' (hours "),
    "impossible time": (impossible_time, "hours-number", "at visit 'day5' (hours 20000)"),
    "baseline after infusion": (baseline_after_infusion, "baseline-before-infusion", "found P001 MADRS at visit 'baseline' (hours 3.0)"),
    "visits out of order": (visits_out_of_order, "visit-order", "visit 'day3' at hours 121 comes after visit 'day5' at hours 70, which the schedule puts later"),
    "visit measures far apart": (visit_time_spread, "visit-time-consistent", "more than 12 hours: P001 visit '24h' from hours"),
    "value under lod not flagged": (unflagged_below_lod, "value-under-lod-flagged", "IL-6 at visit 'baseline' (hours "),
    "empty file": (empty_file, "file-not-empty", "empty"),
    "header only": (header_only, "file-not-empty", "no rows"),
    "wrong delimiter": (semicolon_delimiter, "file-readable", "semicolons"),
    "wrong encoding": (utf16_encoding, "file-readable", "UTF-16"),
    "duplicate measurement": (duplicate_measurement, "measurement-unique", "P001 IL-6 at visit 'baseline'"),
    "MADRS out of range": (madrs_out_of_range, "outcome-range", "MADRS lies between 0 and 60; found P001 MADRS at visit 'baseline' (hours "),
    "bad boolean": (bad_boolean, "below-lod-boolean", "maybe"),
    "below lod without lod": (flagged_without_lod, "below-lod-needs-lod", "BDNF at visit 'baseline'"),
    "covariate of wrong type": (covariate_wrong_type, "covariate-type", "thirty"),
    "missing table": (missing_table, "file-present", "not found"),
    "no depression scale": (no_depression_scale, "depression-measure-present", "MADRS"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_is_refused_with_file_row_and_rule(case, data_copy):
    corrupt, rule, detail = BAD_INPUTS[case]
    file_name, line = corrupt(data_copy)
    with pytest.raises(ContractError) as caught:
        load_dataset(data_copy)
    message = str(caught.value)
    assert f"rule '{rule}'" in message
    assert RULES[rule] in message
    assert file_name in message
    assert detail in message
    if line is not None:
        lines = [n for problem in caught.value.problems if problem.rule == rule for n in problem.lines]
        assert line in lines
        assert str(line) in message


@pytest.mark.parametrize("case", ["unknown arm", "wrong encoding", "empty file", "negative concentration"])
def test_cli_reports_bad_data_without_traceback(case, data_copy, capsys):
    corrupt, rule, _ = BAD_INPUTS[case]
    corrupt(data_copy)
    assert main(["validate", str(data_copy)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: Data validation failed")
    assert f"rule '{rule}'" in err
    assert "Traceback" not in err


def test_all_problems_are_reported_at_once(data_copy):
    unknown_arm(data_copy)
    negative_concentration(data_copy)
    with pytest.raises(ContractError) as caught:
        load_dataset(data_copy)
    assert {p.rule for p in caught.value.problems} == {"arm-known", "concentration-positive"}


def test_censored_value_may_be_reported_at_or_under_its_lod(data_copy):
    m = read(data_copy, "measurements")
    row = first_row(m, measure="IL-6")
    m.loc[row, ["value", "below_lod"]] = ["0.5", "true"]  # lod 0.7
    write(m, data_copy, "measurements")
    dataset = load_dataset(data_copy)
    assert bool(dataset.measurements.loc[row, "below_lod"])

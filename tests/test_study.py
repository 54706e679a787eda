"""The study described by its data (issue 15): ``dataset.json`` names the
outcome and its range, the arms and the baseline visit; the contract checks
the data against those names, the analyses use the arms as roles, and what
the report shows (prose, tables, figure labels) is put in the data's names."""

from __future__ import annotations

import json
import shutil

import matplotlib
import matplotlib.pyplot as plt
import pandas as pd
import pytest
from other_trial import STUDY, UNITS, write_hamd_trial

from conftest import ROOT, read, write
from ketamine_nif import plotting, reporting
from ketamine_nif.contract import ContractError, Study, load_dataset
from ketamine_nif.describe import arm_sizes, mean_change
from ketamine_nif.models import prepare
from ketamine_nif.runner import RunError, fill_names

HAMD = Study("HAMD", (0.0, 52.0), "drug", "placebo", "week0", "Hamilton Depression Rating Scale", tuple(UNITS.items()))


@pytest.fixture(scope="module")
def hamd_dir(tmp_path_factory):
    return write_hamd_trial(tmp_path_factory.mktemp("hamd"))


def with_study(data, study: dict | None):
    metadata = json.loads((data / "dataset.json").read_text())
    metadata.pop("study", None)
    if study is not None:
        metadata["study"] = study
    (data / "dataset.json").write_text(json.dumps(metadata))


def test_a_trial_named_otherwise_validates_and_its_arms_become_roles(hamd_dir):
    dataset = load_dataset(hamd_dir)
    assert dataset.study == HAMD
    assert dataset.markers[0] == "BDNF" and "HAMD" not in dataset.markers
    assert "unit" not in read(hamd_dir, "measurements") and dataset.units == UNITS  # units from the study block
    assert dataset.visits[0] == "week0" and dataset.visits[-1] == "week8" and len(dataset.visits) == 9
    raw = read(hamd_dir, "participants")
    assert set(raw["arm"]) == {"drug", "placebo"}
    assert set(dataset.participants["arm"]) == {"ketamine", "saline"}  # the roles
    assert arm_sizes(dataset) == {"ketamine": int((raw["arm"] == "drug").sum()), "saline": int((raw["arm"] == "placebo").sum())}
    data = prepare(dataset)
    assert data.outcome == "HAMD" and data.visits[0] == "week0" and data.study == HAMD
    assert data.treated.sum() == (raw["arm"] == "drug").sum()
    assert len(data.y) > 0 and not data.excluded["post-baseline outcomes without a baseline outcome"]
    assert list(mean_change(dataset)["visit"]) == [f"week{k}" for k in range(1, 9)]


def test_without_a_study_block_the_data_must_use_this_trials_names(hamd_dir, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(hamd_dir, data)
    with_study(data, None)
    with pytest.raises(ContractError) as error:
        load_dataset(data)
    text = str(error.value)
    assert "rule 'arm-known'" in text and "the study's arms are 'ketamine' (treatment) and 'saline' (reference); found 'drug', 'placebo'" in text
    assert "visit 'baseline' (the study's baseline) must be at hours <= 0" in text or "rule 'visit-order'" in text
    assert ("no rows with measure 'MADRS' (the study's outcome); the measures are 'HAMD', 'BDNF'" in text)
    # a HAMD score of 0 is an outcome value, not an assay's: under the study's names it passes
    with_study(data, STUDY)
    m = read(data, "measurements")
    m.loc[m.index[(m["measure"] == "HAMD")][0], "value"] = "0"
    write(m, data, "measurements")
    assert load_dataset(data).study.outcome == "HAMD"


def test_values_off_the_studys_scale_and_a_late_baseline_are_named(hamd_dir, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(hamd_dir, data)
    m = read(data, "measurements")
    row = m.index[(m["measure"] == "HAMD") & (m["visit"] == "week3")][0]
    m.loc[row, "value"] = "55"
    late = m.index[(m["visit"] == "week0") & (m["participant_id"] == "P002")]
    m.loc[late, "hours"] = "2"
    write(m, data, "measurements")
    with pytest.raises(ContractError) as error:
        load_dataset(data)
    text = str(error.value)
    assert f"HAMD lies between 0 and 52; found {m.loc[row, 'participant_id']} HAMD at visit 'week3'" in text
    assert "visit 'week0' (the study's baseline) must be at hours <= 0" in text and "P002" in text


def test_a_measure_the_study_does_not_list_is_refused_by_name(hamd_dir, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(hamd_dir, data)
    m = read(data, "measurements")
    m.loc[m["measure"] == "IL-6", "measure"] = "IL6"
    write(m, data, "measurements")
    with pytest.raises(ContractError) as error:
        load_dataset(data)
    assert "rule 'measure-known'" in str(error.value)
    assert "the study lists the markers BDNF, IL-6, IL-1RA, TNF-alpha, IL-8, IL-10, CRP; found the measure(s) 'IL6', first P001 IL6 at visit 'week0'" in str(error.value)


@pytest.mark.parametrize("block, message", [
    ({"outcome": {"name": "HAMD"}}, "outcome range must be [lowest, highest]"),
    ({"outcome": {"name": "HAMD", "range": [52, 0]}}, "outcome range must be [lowest, highest] with lowest < highest; found [52, 0]"),
    ({"arms": {"treatment": "drug", "reference": "drug"}}, "the two arms need different labels; both are 'drug'"),
    ({"baseline": ""}, "baseline must be a non-empty text"),
    ({"visits": 8}, "unknown key(s) visits"),
    ({"markers": ["IL-6"]}, "markers must map each marker's name to its unit"),
    ({"arms": {"treatment": "drug", "control": "placebo"}}, "unknown key(s) control in 'arms'; it knows reference, treatment"),
    ({"outcome": {"name": "HAMD", "range": [True, 52]}}, "outcome range must be [lowest, highest]"),
    ({"outcome": {"name": 'HAMD "17"', "range": [0, 52]}}, "outcome 'HAMD \"17\"' holds a character the report cannot show"),
    ("HAMD", "'study' must be an object"),
])
def test_a_bad_study_block_is_refused_by_name(hamd_dir, tmp_path, block, message):
    data = tmp_path / "data"
    shutil.copytree(hamd_dir, data)
    with_study(data, block)
    with pytest.raises(ContractError) as error:
        load_dataset(data)
    assert "dataset.json: rule 'study-valid'" in str(error.value) and message in str(error.value)


def test_a_dataset_json_that_is_not_an_object_or_a_missing_baseline_is_refused(hamd_dir, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(hamd_dir, data)
    (data / "dataset.json").write_text("[1, 2]")
    with pytest.raises(ContractError, match="rule 'file-readable'.*must hold a JSON object; found list"):
        load_dataset(data)
    with_study_file = json.dumps({"study": {**STUDY, "baseline": "screening"}})
    (data / "dataset.json").write_text(with_study_file)
    with pytest.raises(ContractError) as error:
        load_dataset(data)
    assert ("rule 'baseline-present'" in str(error.value)
            and "no rows at visit 'screening' (the study's baseline); the visits are 'week0', 'week1'" in str(error.value))


def test_this_trials_words_are_put_in_the_datas_names():
    text = ("Ketamine lowered MADRS more than saline (ketamine/saline ratio; MADRS points); "
            "`coupling_within_ketamine`, ketamine_nif and `ketamine-nif run` stay; Saline arm.")
    assert HAMD.say(text) == ("Drug lowered HAMD more than placebo (drug/placebo ratio; HAMD points); "
                              "`coupling_within_ketamine`, ketamine_nif and `ketamine-nif run` stay; Placebo arm.")
    assert Study().say(text) == text
    assert HAMD.label("ketamine") == "drug" and HAMD.role("placebo") == "saline" and HAMD.label("difference") == "difference"


def test_the_report_shows_sentences_tables_and_figures_in_the_datas_names(capsys):
    reporting.speak_for(HAMD)
    try:
        assert reporting.words("MADRS change, ketamine - saline") == "HAMD change, drug - placebo"
        assert reporting.study() is HAMD
        table = reporting.markdown_table(pd.DataFrame({"ketamine: MADRS": ["12 (60%)"]}))
        assert reporting.words(table).startswith("| drug: HAMD |")
        fig, ax = plt.subplots()
        ax.plot([0, 1], [0, 1], label="ketamine")
        ax.set_xlabel("MADRS points per doubling")
        ax.set_title("coupling, saline arm")
        ax.set_yticks([0, 1], ["ketamine", "saline"])
        ax.legend()
        plotting.show()
        plotting.show()  # a figure is put in the data's names once
        fig.canvas.draw()  # tick labels are redrawn from their formatter
        shown = [t.get_text() for t in fig.findobj(matplotlib.text.Text) if t.get_text()]
        assert "HAMD points per doubling" in shown and "coupling, placebo arm" in shown
        assert [t.get_text() for t in ax.get_yticklabels()] == ["drug", "placebo"]
        assert not any("MADRS" in t or "ketamine" in t or "saline" in t for t in shown)
    finally:
        reporting.speak_for(Study())
        plt.close("all")


def test_notebook_names_are_filled_from_the_study_and_unknown_ones_refused():
    source = "Did {{treatment}} lower {{ outcome }} more than {{reference}}? {{Treatment}} at {{baseline}}."
    assert fill_names(source, HAMD) == "Did drug lower HAMD more than placebo? Drug at week0."
    assert fill_names(source, Study()) == "Did ketamine lower MADRS more than saline? Ketamine at baseline."
    with pytest.raises(RunError, match=r"03-coupling.py: unknown name\(s\) \{\{arm\}\}"):
        fill_names("the {{arm}} arm", HAMD, "03-coupling.py")
    with pytest.raises(RunError, match=r"unknown name\(s\) \{\{outcome-title\}\}"):
        fill_names("the {{outcome-title}}", HAMD)


def test_another_scale_is_told_that_the_priors_were_set_for_this_trials():
    assert reporting.scale_note(Study()) == ""
    note = reporting.scale_note(HAMD)
    assert "set in points of the Montgomery-Åsberg scale (0 to 60, where lower is better)" in note
    assert "these data's outcome, HAMD (0 to 52), uses them as they stand" in note
    with reporting.speaking_for(HAMD):
        assert reporting.words(note) == note  # no short name of this trial's scale for words() to turn
        assert reporting.study() is HAMD
    assert reporting.study() == Study()


def test_every_notebook_uses_only_the_studys_names():
    from ketamine_nif.summary import chapter_title

    for source in sorted((ROOT / "notebooks").glob("*.py")):
        fill_names(source.read_text(encoding="utf-8"), HAMD, source.name)  # raises on an unknown name
        assert "{{" not in chapter_title(source), f"{source.name}: the summary page reads titles from the source"


def test_a_figure_is_put_in_the_datas_names_once():
    """Names that are this trial's words in another role (reference 'ketamine') would turn again on a second pass."""
    fig, ax = plt.subplots()
    ax.set_title("saline arm")
    with reporting.speaking_for(Study(treatment="psilocybin", reference="ketamine")):
        plotting.named(fig)
        plotting.named(fig)
    assert ax.get_title() == "ketamine arm"
    plt.close(fig)

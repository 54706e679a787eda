"""Sentences with branches, on exact strings: the design-sensitivity chapter's
(``answers.design``), and the data chapter's and the home page's
(``describe``)."""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace

import pandas as pd

from ketamine_nif import describe, summary
from ketamine_nif.answers import design as answers
from ketamine_nif.contract import Study
from ketamine_nif.estimands import COUPLING_WITHIN, NIF_CHANGE_RATIO
from ketamine_nif.sweep import SavedSweep

COUPLING = COUPLING_WITHIN["ketamine"]


def saved(fixed: dict, fits: int, summary: dict, failures: int = 0) -> SavedSweep:
    return SavedSweep(Path("studies/x"), pd.DataFrame({"mean": [0.0] * fits}), {"fixed": fixed}, summary,
                      "ketamine-nif sweep sweeps/x.yaml", failures)


def curve(estimand: str, marker: str, visit: str, points: dict[float, float]) -> pd.DataFrame:
    return pd.DataFrame({"estimand": estimand, "marker": marker, "visit": visit, "truth": list(points), "power": list(points.values())})


# --- chapter 10: design sensitivity ----------------------------------------------------

def test_missing_sweeps_are_named_with_the_commands_that_run_them():
    assert answers.missing_sweeps([]) == ""
    assert answers.missing_sweeps(["design-nif", "design-coupling"]) == (
        '::: {.callout-note title="Simulation results not available"}\n'
        "The sweep(s) design-nif and design-coupling have not been run in this project, so their curves are missing. "
        "They take hours of computing and are not part of the default build; run\n\n"
        "    ketamine-nif sweep sweeps/design-nif.yaml\n    ketamine-nif sweep sweeps/design-coupling.yaml\n\n"
        "(add `--workers N`, or `--scheduler tcp://HOST:PORT` for a Dask cluster), then rebuild the report.\n:::")


def test_provenance_reads_grouped_and_flat_sweep_files():
    sizes = {"ketamine": 89, "saline": 44}
    assert answers.provenance({}, sizes) == ""
    grouped = saved({"design": {"n_ketamine": 30, "n_saline": 15}, "sampling": {"draws": 300, "chains": 1}}, 4,
                    {"runs": 4, "finished_runs": 4, "mean_seconds_per_run": 12.4, "finished": "2025-01-02 03:04:05"})
    flat = saved({"draws": 500, "tune": 300}, 3, {"runs": 10, "finished_runs": 3, "mean_seconds_per_run": None}, failures=1)
    assert answers.provenance({"smoke": grouped, "design-nif": flat}, sizes) == (
        "The results below come from 7 fits in 2 sweep(s), made by "
        "`ketamine-nif sweep sweeps/x.yaml` (4 runs, 0 failed, 12 s per fit on average, finished 2025-01-02 03:04:05) and "
        "`ketamine-nif sweep sweeps/x.yaml` (3 of 10 runs finished so far: the sweep resumes where it stopped, 1 failed, "
        "time per fit not recorded, finished at an unrecorded time). "
        "Each fit drew 1 chains × 300 draws (smoke) and 2 chains × 500 draws (design-nif). "
        "Simulated trials had 30 ketamine and 15 saline participants (smoke) and 89 ketamine and 44 saline participants "
        "(design-nif); this edition's data have 89 and 44.")
    nan_seconds = saved({}, 1, {"runs": 1, "mean_seconds_per_run": math.nan, "finished": "today"})
    assert "time per fit not recorded, finished today" in answers.provenance({"x": nan_seconds}, sizes)


def test_the_smallest_detectable_effect_in_words():
    nif = curve(NIF_CHANGE_RATIO, "IL-6", "24h", {1.0: 0.04, 1.4: 0.6, 1.8: 0.95})
    best = {"effect": 1.5, "low": 1.4, "high": 1.62, "within_tested_range": True}
    assert answers.smallest_sentence(NIF_CHANGE_RATIO, nif, best, 0.8) == (
        "For a ketamine effect on IL-6 at 24h, the analysis supports an effect of +50% (ratio 1.50) with 80% probability "
        "(95% interval +40% to +62%) and raises a false alarm in 4% of trials without one.")
    coupling = curve(COUPLING, "IL-1RA", "all", {1.5: 0.1, 3.0: 0.3})  # no point at the null: no false-alarm rate
    best = {"effect": 7.25, "low": 5.0, "high": 11.0, "within_tested_range": False}
    assert answers.smallest_sentence(COUPLING, coupling, best, 0.8) == (
        "For a within-person coupling of IL-1RA with depression in the ketamine arm, the analysis supports an effect of "
        "7.2 MADRS points per doubling with 80% probability (95% interval 5.0 points to 11.0 points) "
        "(outside the sizes simulated: an extrapolation).")
    none = {"effect": math.nan, "low": math.nan, "high": math.nan}
    assert answers.smallest_sentence(COUPLING, coupling, none, 0.9) == (
        "For a within-person coupling of IL-1RA with depression in the ketamine arm, the simulations do not bracket "
        "the target detection probability (90%), so no smallest detectable effect is given.")


def test_how_often_the_analysis_rules_an_effect_out_in_words():
    nif = curve(NIF_CHANGE_RATIO, "IL-6", "24h", {1.0: 0.04, 1.1: 0.2, 1.2: 0.5, 1.4: 0.9}).assign(
        ruled_out=[0.31, 0.12, 0.04, 0.0])
    assert answers.ruled_out_sentence(NIF_CHANGE_RATIO, nif) == (
        "Without an effect, the analysis rules one out (posterior probability ≥ 0.95 that it lies between -10% and "
        "+10%) in 31% of trials. An effect outside -10% to +10% is wrongly ruled out in at most 4% of trials at the "
        "sizes simulated (the most often at +20%).")
    coupling = curve(COUPLING, "IL-1RA", "all", {3.0: 0.6}).assign(ruled_out=[0.0])  # no null point
    assert answers.ruled_out_sentence(COUPLING, coupling) == (
        "An effect outside -1.0 points to 1.0 points was never ruled out at the sizes simulated.")
    assert answers.ruled_out_sentence(COUPLING, curve(COUPLING, "IL-1RA", "all", {3.0: 0.6})) == ""  # older results


def test_the_chapters_answer_with_and_without_simulations():
    assert answers.answer({}, {}, 0.8, summary.detection_rule()) == (
        "**No answer yet**: the simulations behind this chapter have not been run (see above).")
    nif = curve(NIF_CHANGE_RATIO, "IL-6", "24h", {1.2: 0.3, 1.4: 0.5})
    none = {"effect": math.nan, "low": math.nan, "high": math.nan}
    assert answers.answer({NIF_CHANGE_RATIO: nif}, {NIF_CHANGE_RATIO: none}, 0.8, summary.detection_rule()) == (
        "For a ketamine effect on IL-6 at 24h, the simulations do not bracket the target detection probability (80%), "
        "so no smallest detectable effect is given. Smaller effects would usually go unnoticed: a null result for them "
        "says the trial was too small, not that they are absent (the decision rule is P(direction) ≥ 1 - 0.025/n for a "
        "question of n estimates, 0.975 for an estimate alone).")


# --- the data chapter and the home page ---------------------------------------------

def test_the_twin_assumptions_with_and_without_planted_effects():
    missingness = {"dropout_per_visit": 0.05, "missed_visit": 0.1, "blood_not_obtained": 0.025}
    start = ("The synthetic twin assumes this schedule, a 5% chance of dropping out before each post-infusion visit, "
             "a 10% chance of missing a single visit, and a 2% chance that an attended visit yields no blood. ")
    exact = (" Its assays read every sample exactly, and its markers vary independently of each other (apart from "
             "any tie to BMI); real immunoassays err by about 5-20% (coefficient of variation) and inflammatory "
             "markers move together, which a scenario can add (assay_cv, marker_correlation).")
    assert describe.twin_assumptions({"missingness": missingness, "effects": {"nif_change_ratio": {}}}) == (
        start + "No effect on, or of, any blood marker is planted (the paper's conclusion)." + exact)
    planted = {"nif_change_ratio": {"IL-6": {"24h": 1.4}, "BDNF": {"day3": 0.8}}, "coupling_within": {"IL-1RA": {}}}
    assert describe.twin_assumptions({"missingness": missingness, "effects": planted}) == (
        start + "Planted effects: nif change ratio for BDNF and IL-6; coupling within for IL-1RA." + exact)
    hard = {"missingness": missingness, "effects": {}, "markers": {"IL-6": {"assay_cv": 0.15}, "CRP": {"assay_cv": 0.1}, "BDNF": {}},
            "marker_correlation": [{"markers": ["IL-6", "CRP"], "between": 0.6, "within": 0.4}]}
    course = {"missingness": {**missingness, "dropout_madrs": 0.7, "dropout_unobserved": 0.4}, "effects": {},
              "design": {"ketamine_asat_share": 0.515}, "madrs": {"training_change": {"24h": -1.5, "day5": -1.0}}}
    assert describe.twin_assumptions(course) == (
        start + "No effect on, or of, any blood marker is planted (the paper's conclusion). The odds of dropping out "
        "are multiplied by 2 per 10 points of the last observed MADRS rating (missing at random) and 1.5 per 10 "
        "points of the rating the participant would have had at the missed visit (missing not at random). Active "
        "training (every saline participant, 52% of the ketamine arm) changes MADRS by -1.5 points at 24h and -1 "
        "points at day5, so the arms' contrast carries the imbalance." + exact)
    assert describe.twin_assumptions(hard).endswith(
        "(the paper's conclusion). In its laboratory, each reading carries an assay error on top of the sample's true "
        "value (coefficient of variation 15% for IL-6 and 10% for CRP); markers move together: IL-6 and CRP correlate "
        "0.6 between people and 0.4 within a person.")


def test_the_madrs_change_in_each_direction():
    change = pd.DataFrame({"visit": ["24h", "day5"], "ketamine": [-8.04, -5.0], "saline": [-3.0, -4.0]})
    change["difference"] = change["ketamine"] - change["saline"]
    rest = (" At 24h the mean change from baseline was -8.0 points with ketamine and -3.0 with saline, a raw "
            "difference of -5.0 points; by day5 the difference was -1.0 points. These are unadjusted averages of the "
            "participants rated at each visit; the models in later chapters estimate the differences with their uncertainty.")
    assert describe.madrs_change_text(change) == "On average MADRS fell after the infusion in both arms." + rest
    rose = change.assign(ketamine=[2.0, 1.0], saline=[7.0, 2.0], difference=[-5.0, -1.0])
    assert describe.madrs_change_text(rose).startswith(
        "On average MADRS rose after the infusion in both arms. At 24h the mean change from baseline was 2.0 points")
    mixed = change.assign(saline=[0.0, 1.0])
    assert describe.madrs_change_text(mixed).startswith(
        "On average MADRS fell after the infusion with ketamine and did not change with saline. At 24h")
    still = change.assign(ketamine=[0.0, 0.0], saline=[0.0, 0.0])
    assert describe.madrs_change_text(still).startswith("On average MADRS did not change after the infusion in either arm. ")
    assert describe.madrs_change_text(change.iloc[:0]) == (
        "No participant was rated both before and after the infusion, so no change in MADRS can be described.")


def test_values_below_the_detection_limit():
    end = (". Where that share is large, substituting a fixed value would bias both the level and the spread of a "
           "marker; the models instead use the probability of lying below the limit.")
    panel = pd.DataFrame({"marker": ["BDNF", "IL-6", "IL-1RA"], "below the limit": ["0%", "12%", "3%"]})
    assert describe.censoring_text(panel) == "Values below the detection limit occur for IL-6 (12%) and IL-1RA (3%)" + end
    assert describe.censoring_text(panel.assign(**{"below the limit": "0%"})) == (
        "Values below the detection limit occur for no marker" + end)


def fake_dataset(synthetic: bool) -> SimpleNamespace:
    metadata = {"synthetic": True, "scenario": "paper-null", "seed": 7, "description": "No effects planted."} if synthetic else {}
    return SimpleNamespace(synthetic=synthetic, metadata=metadata, visits=["pre", "24h", "day3"], markers=["BDNF", "IL-6"],
                           participants=pd.DataFrame({"arm": ["ketamine"] * 3 + ["saline"] * 2}), data_hash=lambda: "0123456789abcdef",
                           study=Study())


def test_which_data_this_edition_runs_on():
    holds = ("\n\nIt holds 5 participants (3 ketamine, 2 saline), rated at 3 visits (pre, 24h and day3), with 2 blood "
             "markers (BDNF and IL-6). Data fingerprint (SHA-256, first 16 digits): `0123456789abcdef`.")
    assert describe.edition_text(fake_dataset(True)) == (
        "This edition runs on **synthetic data**: the project's synthetic twin of the trial (scenario `paper-null`, "
        "seed 7), generated with the trial's design because the participant-level trial data are not public. "
        "No effects planted. Numbers in this report describe that simulated trial, not real patients." + holds)
    assert describe.edition_text(fake_dataset(False)) == (
        "This edition runs on **real trial data** supplied by the user; no participant-level values are shown." + holds)

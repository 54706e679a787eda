"""The sweep runner: grid and seeds, parallel runs, resume, failures collected,
a Dask cluster giving the same results as local processes, notebook sweeps;
and the design-sensitivity arithmetic it feeds."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from ketamine_nif import design
from ketamine_nif.estimands import COUPLING_WITHIN, NIF_CHANGE_RATIO
from ketamine_nif.paths import ROOT
from ketamine_nif.sweep import SweepError, load_sweep, read_saved, run_sweep
from ketamine_nif.twin import ScenarioError, simulate

BIN = Path(sys.executable).parent
# a replicate of the design-sensitivity study at a toy size (seconds per fit)
TINY_REPLICATE = {
    "estimand": NIF_CHANGE_RATIO, "marker": "IL-6", "visit": "24h", "design": {"n_ketamine": 8, "n_saline": 6},
    "sampling": {"draws": 40, "tune": 40, "chains": 1},
}


def sweep_file(folder: Path, **spec) -> Path:
    spec = {"name": "test", "function": "ketamine_nif.design:detection_replicate", "fixed": TINY_REPLICATE, **spec}
    path = folder / f"{spec['name']}.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


@pytest.mark.parametrize(("spec", "message"), [
    ({"function": None}, "name exactly one of"),
    ({"notebook": "notebooks/02-nif-trajectories.py"}, "name exactly one of"),
    ({"function": "ketamine_nif.design:nothing"}, "has no function nothing"),
    ({"function": "no_such_module:f"}, "cannot import no_such_module"),
    ({"grid": {"effect": 1.2}}, "non-empty list"),
    ({"grid": {"marker": ["IL-6"]}}, "set in both fixed and grid"),
    ({"replicates": 0}, "positive whole number"),
    ({"workers": 3}, "unknown key(s) workers"),
])
def test_bad_sweep_files_are_refused_with_the_reason(tmp_path, spec, message):
    full = {"name": "bad", "function": "ketamine_nif.design:detection_replicate", "fixed": TINY_REPLICATE, **spec}
    full = {k: v for k, v in full.items() if v is not None}
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(full))
    with pytest.raises(SweepError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_sweep(path)


def test_grid_times_replicates_gives_distinct_runs_and_seeds(tmp_path):
    fixed = {k: v for k, v in TINY_REPLICATE.items() if k != "visit"}
    sweep = load_sweep(sweep_file(tmp_path, grid={"effect": [1.0, 1.5, 2.0], "visit": ["24h", "day3"]}, replicates=4, seed=10, fixed=fixed))
    runs = sweep.runs()
    assert len(runs) == 3 * 2 * 4 and len({r.id for r in runs}) == len(runs)
    assert sorted({r.seed for r in runs}) == [10, 11, 12, 13]
    assert len({sweep.key(r) for r in runs}) == len(runs)


def test_a_dry_run_checks_the_parameters_and_counts_the_runs(tmp_path):
    from ketamine_nif.sweep import plan_sweep

    good = load_sweep(sweep_file(tmp_path, grid={"effect": [1.0, 1.5]}, replicates=3, seed=10))
    lines = plan_sweep(good, out=tmp_path / "out")
    assert lines[0].startswith("sweep test: function ketamine_nif.design:detection_replicate, 6 runs (2 grid points x 3 "
                               "replicates), 0 already done, 6 to run")
    assert not (tmp_path / "out").exists()  # nothing run, nothing written
    typo = load_sweep(sweep_file(tmp_path, name="typo", grid={"effect": [1.0]}, fixed={**TINY_REPLICATE, "drawz": 40}))
    with pytest.raises(SweepError, match="cannot take this sweep's parameters.*drawz"):
        plan_sweep(typo)


def test_sweep_runs_in_parallel_resumes_and_collects_failures(tmp_path):
    # effect -1 is not a possible ratio: that run fails while the other finishes
    path = sweep_file(tmp_path, grid={"effect": [1.6, -1.0]}, replicates=1, seed=3)
    out = tmp_path / "out"
    first = subprocess.run([str(BIN / "ketamine-nif"), "sweep", str(path), "--workers", "2", "--out", str(out)],
                           capture_output=True, text=True, timeout=600)
    assert first.returncode == 1
    assert "1 run(s) failed; the others finished" in first.stderr and "ratio of change must be positive" in first.stderr
    results = pd.read_csv(out / "results.csv")
    failures = pd.read_csv(out / "failures.csv")
    assert list(results["effect"]) == [1.6] and results.loc[0, "truth"] == 1.6 and results.loc[0, "seed"] == 3
    assert list(failures["effect"]) == [-1.0] and "ScenarioError" in failures.loc[0, "error"]
    assert (out / "command.txt").read_text().startswith("ketamine-nif sweep")
    # what a chapter reads back: the same table, the sweep file, the command, the failure count
    saved = read_saved(out)
    assert saved.results.equals(results) and saved.failures == 1 and saved.spec["grid"] == {"effect": [1.6, -1.0]}
    assert saved.command.startswith("ketamine-nif sweep") and saved.progress == "1 of 2 runs finished so far: the sweep resumes where it stopped"
    assert read_saved(tmp_path / "never-run") is None
    # run again: the finished run is skipped, the failed one is tried again
    again = run_sweep(load_sweep(path), out=out, workers=2, log=lambda _: None)
    assert (again.skipped, again.executed, len(again.failures)) == (1, 1, 1)
    assert again.results.equals(results) or np.allclose(again.results["mean"], results["mean"])
    # the gathered tables alone resume it (the studies keep no records): the finished run is skipped, its rows kept
    gathered = pd.read_csv(out / "results.csv")
    shutil.rmtree(out / "runs")
    tables = run_sweep(load_sweep(path), out=out, workers=1, log=lambda _: None)
    assert (tables.skipped, tables.executed, len(tables.failures)) == (1, 1, 1)
    pd.testing.assert_frame_equal(pd.read_csv(out / "results.csv"), gathered)
    assert read_saved(out).summary["finished_runs"] == 1 and read_saved(out).summary["mean_seconds_per_run"] > 0
    # a changed setting makes the old records stale: everything runs again
    changed = sweep_file(tmp_path, grid={"effect": [1.6]}, replicates=1, seed=3,
                         fixed={**TINY_REPLICATE, "sampling": {**TINY_REPLICATE["sampling"], "draws": 41}})
    rerun = run_sweep(load_sweep(changed), out=out, workers=1, log=lambda _: None)
    assert (rerun.skipped, rerun.executed) == (0, 1)


def test_dask_cluster_gives_the_same_results_as_local_processes(tmp_path):
    distributed = pytest.importorskip("distributed")
    path = sweep_file(tmp_path, name="dask", grid={"effect": [1.0, 2.0]}, replicates=1, seed=5)
    local = run_sweep(load_sweep(path), out=tmp_path / "local", workers=1, log=lambda _: None)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        remote = run_sweep(load_sweep(path), out=tmp_path / "dask", scheduler=cluster.scheduler_address, log=lambda _: None)
    assert remote.executed == 2 and len(remote.failures) == 0
    key = ["effect", "seed"]
    a, b = local.results.sort_values(key).reset_index(drop=True), remote.results.sort_values(key).reset_index(drop=True)
    assert np.allclose(a["mean"], b["mean"]) and np.allclose(a["p_positive"], b["p_positive"])


def test_notebook_sweep_gathers_each_runs_estimates(tmp_path, small_twin_dir):
    spec = {
        "name": "notebook", "notebook": "notebooks/02-nif-trajectories.py",
        "fixed": {"data_dir": str(small_twin_dir), "markers": ["IL-6"], "draws": 30, "tune": 30, "chains": 1, "prior_draws": 10},
        "grid": {"likelihood": ["normal"]}, "replicates": 2, "seed": 7,
    }
    path = tmp_path / "notebook.yaml"
    path.write_text(yaml.safe_dump(spec))
    result = run_sweep(load_sweep(path), out=tmp_path / "out", workers=2, log=lambda _: None)
    assert len(result.failures) == 0, result.failures["error"].tolist()
    assert set(result.results["seed"]) == {7, 8} and set(result.results["estimand"]) == {NIF_CHANGE_RATIO}
    assert (tmp_path / "out" / "notebooks" / "likelihood=normal-seed=7.ipynb").exists()
    # a parameter the notebook does not define is refused before anything runs
    path.write_text(yaml.safe_dump({**spec, "fixed": {**spec["fixed"], "not_a_parameter": 1}}))
    with pytest.raises(SweepError, match="has no parameter"):
        run_sweep(load_sweep(path), out=tmp_path / "out2", workers=1, log=lambda _: None)


# --- design sensitivity -----------------------------------------------------------

def test_planted_scenario_plants_exactly_the_requested_effect():
    trial = {"n_ketamine": 10, "n_saline": 5}
    truth = simulate(design.planted_scenario(COUPLING_WITHIN["ketamine"], 2.5, "IL-1RA", design=trial), seed=1).truth
    planted = truth[(truth["value"] != 0) & (truth["estimand"].str.startswith("coupling"))]
    assert set(zip(planted["estimand"], planted["marker"], planted["value"], strict=True)) == {
        ("coupling_within_ketamine", "IL-1RA", 2.5), ("coupling_within_difference", "IL-1RA", 2.5)}
    ratios = simulate(design.planted_scenario(NIF_CHANGE_RATIO, 1.4, "IL-6", visit="day3"), seed=1).truth
    moved = ratios[(ratios["estimand"] == NIF_CHANGE_RATIO) & (ratios["value"] != 1.0)]
    assert list(zip(moved["marker"], moved["visit"], moved["value"], strict=True)) == [("IL-6", "day3", 1.4)]
    with pytest.raises(ScenarioError, match="positive"):
        design.planted_scenario(NIF_CHANGE_RATIO, 0.0, "IL-6")


def synthetic_results(estimand: str, sizes, power, replicates: int, seed: int = 1) -> pd.DataFrame:
    """Replicates whose P(direction) crosses its question's level (0.999 against 0.6) with the given probability per size."""
    rng = np.random.default_rng(seed)
    rows = []
    for size, p in zip(sizes, power, strict=True):
        hit = rng.random(replicates) < p
        rows += [{"estimand": estimand, "marker": "X", "truth": size, "p_positive": 0.999 if h else 0.6,
                  "mean": size, "ci_low": size - 1, "ci_high": size + 1, "converged": True, "seconds": 1.0,
                  "max_r_hat": 1.0, "divergences": 0} for h in hit]
    return pd.DataFrame(rows)


def test_detection_curve_counts_the_decision_rule_with_its_monte_carlo_error():
    results = synthetic_results(COUPLING_WITHIN["ketamine"], [0.0, 2.0, 4.0], [0.0, 0.5, 1.0], 200)
    results.loc[0, "p_positive"] = 0.001  # at the null, either direction is a (false) detection
    curve = design.detection_curve(results).set_index("truth")
    assert curve.loc[0.0, "found"] == 1 and curve.loc[4.0, "power"] == 1.0
    p = curve.loc[2.0, "power"]
    assert abs(p - 0.5) < 0.1 and np.isclose(curve.loc[2.0, "power_se"], np.sqrt(p * (1 - p) / 200))
    assert curve.loc[2.0, "power_low"] < p < curve.loc[2.0, "power_high"]
    assert (curve["ruled_out"] == 0).all()  # no ROPE probability recorded: never ruled out


def test_detection_curve_applies_the_summary_pages_verdicts():
    # the summary page's order: an unconverged fit is neither; "ruled out" comes before "supported";
    # "supported" in the wrong direction is not power; the estimate is held to its question's level
    # (the coupling question rests on 7 markers: 1 - 0.025 / 7 = 0.9964), so 0.99 alone is not enough
    results = pd.DataFrame([
        {"p_positive": 0.999, "p_rope": 0.10, "converged": True},   # supported, upward: found
        {"p_positive": 0.999, "p_rope": 0.10, "converged": False},  # unreliable: neither
        {"p_positive": 0.999, "p_rope": 0.97, "converged": True},   # ruled out (precise and small), not supported
        {"p_positive": 0.001, "p_rope": 0.10, "converged": True},   # supported downward: wrong direction, not found
        {"p_positive": 0.60, "p_rope": 0.96, "converged": True},    # ruled out
        {"p_positive": 0.99, "p_rope": 0.10, "converged": True},    # supported alone, short of the question's level
    ]).assign(estimand=COUPLING_WITHIN["ketamine"], marker="X", truth=1.5, mean=1.5, ci_low=0.5, ci_high=2.5,
              seconds=1.0, max_r_hat=1.0, divergences=0)
    judged = design.verdicts(results)
    assert design.question_size(COUPLING_WITHIN["ketamine"]) == 7 and design.question_size(NIF_CHANGE_RATIO) == 21
    assert design.question_size("madrs_change_difference") == 3  # the outcome alone, at three visits
    boundary = results.iloc[:1].assign(p_positive=0.998)  # above 1 - 0.025/7, below 1 - 0.025/21
    assert design.verdicts(boundary)["found"].item()
    assert not design.verdicts(boundary.assign(estimand=NIF_CHANGE_RATIO))["found"].item()
    assert list(judged["found"]) == [True, False, False, False, False, False]
    assert list(judged["ruled_out"]) == [False, False, True, False, True, False]
    assert judged["verdict"].iloc[-1] == "inconclusive"
    curve = design.detection_curve(results).iloc[0]
    assert curve["power"] == pytest.approx(1 / 6) and curve["ruled_out"] == pytest.approx(2 / 6)
    assert np.isclose(curve["ruled_out_se"], np.sqrt(2 / 6 * 4 / 6 / 6)) and curve["converged"] == pytest.approx(5 / 6)
    assert curve["ruled_out_low"] < 2 / 6 < curve["ruled_out_high"]
    table = design.detection_table(design.detection_curve(results), COUPLING_WITHIN["ketamine"])
    assert table.loc[0, "supported"] == "0.17 ± 0.15" and table.loc[0, "ruled out"] == "0.33 ± 0.19"


@pytest.mark.parametrize(("estimand", "to_scale"), [(COUPLING_WITHIN["ketamine"], lambda x: x), (NIF_CHANGE_RATIO, np.log)])
def test_smallest_detectable_inverts_a_known_power_curve(estimand, to_scale):
    # power follows a logistic curve reaching 0.8 at x80 on the modelling scale
    x80, slope = 3.0, 1.5
    sizes = [1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 5.0] if estimand != NIF_CHANGE_RATIO else list(np.exp([0.1, 0.2, 0.3, 0.4, 0.5]))
    if estimand == NIF_CHANGE_RATIO:
        x80, slope = 0.3, 15.0
    scale = to_scale(np.asarray(sizes))
    power = 1 / (1 + np.exp(-(np.log(4) + slope * (scale - x80))))
    found = design.smallest_detectable(synthetic_results(estimand, sizes, power, 2000), estimand)
    back = np.exp(x80) if estimand == NIF_CHANGE_RATIO else x80
    assert found["low"] < back < found["high"]
    assert abs(to_scale(found["effect"]) - x80) < 0.05 * max(abs(x80), 1.0)


def test_studies_are_keyed_by_estimand_and_saved_only_when_run(tmp_path):
    results = [synthetic_results(COUPLING_WITHIN["ketamine"], [0.0, 2.0, 4.0], [0.0, 0.5, 1.0], 40),
               synthetic_results(NIF_CHANGE_RATIO, [1.0, 1.5], [0.0, 1.0], 20).assign(visit="24h")]
    curves, smallest = design.studies(results, target=0.8)
    assert list(curves) == list(smallest) == [COUPLING_WITHIN["ketamine"], NIF_CHANGE_RATIO]
    assert list(curves[NIF_CHANGE_RATIO]["visit"]) == ["24h", "24h"] and smallest[NIF_CHANGE_RATIO]["fits"] == 20
    design.save_studies({}, {}, tmp_path)
    assert list(tmp_path.iterdir()) == []
    design.save_studies(curves, smallest, tmp_path)
    assert len(pd.read_csv(tmp_path / "detection.csv")) == 5 and len(pd.read_csv(tmp_path / "smallest-detectable.csv")) == 2


def test_the_replicate_reports_its_estimate_and_diagnostics():
    row = design.detection_replicate(seed=2, **TINY_REPLICATE, effect=1.5)
    assert row["estimand"] == NIF_CHANGE_RATIO and row["visit"] == "24h" and row["truth"] == 1.5
    assert row["ci_low"] < row["mean"] < row["ci_high"] and 0 <= row["p_positive"] <= 1 and 0 <= row["p_rope"] <= 1
    assert {"max_r_hat", "min_ess", "divergences", "seconds"} <= set(row)
    assert row["fit_markers"] == "planted" and row["markers_fitted"] == 1


def test_the_replicate_fits_every_marker_as_the_book_does():
    row = design.detection_replicate(seed=2, **TINY_REPLICATE, effect=1.5, fit_markers="all")
    assert row["marker"] == "IL-6" and row["visit"] == "24h" and row["markers_fitted"] == 7
    assert row["ci_low"] < row["mean"] < row["ci_high"]
    with pytest.raises(ValueError, match="fit_markers must be one of planted, all; got 'some'"):
        design.detection_replicate(seed=2, **TINY_REPLICATE, effect=1.5, fit_markers="some")


def test_the_replicate_refuses_a_setting_it_does_not_know():
    with pytest.raises(TypeError, match="unknown sampling setting.s. drawz; known: draws, tune"):
        design.detection_replicate(seed=1, **{**TINY_REPLICATE, "sampling": {"drawz": 40}}, effect=1.5)
    with pytest.raises(TypeError, match="unknown design setting.s. n_placebo"):
        design.planted_scenario(NIF_CHANGE_RATIO, 1.5, "IL-6", design={"n_placebo": 3})


def test_replicate_settings_read_the_grouped_and_the_saved_flat_form():
    grouped = {"estimand": NIF_CHANGE_RATIO, "design": {"n_ketamine": 30}, "sampling": {"draws": 300, "sampler": "nutpie"}}
    flat = {"estimand": NIF_CHANGE_RATIO, "n_ketamine": 30, "draws": 300, "sampler": "nutpie"}  # the studies saved before
    expected = ({"scenario": "paper-null", "n_ketamine": 30, "n_saline": 44},
                {"draws": 300, "tune": 1000, "chains": 2, "sampler": "nutpie", "target_accept": 0.95})
    assert design.replicate_settings(grouped) == design.replicate_settings(flat) == expected
    saved = yaml.safe_load((ROOT / "studies" / "design-nif" / "sweep.yaml").read_text())
    assert design.replicate_settings(saved["fixed"])[1]["draws"] == 500


def test_sweep_files_of_the_design_study_pass_a_dry_run():
    from ketamine_nif.sweep import plan_sweep

    for name in ("design-nif", "design-coupling", "design-nif-book", "design-coupling-book", "smoke"):
        spec = load_sweep(ROOT / "sweeps" / f"{name}.yaml")
        assert plan_sweep(spec, out=Path("/nonexistent"))[0].startswith(f"sweep {name}: function")
        design.replicate_settings(spec.fixed)  # every grouped setting is one the replicate knows


def test_sampler_cores_follow_the_cap(monkeypatch):
    from ketamine_nif.inference import CORES_VARIABLE, sampler_cores

    monkeypatch.setenv(CORES_VARIABLE, "1")
    assert sampler_cores(4) == 1
    monkeypatch.delenv(CORES_VARIABLE)
    assert sampler_cores(4) == min(4, os.cpu_count() or 1)


def test_a_chapter_reading_other_files_reruns_when_they_change(tmp_path, monkeypatch):
    from ketamine_nif import runner

    monkeypatch.setattr(runner, "ROOT", tmp_path)
    job = runner.NotebookJob("10-x", tmp_path / "x.py", tmp_path / "x.yaml", tmp_path / "x.ipynb",
                             inputs=("_build/sweeps/s/results.csv",))
    missing = runner.dependency_hash(job, [job], {})
    results = tmp_path / "_build" / "sweeps" / "s" / "results.csv"
    results.parent.mkdir(parents=True)
    results.write_text("run,mean\na,1\n")
    present = runner.dependency_hash(job, [job], {})
    results.write_text("run,mean\na,2\n")
    assert len({missing, present, runner.dependency_hash(job, [job], {})}) == 3


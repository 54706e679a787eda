"""The summary of findings: evidence categories, answers and key estimates
from estimates tables; and, on the book built at test size, every number on the
rendered summary page equals the value in the estimates.csv it came from."""

from __future__ import annotations

import html
import re

import numpy as np
import pandas as pd
import pytest

from ketamine_nif import runner, summary
from ketamine_nif.estimates import COLUMNS
from ketamine_nif.paths import NOTEBOOKS
from ketamine_nif.plotting import GREY, OKABE_ITO
from ketamine_nif.plotting.summary import CATEGORY_STYLE, evidence_by_marker
from ketamine_nif.runner import NotebookJob


def rows(*specs, estimand="nif_change_ratio") -> pd.DataFrame:
    """Estimates from (marker, visit, mean, p_positive, p_rope, converged) tuples."""
    frame = pd.DataFrame([{
        "estimand": estimand, "marker": m, "visit": v, "subgroup": "all", "mean": mean, "sd": 0.1,
        "ci_low": mean - 0.2, "ci_high": mean + 0.2, "p_positive": pp, "p_rope": pr, "r_hat": 1.0, "ess_bulk": 1000.0,
        "converged": ok,
    } for m, v, mean, pp, pr, ok in specs])
    return frame.reindex(columns=COLUMNS)  # no indicator ESS: the summary falls back on the bulk ESS


def question(table: pd.DataFrame, stem: str = "02-x") -> summary.Question:
    chapter = summary.ChapterResults(stem, "A chapter", f"{stem}.ipynb", table)
    (q,) = summary.questions([chapter])
    return q


def test_categories_follow_the_stated_thresholds():
    table = rows(("A", "24h", 1.0, 0.5, 0.95, True), ("B", "24h", 1.0, 0.5, 0.9499, True), ("C", "24h", 1.3, 0.975, 0.1, True),
                 ("D", "24h", 0.7, 0.025, 0.1, True), ("E", "24h", 1.3, 0.99, 0.99, False), ("F", "24h", 1.1, np.nan, np.nan, True))
    assert list(summary.classify(table)) == ["ruled out", "inconclusive", "supported", "supported", "unreliable", "not classified"]
    assert summary.RULED_OUT == 0.95 and summary.SUPPORTED == 0.975



def test_verdicts_within_monte_carlo_error_of_their_level_are_named():
    """A probability counted from draws has a Monte Carlo error: an estimate
    within 2 SEs of its level (SE sqrt(level (1 - level) / ESS), the ESS of
    the indicator it counts, else the bulk ESS) is named, since more draws
    could flip its verdict; one clear of it is not."""
    level = summary.question_level(21)  # 0.99881
    se = np.sqrt(level * (1 - level) / 3000)  # 0.00063 at 3,000 effective draws
    nulls = [(m, "24h", 1.0, 0.6, 0.5, True) for m in "CDEFGHIJKLMNOPQRST"]  # 21 with A, B and V
    table = rows(("A", "24h", 1.4, level + 1.5 * se, 0.0, True), ("B", "24h", 1.3, level - 1.5 * se, 0.0, True),
                 ("V", "24h", 1.0, 0.6, 0.95 + 1.5 * np.sqrt(0.95 * 0.05 / 3000), True), *nulls).assign(ess_bulk=3000.0)
    near = summary.near_level(question(table).rows)
    assert list(near["marker"]) == ["A", "B", "V"] and list(near["probability"]) == ["P(direction)"] * 2 + ["P(ROPE)"]
    assert near["se"].iloc[0] == pytest.approx(se) and near["level"].iloc[2] == 0.95
    q = question(table)
    assert summary.overall_category(q.rows) == "supported"  # A is over the level, so the question is supported
    assert summary.answer(q).endswith(
        "3 estimates lie within 2 Monte Carlo SEs of their level, so more draws could change their verdict: "
        f"A at 24h (P(direction) {level + 1.5 * se:.4f}, over the level 0.9988, Monte Carlo SE 0.0006); B at 24h "
        f"(P(direction) {level - 1.5 * se:.4f}, under the level 0.9988, Monte Carlo SE 0.0006); V at 24h (P(ROPE) "
        "0.9560, over the level 0.9500, Monte Carlo SE 0.0040). The answer \"supported\" rests on A at 24h, so it could "
        "change too.")
    # enough decimals to tell a value from its level: 10 of 8,000 draws on the wrong side is under 0.99881
    assert summary._against(1 - 10 / 8000, level) == "0.99875, under the level 0.99881"
    # the indicator's own ESS, where the table has it, decides: B's indicator has 30,000 effective draws, so B is clear
    assert list(summary.near_level(question(table.assign(ess_direction=[3000.0, 30000.0] + [3000.0] * 19)).rows)["marker"]) == ["A", "V"]
    # 2.5 SEs away, all draws on one side with enough of them, an unreliable fit, or no ESS (a frequentist row): not named
    table = rows(("A", "24h", 1.4, level + 2.5 * se, 0.0, True), ("B", "24h", 1.3, 1.0, 0.0, True),
                 ("V", "24h", 1.3, level, 0.0, False), ("W", "24h", 1.3, level, 0.95, True), *nulls).assign(ess_bulk=3000.0)
    table.loc[table["marker"] == "W", "ess_bulk"] = np.nan
    table.loc[table["marker"] == "B", "ess_bulk"] = 3400.0
    assert summary.near_level(question(table).rows).empty
    assert "Monte Carlo" not in summary.answer(question(table))
    # all draws on one side clear a question of 21's level by more than 2 SEs only from 3,357 effective draws (4 L / (1 - L) = 3,356)
    assert summary.draws_to_resolve(level) == 3357
    table.loc[table["marker"] == "B", "ess_bulk"] = 3356.0
    assert list(summary.near_level(question(table).rows)["marker"]) == ["B"]
    table.loc[table["marker"] == "B", "ess_bulk"] = 3400.0
    # fewer effective draws widen the window: A at 2.5 SEs of 3,000 is within 2 SEs of 1,000 (as are B and W then)
    assert list(summary.near_level(question(table.assign(ess_bulk=1000.0)).rows)["marker"]) == ["A", "B", "W"]
    # ruled out comes first: a ruled-out estimate's P(direction) near the level changes nothing; its P(ROPE) near 0.95 does
    table = rows(("A", "24h", 1.0, level, 0.99, True), ("B", "24h", 1.0, 0.6, 0.951, True), *nulls[:19]).assign(ess_bulk=3000.0)
    near = summary.near_level(question(table).rows)
    assert list(near["marker"]) == ["B"] and list(near["probability"]) == ["P(ROPE)"]
    # every estimate ruled out: one near its level could make the answer inconclusive
    q = question(rows(("A", "24h", 1.0, 0.6, 0.99, True), ("B", "24h", 1.0, 0.6, 0.951, True)).assign(ess_bulk=3000.0))
    assert summary.answer(q).endswith('The answer "ruled out" needs every estimate ruled out, so it could change too.')
    # supported ones are named first; an answer resting on a supported estimate clear of its level says nothing more
    q = question(rows(("A", "24h", 1.0, 0.6, 0.951, True), ("B", "24h", 1.4, 0.99999, 0.0, True)).assign(ess_bulk=30000.0))
    assert "(P(ROPE) 0.9510" in summary.answer(q) and "could change too" not in summary.answer(q)
    # a withheld verdict stays inconclusive whatever the draws: not named
    q = question(rows(("A", "24h", 1.4, level + se, 0.0, True), *nulls[:20]).assign(ess_bulk=3000.0))
    rates = pd.DataFrame({"false supported": [0.5], "false supported MCSE": [0.05]}, index=["nif_change_ratio"])
    shown, reasons = summary.withhold(q, rates)
    assert "supported" in reasons and summary.near_level(shown.rows).empty
    assert list(summary.near_level(q.rows)["marker"]) == ["A"]



def test_a_rate_measured_on_questions_of_another_size_says_so():
    """Real data can leave estimates out (those the data cannot inform), so
    a question may hold fewer estimates than those its false "supported"
    was measured on: the evidence column says both sizes."""
    rates = pd.DataFrame({"false supported": [0.01], "false supported MCSE": [0.01], "false supported estimates": [3.0],
                          "false ruled out": [0.02], "false ruled out MCSE": [0.01]}, index=["nif_change_ratio"])
    q = question(rows(("A", "24h", 1.5, 0.9999, 0.0, True), ("B", "24h", 1.0, 0.6, 0.5, True)))
    assert summary.measured_error("supported", q, rates) == (
        " (given wrongly in 1.0% ± 1.0 of simulated trials with no effect, measured on questions of 3 estimates; "
        "this one has 2)")
    q = question(rows(("A", "24h", 1.5, 0.9999, 0.0, True), ("B", "24h", 1.0, 0.6, 0.5, True), ("C", "24h", 1.0, 0.6, 0.5, True)))
    assert summary.measured_error("supported", q, rates) == " (given wrongly in 1.0% ± 1.0 of simulated trials with no effect)"
    assert "measured on" not in summary.measured_error("ruled out", q, rates)  # per estimate: the size does not enter
    assert "measured on" not in summary.measured_error("supported", q, rates.drop(columns="false supported estimates"))

def test_an_unconverged_fit_is_never_a_finding():
    q = question(rows(("A", "24h", 1.5, 0.999, 0.0, False), ("B", "24h", 1.0, 0.5, 0.99, False)))
    assert summary.overall_category(q.rows) == "unreliable"
    assert summary.answer(q).startswith("No answer: the fit behind these 2 estimates failed")
    # a reliable estimate beside unreliable ones is answered, and the others are said to be left out
    q = question(rows(("A", "24h", 1.5, 0.999, 0.0, False), ("B", "24h", 1.0, 0.5, 0.99, True)))
    assert summary.overall_category(q.rows) == "ruled out" and q.key["marker"] == "B"
    assert summary.answer(q) == "No: an effect of practical size is ruled out. 1 more from fits that failed the convergence checks are left out."


def test_answers_and_key_estimates():
    q = question(rows(("A", "24h", 1.0, 0.6, 0.99, True), ("B", "day3", 1.4, 0.999, 0.02, True), ("C", "24h", 0.8, 0.1, 0.5, True)))
    assert summary.overall_category(q.rows) == "supported" and q.key["marker"] == "B"
    assert summary.answer(q) == "An effect is supported for 1 of 3 (B at day3); ruled out for 1 and inconclusive for 1."
    # a question of 3 asks each estimate for P(direction) 1 - 0.025 / 3 (Bonferroni): 0.99 alone is short of it
    assert summary.question_level(3) == pytest.approx(1 - 0.025 / 3) and summary.question_level(1) == 0.975
    for n in (2, 7, 21):  # just above the level supports the question, just below does not
        level = 1 - 0.025 / n
        for shift, expected in ((1e-4, "supported"), (-1e-4, "inconclusive")):
            table = rows(("A", "24h", 1.4, level + shift, 0.02, True), *[(m, "24h", 1.0, 0.6, 0.5, True) for m in "BCDEFGHIJKLMNOPQRSTUV"[:n - 1]])
            assert summary.overall_category(question(table).rows) == expected, (n, shift)
    # n counts the reliable estimates with probabilities: an unreliable one and one without probabilities do not count
    table = rows(("A", "24h", 1.4, 0.988, 0.02, True), ("B", "24h", 1.0, 0.6, 0.5, True),
                 ("C", "24h", 1.0, 0.6, 0.5, False), ("D", "24h", 1.0, np.nan, np.nan, True))
    assert summary.overall_category(question(table).rows) == "supported"  # n = 2: 0.988 >= 0.9875
    q = question(rows(("A", "24h", 1.0, 0.6, 0.99, True), ("B", "day3", 1.4, 0.985, 0.02, True), ("C", "24h", 0.8, 0.1, 0.5, True)))
    assert summary.overall_category(q.rows) == "inconclusive" and q.counts["supported"] == 0
    assert summary.answer(q) == ("No effect is supported; one of practical size is ruled out for 1 of 3, the rest are inconclusive. "
                                 "B at day3 reaches the level of a single estimate (P(direction) 0.975) but not the 0.9917 that "
                                 "a question of 3 asks.")
    assert summary.overall_category(question(rows(("B", "day3", 1.4, 0.99, 0.02, True))).rows) == "supported"  # alone: 0.975
    q = question(rows(("A", "24h", 1.0, 0.6, 0.99, True), ("B", "24h", 1.1, 0.8, 0.6, True), ("C", "24h", 0.8, 0.05, 0.5, True)))
    assert summary.overall_category(q.rows) == "inconclusive" and q.key["marker"] == "C"  # P(direction) 0.95 beats 0.8
    assert summary.answer(q) == "No effect is supported; one of practical size is ruled out for 1 of 3, the rest are inconclusive."
    q = question(rows(("A", "24h", 2.0, np.nan, np.nan, True), ("B", "24h", 1.25, np.nan, np.nan, True)).assign(ci_low=[0.5, 1.05]))
    assert summary.overall_category(q.rows) == "not classified" and q.key["marker"] == "B"  # its interval excludes 1
    q = question(rows(("A", "24h", 1.0, 0.6, 0.99, True), ("B", "24h", 1.02, 0.7, 0.97, True)))
    assert summary.answer(q) == "No: an effect of practical size is ruled out for all 2."
    q = question(rows(("A", "24h", 1.2, 0.9, 0.3, True), ("B", "24h", 1.1, 0.7, 0.6, True)))
    assert summary.answer(q).startswith("Inconclusive: no effect is supported")


def test_subgroup_estimates_and_model_covariates():
    table = rows(("IL-1RA", "24h", 1.5, 0.99, 0.0, True), ("IL-1RA", "24h", 1.0, 0.5, 0.99, True))
    table.loc[0, "subgroup"] = "BMI < 25"
    q = question(table)
    assert q.text.endswith("(by subgroup)") and summary.where(q.key) == "IL-1RA at 24h in BMI < 25"
    variant = rows(("IL-6", "24h", 1.0, 0.5, 0.99, True), estimand="nif_change_ratio_student")
    again = summary.questions([summary.ChapterResults("02-x", "X", "02-x.ipynb", rows(("IL-6", "24h", 1.0, 0.5, 0.99, True))),
                               summary.ChapterResults("08-y", "Y", "08-y.ipynb", pd.concat([rows(("IL-6", "24h", 1.0, 0.5, 0.99, True)), variant]))])
    assert [q.text for q in again][1:] == [
        "Do NIF levels change differently after ketamine than after saline? (revisited)",
        "Do NIF levels change differently after ketamine than after saline? Sensitivity analysis: Student-t likelihood."]
    assert summary.short_name("nif_change_ratio_lod_half") == "NIF change, ketamine / saline (lod half)"
    covariate = rows(("BDI", "all", 0.6, 1.0, 0.0, True), estimand="bdi_pre")
    assert summary.questions([summary.ChapterResults("09-x", "X", "09-x.ipynb", covariate)]) == []


def test_summary_table_links_each_line_to_its_chapter():
    q = question(rows(("IL-6", "24h", 1.234, 0.99, 0.0, True)), stem="02-nif-trajectories")
    table = summary.summary_markdown([q])
    line = table.splitlines()[2]
    assert "([A chapter](02-nif-trajectories.ipynb))" in line
    assert "IL-6 at 24h: 1.23 [1.03, 1.43] (ratio)" in line and "**supported**" in line


def test_a_key_estimate_carries_its_unit_and_says_when_its_interval_is_a_confidence_interval():
    def key(estimand: str, p_positive: float = 0.0) -> pd.Series:
        return pd.Series({"estimand": estimand, "mean": -8.449, "ci_low": -11.2, "ci_high": -5.67, "p_positive": p_positive})

    assert summary.interval_text(key("madrs_change_difference")) == "-8.45 [-11.20, -5.67] MADRS points"
    assert summary.interval_text(key("coupling_within_ketamine", float("nan"))) == (
        "-8.45 [-11.20, -5.67] MADRS points per doubling (95% confidence interval)")  # no posterior probabilities: chapter 07's
    assert summary.interval_text(key("nif_change_ratio_student", float("nan"))) == (
        "-8.45 [-11.20, -5.67] (ratio; 95% confidence interval)")  # a variant has its estimand's unit
    assert summary.interval_text(key("nif_change_ratio", 0.4)) == "-8.45 [-11.20, -5.67] (ratio)"
    assert summary.interval_text(key("baseline_moderation_difference")).endswith("MADRS points per SD")
    assert summary.interval_text(key("bdi_pre")) == "-8.45 [-11.20, -5.67]"  # not in the registry: no unit


def test_missing_and_broken_estimates_are_said_to_be_missing(tmp_path):
    sources = tmp_path / "notebooks"
    sources.mkdir()
    (sources / "01-data.py").write_text("# # The data {#sec-data}\n")
    (sources / "05-subgroups.py").write_text("# # Subgroups {#sec-subgroups}\nestimates.write(table, out)\n")
    (sources / "06-evidence.py").write_text("# # Evidence\n")
    (tmp_path / "out" / "06-evidence").mkdir(parents=True)
    (tmp_path / "out" / "06-evidence" / "estimates.csv").write_text("estimand,mean\nx,1\n")
    jobs = [NotebookJob(s, sources / f"{s}.py", tmp_path / "p.yaml", tmp_path / f"{s}.ipynb") for s in ("01-data", "05-subgroups", "06-evidence")]
    chapters = summary.collect(jobs, tmp_path / "out")
    assert [c.stem for c in chapters] == ["05-subgroups", "06-evidence"]  # the data chapter writes no estimates
    assert chapters[0].title == "Subgroups" and "missing" in chapters[0].problem
    assert "lacks the column(s)" in chapters[1].problem and chapters[1].estimates is None
    assert "ess_direction" not in chapters[1].problem  # a column added later is not required
    assert summary.questions(chapters) == []
    # a table written before the indicator ESS was kept is read with it empty (the summary falls back on the bulk ESS)
    old = rows(("A", "24h", 1.4, 0.99, 0.0, True)).drop(columns=["ess_direction", "ess_rope"])
    old.to_csv(tmp_path / "out" / "06-evidence" / "estimates.csv", index=False)
    (chapter,) = summary.collect(jobs[2:], tmp_path / "out")
    assert list(chapter.estimates.columns) == COLUMNS and chapter.estimates["ess_direction"].isna().all()
    assert "05-subgroups" not in summary.missing_planned(jobs) and "10-design-sensitivity" in summary.missing_planned(jobs)


def test_figure_has_one_row_per_question():
    qs = summary.questions([summary.ChapterResults("02-x", "A", "02-x.ipynb", rows(("A", "24h", 1.0, 0.5, 0.99, True))),
                            summary.ChapterResults("03-y", "B", "03-y.ipynb", rows(("MADRS", "24h", -7, 0.0, 0.0, True), estimand="madrs_change_difference"))])
    fig = evidence_by_marker(qs)
    assert len(fig.axes[0].get_yticklabels()) == 2 and [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["A", "MADRS"]
    assert len(fig.axes[0].collections) == 2
    assert [h.get_label() for h in fig.axes[0].get_legend().legend_handles] == ["supported", "ruled out"]
    assert set(CATEGORY_STYLE) == {*summary.CATEGORIES, summary.WITHHELD}
    assert {style["color"] for style in CATEGORY_STYLE.values()} <= {*OKABE_ITO, GREY}  # the one palette
    assert evidence_by_marker([]).axes[0].texts[0].get_text() == "no estimates yet: run the analysis chapters"


def test_findings_and_what_is_missing_from_the_page():
    assert summary.findings_text([]) == "No analysis chapter has written estimates yet: run the notebooks first (`make report`)."
    q = question(rows(("IL-6", "24h", 1.234, 0.99, 0.0, True)))
    table, multiplicity = summary.findings_text([q]).split("\n\n")
    assert table == summary.summary_markdown([q]) and multiplicity == summary.multiplicity_text([q])
    broken = summary.ChapterResults("05-x", "Subgroups", "05-x.ipynb", problem="no estimates yet")
    found = summary.ChapterResults("02-x", "A", "02-x.ipynb", rows(("A", "24h", 1.0, 0.5, 0.99, True)))
    assert summary.missing_text([found], {}) == ""
    assert summary.missing_text([found, broken], {}) == "Missing from this summary: [Subgroups](05-x.ipynb): no estimates yet."
    assert summary.missing_text([found], {"09-x": "external validation", "10-x": "design sensitivity"}) == (
        "Not yet part of this edition: external validation and design sensitivity.")
    assert summary.missing_text([broken], {"10-x": "design sensitivity"}) == (
        "Missing from this summary: [Subgroups](05-x.ipynb): no estimates yet.\n\nNot yet part of this edition: design sensitivity.")


def test_summary_and_appendix_run_last_but_keep_their_place():
    assert runner.run_settings(NOTEBOOKS / "index.py") == {"run": "last", "reads": ["estimates.csv"],
                                                           "inputs": ["studies/calibration/results.csv", "studies/calibration-madrs/results.csv",
                                                                      "studies/recovery/results.csv"]}
    assert runner.run_settings(NOTEBOOKS / "appendix.py")["reads"] == ["run-log", "diagnostics.json"]
    assert runner.run_settings(NOTEBOOKS / "01-data.py") == {}
    jobs = runner.book_jobs()
    assert jobs[0].stem == "index" and jobs[-1].stem == "appendix"
    order = [j.stem for j in runner.execution_order(jobs)]
    assert order[-2:] == ["index", "appendix"] and order[:-2] == [j.stem for j in jobs[1:-1]]


def test_dependency_hash_follows_the_other_chapters_outputs(tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "run_output_dir", lambda stem: tmp_path / stem)
    jobs = [NotebookJob(s, tmp_path / f"{s}.py", tmp_path / "p.yaml", tmp_path / f"{s}.ipynb") for s in ("02-a", "03-b")]
    summary_job = NotebookJob("index", tmp_path / "index.py", tmp_path / "p.yaml", tmp_path / "index.ipynb", True, ("estimates.csv",))
    chapters = [summary_job, *jobs]
    (tmp_path / "02-a").mkdir()
    before = runner.dependency_hash(summary_job, chapters, {})
    (tmp_path / "02-a" / "estimates.csv").write_text("estimand\nx\n")
    written = runner.dependency_hash(summary_job, chapters, {})
    (tmp_path / "02-a" / "figure.png").write_bytes(b"unrelated")
    assert before != written == runner.dependency_hash(summary_job, chapters, {})
    (tmp_path / "02-a" / "estimates.csv").write_text("estimand\ny\n")
    assert runner.dependency_hash(summary_job, chapters, {}) != written
    assert runner.dependency_hash(jobs[0], chapters, {}) == ""  # a chapter that reads nothing
    appendix = NotebookJob("appendix", tmp_path / "a.py", tmp_path / "p.yaml", tmp_path / "a.ipynb", True, ("run-log",))
    log = {"02-a": {"seconds": 1.0, "status": "executed"}}
    same = runner.dependency_hash(appendix, [*chapters, appendix], log)
    assert runner.dependency_hash(appendix, [*chapters, appendix], {"02-a": {"seconds": 1.0, "status": "cached"}}) == same
    assert runner.dependency_hash(appendix, [*chapters, appendix], {"02-a": {"seconds": 2.0, "status": "executed"}}) != same


# --- the rendered summary page of the book built at test size (conftest.built_book) ---

def _cells(row_html: str) -> list[str]:
    return re.findall(r"<td[^>]*>(.*?)</td>", row_html, re.S)


def _text(cell: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", cell))).strip()


@pytest.mark.slow
def test_every_number_on_the_summary_page_equals_its_estimate(built_book):
    root = built_book[0]
    page = (root / "_book" / "index.html").read_text()
    table = next(t for t in re.findall(r"<table.*?</table>", page, re.S) if "key estimate" in t)
    body_rows = re.findall(r"<tr[^>]*>(.*?)</tr>", table.split("<tbody>", 1)[1], re.S)
    keys = pd.read_csv(root / "_build" / "outputs" / "index" / "summary.csv", keep_default_na=False)
    assert len(body_rows) == len(keys) > 0
    outputs = root / "_build" / "outputs"
    stems_with_estimates = sorted(p.parent.name for p in outputs.glob("*/estimates.csv"))
    assert sorted(set(keys["chapter"])) == stems_with_estimates  # every analysis chapter is summarised
    for row_html, (_, key) in zip(body_rows, keys.iterrows(), strict=True):
        question_cell, answer_cell, estimate_cell, category_cell, rests_on_cell = _cells(row_html)
        assert f'href="{key["chapter"]}.html"' in question_cell  # the line links to its chapter
        source = pd.read_csv(outputs / key["chapter"] / "estimates.csv", keep_default_na=False)
        for column in ("mean", "ci_low", "ci_high", "p_positive", "p_rope"):
            source[column] = pd.to_numeric(source[column], errors="coerce")  # empty: not given (frequentist fits)
        source = source[source["estimand"] == key["estimand"]]
        match = source[(source["marker"] == key["marker"]) & (source["visit"] == key["visit"]) & (source["subgroup"] == key["subgroup"])]
        assert len(match) == 1
        estimate = match.iloc[0]
        shown = [float(x) for x in re.findall(r"[-+]?\d+\.\d+", _text(estimate_cell).split(": ", 1)[1])]
        assert shown == [float(f"{estimate[c]:.2f}") for c in ("mean", "ci_low", "ci_high")]
        # the category and the counts in the answer, recomputed here from the thresholds as stated
        converged = source["converged"].astype(str).str.lower() == "true"
        direction = np.maximum(source["p_positive"], 1 - source["p_positive"])
        ruled = converged & (source["p_rope"] >= 0.95)
        unclassified = converged & source["p_rope"].isna() & source["p_positive"].isna()  # no posterior probabilities
        reliable = int(converged.sum())
        # one of a question's n classified estimates supports it at 1 - 0.025/n (Bonferroni), 0.975 alone
        classified = reliable - int(unclassified.sum())
        level = 1 - 0.025 / classified if classified > 1 else 0.975
        supported = converged & ~ruled & (direction >= level)
        expected = ("unreliable" if reliable == 0 else "supported" if supported.any() else
                    "ruled out" if ruled.sum() == reliable else "not classified" if unclassified.sum() == reliable else "inconclusive")
        assert _text(category_cell) == expected
        counts = {len(source), reliable, int(ruled.sum()), int(supported.sum()), int(unclassified.sum()), classified,
                  reliable - int(ruled.sum()) - int(supported.sum()) - int(unclassified.sum()), len(source) - reliable}
        numbers = {int(n) for n in re.findall(r"\b\d+\b", re.sub(r"\(.*?\)|\d+\.\d+", "", _text(answer_cell)))}
        assert numbers <= counts, (_text(answer_cell), counts)
        # "rests on": every classified estimate of a supported or ruled-out question, nothing otherwise
        rests_on = _text(rests_on_cell)
        if expected in ("supported", "ruled out"):
            assert int(re.search(r"\d+", rests_on).group()) == reliable - int(unclassified.sum()), rests_on
        else:
            assert rests_on == ""


def test_the_summary_names_the_estimates_the_data_cannot_inform():
    from ketamine_nif.estimands import MADRS_CHANGE_DIFFERENCE, NIF_CHANGE_RATIO
    from ketamine_nif.identifiability import Assessment, Gap

    gaps = [Gap(MADRS_CHANGE_DIFFERENCE, "", "no saline", "24h"), Gap(MADRS_CHANGE_DIFFERENCE, "", "no saline", "day3"),
            Gap(NIF_CHANGE_RATIO, "IL-6", "no baseline"), Gap(NIF_CHANGE_RATIO, "CRP", "no baseline", "24h"),
            Gap(NIF_CHANGE_RATIO, "IL-6", "no baseline", "day3")]
    assert summary.uninformed_text(Assessment(gaps)) == (
        "Not reported, as these data cannot inform them (the chapters' callouts give the reasons): "
        "MADRS change, ketamine - saline and NIF change, ketamine / saline (IL-6 and CRP).")
    assert summary.uninformed_text(Assessment([])) == ""


def test_verdicts_carry_their_measured_error_rates():
    """Beside a supported or ruled-out answer, the rate at which the page
    gave it wrongly to the same question on simulated trials (from the
    calibration suite or the recovery study); nothing beside the others, or
    where a question was not measured."""
    rates = pd.DataFrame({"false supported": [0.021, np.nan], "false supported MCSE": [0.005, np.nan],
                          "false ruled out": [0.0, 0.03], "false ruled out MCSE": [0.0, 0.01]},
                         index=pd.Index(["nif_change_ratio", "madrs_change_difference"], name="estimand"))
    supported = question(rows(("IL-6", "24h", 1.234, 0.99, 0.0, True)))
    ruled = question(rows(("IL-6", "24h", 1.0, 0.6, 0.99, True)))
    inconclusive = question(rows(("IL-6", "24h", 1.1, 0.8, 0.5, True)))
    madrs = question(rows(("MADRS", "24h", -7, 0.0, 0.0, True), estimand="madrs_change_difference"))
    line = summary.summary_markdown([supported], rates).splitlines()[2]
    assert "**supported** (given wrongly in 2.1% ± 0.5 of simulated trials with no effect)" in line
    assert ("**ruled out** (given wrongly to 0.0% ± 0.0 of the estimates with an effect too large to be negligible, on "
            "simulated trials)" in summary.summary_markdown([ruled], rates))
    assert summary.summary_markdown([inconclusive], rates) == summary.summary_markdown([inconclusive])
    assert summary.summary_markdown([madrs], rates) == summary.summary_markdown([madrs])  # no null MADRS effect was measured
    by_subgroup = rows(("IL-6", "24h", 1.234, 0.99, 0.0, True)).assign(subgroup="BMI < 25")
    variant = rows(("IL-6", "24h", 1.234, 0.99, 0.0, True), estimand="nif_change_ratio_student")
    for other in (question(by_subgroup), question(variant)):  # other models than the studies fitted: no rate
        assert "given wrongly" not in summary.summary_markdown([other], rates)
    text = summary.findings_text([supported], rates, "the recovery study (50 twins)")
    table, meaning, multiplicity = text.split("\n\n")
    assert table == summary.summary_markdown([supported], rates) and multiplicity == summary.multiplicity_text([supported])
    assert meaning.startswith("**Measured error rates.**") and "from the recovery study (50 twins)" in meaning
    assert summary.findings_text([supported]) == summary.summary_markdown([supported]) + "\n\n" + summary.multiplicity_text([supported])
    assert "is withheld: its estimates count as inconclusive." in meaning


def test_a_verdict_measured_to_be_wrong_too_often_is_withheld():
    """Over the limit of params/analysis.yaml (5%, the measured share), the
    summary withholds that verdict, estimate by estimate: those estimates
    count as inconclusive in the table, summary.csv and the figure, the
    answer says why, and the question's other verdicts stand; at the limit it stands."""
    from ketamine_nif.plotting.summary import evidence_by_marker

    assert summary.MAX_ERROR_RATE == 0.05
    rates = pd.DataFrame({"false supported": [0.08, 0.05], "false supported MCSE": [0.02, 0.01],
                          "false ruled out": [0.12, 0.0], "false ruled out MCSE": [np.nan, 0.0]},
                         index=pd.Index(["nif_change_ratio", "coupling_within_ketamine"], name="estimand"))
    supported = question(rows(("IL-6", "24h", 1.234, 0.99, 0.0, True)))
    mixed = question(rows(("IL-6", "24h", 1.234, 0.999, 0.0, True), ("CRP", "24h", 1.0, 0.6, 0.99, True),
                          ("BDNF", "24h", 1.05, 0.7, 0.5, True)))
    at_limit = question(rows(("IL-6", "24h", 2.0, 0.99, 0.0, True), estimand="coupling_within_ketamine"))
    support_reason = summary.withheld_reason(summary.SUPPORT, supported, rates)
    assert support_reason == ('The answer "supported" is withheld here: the rule gave it wrongly in 8.0% ± 2.0 of simulated '
                              "trials with no effect, more than the 5% the report accepts, so those estimates count as "
                              "inconclusive.")
    line = summary.summary_markdown([supported], rates).splitlines()[2]
    assert "| *inconclusive* (withheld: supported, given wrongly in 8.0% ± 2.0) |" in line
    assert f"Inconclusive: no effect is supported, but one of practical size cannot be ruled out. {support_reason} |" in line
    assert "**supported**" not in line and "An effect is supported" not in line
    # a question with both verdicts: each is withheld on its own (no Monte Carlo error: none shown)
    shown, reasons = summary.withhold(mixed, rates)
    assert list(reasons) == ["supported", "ruled out"] and shown.counts["inconclusive"] == 3
    assert "gave it wrongly to 12.0% of the estimates with an effect too large to be negligible" in reasons["ruled out"]
    assert mixed.counts["supported"] == 1  # the question itself is untouched
    frame = summary.summary_frame([supported, mixed, at_limit], rates)
    assert frame["withheld"].tolist() == ["supported", "supported, ruled out", ""]
    assert frame["category"].tolist() == ["supported", "supported", "supported"]
    assert frame["shown_category"].tolist() == ["inconclusive", "inconclusive", "supported"]
    assert frame["answer"].iloc[0].endswith(support_reason)
    # at the limit the verdict stands; with nothing measured nothing is withheld
    assert summary.withheld_reason(summary.SUPPORT, at_limit, rates) == ""
    assert "**supported** (given wrongly in 5.0% ± 1.0 of simulated trials with no effect)" in summary.summary_markdown([at_limit], rates)
    assert summary.withhold(supported, None) == (supported, {})
    assert summary.summary_frame([supported])["withheld"].tolist() == [""]
    only_ruled = question(rows(("CRP", "24h", 1.0, 0.6, 0.99, True)))
    assert summary.withhold(only_ruled, rates.assign(**{"false ruled out": [0.0, 0.0]}))[1] == {}
    fig = evidence_by_marker([supported, mixed, at_limit], rates)
    assert [h.get_label() for h in fig.axes[0].get_legend().legend_handles] == ["supported", "inconclusive", "withheld"]

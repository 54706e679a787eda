"""The studies against a known truth, and their one summary.

- the recovery study: every aim's model fitted to twins with planted effects
  (:func:`recovery_replicate`; ``sweeps/recovery.yaml``, ``sweeps/recovery-madrs.yaml``);
- the study of values under the detection limit: the aim 1 model fitted three
  ways (censored likelihood, LOD/2, LOD/sqrt(2) substituted) to the same twins
  (:func:`lod_bias_replicate`; ``sweeps/lod-bias.yaml``).

Both are sweeps, read by :func:`ketamine_nif.sweep.read_saved` and summarised
by :func:`recovery_summary` (coverage, bias, RMSE, detections), grouped by
estimand or by treatment and marker. The calibration suite
(``sweeps/calibration.yaml``: the recovery replicate on twins of
``paper-null`` and ``realistic-effects``) and the recovery study are also
read as :func:`calibration_table`: per estimand family, how often each
verdict of the report's decision rule is wrong, with Monte Carlo errors.
"""

from __future__ import annotations

import tempfile

import numpy as np
import pandas as pd

from .analysis import load as load_analysis
from .contract import Dataset, load_dataset
from .estimands import (
    BASELINE_MODERATION_DIFFERENCE,
    COUPLING_WITHIN,
    MADRS_CHANGE_DIFFERENCE,
    NIF_CHANGE_RATIO,
    lookup,
    null_value,
)
from .estimates import recovery, summarise
from .inference import SamplerSettings, fit
from .models import build_nif_trajectory_model, moderation_data, prepare
from .models.trajectory import BELOW_LOD
from .reporting import spread
from .sensitivity import missing_shares
from .summary import (
    MAX_ERROR_RATE,
    UNRELIABLE,
    classified_count,
    classify,
    overall_category,
    question_categories,
)
from .summary import RULED as RULED_OUT
from .summary import SUPPORT as SUPPORTED
from .twin import load_scenario, simulate

FITS = (  # name, the fit engine's form (ketamine_nif.engine.FORMS: its builder), estimands
    ("nif-trajectories", "nif_trajectory", [NIF_CHANGE_RATIO]),
    ("depression", "depression", [MADRS_CHANGE_DIFFERENCE]),
    ("coupling", "coupling", list(COUPLING_WITHIN.values())),
    ("baseline-prediction", "moderation", [BASELINE_MODERATION_DIFFERENCE]),
)


def fit_all(dataset: Dataset, settings: SamplerSettings, markers: list[str] | None = None,
            fits: list[str] | None = None) -> tuple[pd.DataFrame, list]:
    """Estimates of every estimand (the output contract's rows) and the
    diagnostics of each fit; ``fits`` picks some of :data:`FITS` by name.
    With ``sampler="nutpie"`` or ``"numpyro"`` each model is fitted by the
    fit engine (compiled once per process and design, :mod:`ketamine_nif.engine`),
    otherwise by ``inference.fit`` with that sampler; the book models either way,
    on the data the book gives them (the moderation model without a marker
    with too few baseline values above its limit: ``models.moderation_data``)."""
    from .engine import fit_form

    unknown = set(fits or []) - {name for name, _, _ in FITS}
    if unknown:
        raise ValueError(f"unknown fits {sorted(unknown)}; choose from {[name for name, _, _ in FITS]}")
    data = prepare(dataset, markers=markers)
    frames, diagnostics = [], []
    for offset, (name, form, names) in enumerate(FITS, start=1):
        if fits and name not in fits:
            continue
        result = fit_form(form, moderation_data(data) if form == "moderation" else data, settings.for_fit(offset), name)
        diagnostics.append(result.diagnostics)
        frames += [summarise(result.idata, n, load_analysis().rope(n), result.diagnostics.converged) for n in names]
    return pd.concat(frames, ignore_index=True), diagnostics


def recovery_replicate(*, seed: int, scenario: str = "planted-effects", draws: int = 1000, tune: int | None = None,
                       chains: int = 4, sampler: str = "pymc", markers: list[str] | None = None,
                       fits: list[str] | None = None) -> pd.DataFrame:
    """One replicate of the recovery study: a twin of ``scenario`` with this
    seed, every aim's model fitted, estimates joined to the truth. Run many of
    them with ``ketamine-nif sweep sweeps/recovery.yaml`` (``fits`` as in
    :func:`fit_all`: sweeps/recovery-madrs.yaml fits the depression model alone)."""
    twin = simulate(scenario, seed=seed)
    with tempfile.TemporaryDirectory() as folder:
        dataset = load_dataset(twin.write(folder))
    settings = SamplerSettings(sampler=sampler, draws=draws, tune=tune or draws, chains=chains, seed=seed)
    table, _ = fit_all(dataset, settings, markers, fits)
    joined = recovery(table, twin.truth)
    joined["error"] = joined["mean"] - joined["truth"]
    # how much of each arm's MADRS is missing at each visit (sensitivity.missing_shares): what dropout did to this twin
    shares = missing_shares(prepare(dataset, markers=markers)).rename(
        columns={"treatment": "madrs_missing_treatment", "reference": "madrs_missing_reference"})
    return joined.drop(columns=["subgroup"]).merge(shares, on="visit", how="left")


LOD_GROUPS = ("method", "marker")  # the study of values under the detection limit: per treatment and marker


def recovery_summary(results: pd.DataFrame, by: tuple[str, ...] = ("estimand",), error: str = "error") -> pd.DataFrame:
    """The one summary of a study against the truth, per group of ``by``
    (estimand; or treatment of values under the limit and marker): the number
    of replicates and estimates, the share of estimates from fits that passed
    the convergence checks, coverage of the 95% intervals, bias and RMSE of
    ``error`` (the estimand's scale; ``log_error`` for ratios on the log
    scale), the share of planted effects detected in their direction, and the
    number of false detections of null effects; and the share of values under
    the detection limit where the results carry it (``censored_share``). A
    table without ``seed`` is one replicate."""
    rows = []
    for key, g in results.groupby(list(by), sort=tuple(by) == ("estimand",)):
        planted = g["planted"].astype(bool)
        rows.append({
            **dict(zip(by, key, strict=True)), "replicates": g["seed"].nunique() if "seed" in g else 1, "estimates": len(g),
            **({"share under the limit": g["censored_share"].mean()} if "censored_share" in g else {}),
            "converged": g["converged"].astype(bool).mean() if "converged" in g else float("nan"),
            "coverage": g["covered"].astype(bool).mean(), "bias": g[error].mean(),
            "rmse": float((g[error] ** 2).mean() ** 0.5),
            "planted": int(planted.sum()),
            "detected_planted": g.loc[planted, "detected_in_direction"].astype(bool).mean() if planted.any() else float("nan"),
            "false_detections": int(g.loc[~planted, "detected"].astype(bool).sum()), "nulls": int((~planted).sum()),
        })
    return pd.DataFrame(rows)


def _clustered(values: pd.Series, seeds: pd.Series) -> tuple[float, float]:
    """The mean of ``values`` and its Monte Carlo standard error, with the
    twins (``seeds``) as clusters: the estimates of one twin share its data,
    so they are not independent. NaN for no values; the error is NaN with one twin."""
    if values.empty:
        return float("nan"), float("nan")
    values = values.astype(float)
    mean = float(values.mean())
    by_twin = (values - mean).groupby(seeds.to_numpy()).sum()
    twins = len(by_twin)
    error = float(np.sqrt(twins / (twins - 1) * (by_twin**2).sum()) / len(values)) if twins > 1 else float("nan")
    return mean, error


def verdicts_against_truth(results: pd.DataFrame) -> pd.DataFrame:
    """A study's results (estimates joined to the truth, with ``seed``) with
    the report's verdict of each estimate judged alone
    (:func:`ketamine_nif.summary.classify`), its family, and what the truth was:
    ``null`` (no effect), ``outside_rope`` (an effect too large to call
    negligible) and ``upward`` (its direction)."""
    out = results.copy()
    out["verdict"] = classify(out)
    out["family"] = out["estimand"].map(lambda e: lookup(e).family)
    nulls = out["estimand"].map(null_value)
    ropes = out["estimand"].map(load_analysis().rope)
    out["null"] = np.isclose(out["truth"], nulls)
    out["outside_rope"] = [not low <= t <= high for t, (low, high) in zip(out["truth"], ropes, strict=True)]
    out["upward"] = out["truth"] > nulls
    out["supported_in_direction"] = (out["verdict"] == SUPPORTED) & ((out["p_positive"] > 0.5) == out["upward"])
    return out


def calibration_table(results: pd.DataFrame) -> pd.DataFrame:
    """How often each verdict of the report is wrong on twins like these, per
    estimand family: coverage of the 95% intervals, bias and RMSE, and the
    rates of false "supported" (among null effects), false "ruled out" (among
    effects outside the region of practical equivalence) and "supported" in
    the right direction (power, among planted effects), each with its Monte
    Carlo standard error (``<column> MCSE``; twins as clusters) and the
    number of estimates it rests on. NaN where a family has no such effect."""
    judged = verdicts_against_truth(results)
    rows = []
    for family, g in judged.groupby("family", sort=False):
        row = {"family": family, "twins": g["seed"].nunique(), "estimates": len(g),
               "unreliable": float((g["verdict"] == UNRELIABLE).mean())}
        for column, values, among in (
            ("coverage", g["covered"], None), ("bias", g["error"], None),
            ("false supported", g["verdict"] == SUPPORTED, g["null"]),
            ("false ruled out", g["verdict"] == RULED_OUT, g["outside_rope"]),
            ("power", g["supported_in_direction"], ~g["null"]),
        ):
            chosen = values if among is None else values[among.astype(bool)]
            row[column], row[f"{column} MCSE"] = _clustered(chosen, g.loc[chosen.index, "seed"])
            if among is not None:
                row[f"{column} n"] = len(chosen)
        row["rmse"] = float((g["error"] ** 2).mean() ** 0.5)
        rows.append(row)
    return pd.DataFrame(rows)


def question_calibration(results: pd.DataFrame, multiplicity: str | None = None) -> pd.DataFrame:
    """How often the summary page's answer to each question (estimand: all
    its estimates in one twin, judged at the question's level,
    :func:`ketamine_nif.summary.question_categories`) is wrong on twins like
    these: false "supported" among the twins in which none of its
    estimates has an effect, false "ruled out" among those in which one has
    an effect too large to be negligible, power (supported through a
    planted effect, in its direction) among those with a planted effect,
    and among those the share in which a null estimate was supported too
    (``null named``: the answer is right, but the page names a wrong
    estimate among its supported ones); each with its Monte Carlo error
    (twins are independent) and the number of twins it rests on. Twins are
    told apart by scenario and seed; those in which every fit failed get
    no answer on the page and are left out (``unanswered``). NaN where no
    twin had such a question.
    ``multiplicity``: the question's level (the book's setting unless given)."""
    judged = verdicts_against_truth(results)
    twin_keys = [k for k in ("scenario", "seed") if k in judged]
    rows = []
    for estimand, g in judged.groupby("estimand", sort=False):
        twins = []
        for _, twin in g.groupby(twin_keys):
            judged_twin = question_categories(twin.assign(category=twin["verdict"]), multiplicity)
            supported = judged_twin["category"] == SUPPORTED
            twins.append({"answer": overall_category(judged_twin), "null": twin["null"].all(),
                          "outside": twin["outside_rope"].any(), "estimates": len(twin),
                          "classified": classified_count(judged_twin),
                          "found": (supported & twin["supported_in_direction"] & ~twin["null"]).any(),
                          "null supported": (supported & twin["null"]).any()})
        twins = pd.DataFrame(twins)
        answered = twins[twins["answer"] != UNRELIABLE]  # a twin whose fits all failed gets no answer on the page
        row = {"estimand": estimand, "twins": len(twins), "unanswered": len(twins) - len(answered),
               "estimates per twin": int(twins["estimates"].median())}
        twins = answered
        for column, values, among in (("false supported", twins["answer"] == SUPPORTED, twins["null"]),
                                      ("false ruled out", twins["answer"] == RULED_OUT, twins["outside"]),
                                      ("power", twins["found"], ~twins["null"]),
                                      ("null named", twins["null supported"], ~twins["null"])):
            chosen = values[among].astype(float)
            n = len(chosen)
            row[column] = float(chosen.mean()) if n else float("nan")
            row[f"{column} MCSE"] = float(np.sqrt(row[column] * (1 - row[column]) / n)) if n else float("nan")
            row[f"{column} n"] = n
        # the size of the questions false "supported" was measured on, counted as the page counts (summary._measured_size)
        null_twins = twins.loc[twins["null"], "classified"]
        row["false supported estimates"] = float(null_twins.median()) if len(null_twins) else float("nan")
        rows.append(row)
    return pd.DataFrame(rows)


RATES = ("coverage", "false supported", "false ruled out", "power")


def _rate_cell(row: pd.Series, column: str) -> str:
    """A rate as a percentage with its Monte Carlo error and the number it rests on ("-" where none)."""
    if pd.isna(row[column]):
        return "-"
    count = f" (of {int(row[f'{column} n'])})" if f"{column} n" in row else ""
    return f"{100 * row[column]:.1f}% ± {100 * row[f'{column} MCSE']:.1f}{count}"


def calibration_display(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`calibration_table` for a reader: each rate as a percentage with
    its Monte Carlo error and, for the verdict rates, the number of
    estimates it rests on ("-" where a family has none)."""
    shown = pd.DataFrame({"family": table["family"], "twins": table["twins"], "estimates": table["estimates"]})
    for column in RATES:
        shown[column] = [_rate_cell(row, column) for _, row in table.iterrows()]
    shown["bias"] = [f"{b:.3g} ± {e:.2g}" for b, e in zip(table["bias"], table["bias MCSE"], strict=True)]
    shown["RMSE"] = table["rmse"].map(lambda v: f"{v:.3g}")
    return shown


def calibration_sentence(table: pd.DataFrame, scenario: str, by: str = "family") -> str:
    """What :func:`calibration_table` (``by`` family: the rule per estimate)
    or :func:`question_calibration` (``by`` estimand: the page's answer per
    question) says about the verdicts: whether false "supported" and false
    "ruled out" stay within :data:`MAX_ERROR_RATE` everywhere (naming those
    that do not, and those that these twins could not test), on twins of
    ``scenario``."""
    from .reporting import join_words

    limit = 100 * MAX_ERROR_RATE
    per_question = by == "estimand"
    cases = "of the trials for any question" if per_question else "of their estimates in any family"
    parts = []
    for column, effects in (("false supported", 'null effects "supported"'),
                            ("false ruled out", 'effects too large to be negligible "ruled out"')):
        if per_question:
            effects = effects.replace("null effects", "questions with no effect").replace(
                "effects too large to be negligible", "questions with an effect too large to be negligible")
        tested, untested = table[table[column].notna()], table.loc[table[column].isna(), by]
        over = tested[tested[column] > MAX_ERROR_RATE]
        if tested.empty:
            parts.append(f"{effects}: not tested (these twins have no such effect)")
            continue
        if len(over):
            text = f"**{effects} more often than {limit:.0f}%** in " + join_words(
                f"{name} ({100 * rate:.1f}%)" for name, rate in zip(over[by], over[column], strict=True))
        elif tested[column].max() == 0:
            text = f"{effects} in none of their {int(tested[f'{column} n'].sum())} {'answers' if per_question else 'estimates'}"
        else:
            text = f"{effects} in at most {100 * tested[column].max():.1f}% {cases}"
        if len(untested):
            text += f" (not tested for {join_words(untested)}: these twins have no such effect)"
        parts.append(text)
    clusters = "each twin is one trial" if per_question else "the Monte Carlo errors (±) treat each twin's estimates as one cluster"
    return (f"On {table['twins'].max()} twins of `{scenario}`, the {'page' if per_question else 'report'}'s decision rule "
            + ("answered " if per_question else "called ") + "; and ".join(parts)
            + f". The limit for each is {limit:.0f}%; {clusters}.")


CALIBRATION_DIR, RECOVERY_DIR = "studies/calibration", "studies/recovery"  # where the sweeps keep them (sweeps/*.yaml)
CALIBRATION_MADRS_DIR = "studies/calibration-madrs"  # the suite's MADRS companion (sweeps/calibration-madrs.yaml)
NULL_SCENARIO, REALISTIC_SCENARIO = "paper-null", "realistic-effects"  # the calibration suite's scenarios


def verdict_error_rates(calibration_dir: str = CALIBRATION_DIR, recovery_dir: str = RECOVERY_DIR,
                        madrs_dir: str = CALIBRATION_MADRS_DIR) -> tuple[pd.DataFrame | None, str]:
    """How often the summary page's rule gives each question's (index:
    estimand) answers wrongly, with Monte Carlo errors: the answer
    "supported" per question (:func:`question_calibration`), "ruled out" per
    estimate of its family (:func:`calibration_table`); and where they come
    from, in words: from the calibration suite
    (false "supported" on ``paper-null`` twins, false "ruled out" on
    ``realistic-effects`` twins) once it has as many twins per scenario as
    the recovery study, until then from the recovery study (twins of
    ``planted-effects``, kinder than real data). A question with no null
    twin there (the MADRS arm difference: every scenario but ``madrs-null``
    plants the paper's) takes its false "supported" from the study in
    ``madrs_dir``, once that study has as many twins as the source of the
    other rates (per scenario). None and '' when neither the suite nor the
    recovery study is saved."""
    from .sweep import read_saved

    # false "supported" with the size of the questions it was measured on (the page's may differ: see summary.measured_error)
    columns = [*(f"false supported{suffix}" for suffix in ("", " MCSE", " estimates")),
               *(f"false ruled out{suffix}" for suffix in ("", " MCSE"))]
    suite, recovery_study = read_saved(calibration_dir), read_saved(recovery_dir)
    twins = (suite.results.groupby("scenario")["seed"].nunique() if suite is not None else pd.Series(dtype=int))
    enough = recovery_study.results["seed"].nunique() if recovery_study is not None else 1  # a suite under way must catch up
    if all(twins.get(s, 0) >= enough for s in (NULL_SCENARIO, REALISTIC_SCENARIO)):
        by = dict(tuple(suite.results.groupby("scenario")))
        null = question_calibration(by[NULL_SCENARIO]).set_index("estimand")
        realistic = _ruled_out_per_estimate(by[REALISTIC_SCENARIO], columns[3:])
        rates = null[columns[:3]].join(realistic, how="outer")
        source = (f"the calibration suite ({int(null['twins'].max())} twins of `{NULL_SCENARIO}` and "
                  f"{by[REALISTIC_SCENARIO]['seed'].nunique()} of `{REALISTIC_SCENARIO}`, {suite.progress})")
        enough = int(twins[[NULL_SCENARIO, REALISTIC_SCENARIO]].min())  # a companion as large as the suite
    elif recovery_study is None:
        return None, ""
    else:
        table = question_calibration(recovery_study.results).set_index("estimand")
        table = table[columns[:3]].join(_ruled_out_per_estimate(recovery_study.results, columns[3:]), how="outer")
        scenarios = ", ".join(f"`{s}`" for s in recovery_study.results["scenario"].unique())
        rates, source = table[columns], (f"the recovery study ({recovery_study.results['seed'].nunique()} twins of {scenarios}, kinder than "
                                         "real blood data; the calibration suite has not been run that far)")
    return _fill_false_supported(rates, source, read_saved(madrs_dir), enough, columns[:3])


def _ruled_out_per_estimate(results: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """False "ruled out" per estimate (:func:`calibration_table`, by family)
    for each estimand of ``results``: the page counts ruled-out estimates,
    and a question is answered ruled out only when all of them are."""
    table = calibration_table(results).set_index("family")
    estimands = list(results["estimand"].unique())
    return pd.DataFrame([table.loc[lookup(e).family, columns].to_numpy() for e in estimands], columns=columns,
                        index=pd.Index(estimands, name="estimand"))


def _fill_false_supported(rates, source, study, enough, columns):
    """``rates`` with false "supported" filled, for the questions that had
    no null twin, from a study of null twins (``study``, as
    :func:`ketamine_nif.sweep.read_saved` gives it) with at least ``enough``
    twins; ``source`` says so."""
    if study is None or study.results["seed"].nunique() < enough:
        return rates, source
    table = question_calibration(study.results).set_index("estimand")
    filled = [e for e in table.index if pd.notna(table.loc[e, columns[0]]) and pd.isna(rates[columns[0]].get(e, np.nan))]
    if not filled:
        return rates, source
    rates = rates.reindex(rates.index.union(filled, sort=False))
    rates.loc[filled, columns] = table.loc[filled, columns].to_numpy()
    questions, scenarios = (", ".join(f"`{v}`" for v in values) for values in (filled, study.results["scenario"].unique()))
    return rates, (f"{source}; false \"supported\" of {questions} from {int(table['twins'].max())} twins of "
                   f"{scenarios}, where it is null ({study.progress})")


# ---------------------------------------------------------------- values under the detection limit


def below_limit_share(data) -> pd.Series:
    """Per marker, the share of its values under the detection limit (prepared data)."""
    return pd.Series(data.nif_censored).groupby(np.asarray(data.markers)[data.nif_marker]).mean()


def join_methods(estimates_by_method: dict[str, pd.DataFrame], truth: pd.DataFrame,
                 markers: list[str] | None = None) -> pd.DataFrame:
    """Each treatment's estimates joined to the truth (:func:`ketamine_nif.estimates.recovery`):
    one row per method x marker x visit, with the error of the log ratio (``log_error``)."""
    joined = pd.concat([recovery(table, truth).assign(method=method) for method, table in estimates_by_method.items()],
                       ignore_index=True)
    if markers is not None:
        joined = joined[joined["marker"].isin(markers)]
    return joined.assign(log_error=np.log(joined["mean"]) - np.log(joined["truth"]))


def lod_bias_replicate(*, seed: int, scenario: str = "planted-effects", markers: list[str] | None = None,
                       draws: int = 1000, tune: int | None = None, chains: int = 4, sampler: str = "pymc") -> pd.DataFrame:
    """One replicate of the study of values under the detection limit: a twin
    of ``scenario`` with this seed, the aim 1 model fitted to ``markers`` with
    each treatment of values under the limit (censored likelihood, LOD/2,
    LOD/sqrt(2) substituted), the ratios joined to the truth (:func:`join_methods`)
    with each marker's share under the limit. Run many with
    ``ketamine-nif sweep sweeps/lod-bias.yaml``."""
    twin = simulate(scenario, seed=seed)
    with tempfile.TemporaryDirectory() as folder:
        data = prepare(load_dataset(twin.write(folder)), markers=markers)
    rope = load_analysis().rope(NIF_CHANGE_RATIO)
    by_method = {}
    for offset, method in enumerate(BELOW_LOD, start=1):
        settings = SamplerSettings(sampler=sampler, draws=draws, tune=tune or draws, chains=chains, seed=seed * 100 + offset)
        result = fit(build_nif_trajectory_model(data, below_lod=method), settings, f"nif-{method}")
        by_method[method] = summarise(result.idata, NIF_CHANGE_RATIO, rope, result.diagnostics.converged)
    joined = join_methods(by_method, twin.truth, data.markers)
    return joined.assign(censored_share=joined["marker"].map(below_limit_share(data))).drop(columns=["subgroup"])


def paired_differences(errors: pd.DataFrame, reference: str = "censored") -> pd.DataFrame:
    """Each method against ``reference`` on the same estimates (same data,
    marker, visit and seed): mean difference of the error and of the absolute
    error of the log ratio, with their standard errors."""
    keys = [k for k in ("seed", "marker", "visit") if k in errors]
    wide = errors.pivot_table(index=keys, columns="method", values="log_error")
    rows = []
    for method in wide.columns:
        if method == reference:
            continue
        diff = wide[method] - wide[reference]
        abs_diff = wide[method].abs() - wide[reference].abs()
        n = int(diff.notna().sum())
        rows.append({"method": method, "against": reference, "estimates": n,
                     "error_difference": float(diff.mean()), "se": float(diff.std(ddof=1) / np.sqrt(n)),
                     "abs_error_difference": float(abs_diff.mean()), "abs_se": float(abs_diff.std(ddof=1) / np.sqrt(n))})
    return pd.DataFrame(rows)


COVERAGE_BAND = (0.90, 0.99)  # nominal 95% intervals should cover the truth this often over a study
FALSE_DETECTION_LIMIT = 0.05  # the decision rule should detect a null effect at most this often


MNAR_SCENARIOS = ("mnar-dropout", "mnar-control")  # sweeps/recovery-mnar.yaml: dropout not at random, and the same twins at random


def missing_not_at_random_sentence(results: pd.DataFrame, estimand: str = MADRS_CHANGE_DIFFERENCE,
                                   scenarios: tuple[str, str] = MNAR_SCENARIOS) -> str:
    """What dropout not at random costs an estimate, from a study of twins of
    two scenarios (``scenarios``: dropout not at random, and its control, the
    same twins with dropout completely at random): per visit, the bias and
    coverage of ``estimand`` under each, and the difference of the biases
    paired by twin (the seeds both hold) with its Monte Carlo error; the
    share of each arm's ratings missing where the results record it. The
    first scenario's strength is read from its file."""
    mnar_name, control_name = scenarios
    rows = results[(results["estimand"] == estimand) & results["scenario"].isin(scenarios)]
    seeds = set(rows.loc[rows["scenario"] == mnar_name, "seed"]) & set(rows.loc[rows["scenario"] == control_name, "seed"])
    rows = rows[rows["seed"].isin(seeds)]
    if rows.empty:
        return ""
    odds = np.exp(float(load_scenario(mnar_name)["missingness"].get("dropout_unobserved") or 0.0))
    mnar, control = (rows[rows["scenario"] == name].set_index(["seed", "visit"]) for name in scenarios)
    error = (mnar["mean"] - mnar["truth"]).rename("mnar").to_frame().join((control["mean"] - control["truth"]).rename("control"))
    table = []
    for visit, g in error.groupby(level="visit", sort=False):
        seed = g.index.get_level_values("seed").to_series()
        extra, extra_se = _clustered(g["mnar"] - g["control"], seed)
        table.append({"visit": visit, "bias": g["mnar"].mean(), "reference": g["control"].mean(), "extra": extra,
                      "extra_se": extra_se, "coverage": mnar.xs(visit, level="visit")["covered"].astype(bool).mean()})
    t = pd.DataFrame(table)
    missing = ""
    if "madrs_missing_treatment" in rows:
        last = t["visit"].iloc[-1]
        share = {name: rows[(rows["scenario"] == name) & (rows["visit"] == last)][
            ["madrs_missing_treatment", "madrs_missing_reference"]].mean().mean() for name in scenarios}
        missing = (f"; at {last} {100 * share[mnar_name]:.0f}% of the ratings missing, against "
                   f"{100 * share[control_name]:.0f}% with dropout at random")
    text = (f"On {len(seeds)} twins of `{mnar_name}` (odds of leaving × {odds:.1f} per 10 points of the rating the "
            f"participant would have had{missing}), the estimate ({lookup(estimand).label}) is off by "
            f"{spread(t['bias'], sign=True)} points on average per visit, and its 95% intervals "
            f"cover the truth in {spread(t['coverage'], between='-', percent=True)} of twins. On the same "
            f"twins with dropout at random (`{control_name}`) it is off by {spread(t['reference'], sign=True)} points, ")
    beyond = t[t["extra"].abs() > 2 * t["extra_se"]]
    if beyond.empty:
        return text + (f"so dropout not at random of this strength moves the estimate by less than the study can measure "
                       f"(twice the Monte Carlo error of the paired difference, at most {2 * t['extra_se'].max():.2f} points).")
    return text + "so dropout not at random of this strength moves the estimate by " + ", ".join(
        f"{r.extra:+.2f} points at {r.visit}" for r in beyond.itertuples()) + " (more than twice its Monte Carlo error)."


def recovery_sentence(summary: pd.DataFrame) -> str:
    """What :func:`recovery_summary` says: estimands whose coverage leaves
    :data:`COVERAGE_BAND`, whose null effects are detected more often than
    :data:`FALSE_DETECTION_LIMIT`, whose fits failed the checks; and how often
    the planted effects were detected."""
    from .reporting import join_words

    low, high = COVERAGE_BAND
    outside = summary[(summary["coverage"] < low) | (summary["coverage"] > high)]
    rate = summary["false_detections"] / summary["nulls"].where(summary["nulls"] > 0)
    leaky = summary[rate > FALSE_DETECTION_LIMIT]
    unconverged = summary[summary["converged"] < 1]
    planted = summary[summary["planted"] > 0]
    text = (f"Coverage of the 95% intervals lies between {100 * low:.0f}% and {100 * high:.0f}% for every estimand"
            if outside.empty else
            "**Coverage leaves the band from {:.0f}% to {:.0f}% for {}**".format(
                100 * low, 100 * high, join_words(f"{r.estimand} ({100 * r.coverage:.0f}%)" for r in outside.itertuples())))
    text += ("." if rate.isna().all() else  # every effect planted: no null to detect falsely
             f", and null effects are detected at most {100 * rate.max():.1f}% of the time (the rule allows "
             f"{100 * FALSE_DETECTION_LIMIT:.0f}%)." if leaky.empty else
             ". **Null effects are detected more often than the rule allows** ({:.0f}%) for {}.".format(
                 100 * FALSE_DETECTION_LIMIT, join_words(f"{r.estimand} ({100 * x:.1f}%)" for r, x in zip(
                     leaky.itertuples(), rate[leaky.index], strict=True))))
    if len(planted):
        text += " The planted effects, of the size a reader cares about, were detected in their direction in " + join_words(
            f"{100 * r.detected_planted:.0f}% of the twins for {r.estimand}" for r in planted.itertuples()) + "."
    if len(unconverged):
        text += f" Some fits of {join_words(unconverged['estimand'])} failed the convergence checks at these settings."
    return text


SUMMARY_COLUMNS_TEXT = (
    "Per estimand: replicates (twins), estimates, the share of them from fits that passed the convergence checks, "
    "coverage of the 95% intervals, mean error (bias) and root mean square error on the estimand's scale, planted "
    "effects and the share detected in their direction, and detections of effects that were not planted (out of the "
    "null estimates).")


def study_source(study, folder: str, sweep_file: str, cost: str) -> str:
    """How a saved study (:func:`ketamine_nif.sweep.read_saved`) was made, or,
    when it is missing (None), how to make it (``cost``: its time, in words)."""
    if study is None:
        return f"**The study's results are missing** ({folder}). Run `.venv/bin/ketamine-nif sweep {sweep_file}` ({cost})."
    fixed = study.spec.get("fixed", {})
    return (f"Made by `{study.command}` ({study.progress}; every model with {fixed.get('chains', '?')} chains × "
            f"{fixed.get('draws', '?')} draws).")


def calibration_by_scenario(results: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """The calibration of the rule's verdicts per estimate in each scenario
    of a study's results (:func:`calibration_table` in
    :func:`calibration_display`'s form), one table under the other, and
    what each says (:func:`calibration_sentence`); the page's answers per
    question: :func:`answer_calibration`."""
    tables = {scenario: calibration_table(g) for scenario, g in results.groupby("scenario", sort=False)}
    shown = pd.concat([calibration_display(t).assign(scenario=scenario) for scenario, t in tables.items()], ignore_index=True)
    text = " ".join(calibration_sentence(t, scenario, "family") for scenario, t in tables.items())
    return shown[["scenario", *shown.columns.drop("scenario")]], text


def answer_calibration(results: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """The summary page's answers judged on simulated trials
    (:func:`question_calibration`, per scenario), under the book's rule and,
    for comparison, with each estimate judged alone (``multiplicity: none``):
    the table (a ``rule`` column), what the book's rule gives
    (:func:`calibration_sentence`) and what the adjustment buys and costs."""
    from .summary import MULTIPLICITY

    rules = {MULTIPLICITY: "the book's" if MULTIPLICITY == "none" else f"the book's ({MULTIPLICITY})"}
    if MULTIPLICITY != "none":
        rules["none"] = "each estimate alone"
    tables = {(scenario, rule): question_calibration(g, rule)
              for rule in rules for scenario, g in results.groupby("scenario", sort=False)}
    shown = pd.concat([question_display(t).assign(scenario=scenario, rule=rules[rule]) for (scenario, rule), t in tables.items()],
                      ignore_index=True)
    shown = shown[["scenario", "rule", *shown.columns.drop(["scenario", "rule"])]]
    text = " ".join(calibration_sentence(t, scenario, "estimand") for (scenario, rule), t in tables.items() if rule == MULTIPLICITY)
    if len(rules) > 1:
        book = pd.concat([t for (_, rule), t in tables.items() if rule == MULTIPLICITY], ignore_index=True)
        alone = pd.concat([t for (_, rule), t in tables.items() if rule == "none"], ignore_index=True)
        text += (f" Judged estimate by estimate instead, the page would have answered a question with no effect "
                 f"\"supported\" in up to {100 * alone['false supported'].max():.0f}% of trials (under the book's rule "
                 f"at most {100 * book['false supported'].max():.0f}%); the adjustment costs up to "
                 f"{100 * (alone['power'] - book['power']).max():.0f} percentage points of the power to find a planted effect.")
    return shown, text


def upper_bound(errors: int, trials: int, level: float = 0.95) -> float:
    """The exact (Clopper-Pearson) one-sided upper confidence bound of a
    rate seen ``errors`` times in ``trials``: what 0 of 100 still allows."""
    from scipy import stats

    return 1.0 if errors >= trials else float(stats.beta.ppf(level, errors + 1, trials - errors))


def question_display(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`question_calibration` for a reader: each rate as a percentage
    with its Monte Carlo error and the number of twins it rests on; the
    error rates also with their 95% upper bound (0 of 100 is not 0%)."""
    shown = table[["estimand", "twins", "estimates per twin"]].rename(columns={"estimand": "question (estimand)"})
    for column in (*RATES[1:], "null named"):
        cells = [_rate_cell(row, column) for _, row in table.iterrows()]
        if column.startswith("false"):
            cells = [cell if cell == "-" else
                     f"{cell}, at most {100 * upper_bound(round(row[column] * row[f'{column} n']), int(row[f'{column} n'])):.1f}%"
                     for cell, (_, row) in zip(cells, table.iterrows(), strict=True)]
        shown[column] = cells
    return shown


def show_calibration(folder: str, sweep_file: str, cost: str):
    """A chapter's view of a saved calibration study: the calibration of the
    verdicts per scenario and family (:func:`calibration_by_scenario`), how
    it was made and what it says; or, when it has not been run, how to run
    it (``cost``: its time, in words). The table comes first, so that a
    labelled cell's caption is the table's. Returns the study (None when
    missing)."""
    from .contract import Study
    from .reporting import say, show_table, speaking_for
    from .sweep import read_saved

    study = read_saved(folder)
    with speaking_for(Study()):
        if study is not None:  # the table first: a cell's table caption goes with its first Markdown output
            table, text = calibration_by_scenario(study.results)
            show_table(table)
        say(study_source(study, folder, sweep_file, cost))
        if study is not None:
            say(text)
    return study


def show_study(folder: str, sweep_file: str, cost: str, by: tuple[str, ...] = ("estimand",), error: str = "error",
               explain: bool = True):
    """A chapter's view of a saved study against the truth: how it was made,
    the table of :func:`recovery_summary` (grouped ``by``) and, per estimand,
    :func:`recovery_sentence`; or, when it has not been run, how to run it
    (``cost``: its time, in words). Returns the study (None when missing).
    The studies simulate this trial, so they are shown in its names whatever
    data the chapter reports on."""
    from .contract import Study
    from .reporting import speaking_for

    with speaking_for(Study()):
        return _show_study(folder, sweep_file, cost, by, error, explain)


def _show_study(folder, sweep_file, cost, by, error, explain):
    from .reporting import say, show_table
    from .sweep import read_saved

    study = read_saved(folder)
    say(study_source(study, folder, sweep_file, cost) + (f" {SUMMARY_COLUMNS_TEXT}" if explain and study else ""))
    if study is None:
        return None
    summary = recovery_summary(study.results, by, error)
    show_table(summary, digits=3)
    if tuple(by) == ("estimand",):
        say(recovery_sentence(summary))
    return study

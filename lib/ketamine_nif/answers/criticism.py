"""Chapter 08's sentences (model criticism): the variants' slope prior, the
posterior predictive checks, the leave-one-participant-out comparison, prior
sensitivity, the treatments of values under the detection limit, and
simulation-based calibration. A sentence judged on fits that failed their
convergence checks starts by saying so (:func:`not_a_finding`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from ..checks import share_inside
from ..criticism import ARM_EFFECTS, BOOK, PERSON_SLOPES, STUDENT, Variant, difference_se
from ..recovery import paired_differences
from ..reporting import join_words, spread

CLEAR_ELPD = 4  # an elpd difference counts as clear above this and above twice its SE
RELIABLE_SHARE_K = 0.05  # PSIS-LOO is read as reliable when at most this share of participants has Pareto k > 0.7
CLEAR_MISFIT = 0.05  # treatments differ when their shares of points outside the band differ by more than this
SBC_BAND_MISS = 0.05  # the chance that a calibrated parameter's rank ECDF leaves its 95% simultaneous band
NEAR_ZERO_SPREAD = 0.25  # a between-person SD under this multiple of the occasion-to-occasion SD is "near zero"


def not_a_finding(diagnostics: Iterable) -> str:
    """'' when every fit passed its checks; else a sentence (with a trailing
    space) naming the fits that did not."""
    failed = [d.model for d in diagnostics if not d.converged]
    if not failed:
        return ""
    fits = f"the fit {failed[0]}" if len(failed) == 1 else f"the fits {join_words(failed)}"
    return (f"**Not a finding**: {fits} did not pass the convergence checks (see above), so what follows describes "
            "unreliable posteriors. ")


def slope_prior(visit_days: Sequence[float], slope_scale: float) -> str:
    """What the prior scale of the person-level slopes allows by the last visit."""
    last_day = float(visit_days[-1])
    return (f"The visits fall {join_words(f'{d:.1f}' for d in visit_days[1:])} days after the infusion. The prior scale of "
            f"$\\omega_m$ is {slope_scale:g} per day: one SD of slopes then moves a person's level by a factor of up to "
            f"about {np.exp(slope_scale * last_day):.1f} by day {last_day:.0f}, more than short-term biological variation "
            "should.")


def distribution_check(outside: pd.Series, diagnostics: Iterable = ()) -> str:
    """From ``criticism.share_outside`` (share of points outside the band per
    (treatment, marker) panel): the share per treatment, averaged over markers,
    the worst panel, and which treatment reproduces the reported distribution
    better (when they differ by more than :data:`CLEAR_MISFIT`)."""
    by_treatment = outside.groupby(level=0, sort=False).mean()
    worst_treatment, worst_marker = outside.idxmax()
    text = (
        "Share of evaluation points where the observed distribution leaves the 90% band of replicated ones, averaged "
        "over markers: " + join_words(f"{100 * v:.0f}% with the {k} treatment" for k, v in by_treatment.items())
        + f" (worst panel: {worst_marker} ({worst_treatment}), {100 * outside.max():.0f}%). "
    )
    better = by_treatment.idxmin()
    if by_treatment.max() - by_treatment.min() <= CLEAR_MISFIT:
        text += ("The two" if len(by_treatment) == 2 else "They") + " reproduce the reported distribution about equally well."
    elif better == "censored":
        text += ("The censored treatment reproduces the reported distribution better: a model fitted to values "
                 "substituted at half the limit learns a distribution that reaches too far down, so its replicates pile "
                 "too many values up at the limit.")
    else:
        text += f"The {better} treatment reproduces the reported distribution better."
    return not_a_finding(diagnostics) + text


def mean_checks(nif: pd.DataFrame, outcome: pd.DataFrame, diagnostics: Iterable = ()) -> str:
    """The share of cells whose observed mean lies in the 90% range of
    replicated means (``checks.nif_check``, ``checks.outcome_check``)."""
    return not_a_finding(diagnostics) + (
        f"The observed mean lies within the 90% range of replicated means in {100 * share_inside(nif):.0f}% of the {len(nif)} "
        f"marker × arm × visit cells of the aim 1 model and in {100 * share_inside(outcome):.0f}% of the {len(outcome)} arm × "
        "visit cells of the outcome model (about 90% is expected when a model describes the data). The coupling and "
        "moderation models of aims 2 and 3 carry the same outcome model and the aim 1 trajectories; their own predictive "
        "checks are in their chapters."
    )


def loo_comparison(table: pd.DataFrame, elpd: dict, diagnostics: Iterable = (), book: Variant = BOOK,
                   student: Variant = STUDENT, slopes: Variant = PERSON_SLOPES) -> str:
    """The leave-one-participant-out comparison (``criticism.comparison_table``
    of the ``elpd`` per variant label): the best variant, those clearly worse,
    how reliable PSIS is, and what Student-t noise and person-level slopes
    change against the book's model."""
    best = table.index[0]
    worse = -table["elpd_diff"]  # elpd_diff < 0: worse than the best
    clear = table[(worse > CLEAR_ELPD) & (worse > 2 * table["dse"])]
    share_k = float(table["share_k_over_0.7"].max())
    student_change = elpd[student.label].elpd - elpd[book.label].elpd
    slopes_change = elpd[slopes.label].elpd - elpd[book.label].elpd
    slopes_se = difference_se(elpd[slopes.label], elpd[book.label])
    heavier = student.label not in clear.index and best == student.label and student_change > CLEAR_ELPD
    own_courses = slopes_change > CLEAR_ELPD and slopes_change > 2 * slopes_se
    return not_a_finding(diagnostics) + (
        f"The best-predicting variant (the highest expected log predictive density) is **{best}**; the stacking weights "
        "reward what a variant adds to the others, so of two nearly tied variants one can get little weight. "
        + (f"Clearly worse (difference > {CLEAR_ELPD} and more than twice its SE): {join_words(clear.index)}. " if len(clear)
           else f"No variant is clearly worse (every difference is under {CLEAR_ELPD} or within two SEs). ")
        + (f"At most {100 * share_k:.0f}% of participants have Pareto k > 0.7 " if share_k > 0
           else "No participant has Pareto k > 0.7 ")
        + ("(reliable estimates). " if share_k <= RELIABLE_SHARE_K else "(read the comparison with care). ")
        + f"Student-t noise changes the elpd by {student_change:+.1f} against normal noise: "
        + ("the data ask for heavier tails than the book's model has. " if heavier
           else "the book's normal model is adequate for these markers. ")
        + f"Person-level slopes change it by {slopes_change:+.1f} (SE of the difference {slopes_se:.1f}): "
        + ("participants' own courses after the infusion differ more than the book's model allows, and its intervals "
           "may be too narrow." if own_courses else
           "participants do not need courses of their own to predict new participants; the book's simpler model, whose "
           "arm effects are the report's estimands, loses nothing.")
    )


def prior_sensitivity(sensitivity: pd.DataFrame, ratio_tables: dict[str, pd.DataFrame], factor: float,
                      diagnostics: Iterable = ()) -> str:
    """What power-scaling flags (``criticism.power_scaling``) and how far the
    ratios' posterior means move when the arm-effect priors are ``factor``
    times wider or narrower (``ratio_tables``: "book" first, then the refits)."""
    flagged = sensitivity[sensitivity["diagnosis"] != "✓"] if "diagnosis" in sensitivity else sensitivity.iloc[0:0]
    book = np.log(ratio_tables["book"]["mean"].to_numpy())
    shift = max(float(np.abs(np.log(t["mean"].to_numpy()) - book).max()) for w, t in ratio_tables.items() if w != "book")
    return not_a_finding(diagnostics) + (
        ("Power-scaling flags no parameter. " if flagged.empty else
         f"Power-scaling flags {join_words(flagged.index)} ({join_words(sorted(set(flagged['diagnosis'])))}). "
         + ("The arm effects' sceptical prior is meant to matter where a marker's data say little, so such a flag is "
            "expected. " if all(str(k).startswith(f"{ARM_EFFECTS}[") for k in flagged.index) else
            "A flag on a prior other than the arm effects' means that prior, not only the data, shapes those "
            "parameters. "))
        + "What matters for the conclusions is the ratios, and there the refits answer directly: with the arm-effect priors "
        f"{factor:g} times wider or narrower, the posterior mean ratios move by at most a factor of "
        f"{np.exp(shift):.2f} (@fig-criticism-prior-refits)."
    )


def _accuracy(row) -> str:
    if abs(row.abs_error_difference) <= 2 * row.abs_se:
        return (f"{row.method} is as accurate as the censored likelihood (difference in absolute error "
                f"{row.abs_error_difference:+.3f}, SE {row.abs_se:.3f})")
    word = "less" if row.abs_error_difference > 0 else "more"
    return f"{row.method} is {word} accurate (absolute error {row.abs_error_difference:+.3f}, SE {row.abs_se:.3f})"


def lod_here(has_truth: bool) -> str:
    """What the table of this data set's treatments of values under the limit shows, or why there is none."""
    if not has_truth:
        return "These data carry no `truth.csv` (real data), so the comparison with the truth rests on the saved study below."
    return ("On this data set (one twin; its `truth.csv` holds the true ratios), per treatment and marker: mean error of the "
            "log ratio over the post-infusion visits (bias), its root mean square, and the share of 95% intervals covering "
            "the truth.")


def _unconverged_fits(errors: pd.DataFrame) -> str:
    """Like :func:`not_a_finding`, for the fits behind ``errors`` (one per
    method [and seed]; a fit failed when any of its rows has ``converged``
    False): '' when every fit passed or the rows carry no ``converged``."""
    if "converged" not in errors:
        return ""
    passed = errors.groupby([k for k in ("seed", "method") if k in errors])["converged"].all()
    failed = int((~passed.astype(bool)).sum())
    if not failed:
        return ""
    fits = ("the fit" if len(passed) == 1 else f"all {len(passed)} fits" if failed == len(passed)
            else f"{failed} of the {len(passed)} fits")
    return (f"**Not a finding**: {fits} behind these errors did not pass the convergence checks (see the tables above), "
            "so what follows describes unreliable posteriors. ")


def lod_comparison(errors: pd.DataFrame) -> str:
    """Each substitution against the censored likelihood on the same estimates
    (``errors``: method, marker, visit, [seed,] truth, log_error[, converged]):
    accuracy, the shift where an effect is planted, and the size of the error
    itself; after :func:`_unconverged_fits`' caveat where fits failed their
    checks."""
    paired = paired_differences(errors)
    planted_rows = errors[~np.isclose(errors["truth"], 1.0)]
    planted = ""
    if len(planted_rows):
        shifts = paired_differences(planted_rows).set_index("method")
        planted = (" Where an effect is planted (and the share under the limit therefore differs between the arms), "
                   "the substitutions move the estimate by "
                   + join_words(f"{r.error_difference:+.3f} (SE {r.se:.3f}) with {m}" for m, r in shifts.iterrows())
                   + " on the log scale relative to the censored likelihood.")
    rmse = float(np.sqrt((errors.loc[errors["method"] == "censored", "log_error"] ** 2).mean()))
    return _unconverged_fits(errors) + (
        "Judged against the truth, " + join_words(_accuracy(r) for r in paired.itertuples()) + "." + planted
        + f" At this trial's size the differences are small next to the estimation error itself (RMSE {rmse:.3f} on the "
        "log scale with the censored likelihood), so the choice does not decide the report's conclusions. The book keeps "
        "the censored likelihood: it needs no invented values, it is the likelihood of what was actually observed (the "
        "yardstick on which all variants were scored in @sec-criticism-loo), and it does not assume how far under the "
        "limit the true values lie, which a fixed substitute does (LOD/√2 happens to suit these twins' log-normal "
        "markers, where a quarter to two fifths of values fall under the limit; it would not suit every assay)."
    )


def sbc_source(study, folder: str, sweep_file: str = "sweeps/sbc.yaml",
               cost: str = "about 5 s per replicate and core, compilations included, as measured at the trial's size") -> str:
    """Where the SBC results come from (``sweep.read_saved``), or how to make
    them when they are missing (None): ``.venv/bin/ketamine-nif sweep sweep_file``, ``cost``."""
    if study is None:
        return f"**The SBC results are missing** ({folder}). Run `.venv/bin/ketamine-nif sweep {sweep_file}` ({cost})."
    participants = study.spec.get("fixed", {}).get("participants") or (
        study.results["participants"].iloc[0] if "participants" in study.results else "an unrecorded number of")
    return (f"{study.results['seed'].nunique():,} replicates of {participants} participants, made by `{study.command}` "
            f"({study.progress}).")


def show_sbc(study, seed: int, level: str = "mu", left_out: int | None = None) -> None:
    """A chapter's table (``criticism.sbc_summary``) and sentences
    (:func:`sbc_calibration`, :func:`sbc_wholly_censored`) of a saved SBC
    study; nothing when it is missing (:func:`sbc_source` says so).
    ``left_out``: the book leaves the censored marker out of this model where
    fewer than this many of its values are above the limit (aim 3: one
    baseline sample per participant), so the table and the first sentences
    are of the other replicates, and :func:`sbc_left_out` says how the rest fared."""
    from ..criticism import sbc_summary
    from ..reporting import say, show_table

    if study is None:
        return
    scarce = _left_out_rows(study, level, left_out)
    table = sbc_summary(study.results[~scarce], seed=seed)
    show_table(table, digits=3)
    say(sbc_calibration(study.results[~scarce], table, level=level) + (
        sbc_wholly_censored(study.results, seed, level) if left_out is None else
        sbc_left_out(study.results, scarce, seed, left_out)))


def sbc_used(study, level: str = "mu", left_out: int | None = None) -> pd.DataFrame | None:
    """The SBC rows a chapter judges a model on (:func:`show_sbc`): all of
    them, or, with ``left_out``, those of the replicates whose censored marker
    has at least that many values above its limit; None when the study is missing."""
    return None if study is None else study.results[~_left_out_rows(study, level, left_out)]


def _left_out_rows(study, level: str, left_out: int | None) -> pd.Series:
    """The rows of a saved SBC study whose censored marker has fewer than
    ``left_out`` values above its limit (one per participant, as in the aim 3
    model's design: ``criticism.scarcely_above_limit``); none without ``left_out``."""
    from ..criticism import scarcely_above_limit

    if left_out is None:
        return pd.Series(False, index=study.results.index)
    return scarcely_above_limit(study.results, int(study.spec["fixed"]["participants"]), left_out, level)


def sbc_selected(study, level: str = "mu") -> str:
    """For an SBC study that fits only data with at least ``min_above``
    values of the censored marker above its limit (its sweep's setting;
    ``criticism.outcome_sbc_replicate``): how many of the data sets drawn
    were fitted, and how many values above the limit the fitted ones had;
    '' for a study without that rule or none saved."""
    from ..criticism import values_above_limit

    minimum = 0 if study is None else int(study.spec.get("fixed", {}).get("min_above", 0))
    if not minimum:
        return ""
    drawn = int(study.summary.get("finished_runs", study.summary.get("runs", 0)))
    fitted = study.results["seed"].nunique()
    above = values_above_limit(study.results, int(study.spec["fixed"]["participants"]), level)
    return (f"Of the {drawn:,} data sets drawn, the {fitted:,} whose censored marker had at least {minimum} values above "
            f"its limit were fitted (a rule on the data alone, which keeps their ranks uniform under calibration); they "
            f"had {spread(above, 0)} values above it, a quarter of them {above.quantile(0.25):.0f} or fewer.")


def _outside_model_band(rows: pd.DataFrame, seed: int) -> pd.Series:
    """The parameters of SBC ``rows`` whose rank ECDF leaves the model's band."""
    from ..criticism import sbc_summary

    table = sbc_summary(rows, seed=seed)
    return table.loc[table["outside_model_band"], "parameter"]


def _divergent_fits(rows: pd.DataFrame) -> int:
    return int((rows.groupby("seed")["divergences"].first() > 0).sum())


def _how_many_diverged(rows: pd.DataFrame, whose: str = "their") -> str:
    """'its fit diverged', 'both fits diverged', '5 of their 20 fits diverged'
    (SBC ``rows`` of one or more replicates; ``whose`` their or those)."""
    n, divergent = rows["seed"].nunique(), _divergent_fits(rows)
    if n == 1:
        return "its fit diverged" if divergent else "its fit did not diverge"
    if divergent == n:
        return "both fits diverged" if n == 2 else f"all {n} fits diverged"
    return f"{divergent} of {whose} {n} fits diverged"


def sbc_wholly_censored(results: pd.DataFrame, seed: int, level: str = "mu") -> str:
    """How the replicates whose censored marker lay wholly under its limit
    (``criticism.wholly_censored``) fared: their divergent fits, and which
    parameters leave the model's band with and without them (a split by the
    data alone keeps the ranks uniform on each side); '' when there were none."""
    from ..criticism import wholly_censored

    if "censored_share" not in results:
        return ""
    censored = wholly_censored(results, level)
    them = results[censored]
    n = them["seed"].nunique()
    if not n:
        return ""
    rest, everything = _outside_model_band(results[~censored], seed), _outside_model_band(results, seed)
    text = (f" {n:,} of the {results['seed'].nunique():,} replicates had every value of the censored marker under its "
            f"limit; {_how_many_diverged(them)}. "
            f"Without {'it' if n == 1 else 'them'} (a split by the data alone, which keeps the ranks uniform on each "
            "side), ")
    if len(rest):
        return text + f"{join_words(rest)} still {'leaves' if len(rest) == 1 else 'leave'} the model's band."
    if everything.empty:
        return text + "no parameter leaves the model's band either."
    return text + (f"no parameter leaves the model's band: {join_words(everything)} {'leaves' if len(everything) == 1 else 'leave'} "
                   f"it only with them.{_missed_silently(them, everything)} The book reports no estimate of such a marker "
                   "(`ketamine_nif.identifiability`), but fits it beside the others, where a divergent fit makes every "
                   "estimate of that fit unreliable.")


def sbc_left_out(results: pd.DataFrame, scarce: pd.Series, seed: int, minimum: int) -> str:
    """For a model that leaves out a censored marker with fewer than
    ``minimum`` values above its limit (aim 3): how many replicates had such
    data (``scarce``, a row mask), that the sentences before were of the
    others, and how the rest fared: divergent fits, parameters that leave
    the model's band only with them and the truths beyond every draw; ''
    when there were none."""
    them = results[scarce]
    n = them["seed"].nunique()
    if not n:
        return ""
    text = (f" {n:,} of the {results['seed'].nunique():,} replicates had fewer than {minimum} values of the censored "
            "marker above its limit: data on which the book leaves that marker out of this model "
            f"(`ketamine_nif.models.moderation_data`), so the table and the sentences above are of the other "
            f"{results.loc[~scarce, 'seed'].nunique():,} (a split by the data alone, which keeps their ranks uniform "
            "under calibration). " + _how_many_diverged(them, "those").capitalize())
    rest, everything = _outside_model_band(results[~scarce], seed), _outside_model_band(results, seed)
    new_here = everything[~everything.isin(rest)]
    if new_here.empty:
        return text + (f", and no parameter leaves the model's band with {'it' if n == 1 else 'them'}. The rule is about what "
                       "such data can say: so few values above the limit leave the SD that is a moderation's unit to its "
                       "prior" + (", and a fit that diverges fails the book's convergence checks." if _divergent_fits(them)
                                  else "."))
    return text + (f", and with {'it' if n == 1 else 'them'} {join_words(new_here)} {'leaves' if len(new_here) == 1 else 'leave'} "
                   f"the model's band.{_missed_silently(them, new_here)} That is why the book does not fit such a marker here.")


def _missed_silently(rows: pd.DataFrame, parameters: Iterable[str]) -> str:
    """Of SBC ``rows`` (one study's replicates), for each of ``parameters``:
    the fits whose true value lay beyond every posterior draw (rank 0 or
    the number of draws), against the count a calibrated posterior gives by
    chance, and how many of those fits had no divergence: a sampler that
    never reaches part of a posterior need not warn."""
    sentences = []
    for name in parameters:
        own = rows[rows["parameter"] == name]
        beyond = own[(own["rank"] == 0) | (own["rank"] == own["draws"])]
        if beyond.empty:
            continue
        quiet = int((beyond["divergences"] == 0).sum())
        expected = float((2 / (own["draws"] + 1)).sum())
        n = len(beyond)
        if quiet:
            tail = (f"{'that fit' if n == 1 else f'{quiet} of these {n} fits'} without a divergence: a sampler can miss "
                    "part of such a posterior without a warning.")
        else:
            tail = "that fit with divergences." if n == 1 else f"each of these {n} fits with divergences."
        sentences.append(f" In {n} of them the true {name} lay beyond every posterior draw (a calibrated posterior "
                         f"would put about {expected:.1f} there), {tail}")
    return "".join(sentences)


def sbc_calibration(results: pd.DataFrame, summary: pd.DataFrame, level: str = "mu") -> str:
    """From the SBC rows and ``criticism.sbc_summary``: the share censored
    (where the replicates carry one; ``level``: the model's per-marker mean
    level, which counts the markers), the parameters whose rank ECDF leaves
    its band, how many would by chance (the expected count, whatever the
    dependence between parameters) and divergent replicates."""
    from ..criticism import last_marker_under_limit

    bad = summary[summary["outside_band"]]
    replicates = results.groupby("seed")
    divergent = float((replicates["divergences"].first() > 0).mean())
    text = ""
    under = last_marker_under_limit(results, level)
    if len(under):
        text = (f"On average {100 * under.mean():.0f}% of the last marker's values fell under its fixed limit "
                f"({spread(under, between='% to ', percent=True)} across replicates). ")
    n, k = len(summary), len(bad)
    worse = summary[summary["outside_model_band"]]
    whose = "that parameter's" if len(bad) == 1 else "those parameters'"
    model_band = ("the model's band (dashed), which all of them stay inside together with probability about 95% "
                  "under perfect calibration")
    return (
        text
        + ("No parameter's rank ECDF leaves its 95% simultaneous band: no systematic miscalibration is visible at this "
           "number of replicates." if bad.empty else
           f"The rank ECDF leaves its band for {join_words(bad['parameter'])}: read "
           f"{whose} intervals with care.")
        + f" {_percent(divergent)} of the replicate fits had divergent transitions (reduced settings; the book's fits are "
        f"gated on having none). With one 95% band per parameter, about {SBC_BAND_MISS * n:.1f} of these {n} parameters "
        f"would leave their band by chance under perfect calibration; {k} did. "
        + ((f"None leaves {model_band}. " + ("" if bad.empty else
           "So the parameters outside their own bands are not, taken alone, proof of miscalibration; but the model's "
           "band is wider, so it misses smaller miscalibration than each parameter's band would catch."))
           if worse.empty else
           f"{join_words(worse['parameter'])} {'leaves' if len(worse) == 1 else 'leave'} {model_band}: the posterior is "
           "miscalibrated there beyond what chance readily explains.")
    ).rstrip()


def _percent(share: float) -> str:
    """A share in whole percent, "under 1%" where rounding would make a few cases 0%."""
    return "under 1%" if 0 < share < 0.005 else f"{100 * share:.0f}%"


def between_person_spread(posterior, diagnostics: Iterable = ()) -> str:
    """The between-person SD of each marker as a multiple of the
    occasion-to-occasion SD (posterior means of tau / sigma) in the book's fit,
    and whether any is near the corner SBC found hard (:data:`NEAR_ZERO_SPREAD`)."""
    ratio = (posterior["tau"] / posterior["sigma"]).mean(("chain", "draw")).to_series()
    near = ratio[ratio < NEAR_ZERO_SPREAD]
    text = ("In this chapter's fit of the book's model the between-person SD is "
            + join_words(f"{v:.1f} times the occasion-to-occasion SD for {m}" for m, v in ratio.items()) + " (posterior means)")
    if near.empty:
        return not_a_finding(diagnostics) + text + ": far from the corner of near-zero between-person SDs."
    return not_a_finding(diagnostics) + text + (
        f": near the corner of near-zero between-person SDs for {join_words(near.index)}, where the sampler can miss the "
        "funnel of the person levels; read those markers' intervals with care.")


def estimand_names(variants: Iterable[Variant]) -> str:
    """The estimand each variant's ratios carry in estimates.csv."""
    return ("`estimates.csv` holds the ketamine/saline ratios of each variant for these markers: "
            + join_words(f"`{v.estimand}` ({v.description})" for v in variants) + ".")

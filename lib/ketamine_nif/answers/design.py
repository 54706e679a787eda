"""The sentences of the design-sensitivity chapter (``notebooks/10-design-sensitivity.py``):
which simulations are missing, where the results came from, and what the trial
could have found. Tested on exact strings in ``tests/test_answers_design.py``."""

from __future__ import annotations

import math
from collections.abc import Mapping

import pandas as pd

from ..analysis import load as load_analysis
from ..design import interpretable, replicate_settings
from ..estimands import COUPLING_WITHIN, NIF_CHANGE_RATIO, null_value
from ..reporting import join_words

# What each studied effect is, in words ({marker}, {visit} filled in from the results)
EFFECTS = {
    NIF_CHANGE_RATIO: "a ketamine effect on {marker} at {visit}",
    COUPLING_WITHIN["ketamine"]: "a within-person coupling of {marker} with depression in the ketamine arm",
}


def missing_sweeps(missing: list[str]) -> str:
    """A callout naming the sweeps not run yet and the commands that run them ('' when none is missing)."""
    if not missing:
        return ""
    commands = "\n".join(f"    ketamine-nif sweep sweeps/{name}.yaml" for name in missing)
    return (
        '::: {.callout-note title="Simulation results not available"}\n'
        f"The sweep(s) {join_words(missing)} have not been run in this project, so their curves are missing. "
        "They take hours of computing and are not part of the default build; run\n\n"
        f"{commands}\n\n"
        "(add `--workers N`, or `--scheduler tcp://HOST:PORT` for a Dask cluster), then rebuild the report.\n:::"
    )


def _made_by(saved) -> str:
    seconds = saved.summary.get("mean_seconds_per_run")
    timing = "time per fit not recorded" if seconds is None or math.isnan(seconds) else f"{seconds:.0f} s per fit on average"
    return (f"`{saved.command}` ({saved.progress}, {saved.failures} failed, {timing}, finished "
            f"{saved.summary.get('finished', 'at an unrecorded time')})")


def provenance(sweeps: Mapping, sizes: Mapping[str, int]) -> str:
    """Where the results come from: the fits, the commands that made them, each
    fit's sampling and the simulated trial's size against this edition's data
    (``sweeps``: name -> ``sweep.SavedSweep``; '' when none has been run)."""
    if not sweeps:
        return ""
    settings = {name: replicate_settings(saved.spec.get("fixed", {})) for name, saved in sweeps.items()}
    fits = sum(len(saved.results) for saved in sweeps.values())
    return (
        f"The results below come from {fits} fits in {len(sweeps)} sweep(s), made by "
        + join_words(_made_by(saved) for saved in sweeps.values())
        + ". Each fit drew "
        + join_words(f"{s['chains']} chains × {s['draws']} draws ({name})" for name, (_, s) in settings.items())
        + ". Simulated trials had "
        + join_words(f"{d['n_ketamine']} ketamine and {d['n_saline']} saline participants ({name})"
                     for name, (d, _) in settings.items())
        + f"; this edition's data have {sizes['ketamine']} and {sizes['saline']}."
    )


def smallest_sentence(estimand: str, curve: pd.DataFrame, best: Mapping, target: float) -> str:
    """What one study found: the smallest effect detected with probability
    ``target`` and its interval (or why none is given), and the false-alarm rate
    where the curve has a point at no effect."""
    first = curve.iloc[0]
    what = EFFECTS.get(estimand, estimand.replace("_", " ")).format(marker=first["marker"], visit=first.get("visit", ""))
    if pd.isna(best["effect"]):
        return (f"For {what}, the simulations do not bracket the target detection probability ({100 * target:.0f}%), "
                "so no smallest detectable effect is given.")
    null_rows = curve[curve["truth"] == null_value(estimand)]
    false_alarms = (f" and raises a false alarm in {100 * null_rows['power'].iloc[0]:.0f}% of trials without one"
                    if len(null_rows) else "")
    extrapolated = "" if best.get("within_tested_range", True) else " (outside the sizes simulated: an extrapolation)"
    return (f"For {what}, the analysis supports an effect of {interpretable(estimand, best['effect'])} with "
            f"{100 * target:.0f}% probability (95% interval {interpretable(estimand, best['low'], short=True)} to "
            f"{interpretable(estimand, best['high'], short=True)}){extrapolated}{false_alarms}.")


def ruled_out_sentence(estimand: str, curve: pd.DataFrame) -> str:
    """How often one study's analysis said "ruled out": without an effect (a
    right answer the trial may be too small to give) and, at the sizes
    simulated outside the region of practical equivalence, wrongly (the
    largest rate); '' when the results carry no "ruled out" share."""
    if "ruled_out" not in curve:
        return ""
    low, high = load_analysis().rope(estimand)
    low_s, high_s = interpretable(estimand, low, short=True), interpretable(estimand, high, short=True)
    null_rows = curve[curve["truth"] == null_value(estimand)]
    outside = curve[(curve["truth"] < low) | (curve["truth"] > high)]
    sentences = []
    if len(null_rows):
        sentences.append(f"Without an effect, the analysis rules one out (posterior probability ≥ "
                         f"{load_analysis().equivalence_level} that it lies between {low_s} and {high_s}) in "
                         f"{100 * null_rows['ruled_out'].iloc[0]:.0f}% of trials.")
    if len(outside):
        worst = outside.loc[outside["ruled_out"].idxmax()]
        sentences.append(
            f"An effect outside {low_s} to {high_s} is wrongly ruled out in at most {100 * worst['ruled_out']:.0f}% of "
            f"trials at the sizes simulated (the most often at {interpretable(estimand, worst['truth'], short=True)})."
            if worst["ruled_out"] > 0 else
            f"An effect outside {low_s} to {high_s} was never ruled out at the sizes simulated.")
    return " ".join(sentences)


def answer(curves: Mapping[str, pd.DataFrame], smallest: Mapping[str, Mapping], target: float, level: str) -> str:
    """The chapter's answer: one sentence per study and what a null result means
    below the smallest detectable effect (``level``: the decision rule's
    P(direction), in words: :func:`ketamine_nif.summary.detection_rule`)."""
    sentences = [sentence for estimand, best in smallest.items()
                 for sentence in (smallest_sentence(estimand, curves[estimand], best, target),
                                  ruled_out_sentence(estimand, curves[estimand])) if sentence]
    if not sentences:
        return "**No answer yet**: the simulations behind this chapter have not been run (see above)."
    return (" ".join(sentences) + " Smaller effects would usually go unnoticed: a null result for them says the trial "
            f"was too small, not that they are absent (the decision rule is {level}).")

"""Chapter 09's sentences (external validation on Beat the Blues): the data
in the model, and the answer (the posterior's agreement with maximum
likelihood, the treatment effect, the size of the labelling trap)."""

from __future__ import annotations

import pandas as pd

from ..btheb import FIXED_EFFECTS, FOLLOW_UP_MONTHS, MAX_Z, VARIANCE_RATIO, agreement
from ..reporting import plural
from . import no_answer

LAST_MONTH = max(FOLLOW_UP_MONTHS.values())  # the last follow-up


def data(wide: pd.DataFrame, long: pd.DataFrame) -> str:
    """Patients randomised per arm, those in the model, and those left at the
    last follow-up."""
    arms = wide["treatment"].value_counts()
    last = int((long["time"] == LAST_MONTH).sum())
    return (
        f"{len(wide)} patients were randomised ({arms.get('BtheB', 0)} to Beat the Blues, {arms.get('TAU', 0)} to "
        f"treatment as usual). {long['participant'].nunique()} have at least one follow-up, giving {len(long)} "
        f"observations for the model; by month {LAST_MONTH}, {plural(last, 'patient')} remain{'s' if last == 1 else ''}."
    )


def _met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def answer(table: pd.DataFrame, treatment: pd.Series, wrong_time: float, converged: bool) -> str:
    """Whether the posterior agrees with maximum likelihood (``table``:
    ``btheb.comparison``; acceptance: ``btheb.agreement``), with the numbers
    behind each check; the treatment effect (``treatment``: its estimates row);
    and the time slope had the labels been read as months (``wrong_time``).
    No answer when the fit failed its checks."""
    if not converged:
        return no_answer()
    checks = agreement(table)
    fixed_z = table.loc[FIXED_EFFECTS, "z"].abs().max()
    person, residual = table.loc["var_person"], table.loc["var_residual"]
    lowered = treatment["mean"] <= 0  # BDI falls with improvement
    low, high = (-treatment["ci_high"], -treatment["ci_low"]) if lowered else (treatment["ci_low"], treatment["ci_high"])
    return (
        f"{'Yes' if all(checks.values()) else 'Not fully'}: every fixed-effect posterior mean lies within "
        f"{fixed_z:.2f} posterior SDs of the maximum-likelihood estimate (acceptance: {MAX_Z}; {_met(checks['fixed'])}). "
        + ("The variance components are of the same size" if checks["variances"] else
           "The variance components differ by more than the acceptance allows")
        + f": the posterior median between-patient variance is "
        f"{person['median']:.1f} against {person['ml_estimate']:.1f} by ML, the residual variance "
        f"{residual['median']:.1f} against {residual['ml_estimate']:.1f} (acceptance: ratio {VARIANCE_RATIO[0]:.2f} to "
        f"{VARIANCE_RATIO[1]:.2f} and the ML value inside the 95% interval; {_met(checks['variances'])}). "
        + ("The posterior between-patient variance sits a little above the ML value, as expected: ML variance "
           "estimates are biased low in small samples, and a posterior mean or median averages over the uncertainty "
           "in the fixed effects that ML treats as known. " if checks["variances"] and person["median"] > person["ml_estimate"]
           else "")
        + f"On the substance, Beat the Blues {'lowered' if lowered else 'raised'} BDI by {abs(treatment['mean']):.1f} "
        f"points on average (95% interval {low:.1f} to {high:.1f} {'lower' if lowered else 'higher'}; P(benefit) = "
        f"{1 - treatment['p_positive']:.2f}). "
        f"Reading the copy's labels as months would have given a time slope of {wrong_time:.3f} points per month "
        f"instead of {table.loc['time', 'ml_estimate']:.3f}: small here, but a silent error of the kind this chapter "
        "exists to catch."
    )

"""Chapter 07's sentences (the original approach, replicated): what the
analysis covers, how many hits chance alone would give, the paper's finding
among them, and the agreement with the Bayesian estimates."""

from __future__ import annotations

import pandas as pd

from ..frequentist import chance_hits, fits_per_group, model_fits, paper_test
from ..reporting import join_words, plural

SHOWN_FAILURES = 3  # failed fits named in the text (the rest are in diagnostics.json)
AGREEMENT = 0.9  # share of Bayesian means inside the confidence intervals at which the two analyses "agree"


def scope(lod_fraction: float, markers: int, splits: int) -> str:
    """The substitution for values under the detection limit, and the groups analysed."""
    return (f"Values under the detection limit count as {lod_fraction:g} × the limit. The analysis covers "
            f"{plural(markers, 'marker')}, all participants and {plural(2 * splits, 'subgroup')} from "
            f"{plural(splits, 'split')}.")


def multiplicity(tests: pd.DataFrame, alpha: float, participants: int, failures: list[str]) -> str:
    """How many tests have p < ``alpha`` against how many the global null
    would give, why the tests are not independent, and the fits that failed
    or warned."""
    hits = int((tests["p_value"] < alpha).sum())
    expected, sd = chance_hits(len(tests), alpha)
    failed = (f"{plural(len(failures), 'fit')} failed and {'is' if len(failures) == 1 else 'are'} not counted "
              f"({join_words(failures[:SHOWN_FAILURES])}"
              f"{' ...' if len(failures) > SHOWN_FAILURES else ''}). " if failures else "Every model could be fitted. ")
    warned = tests[~tests["converged"]]
    per_group = pd.DataFrame({"tests": tests.groupby("subgroup").size(), "fits": fits_per_group(tests)})
    largest = per_group.sort_values(["tests", "fits"]).iloc[-1]
    within = (f"within each group the {largest['tests']} tests" if per_group["tests"].nunique() == 1 else
              f"within one group as many as {largest['tests']} tests")
    return (
        f"Of {len(tests)} tests, {hits} have p < {alpha:g}; if no effect existed anywhere, about {expected:.0f} would "
        f"(give or take {sd:.0f} if the tests were independent). They are not: all of them reuse the same "
        f"{participants} participants. Each subgroup's tests reuse participants of the overall analysis, the two halves "
        f"of a split together make up the whole sample, and {within} come from only {largest['fits']} model fits "
        "(the visits of aims 1 and 3 share a fit; the coupling "
        "difference reuses both arms' data). None of the tests is independent of all the others, so the count of hits "
        "varies more from sample to sample than the binomial figure suggests, but its expectation under the global null "
        f"stays {expected:.0f}. " + failed
        + (f"{plural(model_fits(warned), 'fit')} warned about convergence ({plural(len(warned), 'test')}, flagged in "
           "estimates.csv and left out of the summary page)." if len(warned) else "")
    ).rstrip()


def finding(tests: pd.DataFrame, alpha: float, paper_finding: dict) -> str:
    """The hits against chance (more than chance: beyond the expectation plus
    2 SD), and the p-value of the paper's finding where it was tested."""
    hits = int((tests["p_value"] < alpha).sum())
    expected, sd = chance_hits(len(tests), alpha)
    paper = paper_test(tests, paper_finding)
    results = plural(hits, "'significant' result")
    return (
        f"{results} among {len(tests)} tests is "
        + ("about what chance alone produces" if hits <= expected + 2 * sd else "more than chance alone would produce")
        + f" (expected {expected:.0f}). "
        + (f"The paper's finding, {paper_finding['marker']} coupling in the ketamine arm with {paper_finding['subgroup']}, "
           f"has p = {paper['p_value']:.3f} here. " if paper is not None else "")
        + "Read one by one, each hit looks like a finding; read together, they are what a search of this size finds in "
        "data without effects. @sec-subgroups asks the same questions in one model that weighs every subgroup together."
    )


def agreement(side: pd.DataFrame | None, stems: list[str]) -> str:
    """How often the Bayesian posterior mean lies inside the frequentist 95%
    confidence interval (``side``: ``frequentist.beside_bayesian``'s rows), or
    that the Bayesian chapters' estimates (``stems``) were not found."""
    if side is None or side.empty:
        return ("The Bayesian chapters' estimates were not found next to this chapter's outputs "
                f"({', '.join(stems)}); run them first to see the two side by side.")
    agree = ((side["ci_low_f"] <= side["mean_b"]) & (side["mean_b"] <= side["ci_high_f"])).mean()
    share = (f"For {100 * agree:.0f}% of the {len(side)} shared estimands the Bayesian posterior mean lies inside the "
             "frequentist 95% confidence interval")
    differences = ("they differ in how they treat values under the detection limit (a fraction of the limit here, a censored "
                   "likelihood there), in the Bayesian priors, which pull each effect toward none, and, for the "
                   "couplings, in what a within-person change is (a deviation from the person's mean here, a change "
                   "since baseline there)")
    if agree >= AGREEMENT:
        return f"{share}: the two approaches tell the same story where they ask the same question; {differences}."
    return (f"{share}: fewer than the {100 * AGREEMENT:.0f}% that two analyses of one question should share; "
            f"{differences}, and here those differences move the estimates.")

"""The sentences the chapters say, one module per analysis: each function
takes the chapter's tables and returns its text, with every branch (a fit that
failed its checks, an effect found or not, ...) tested on exact strings in
``tests/test_answers*.py``. Notebooks call them through ``reporting.say``."""


def found_and_ruled_out(table, equivalence_level: float):
    """The estimates whose 95% interval excludes the null (no effect), and those ruled out
    (P(inside the ROPE) at least ``equivalence_level``)."""
    from ..estimates import detected

    return table[detected(table)], table[table["p_rope"] >= equivalence_level]


def prior_mass(simulated, prior_draws, plausible: tuple[float, float], what: str) -> str:
    """The prior predictive check of chapters 03-04 in words: the share of
    simulated MADRS scores on the scale's range, and the prior's mass on
    plausible values of the effect (``what``: "couplings", with its unit after
    the bounds: "{} points per doubling")."""
    from ..checks import interval_share
    from ..reporting import study

    low, high = plausible
    bottom, top = study().outcome_range
    return (f"{100 * interval_share(simulated, bottom, top):.0f}% of simulated MADRS scores fall on the scale's range "
            f"({bottom:g} to {top:g}), and the prior puts {100 * interval_share(prior_draws, low, high):.0f}% "
            f"of its mass on {what.format(f'between −{-low} and {high}')}")


def found_list(found, describe) -> str:
    """The effects found, each as ``describe(row)`` words it, or "no marker at any visit"."""
    from ..reporting import join_words

    return "no marker at any visit" if found.empty else join_words(describe(r) for r in found.itertuples())


def no_answer(which: str = "the fit") -> str:
    """The answer of a chapter when ``which`` ("the fit", "a fit") failed its
    convergence checks: its numbers are shown above but are not findings."""
    return f"**No answer is given**: {which} did not pass the convergence checks (see above), so its numbers are not findings."


def nothing_informed(what: str = "the chapter's question") -> str:
    """The answer of a chapter whose estimates the data cannot inform at all
    (every row left out by :mod:`ketamine_nif.identifiability`)."""
    return (f"**No answer is given**: these data hold too little to inform {what} (see the callout above); "
            "an estimate would mostly be its prior.")

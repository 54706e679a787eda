"""The sentences the chapters say, one module per analysis: each function
takes the chapter's tables and returns its text, with every branch (a fit that
failed its checks, an effect found or not, ...) tested on exact strings in
``tests/test_answers*.py``. Notebooks call them through ``reporting.say``."""


def found_and_ruled_out(table, equivalence_level: float):
    """The estimates whose 95% interval excludes the null (no effect), and those ruled out
    (P(inside the ROPE) at least ``equivalence_level``)."""
    from ..estimates import detected

    return table[detected(table)], table[table["p_rope"] >= equivalence_level]


ON_SCALE = 0.95  # below this share of simulated scores on the outcome's scale, the prior check says why the rest fall off it


def prior_mass(simulated, prior_draws, plausible: tuple[float, float], what: str, why: str) -> str:
    """The prior predictive check of chapters 03-04 in words: the prior's
    mass on plausible values of the effect (``what``: "couplings", with its
    unit after the bounds: "{} points per doubling"; ``why``: why that
    prior), then the share of simulated MADRS scores on the scale's range
    and, when many fall off it (under :data:`ON_SCALE`), why, and what that
    costs."""
    from ..checks import interval_share
    from ..reporting import study

    low, high = plausible
    bottom, top = study().outcome_range
    on_scale = interval_share(simulated, bottom, top)
    text = (f"The prior puts {100 * interval_share(prior_draws, low, high):.0f}% of its mass on "
            f"{what.format(f'between −{-low} and {high}')}: {why} {100 * on_scale:.0f}% of the MADRS scores simulated "
            f"from the priors fall on the scale's range ({bottom:g} to {top:g})")
    if on_scale >= ON_SCALE:
        return text + "."
    return text + (". The check flags the rest: the priors of the outcome model's level, visit shifts, SDs and arm "
                   "difference are each set on the scale of the observed ratings' spread, and the marker terms add "
                   "spread of their own (in a draw from the priors, the observed NIF values meet a marker mean and SD "
                   "drawn from theirs, so a centred or standardised level can lie far out), so together they allow "
                   "scores the scale does not. The book keeps these priors weak, as priors of parameters that the data "
                   "pin down; its scepticism sits in the effect's prior, on the right.")


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

"""The sentences the chapters say, one module per analysis: each function
takes the chapter's tables and returns its text, with every branch (a fit that
failed its checks, an effect found or not, ...) tested on exact strings in
``tests/test_answers*.py``. Notebooks call them through ``reporting.say``."""


def found_and_ruled_out(table, equivalence_level: float):
    """The estimates whose 95% interval excludes no effect, and those ruled out
    (P(inside the ROPE) at least ``equivalence_level``)."""
    from ..estimates import detected

    return table[detected(table)], table[table["p_rope"] >= equivalence_level]


def madrs_on_scale(simulated) -> str:
    """The share of prior-simulated MADRS scores on the scale's range, as the prior checks of chapters 03-04 say it."""
    from ..checks import interval_share
    from .coupling import MADRS_RANGE

    return f"{100 * interval_share(simulated, *MADRS_RANGE):.0f}% of simulated MADRS scores fall on the scale's range"


def no_answer(which: str = "the fit") -> str:
    """The answer of a chapter when ``which`` ("the fit", "a fit") failed its
    convergence checks: its numbers are shown above but are not findings."""
    return f"**No answer is given**: {which} did not pass the convergence checks (see above), so its numbers are not findings."

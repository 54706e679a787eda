"""Turning computed values into the report's prose and tables: numbers in text
are formatted here from data, never typed in a notebook.

The package writes its sentences, tables and figure labels in this trial's
words (MADRS, ketamine, saline); a chapter that reports on other data calls
:func:`speak_for` with their study (``chapter.start`` does), and everything
shown through :func:`say`, :func:`show_table` and :func:`words` then uses the
data's names (``contract.Study.say``)."""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np
import pandas as pd

from .contract import Study

_STUDY = [Study()]  # the study this process reports on (one per notebook kernel)


def speak_for(study: Study) -> None:
    """Show every later sentence, table and figure label in ``study``'s names."""
    _STUDY[0] = study


@contextmanager
def speaking_for(study: Study):
    """Within the block, show everything in ``study``'s names (:func:`speak_for`); then as before."""
    before = _STUDY[0]
    speak_for(study)
    try:
        yield
    finally:
        speak_for(before)


def study() -> Study:
    """The study being reported on (:func:`speak_for`; this trial's until then)."""
    return _STUDY[0]


def words(text: str) -> str:
    """``text`` in the names of the study being reported on (:func:`speak_for`)."""
    return _STUDY[0].say(text)


def markdown_table(frame: pd.DataFrame, digits: int = 2) -> str:
    """A pipe table (Pandoc and Quarto read it; so do readers of the .ipynb)."""

    def cell(value) -> str:
        if isinstance(value, float):
            text = "–" if pd.isna(value) else f"{value:.{digits}f}"
        else:
            text = str(value)
        return text.replace("|", "\\|").replace("\n", " ")

    header = "| " + " | ".join(cell(c) for c in frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *body])


def show_table(frame: pd.DataFrame, digits: int = 2):
    """Display a table as Markdown output (label and caption come from cell options)."""
    from IPython.display import Markdown, display

    display(Markdown(words(markdown_table(frame, digits))))


def say(text: str):
    """Display computed prose as Markdown output (nothing for empty text: a sentence that does not apply)."""
    from IPython.display import Markdown, display

    if text:
        display(Markdown(words(text)))


def scale_note(study: Study) -> str:
    """For an outcome other than this trial's: the priors and regions of
    practical equivalence were set on the Montgomery-Åsberg scale, and are used
    on this one as they stand ("" for this trial's outcome). Written without the
    scale's short name, which :func:`words` would turn into the data's."""
    ours = Study()
    if study.outcome == ours.outcome:
        return ""
    low, high = study.outcome_range
    return ("**The outcome's priors are this trial's.** The priors and regions of practical equivalence of the "
            "analysis configuration (`params/analysis.yaml`) are set in points of the Montgomery-Åsberg scale "
            f"({ours.outcome_range[0]:g} to {ours.outcome_range[1]:g}, where lower is better); these data's outcome, {study.outcome} ({low:g} to {high:g}), uses them as "
            "they stand. Where its points spread differently, or higher is better, rerun with a configuration of its "
            "own (`-p analysis_config=...`, README: \"Rerun a notebook with new parameters\").")


def join_words(items) -> str:
    """'a', 'a and b', 'a, b and c'."""
    items = [str(i) for i in items]
    if len(items) <= 2:
        return " and ".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def diagnostics_table(*diagnostics) -> pd.DataFrame:
    """One row per fit: sampler settings (the target acceptance of the draws
    kept, starred where a fit was refitted at it after a first fit failed
    the checks), time and the convergence verdict."""
    rows = []
    for d in diagnostics:
        rows.append({
            "model": d.model, "sampler": d.sampler, "chains x draws": f"{d.chains} x {d.draws}",
            "target acceptance": f"{d.target_accept:.2f}" + ("*" if d.refit else ""), "seconds": f"{d.seconds:.0f}",
            "max R-hat": f"{d.max_r_hat:.3f}", "min ESS (bulk/tail)": f"{d.min_ess_bulk:.0f} / {d.min_ess_tail:.0f}",
            "divergences": d.divergences, "min E-BFMI": f"{d.min_bfmi:.2f}", "verdict": "pass" if d.converged else "FAIL",
        })
    return pd.DataFrame(rows)


def verdict(*diagnostics) -> str:
    """A sentence when every fit passed (naming any refitted fit, and what
    its first fit failed); otherwise a warning callout that says which fit
    failed how, and that its estimates are not findings."""
    from .inference import MAX_R_HAT, MIN_ESS

    failed = [d for d in diagnostics if not d.converged]
    rule = f"R-hat ≤ {MAX_R_HAT}, bulk and tail ESS ≥ {MIN_ESS}, no divergent transitions"
    warnings = [w for d in diagnostics for w in d.warnings()]
    refits = " ".join(f"**{d.model}**: {d.refit} (marked * in the table)." for d in diagnostics if d.refit)
    if not failed:
        text = f"Every fit passed the convergence checks ({rule}).{' ' + refits if refits else ''}"
        return text + (" Note: " + "; ".join(warnings) + "." if warnings else "")
    lines = "\n".join(f"- **{d.model}**: {'; '.join(d.problems())}" for d in failed)
    refitted = f"{refits}\n\n" if refits else ""
    return (
        '::: {.callout-warning title="Convergence checks failed: these estimates are not findings"}\n'
        f"The checks ({rule}) failed for:\n\n{lines}\n\n{refitted}"
        "The estimates from these fits are shown, flagged as unreliable (hollow points, `converged = False` in "
        "estimates.csv), but must not be read as results. Rerun with more draws or tuning steps.\n:::"
    )


def uninformed_callout(gaps) -> str:
    """A warning callout listing the estimands these data cannot inform
    (:class:`ketamine_nif.identifiability.Gap`), each with its reason; "" when
    there are none."""
    from .identifiability import in_words

    if not gaps:
        return ""
    lines = "\n".join(f"- {line}." for line in in_words(gaps, bold="**"))
    return (
        '::: {.callout-warning title="Not reported: estimates these data cannot inform"}\n'
        "The model would give these a posterior, but with the few data behind it (below) it would mostly be its "
        "prior. They are left out of this chapter's tables and answer, of estimates.csv and of the summary.\n\n"
        f"{lines}\n:::"
    )


def prior_table(priors, rows: dict[str, tuple[str, str]]) -> pd.DataFrame:
    """The priors a chapter states: one row per field of ``priors`` named in
    ``rows`` (field -> (distribution, role)), with the value in force."""
    return pd.DataFrame([{"parameter": label, "scale": getattr(priors, key), "role": role}
                         for key, (label, role) in rows.items()])


def rope_table(config, estimands_shown) -> pd.DataFrame:
    """Per kind of estimand among ``estimands_shown``: its region of practical
    equivalence and important effect in the analysis configuration ``config``."""
    from .estimands import FAMILIES, lookup

    rows, seen = [], set()
    for name in estimands_shown:
        entry = lookup(name)
        if entry.family in seen:
            continue
        seen.add(entry.family)
        low, high = config.ropes[entry.family]
        rows.append({"kind of estimand": FAMILIES[entry.family], "ROPE": f"{low:g} to {high:g}",
                     "important effect": f"{config.important[entry.family]:g}" if entry.family in config.important else "—"})
    return pd.DataFrame(rows)


def estimates_table(estimates: pd.DataFrame, digits: int = 2, rope_label: str = "P(ROPE)") -> pd.DataFrame:
    """Estimates formatted for reading: mean [95% interval], probabilities, flag."""
    def fmt(x):
        return f"{x:.{digits}f}"

    return pd.DataFrame({
        "marker": estimates["marker"],
        "visit": estimates["visit"],
        "estimate [95% interval]": [f"{fmt(m)} [{fmt(lo)}, {fmt(hi)}]" for m, lo, hi in
                                    zip(estimates["mean"], estimates["ci_low"], estimates["ci_high"], strict=True)],
        "P(> null)": estimates["p_positive"].map(lambda p: f"{p:.2f}"),
        rope_label: estimates["p_rope"].map(lambda p: f"{p:.2f}"),
        "reliable": estimates["converged"].map({True: "yes", False: "NO"}),
    })


def _verdicts(table: pd.DataFrame) -> pd.Series:
    from .summary import classify

    return classify(table).set_axis(pd.MultiIndex.from_frame(table[["estimand", "marker", "visit"]].astype(str)))


def pooling_sentence(book: pd.DataFrame, shared: pd.DataFrame) -> str:
    """Where the book's estimates (a fixed prior per effect: each marker on its
    own data) and those of the same model with one scale shared across
    markers disagree: the estimates whose evidence category differs, and how
    much narrower the shared-scale posteriors are ("" without estimates)."""
    if book.empty:
        return ""
    own, pooled = _verdicts(book), _verdicts(shared)
    joined = pd.DataFrame({"book": own, "shared": pooled.reindex(own.index)})
    keys = pd.MultiIndex.from_frame(book[["estimand", "marker", "visit"]])
    sd = pd.Series(shared.set_index(["estimand", "marker", "visit"])["sd"].reindex(keys).to_numpy() / book["sd"].to_numpy())
    width = (f"its posterior SDs are {sd.median():.2f} times the book's"
             + ("" if spread(sd) == f"{sd.median():.2f}" else f" (median; from {spread(sd)})"))
    changed = joined[joined["book"] != joined["shared"]]
    if changed.empty:
        return f"Sharing one scale across markers would change no evidence category of the {len(joined)} estimates; {width}."
    several = book["estimand"].nunique() > 1

    def which(key):
        estimand, marker, visit = key
        return marker + (f" ({estimand.rsplit('_', 1)[-1]})" if several else "") + ("" if visit == "all" else f" at {visit}")

    items = join_words(f"{which(k)} ({r.book} in the book, {r.shared} with a shared scale)" for k, r in changed.iterrows())
    return (f"Sharing one scale across markers would change the evidence category of {len(changed)} of {len(joined)} "
            f"estimates: {items}; {width}.")


def spread(values, digits: int = 2, sign: bool = False, between: str = " to ", percent: bool = False) -> str:
    """The range of ``values`` as "0.90 to 1.10", or one number where both
    ends read the same at ``digits`` decimals (never "1.00 to 1.00");
    missing values (NaN) are left out, and none at all gives "". ``sign``:
    each end with its sign ("+0.10 to +0.30"); ``between``: the words
    between the ends; ``percent``: shares as whole percents ("40-60%")."""
    values = np.asarray(values, dtype=float)
    values = values[~np.isnan(values)]
    if not len(values):
        return ""
    if percent:
        values, digits = 100 * values, 0
    low, high = (f"{v:{'+' if sign else ''}.{digits}f}" for v in (values.min(), values.max()))
    return (low if low == high else f"{low}{between}{high}") + ("%" if percent else "")


def plural(n: int, word: str, words: str | None = None) -> str:
    """``n`` with ``word`` or, unless ``n`` is 1, ``words`` (default: ``word`` + "s"): "1 fit", "2 fits"."""
    return f"{n} {word if n == 1 else words or word + 's'}"

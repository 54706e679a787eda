"""The summary of findings: one line per question, built from the
``estimates.csv`` that every analysis chapter writes (never typed by hand).

Each estimate gets an evidence category:

- **unreliable**: its fit failed the convergence checks (``converged`` is
  False); it is never counted as a finding;
- **ruled out**: P(inside the region of practical equivalence) at least the
  equivalence level (0.95), so an effect of practical size is ruled out;
- **supported**: P(direction) at least the detection level (0.975): the 95%
  interval excludes the null, so an effect in that direction is supported;

(both levels: ``params/analysis.yaml``, ``decision``);
- **inconclusive**: neither;
- **not classified**: the chapter reports no posterior probabilities for it
  (for example a frequentist fit).

A question is one estimand of one chapter, and gets a category from its
estimates: supported when any reliable estimate is, ruled out when all reliable
estimates are, unreliable when none is reliable, inconclusive otherwise. Since
one supported estimate among many answers the question, a question's estimates
are held to a stricter detection level (``decision: multiplicity``,
:func:`question_level`: Bonferroni over its estimates); an estimate supported
alone but not at its question's level counts as inconclusive there, and the
answer names it. So does an estimate within Monte Carlo error of its level
(:func:`near_level`): more draws could change its verdict. Its key
estimate is the estimate of that category with the strongest evidence of an
effect (the highest probability of direction; ties, and estimates without
probabilities, go to one whose 95% interval excludes the null, then to the one
farthest from the null).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from . import estimands
from .analysis import load as load_analysis
from .estimands import ALL_PARTICIPANTS, REGISTRY, VARIANT_LEADS, VARIANTS, base_name, null_value
from .estimates import COLUMNS, OPTIONAL

RULED_OUT = load_analysis().equivalence_level  # P(inside ROPE) at or above which an effect of practical size is ruled out
SUPPORTED = load_analysis().detection_level  # P(direction) at or above which an effect is supported
MULTIPLICITY = load_analysis().multiplicity  # how a question's estimates share its detection level (question_level)
UNRELIABLE, RULED, SUPPORT, INCONCLUSIVE, UNCLASSIFIED = "unreliable", "ruled out", "supported", "inconclusive", "not classified"
CATEGORIES = (SUPPORT, RULED, INCONCLUSIVE, UNRELIABLE, UNCLASSIFIED)
DIGITS = 2  # estimates are shown with two decimals

# Estimands that are covariates of a model rather than questions of the report (not summarised)
NOT_QUESTIONS = {"intercept", "bdi_pre", "time", "drug_yes", "length_gt6m"}

# The analyses the project plans (brief, section 4); one not in the book yet is named as missing.
PLANNED = {
    "05-subgroups": "subgroups without the multiplicity trap",
    "06-evidence-for-absence": "evidence for absence",
    "07-frequentist-replication": "replication of the original (frequentist) approach",
    "08-model-criticism": "model criticism",
    "09-external-validation": "external validation on Beat the Blues",
    "10-design-sensitivity": "design sensitivity",
}

_TITLE = re.compile(r"^#\s+#\s+(.*?)\s*(\{[^}]*\})?\s*$")


@dataclass
class ChapterResults:
    stem: str
    title: str
    link: str  # the chapter's notebook file name; both renderers turn it into the chapter's page
    estimates: pd.DataFrame | None = None  # None when the chapter wrote none (yet)
    problem: str = ""  # why there are no estimates


@dataclass
class Question:
    chapter: ChapterResults
    estimand: str
    text: str
    rows: pd.DataFrame  # this estimand's estimates, with a 'category' column
    key: pd.Series | None = field(default=None)
    revisited: bool = False  # every estimate of it is one an earlier chapter gave (questions())

    @property
    def own(self) -> bool:
        """Whether the page's multiplicity counts it: not a revisit, and with
        estimates the rule classifies."""
        return not self.revisited and classified_count(self.rows) > 0

    @property
    def counts(self) -> dict[str, int]:
        counted = self.rows["category"].value_counts()
        return {c: int(counted.get(c, 0)) for c in CATEGORIES}


def chapter_title(source: Path) -> str:
    """The level-1 heading of a Jupytext notebook, without its label."""
    if source.exists():
        for line in source.read_text(encoding="utf-8").splitlines():
            match = _TITLE.match(line)
            if match:
                return match.group(1)
    return source.stem


def writes_estimates(source: Path) -> bool:
    """Whether a chapter's source writes the estimates contract."""
    return source.exists() and "estimates.write(" in source.read_text(encoding="utf-8")


def collect(jobs, outputs_dir: str | Path) -> list[ChapterResults]:
    """Each analysis chapter of the book (``runner.book_jobs()``) with its
    estimates read from ``outputs_dir/<stem>/estimates.csv``; a chapter whose
    estimates are missing or broken is kept, with the reason."""
    outputs_dir = Path(outputs_dir)
    found = []
    for job in jobs:
        path = outputs_dir / job.stem / "estimates.csv"
        if not path.exists() and not writes_estimates(job.source):
            continue  # not an analysis chapter (the data chapter, this page, the appendix)
        chapter = ChapterResults(job.stem, chapter_title(job.source), f"{job.stem}.ipynb")
        if not path.exists():
            chapter.problem = f"no estimates yet ({path.as_posix()} is missing: the chapter has not run, or failed)"
        else:
            table = pd.read_csv(path, keep_default_na=False, na_values=[""])
            missing = [c for c in COLUMNS if c not in table.columns and c not in OPTIONAL]
            if missing:
                chapter.problem = f"{path.as_posix()} lacks the column(s) {', '.join(missing)}"
            else:
                chapter.estimates = table.reindex(columns=[*COLUMNS, *table.columns.drop(COLUMNS, errors="ignore")])
        found.append(chapter)
    return found


def missing_planned(jobs) -> dict[str, str]:
    """Planned analyses that are not chapters of this edition."""
    present = {j.stem for j in jobs}
    return {stem: what for stem, what in PLANNED.items() if stem not in present}


def _converged(values: pd.Series) -> pd.Series:
    return values.map(lambda v: str(v).strip().lower() in ("true", "1", "1.0"))


def p_direction(table: pd.DataFrame) -> pd.Series:
    return np.maximum(table["p_positive"], 1 - table["p_positive"])


def classify(table: pd.DataFrame) -> pd.Series:
    """The evidence category of each estimate (see the module docstring)."""
    converged = _converged(table["converged"])
    p_rope = pd.to_numeric(table["p_rope"], errors="coerce")
    direction = p_direction(table.assign(p_positive=pd.to_numeric(table["p_positive"], errors="coerce")))
    category = np.select(
        [~converged, p_rope >= RULED_OUT, direction >= SUPPORTED, p_rope.isna() & direction.isna()],
        [UNRELIABLE, RULED, SUPPORT, UNCLASSIFIED],
        default=INCONCLUSIVE,
    )
    return pd.Series(category, index=table.index, name="category")


def question_level(n: int, multiplicity: str | None = None) -> float:
    """The P(direction) at which one of a question's ``n`` reliable,
    classified estimates supports it: the detection level, Bonferroni-adjusted
    over the ``n`` (``decision: multiplicity: bonferroni``), so that with no
    effect anywhere the question is answered supported about as rarely as one
    estimate alone would be; the detection level itself with ``none``
    (``multiplicity``: the book's setting unless given)."""
    return SUPPORTED if (multiplicity or MULTIPLICITY) == "none" or n <= 1 else 1.0 - (1.0 - SUPPORTED) / n


def detection_rule() -> str:
    """The level at which an estimate supports its question, in words."""
    if MULTIPLICITY == "none":
        return f"P(direction) ≥ {SUPPORTED:g}"
    return f"P(direction) ≥ 1 - {1 - SUPPORTED:.3g}/n for a question of n estimates, {SUPPORTED:g} for an estimate alone"


def classified_count(rows: pd.DataFrame) -> int:
    """Reliable estimates with posterior probabilities (supported, ruled out or inconclusive)."""
    return int(rows["category"].isin([SUPPORT, RULED, INCONCLUSIVE]).sum())


def question_categories(rows: pd.DataFrame, multiplicity: str | None = None) -> pd.DataFrame:
    """One question's estimates (with ``category`` from :func:`classify`)
    judged at the question's level (:func:`question_level`): an estimate
    supported alone but short of that level becomes inconclusive and is
    flagged in ``short_of_question``."""
    direction = p_direction(rows.assign(p_positive=pd.to_numeric(rows["p_positive"], errors="coerce")))
    short = (rows["category"] == SUPPORT) & (direction < question_level(classified_count(rows), multiplicity))
    return rows.assign(category=rows["category"].mask(short, INCONCLUSIVE), short_of_question=short)


MONTE_CARLO_SES = 2  # an estimate this many Monte Carlo SEs or fewer from its level is named: more draws could flip it


def monte_carlo_se(level: float, ess: pd.Series) -> pd.Series:
    """The Monte Carlo SE of a posterior probability near ``level`` counted
    from draws whose effective number is ``ess``: the binomial SE of a share
    at the level, sqrt(level (1 - level) / ess) (the SE under the hypothesis
    that the true probability is the level: how far chance alone moves a
    share of that many draws)."""
    return np.sqrt(level * (1 - level) / pd.to_numeric(ess, errors="coerce"))


def draws_to_resolve(level: float) -> int:
    """The fewest effective draws at which a probability of 1 (every draw on
    one side) lies more than :data:`MONTE_CARLO_SES` Monte Carlo SEs
    (:func:`monte_carlo_se`) above ``level``: more than k² level / (1 - level)."""
    return int(np.floor(MONTE_CARLO_SES ** 2 * level / (1 - level))) + 1


def _effective(rows: pd.DataFrame, column: str) -> pd.Series:
    """The effective draws behind a probability: the ESS of its indicator
    (``ess_direction``, ``ess_rope``: :func:`ketamine_nif.estimates.indicator_ess`),
    else, for tables written before it was kept, the estimate's bulk ESS."""
    bulk = pd.to_numeric(rows["ess_bulk"], errors="coerce")
    return pd.to_numeric(rows[column], errors="coerce").fillna(bulk) if column in rows else bulk


def near_level(rows: pd.DataFrame, multiplicity: str | None = None) -> pd.DataFrame:
    """One question's reliable estimates (categories from
    :func:`question_categories`) whose verdict more draws could change: the
    P(ROPE) of any of them within :data:`MONTE_CARLO_SES` Monte Carlo SEs
    (:func:`monte_carlo_se`) of the equivalence level, or the P(direction)
    of one not ruled out (ruled out comes first) that close to the
    question's detection level. Estimates whose verdict the summary
    withholds (column ``withheld``) stay inconclusive whatever the draws and
    are left out. Columns ``probability``, ``value``, ``level`` and ``se``
    say which (P(ROPE) first, when both apply)."""
    level = question_level(classified_count(rows), multiplicity)
    open_ = rows["category"].isin([SUPPORT, RULED, INCONCLUSIVE]) & ~rows.get("withheld", pd.Series(False, rows.index)).astype(bool)
    rope = pd.to_numeric(rows["p_rope"], errors="coerce")
    direction = p_direction(rows.assign(p_positive=pd.to_numeric(rows["p_positive"], errors="coerce")))
    rope_se, direction_se = monte_carlo_se(RULED_OUT, _effective(rows, "ess_rope")), monte_carlo_se(level, _effective(rows, "ess_direction"))
    near_rope = open_ & ((rope - RULED_OUT).abs() <= MONTE_CARLO_SES * rope_se)
    near_direction = open_ & ~near_rope & (rows["category"] != RULED) & ((direction - level).abs() <= MONTE_CARLO_SES * direction_se)
    near = near_rope | near_direction
    return rows[near].assign(probability=np.where(near_rope, "P(ROPE)", "P(direction)")[near],
                             value=np.where(near_rope, rope, direction)[near], level=np.where(near_rope, RULED_OUT, level)[near],
                             se=np.where(near_rope, rope_se, direction_se)[near])


def _against(value: float, level: float) -> str:
    """'0.99875, under the level 0.99881': enough decimals (4 to 6) to tell the two apart."""
    digits = next((d for d in (4, 5, 6) if round(value, d) != round(level, d)), 6)
    return f"{value:.{digits}f}, {'over' if value >= level else 'under'} the level {level:.{digits}f}"


def monte_carlo_text(rows: pd.DataFrame, limit: int = 3) -> str:
    """The sentence naming a question's estimates within Monte Carlo error
    of their level (:func:`near_level`; supported ones first), and whether
    the question's answer could change with them ('' when there are none):
    a "supported" answer whose supported estimates are all named, or a
    "ruled out" answer (every estimate must be ruled out) with one named."""
    near = near_level(rows)
    if near.empty:
        return ""
    near = near.assign(_first=near["category"] != SUPPORT).sort_values("_first", kind="stable")
    one = len(near) == 1
    named = "; ".join(f"{where(r)} ({r['probability']} {_against(r['value'], r['level'])}, Monte Carlo SE {r['se']:.4f})"
                      for _, r in near.head(limit).iterrows())
    text = (f" {'One estimate lies' if one else f'{len(near)} estimates lie'} within {MONTE_CARLO_SES} Monte Carlo SEs of "
            f"{'its' if one else 'their'} level, so more draws could change {'its' if one else 'their'} verdict: {named}"
            + (f"; and {len(near) - limit} more" if len(near) > limit else "") + ".")
    category = overall_category(rows)
    supported = rows[rows["category"] == SUPPORT]
    if category == SUPPORT and supported.index.isin(near.index).all():
        text += f" The answer \"{SUPPORT}\" rests on {_some(supported)}, so it could change too."
    elif category == RULED:
        text += f" The answer \"{RULED}\" needs every estimate ruled out, so it could change too."
    return text


def overall_category(rows: pd.DataFrame) -> str:
    """The category of a set of estimates (one question, or one marker of it)."""
    categories = set(rows["category"])
    reliable = categories - {UNRELIABLE}
    if not reliable:
        return UNRELIABLE
    if SUPPORT in reliable:
        return SUPPORT
    if reliable == {RULED}:
        return RULED
    if reliable == {UNCLASSIFIED}:
        return UNCLASSIFIED
    return INCONCLUSIVE


def key_estimate(rows: pd.DataFrame) -> pd.Series:
    """The estimate that decides the category of ``rows``: among the estimates of
    that category, the one with the highest probability of direction (ties: the
    farthest from the null)."""
    category = overall_category(rows)
    pool = rows if category == UNRELIABLE else rows[rows["category"] == category]
    null = pool["estimand"].map(null_value)
    distance = np.where(null == 1.0, np.abs(np.log(pool["mean"].clip(lower=1e-12))), np.abs(pool["mean"] - null))
    excludes = (pool["ci_low"] > null) | (pool["ci_high"] < null)  # decides among estimates without probabilities
    order = pool.assign(_pd=p_direction(pool).fillna(-1), _ex=excludes, _dist=distance)
    order = order.sort_values(["_pd", "_ex", "_dist"], ascending=False, kind="stable")
    return order.drop(columns=["_pd", "_ex", "_dist"]).iloc[0]


def variant_of(estimand: str) -> tuple[str, str] | None:
    """(known estimand, variant) for a sensitivity variant such as ``nif_change_ratio_student``."""
    base = base_name(estimand)
    return (base, estimand[len(base) + 1:]) if base and base != estimand else None


def describe(estimand: str) -> str:
    """The question behind an estimand (``estimands.REGISTRY``; a sensitivity
    variant of one says which), else its description, else its name."""
    variant = variant_of(estimand)
    if estimand in REGISTRY or variant:
        entry = REGISTRY[variant[0] if variant else estimand]
        text = entry.question or entry.description[0].upper() + entry.description[1:]
        if variant:
            text += (f" {VARIANT_LEADS.get(variant[1], 'Sensitivity analysis')}: "
                     f"{VARIANTS.get(variant[1], variant[1].replace('_', ' '))}.")
        return text
    return estimand.replace("_", " ").capitalize()


def questions(chapters: list[ChapterResults]) -> list[Question]:
    """The page's questions, one per chapter and estimand, in the chapters'
    order; a question every one of whose estimates (by
    ``estimands.KEY_COLUMNS``) an earlier chapter already gave is
    ``revisited`` (chapter 06 revisits 02-04; chapter 08 refits the book's
    model)."""
    out, seen, seen_keys = [], set(), set()
    for chapter in chapters:
        if chapter.estimates is None:
            continue
        table = chapter.estimates.assign(category=classify(chapter.estimates))
        for estimand, rows in table.groupby("estimand", sort=False):
            if estimand in NOT_QUESTIONS:
                continue
            rows = question_categories(rows)
            text = describe(estimand)
            if (rows["subgroup"].astype(str) != estimands.ALL_PARTICIPANTS).any():
                text += " (by subgroup)"
            elif estimand in seen:
                text += " (revisited)"
            keys = set(rows[list(estimands.KEY_COLUMNS)].astype(str).itertuples(index=False, name=None))
            seen.add(estimand)
            out.append(Question(chapter, estimand, text, rows, key_estimate(rows), keys <= seen_keys))
            seen_keys |= keys
    return out


def where(row: pd.Series) -> str:
    """Which estimate: 'IL-6 at 24h in BMI < 25' (visit and subgroup unless all)."""
    text = str(row["marker"])
    if str(row["visit"]) not in (estimands.ALL_VISITS, "", "nan"):
        text += f" at {row['visit']}"
    if str(row["subgroup"]) not in (estimands.ALL_PARTICIPANTS, "", "nan"):
        text += f" in {row['subgroup']}"
    return text


def number(x: float) -> str:
    return f"{x:.{DIGITS}f}"


def level_text(level: float) -> str:
    """A probability level near 1 with four decimals, or as many more as it
    takes not to read as 1 (0.99996, not 1.0000)."""
    digits = 4
    while f"{level:.{digits}f}".startswith("1") and level < 1 and digits < 12:
        digits += 1
    return f"{level:.{digits}f}"


def interval_text(row: pd.Series) -> str:
    """'-8.45 [-11.22, -5.67] MADRS points': the estimate, its 95% interval and
    its unit (:data:`~ketamine_nif.estimands.UNITS`), and "95% confidence
    interval" where the estimate has no posterior probabilities (a
    frequentist method's: chapter 07)."""
    text = f"{number(row['mean'])} [{number(row['ci_low'])}, {number(row['ci_high'])}]"
    unit = estimands.unit(str(row["estimand"]))
    confidence = ["95% confidence interval"] if pd.isna(row.get("p_positive")) else []
    if unit.startswith("("):  # a note, not a unit (a ratio): one bracket for both
        return text + f" ({'; '.join([unit[1:-1], *confidence])})"
    return text + (f" {unit}" if unit else "") + "".join(f" ({c})" for c in confidence)


def _some(rows: pd.DataFrame, limit: int = 3) -> str:
    names = [where(r) for _, r in rows.iterrows()]
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def answer(question: Question) -> str:
    """The answer in one sentence, from the counts of the categories."""
    c, rows = question.counts, question.rows
    total = len(rows)
    reliable = total - c[UNRELIABLE]
    if reliable == 0:
        return f"No answer: the fit behind {'this estimate' if total == 1 else f'these {total} estimates'} failed the convergence checks, so nothing here is a finding."
    if c[UNCLASSIFIED] == reliable:
        text = f"Estimates only ({reliable}); the chapter gives no posterior probabilities to classify them."
    elif c[SUPPORT]:
        supported = rows[rows["category"] == SUPPORT]
        text = f"An effect is supported for {c[SUPPORT]} of {reliable} ({_some(supported)})"
        rest = [f"ruled out for {c[RULED]}" if c[RULED] else "", f"inconclusive for {c[INCONCLUSIVE]}" if c[INCONCLUSIVE] else ""]
        rest = [r for r in rest if r]
        text += ("; " + " and ".join(rest) if rest else "") + "."
    elif c[RULED] == reliable:
        text = f"No: an effect of practical size is ruled out for all {reliable}." if reliable > 1 else "No: an effect of practical size is ruled out."
    elif c[RULED]:
        text = f"No effect is supported; one of practical size is ruled out for {c[RULED]} of {reliable}, the rest are inconclusive."
    else:
        text = (f"Inconclusive: no effect is supported, but one of practical size cannot be ruled out for any of the {reliable}."
                if reliable > 1 else "Inconclusive: no effect is supported, but one of practical size cannot be ruled out.")
    short = rows[rows["short_of_question"].astype(bool)] if "short_of_question" in rows else rows.iloc[:0]
    if len(short):
        level = question_level(classified_count(rows))
        text += (f" {_some(short)} {'reaches' if len(short) == 1 else 'reach'} the level of a single estimate "
                 f"(P(direction) {SUPPORTED:g}) but not the {level_text(level)} that a question of {classified_count(rows)} asks.")
    text += monte_carlo_text(rows)
    if c[UNRELIABLE]:
        text += f" {c[UNRELIABLE]} more from fits that failed the convergence checks are left out."
    return text


FALSE_SUPPORT = 2 * (1 - SUPPORTED)  # chance that the rule calls a null estimate supported (either direction), if calibrated
FALSE_RULED_OUT = 1 - RULED_OUT  # about the chance that the rule calls an effect at the ROPE's edge ruled out, if calibrated


def at_least_one(n: int, rate: float) -> float:
    """The chance of at least one false call among ``n`` independent estimates, each false with ``rate``."""
    return 1.0 - (1.0 - rate) ** n


def multiplicity(question: Question) -> str:
    """How many estimates a supported or ruled-out answer rests on, the
    level each had to reach, and the chance of a false call under the rule
    if the posteriors are calibrated (treating the estimates as independent,
    which overstates it when they are correlated)."""
    category = overall_category(question.rows)
    n = classified_count(question.rows)
    if category == SUPPORT:
        level = question_level(n)
        if n == 1:
            return f"1 estimate: P(supported with no effect) ≈ {100 * FALSE_SUPPORT:.0f}%"
        return (f"any of {n}, each at P(direction) ≥ {level_text(level)}: with no effect anywhere, P(answered supported) "
                f"≈ {100 * at_least_one(n, 2 * (1 - level)):.0f}% or less")
    if category == RULED:
        return (f"all {n}: P(at least one wrong) up to about {100 * at_least_one(n, FALSE_RULED_OUT):.0f}%" if n > 1 else
                f"1 estimate: P(wrong) up to about {100 * FALSE_RULED_OUT:.0f}%")
    return ""


def multiplicity_text(qs: list[Question]) -> str:
    """The page's multiplicity in one paragraph, counting each estimate once
    (the questions that are :attr:`Question.own`)."""
    again = sum(classified_count(q.rows) for q in qs if q.revisited)
    qs = [q for q in qs if q.own]
    reliable = sum(classified_count(q.rows) for q in qs)
    supported = sum(q.counts[SUPPORT] for q in qs)
    if MULTIPLICITY == "none":
        support = (f"Under the rule, a null estimate from a calibrated posterior is called supported with probability "
                   f"about {100 * FALSE_SUPPORT:.0f}%; if nothing had an effect, about {FALSE_SUPPORT * reliable:.0f} of the "
                   f"{reliable} would be called supported by chance (here {supported} {'is' if supported == 1 else 'are'}).")
    else:
        support = (f"So each of a question's n estimates must reach P(direction) 1 - {1 - SUPPORTED:.3g}/n instead of "
                   f"{SUPPORTED:g} (Bonferroni, `multiplicity` in `params/analysis.yaml`): with no effect anywhere, a "
                   f"question is then answered supported about as rarely as a single estimate would be, at most about "
                   f"{100 * FALSE_SUPPORT:.0f}% if the posteriors are calibrated; without it, a question of 21 independent "
                   f"null estimates would be answered supported in up to about {100 * at_least_one(21, FALSE_SUPPORT):.0f}% "
                   "of trials ([model criticism](08-model-criticism.ipynb#sec-criticism-calibration) measures both). "
                   f"The chapters judge each estimate alone, at {SUPPORTED:g}; the answers here name the estimates that "
                   f"reach that level but not their question's (here {supported} estimate{'' if supported == 1 else 's'} "
                   f"{'supports its question' if supported == 1 else 'support their questions'}). The level holds per "
                   f"question, not for the page: with its {len(qs)} questions and no effect anywhere, some question "
                   f"could be answered supported in up to about {100 * min(1.0, len(qs) * FALSE_SUPPORT):.0f}% of trials.")
    return (
        f"**Multiplicity.** This page classifies {reliable} reliable estimates"
        + (f" (each once: the {again} that a later chapter gives again are not counted twice)" if again else "")
        + f". A question counts as supported when any "
        f"of its estimates is, so its answer rests on all of them (the column *rests on*). {support} A ruled-out answer "
        f"is wrong for an estimate with probability about {100 * FALSE_RULED_OUT:.0f}% when the true effect lies just "
        "outside its region of practical equivalence (less for larger effects), and needs every estimate of its question "
        "ruled out; the book's sceptical priors raise that a little, which "
        "[the NIF chapter measures for this trial](02-nif-trajectories.ipynb#sec-nif-sharing). The chances given per "
        "question treat its estimates as independent; estimates of one marker at several visits are correlated, so "
        "the true chance of at least one false call is lower."
    )


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


# per verdict: its column of the rates, and how often it was given wrongly: the answer "supported" per
# question (in simulated trials with no effect), "ruled out" per estimate (the page counts ruled-out estimates)
MEASURED = {SUPPORT: ("false supported", "in {rate} of simulated trials with no effect"),
            RULED: ("false ruled out", "to {rate} of the estimates with an effect too large to be negligible, on simulated trials")}
MAX_ERROR_RATE = load_analysis().max_error_rate  # the largest measured error rate of an answer (as in MEASURED) before it is withheld
WITHHELD = "withheld"


def _measured(category: str, question: Question, rates: pd.DataFrame | None) -> tuple[float, float] | None:
    """How often the rule gave the question's ``category`` wrongly on
    simulated trials (the answer "supported" in trials with no effect; "ruled
    out" to estimates with an effect too large to be negligible) and its
    Monte Carlo error (``rates``: :func:`ketamine_nif.recovery.verdict_error_rates`,
    by estimand); None where none was measured: the studies fit the book's main
    models to the whole sample, so subgroup questions and a chapter's
    variants (another model) get none."""
    whole = (question.rows["subgroup"].astype(str) == ALL_PARTICIPANTS).all() if "subgroup" in question.rows else True
    if rates is None or category not in MEASURED or not whole:
        return None
    column = MEASURED[category][0]
    if question.estimand not in rates.index or pd.isna(rates.loc[question.estimand, column]):
        return None
    return float(rates.loc[question.estimand, column]), float(rates.loc[question.estimand, f"{column} MCSE"])


def _rate(measured: tuple[float, float]) -> str:
    rate, error = measured
    return f"{100 * rate:.1f}%" + ("" if np.isnan(error) else f" ± {100 * error:.1f}")


def measured_error(category: str, question: Question, rates: pd.DataFrame | None) -> str:
    """The measured error rate of a question's answer (:func:`_measured`),
    as a parenthesis for the summary's evidence column; '' where none was measured."""
    measured = _measured(category, question, rates)
    if measured is None:
        return ""
    return f" (given wrongly {MEASURED[category][1].format(rate=_rate(measured))}{_measured_size(category, question, rates)})"


def _measured_size(category: str, question: Question, rates: pd.DataFrame) -> str:
    """Where a question holds fewer or more estimates than those its false
    "supported" was measured on (real data can leave some out: the book
    drops estimates the data cannot inform), a clause saying so ('' else):
    the level per estimate then differs, the bound per question does not,
    but the rate was measured at the other size."""
    column = f"{MEASURED[SUPPORT][0]} estimates"
    if category != SUPPORT or column not in rates or pd.isna(rates.loc[question.estimand, column]):
        return ""
    measured, here = round(float(rates.loc[question.estimand, column])), classified_count(question.rows)
    return "" if measured == here else f", measured on questions of {measured} estimates; this one has {here}"


def withheld_reason(category: str, question: Question, rates: pd.DataFrame | None) -> str:
    """Why the summary withholds the answer ``category`` of a question, in
    one sentence: on simulated trials the rule gave it wrongly more often
    than ``max_error_rate`` (``params/analysis.yaml``; the measured share
    itself, not a bound on it), per question for "supported" and per
    estimate for "ruled out" (:data:`MEASURED`); '' when the answer stands
    or no rate was measured for it."""
    measured = _measured(category, question, rates)
    if measured is None or measured[0] <= MAX_ERROR_RATE:
        return ""
    return (f"The answer \"{category}\" is withheld here: the rule gave it wrongly {MEASURED[category][1].format(rate=_rate(measured))}, "
            f"more than the {100 * MAX_ERROR_RATE:.0f}% the report accepts, so those estimates count as {INCONCLUSIVE}.")


def withhold(question: Question, rates: pd.DataFrame | None) -> tuple[Question, dict[str, str]]:
    """The question as the summary shows it: each of its verdicts that the
    rule gives wrongly too often (:func:`withheld_reason`) counted as
    inconclusive, estimate by estimate, and the reasons by verdict ({} when
    nothing is withheld; the question itself is left as it was)."""
    reasons = {c: reason for c in MEASURED if question.counts[c] and (reason := withheld_reason(c, question, rates))}
    if not reasons:
        return question, {}
    withheld = question.rows["category"].isin(list(reasons))
    rows = question.rows.assign(category=question.rows["category"].mask(withheld, INCONCLUSIVE), withheld=withheld)
    return replace(question, rows=rows), reasons


def summary_markdown(qs: list[Question], rates: pd.DataFrame | None = None) -> str:
    """The summary table (a Markdown pipe table with links to the chapters);
    with ``rates``, each supported or ruled-out verdict carries its measured
    error rate (:func:`measured_error`), and one given wrongly too often is
    withheld (:func:`withhold`), with the reason in the answer."""
    lines = ["| question | answer | key estimate [95% interval] | evidence | rests on |", "|:------|:------------|:-------|:---|:---|"]
    for q in qs:
        key = q.key
        shown_q, reasons = withhold(q, rates)
        category = overall_category(shown_q.rows)
        shown = ((f"**{category}**" if category in (SUPPORT, RULED) else f"*{category}*") + measured_error(category, q, rates)
                 + "".join(f" ({WITHHELD}: {c}, given wrongly in {_rate(_measured(c, q, rates))})" for c in reasons))
        estimate = f"{where(key)}: {interval_text(key)}"
        lines.append("| " + " | ".join(_cell(x) for x in (
            f"{q.text} ([{q.chapter.title}]({q.chapter.link}))", " ".join([answer(shown_q), *reasons.values()]), estimate,
            shown, multiplicity(q))) + " |")
    return "\n".join(lines)


def summary_frame(qs: list[Question], rates: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per question: the chapter, the key estimate's keys and values,
    the rule's category, the verdicts the summary withholds (``rates`` as in
    :func:`summary_markdown`; comma-separated) and the category it shows
    then, the answer as shown and the rule's counts (saved as ``summary.csv``
    next to the page)."""
    rows = []
    for q in qs:
        key = q.key
        shown_q, reasons = withhold(q, rates)
        rows.append({
            "chapter": q.chapter.stem, "question": q.text, **{k: key[k] for k in COLUMNS}, "category": overall_category(q.rows),
            "withheld": ", ".join(reasons), "shown_category": overall_category(shown_q.rows),
            "answer": " ".join([answer(shown_q), *reasons.values()]),
            **{f"n_{c.replace(' ', '_')}": n for c, n in q.counts.items()},
        })
    return pd.DataFrame(rows)


def findings_text(qs: list[Question], rates: pd.DataFrame | None = None, source: str = "") -> str:
    """The summary of findings: the table (with the verdicts' measured error
    rates from ``source``, when there are ``rates``), what those rates mean,
    and its multiplicity; or why there is none."""
    if not qs:
        return "No analysis chapter has written estimates yet: run the notebooks first (`make report`)."
    return summary_markdown(qs, rates) + "\n\n" + error_rates_text(source if rates is not None else "") + multiplicity_text(qs)


def error_rates_text(source: str) -> str:
    """One sentence on what the measured error rates beside the verdicts
    mean (''  without them)."""
    if not source:
        return ""
    return (f"**Measured error rates.** Beside each supported or ruled-out answer is how often the rule gave it wrongly "
            f"on simulated trials like this one, from {source}: the answer supported to the same question when none of "
            "its estimates had an effect, and ruled out to an estimate with an effect too large to be negligible "
            "([model criticism](08-model-criticism.ipynb#sec-criticism-calibration)). An answer given wrongly more "
            f"often than {100 * MAX_ERROR_RATE:.0f}% is withheld: its estimates count as inconclusive.\n\n")


def missing_text(chapters: list[ChapterResults], planned: dict[str, str]) -> str:
    """The analysis chapters without estimates (with the reason) and the planned
    analyses not in this edition ('' when nothing is missing)."""
    from .reporting import join_words

    missing = [c for c in chapters if c.estimates is None]
    parts = ["Missing from this summary: " + "; ".join(f"[{c.title}]({c.link}): {c.problem}" for c in missing) + "."] if missing else []
    if planned:
        parts.append(f"Not yet part of this edition: {join_words(planned.values())}.")
    return "\n\n".join(parts)


def uninformed_text(assessment) -> str:
    """The estimates that the data cannot inform, left out of every chapter
    (:mod:`ketamine_nif.identifiability`), by estimand with their markers; ''
    when there are none."""
    from .identifiability import markers_by
    from .reporting import join_words

    markers = markers_by(assessment.gaps, lambda gap: REGISTRY[gap.estimand].label)
    if not markers:
        return ""
    items = join_words(f"{label} ({join_words(found)})" if found else label for label, found in markers.items())
    return f"Not reported, as these data cannot inform them (the chapters' callouts give the reasons): {items}."


def thresholds_text(qs: list[Question] | None = None) -> str:
    """The rule in words; with the page's questions ``qs``, how many
    effective draws its largest question needs to be told apart from its
    level (see :func:`draws_to_resolve`)."""
    largest = max((classified_count(q.rows) for q in qs), default=0) if qs else 0
    return (
        f"Each estimate is placed in one evidence category: **ruled out** when the probability that it lies inside "
        f"its region of practical equivalence (ROPE, one per kind of estimand, in the analysis configuration) is at least {RULED_OUT:g}, so an effect of "
        f"practical size is ruled out; **supported** when the probability of its direction is at least {SUPPORTED:g} "
        f"(its 95% interval excludes no effect)"
        + ("" if MULTIPLICITY == "none" else
           f", and, since one supported estimate answers a question, at least 1 - {1 - SUPPORTED:.3g}/n for each of a "
           "question's n estimates (see *Multiplicity* below)")
        + "; *inconclusive* otherwise. Estimates from fits that failed the "
        "convergence checks are *unreliable* and are never counted as findings. A question is supported when any of "
        "its reliable estimates is, ruled out when all of them are, inconclusive otherwise; its key estimate is the "
        "estimate of that category with the strongest evidence of an effect (the highest probability of direction). "
        "Each probability is a share of posterior draws and so carries a Monte Carlo error: an estimate within "
        f"{MONTE_CARLO_SES} Monte Carlo SEs of its level (the SE of a share of the effective draws behind it, were the "
        "true probability the level; an approximation) is named in the answer, since more draws could change its "
        "verdict"
        + (f" (at this page's largest question, of {largest} estimates, even all draws on one side clear its level by "
           f"that margin only from {draws_to_resolve(question_level(largest)):,} effective draws)"
           if largest > 1 and MULTIPLICITY != "none" else "")
        + "."
    )


def short_name(estimand: str) -> str:
    """A row label for the figure."""
    if estimand in REGISTRY:
        return REGISTRY[estimand].label
    variant = variant_of(estimand)
    if variant:
        return f"{REGISTRY[variant[0]].label} ({variant[1].replace('_', ' ')})"
    return estimand.replace("_", " ")


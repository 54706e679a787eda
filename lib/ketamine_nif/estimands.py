"""Names and keys of the estimands, shared by the synthetic twin's ``truth.csv``
and every analysis's ``estimates.csv``, so that recovery is a join on
:data:`KEY_COLUMNS`.

=================================  ==========  ===========  =========================================
estimand                           marker      visit        meaning (units)
=================================  ==========  ===========  =========================================
madrs_change_difference            MADRS       each post    ketamine minus saline mean MADRS change
                                                            from baseline (points)
nif_change_ratio                   each NIF    each post    ketamine/saline ratio of geometric-mean
                                                            change from baseline (ratio; 1 = none)
coupling_within_ketamine           each NIF    all          MADRS points per doubling of the NIF
coupling_within_saline                                      within a person, in that arm
coupling_within_difference         each NIF    all          ketamine minus saline of the above
baseline_moderation_difference     each NIF    each post    ketamine minus saline MADRS change per
                                                            SD of baseline log NIF (points)
=================================  ==========  ===========  =========================================

Subgroup analyses (chapters 05 and 07) write the same estimands with
``subgroup`` set to a subgroup's label, and one more per binary split:

=================================  ==========  ===========  =========================================
coupling_subgroup_difference_ARM   each NIF    all          within-person coupling in the split's
                                                            first subgroup minus its second, in arm
                                                            ARM (ketamine or saline); subgroup =
                                                            "<first label> vs <second label>"
nif_change_subgroup_ratio          each NIF    all          the split's first subgroup's NIF change
                                                            ratio over its second's (1 = none)
=================================  ==========  ===========  =========================================

A sensitivity analysis writes an estimand as its variant ``<estimand>_<variant>``
(:data:`VARIANTS`: chapter 08's refits of the aim 1 model, chapter 05's day-1
regression), so that the summary asks it as a question of its own.
"""

from __future__ import annotations

from dataclasses import dataclass

KEY_COLUMNS = ("estimand", "marker", "visit", "subgroup")
ALL_VISITS = "all"
ALL_PARTICIPANTS = "all"

MADRS_CHANGE_DIFFERENCE = "madrs_change_difference"
NIF_CHANGE_RATIO = "nif_change_ratio"
COUPLING_WITHIN = {arm: f"coupling_within_{arm}" for arm in ("ketamine", "saline", "difference")}
BASELINE_MODERATION_DIFFERENCE = "baseline_moderation_difference"

SUBGROUP_COUPLING_DIFFERENCE = {arm: f"coupling_subgroup_difference_{arm}" for arm in ("ketamine", "saline")}
SUBGROUP_NIF_RATIO = "nif_change_subgroup_ratio"


BOTH_ARMS = ("ketamine", "saline")
BTHEB_TREATMENT = "treatment_btheb"  # chapter 09: Beat the Blues treatment effect on BDI (external validation)


@dataclass(frozen=True)
class Estimand:
    """Everything the report knows about one estimand, in one place.

    ``family`` names its region of practical equivalence and its important
    effect in ``params/analysis.yaml``; ``ratio`` estimands have no effect at 1
    and are summarised on the log scale, the others at 0."""

    name: str
    family: str
    ratio: bool
    description: str  # what it measures, with units
    question: str  # the question of the report it answers ("" for covariates)
    label: str  # a short name for figure rows and axes
    # What it needs from the trial's data (ketamine_nif.identifiability; "" for estimands of other data):
    # "outcome change", "marker change" (the marker at baseline and after), "baseline marker" (the marker at
    # baseline and a change in the outcome) or "paired change" (the marker's change beside the outcome's) ...
    needs: str = ""
    arms: tuple[str, ...] = ()  # ... in each of these arms
    per_visit: bool = False  # ... at each post-infusion visit (an estimand of one visit), or over all of them

    @property
    def null(self) -> float:
        return 1.0 if self.ratio else 0.0


# The families: estimands of one family share a region of practical equivalence
# and an important effect (params/analysis.yaml, ``ropes`` and ``important``).
FAMILIES = {
    "nif_ratio": "ratio of a NIF's change (ketamine over saline, or subgroup over subgroup)",
    "madrs_difference": "ketamine minus saline MADRS change (points)",
    "coupling": "within-person coupling (MADRS points per doubling of a NIF)",
    "moderation": "baseline moderation (MADRS points per SD of baseline log NIF)",
    "bdi_effect": "effect on BDI (points per unit of a predictor; Beat the Blues)",
}
# The unit an estimate of each family is in, as the summary page prints it after a number.
UNITS = {
    "nif_ratio": "(ratio)",
    "madrs_difference": "MADRS points",
    "coupling": "MADRS points per doubling",
    "moderation": "MADRS points per SD",
    "bdi_effect": "BDI points",
}


def _coupling(arm: str) -> Estimand:
    return Estimand(COUPLING_WITHIN[arm], "coupling", False,
                    f"MADRS points per doubling of the NIF within a person, {arm} arm",
                    f"After {arm}, does depression move with a NIF within a person?", f"coupling, {arm} arm",
                    "paired change", (arm,))


REGISTRY: dict[str, Estimand] = {e.name: e for e in [
    Estimand(MADRS_CHANGE_DIFFERENCE, "madrs_difference", False,
             "ketamine minus saline mean MADRS change from baseline (points)",
             "Did ketamine lower depression scores (MADRS) more than saline?", "MADRS change, ketamine - saline",
             "outcome change", BOTH_ARMS, per_visit=True),
    Estimand(NIF_CHANGE_RATIO, "nif_ratio", True, "ketamine/saline ratio of geometric-mean change from baseline",
             "Do NIF levels change differently after ketamine than after saline?", "NIF change, ketamine / saline",
             "marker change", BOTH_ARMS, per_visit=True),
    _coupling("ketamine"),
    _coupling("saline"),
    Estimand(COUPLING_WITHIN["difference"], "coupling", False,
             "ketamine minus saline within-person coupling (MADRS points per doubling)",
             "Does that within-person coupling differ between ketamine and saline?", "coupling, ketamine - saline",
             "paired change", BOTH_ARMS),
    Estimand(BASELINE_MODERATION_DIFFERENCE, "moderation", False,
             "ketamine minus saline MADRS change per SD of baseline log NIF (points)",
             "Do baseline NIF levels predict who benefits from ketamine?", "baseline NIF as moderator",
             "baseline marker", BOTH_ARMS, per_visit=True),
    *[Estimand(SUBGROUP_COUPLING_DIFFERENCE[arm], "coupling", False,
               f"coupling in a split's first subgroup minus its second, {arm} arm",
               f"After {arm}, does the within-person coupling differ between subgroups?", f"subgroup difference in coupling, {arm}",
               "paired change", (arm,))
      for arm in ("ketamine", "saline")],
    Estimand(SUBGROUP_NIF_RATIO, "nif_ratio", True,
             "a split's first subgroup's ketamine/saline NIF change ratio over its second's",
             "Does ketamine's effect on a NIF differ between subgroups?", "subgroup ratio of NIF change",
             "marker change", BOTH_ARMS),
    Estimand(BTHEB_TREATMENT, "bdi_effect", False, "Beat the Blues minus usual care, BDI points (external data)",
             "On real data (Beat the Blues), does the same kind of model find a treatment effect on BDI?",
             "Beat the Blues treatment (BDI)"),
]}
# Sensitivity variants of an estimand, named <estimand>_<variant> (chapter 08's refits of the aim 1 model;
# chapter 05's day-1 regression):
# variant -> what differs from the book's model
VARIANTS = {
    "student": "Student-t likelihood",
    "lod_half": "values below the detection limit set to half of it",
    "lod_sqrt2": "values below the detection limit set to it divided by the square root of 2",
    "person_slopes": "each participant's own linear course over the days after the infusion",
    "day1": ("its day-1 question for one marker and split, the change from baseline to the first visit after the "
             "infusion in one regression per subgroup, nothing pooled"),
}
# how the summary introduces a variant (default: "Sensitivity analysis"): the day-1 regression is the paper's own
VARIANT_LEADS = {"day1": "The paper's own analysis"}
MAIN = [MADRS_CHANGE_DIFFERENCE, NIF_CHANGE_RATIO, *COUPLING_WITHIN.values(), BASELINE_MODERATION_DIFFERENCE]  # the twin's truth.csv


def base_name(estimand: str) -> str | None:
    """The registered estimand behind a name: itself, or ``<estimand>`` of a
    variant ``<estimand>_<variant>`` (chapter 08's ``nif_change_ratio_student``);
    None when the name is not known."""
    if estimand in REGISTRY:
        return estimand
    known = [name for name in REGISTRY if estimand.startswith(f"{name}_")]
    return max(known, key=len) if known else None


def lookup(estimand: str) -> Estimand:
    """The registry entry of an estimand or of one of its variants; KeyError names the known ones."""
    base = base_name(estimand)
    if base is None:
        raise KeyError(f"unknown estimand {estimand!r}; the registry (estimands.REGISTRY) knows {', '.join(REGISTRY)}")
    return REGISTRY[base]


def unit(estimand: str) -> str:
    """The unit of an estimand's estimates (:data:`UNITS`; variants included), '' for an unknown name."""
    base = base_name(estimand)
    return "" if base is None else UNITS[REGISTRY[base].family]


def is_ratio(estimand: str) -> bool:
    """Ratios (1 = no effect), variants included; unknown names are differences."""
    base = base_name(estimand)
    return base is not None and REGISTRY[base].ratio


def null_value(estimand: str) -> float:
    """The value of no effect: 1 for ratios, 0 otherwise."""
    return 1.0 if is_ratio(estimand) else 0.0


def description(estimand: str) -> str:
    """What an estimand measures (its name when the registry does not know it)."""
    base = base_name(estimand)
    return REGISTRY[base].description if base else estimand


def split_key(labels) -> str:
    """The ``subgroup`` key of a split-level estimand: "<first> vs <second>"."""
    first, second = labels
    return f"{first} vs {second}"

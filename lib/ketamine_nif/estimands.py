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
"""

from __future__ import annotations

KEY_COLUMNS = ("estimand", "marker", "visit", "subgroup")
ALL_VISITS = "all"
ALL_PARTICIPANTS = "all"

MADRS_CHANGE_DIFFERENCE = "madrs_change_difference"
NIF_CHANGE_RATIO = "nif_change_ratio"
COUPLING_WITHIN = {arm: f"coupling_within_{arm}" for arm in ("ketamine", "saline", "difference")}
BASELINE_MODERATION_DIFFERENCE = "baseline_moderation_difference"

SUBGROUP_COUPLING_DIFFERENCE = {arm: f"coupling_subgroup_difference_{arm}" for arm in ("ketamine", "saline")}
SUBGROUP_NIF_RATIO = "nif_change_subgroup_ratio"


RATIO_ESTIMANDS = (NIF_CHANGE_RATIO, SUBGROUP_NIF_RATIO)


def is_ratio(estimand: str) -> bool:
    """Ratios (1 = no effect): the NIF change ratios, the subgroup ratio, and
    any variant named ``<ratio estimand>_<variant>`` (chapter 08's
    ``nif_change_ratio_student``, ...)."""
    return any(estimand == name or estimand.startswith(f"{name}_") for name in RATIO_ESTIMANDS)


def null_value(estimand: str) -> float:
    """The value of no effect: 1 for ratios, 0 otherwise."""
    return 1.0 if is_ratio(estimand) else 0.0


def split_key(labels) -> str:
    """The ``subgroup`` key of a split-level estimand: "<first> vs <second>"."""
    first, second = labels
    return f"{first} vs {second}"


DESCRIPTIONS = {
    MADRS_CHANGE_DIFFERENCE: "ketamine minus saline mean MADRS change from baseline (points)",
    NIF_CHANGE_RATIO: "ketamine/saline ratio of geometric-mean change from baseline",
    COUPLING_WITHIN["ketamine"]: "MADRS points per doubling of the NIF within a person, ketamine arm",
    COUPLING_WITHIN["saline"]: "MADRS points per doubling of the NIF within a person, saline arm",
    COUPLING_WITHIN["difference"]: "ketamine minus saline within-person coupling (MADRS points per doubling)",
    BASELINE_MODERATION_DIFFERENCE: "ketamine minus saline MADRS change per SD of baseline log NIF (points)",
}

SUBGROUP_DESCRIPTIONS = {
    SUBGROUP_COUPLING_DIFFERENCE["ketamine"]: "coupling in a split's first subgroup minus its second, ketamine arm",
    SUBGROUP_COUPLING_DIFFERENCE["saline"]: "coupling in a split's first subgroup minus its second, saline arm",
    SUBGROUP_NIF_RATIO: "a split's first subgroup's ketamine/saline NIF change ratio over its second's",
}

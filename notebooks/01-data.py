# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # The data {#sec-data}
#
# What data does this report analyse, are they fit for the analyses, and what
# had to be assumed? This chapter checks the data against the project's
# contract, follows the participants through the visits, compares the arms at
# baseline, shows how depression and each blood marker evolved, and lists every
# assumption in force. It shows aggregates only: no participant-level values and
# no identifiers.

# %% tags=["parameters"]
data_dir = "data/synthetic"  # the data directory (contract: data/README.md)
output_dir = "_build/outputs/01-data"  # where this chapter writes its tables
subgroups_file = "params/subgroups.yaml"  # subgroup definitions (14 binary splits)
individual_lines = "auto"  # faint per-participant lines in figures: auto (on synthetic data only), True or False

# %%
from pathlib import Path

import yaml

from ketamine_nif import describe, plotting
from ketamine_nif.chapter import open_data
from ketamine_nif.contract import RULES, validation_summary
from ketamine_nif.reporting import join_words, say, show_table
from ketamine_nif.subgroups import load_splits, subgroup_counts, usable

plotting.setup()
out = Path(output_dir)
out.mkdir(parents=True, exist_ok=True)
dataset = open_data(data_dir)  # validates; a broken rule stops here with its file, rows and rule
sizes = describe.arm_sizes(dataset)
show_lines = dataset.synthetic if individual_lines == "auto" else bool(individual_lines)

# %% [markdown]
# ## Checking the data against the contract {#sec-data-validation}
#
# The data arrive as two tables, `participants` and `measurements`, whose
# columns and rules are set out in the project's data contract. Every rule is
# checked before any analysis runs; a dataset that breaks one is refused with a
# message naming the file, the rows and the rule. Nothing is dropped silently:
# @tbl-validation counts what was read and how each kind of row is handled.

# %%
#| label: tbl-validation
#| tbl-cap: "What was read, and how each kind of row is handled."
summary = validation_summary(dataset)
summary.to_csv(out / "validation.csv", index=False)
show_table(summary)

# %%
say(
    f"All {len(RULES)} rules of the contract hold. The data hold {len(dataset.participants)} participants "
    f"({sizes['ketamine']} randomised to ketamine and {sizes['saline']} to saline), "
    f"{len(dataset.measurements)} measurement rows, and the measures {join_words([dataset.study.outcome, *dataset.markers])}."
)

# %% [markdown]
# ## Assumptions in force {#sec-assumptions}
#
# The paper does not publish its blood-draw schedule, its full marker panel or
# its list of subgroups. Where this report needs them it takes them from the
# data (schedule and panel) or from a parameter file (subgroups), and shows them
# here, in one place.
#
# **Schedule.** @tbl-schedule gives the visits as they occur in the data, in the
# order of their median timing.

# %%
#| label: tbl-schedule
#| tbl-cap: "Visits, participants seen at each, and their timing in hours since the infusion."
schedule = describe.schedule_table(dataset)
schedule.to_csv(out / "schedule.csv", index=False)
show_table(schedule)

# %%
scenario_file = Path(data_dir) / "scenario.yaml"
if dataset.synthetic and scenario_file.exists():
    say(describe.twin_assumptions(yaml.safe_load(scenario_file.read_text())))

# %% [markdown]
# **Marker panel.** @tbl-panel lists the blood markers with their detection
# limits. A value under its limit is not a number but an interval (somewhere
# between zero and the limit); the models treat it as censored rather than
# substituting a guess.

# %%
#| label: tbl-panel
#| tbl-cap: "Blood markers, their detection limits and the share of values below them."
panel = describe.panel_table(dataset)
panel.to_csv(out / "panel.csv", index=False)
show_table(panel)

# %% [markdown]
# **Subgroups.** The paper's 28 subgroup analyses are represented by 14 binary
# splits read from the subgroup parameter file (@tbl-subgroups); a split whose
# covariate these data do not hold is left out, and named below. In the
# published trial the training condition splits the ketamine arm only, because
# every saline participant received active training.

# %%
#| label: tbl-subgroups
#| tbl-cap: "Subgroup definitions and participants per subgroup and arm."
splits, absent = usable(load_splits(subgroups_file), dataset)
counts = subgroup_counts(dataset, splits)
counts.to_csv(out / "subgroups.csv", index=False)
show_table(counts.drop(columns="definition"))

# %%
say(absent)

# %% [markdown]
# ## Who was measured when {#sec-flow}
#
# @tbl-flow follows the randomised participants through the visits: how many
# were rated on the {{outcome}} and how many gave blood. Missing visits are not
# filled in: the models use every observation a participant has, which is valid
# when missingness depends on what was observed before it.

# %%
#| label: tbl-flow
#| tbl-cap: "Participants rated ({{outcome}}) and sampled (blood) at each visit, n (% of those randomised)."
flow = describe.participant_flow(dataset)
flow.to_csv(out / "flow.csv", index=False)
show_table(flow)

# %%
done = describe.completers(dataset)
say(
    f"At the last visit ({dataset.visits[-1]}), {done['ketamine']} of {sizes['ketamine']} ketamine participants "
    f"({100 * done['ketamine'] / sizes['ketamine']:.0f}%) and {done['saline']} of {sizes['saline']} saline participants "
    f"({100 * done['saline'] / sizes['saline']:.0f}%) were still rated."
)

# %% [markdown]
# ## The arms at baseline {#sec-baseline}
#
# Randomisation balances the arms in expectation, not in every sample.
# @tbl-baseline sets them side by side before the infusion.

# %%
#| label: tbl-baseline
#| tbl-cap: "Baseline characteristics by arm. NIF values under the detection limit count at the limit."
baseline = describe.baseline_table(dataset)
baseline.to_csv(out / "baseline.csv", index=False)
show_table(baseline)

# %% [markdown]
# ## Depression over the visits {#sec-madrs-course}
#
# @fig-madrs-trajectories shows the mean {{outcome}} of each arm with its 95%
# interval. On synthetic data each participant's course is drawn as a faint
# line as well; on real data those lines are left out unless the analyst asks
# for them (parameter `individual_lines`), so that no participant's values
# appear in the report.

# %%
#| label: fig-madrs-trajectories
#| fig-cap: "{{outcome}} by days since the infusion: arm means with 95% intervals; faint lines, where drawn, are individual courses."
#| fig-alt: "Line chart of {{outcome}} scores from before the infusion to the last visit for the {{treatment}} and {{reference}} arms, with arm means and their intervals."
fig = plotting.trajectories(dataset, [dataset.study.outcome], columns=1, individual=show_lines)
plotting.save(fig, out / "madrs-trajectories.png")
plotting.show()

# %%
change = describe.mean_change(dataset)
change.to_csv(out / "madrs-change.csv", index=False)
say(describe.madrs_change_text(change))

# %% [markdown]
# ## Blood markers over the visits {#sec-nif-course}
#
# @fig-nif-trajectories shows each marker on a logarithmic axis, where equal
# distances are equal ratios, with the geometric mean of each arm. For this
# picture only, values under the detection limit are drawn at the limit divided
# by √2.

# %%
#| label: fig-nif-trajectories
#| fig-cap: "Blood markers by days since the infusion (log scale): geometric means with 95% intervals; faint lines, where drawn, are individual courses."
#| fig-alt: "Grid of line charts, one per blood marker, showing levels from before the infusion to the last visit for the {{treatment}} and {{reference}} arms, with geometric means and their intervals."
if dataset.markers:  # data without blood markers: the sentence below says so
    fig = plotting.trajectories(dataset, dataset.markers, columns=2, individual=show_lines)
    plotting.save(fig, out / "nif-trajectories.png")
    plotting.show()

# %%
say(describe.censoring_text(panel))

# %% [markdown]
# ## What this means for the analyses
#
# The data follow the contract, the arms are of the expected sizes, and the
# assumptions above are the ones every later chapter works under. In the
# book's models, missing visits and censored values stay in the analysis as
# what they are: absent observations and intervals, not numbers invented to
# fill a table. Where a chapter does put a number in their place (a fraction
# of the limit in the original approach of @sec-frequentist, imputed data
# sets in @sec-subgroups, the substitutes compared in @sec-criticism-lod), it
# says so and says why.

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
#   ketamine-nif:
#     run: last
#     reads: [run-log, diagnostics.json]
# ---

# %% [markdown]
# # Reproducibility {#sec-appendix .unnumbered}
#
# How this edition of the report was made: the software and its versions, the
# machine, the commit of the code, the data, the sampler settings of every
# fit, the thread settings, and when and how long each notebook ran. Each
# chapter ends with a link to its executed notebook and the command that
# reruns it with the parameters it was run with.

# %% tags=["parameters"]
data_dir = "data/synthetic"  # the data directory (recorded by the runner; shown here for completeness)
output_dir = "_build/outputs/appendix"  # where this page writes its tables
run_log = "_build/run-log.json"  # the runner's record of every notebook's run
report_data = "_build/report-data.json"  # which data the book ran on
outputs_dir = "_build/outputs"  # where the chapters wrote their outputs (<chapter>/diagnostics.json)

# %%
from pathlib import Path

from ketamine_nif import provenance
from ketamine_nif.paths import ROOT
from ketamine_nif.reporting import say, show_table
from ketamine_nif.runner import book_jobs

out = Path(output_dir)
out.mkdir(parents=True, exist_ok=True)
runs = provenance.read_json(run_log)
stems = [job.stem for job in book_jobs()]
others = [stem for stem in stems if stem != "appendix"]  # this page's own run ends after it is written
versions = provenance.package_versions()
versions.to_csv(out / "versions.csv", index=False)

# %% [markdown]
# ## Software and machine {#sec-appendix-software}
#
# The environment is pinned by `requirements.lock`; the versions below are
# the ones installed when this page was executed.

# %%
#| label: tbl-appendix-platform
#| tbl-cap: "The machine, Python and the commit of the code that built this edition."
show_table(provenance.platform_table(ROOT))

# %%
#| label: tbl-appendix-versions
#| tbl-cap: "Versions of the packages behind the numbers and the book."
show_table(versions)

# %% [markdown]
# ## Data {#sec-appendix-data}

# %%
#| label: tbl-appendix-data
#| tbl-cap: "The data this edition ran on."
show_table(provenance.data_table(provenance.read_json(report_data)))

# %% [markdown]
# ## Runs {#sec-appendix-runs}
#
# A notebook is executed again only when its source, its parameters, the data
# or the package code changed; otherwise its last run is reused, so the times
# below can come from different builds.

# %%
#| label: tbl-appendix-runs
#| tbl-cap: "Each notebook's last execution and the parameters it was given besides the data and output folders (this page's own run is shown at its end)."
show_table(provenance.run_table(runs, others))

# %%
#| label: tbl-appendix-samplers
#| tbl-cap: "Sampler settings and convergence verdict of every model fit (a target acceptance marked * is that of a refit, drawn after a first fit failed the convergence checks)."
samplers = provenance.sampler_table(outputs_dir, stems)
show_table(samplers if len(samplers) else samplers.reindex([0]).fillna("no fits recorded"))

# %%
#| label: tbl-appendix-threads
#| tbl-cap: "Thread settings in force (the runner sets one BLAS thread per process unless told otherwise)."
threads = provenance.thread_table(runs)
show_table(threads if len(threads) else threads.reindex([0]).fillna("not recorded"))

# %%
total = sum(r.get("seconds", 0) or 0 for s, r in runs.items() if s in others)
say(f"The last runs of the other notebooks took {total:.0f} s in all.")

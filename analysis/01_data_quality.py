# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 01 Data quality
#
# The high-frequency checks of every raw export: identifiers and duplicates, form versions,
# skip logic, missing answers and "don't know"/"refused" rates, outliers, interview durations,
# enumerator dashboards and back-check comparisons. The checks are configured in
# `analysis/checks.toml`; this notebook only runs them (`evaluation checks` writes the same
# findings as a workbook). Identifiers never appear: unique fields are shown as numbered groups.
#
# With `data_dir = None` the notebook runs on the **demo world**: simulated platform exports
# with planted field problems (`manifest.csv` in the demo folder lists them). Nothing below
# describes real respondents in that case.

# %% tags=["parameters"]
data_dir = None  # a data folder holding raw/ (with sources.toml); None: the simulated demo world
seed = 0  # seed of the demo world
n_enterprises = 60  # size of the demo world
demo_dir = "data/demo"  # where the demo world is kept (never under reports/: it holds identifiers)
out = "reports/notebooks"  # folder for what the notebook writes

# %%
import pathlib

from evaluation import checks, synthetic
from evaluation.instruments.files import read_instruments

if data_dir is None:  # the demo world with its planted field problems: built once, then reused
    options = synthetic.DemoOptions(seed=seed, n_enterprises=n_enterprises)
    data_dir = f"{demo_dir}/seed{seed}-{n_enterprises}x{options.apprentices_per_enterprise}-messy"
    if not pathlib.Path(data_dir, "raw", "sources.toml").is_file():
        demo = synthetic.build_demo(read_instruments("surveys"), options)
        synthetic.write_files(demo.files, data_dir)
if pathlib.Path(data_dir, "truth.json").is_file():
    print(f"SIMULATED DATA: the demo world in {data_dir}")

# %% [markdown]
# ## Findings by check and severity

# %%
findings = checks.run_checks(f"{data_dir}/raw", "analysis/checks.toml")
print(findings.summary())

# %% [markdown]
# The same counts by check, over every form:

# %%
findings.counts().groupby("check")[["error", "warning", "info"]].sum()

# %% [markdown]
# ## Summary tables
#
# Every check also returns summary tables (stacked over forms, `form` first):

# %%
sorted(findings.tables)

# %% [markdown]
# Item non-response by variable: missing, "don't know" and "refused" kept apart.

# %%
findings.tables["missing_by_variable"]

# %% [markdown]
# ## Enumerators
#
# Interviews, durations and flag rates per enumerator: where to send a supervisor first.

# %%
findings.tables["enumerators"]

# %% [markdown]
# ## Every finding
#
# One row per problem, with the rule, the key of the submission and the variable.

# %%
findings.to_frame()

# %%
findings.to_frame().to_csv(f"{out}/01_findings.csv", index=False)  # for the field team

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
# # 03 Main effects
#
# The plan's primary estimator (ANCOVA on the endline outcome with its baseline value, strata
# fixed effects and the plan's covariates; cluster-robust inference at the enterprise level) for
# every outcome of every family, with p-values adjusted for multiple testing within each family
# and across all primary outcomes, then the heterogeneity of effects by the plan's subgroups
# (sex, hukou, disability, city).

# %% tags=["parameters"]
data_dir = None  # a data folder (raw/, decisions/); None: the simulated demo world
seed = 0  # seed of the demo world
n_enterprises = 60  # size of the demo world
demo_dir = "data/demo"  # where the demo world is kept (never under reports/: it holds identifiers)
out = "reports/notebooks"  # folder for what the notebook writes
plan_file = "analysis/plan.toml"

# %% [markdown]
# One call runs the whole pipeline: quality checks, cleaning and de-identification, the panel,
# the indicators, the analysis frames and every estimate of the plan. With `data_dir = None` it
# runs on the demo world without planted field problems (notebook 01 shows those): every
# number below is then simulated.

# %%
import pathlib

from IPython.display import display

from evaluation import reporting, synthetic
from evaluation.pipeline_files import run_data_dir
from evaluation.plan import read_plan

plan = read_plan(plan_file)
if data_dir is None:  # the folder `evaluation report` uses: built once per seed and size
    options = synthetic.DemoOptions(seed=seed, n_enterprises=n_enterprises, clean=True)
    data_dir = synthetic.demo_folder(demo_dir, options)
simulated = pathlib.Path(data_dir, "truth.json").is_file()  # every demo folder has its truth
run, inputs = run_data_dir(plan, data_dir)
results = run.results
source = f"demo world (simulated), seed {seed}" if simulated else f"data folder {data_dir}"
print(f"SIMULATED DATA: {source}" if simulated else source)

# %% [markdown]
# ## Effects with confidence intervals, by outcome family

# %%
reporting.figures.coefficient_plot(results.primary, simulated=simulated, source=source)

# %% [markdown]
# One table per family, as in the report (p-values adjusted within the family and across all
# primary outcomes):

# %%
for family in plan.families:
    if not any(e.family == family.name for e in results.primary):
        continue  # a family without estimates (its instrument has no endline yet)
    table = reporting.tables.effects_table(results.primary, family=family.name, source=source)
    display(reporting.gate(table, plan.disclosure.threshold_for(table.variables)))

# %% [markdown]
# ## Heterogeneity
#
# Effects within each subgroup and the difference between subgroups, the differences' p-values
# adjusted across the contrasts of each family and subgroup.

# %%
table = reporting.tables.heterogeneity_table(results.heterogeneity, source=source)
reporting.gate(table, plan.disclosure.threshold_for(table.variables))

# %% [markdown]
# Every primary estimate as a tidy frame (one row per outcome), for further work:

# %%
results.primary.to_frame()

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
# # 05 Robustness and attrition
#
# Two threats to the main effects: the comparison group (treatment was not randomised) and
# attrition between baseline and endline. The first is met by estimating every effect with
# several estimators side by side (ANCOVA, difference in differences, inverse-probability
# weighting, augmented IPW, matching); the second by attrition rates by arm, a test of
# differential attrition, the balance of those followed up, and Lee bounds.

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
# ## Attrition by arm

# %%
attrition = results.attrition
table = reporting.tables.attrition_table(
    attrition.sample,
    treatment=plan.treatment,
    response=plan.attrition.response,
    differential=attrition.differential,
    source=source,
)
table = reporting.gate(table, plan.disclosure.threshold_for(table.variables))
display(table)
reporting.figures.attrition_plot(table, simulated=simulated, source=source)

# %% [markdown]
# ## Lee bounds
#
# Sharp bounds on the effect for those who would be followed up in either arm, trimming the
# arm with less attrition.

# %%
table = reporting.tables.lee_bounds_table(attrition.lee, source=source)
reporting.gate(table, plan.disclosure.threshold_for(table.variables))

# %% [markdown]
# ## Every estimator side by side

# %%
table = reporting.tables.robustness_table(results.robustness, source=source)
reporting.gate(table, plan.disclosure.threshold_for(table.variables))

# %% [markdown]
# ## What the estimators could not do on these data
#
# Rows left out, estimators skipped (no overlap, perfect separation) and the conventions used.

# %%
print("\n".join(results.notes))

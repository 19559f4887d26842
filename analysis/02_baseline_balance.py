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
# # 02 Baseline and balance
#
# Treatment was not assigned at random: enterprises joined the programme. Before any effect is
# read, this notebook compares the arms at baseline on the plan's covariates and on each
# outcome's baseline value: normalised differences (a difference above 0.25 SD is a warning,
# after Imbens and Rubin), regression-based differences with the plan's cluster-robust
# standard errors, and a joint test. It ends with the ex-ante minimum detectable effects for
# the realised design: the clusters, their sizes and the intra-cluster correlations estimated
# at baseline.

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
# ## Balance at baseline
#
# One table per instrument (apprentices, enterprises), through the disclosure gate with the
# plan's thresholds, as in the report.

# %%
for instrument, balance in results.balance.items():
    table = reporting.tables.balance_table(
        balance.table, joint=balance.joint, treatment=plan.treatment, source=source,
        name=f"balance_{instrument}", title=f"Balance at baseline: {instrument}",
    )  # fmt: skip
    display(reporting.gate(table, plan.disclosure.threshold_for(table.variables)))

# %% [markdown]
# Normalised differences of the apprentices, variable by variable:

# %%
reporting.figures.balance_love_plot(
    results.balance["apprentice"].table, simulated=simulated, source=source
)

# %% [markdown]
# ## Ex-ante minimum detectable effects
#
# The smallest effect each outcome could detect with the plan's power and level, given the
# realised clusters and the intra-cluster correlation estimated at baseline.

# %%
results.ex_ante_mde

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
# # 04 Qualification and skills mismatch
#
# Mismatch compares a worker's education (ISCED) with what the occupation requires (ISCO major
# group to the required ISCED level, the ILO's normative measure), and their field of study with
# the occupation's field; self-reported over- and under-skilling complete the picture. This
# notebook shows the composition of mismatch by occupation group and arm, and the programme's
# effects on the mismatch family.

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
# ## Mismatch by arm and round
#
# Shares of under-qualified, matched and over-qualified workers among the employed (normative
# measure), with the number of workers behind each share:

# %%
people = run.data.frames["apprentice"]
groups = people.groupby([plan.round, plan.treatment])["qual_mismatch_norm"]
display(groups.value_counts(normalize=True).unstack().round(3))
groups.count()

# %% [markdown]
# ## Composition by occupation group, endline
#
# Bars resting on fewer workers than the disclosure threshold are hidden.

# %%
endline = people.loc[people[plan.round].eq(plan.endline_round)]
employed = endline.dropna(subset=["qual_mismatch_norm", "isco_major"])
reporting.figures.mismatch_composition_plot(
    employed.astype({"isco_major": "Int64"}).astype({"isco_major": "string"}),  # group labels
    threshold=plan.disclosure.threshold,
    simulated=simulated,
    source=source,
)

# %% [markdown]
# ## Effects on the mismatch family

# %%
table = reporting.tables.effects_table(results.primary, family="mismatch", source=source)
reporting.gate(table, plan.disclosure.threshold_for(table.variables))

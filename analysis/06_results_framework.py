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
# # 06 Results framework
#
# The project's logframe indicators for Outcomes 1-4 (`analysis/results_framework.toml`):
# baseline and endline values from the data, the change, the target, and whether it was
# reached, overall and by the disaggregations the framework asks for (sex, disability...).

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
# ## The results-framework table

# %%
from evaluation.indicators.framework import read_results_framework, results_framework_table

indicators = run.data.indicators
levels = {"respondent": "respondents", "enterprise": "enterprises", "participant": "participants"}
frames = {level: getattr(indicators, name) for level, name in levels.items()}
frames = {level: frame for level, frame in frames.items() if frame is not None}
framework = read_results_framework(plan.results_framework_path)
rows = results_framework_table(
    frames, framework, baseline_round=plan.baseline_round, endline_round=plan.endline_round
)
table = reporting.tables.results_framework_table(rows, source=source)
table = reporting.gate(table, plan.disclosure.threshold_for(table.variables))
table

# %% [markdown]
# ## Progress towards the targets

# %%
reporting.figures.logframe_progress_plot(table, simulated=simulated, source=source)

# %% [markdown]
# The table as CSV, Markdown, HTML and LaTeX, for the logframe report:

# %%
reporting.write_table(table, out)

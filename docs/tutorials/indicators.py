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
# # Indicators and the results framework
#
# Indicators turn answers into measures: "employed" per the ILO's 19th ICLS definition,
# "formal job", "over-qualified for the occupation", a skills index. The package builds every
# indicator in one place, the same way for every round, so that baseline and endline are
# comparable and no notebook builds its own version.
#
# You will:
#
# 1. write a small clean data set by hand, in the shape the cleaning stage produces;
# 2. build labour-market status, job quality, occupation codes and qualification mismatch;
# 3. combine several indicators into one summary index;
# 4. fill the results-framework (logframe) table: baseline, endline, change, target, status.

# %% [markdown]
# ## 1. Clean data, by hand
#
# Clean data has one row per respondent and round (key: `resp_id` and `round`) and one column
# per question, named as in the questionnaire (see the [codebooks](../reference/codebooks/index.md)).
# A question that was skipped is missing (`<NA>`). Answers are the codes of the answer lists,
# for example `act_work_pay` 1 = yes, 0 = no, and `job_status` 1 = employee, 2 = paid apprentice.
# A `select_multiple` question such as `job_si` (which social insurances does the employer pay
# for you?) becomes one 0/1 column per option: `job_si__1` (pension) … `job_si__0` (none) and
# `job_si__dont_know`.
#
# Six apprentices, interviewed at baseline and endline. Each row of `people` is one interview:

# %%
import pandas as pd

NA = pd.NA
columns = [
    "resp_id", "round", "treatment", "female",
    "act_work_pay", "act_search_4wk", "act_available_2wk", "act_study_4wk",
    "job_status", "job_title_text", "job_occ_major", "isced",
    "insurances", "job_paid_leave", "job_sick_leave", "job_contract_written",
    "job_contract_type", "job_hours_usual", "job_sat_overall",
]  # fmt: skip
people = [
    # Baseline: most are still apprentices (job_status 2) or looking for work.
    ("TJ001001", "baseline", 1, 0, 1, NA, NA, 1, 2, "数控车工", 6, 4, [1, 2], 1, 1, 1, 3, 44, 3),
    ("TJ001002", "baseline", 1, 1, 0, 1, 1, 0, NA, NA, NA, 3, None, NA, NA, NA, NA, NA, NA),
    ("TJ001003", "baseline", 1, 1, 1, NA, NA, 0, 1, "会计", 3, 5, [0], 0, 0, 0, NA, 50, 3),
    ("TJ002001", "baseline", 0, 0, 0, 1, 1, 0, NA, NA, NA, 3, None, NA, NA, NA, NA, NA, NA),
    ("TJ002002", "baseline", 0, 1, 0, 0, 0, 1, NA, NA, NA, 4, None, NA, NA, NA, NA, NA, NA),
    ("TJ002003", "baseline", 0, 0, 1, NA, NA, 0, 1, "汽车维修工", 6, 6, [0], 0, 0, 0, NA, 60, 2),
    # Endline.
    ("TJ001001", "endline", 1, 0, 1, NA, NA, 0, 1, "数控车工", 6, 4, [1, 2, 3, 4, 5], 1, 1, 1, 2, 44, 4),
    ("TJ001002", "endline", 1, 1, 1, NA, NA, 0, 1, "焊工", 6, 3, [1, 2], 1, 1, 1, 2, 48, 4),
    ("TJ001003", "endline", 1, 1, 1, NA, NA, 0, 1, "会计", 3, 5, [1, 2], 1, 1, 1, 1, 40, 5),
    ("TJ002001", "endline", 0, 0, 0, 1, 1, 0, NA, NA, NA, 3, None, NA, NA, NA, NA, NA, NA),
    ("TJ002002", "endline", 0, 1, 1, NA, NA, 0, 1, "电工", 6, 4, ["dont_know"], 1, 0, 1, 3, 50, 3),
    ("TJ002003", "endline", 0, 0, 1, NA, NA, 0, 1, "汽车维修工", 6, 6, [0], 0, 0, 0, NA, 60, 2),
]  # fmt: skip
data = pd.DataFrame(people, columns=columns)

# The select_multiple question as one 0/1 column per option (missing when it was not asked).
for option in [1, 2, 3, 4, 5, 6, 0, "dont_know"]:
    data[f"job_si__{option}"] = data["insurances"].map(
        lambda chosen, option=option: NA if chosen is None else int(option in chosen)
    )
# Items of the activity and job modules that these six did not need (the skip logic skipped them).
data["act_temp_absent"] = data["act_work_pay"].map({0: 0, 1: NA})
data["act_absent_reason"] = NA
data["act_absent_return3m"] = NA
data["job_tasks_text"] = NA
data["job_dispatch"] = data["job_status"].map(lambda s: NA if pd.isna(s) else 0)
data["job_union"] = data["job_dispatch"]
data = data.drop(columns="insurances").convert_dtypes()
data[["resp_id", "round", "act_work_pay", "job_status", "job_title_text", "job_si__1", "job_si__0"]]

# %% [markdown]
# ## 2. Building indicators
#
# ### Labour-force status
#
# `labour_status` applies the 19th ICLS definitions: *employed* (worked at least one hour for
# pay, or temporarily absent), *unemployed* (not employed, searched in the last four weeks and
# available within two), otherwise *outside the labour force*; and NEET (neither employed nor
# in education or training).

# %%
from evaluation.indicators import labour_status

status = labour_status(data)
pd.concat([data[["resp_id", "round"]], status], axis=1)

# %% [markdown]
# ### Job quality and informality
#
# `job_quality` builds the job indicators of employees. A job is **formal** when the employer
# pays pension or medical insurance for the worker; when the respondent does not know, paid
# annual and sick leave decide (ILO, 21st ICLS). See TJ002002 at endline: insurance "don't
# know", paid leave but no sick leave, hence informal.

# %%
from evaluation.indicators import job_quality

jobs = job_quality(data)
pd.concat(
    [
        data[["resp_id", "round"]],
        jobs[["formal_job", "written_contract", "si_count", "excess_hours", "job_satisfied"]],
    ],
    axis=1,
)

# %% [markdown]
# Rows without a job are missing, not 0: the share of formal jobs is a share **among the
# employed**. Every indicator states its population and definition in the
# [indicator reference](../reference/indicators.md).
#
# ### Occupation coding and qualification mismatch
#
# Respondents describe their job in their own words ("数控车工", CNC lathe operator).
# `code_occupations` codes these titles to ISCO-08 with a keyword table; titles it cannot
# settle go to a reviewed manual-coding file (see `uncoded_titles`).

# %%
from evaluation.indicators import code_occupations

coded = code_occupations(data)
pd.concat(
    [data[["resp_id", "round", "job_title_text"]], coded[["isco08", "isco_major", "isco_method"]]],
    axis=1,
)

# %% [markdown]
# With the ISCO major group and the attained education level (ISCED 2011),
# `qualification_mismatch` compares each worker with the level the occupation requires. The
# default is the ILO's normative table: major groups 1–3 (managers, professionals,
# technicians) need tertiary education, 4–8 upper secondary, 9 primary.

# %%
from evaluation.indicators import qualification_mismatch

data["mismatch"] = qualification_mismatch(coded["isco_major"], data["isced"])
data[["resp_id", "round", "isced", "mismatch"]].assign(isco_major=coded["isco_major"])

# %% [markdown]
# On the full data set, `construct_indicators(panel, instruments)` does all of this (and much
# more: wages, skills scores, apprenticeship quality, enterprise indicators) in one call, for
# every round.
#
# ## 3. A summary index
#
# Several related outcomes can be combined into one index, which reduces the number of tests
# and the noise. `summary_index` computes Anderson's (2008) inverse-covariance-weighted index
# (as Stata's `swindex`) or the simple mean of z-scores (Kling, Liebman and Katz 2007). Items
# are standardised on a *reference group*, so that the index is in standard deviations of that
# group. The project uses the comparison group at baseline (`reference=` a 0/1 column marking
# it); our six apprentices are too few for that, so here every row is the reference (the
# default).

# %%
from evaluation.indicators import summary_index

frame = pd.concat([data[["resp_id", "round", "treatment"]], jobs], axis=1)
employed = frame[frame["formal_job"].notna()].copy()
employed["job_quality_index"] = summary_index(
    employed, ["formal_job", "written_contract", "job_satisfaction"], method="zscore"
)
employed[["resp_id", "round", "treatment", "job_quality_index"]].round(2)

# %% [markdown]
# ## 4. The results framework
#
# The logframe lives in `analysis/results_framework.toml`: one `[[indicator]]` table per
# indicator, with its population, disaggregations, baseline and target (see the
# [reference](../reference/results-framework.md)). Here is a small framework with two
# indicators, written in the same format:

# %%
import tomllib

from evaluation.indicators.framework import parse_results_framework, results_framework_table

framework = parse_results_framework(
    tomllib.loads(
        """
[framework]
title = "Tutorial framework"

[[outcome]]
id = 1
title_en = "Decent work for apprentices"
title_zh = "学徒体面就业"

[[indicator]]
id = "1.1"
outcome = 1
indicator = "employed"
statistic = "share"
unit = "share of apprentices"
definition = "Employed in the reference week (19th ICLS)"
population = "Apprentices of pilot enterprises"
filter = { treatment = [1] }
disaggregations = ["female"]
source = "Apprentice questionnaire M4"
level = "respondent"
direction = "increase"
baseline = "data"
target = 0.9
target_type = "level"
logframe_ref = "tutorial"

[[indicator]]
id = "1.2"
outcome = 1
indicator = "formal_job"
statistic = "share"
unit = "share of employed apprentices"
definition = "Employer pays pension or medical insurance"
population = "Employed apprentices of pilot enterprises"
filter = { treatment = [1] }
disaggregations = []
source = "Apprentice questionnaire M5"
level = "respondent"
direction = "increase"
baseline = "data"
target = 0.6
target_type = "change"
logframe_ref = "tutorial"
"""
    ),
    where="tutorial",
)
indicators = pd.concat([data[["resp_id", "round", "treatment", "female"]], status, jobs], axis=1)
table = results_framework_table({"respondent": indicators}, framework)
table[
    [
        "id",
        "indicator",
        "disaggregation",
        "group",
        "baseline",
        "endline",
        "change",
        "target",
        "status",
    ]
]

# %% [markdown]
# Read one row at a time. Indicator 1.1 has a *level* target: the endline share must reach
# 0.9. Indicator 1.2 has a *change* target: the share must rise by 0.6 from baseline. The
# `status` column says whether the target is achieved; a framework without a target says
# `target missing` rather than inventing one. The disaggregated rows (here by sex) compare
# each group with the same target.
#
# The report turns this table into the results-framework table and the logframe progress
# figure (`evaluation.reporting.tables.results_framework_table` and
# `evaluation.reporting.figures.logframe_progress_plot`).

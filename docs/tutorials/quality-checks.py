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
# # The morning quality-check workbook
#
# While interviews are still going on, a field supervisor needs to know every morning what
# went wrong yesterday, while the enumerators can still go back to the respondents: the same
# person interviewed twice, an ID that is not in the sample, a wage of 450,000 yuan a month,
# an answer to a question that should have been skipped, an enumerator whose interviews take
# ten minutes instead of forty. `evaluation checks` produces that morning report, in the
# spirit of IPA's `ipacheck` for Stata: an Excel workbook, an HTML page and CSV tables.
#
# You will:
#
# 1. run the checks on the demo world's raw exports;
# 2. read the findings: what each check found and how serious it is;
# 3. find the rushing enumerator on the enumerator dashboard;
# 4. tune a check in `checks.toml` and run again;
# 5. open the workbook.
#
# In a terminal the whole tutorial is one command:
#
# ```bash
# evaluation checks --raw data/raw --out data/checks
# ```

# %% tags=["remove-cell"]
# Run from the project folder, as a reader would (the docs build sets this variable).
import os

os.chdir(os.environ.get("EVALUATION_PROJECT_DIR", "."))

# %% [markdown]
# ## 1. Run the checks
#
# The checks read raw exports, not clean data: they run every morning on whatever has been
# downloaded, before any decision has been made. We write a small demo world (8 enterprises,
# about 120 apprentices, with the field problems a real survey has) and run the checks on its
# `raw/` folder. `run_checks` reads every file declared in `raw/sources.toml`, the sample
# frame and the back-check export; every setting has a default taken from the questionnaire
# (ranges, special codes, other-specify fields), so no configuration file is needed to start.

# %%
import datetime as dt
import pathlib
import tempfile

import pandas as pd

from evaluation.checks import parse_config, run_checks, write_outputs
from evaluation.cli import main

work = pathlib.Path(tempfile.mkdtemp())
project = work / "project"
main(["demo", "--out", str(project), "--seed", "7", "--n-enterprises", "8",
      "--apprentices-per-enterprise", "15"])  # fmt: skip
findings = run_checks(project / "raw")
print(findings.summary())

# %% [markdown]
# Each line is one form (instrument and round) and one check, with the number of findings by
# severity: an **error** needs action (a duplicate ID, a value the form should never have
# accepted), a **warning** needs a look (an unusually short interview, a high "don't know"
# rate), **info** is for the record.
#
# ## 2. The findings
#
# Every finding is one row of one tidy table: which check, which form, which respondent (`key`)
# and submission, which enumerator, variable and value, the rule and its severity, and a
# message in plain words. The supervisor filters it by enumerator and sends each one their
# list.

# %%
table = findings.findings
table.groupby(["check", "severity"]).size().unstack(fill_value=0)

# %% [markdown]
# The `ids` check lists respondent IDs used twice. For each pair it says how many answers
# differ: a pair with no differences is the same form sent twice; a pair with differences
# needs a call-back (the cleaning will ask for a decision on each, see
# [From raw exports to a clean panel](raw-to-clean.py)).

# %%
ids = findings.of("ids")
ids[ids["rule"] == "duplicate_id"][["form", "key", "enumerator", "message"]]

# %% [markdown]
# The `progress` check compares the interviews with the sample list: who has been found, who
# refused, who is still missing, and which IDs are not in the sample at all. An ID that is not
# in the sample is usually a typing error; the `constraints` check often shows the same
# submission, because the form's pattern for IDs was not met either.

# %%
progress = findings.of("progress")
progress[progress["rule"] == "not_in_sample"][["form", "key", "enumerator", "message"]]

# %% [markdown]
# Values outside the question's range, and answers given where the skip logic says the
# question should not have been asked:

# %%
values = table[table["check"].isin(["constraints", "skip_logic"])]
values[["check", "form", "key", "variable", "value", "severity", "message"]].head(10)

# %% [markdown]
# ## 3. The enumerator dashboard
#
# `findings.tables` holds the summary tables of the workbook. The enumerator dashboard shows,
# for each enumerator and form, the submissions, the consent rate, the interview length and
# the rates of missing, "don't know", refused and "other" answers. One enumerator's interviews
# are far shorter than everyone else's:

# %%
enumerators = findings.tables["enumerators"]
apprentice = enumerators[enumerators["form"] == "apprentice/baseline"]
apprentice.sort_values("minutes_median")[
    ["enumerator", "submissions", "pct_consent", "minutes_median", "pct_dont_know"]
].head(5)

# %% [markdown]
# The `durations` check flags the same interviews one by one, and the enumerator as a whole
# when their median is below 60% of the overall median:

# %%
durations = findings.of("durations")
durations.groupby(["form", "rule"]).size().rename("findings")

# %% [markdown]
# ## 4. Tune a check
#
# The defaults follow `ipacheck`'s. A file `checks.toml` states only what differs; a misspelt
# key is an error, never silently ignored. Here the supervisor wants wage outliers judged
# within each city (wages in Shenzhen and Chongqing differ) with the stricter 1.5 × IQR
# fences, and interviews under 20 minutes flagged (the rule applies to every form, so the
# short capacity-building tests are flagged more often too; a `forms = [...]` key limits a
# rule table to some forms):

# %%
config = parse_config(
    """
[durations]
short_minutes = 20

[[outliers.rules]]
variables = ["job_wage"]
by = ["meta_city"]
method = "iqr"
multiplier = 1.5
"""
)
tuned = run_checks(project / "raw", config)


def count(run):
    rows = run.findings[run.findings["check"].isin(["durations", "outliers"])]
    return rows.groupby(["check", "rule"]).size()


pd.DataFrame({"defaults": count(findings), "tuned": count(tuned)}).fillna(0).astype(int)

# %% [markdown]
# ## 5. The workbook
#
# `write_outputs` writes the day's folder: `hfc_output.xlsx` (one sheet per check and per
# summary table, with filters and frozen headers), `summary.html` (the dashboard in a browser)
# and `findings.csv` with the tables as CSV. The folder is named by the date of the run and
# nothing inside holds a date or time, so the same data gives the same files.

# %%
folder = write_outputs(tuned, work / "checks", day=dt.date(2026, 3, 10), note="Demo data")
sorted(p.name for p in folder.iterdir())

# %%
import openpyxl

workbook = openpyxl.load_workbook(folder / "hfc_output.xlsx", read_only=True)
workbook.sheetnames

# %% [markdown]
# Phone numbers and ID numbers never appear in the outputs: where a finding concerns one (a
# phone number used by two respondents, say), the workbook shows a short hash instead, the
# same for the same number, so the supervisor can still see which rows belong together.
#
# ## What next
#
# Once the fieldwork is over and the findings have been resolved with the field team, the
# decisions go into the cleaning: see [From raw exports to a clean panel](raw-to-clean.py).
# The settings are listed in the API reference of {mod}`evaluation.checks.config`.

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
# # From raw exports to a clean panel
#
# Survey data arrives as files downloaded from KoboToolbox, ODK Central or SurveyCTO, or sent
# by a survey firm as SPSS, Stata or Excel files. Before any analysis, those files must become
# one clean, de-identified table per round, linked across rounds into a panel, with every row
# of every file accounted for. This tutorial walks through that step on the **demo world**: a
# simulated evaluation that the package writes exactly as the real platforms export it, with
# the problems real field data has (duplicates, mistyped IDs, values out of range, phone
# numbers in free text...).
#
# You will:
#
# 1. create a project folder with raw exports and look at its `sources.toml`;
# 2. run the cleaning and see why it refuses to go on (duplicates it cannot decide alone);
# 3. write the reviewed decisions: which duplicate to keep, which IDs were mistyped;
# 4. clean again and read what came out: the clean rounds and panels, the cleaning log, the
#    exclusions, the problems to review and the accounting of every row;
# 5. check that no personal identifier reached the clean folder.
#
# In a terminal, the same steps are the commands `evaluation demo`, `evaluation clean` and a
# text editor (or Excel) for the decision files.

# %% tags=["remove-cell"]
# Run from the project folder, as a reader would (the docs build sets this variable).
import os

os.chdir(os.environ.get("EVALUATION_PROJECT_DIR", "."))

# %% [markdown]
# ## 1. A project folder with raw exports
#
# `evaluation demo` writes a small simulated evaluation: 8 enterprises with about 15
# apprentices each, surveyed at baseline and endline, plus the enterprise survey and the
# capacity-building tests. We run the commands from Python with `evaluation.cli.main`, which
# takes the words you would type after `evaluation`.

# %%
import pathlib
import tempfile

import pandas as pd

from evaluation.cli import main

work = pathlib.Path(tempfile.mkdtemp())
project = work / "project"
main(["demo", "--out", str(project), "--seed", "7", "--n-enterprises", "8",
      "--apprentices-per-enterprise", "15"])  # fmt: skip

# %% [markdown]
# The folder looks like a real project's. `raw/` holds what the data manager downloaded,
# untouched (the commands never write into it), `decisions/` the files that people review and
# sign, and the demo adds two files a real project does not have: `truth.json` (the effects
# the simulation built in) and `manifest.csv` (every problem it injected, so that we can check
# that each one is found).

# %%
sorted(str(p.relative_to(project)) for p in project.rglob("*") if p.is_file())

# %% [markdown]
# Nothing about a raw file is guessed. `raw/sources.toml`, written once by the data manager,
# declares each file's instrument, round, platform format and encoding, and the sample frame
# (the list of sampled respondents with their enterprise and treatment group). The loaders
# check every file against its declaration and against the questionnaire before anything
# else happens. The how-to [Declaring sources and encodings](../how-to/sources.md) lists
# every key.

# %%
print((project / "raw" / "sources.toml").read_text(encoding="utf-8")[:1500])

# %% [markdown]
# ## 2. Clean, and see what needs a person's decision
#
# `evaluation clean` reads every declared file, types each answer by its question, turns
# special codes (-97 don't know, -98 refused, -99 not applicable) into missing values with the
# reason kept beside them, applies the skip logic, removes direct identifiers into a private
# folder, and links the rounds into panels. Some things it will not decide alone: when two
# submissions share a respondent ID and their answers differ, only someone who called the
# enumerator or the respondent can say which one is right. The command then stops (exit
# status 1) and writes the groups to review:

# %% mystnb={"output_stderr": "show"}
clean = work / "clean"
private = work / "private"  # identifiers: never inside the clean folder, never shared
decisions = project / "decisions"
command = ["clean", "--raw", str(project / "raw"), "--out", str(clean),
           "--private", str(private), "--decisions", str(decisions)]  # fmt: skip
status = main(command)
status

# %%
report = pd.read_csv(clean / "duplicates_report.csv", dtype=str, keep_default_na=False)
report[["instrument", "round", "key", "submitted_at", "classification", "fields_different"]]

# %% [markdown]
# Each group is one respondent ID with two submissions; `fields_different` names the answers
# that disagree. Exact copies of the same submission (a form sent twice) are not listed: the
# cleaning drops those itself and records it.
#
# ## 3. The reviewed decisions
#
# The report has the columns of the decision file `decisions/duplicates.csv`: fill in
# `action` (`keep`, `drop`, or `newid` with the right ID in `newid`) for every submission of
# every group, sign with your initials and say why in `notes`. Here the supervisor called back
# and found that the later interview is the complete one. (In a real project you would open
# the CSV in Excel; the package reads it with or without the byte-order mark Excel writes.)

# %% mystnb={"output_stderr": "show"}
report = report.sort_values(["group", "submitted_at"])
latest = report.groupby("group").tail(1).index
report["action"] = "drop"
report.loc[latest, "action"] = "keep"
report["initials"] = "LW"
report["notes"] = "call-back 12 March: the later interview is the complete one"
columns = ["instrument", "round", "key", "instance_id", "action", "newid", "initials", "notes"]
report[columns].to_csv(decisions / "duplicates.csv", index=False)
status = main(command)
status

# %% [markdown]
# The second run stops again, for another reason: some respondent IDs are not in the sample
# frame, so those interviews cannot be linked to their enterprise and treatment group. The
# morning quality checks list them too (see the tutorial
# [The morning quality-check workbook](quality-checks.py)). Typically an enumerator typed a
# digit wrong or dropped the leading zeros. Once the field team has confirmed the right ID,
# the correction goes into `decisions/id_corrections.csv`, one row per submission, with the
# ID as the file holds it (`old_id`) and the right one (`new_id`).
#
# The demo's `manifest.csv` knows what the right IDs were; in a real project that is what the
# call-back tells you.

# %%
manifest = pd.read_csv(project / "manifest.csv", dtype=str, keep_default_na=False)
typos = manifest[manifest["kind"].isin(["mistyped_id", "leading_zero_id"])]
form = typos["file"].str.extract(r"qall2_(?P<instrument>[a-z]+)_(?P<round>[a-z]+)\.")
corrections = pd.DataFrame(
    {
        "instrument": form["instrument"],
        "round": form["round"],
        "instance_id": typos["instance_id"],
        "old_id": typos["key"],
        "new_id": typos["detail"].str.removeprefix("was "),
        "initials": "LW",
        "notes": "confirmed with the enumerator",
    }
)
corrections.to_csv(decisions / "id_corrections.csv", index=False)
corrections[["instrument", "round", "old_id", "new_id"]]

# %%
status = main(command)
status

# %% [markdown]
# Exit status 0: the data is clean. Each line above accounts for one raw file: rows in, rows
# kept, rows excluded, values changed, and problems left for review.
#
# ## 4. What the cleaning wrote
#
# One folder per instrument, with a table per round, the linked panel (one row per respondent
# and round, key `resp_id` and `round`), its attrition table, and a table per repeat group
# (such as the training courses, `trn_course`). Tables are Parquet files: typed, compact, and
# read by pandas, R (arrow) and Stata 18 alike.

# %%
sorted(str(p.relative_to(clean)) for p in clean.rglob("*") if p.is_file())

# %%
panel = pd.read_parquet(clean / "apprentice" / "panel.parquet")
panel[["resp_id", "round", "treatment", "enterprise_id", "attrited", "act_work_pay",
       "job_wage", "job_wage__reason"]].head(8)  # fmt: skip

# %% [markdown]
# Every answer has its question's type. A missing value that had a reason keeps it in the
# `__reason` column beside it (`dont_know`, `refused`, `skipped`...), so that "did not know"
# and "was not asked" stay different. A `select_multiple` question becomes one 0/1 column per
# option, named `question__code`.
#
# **The accounting.** `summary.json` counts, for each raw file, the rows in, kept and
# excluded; the counts always add up, and every excluded row is listed in `exclusions.csv`
# with its file, row number and reason.

# %%
import json

summary = json.loads((clean / "summary.json").read_text(encoding="utf-8"))
accounting = pd.DataFrame(summary["sources"]).T[["rows_in", "rows_kept", "rows_excluded"]]
assert (accounting["rows_in"] == accounting["rows_kept"] + accounting["rows_excluded"]).all()
accounting

# %%
exclusions = pd.read_csv(clean / "exclusions.csv", dtype=str)
exclusions.groupby(["instrument", "reason"]).size().rename("rows")

# %% [markdown]
# The reasons: `not_interviewed` (no consent, or a minor without a guardian's consent: the
# record says why the interview did not happen, and stays in the attrition table),
# `duplicate_dropped` (your decision, with the file and line that made it) and
# `exact_duplicate` (the same submission downloaded twice).
#
# **The cleaning log** lists every value that changed: which file, row and respondent, which
# variable, the old and new value, and the rule or decision that changed it. Phone numbers and
# other identifiers are never printed: the log says `<withheld: phone>` instead.

# %%
log = pd.read_csv(clean / "cleaning_log.csv", dtype=str)
log.groupby("rule").size().rename("values changed")

# %% [markdown]
# **Problems to review** are what the cleaning flagged but did not change: a value above its
# soft limit, a failed constraint, a very short interview, a phone number written into a
# free-text answer. Each needs a look; a checked value goes into `decisions/corrections.csv`
# as `okay` (it stays, and is no longer flagged) or `replace` (with the value the call-back
# gave).

# %%
problems = pd.read_csv(clean / "problems.csv", dtype=str)
problems.groupby(["kind", "severity"]).size().rename("problems")

# %% [markdown]
# ## 5. No identifier in the clean folder
#
# Names, phone numbers, resident ID numbers and free-text answers that contained them went to
# the private folder, keyed by `resp_id`, so that the field team can still reach respondents
# for the endline (and encrypted there when a key is set with `--key-env`). The clean folder
# can be shared with analysts. Before finishing, `evaluation clean` scans every file it wrote
# for anything that looks like a phone or ID number; here we check for the exact phone
# numbers the demo planted:

# %%
frame = pd.read_csv(project / "raw" / "frame" / "sample_frame.csv", dtype=str)
phones = set(frame["phone"].dropna())
found = [
    p.name
    for p in clean.rglob("*")
    if p.is_file() and any(phone.encode() in p.read_bytes() for phone in phones)
]
print(f"{len(phones)} planted phone numbers; files that contain one: {found}")

# %% [markdown]
# ## What next
#
# The clean panels are the input of the indicators (see
# [Indicators and the results framework](indicators.py)). For partners who work in SPSS or
# Stata, add `--partner both` to `evaluation clean`: it writes labelled `.sav` and `.dta`
# files after a disclosure check (see [Exporting to SPSS and Stata](../how-to/partner-files.md)).

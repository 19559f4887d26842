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
# # From instruments to a deployed XLSForm
#
# The questionnaires of the evaluation are written once, in YAML files under `surveys/`.
# Everything a field team needs is built from them: the XLSForm for KoboToolbox, ODK Central
# or SurveyCTO, the codebook, the printable bilingual questionnaire and the back-check form.
#
# In this tutorial you will:
#
# 1. check and build the project's questionnaires, from the terminal and from Python;
# 2. read a codebook and a printable form;
# 3. write a small instrument of your own and build its XLSForm;
# 4. make a mistake on purpose and read the lint message;
# 5. import a partner's XLSForm.
#
# Every cell below ran when this page was built, so the output is what the package gives today.
# Run the same code in a Python session (or a notebook) started in the project folder.

# %% tags=["remove-cell"]
# Run from the project folder, as a reader would (the docs build sets this variable).
import os

os.chdir(os.environ.get("EVALUATION_PROJECT_DIR", "."))

# %% [markdown]
# ## 1. Check and build the project's questionnaires
#
# In a terminal, in the project folder, two commands do the whole job:
#
# ```bash
# evaluation instruments lint surveys                     # check every rule
# evaluation instruments build --out reports/instruments  # build every form
# ```
#
# (`nox -s instruments` runs both.) The same commands can be run from Python with
# `evaluation.cli.main`, which takes the words you would type after `evaluation`. We write into
# a temporary folder so that this tutorial leaves your `reports/` folder alone.

# %%
import pathlib
import tempfile

from evaluation.cli import main

work = pathlib.Path(tempfile.mkdtemp())
main(["instruments", "lint", "surveys"])

# %% [markdown]
# The last line counts errors and warnings. An **error** means the form must not go to the
# field; the command then exits with status 1, so scripts and CI stop. A **warning** is worth a
# look but does not block. The result above, `0` and `0`, is what the questionnaires must show
# before any build is shared with a field team.
#
# Now build every form:

# %%
main(["instruments", "build", "--out", str(work / "instruments")])

# %% [markdown]
# Each form gets four files, and forms with back-check items get a back-check form too:

# %%
sorted(p.name for p in (work / "instruments").iterdir() if "capacity_pre" in p.name)

# %% [markdown]
# | File | What it is for |
# |---|---|
# | `<form_id>.xlsx` | the XLSForm: upload it to KoboToolbox, ODK Central or SurveyCTO |
# | `<form_id>.codebook.md`, `.csv` | the codebook: every variable with its labels, answers and skip logic in words |
# | `<form_id>.html` | the printable bilingual questionnaire, for training and paper back-up |
# | `<form_id>_backcheck.*` | the short re-interview form for back-checks |
# | `index.md` | the list of forms, versions and their status |
#
# ## 2. The same from Python
#
# `read_instruments` reads the YAML files, builds every instrument and round and runs the lint.
# It returns a dictionary keyed by `(instrument, round)`.

# %%
from evaluation.instruments.files import read_instruments

forms = read_instruments("surveys")
list(forms)

# %%
form = forms[("capacity", "pre")]
form.form_id, form.version, form.languages

# %% [markdown]
# ### The codebook
#
# `codebook_rows` gives one row per variable. As a pandas DataFrame it is easy to filter, for
# example to the questions of one module:

# %%
import pandas as pd

from evaluation.instruments.codebook import codebook_rows

codebook = pd.DataFrame(codebook_rows(form))
codebook.loc[codebook["module"] == "cb_profile", ["name", "type", "label_en", "choices"]]

# %% [markdown]
# The column `asked_if` says, in words, when a question is asked. It is written from the
# form's skip logic (its `relevant` expressions), so it cannot drift from what the tablet does:

# %%
codebook.loc[codebook["asked_if"] != "", ["name", "asked_if"]].head()

# %% [markdown]
# The full codebooks of the three instruments are in the
# [reference section](../reference/codebooks/index.md).
#
# ### The printable questionnaire
#
# `printable_html` gives one self-contained HTML page with both languages and the skip
# instructions in words. Open it in a browser and print it. Here is the top of the page:

# %%
import html

from IPython.display import HTML

from evaluation.instruments.printable import printable_html

page = printable_html(form)
HTML(
    f'<div><iframe srcdoc="{html.escape(page)}" style="width:100%;height:420px;'
    'border:1px solid #ccc"></iframe></div>'
)

# %% [markdown]
# ## 3. A small instrument of your own
#
# A `surveys/` folder has three sub-folders: `instruments/` (one file per questionnaire),
# `modules/` (one file per module, a block of questions) and `lists/` (answer options). The
# [instrument YAML reference](../reference/instrument-yaml.md) explains every key. Here is a
# complete, tiny example: one questionnaire with one module of three questions.

# %%
mini = work / "mini_surveys"
for folder in ("instruments", "modules", "lists"):
    (mini / folder).mkdir(parents=True, exist_ok=True)

(mini / "instruments" / "tracer.yaml").write_text(
    """\
instrument: tracer
languages:
  - {code: en, name: English}
  - {code: zh, name: Chinese}
default_language: zh
special_codes:
  - {key: dont_know, value: -99, label: {en: "Don't know", zh: "不知道"}}
  - {key: refused, value: -98, label: {en: "Refused", zh: "拒绝回答"}}
rounds:
  endline: {form_id: tracer_endline, title: "Graduate tracer", version: "2026010101"}
modules: [work]
""",
    encoding="utf-8",
)
(mini / "lists" / "common.yaml").write_text(
    """\
lists:
  yes_no:
    choices:
      - {name: 1, label: {en: "Yes", zh: "是"}}
      - {name: 0, label: {en: "No", zh: "否"}}
""",
    encoding="utf-8",
)
module_text = """\
module: work
label: {en: "Current work", zh: "目前工作情况"}
questions:
  - name: wrk_paid
    type: select_one yes_no
    label: {en: "Last week, did you do any work for pay?", zh: "上周您是否从事过有报酬的工作？"}
    required: true
  - name: wrk_hours
    type: integer
    label: {en: "How many hours did you work last week?", zh: "上周您工作了多少小时？"}
    required: true
    range: [0, 98]
    special: [dont_know]
    relevant: "${wrk_paid} = 1"
  - name: wrk_wage
    type: integer
    label: {en: "What did you earn last month, in yuan?", zh: "上个月您的收入是多少元？"}
    required: true
    range: [0, 100000]
    special: [dont_know, refused]
    relevant: "${wrk_paid} = 1"
"""
(mini / "modules" / "work.yaml").write_text(module_text, encoding="utf-8")

main(["instruments", "lint", str(mini)])

# %% [markdown]
# No errors. Build it and look at the XLSForm's `survey` sheet, as the survey platform will
# see it:

# %%
main(["instruments", "build", "--surveys", str(mini), "--out", str(work / "mini_forms")])
xlsform = work / "mini_forms" / "tracer_endline.xlsx"
survey = pd.read_excel(xlsform, sheet_name="survey", engine="calamine").fillna("")
survey[["type", "name", "label::English (en)", "relevant", "constraint"]]

# %% [markdown]
# Notice the `constraint` column: you wrote `range: [0, 98]` and `special: [dont_know]`, and
# the build wrote the XPath constraint that accepts 0 to 98 or the code -99. You never type
# the special codes by hand, so they are the same in every form.
#
# ## 4. A lint error, and how to read it
#
# Now make two common mistakes: forget the Chinese label of a question, and refer to a
# question that does not exist (`${wrk_payd}`, a typo).

# %%
broken = module_text.replace(
    '{en: "How many hours did you work last week?", zh: "上周您工作了多少小时？"}',
    '{en: "How many hours did you work last week?"}',
)
broken = broken.replace("${wrk_paid} = 1", "${wrk_payd} = 1", 1)
(mini / "modules" / "work.yaml").write_text(broken, encoding="utf-8")

status = main(["instruments", "lint", str(mini)])
status

# %% [markdown]
# Each line reads from left to right:
#
# `ERROR` or `WARNING`
# : how serious it is. Any error makes the command exit with status 1 (shown as the `1` above).
#
# `mini_surveys/modules/work.yaml:8`
# : the file, and the line where the question starts: open the file there.
#
# `wrk_hours`
# : the question (or list, or setting) concerned.
#
# `[translation_missing]`
# : the rule. Every rule has a short name; the full list is below.
#
# the rest
# : what is wrong and what is expected.
#
# The build refuses a broken definition, so a form with errors never reaches the field. The
# rules and their severity are listed in `evaluation.instruments.lint.RULES`:

# %%
from evaluation.instruments.lint import RULES

pd.set_option("display.max_colwidth", None)  # show whole texts in tables
pd.DataFrame(
    [(rule, severity, text) for rule, (severity, text) in RULES.items()],
    columns=["rule", "severity", "what it checks"],
)

# %% [markdown]
# Put the file back and the lint is clean again:

# %%
(mini / "modules" / "work.yaml").write_text(module_text, encoding="utf-8")
main(["instruments", "lint", str(mini)])

# %% [markdown]
# ## 5. Import a partner's XLSForm
#
# Partners often bring a questionnaire that already exists as an XLSForm. Here we make a small
# one with openpyxl (in real life, you would receive the file), then import it.

# %%
import openpyxl

book = openpyxl.Workbook()
sheet = book.active
sheet.title = "survey"
sheet.append(["type", "name", "label::English (en)", "label::Chinese (zh)", "relevant"])
sheet.append(["select_one yn", "trained", "Did you receive training?", "您是否接受过培训？", ""])
sheet.append(["integer", "train_days", "For how many days?", "培训了多少天？", "${trained} = 1"])
sheet.append(["text", "train_topic", "On what topic?", "", "${trained} = 1"])
choices = book.create_sheet("choices")
choices.append(["list_name", "name", "label::English (en)", "label::Chinese (zh)"])
choices.append(["yn", 1, "Yes", "是"])
choices.append(["yn", 0, "No", "否"])
settings = book.create_sheet("settings")
settings.append(["form_id", "form_title", "version"])
settings.append(["partner_training", "Partner training survey", "2025120101"])
book.save(work / "partner.xlsx")

main(["instruments", "import", str(work / "partner.xlsx"), "--out", str(work / "partner")])

# %% [markdown]
# The import wrote a `surveys/`-style folder and linted the form. The lint found what a
# reviewer would: `train_topic` has no Chinese label, `train_days` has no range, and no
# question is marked required. Fix these in the YAML (or ask the partner to fix the XLSForm)
# before fielding. The imported files are ordinary definitions that you can edit:

# %%
for path in sorted((work / "partner").rglob("*.yaml")):
    print(f"# {path.relative_to(work / 'partner')}")
    print(path.read_text(encoding="utf-8"))

# %% [markdown]
# From here on, the partner's questionnaire is built, linted and documented like the project's
# own. See the how-to guide [Bringing your own XLSForm](../how-to/own-xlsform.md).
#
# ## 6. Deploying
#
# Upload `<form_id>.xlsx` to the platform (KoboToolbox: *Deploy* a new project from an XLSForm;
# ODK Central: *New form*; SurveyCTO: *Upload form definition*). Forms that use
# `select_one_from_file` (city and enterprise lists) need their CSV attached as a media file.
# Whenever a round's content changes, raise its `version` (yyyymmddNN) in the instrument file
# and rebuild: the platforms refuse a changed form with an old version number, and the version
# travels with every submission, so the data can be matched to the form that collected it.

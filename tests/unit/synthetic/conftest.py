"""Fixtures for the demo world: small worlds, the project's forms and hand-built instruments.

``constructs`` is a small instrument written for these tests that holds every construct the
simulated respondents must obey: a select_multiple with an exclusive option and a special code,
a repeat whose size is an answer (``repeat_count``), calculations over the repeat, a chain of
skip logic, a constraint that references another answer, a regular-expression constraint,
``select_one_from_file`` with a ``choice_filter``, a cascading select on a list column, special
codes on numbers and text, decimals, dates and a note.

``preload`` is a small form that reads an attached roster with ``pulldata()`` (into a calculate
and into a read-only select) and repeats by a calculated count with ``position(..)``.
``clean_demo`` and ``messy_demo`` are demo folders built from the project's questionnaires.
"""

from __future__ import annotations

import pathlib
import textwrap

import numpy as np
import pandas as pd
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[3]

INSTRUMENT = """\
instrument: constructs
languages:
  - {code: en, name: English}
  - {code: zh, name: Chinese}
default_language: zh
special_codes:
  - {key: dont_know, value: -99, label: {en: "Don't know", zh: "不知道"}}
  - {key: refused, value: -98, label: {en: "Refused", zh: "拒绝回答"}}
  - {key: not_applicable, value: -97, label: {en: "Not applicable", zh: "不适用"}}
rounds:
  baseline:
    {form_id: constructs_baseline, title: "Constructs test / 结构测试", version: "2026010101"}
settings:
  instance_name: "concat(${hh_id}, '-', ${today})"
modules: [basics, household]
"""

BASICS = """\
module: basics
label: {en: "Basics", zh: "基本"}
questions:
  - {name: start, type: start}
  - {name: end, type: end}
  - {name: today, type: today}
  - {name: deviceid, type: deviceid}
  - {name: audit, type: audit}
  - name: hh_id
    type: text
    label: {en: "ID", zh: "编号"}
    required: true
    constraint: "regex(., '^H[0-9]{5}$')"
    constraint_message: {en: "H and five digits", zh: "H加五位数字"}
  - name: hh_id_check
    type: text
    label: {en: "ID again", zh: "再次输入编号"}
    required: true
    constraint: ". = ${hh_id}"
    constraint_message: {en: "Differs", zh: "不一致"}
  - name: city
    type: select_one_from_file cities.csv
    label: {en: "City", zh: "城市"}
    required: true
  - name: firm
    type: select_one_from_file enterprises.csv
    label: {en: "Firm", zh: "企业"}
    required: true
    choice_filter: "city = ${city}"
  - name: province
    type: select_one province
    label: {en: "Province", zh: "省"}
    required: true
  - name: county
    type: select_one county
    label: {en: "County", zh: "县"}
    required: true
    choice_filter: "prov = ${province}"
  - name: consent
    type: select_one yes_no
    label: {en: "Consent", zh: "同意"}
    required: true
  - name: intro
    type: note
    label: {en: "Thank you", zh: "谢谢"}
    relevant: "${consent} = 1"
  - name: income
    type: integer
    label: {en: "Income", zh: "收入"}
    required: true
    range: [0, 50000]
    soft_range: [500, 20000]
    special: [dont_know, refused]
    relevant: "${consent} = 1"
  - name: spend
    type: integer
    label: {en: "Spending", zh: "支出"}
    required: true
    range: [0, 50000]
    constraint: ". <= ${income}"
    constraint_message: {en: "Not more than income", zh: "不超过收入"}
    relevant: "${consent} = 1 and ${income} >= 0"
  - name: works
    type: select_one yes_no
    label: {en: "Works", zh: "工作"}
    required: true
    relevant: "${consent} = 1"
  - name: works_hours
    type: integer
    label: {en: "Hours", zh: "小时"}
    required: true
    range: [1, 112]
    relevant: "${works} = 1"
  - name: works_overtime
    type: select_one yes_no
    label: {en: "Overtime", zh: "加班"}
    required: true
    relevant: "${works_hours} > 44"
  - name: weight
    type: decimal
    label: {en: "Weight", zh: "体重"}
    required: true
    range: [30, 150]
    relevant: "${consent} = 1"
  - name: gps
    type: geopoint
    label: {en: "Location", zh: "位置"}
    relevant: "${consent} = 1"
  - name: birthday
    type: date
    label: {en: "Birthday", zh: "生日"}
    relevant: "${consent} = 1"
  - name: insurance
    type: select_multiple insurance
    label: {en: "Insurance", zh: "保险"}
    required: true
    constraint: "not((selected(., '0') or selected(., '-99')) and count-selected(.) > 1)"
    constraint_message: {en: "None and don't know are exclusive", zh: "都没有与不知道只能单选"}
    relevant: "${consent} = 1"
  - name: comment
    type: text
    label: {en: "Comment", zh: "备注"}
    special: [refused]
    relevant: "${consent} = 1"
"""

HOUSEHOLD = """\
module: household
label: {en: "Household", zh: "家庭"}
relevant: "${consent} = 1"
questions:
  - name: hh_size
    type: integer
    label: {en: "Members", zh: "人数"}
    required: true
    range: [0, 6]
  - name: head_age
    type: integer
    label: {en: "Age of head", zh: "户主年龄"}
    required: true
    range: [18, 90]
  - name: members
    type: repeat
    label: {en: "Members", zh: "成员"}
    repeat_count: "${hh_size}"
    questions:
      - name: m_sex
        type: select_one sex
        label: {en: "Sex", zh: "性别"}
        required: true
      - name: m_age
        type: integer
        label: {en: "Age", zh: "年龄"}
        required: true
        range: [0, 100]
        constraint: ". <= ${head_age}"
        constraint_message: {en: "Not older than the head", zh: "不超过户主年龄"}
      - name: m_school
        type: select_one yes_no
        label: {en: "In school", zh: "在学"}
        required: true
        relevant: "${m_age} >= 6 and ${m_age} <= 18"
  - name: n_members
    type: calculate
    calculation: "count(${m_age})"
  - name: age_total
    type: calculate
    calculation: "sum(${m_age})"
  - name: head_next
    type: calculate
    calculation: "${head_age} + 1"
"""

LISTS = """\
lists:
  yes_no:
    choices:
      - {name: 1, label: {en: "Yes", zh: "是"}}
      - {name: 0, label: {en: "No", zh: "否"}}
  sex:
    choices:
      - {name: 1, label: {en: "Male", zh: "男"}}
      - {name: 2, label: {en: "Female", zh: "女"}}
  province:
    choices:
      - {name: 1, label: {en: "Shandong", zh: "山东"}}
      - {name: 2, label: {en: "Zhejiang", zh: "浙江"}}
  county:
    choices:
      - {name: 11, prov: 1, label: {en: "Donggang", zh: "东港"}}
      - {name: 12, prov: 1, label: {en: "Lanshan", zh: "岚山"}}
      - {name: 21, prov: 2, label: {en: "Wuxing", zh: "吴兴"}}
      - {name: 22, prov: 2, label: {en: "Nanxun", zh: "南浔"}}
  insurance:
    special: [dont_know]
    choices:
      - {name: 1, label: {en: "Pension", zh: "养老"}}
      - {name: 2, label: {en: "Medical", zh: "医疗"}}
      - {name: 3, label: {en: "Injury", zh: "工伤"}}
      - {name: 0, label: {en: "None", zh: "都没有"}, exclusive: true}
"""


def _write(root: pathlib.Path, files: dict[str, str]) -> pathlib.Path:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), "utf-8")
    return root


@pytest.fixture(scope="session")
def constructs(tmp_path_factory):
    """The construct-covering instrument (baseline) and its file attachments."""
    from evaluation.instruments.files import read_instruments

    root = _write(
        tmp_path_factory.mktemp("constructs") / "surveys",
        {
            "instruments/constructs.yaml": INSTRUMENT,
            "modules/basics.yaml": BASICS,
            "modules/household.yaml": HOUSEHOLD,
            "lists/common.yaml": LISTS,
        },
    )
    form = read_instruments(root)[("constructs", "baseline")]
    attachments = {
        "cities.csv": pd.DataFrame({"name": ["TJ", "RZ"], "label": ["天津", "日照"]}, dtype=object),
        "enterprises.csv": pd.DataFrame(
            {
                "name": ["TJ001", "TJ002", "RZ001"],
                "label": ["甲", "乙", "丙"],
                "city": ["TJ", "TJ", "RZ"],
            },
            dtype=object,
        ),
    }
    return form, attachments


@pytest.fixture(scope="session")
def project_forms():
    """The project's questionnaires as they are on this branch."""
    from evaluation.instruments.files import read_instruments

    return read_instruments(ROOT / "surveys")


@pytest.fixture(scope="session")
def small_world():
    """A small world (6 enterprises of about 12 apprentices)."""
    from evaluation.synthetic.population import WorldConfig, simulate_population

    return simulate_population(WorldConfig(seed=3, n_enterprises=6, apprentices_per_enterprise=12))


PRELOAD = {
    "instruments/preload.yaml": """\
        instrument: preload
        languages:
          - {code: en, name: English}
          - {code: zh, name: Chinese}
        default_language: zh
        special_codes:
          - {key: dont_know, value: -99, label: {en: "Don't know", zh: "不知道"}}
        rounds:
          endline: {form_id: preload_endline, title: "Preload test", version: "2026010101"}
        modules: [track]
        """,
    "modules/track.yaml": """\
        module: track
        label: {en: "Tracking", zh: "追踪"}
        questions:
          - name: pid
            type: text
            label: {en: "ID", zh: "编号"}
            required: true
            constraint: "regex(., '^P[0-9]{3}$')"
          - name: group
            type: select_one grp
            label: {en: "Group", zh: "组"}
            required: true
            calculation: "pulldata('roster', 'grp', 'pid', ${pid})"
            read_only: "yes"
          - name: birth
            type: calculate
            calculation: "pulldata('roster', 'birth', 'pid', ${pid})"
          - name: n_jobs
            type: integer
            label: {en: "Jobs", zh: "工作数"}
            required: true
            range: [0, 9]
          - name: shown
            type: calculate
            calculation: "if(${n_jobs} > 2, 2, ${n_jobs})"
          - name: jobs
            type: repeat
            label: {en: "Jobs", zh: "工作"}
            repeat_count: "${shown}"
            questions:
              - name: job_pos
                type: calculate
                calculation: "position(..)"
              - name: job_month
                type: calculate
                calculation: "${birth} * 12 + position(..)"
              - name: job_kind
                type: select_one grp
                label: {en: "Kind", zh: "类型"}
                required: true
        """,
    "lists/lists.yaml": """\
        lists:
          grp:
            choices:
              - {name: 1, label: {en: "Treatment", zh: "试点"}}
              - {name: 0, label: {en: "Comparison", zh: "对照"}}
        """,
}


@pytest.fixture(scope="session")
def preload(tmp_path_factory):
    """A form that reads an attached roster with pulldata() and repeats by a calculation."""
    from evaluation.instruments.files import read_instruments

    root = _write(tmp_path_factory.mktemp("preload") / "surveys", PRELOAD)
    form = read_instruments(root)[("preload", "endline")]
    roster = pd.DataFrame(
        {"pid": ["P001", "P002", "P003"], "grp": ["1", "0", "1"], "birth": ["1990", "2001", ""]},
        dtype=object,
    )
    return form, {"roster.csv": roster}


#: A small world for the end-to-end tests (8 enterprises of about 15 apprentices: seconds).
SMALL = {"n_enterprises": 8, "apprentices_per_enterprise": 15}


@pytest.fixture(scope="session")
def clean_demo(project_forms):
    """The demo folder of a small world in clean mode (Kobo XLSX)."""
    from evaluation.synthetic.demo import DemoOptions, build_demo

    return build_demo(project_forms, DemoOptions(seed=4, format="kobo-xlsx", clean=True, **SMALL))


@pytest.fixture(scope="session")
def messy_demo(project_forms):
    """The demo folder of a larger world with every field problem (Kobo CSV).

    25 enterprises, so that every form (the 25 enterprises themselves too) has at least the 20
    completed interviews at which each kind of problem is injected at least once.
    """
    from evaluation.synthetic.demo import DemoOptions, build_demo

    options = DemoOptions(
        seed=4, format="kobo-csv", n_enterprises=25, apprentices_per_enterprise=12
    )
    return build_demo(project_forms, options)


def generic_rows(n: int) -> pd.DataFrame:
    """A ``fixed`` frame asking for ``n`` fully generic submissions."""
    return pd.DataFrame(index=np.arange(n))

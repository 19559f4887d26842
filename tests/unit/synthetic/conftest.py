"""Fixtures for the demo world: small worlds, the project's forms and hand-built instruments.

``constructs`` is a small instrument written for these tests that holds every construct the
simulated respondents must obey: a select_multiple with an exclusive option and a special code,
a repeat whose size is an answer (``repeat_count``), calculations over the repeat, a chain of
skip logic, a constraint that references another answer, a regular-expression constraint,
``select_one_from_file`` with a ``choice_filter``, a cascading select on a list column, special
codes on numbers and text, decimals, dates and a note.

``enterprise`` and ``capacity`` are minimal stand-ins for the questionnaires still being written
(contract names from ``/work/notes/names.md``), so the pipeline is tested end to end for them.
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


STAND_INS = {
    "instruments/enterprise.yaml": """\
        instrument: enterprise
        languages:
          - {code: en, name: English}
          - {code: zh, name: Chinese}
        default_language: zh
        special_codes:
          - {key: dont_know, value: -99, label: {en: "Don't know", zh: "不知道"}}
          - {key: refused, value: -98, label: {en: "Refused", zh: "拒绝回答"}}
        rounds:
          baseline: {form_id: ent_baseline, title: "Enterprise baseline", version: "2026010101"}
          endline: {form_id: ent_endline, title: "Enterprise endline", version: "2026010101"}
        modules: [ent]
        """,
    "modules/ent.yaml": """\
        module: ent
        label: {en: "Enterprise", zh: "企业"}
        questions:
          - {name: start, type: start}
          - {name: end, type: end}
          - {name: today, type: today}
          - name: enterprise_id
            type: text
            label: {en: "Enterprise", zh: "企业"}
            required: true
            constraint: "regex(., '^[A-Z]{2}[0-9]{3}$')"
          - name: ent_employees_total
            type: integer
            label: {en: "Employees", zh: "职工人数"}
            required: true
            range: [1, 100000]
          - name: ent_employees_female
            type: integer
            label: {en: "Women", zh: "女职工"}
            required: true
            range: [0, 100000]
            constraint: ". <= ${ent_employees_total}"
          - name: ent_skill_gap_share
            type: integer
            label: {en: "Not fully proficient (%)", zh: "不完全胜任比例"}
            required: true
            range: [0, 100]
            special: [dont_know]
          - name: ent_sat_apprentices
            type: select_one sat5
            label: {en: "Satisfaction", zh: "满意度"}
            required: true
        """,
    "instruments/capacity.yaml": """\
        instrument: capacity
        languages:
          - {code: en, name: English}
          - {code: zh, name: Chinese}
        default_language: zh
        special_codes:
          - {key: dont_know, value: -99, label: {en: "Don't know", zh: "不知道"}}
        rounds:
          pre: {form_id: cb_pre, title: "Capacity pre-test", version: "2026010101"}
          post: {form_id: cb_post, title: "Capacity post-test", version: "2026010101"}
        modules: [cb]
        """,
    "modules/cb.yaml": """\
        module: cb
        label: {en: "Test", zh: "测试"}
        questions:
          - name: participant_id
            type: text
            label: {en: "Participant", zh: "学员"}
            required: true
            constraint: "regex(., '^P[0-9]{5}$')"
          - name: cb_q01
            type: select_one q_abc
            label: {en: "Question 1", zh: "第1题"}
            required: true
            answer_key: "2"
          - name: cb_q02
            type: select_one q_abc
            label: {en: "Question 2", zh: "第2题"}
            required: true
            answer_key: "3"
          - name: cb_se_confident
            type: select_one agree5
            label: {en: "Confident", zh: "有信心"}
            required: true
        """,
    "lists/lists.yaml": """\
        lists:
          sat5:
            choices:
              - {name: 1, label: {en: "Very dissatisfied", zh: "很不满意"}}
              - {name: 2, label: {en: "Dissatisfied", zh: "不满意"}}
              - {name: 3, label: {en: "Neutral", zh: "一般"}}
              - {name: 4, label: {en: "Satisfied", zh: "满意"}}
              - {name: 5, label: {en: "Very satisfied", zh: "很满意"}}
          agree5:
            choices:
              - {name: 1, label: {en: "Strongly disagree", zh: "非常不同意"}}
              - {name: 2, label: {en: "Disagree", zh: "不同意"}}
              - {name: 3, label: {en: "Neither", zh: "一般"}}
              - {name: 4, label: {en: "Agree", zh: "同意"}}
              - {name: 5, label: {en: "Strongly agree", zh: "非常同意"}}
          q_abc:
            special: [dont_know]
            choices:
              - {name: 1, label: {en: "A", zh: "甲"}}
              - {name: 2, label: {en: "B", zh: "乙"}}
              - {name: 3, label: {en: "C", zh: "丙"}}
        """,
}


@pytest.fixture(scope="session")
def stand_in_forms(tmp_path_factory):
    """Minimal enterprise and capacity-building forms with contract names."""
    from evaluation.instruments.files import read_instruments

    root = _write(tmp_path_factory.mktemp("standins") / "surveys", STAND_INS)
    return read_instruments(root)


def generic_rows(n: int) -> pd.DataFrame:
    """A ``fixed`` frame asking for ``n`` fully generic submissions."""
    return pd.DataFrame(index=np.arange(n))

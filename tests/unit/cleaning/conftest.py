"""Fixtures for cleaning tests: a hand-built instrument and a writer of hand-written exports.

Every fixture file is written here by hand (rows given in the test), read with the real loaders
(SurveyCTO long format: main file plus one file per repeat), never produced by the demo world.
"""

from __future__ import annotations

import csv
import io
import pathlib
from collections.abc import Callable, Mapping, Sequence

import pytest

from evaluation.cleaning import Decisions
from evaluation.cleaning.decisions import DECISION_COLUMNS
from evaluation.cleaning.rules import parse_rules
from evaluation.instruments.model import Choice, ChoiceList, Instrument, Question, SpecialCode, Text
from evaluation.loaders import RawRound, Source, read_round

# Planted identifiers: no message, log, problem or output file may contain them.
NAME = "张三丰"
NAME_2 = "李小龙"
PHONE = "13812345678"
PHONE_2 = "13987654321"
RESIDENT_ID = "11010519491231002X"  # the GB 11643-1999 example number (valid check digit)
PLANTED = (NAME, NAME_2, PHONE, PHONE_2, RESIDENT_ID)

EN, ZH = "English (en)", "Chinese (zh)"


def _t(en: str, zh: str = "") -> Text:
    return Text.of({EN: en, ZH: zh or en})


SPECIAL = (
    SpecialCode("dont_know", -99, _t("Don't know", "不知道")),
    SpecialCode("refused", -98, _t("Refused", "拒绝回答")),
    SpecialCode("not_applicable", -97, _t("Not applicable", "不适用")),
)


def _list(name: str, *choices: tuple[str, str, str], special: Sequence[str] = ()) -> ChoiceList:
    items = [Choice(code, _t(en, zh)) for code, en, zh in choices]
    for key in special:
        code = next(c for c in SPECIAL if c.key == key)
        items.append(Choice(str(code.value), code.label, special=key, exclusive=True))
    return ChoiceList(name, tuple(items))


LISTS = (
    _list("yes_no", ("1", "Yes", "是"), ("0", "No", "否")),
    _list("sex", ("1", "Male", "男"), ("2", "Female", "女")),
    _list(
        "si",
        ("1", "Pension", "养老保险"),
        ("2", "Medical", "医疗保险"),
        ("3", "Housing fund", "住房公积金"),
        special=("dont_know",),
    ),
    _list(
        "track",
        ("1", "Interviewed", "访问成功"),
        ("2", "By phone", "电话访问"),
        ("3", "Refused", "拒访"),
        ("4", "Not found", "未找到"),
        ("5", "Deceased", "已故"),
    ),
    _list(
        "bracket",
        ("1", "Below 3000", "3000以下"),
        ("2", "3000-5999", "3000-5999"),
        ("3", "6000+", "6000以上"),
    ),
    _list("topic", ("1", "Safety", "安全"), ("2", "Digital", "数字"), ("3", "Green", "绿色")),
)
# "none" (0) is an exclusive option of si, added after the list is built
LISTS = (
    *LISTS[:2],
    ChoiceList(
        "si",
        (
            *LISTS[2].choices[:3],
            Choice("0", _t("None", "都没有"), exclusive=True),
            LISTS[2].choices[3],
        ),
    ),
    *LISTS[3:],
)


def make_instrument(round_name: str = "baseline") -> Instrument:
    """A small questionnaire with every feature cleaning handles (baseline or endline)."""
    endline = round_name == "endline"
    consent_relevant = "${trk_status} = 1 or ${trk_status} = 2" if endline else None
    meta = [
        Question("start", "start"),
        Question("end", "end"),
        Question("deviceid", "deviceid", pii="indirect"),
        Question(
            "meta_enum_id",
            "text",
            label=_t("Enumerator", "调查员"),
            required="yes",
            constraint="regex(., '^E[0-9]{3}$')",
        ),
        Question(
            "meta_city",
            "select_one_from_file",
            list_name="cities.csv",
            label=_t("City", "城市"),
            pii="indirect",
        ),
        Question("meta_round", "calculate", calculation=f"'{round_name}'"),
        Question(
            "resp_id",
            "text",
            label=_t("Respondent ID", "受访者编号"),
            required="yes",
            constraint="regex(., '^[A-Z]{2}[0-9]{6}$')",
            backcheck="should_not_change",
        ),
    ]
    if endline:
        meta.append(
            Question(
                "trk_status",
                "select_one",
                list_name="track",
                label=_t("Tracking", "追踪结果"),
                required="yes",
            )
        )
    meta.append(
        Question(
            "meta_consent",
            "select_one",
            list_name="yes_no",
            label=_t("Consent", "同意"),
            required="yes",
            relevant=consent_relevant,
        )
    )
    questions = [
        Question("meta", "group", label=_t("Metadata"), children=tuple(meta)),
        Question(
            "ident",
            "group",
            label=_t("Identification"),
            relevant="${meta_consent} = 1",
            children=(
                Question("id_name", "text", label=_t("Name", "姓名"), required="yes", pii="direct"),
                Question(
                    "id_phone",
                    "text",
                    label=_t("Mobile phone", "手机"),
                    required="yes",
                    pii="direct",
                    special=("refused",),
                    constraint="regex(., '^1[3-9][0-9]{9}$')",
                ),
            ),
        ),
        Question(
            "main",
            "group",
            label=_t("Main"),
            relevant="${meta_consent} = 1",
            children=(
                Question(
                    "dem_sex",
                    "select_one",
                    list_name="sex",
                    label=_t("Sex", "性别"),
                    required="yes",
                    pii="indirect",
                    backcheck="should_not_change",
                ),
                Question(
                    "dem_birth_year",
                    "integer",
                    label=_t("Birth year", "出生年份"),
                    required="yes",
                    value_range=(1950.0, 2010.0),
                    soft_range=(1960.0, 2008.0),
                    special=("dont_know", "refused"),
                    pii="indirect",
                    backcheck="should_not_change",
                ),
                Question(
                    "job_work",
                    "select_one",
                    list_name="yes_no",
                    label=_t("Works", "工作"),
                    required="yes",
                ),
                Question(
                    "job_wage",
                    "integer",
                    label=_t("Monthly wage", "月工资"),
                    required="yes",
                    value_range=(0.0, 100000.0),
                    soft_range=(500.0, 30000.0),
                    special=("dont_know", "refused"),
                    relevant="${job_work} = 1",
                ),
                Question(
                    "job_wage_bracket",
                    "select_one",
                    list_name="bracket",
                    label=_t("Wage bracket", "工资区间"),
                    required="yes",
                    relevant="${job_wage} = -99 or ${job_wage} = -98",
                ),
                Question(
                    "job_si",
                    "select_multiple",
                    list_name="si",
                    label=_t("Insurance", "社会保险"),
                    required="yes",
                    relevant="${job_work} = 1",
                    constraint=(
                        "not((selected(., '0') or selected(., '-99')) and count-selected(.) > 1)"
                    ),
                ),
                Question(
                    "job_title_text",
                    "text",
                    label=_t("Job title", "职业名称"),
                    relevant="${job_work} = 1",
                ),
                Question(
                    "job_start",
                    "date",
                    label=_t("Start date", "开始日期"),
                    relevant="${job_work} = 1",
                ),
                Question(
                    "trn_n",
                    "integer",
                    label=_t("Trainings", "培训次数"),
                    required="yes",
                    value_range=(0.0, 3.0),
                ),
                Question(
                    "trn",
                    "repeat",
                    label=_t("Training"),
                    relevant="${trn_n} > 0",
                    repeat_count="${trn_n}",
                    children=(
                        Question(
                            "trn_hours",
                            "integer",
                            label=_t("Hours", "学时"),
                            required="yes",
                            value_range=(1.0, 500.0),
                            special=("dont_know",),
                        ),
                        Question(
                            "trn_topics",
                            "select_multiple",
                            list_name="topic",
                            label=_t("Topics", "内容"),
                            required="yes",
                        ),
                    ),
                ),
            ),
        ),
    ]
    return Instrument(
        form_id=f"test_{round_name}",
        title="Cleaning test form",
        version="2026010101",
        languages=(EN, ZH),
        default_language=ZH,
        questions=tuple(questions),
        choice_lists=LISTS,
        special_codes=SPECIAL,
        instrument="survey",
        round=round_name,
    )


@pytest.fixture(scope="session")
def baseline() -> Instrument:
    return make_instrument("baseline")


@pytest.fixture(scope="session")
def endline() -> Instrument:
    return make_instrument("endline")


def _csv_text(rows: Sequence[Mapping[str, str]]) -> str:
    columns: list[str] = []
    for row in rows:
        for column in row:
            if column not in columns:
                columns.append(column)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({c: row.get(c, "") for c in columns})
    return out.getvalue()


Writer = Callable[..., RawRound]


@pytest.fixture
def export(tmp_path: pathlib.Path) -> Writer:
    """Write hand-written rows as a SurveyCTO long export (main file + repeat files), read it."""

    def _export(
        instrument: Instrument,
        rows: Sequence[Mapping[str, str]],
        *,
        name: str | None = None,
        repeats: Mapping[str, Sequence[Mapping[str, str]]] | None = None,
    ) -> RawRound:
        round_name = instrument.round or "baseline"
        name = name or f"{round_name}.csv"
        full = []
        for number, row in enumerate(rows, start=1):
            base = {
                "SubmissionDate": f"Mar {number % 28 + 1}, 2026 10:00:00 AM",
                "KEY": f"uuid:{name}-{number}",
                "formdef_version": "2026010101",
            }
            base.update(row)
            full.append(base)
        path = tmp_path / name
        path.write_text(_csv_text(full), encoding="utf-8")
        files = {}
        for repeat, repeat_rows in (repeats or {}).items():
            repeat_name = f"{pathlib.Path(name).stem}-{repeat}.csv"
            if not repeat_rows:
                header = "PARENT_KEY,KEY,trn_hours,trn_topics\n"
                (tmp_path / repeat_name).write_text(header, encoding="utf-8")
            else:
                (tmp_path / repeat_name).write_text(_csv_text(repeat_rows), encoding="utf-8")
            files[repeat] = repeat_name
        source = Source(
            name=name,
            path=path,
            instrument=instrument.instrument or "survey",
            round=round_name,
            format="surveycto-long",
            encoding="utf-8",
            delimiter=",",
            repeats=tuple(files.items()),
            date_formats=(
                ("submitted_at", "%b %d, %Y %I:%M:%S %p"),
                ("start", "iso8601"),
                ("end", "iso8601"),
            ),
            timezone="Asia/Shanghai",
            root=tmp_path,
        )
        return read_round(source, instrument)

    return _export


def decisions_from(toml: str = "", **tables: Sequence[Mapping[str, str]]) -> Decisions:
    """Decisions from rules text and tables given as rows (missing columns are empty)."""
    import pandas as pd

    frames = {
        kind: pd.DataFrame(
            [{c: str(row.get(c, "")) for c in DECISION_COLUMNS[kind]} for row in rows],
            columns=list(DECISION_COLUMNS[kind]),
        )
        for kind, rows in tables.items()
    }
    return Decisions.from_tables(parse_rules(toml), frames)


def person(resp_id: str, **answers: str) -> dict[str, str]:
    """A complete, consistent baseline answer for one respondent (override any field)."""
    row = {
        "meta_enum_id": "E001",
        "meta_city": "TJ",
        "meta_round": "baseline",
        "resp_id": resp_id,
        "meta_consent": "1",
        "id_name": NAME,
        "id_phone": PHONE,
        "dem_sex": "1",
        "dem_birth_year": "1998",
        "job_work": "1",
        "job_wage": "4500",
        "job_si": "1 2",
        "job_title_text": "焊工",
        "job_start": "2024-03-05",
        "trn_n": "0",
    }
    row.update(answers)
    return row


def assert_no_identifiers(*texts: object) -> None:
    """No planted identifier (or a recognisable part of one) in any text."""
    for text in texts:
        for planted in (*PLANTED, PHONE[:7], RESIDENT_ID[:14]):
            assert planted not in str(text), planted

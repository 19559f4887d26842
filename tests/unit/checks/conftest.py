"""A small hand-built form and raw rounds as the loaders deliver them (text, canonical metadata).

Every expected finding in the checks' tests is worked out by hand from the rows written here.
Direct identifiers are planted (a name, a phone, a resident ID number, also inside free text) so
that every output can be scanned for them.
"""

from __future__ import annotations

import pathlib
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import pytest

from evaluation.instruments.backcheck import backcheck_instrument
from evaluation.instruments.model import Choice, ChoiceList, Instrument, Question, SpecialCode, Text
from evaluation.loaders import META_COLUMNS, FrameSource, RawRound, SampleFrame, Source, SourceInfo

NAME = "张三丰"
PHONE = "13812345678"
RESIDENT_ID = "110105194912310021"
PLANTED = (NAME, PHONE, RESIDENT_ID, PHONE[:7] + "****")

EN = "English (en)"
ZH = "Chinese (zh)"


def _t(en: str, zh: str | None = None) -> Text:
    return Text.of({EN: en, ZH: zh or en})


def small_form() -> Instrument:
    """Metadata, consent, identification, a job block with skip logic, a repeat."""
    yes_no = ChoiceList("yes_no", (Choice("1", _t("Yes", "是")), Choice("0", _t("No", "否"))))
    sex = ChoiceList("sex", (Choice("1", _t("Male", "男")), Choice("2", _t("Female", "女"))))
    status = ChoiceList(
        "job_status",
        (
            Choice("1", _t("Employee", "雇员")),
            Choice("2", _t("Apprentice", "学徒")),
            Choice("96", _t("Other", "其他")),
            Choice("-99", _t("Don't know", "不知道"), special="dont_know"),
        ),
    )
    benefits = ChoiceList(
        "benefits",
        (
            Choice("1", _t("Pension", "养老保险")),
            Choice("2", _t("Medical", "医疗保险")),
            Choice("0", _t("None", "都没有"), exclusive=True),
        ),
    )
    employed = "${job_status} = 1 or ${job_status} = 2"
    questions = (
        Question(
            "meta",
            "group",
            children=(
                Question("start", "start"),
                Question("end", "end"),
                Question("today", "today"),
                Question(
                    "meta_enum_id",
                    "text",
                    required="yes",
                    constraint="regex(., '^E[0-9]{3}$')",
                ),
                Question("meta_city", "text", required="yes"),
                Question(
                    "resp_id",
                    "text",
                    required="yes",
                    constraint="regex(., '^[A-Z]{2}[0-9]{6}$')",
                    backcheck="should_not_change",
                ),
                Question("meta_consent", "select_one", list_name="yes_no", required="yes"),
            ),
        ),
        Question(
            "ident",
            "group",
            relevant="${meta_consent} = 1",
            children=(
                Question("id_name", "text", required="yes", pii="direct"),
                Question(
                    "id_phone",
                    "text",
                    required="yes",
                    pii="direct",
                    special=("refused",),
                    constraint="regex(., '^1[3-9][0-9]{9}$')",
                ),
            ),
        ),
        Question(
            "dem",
            "group",
            relevant="${meta_consent} = 1",
            children=(
                Question(
                    "dem_sex",
                    "select_one",
                    list_name="sex",
                    required="yes",
                    backcheck="should_not_change",
                ),
                Question(
                    "dem_age",
                    "integer",
                    required="yes",
                    value_range=(15, 70),
                    soft_range=(16, 64),
                    special=("dont_know", "refused"),
                ),
                Question(
                    "job_status",
                    "select_one",
                    list_name="job_status",
                    required="yes",
                    backcheck="stable",
                ),
                Question("job_status_other", "text", required="yes", relevant="${job_status} = 96"),
                Question(
                    "job_wage",
                    "integer",
                    required="yes",
                    relevant=employed,
                    value_range=(0, 100000),
                    soft_range=(500, 30000),
                    special=("dont_know", "refused"),
                    backcheck="enumerator_sensitive",
                ),
                Question(
                    "job_hours",
                    "integer",
                    required="yes",
                    relevant=employed,
                    value_range=(1, 112),
                    constraint=". <= 84 or ${job_status} = 1",
                ),
                Question(
                    "job_benefits",
                    "select_multiple",
                    list_name="benefits",
                    relevant=employed,
                    constraint="not(selected(., '0') and count-selected(.) > 1)",
                ),
                Question("job_title_text", "text", relevant=employed, backcheck="stable"),
                Question("trn_any", "select_one", list_name="yes_no", required="yes"),
                Question(
                    "trn_course",
                    "repeat",
                    relevant="${trn_any} = 1",
                    children=(
                        Question("trn_hours", "integer", required="yes", value_range=(1, 500)),
                    ),
                ),
            ),
        ),
    )
    return Instrument(
        form_id="small_baseline",
        title="Small form",
        version="2026120101",
        languages=(EN, ZH),
        default_language=ZH,
        questions=questions,
        choice_lists=(yes_no, sex, status, benefits),
        special_codes=(
            SpecialCode("dont_know", -99, _t("Don't know", "不知道")),
            SpecialCode("refused", -98, _t("Refused", "拒绝回答")),
            SpecialCode("not_applicable", -97, _t("Not applicable", "不适用")),
        ),
        instrument="small",
        round="baseline",
    )


#: Column order of a clean row.
COLUMNS = (
    "start",
    "end",
    "today",
    "meta_enum_id",
    "meta_city",
    "resp_id",
    "meta_consent",
    "id_name",
    "id_phone",
    "dem_sex",
    "dem_age",
    "job_status",
    "job_status_other",
    "job_wage",
    "job_hours",
    "job_benefits",
    "job_title_text",
    "trn_any",
)


def answers(number: int, **changes: str) -> dict[str, str]:
    """A clean, consistent completed interview (employee, 40 minutes, 9:00 on 2026-12-05)."""
    row = {
        "start": "2026-12-05T09:00:00.000+08:00",
        "end": "2026-12-05T09:40:00.000+08:00",
        "today": "2026-12-05",
        "meta_enum_id": "E001",
        "meta_city": "TJ",
        "resp_id": f"TJ001{number:03d}",
        "meta_consent": "1",
        "id_name": f"李{number}",
        "id_phone": f"139{number:08d}",
        "dem_sex": "1",
        "dem_age": "30",
        "job_status": "1",
        "job_status_other": "",
        "job_wage": "5000",
        "job_hours": "40",
        "job_benefits": "1 2",
        "job_title_text": "电工",
        "trn_any": "0",
    }
    row.update(changes)
    return row


def _utc(text: str) -> pd.Timestamp | None:
    return pd.Timestamp(text).tz_convert("UTC") if text else None


def raw_round(
    rows: Sequence[Mapping[str, str]],
    *,
    form: Instrument | None = None,
    submitted: Sequence[str] | None = None,
    versions: Sequence[str] | None = None,
    repeats: Mapping[str, pd.DataFrame] | None = None,
    name: str = "small.csv",
    kind: str = "survey",
) -> RawRound:
    """A RawRound as the loaders return it: text cells, canonical metadata, linked repeats."""
    form = form or small_form()
    data = pd.DataFrame(list(rows), dtype=object).fillna("")
    n = len(data)
    start = [_utc(v) for v in data.get("start", [""] * n)]
    end = [_utc(v) for v in data.get("end", [""] * n)]
    if submitted is None:
        submitted_at = [
            e + pd.Timedelta(minutes=30 + i) if e is not None else None for i, e in enumerate(end)
        ]
    else:
        submitted_at = [_utc(s) for s in submitted]
    meta = pd.DataFrame(
        {
            "source_row": list(range(2, n + 2)),
            "key": [f"uuid:s{i}" for i in range(n)],
            "instance_id": [f"uuid:s{i}" for i in range(n)],
            "submitted_at": pd.to_datetime(pd.Series(submitted_at, dtype=object), utc=True),
            "start": pd.to_datetime(pd.Series(start, dtype=object), utc=True),
            "end": pd.to_datetime(pd.Series(end, dtype=object), utc=True),
            "form_version": list(versions) if versions is not None else [form.version] * n,
            "device_id": ["collect:A"] * n,
            "review_state": [None] * n,
        }
    )[list(META_COLUMNS)]
    source = Source(
        name=name,
        path=pathlib.Path(name),
        instrument=form.instrument or "small",
        round=form.round or "baseline",
        format="csv",
        encoding="utf-8",
        delimiter=",",
        kind=kind,
    )
    info = SourceInfo(name=name, sha256="0" * 64, size=0, format="csv", rows=(("main", n),))
    return RawRound(
        instrument=form,
        round=form.round or "baseline",
        source=source,
        info=info,
        data=data,
        meta=meta,
        repeats=dict(repeats or {}),
    )


def repeat_table(rows: Sequence[tuple[int, Mapping[str, str]]], name: str) -> pd.DataFrame:
    """A repeat table linked as the loaders link it: (parent position, answers) pairs."""
    records = []
    counts: dict[int, int] = {}
    for parent, values in rows:
        counts[parent] = counts.get(parent, 0) + 1
        records.append(
            {
                "submission_row": parent + 2,
                "instance_id": f"uuid:s{parent}",
                "parent_key": f"uuid:s{parent}",
                "key": f"uuid:s{parent}/{name}[{counts[parent]}]",
                "source_row": len(records) + 2,
                **values,
            }
        )
    return pd.DataFrame(records, dtype=object)


def sample_frame(rows: list[tuple[str, str, str]]) -> SampleFrame:
    """A validated sample frame (with names and phones the checks must never show)."""
    data = pd.DataFrame(
        [
            {
                "resp_id": key,
                "enterprise_id": key[:5],
                "treatment": t,
                "city": c,
                "name": NAME,
                "phone": PHONE,
            }
            for key, t, c in rows
        ],
        dtype=object,
    )
    source = FrameSource(
        name="frame.csv",
        path=pathlib.Path("frame.csv"),
        format="csv",
        encoding="utf-8",
        delimiter=",",
        enterprise="enterprise_id",
        treatment="treatment",
        strata=("city",),
    )
    info = SourceInfo(name="frame.csv", sha256="0" * 64, size=0, format="csv")
    return SampleFrame(data=data, source=source, info=info, source_rows=np.arange(2, len(rows) + 2))


FRAME = [
    ("TJ001001", "1", "TJ"),
    ("TJ001002", "1", "TJ"),
    ("TJ001003", "1", "TJ"),
    ("TJ002004", "0", "TJ"),
    ("TJ002005", "0", "TJ"),
    ("TJ002006", "0", "TJ"),
    ("SH003001", "1", "SH"),
    ("SH003002", "1", "SH"),
]


def backcheck_round(rows: list[dict[str, str]]) -> RawRound:
    """A back-check export of the small form, read with its back-check form."""
    form = backcheck_instrument(small_form())
    return raw_round(rows, form=form, name="backcheck.csv", kind="backcheck")


def backcheck_answers(key: str, checker: str, **answers_: str) -> dict[str, str]:
    """A back-check three days after the survey (its answers as :func:`answers`)."""
    row = {
        "start": "2026-12-08T09:00:00.000+08:00",
        "end": "2026-12-08T09:10:00.000+08:00",
        "today": "2026-12-08",
        "bc_backchecker_id": checker,
        "resp_id": key,
        "meta_consent": "1",
        "dem_sex": "1",
        "job_status": "1",
        "job_wage": "5000",
        "job_title_text": "电工",
    }
    row.update(answers_)
    return row


@pytest.fixture
def form() -> Instrument:
    """The small form."""
    return small_form()


def assert_no_identifiers(text: str) -> None:
    """No planted name, phone or resident ID (or a recognisable part) anywhere in a text."""
    for planted in (NAME, PHONE, RESIDENT_ID, PHONE[3:], RESIDENT_ID[:15]):
        assert planted not in text, planted

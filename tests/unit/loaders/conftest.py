"""Fixtures for loader tests: instruments and a helper that writes a file and declares it.

Every bad-input fixture is written by hand in the test that uses it (literal bytes, openpyxl,
pyreadstat or pandas writers), never by the demo world's simulator.
"""

from __future__ import annotations

import pathlib
from collections.abc import Callable

import pytest

from evaluation.instruments.files import read_instruments
from evaluation.instruments.model import Choice, ChoiceList, Instrument, Question, SpecialCode, Text
from evaluation.loaders import Source

ROOT = pathlib.Path(__file__).resolve().parents[3]

# Planted identifiers: no error message may contain them.
NAME = "张三"
PHONE = "13812345678"
RESIDENT_ID = "110105194912310021"


@pytest.fixture(scope="session")
def apprentice() -> Instrument:
    """The project's apprentice baseline form (metadata, identification, demographics)."""
    return read_instruments(ROOT / "surveys")[("apprentice", "baseline")]


def _small() -> Instrument:
    sex = ChoiceList(
        "sex",
        (
            Choice("1", Text.of({"English (en)": "Male", "Chinese (zh)": "男"})),
            Choice("2", Text.of({"English (en)": "Female", "Chinese (zh)": "女"})),
        ),
    )
    si = ChoiceList(
        "si",
        (
            Choice("1", Text.of({"English (en)": "Pension"})),
            Choice("2", Text.of({"English (en)": "Medical"})),
            Choice("0", Text.of({"English (en)": "None"}), exclusive=True),
        ),
    )
    questions = (
        Question(
            "meta",
            "group",
            children=(
                Question("start", "start"),
                Question("end", "end"),
                Question("deviceid", "deviceid"),
            ),
        ),
        Question(
            "ident",
            "group",
            label=Text.of({"English (en)": "Identification"}),
            children=(
                Question("resp_id", "text", label=Text.of({"English (en)": "Respondent ID"})),
                Question("id_name", "text", label=Text.of({"English (en)": "Name"}), pii="direct"),
                Question(
                    "id_phone", "text", label=Text.of({"English (en)": "Phone"}), pii="direct"
                ),
            ),
        ),
        Question("dem_sex", "select_one", list_name="sex", label=Text.of({"English (en)": "Sex"})),
        Question("dem_birth_year", "integer", label=Text.of({"English (en)": "Birth year"})),
        Question(
            "job_si",
            "select_multiple",
            list_name="si",
            label=Text.of({"English (en)": "Insurance"}),
        ),
        Question(
            "hh",
            "repeat",
            label=Text.of({"English (en)": "Household member"}),
            children=(
                Question("hh_name", "text", label=Text.of({"English (en)": "Member's name"})),
                Question("hh_age", "integer", label=Text.of({"English (en)": "Member's age"})),
            ),
        ),
    )
    return Instrument(
        form_id="small",
        title="Small test form",
        version="2026010101",
        languages=("English (en)",),
        default_language="English (en)",
        questions=questions,
        choice_lists=(sex, si),
        special_codes=(SpecialCode("dont_know", -99, Text.of({"English (en)": "Don't know"})),),
        instrument="small",
        round="baseline",
    )


@pytest.fixture(scope="session")
def small() -> Instrument:
    """A hand-built form with groups, a select_one, a select_multiple and a repeat."""
    return _small()


@pytest.fixture
def declare(tmp_path: pathlib.Path) -> Callable[..., Source]:
    """Write bytes to a file in a temporary raw folder and return its declaration."""

    def _declare(name: str, content: bytes, fmt: str, **options: object) -> Source:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        return Source(
            name=name,
            path=path,
            instrument="small",
            round="baseline",
            format=fmt,
            root=tmp_path,
            **options,  # type: ignore[arg-type]
        )

    return _declare


def assert_no_identifiers(message: str) -> None:
    """No planted name, phone or resident ID number (or a recognisable part) in a message."""
    for planted in (NAME, PHONE, RESIDENT_ID, RESIDENT_ID[:15], PHONE[:7]):
        assert planted not in message, planted

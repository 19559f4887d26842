"""Fixtures for instrument tests: a minimal valid surveys/ folder to break one way at a time."""

from __future__ import annotations

import pathlib
import textwrap

import pytest

INSTRUMENT = """\
instrument: mini
languages:
  - {code: en, name: English}
  - {code: zh, name: Chinese}
default_language: en
special_codes:
  - {key: dont_know, value: -99, label: {en: "Don't know", zh: "不知道"}}
  - {key: refused, value: -98, label: {en: "Refused", zh: "拒绝回答"}}
rounds:
  baseline: {form_id: mini_baseline, title: "Mini baseline", version: "2026010101"}
  endline: {form_id: mini_endline, title: "Mini endline", version: "2026010101"}
modules: [basics]
"""

MODULE = """\
module: basics
label: {en: "Basics", zh: "基本"}
questions:
  - name: bas_sex
    type: select_one sex
    label: {en: "Sex", zh: "性别"}
    required: true
    backcheck: should_not_change
  - name: bas_age
    type: integer
    label: {en: "Age", zh: "年龄"}
    required: true
    range: [16, 64]
    special: [dont_know]
  - name: bas_kids
    type: integer
    label: {en: "Children", zh: "子女数"}
    required: true
    range: [0, 10]
    relevant: "${bas_age} >= 18"
    rounds: [endline]
"""

LISTS = """\
lists:
  sex:
    special: [refused]
    choices:
      - {name: 1, label: {en: "Male", zh: "男"}}
      - {name: 2, label: {en: "Female", zh: "女"}}
"""


def write_surveys(
    root: pathlib.Path,
    *,
    instrument: str = INSTRUMENT,
    module: str = MODULE,
    lists: str = LISTS,
) -> pathlib.Path:
    """Write a surveys/ folder with one instrument, one module and one list file."""
    surveys = root / "surveys"
    for folder in ("instruments", "modules", "lists"):
        (surveys / folder).mkdir(parents=True, exist_ok=True)
    (surveys / "instruments" / "mini.yaml").write_text(textwrap.dedent(instrument), "utf-8")
    (surveys / "modules" / "basics.yaml").write_text(textwrap.dedent(module), "utf-8")
    (surveys / "lists" / "common.yaml").write_text(textwrap.dedent(lists), "utf-8")
    return surveys


@pytest.fixture
def mini_surveys(tmp_path: pathlib.Path) -> pathlib.Path:
    return write_surveys(tmp_path)


@pytest.fixture(scope="session")
def project_forms():
    """The project's own instruments, built from surveys/."""
    from evaluation.instruments.files import read_instruments

    root = pathlib.Path(__file__).resolve().parents[3]
    return read_instruments(root / "surveys")

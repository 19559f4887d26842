"""Occupation and industry coding on hand-built titles."""

from __future__ import annotations

import pandas as pd
import pytest

from evaluation.indicators import ConfigError
from evaluation.indicators.files import reference_table
from evaluation.indicators.occupations import (
    code_industry,
    code_occupations,
    coding_coverage,
    normalize_title,
    uncoded_titles,
    validate_manual_coding,
)
from tests.unit.indicators.conftest import NA

# Titles a Chinese apprentice survey gets, with the ISCO-08 group whose definition (ILO 2012,
# ISCO-08 Vol. 1) fits the 大典 2022 occupation of the same name:
TYPICAL = {
    "车工": "7223",  # lathe operator: metal working machine tool setters and operators
    "焊工": "7212",  # welders and flamecutters
    "电工": "741",  # electricians: building (7411) or electrical mechanics (7412) -> 3 digits
    "数控机床操作工": "7223",  # CNC machine tool operator
    "汽车维修工": "7231",  # motor vehicle mechanics and repairers
    "厨师": "5120",  # cooks
    "护理员": "532",  # personal care workers in health services (5321 or 5322)
    "软件开发": "2512",  # software developers
    "销售员": "52",  # sales workers (shop 5223 vs representative 3322 left to tasks)
    "会计": "2411",  # accountants (大典 2-06-03-00 is among professionals)
    "快递员": "9621",  # messengers, package deliverers and luggage porters
}


def _frame(titles, tasks=None, dadian=None):
    n = len(titles)
    return pd.DataFrame(
        {
            "job_title_text": pd.Series(titles, dtype="string"),
            "job_tasks_text": pd.Series(tasks or [NA] * n, dtype="string"),
            "job_occ_major": pd.Series(dadian or [NA] * n, dtype="Int64"),
        }
    )


def test_normalize_title():
    assert normalize_title(" 数控 车工（CNC） ") == "数控车工cnc"
    assert normalize_title("  、 ") is None
    assert normalize_title(NA) is None


def test_typical_titles_are_coded():
    coded = code_occupations(_frame(list(TYPICAL)))
    assert coded["isco08"].tolist() == list(TYPICAL.values())
    assert coded["isco_method"].eq("keyword_title").all()
    assert coded["isco_major"].tolist() == [int(c[0]) for c in TYPICAL.values()]
    assert coded["isco_digits"].tolist() == [len(c) for c in TYPICAL.values()]


def test_every_keyword_code_is_an_isco08_group():
    codes = set(reference_table("isco08_structure")["isco08"])
    kw = reference_table("isco_keywords")
    assert set(kw["isco08"]) <= codes
    assert kw["isco08"].str.len().ge(2).all()
    assert kw["source"].str.contains("ISCO-08").all()


def test_structure_table_counts():
    # ISCO-08: 10 major, 43 sub-major, 130 minor and 436 unit groups (ILO 2012, Vol. 1)
    levels = reference_table("isco08_structure")["isco08"].str.len().value_counts()
    assert levels.to_dict() == {4: 436, 3: 130, 2: 43, 1: 10}


def test_ambiguity_tasks_dadian_and_armed_forces():
    data = _frame(
        ["护士", "司机兼保安", "汽车维修电工", "学徒", "学徒工", NA, "数控车工", "司机兼保安"],
        tasks=[NA, NA, NA, "操作数控车床加工零件", "打杂", NA, NA, NA],
        dadian=[2, 6, 6, 6, 6, 7, 6, NA],
    )
    coded = code_occupations(data)
    # nurse: 2221 vs 3221, and 大典 major 2 spans ISCO 2 and 3, so it stays uncoded
    assert pd.isna(coded["isco08"][0])
    assert coded["isco_suggested"][0] == "2221|3221"
    # driver (83) and guard (5414): 大典 major 6 (production) allows ISCO 7-9 only -> 83
    assert coded["isco08"][1] == "83"
    assert pd.isna(coded["isco08"][7])
    assert pd.isna(coded["isco08"][2])  # 7231 vs 741: common prefix "7" only
    assert coded["isco_method"][2] == "uncoded"
    assert coded["isco08"][3] == "7223"
    assert coded["isco_method"][3] == "keyword_tasks"
    assert coded["isco_method"][4] == "uncoded"
    assert coded["isco08"][5] == "0"  # no title, 大典 7 armed forces
    assert coded["isco_method"][5] == "dadian_armed_forces"
    assert coded["isco08"][6] == "7223"


def _manual(rows):
    return pd.DataFrame(
        rows, columns=["title_norm", "suggested", "decision", "coder", "date", "reason"]
    )


def test_manual_file_is_applied_and_validated():
    manual = _manual(
        [
            ["汽车维修电工", "7231; 741", "7412", "LW", "2026-12-01", "repairs vehicle electrics"],
            ["学徒工", "", "uncodable", "LW", "2026-12-01", "no occupation given"],
            ["护士", "2221; 3221", "", "", "", ""],
        ]
    )
    data = _frame(["汽车维修电工", "学徒工", "护士", "车工"])
    coded = code_occupations(data, manual)
    assert coded["isco08"].tolist()[:1] == ["7412"]
    assert coded["isco_method"].tolist() == [
        "manual",
        "manual_uncodable",
        "uncoded",
        "keyword_title",
    ]
    bad = [
        (["x", "", "7299", "LW", "2026-12-01", "r"], "7299"),
        (["x", "", "7", "LW", "2026-12-01", "r"], "2-4 digits"),
        (["x", "", "7223", "", "2026-12-01", "r"], "coder"),
        (["x", "", "7223", "LW", "1 Dec", "r"], "YYYY-MM-DD"),
    ]
    for row, match in bad:
        with pytest.raises(ConfigError, match=match):
            validate_manual_coding(_manual([row]), "coding.csv")
    with pytest.raises(ConfigError, match="line 3"):
        validate_manual_coding(_manual([["a", "", "", "", "", ""], ["a", "", "", "", "", ""]]))


def test_uncoded_export_and_coverage():
    data = _frame(["护士", "护士", "学徒工", "车工", NA], dadian=[5, 2, 6, 6, NA])
    coded = code_occupations(data)
    todo = uncoded_titles(coded, data)
    assert todo["title_norm"].tolist() == ["护士", "学徒工"]  # by frequency
    assert todo["n"].tolist() == [2, 1]
    assert todo["dadian_majors"].tolist() == ["2;5", "6"]
    assert (
        todo.loc[todo["title_norm"].eq("护士"), "suggested"]
        .item()
        .startswith("2221 Nursing professionals; 3221 Nursing associate professionals")
    )
    assert todo["decision"].eq("").all()
    manual = _manual([["学徒工", "", "", "", "", ""]])
    merged = uncoded_titles(coded, data, manual)
    assert merged["title_norm"].tolist() == ["学徒工", "护士"]  # existing rows first
    cov = coding_coverage(coded).set_index("method")
    # 4 respondents with a title: 1 coded by keyword, 3 uncoded; 1 without a title
    assert cov.loc["keyword_title", "n"] == 1
    assert cov.loc["uncoded", "n"] == 3
    assert cov.loc["no_title", "n"] == 1
    assert cov.loc["total_coded", "share_of_titles"] == pytest.approx(0.25)


def test_industry_sections_to_isic():
    got = code_industry(pd.Series([3, 5, 4, 12, NA], dtype="Int64", name="job_industry"))
    # GB/T 4754-2017: C manufacturing = ISIC C; E construction = ISIC F; D electricity, heat,
    # gas and water = ISIC D plus E (water supply); L leasing and business services = ISIC N + M
    assert got["gbt4754"].tolist()[:4] == ["C", "E", "D", "L"]
    assert got["isic_section"].tolist()[:4] == ["C", "F", "D", "N"]
    assert got["isic_sections"][2] == "D;E"
    assert got["isic_relation"][1] == "one_to_one"
    assert got.iloc[4].isna().all()

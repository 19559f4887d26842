"""Job quality, wages, low pay, deflation and minimum wages on hand-built rows."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from evaluation.indicators import ConfigError, IndicatorError
from evaluation.indicators.jobs import (
    WageRules,
    below_minimum_wage,
    deflate,
    job_quality,
    low_pay,
    wages,
)
from tests.unit.indicators.conftest import NA, clean_rows


def _v(series):
    return [None if pd.isna(v) else v for v in series]


SI = ["job_si__1", "job_si__2", "job_si__3", "job_si__4", "job_si__5", "job_si__6", "job_si__0"]


def _si(*codes, dk=False, asked=True):
    if not asked:
        return dict.fromkeys([*SI, "job_si__dont_know"], NA)
    row = dict.fromkeys(SI, 0)
    for code in codes:
        row[f"job_si__{code}"] = 1
    row["job_si__dont_know"] = 1 if dk else 0
    if dk:
        row.update(dict.fromkeys(SI, 0))
    if not codes and not dk:
        row["job_si__0"] = 1
    return row


def test_job_quality_formality_rules():
    base = {"job_paid_leave": NA, "job_sick_leave": NA, "job_contract_written": 1}
    rows = [
        # 0 employee, employer pays pension -> formal via social insurance
        {"job_status": 1, **_si(1, 3, 4), **base, "job_contract_type": 1},
        # 1 employee, only housing fund -> informal (neither pension nor medical)
        {"job_status": 1, **_si(6), **base, "job_contract_type": 3},
        # 2 employee, "none" -> informal; 3 employee don't know SI, both leaves -> formal
        {"job_status": 1, **_si(), **base, "job_contract_type": 2},
        {"job_status": 2, **_si(dk=True), **base, "job_contract_type": 4}
        | {"job_paid_leave": 1, "job_sick_leave": 1},
        # 4 employee, SI don't know, no sick leave -> informal via leave
        {"job_status": 1, **_si(dk=True), **base, "job_contract_type": NA}
        | {"job_paid_leave": 1, "job_sick_leave": 0, "job_contract_written": 0},
        # 5 employee, SI don't know, leave don't know -> undetermined
        {"job_status": 1, **_si(dk=True), **base, "job_contract_type": 5},
        # 6 own-account -> not applicable; 7 contributing family worker -> informal
        {"job_status": 4, **_si(asked=False), **base, "job_contract_type": NA},
        {"job_status": 6, **_si(asked=False), **base, "job_contract_type": NA},
        # 8 no job
        {"job_status": NA, **_si(asked=False), **base, "job_contract_type": NA}
        | {"job_contract_written": NA},
    ]
    out = job_quality(clean_rows(rows))
    assert _v(out["formal_job"]) == [1, 0, 0, 1, 0, None, None, 0, None]
    assert _v(out["formal_basis"]) == [
        "social_insurance",
        "social_insurance",
        "social_insurance",
        "paid_leave",
        "paid_leave",
        None,
        None,
        "family_worker",
        None,
    ]
    # contract >= 12 months: types 1 and 2; no written contract and type not asked -> 0
    assert _v(out["contract_ge12m"]) == [1, 0, 1, 0, 0, 0, None, None, None]
    assert _v(out["written_contract"]) == [1, 1, 1, 1, 0, 1, None, None, None]
    # five insurances (not the housing fund); "none" -> 0; don't know -> missing
    assert _v(out["si_count"]) == [3, 0, 0, None, None, None, None, None, None]
    assert _v(out["housing_fund"])[:3] == [0, 1, 0]
    assert _v(out["employee"]) == [1, 1, 1, 1, 1, 1, 0, 0, None]


def test_hours_and_satisfaction():
    rows = [
        {"job_status": 1, "job_hours_usual": 48, "job_sat_overall": 4},
        {"job_status": 1, "job_hours_usual": 49, "job_sat_overall": 3},
        {"job_status": 1, "job_hours_usual": NA, "job_sat_overall": NA},
    ]
    out = job_quality(clean_rows(rows, reasons={(2, "job_sat_overall"): "refused"}))
    assert _v(out["excess_hours"]) == [0, 1, None]
    assert _v(out["job_satisfaction"]) == [4, 3, None]
    assert _v(out["job_satisfied"]) == [1, 0, None]


def _wage_rows():
    rows = [
        {"round": "baseline", "job_wage": 4330, "job_wage_bracket": NA, "job_hours_usual": 40},
        {"round": "baseline", "job_wage": 0, "job_wage_bracket": NA, "job_hours_usual": 40},
        {"round": "baseline", "job_wage": NA, "job_wage_bracket": 2, "job_hours_usual": 50},
        {"round": "baseline", "job_wage": NA, "job_wage_bracket": 6, "job_hours_usual": 40},
        {"round": "baseline", "job_wage": 12000, "job_wage_bracket": NA, "job_hours_usual": 40},
        {"round": "baseline", "job_wage": 16000, "job_wage_bracket": NA, "job_hours_usual": NA},
        {"round": "baseline", "job_wage": 3500, "job_wage_bracket": NA, "job_hours_usual": 40},
        {"round": "baseline", "job_wage": NA, "job_wage_bracket": NA, "job_hours_usual": 40},
    ]
    return clean_rows(
        rows,
        reasons={
            (2, "job_wage"): "refused",
            (3, "job_wage"): "dont_know",
            (7, "job_wage"): "refused",
        },
    )


def test_wages_midpoints_open_top_and_zero():
    out = wages(_wage_rows())
    # bracket 2 = [2000, 4000) -> 3000; open top bracket >= 10000 -> median of exact wages
    # >= 10000 in the round: 12000 and 16000 -> 14000; refused without a bracket -> missing
    assert _v(out["wage_month"]) == [4330, 0, 3000, 14000, 12000, 16000, 3500, None]
    assert _v(out["wage_imputed"]) == [0, 0, 1, 1, 0, 0, 0, None]
    assert _v(out["wage_month_lower"])[2:4] == [2000, 10000]
    assert _v(out["wage_month_upper"])[2:4] == [4000, None]
    # hourly = month / (hours * 4.33): 4330 / 173.2 = 25; 3000 / 216.5
    assert out["wage_hour"][0] == pytest.approx(25.0)
    assert out["wage_hour"][2] == pytest.approx(3000 / (50 * 4.33))
    assert out["wage_hour"][1] == 0
    assert pd.isna(out["log_wage_hour"][1])  # log of a zero wage is undefined
    assert out["log_wage_hour"][0] == pytest.approx(math.log(25.0))
    assert pd.isna(out["wage_hour"][5])  # no hours


def test_wage_rules_options():
    data = _wage_rows()
    out = wages(data, WageRules(zero_wage="missing", top_bracket_value=15000.0, topcode=13000.0))
    assert _v(out["wage_month"]) == [4330, None, 3000, 13000, 12000, 13000, 3500, None]
    out = wages(data, WageRules(bracket_method="interval"))
    assert pd.isna(out["wage_month"][2])
    assert out["wage_month_lower"][2] == 2000
    out = wages(data, WageRules(bracket_method="conditional_median"))
    # exact wages in [2000, 4000): 3500 only
    assert out["wage_month"][2] == 3500
    # winsorising at the 0 and 50% quantiles of positive wages within the round
    out = wages(data, WageRules(winsor=(0.0, 0.5)))
    positive = sorted([4330, 3000, 14000, 12000, 16000, 3500])
    cap = pd.Series(positive).quantile(0.5)
    assert out["wage_month"].max() == pytest.approx(cap)
    assert out["wage_month"][1] == 0
    with pytest.raises(ConfigError):
        WageRules(bracket_method="pareto")
    bad = data.copy()
    bad.loc[2, "job_wage_bracket"] = 9
    with pytest.raises(IndicatorError, match="9"):
        wages(bad)


def test_low_pay_and_minimum_wage_and_cpi():
    hourly = pd.Series([10.0, 20.0, 30.0, 13.0, NA], dtype="Float64")
    # median 16.5 -> threshold 11
    assert _v(low_pay(hourly)) == [1, 0, 0, 0, None]
    assert _v(low_pay(hourly, median=30.0)) == [1, 0, 0, 1, None]
    table = pd.DataFrame(
        {"city": ["TJ", "TJ"], "year": ["2025", "2026"], "min_wage_month": ["2180", "2320"]}
        | {"source": ["demo", "demo"]}
    )
    wage = pd.Series([2200.0, 2200.0, 1000.0, 3000.0])
    city = pd.Series(["TJ", "TJ", "CQ", "TJ"], dtype="string")
    year = pd.Series([2025, 2026, 2026, NA], dtype="Int64")
    below, missing = below_minimum_wage(wage, city, year, table)
    assert _v(below) == [0, 1, None, None]
    assert missing == ["city=CQ year=2026"]
    cpi = pd.DataFrame({"year": ["2025", "2026"], "cpi": ["100", "102"], "source": ["x", "x"]})
    real, gaps = deflate(pd.Series([102.0, 102.0, 5.0]), pd.Series([2026, 2025, 2027]), cpi)
    assert _v(real) == [100.0, 102.0, None]
    assert gaps == ["year=2027"]

"""The results framework: the shipped TOML validates, and the progress table by hand."""

from __future__ import annotations

import pathlib

import numpy as np
import pandas as pd
import pytest

from evaluation.indicators import ConfigError
from evaluation.indicators.framework import (
    missing_targets,
    parse_results_framework,
    read_results_framework,
    results_framework_table,
)

ROOT = pathlib.Path(__file__).resolve().parents[3]


def test_shipped_framework_is_valid_and_reports_missing_targets():
    fw = read_results_framework(ROOT / "analysis" / "results_framework.toml")
    assert [o.id for o in fw.outcomes] == [1, 2, 3, 4]
    assert {i.outcome for i in fw.indicators} == {1, 2, 3, 4}
    gaps = missing_targets(fw)
    # no target could be sourced: every indicator is reported, none invented
    assert all(i.target is None for i in fw.indicators)
    assert sum("target missing" in g for g in gaps) == len(fw.indicators)


def _doc(**indicator):
    base = {
        "id": "1.1",
        "outcome": 1,
        "indicator": "formal_job",
        "statistic": "share",
        "unit": "share",
        "definition": "d",
        "population": "p",
        "source": "s",
        "filter": {"treatment": [1]},
        "disaggregations": ["female"],
        "target": 0.6,
    }
    base.update(indicator)
    return {
        "framework": {"title": "t"},
        "outcome": [{"id": 1, "title_en": "a", "title_zh": "甲"}],
        "indicator": [base],
    }


def test_validation_errors():
    with pytest.raises(ConfigError, match="not a registered indicator"):
        parse_results_framework(_doc(indicator="made_up"))
    with pytest.raises(ConfigError, match="outcome 9"):
        parse_results_framework(_doc(outcome=9))
    with pytest.raises(ConfigError, match="'target' must be a number"):
        parse_results_framework(_doc(target="60%"))
    with pytest.raises(ConfigError, match="direction"):
        parse_results_framework(_doc(direction="up"))


def test_progress_table_by_hand():
    fw = parse_results_framework(_doc())
    frame = pd.DataFrame(
        {
            "round": ["baseline"] * 4 + ["endline"] * 4 + ["endline"],
            "treatment": [1, 1, 1, 1, 1, 1, 1, 1, 0],
            "female": [1, 1, 0, 0, 1, 1, 0, 0, 1],
            "formal_job": [0, 1, 0, 0, 1, 1, 1, np.nan, 0],
        }
    )
    table = results_framework_table({"respondent": frame}, fw).set_index(
        ["disaggregation", "group"]
    )
    # treatment only: baseline 1/4 = 0.25; endline 3/3 = 1.0 (missing excluded); target 0.6
    row = table.loc[("all", "all")]
    assert row["baseline"] == pytest.approx(0.25)
    assert row["endline"] == pytest.approx(1.0)
    assert row["change"] == pytest.approx(0.75)
    assert row["status"] == "achieved"
    assert row["progress"] == pytest.approx(0.75 / 0.35)
    women = table.loc[("female", "1")]
    assert women["baseline"] == pytest.approx(0.5)
    assert women["n_endline"] == 2
    nofw = parse_results_framework(_doc(target=""))
    t2 = results_framework_table({"respondent": frame}, nofw)
    assert set(t2["status"]) == {"target missing"}
    empty = results_framework_table({}, fw)
    assert empty["status"].tolist() == ["no data"]


def test_indicator_config_from_plan_settings(tmp_path):
    from evaluation.indicators.files import (
        indicator_config,
        read_manual_coding,
        write_manual_coding,
    )

    (tmp_path / "cpi.csv").write_text(
        "year,cpi,source\n2025,100,SYNTHETIC demo\n", encoding="utf-8"
    )
    manual = pd.DataFrame(
        [["车工", "7223", "7223", "LW", "2026-12-01", "lathe"]],
        columns=["title_norm", "suggested", "decision", "coder", "date", "reason"],
    )
    write_manual_coding(manual, tmp_path / "coding" / "manual.csv")
    assert read_manual_coding(tmp_path / "coding" / "manual.csv").equals(manual)
    cfg = indicator_config(
        {
            "cpi": "cpi.csv",
            "manual_coding": "coding/manual.csv",
            "wage": {"winsor": [0.01, 0.99], "brackets": {"1": [0, 2000], "2": [2000, ""]}},
            "normative_overrides": {"9": [0, 2]},
            "stat_min_cell": 30,
        },
        tmp_path,
    )
    assert cfg.cpi["cpi"].tolist() == ["100"]
    assert cfg.wage_rules.winsor == (0.01, 0.99)
    assert cfg.wage_rules.brackets == {1: (0.0, 2000.0), 2: (2000.0, None)}
    assert cfg.normative_overrides == {9: (0, 2)}
    assert cfg.stat_min_cell == 30
    with pytest.raises(ConfigError, match="unknown keys"):
        indicator_config({"cpi_table": "x"}, tmp_path)
    (tmp_path / "bad.csv").write_text("year,cpi,source\n2025,100,\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="no source"):
        indicator_config({"cpi": "bad.csv"}, tmp_path)

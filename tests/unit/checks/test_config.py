"""``checks.toml``: defaults, every table, and errors that name file, table and key."""

from __future__ import annotations

import datetime as dt
import pathlib

import pytest

from evaluation.checks import (
    CheckConfig,
    ConfigError,
    Tolerance,
    parse_config,
    plan_form,
    read_config,
)
from tests.unit.checks.conftest import small_form

ROOT = pathlib.Path(__file__).resolve().parents[3]

FULL = """
[settings]
timezone = "Asia/Urumqi"
fieldwork_start = 2026-12-01
fieldwork_end = "2027-01-31"
enumerator = "meta_enum_id"
consent_yes = ["1", "2"]

[special_codes]
dont_know = ["-999"]

[missing]
missing = 0.2
min_relevant = 5

[durations]
short_minutes = 20
long_minutes = 90
night = [21, 7]

[outliers]
auto = false
multiplier = 2.5

[[outliers.rules]]
variables = ["job_wage", "dem_age"]
method = "sd"
by = ["meta_city"]

[[constraints]]
variable = "job_wage"
hard_max = 60000
soft_min = "${dem_age} * 10"

[[logic]]
name = "adults_work"
assert = "${dem_age} >= 16"
if = "${job_status} = 1"
severity = "warning"

[unique]
variables = ["id_phone"]

[[other_specify]]
parent = "job_status"
text = "job_title_text"

[form_versions]
current = ["v2"]

[progress]
outcome = "meta_consent"
outcomes = { "1" = "completed", "0" = "refused" }

[backchecks]
backchecker = "bc_id"
compare_missing = true
show_id = 0.5
types = { dem_age = "stable" }
tolerance = { job_wage = "[-10%, 10%]", dem_age = "[-1, 1]" }
"""


def test_defaults():
    config = parse_config("")
    assert config == CheckConfig()
    assert config.outlier_method == "iqr"
    assert config.outlier_multiplier == 3.0
    assert config.special_aliases["refused"] == ("拒绝", "拒答")


def test_every_table():
    config = parse_config(FULL, "x.toml")
    assert config.timezone == "Asia/Urumqi"
    assert config.fieldwork_start == dt.date(2026, 12, 1)
    assert config.fieldwork_end == dt.date(2027, 1, 31)
    assert config.consent_yes == ("1", "2")
    assert config.special_aliases["dont_know"] == ("-999",)
    assert config.special_aliases["refused"] == ("拒绝", "拒答")  # default kept
    assert config.missing == 0.2
    assert config.dont_know == 0.10
    assert config.min_relevant == 5
    assert config.night == (21, 7)
    (rule,) = config.outliers
    assert rule.variables == ("job_wage", "dem_age")
    assert rule.method == "sd"
    assert rule.multiplier == 3.0  # ipacheck's default for sd when none is given
    assert rule.by == ("meta_city",)
    (bound,) = config.constraints
    assert (bound.hard_max, bound.soft_min) == ("60000", "${dem_age} * 10")
    (logic,) = config.logic
    assert (logic.assertion, logic.condition, logic.severity) == (
        "${dem_age} >= 16",
        "${job_status} = 1",
        "warning",
    )
    assert config.unique == ("id_phone",)
    assert config.current_versions == ("v2",)
    assert dict(config.progress_outcomes) == {"1": "completed", "0": "refused"}
    assert config.bc_tolerance["job_wage"] == Tolerance(-10.0, 10.0, percent=True)
    assert config.bc_tolerance["dem_age"] == Tolerance(-1.0, 1.0)
    assert config.bc_types["dem_age"] == "stable"
    assert config.bc_compare_missing is True


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[outlier]\n", "x.toml: unknown table [outlier]"),
        ("[outliers]\nmultipler = 2\n", "x.toml: [outliers]: unknown key 'multipler'"),
        ("[outliers]\nmethod = 'mad'\n", "outliers.method: 'mad' not in ('iqr', 'sd')"),
        ("[[outliers.rules]]\nvariables = ['a']\nmethod = 'mad'\n", "method: 'mad' is not one"),
        ("[missing]\nmissing = 10\n", "x.toml: missing: 10.0 must be a share between 0 and 1"),
        ("[durations]\nshort_minutes = 50\nlong_minutes = 40\n", "must be >= 0 and below"),
        ("[[logic]]\nname = 'a'\nassert = '${x} >=> 1'\n", "x.toml: logic #1 (a): assert:"),
        ("[[logic]]\nname = 'a'\n", "[[logic]] #1.assert: missing (required)"),
        ("[[logic]]\nname = 'a'\nassert = '1'\nseverity = 'fatal'\n", "severity 'fatal'"),
        ("[backchecks]\ntolerance = { a = '[5, 10]' }\n", "lower bound must be <= 0"),
        ("[backchecks]\ntolerance = { a = '[-5%, 10]' }\n", "is not a range such as"),
        ("[backchecks]\ntypes = { a = 'type1' }\n", "backchecks.types.a: 'type1' not in"),
        ("[progress]\noutcomes = { 1 = 'done' }\n", "progress.outcomes.1: 'done' not in"),
        ("[settings]\ntimezone = 'Mars/Olympus'\n", "unknown IANA zone 'Mars/Olympus'"),
        ("[settings]\nfieldwork_start = 'soon'\n", "[settings].fieldwork_start: must be a date"),
        ("[missing]\nmin_relevant = -1\n", "must be a non-negative integer"),
        ("settings = 1 = 2", "x.toml: not valid TOML"),
    ],
)
def test_errors_name_file_table_and_key(text, message):
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "x.toml")
    assert message in str(caught.value)


def test_rules_limited_to_a_form_must_name_its_variables():
    text = "[[logic]]\nname = 'a'\nassert = '${dem_agee} > 1'\nforms = ['small']\n"
    with pytest.raises(ConfigError, match="form 'small/baseline' has no variable 'dem_agee'"):
        plan_form(small_form(), parse_config(text))
    # Without `forms`, a rule applies only to the forms that have its variables.
    plan = plan_form(small_form(), parse_config(text.replace("forms = ['small']\n", "")))
    assert plan.logic == ()


def test_defaults_derived_from_the_instrument():
    plan = plan_form(small_form(), CheckConfig())
    assert (plan.key, plan.enumerator, plan.city, plan.consent) == (
        "resp_id",
        "meta_enum_id",
        "meta_city",
        "meta_consent",
    )
    bounds = {(b.variable, b.kind): (b.lower, b.upper) for b in plan.bounds}
    assert bounds == {
        ("dem_age", "hard"): ("15", "70"),
        ("dem_age", "soft"): ("16", "64"),
        ("job_wage", "hard"): ("0", "100000"),
        ("job_wage", "soft"): ("500", "30000"),
        ("job_hours", "hard"): ("1", "112"),
        ("trn_hours", "hard"): ("1", "500"),
    }
    # Automatic outlier rules: numeric questions with a soft range or a range wider than 100.
    assert [r.variables for r in plan.outliers] == [
        ("dem_age",),
        ("job_wage",),
        ("job_hours",),
        ("trn_hours",),
    ]
    assert all((r.method, r.multiplier) == ("iqr", 3.0) for r in plan.outliers)
    assert plan.unique == ("id_phone",)  # a direct identifier with a pattern; never the name
    assert [(p.parent, p.text) for p in plan.specify] == [("job_status", "job_status_other")]
    assert plan.variables["job_status"].other_codes == ("96",)
    assert plan.variables["job_status"].accepted == ("dont_know",)
    assert dict(plan.backcheck) == {
        "resp_id": "should_not_change",
        "dem_sex": "should_not_change",
        "job_status": "stable",
        "job_wage": "enumerator_sensitive",
        "job_title_text": "stable",
    }
    assert plan.variables["trn_hours"].table == "trn_course"
    assert plan.variables["trn_hours"].relevance == ("${meta_consent} = 1", "${trn_any} = 1")


def test_the_project_configuration_reads_and_plans(tmp_path):
    from evaluation.instruments.files import read_instruments

    config = read_config(ROOT / "analysis" / "checks.toml")
    forms = read_instruments(ROOT / "surveys")
    plans = {key: plan_form(form, config) for key, form in forms.items()}
    wage = [r for r in plans[("apprentice", "baseline")].outliers if r.variables == ("job_wage",)]
    assert wage[0].by == ("meta_city",)
    assert plans[("capacity", "pre")].key == "participant_id"
    with pytest.raises(ConfigError, match="no such checks configuration file"):
        read_config(tmp_path / "missing.toml")

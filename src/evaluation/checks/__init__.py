"""High-frequency data-quality checks on raw survey rounds, and their workbook.

The checks a field supervisor runs every morning during fieldwork (IPA's ``ipacheck`` in Python):
duplicates and unique fields, form versions, missing / don't-know / refused rates and distinct
values, outliers, hard and soft constraints, logic assertions, skip logic in both directions,
other-specify listings, interview durations and hours, enumerator and survey dashboards,
progress against the sample list and back-check comparisons. Each check is a pure function from
a raw round (:class:`~evaluation.loaders.RawRound`, read by the loaders, before cleaning) to a
tidy findings table; the configuration (``checks.toml``) has defaults derived from the
instrument. :func:`run_checks` runs them all on a raw folder; :func:`write_outputs` writes the
workbook, CSV and HTML summary. Only pseudonymous keys and enumerator IDs are ever shown.

Public entry points: :func:`run_checks`, :func:`check_round`, :func:`prepare_round`, each
``check_*`` function, :func:`compare_backchecks`, :func:`parse_config`, :func:`read_config`,
:func:`output_files`, :func:`write_outputs`.
"""

from evaluation.checks.backchecks import compare_backchecks, prtest, reliability
from evaluation.checks.config import (
    BoundRule,
    CheckConfig,
    ConfigError,
    LogicRule,
    OutlierRule,
    SpecifyPair,
    Tolerance,
    parse_config,
)
from evaluation.checks.dashboards import check_dashboards, enumerator_dashboard, survey_dashboard
from evaluation.checks.findings import (
    CHECKS,
    FINDING_COLUMNS,
    SEVERITIES,
    CheckResult,
    Findings,
    Redactor,
)
from evaluation.checks.identity import (
    check_form_versions,
    check_ids,
    check_source,
    check_unique,
)
from evaluation.checks.missing import answer_counts, check_missing
from evaluation.checks.plan import FormPlan, Variable, plan_form
from evaluation.checks.prepare import PreparedRound, PreparedTable, prepare_round
from evaluation.checks.progress import check_progress
from evaluation.checks.run import check_round, round_results, run_checks
from evaluation.checks.specify import check_other_specify
from evaluation.checks.timing import check_durations, durations
from evaluation.checks.values import (
    check_constraints,
    check_logic,
    check_outliers,
    check_skip_logic,
)
from evaluation.checks.workbook import (
    output_files,
    read_config,
    read_raw,
    summary_html,
    workbook_bytes,
    write_outputs,
)

__all__ = [
    "CHECKS",
    "FINDING_COLUMNS",
    "SEVERITIES",
    "BoundRule",
    "CheckConfig",
    "CheckResult",
    "ConfigError",
    "Findings",
    "FormPlan",
    "LogicRule",
    "OutlierRule",
    "PreparedRound",
    "PreparedTable",
    "Redactor",
    "SpecifyPair",
    "Tolerance",
    "Variable",
    "answer_counts",
    "check_constraints",
    "check_dashboards",
    "check_durations",
    "check_form_versions",
    "check_ids",
    "check_logic",
    "check_missing",
    "check_other_specify",
    "check_outliers",
    "check_progress",
    "check_round",
    "check_skip_logic",
    "check_source",
    "check_unique",
    "compare_backchecks",
    "durations",
    "enumerator_dashboard",
    "output_files",
    "parse_config",
    "plan_form",
    "prepare_round",
    "prtest",
    "read_config",
    "read_raw",
    "reliability",
    "round_results",
    "run_checks",
    "summary_html",
    "survey_dashboard",
    "workbook_bytes",
    "write_outputs",
]

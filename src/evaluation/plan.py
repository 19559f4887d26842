"""The analysis plan: ``analysis/plan.toml`` read into a frozen :class:`AnalysisPlan`.

The pre-analysis plan is data. This module reads it, refuses anything it does not understand
(naming the file, the table and the key) and applies the recorded deviations. It imports
nothing of the package (DESIGN.md section 2), so it does not call the estimation layer:
:mod:`evaluation.pipeline` is the one place that turns the plan into estimation calls. The
vocabularies below (estimators, inference methods, adjustments, trimming rules...) are the
estimation layer's own names; a test pins each to the estimation constant it mirrors.

Deviations: once ``status = "registered"``, the body of the plan is fixed by its hash
(``registered_hash``); every change after that is a ``[deviations.<id>]`` table with ``what``,
``why``, ``who``, ``date`` and, for a changed parameter, ``set = {"table.key" = value}``.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import pathlib
import tomllib
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

__all__ = [
    "ADJUSTMENTS",
    "ESTIMATORS",
    "INFERENCE_METHODS",
    "AnalysisPlan",
    "AttritionPlan",
    "ComparisonPlan",
    "Deviation",
    "DisclosurePlan",
    "InferencePlan",
    "InstrumentPlan",
    "MultipleTestingPlan",
    "OutcomeFamily",
    "PlanError",
    "PowerPlan",
    "Subgroup",
    "parse_plan",
    "read_plan",
]

#: Estimators a plan may name: ANCOVA, DiD, IPW, AIPW, nearest-neighbour matching, ANCOVA weighted
#: by the propensity score's balancing weights, and Abadie's IPW DiD (see evaluation.pipeline).
ESTIMATORS = ("ancova", "did", "ipw", "aipw", "matching", "weighted_ancova", "weighted_did")
#: How p-values and intervals are obtained (``auto`` picks by the number of clusters).
INFERENCE_METHODS = ("auto", "analytic", "wild", "randomization")
#: Multiple-testing adjustments (within a family and across families); the methods of
#: ``evaluation.estimation.adjust_pvalues``, and ``none``.
ADJUSTMENTS = ("anderson", "romano_wolf", "holm", "bonferroni", "bh", "none")
#: Variance estimators (``evaluation.estimation.covariance.VCOV_TYPES``).
VCOVS = ("CR2", "CR1", "HC2", "HC1", "iid")
#: Wild-bootstrap weights (``evaluation.estimation.bootstrap.WEIGHT_TYPES``).
BOOTSTRAP_WEIGHTS = ("webb", "rademacher", "mammen")
WEIGHTS_KINDS = ("analytic", "sampling", "frequency")
MISSING_BASELINE = ("indicator", "drop")
#: Lee-bounds trimming conventions (``evaluation.estimation.attrition.TRIMMING``).
LEE_TRIMMING = ("quantile", "order", "fractional")
ESTIMANDS = ("ATT", "ATE", "ATC")
STATUSES = ("draft", "registered")
PROPENSITY_ESTIMATORS = ("ipw", "aipw", "matching", "weighted_ancova", "weighted_did")
MAX_SEED = 2**63 - 1

_REQUIRED = object()


class PlanError(ValueError):
    """The analysis plan is invalid; the message names the file, the table and the key.

    Parameters
    ----------
    source : str
        The plan file (or ``"<string>"``).
    table : str or None
        The TOML table, for example ``"families.skills"``.
    key : str or None
        The key in that table.
    problem : str
        What is wrong and what was expected.

    Attributes
    ----------
    source, table, key, problem : str or None
        The parts of the message, for programs that handle the error.
    """

    def __init__(self, source: str, table: str | None, key: str | None, problem: str) -> None:
        self.source, self.table, self.key, self.problem = source, table, key, problem
        where = f"[{table}]" if table else "(top level)"
        if key:
            where += f" {key}"
        super().__init__(f"{source}: {where}: {problem}")


class _Table:
    """One TOML table being read: typed getters that remember which keys were used."""

    def __init__(self, source: str, name: str, data: object) -> None:
        if not isinstance(data, Mapping):
            raise PlanError(source, name, None, f"expected a table; got {type(data).__name__}")
        self.source, self.name, self.data = source, name, data
        self.used: set[str] = set()

    def error(self, key: str | None, problem: str) -> PlanError:
        return PlanError(self.source, self.name, key, problem)

    def raw(self, key: str, default: Any = _REQUIRED) -> Any:
        self.used.add(key)
        if key not in self.data:
            if default is _REQUIRED:
                raise self.error(key, "missing required key")
            return default
        return self.data[key]

    def text(self, key: str, default: Any = _REQUIRED, choices: Collection[str] = ()) -> Any:
        value = self.raw(key, default)
        if value is default and key not in self.data:
            return value
        if not isinstance(value, str) or not value.strip():
            raise self.error(key, f"expected a non-empty string; got {value!r}")
        if choices and value not in choices:
            raise self.error(key, f"unknown value {value!r}; expected one of {tuple(choices)}")
        return value

    def texts(self, key: str, default: Any = ()) -> tuple[str, ...]:
        value = self.raw(key, default)
        if not isinstance(value, list | tuple) or not all(
            isinstance(v, str) and v.strip() for v in value
        ):
            raise self.error(key, f"expected a list of non-empty strings; got {value!r}")
        duplicated = sorted({v for v in value if list(value).count(v) > 1})
        if duplicated:
            raise self.error(key, f"listed more than once: {duplicated}")
        return tuple(value)

    def integer(self, key: str, default: Any = _REQUIRED, minimum: int | None = None) -> Any:
        value = self.raw(key, default)
        if value is default and key not in self.data:
            return value
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(key, f"expected an integer; got {value!r}")
        if minimum is not None and value < minimum:
            raise self.error(key, f"expected an integer >= {minimum}; got {value}")
        return value

    def number(self, key: str, default: Any, low: float, high: float) -> float:
        value = self.raw(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or not low < value < high:
            raise self.error(
                key, f"expected a number strictly between {low} and {high}; got {value!r}"
            )
        return float(value)

    def flag(self, key: str, default: bool) -> bool:
        value = self.raw(key, default)
        if not isinstance(value, bool):
            raise self.error(key, f"expected true or false; got {value!r}")
        return value

    def table(self, key: str, default: Any = _REQUIRED) -> _Table:
        name = f"{self.name}.{key}" if self.name else key
        return _Table(self.source, name, self.raw(key, default))

    def subtables(self, key: str) -> list[_Table]:
        parent = self.table(key, {})
        parent.used.update(parent.data)
        return [parent.table(name) for name in parent.data]

    def finish(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            raise self.error(unknown[0], f"unknown key; this table accepts {sorted(self.used)}")


def _freeze(value: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(value))


@dataclass(frozen=True)
class InstrumentPlan:
    """One instrument of the plan: its rounds, unit key and regression design.

    Attributes
    ----------
    name : str
        Instrument name (``apprentice``, ``enterprise``, ``capacity``).
    rounds : tuple of str
        Rounds collected with this instrument.
    key : str
        Unit identifier column (``resp_id``, ``enterprise_id``, ``participant_id``).
    cluster : str or None
        Cluster column for the variance (the level of assignment).
    fixed_effects : tuple of str
        Strata and other absorbed factors.
    covariates : tuple of str
        Numeric covariates (column names).
    categorical_covariates : tuple of str
        Covariates entered as categories (``C(name)`` terms).
    propensity_covariates : tuple of str
        Numeric columns of the propensity-score model (IPW, AIPW, matching, weighted ANCOVA)
        and of the response model of the attrition weights.
    propensity_categorical : tuple of str
        Columns of those models entered as categories (``C(name)`` terms).
    strata : str or None
        Randomization inference re-assigns the treatment within the levels of this column.
    weights : str or None
        Survey-weight column.
    weights_kind : str
        ``"analytic"``, ``"sampling"`` or ``"frequency"``.
    """

    name: str
    rounds: tuple[str, ...]
    key: str
    cluster: str | None = None
    fixed_effects: tuple[str, ...] = ()
    covariates: tuple[str, ...] = ()
    categorical_covariates: tuple[str, ...] = ()
    propensity_covariates: tuple[str, ...] = ()
    propensity_categorical: tuple[str, ...] = ()
    strata: str | None = None
    weights: str | None = None
    weights_kind: str = "analytic"

    @property
    def regressors(self) -> tuple[str, ...]:
        """Covariate terms for the estimation layer: names, then ``C(name)`` for categories.

        Returns
        -------
        tuple of str
            Formula terms accepted by ``EffectSpec.covariates``.
        """
        return self.covariates + tuple(f"C({c})" for c in self.categorical_covariates)

    @property
    def propensity_terms(self) -> tuple[str, ...]:
        """Terms of the propensity-score model: names, then ``C(name)`` for categories.

        Returns
        -------
        tuple of str
            Formula terms accepted by ``evaluation.estimation.fit_propensity``.
        """
        return self.propensity_covariates + tuple(f"C({c})" for c in self.propensity_categorical)


@dataclass(frozen=True)
class OutcomeFamily:
    """A pre-registered family of outcomes, adjusted together for multiple testing.

    Attributes
    ----------
    name : str
        Family key (``employability``, ``job_quality``, ...).
    label, label_zh : str
        English and Chinese labels for tables and figures (``label_zh`` may be empty).
    instrument : str
        Instrument whose data hold the outcomes.
    outcomes : tuple of str
        Indicator names, in reporting order.
    multiple_testing : str
        Adjustment within the family.
    """

    name: str
    label: str
    label_zh: str
    instrument: str
    outcomes: tuple[str, ...]
    multiple_testing: str


@dataclass(frozen=True)
class Subgroup:
    """A pre-specified heterogeneity dimension.

    Attributes
    ----------
    name : str
        Subgroup key (``sex``, ``hukou``, ``disability``, ``city``).
    column : str
        Column holding the subgroup values.
    instrument : str
        Instrument whose data hold the column.
    label, label_zh : str
        English and Chinese labels.
    """

    name: str
    column: str
    instrument: str
    label: str
    label_zh: str


@dataclass(frozen=True)
class InferencePlan:
    """How standard errors, p-values and intervals are computed.

    Attributes
    ----------
    method : str
        ``"auto"``, ``"analytic"``, ``"wild"`` or ``"randomization"``.
    vcov : str
        Variance estimator (``"CR2"``, ``"CR1"``, ...).
    bootstrap_draws : int
        Draws (B) of the wild bootstrap or randomization inference.
    bootstrap_weights : str
        Wild-bootstrap weights (``"webb"``, ``"rademacher"``, ``"mammen"``).
    """

    method: str
    vcov: str
    bootstrap_draws: int
    bootstrap_weights: str


@dataclass(frozen=True)
class MultipleTestingPlan:
    """Multiple-testing control.

    Attributes
    ----------
    within : str
        Default adjustment within each family (a family may name its own).
    across : str
        Adjustment across every primary outcome.
    draws : int
        Resampling draws for Romano-Wolf.
    """

    within: str
    across: str
    draws: int


@dataclass(frozen=True)
class AttritionPlan:
    """Attrition diagnostics and Lee (2009) bounds.

    Attributes
    ----------
    instrument : str
        Instrument whose respondents are followed.
    response : str
        0/1 column of every round: the unit was interviewed (the indicators stage's
        ``interviewed``). The baseline sample is the units interviewed at baseline; one of
        them attrits when its endline row is missing or has 0.
    lee_outcomes : tuple of str
        Outcomes bounded (observed only for a selected subsample).
    lee_observed : str
        0/1 endline column: the outcome exists (for example ``employed``). An outcome counts as
        observed for a baseline unit interviewed at endline with this column 1 and the outcome
        not missing.
    lee_tighten_by : tuple of str
        Covariates whose cells tighten the bounds.
    lee_trimming : str
        ``"quantile"`` (keep y <= Q(1 - p)), ``"order"`` (drop floor(p m) of the m observed
        values) or ``"fractional"`` (keep exactly a share 1 - p; needed with survey weights).
    lee_draws : int
        (Cluster) bootstrap draws for the bounds' standard errors and intervals (0: none).
    inverse_probability_weights : bool
        Re-estimate the primary specification with inverse-probability-of-attrition weights.
    """

    instrument: str
    response: str
    lee_outcomes: tuple[str, ...]
    lee_observed: str
    lee_tighten_by: tuple[str, ...]
    lee_trimming: str
    lee_draws: int
    inverse_probability_weights: bool


@dataclass(frozen=True)
class ComparisonPlan:
    """Options of the comparison-group estimators (IPW, AIPW, matching).

    Attributes
    ----------
    estimand : str
        ``"ATT"``, ``"ATE"`` or ``"ATC"``.
    trim : tuple of float or str
        Propensity-score bounds ``(low, high)`` or ``"crump"`` (Crump et al. 2009).
    neighbors : int
        Matches per focal unit (the treated for the ATT).
    caliper : float or None
        Caliper in standard deviations of the logit of the propensity score (Austin 2011):
        matching is on the logit, within ``caliper`` times its SD; ``None`` for no caliper.
    replace : bool
        Match with replacement.
    """

    estimand: str
    trim: tuple[float, float] | str
    neighbors: int
    caliper: float | None
    replace: bool


@dataclass(frozen=True)
class PowerPlan:
    """Power analysis settings.

    Attributes
    ----------
    alpha : float
        Two-sided significance level.
    power : float
        Target power.
    """

    alpha: float
    power: float


@dataclass(frozen=True)
class DisclosurePlan:
    """Statistical disclosure control of published tables (DATA.md section 9.4).

    Attributes
    ----------
    threshold : int
        Counts below this are suppressed (with complementary suppression).
    sensitive_threshold : int
        Stricter threshold for tables of sensitive variables.
    sensitive_variables : tuple of str
        Variables (income, disability, migrant status) that take the stricter threshold.
    """

    threshold: int
    sensitive_threshold: int
    sensitive_variables: tuple[str, ...]

    def threshold_for(self, variables: Iterable[str]) -> int:
        """Return the threshold for a table showing these variables.

        Parameters
        ----------
        variables : iterable of str
            The variables in the table.

        Returns
        -------
        int
            ``sensitive_threshold`` when any of them is sensitive, else ``threshold``.
        """
        sensitive = set(self.sensitive_variables)
        return self.sensitive_threshold if sensitive & set(variables) else self.threshold


@dataclass(frozen=True)
class Deviation:
    """One recorded deviation from the registered plan.

    Attributes
    ----------
    id : str
        The deviation's table name (``[deviations.<id>]``).
    what, why, who : str
        What changed, why, and who decided.
    date : str
        ISO date of the decision.
    changes : Mapping of str to object
        Plan parameters changed, as ``"table.key"`` to the new value (may be empty).
    """

    id: str
    what: str
    why: str
    who: str
    date: str
    changes: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Freeze the changes."""
        object.__setattr__(self, "changes", _freeze(self.changes))


@dataclass(frozen=True)
class AnalysisPlan:
    """The pre-analysis plan, validated and frozen.

    Attributes
    ----------
    source : str
        The file it was read from.
    title, version, status : str
        Plan metadata; ``status`` is ``"draft"`` or ``"registered"``.
    registered_hash : str or None
        Hash of the registered body (``registered`` plans only).
    results_framework : str
        Path of the results framework (logframe) file, relative to the plan file.
    seed : int
        The one seed of every random step.
    treatment, round, baseline_round, endline_round, post : str
        Design columns and round names.
    baseline_column : str
        Template naming an outcome's baseline column (``"{outcome}_baseline"``).
    level : float
        Confidence level.
    instruments : tuple of InstrumentPlan
        Instruments and rounds.
    families : tuple of OutcomeFamily
        Outcome families, in reporting order.
    subgroups : tuple of Subgroup
        Heterogeneity dimensions.
    primary : str
        Primary estimator.
    robustness : tuple of str
        Secondary (robustness) estimators.
    missing_baseline : str
        ANCOVA treatment of a missing baseline outcome.
    lin : bool
        Lin (2013) interacted adjustment for the ANCOVA.
    inference : InferencePlan
        Inference settings.
    multiple_testing : MultipleTestingPlan
        Multiple-testing settings.
    attrition : AttritionPlan or None
        Attrition and bounds settings.
    comparison : ComparisonPlan
        Comparison-group estimator settings.
    power : PowerPlan
        Power settings.
    disclosure : DisclosurePlan
        Disclosure-control settings.
    deviations : tuple of Deviation
        Recorded deviations, sorted by id.
    body_hash : str
        SHA-256 of the plan body (without deviations and ``registered_hash``).
    plan_hash : str
        SHA-256 of the plan as run (body and deviations).
    indicators : Mapping
        The ``[indicators]`` table, read-only and unchecked here: the settings of the indicator
        construction (wage rules, mismatch options, table paths relative to the plan's folder),
        validated by ``evaluation.indicators.files.indicator_config``.
    """

    source: str
    title: str
    version: str
    status: str
    registered_hash: str | None
    results_framework: str
    seed: int
    treatment: str
    round: str
    baseline_round: str
    endline_round: str
    post: str
    baseline_column: str
    level: float
    instruments: tuple[InstrumentPlan, ...]
    families: tuple[OutcomeFamily, ...]
    subgroups: tuple[Subgroup, ...]
    primary: str
    robustness: tuple[str, ...]
    missing_baseline: str
    lin: bool
    inference: InferencePlan
    multiple_testing: MultipleTestingPlan
    attrition: AttritionPlan | None
    comparison: ComparisonPlan
    power: PowerPlan
    disclosure: DisclosurePlan
    deviations: tuple[Deviation, ...]
    body_hash: str
    plan_hash: str
    indicators: Mapping[str, Any] = field(default_factory=dict)

    @property
    def estimators(self) -> tuple[str, ...]:
        """Return the primary estimator followed by the robustness estimators.

        Returns
        -------
        tuple of str
            Estimator names in reporting order.
        """
        return (self.primary, *self.robustness)

    @property
    def folder(self) -> pathlib.Path:
        """Return the plan's folder, against which the paths it names are resolved.

        Returns
        -------
        pathlib.Path
            The folder of ``source``.
        """
        return pathlib.Path(self.source).parent

    @property
    def results_framework_path(self) -> pathlib.Path:
        """Return the results framework file, resolved against the plan's folder.

        Returns
        -------
        pathlib.Path
            The path (not checked for existence: the pipeline reads it).
        """
        return self.folder / self.results_framework

    @property
    def outcome_families(self) -> Mapping[str, str]:
        """Return every outcome's family.

        Returns
        -------
        Mapping of str to str
            Outcome name to family name, in plan order.
        """
        return _freeze({o: f.name for f in self.families for o in f.outcomes})

    def instrument(self, name: str) -> InstrumentPlan:
        """Return one instrument of the plan.

        Parameters
        ----------
        name : str
            Instrument name.

        Returns
        -------
        InstrumentPlan
            Its settings.

        Raises
        ------
        KeyError
            The plan has no such instrument.
        """
        for instrument in self.instruments:
            if instrument.name == name:
                return instrument
        msg = f"{self.source}: no [instruments.{name}]; the plan has {self._names()}"
        raise KeyError(msg)

    def _names(self) -> list[str]:
        return [i.name for i in self.instruments]

    def outcomes(self, instrument: str | None = None) -> tuple[str, ...]:
        """Return the outcomes of every family, or of the families of one instrument.

        Parameters
        ----------
        instrument : str, optional
            Restrict to families measured with this instrument.

        Returns
        -------
        tuple of str
            Outcome names in plan order.
        """
        return tuple(
            o
            for f in self.families
            if instrument is None or f.instrument == instrument
            for o in f.outcomes
        )

    @property
    def estimated_instruments(self) -> tuple[str, ...]:
        """Return the instruments that hold outcome families, in plan order.

        Returns
        -------
        tuple of str
            Instrument names.
        """
        return tuple(dict.fromkeys(f.instrument for f in self.families))

    def required_columns(self, instrument: str) -> tuple[tuple[str, str], ...]:
        """Return every column the plan names for one instrument's analysis data.

        Parameters
        ----------
        instrument : str
            Instrument name.

        Returns
        -------
        tuple of (str, str)
            ``(column, where the plan names it)`` pairs, in plan order.
        """
        spec = self.instrument(instrument)
        table = f"[instruments.{instrument}]"
        named: list[tuple[str, str]] = [
            (self.treatment, "[design] treatment"),
            (self.round, "[design] round"),
            (spec.key, f"{table} key"),
        ]
        if spec.cluster:
            named.append((spec.cluster, f"{table} cluster"))
        if spec.weights:
            named.append((spec.weights, f"{table} weights"))
        if spec.strata:
            named.append((spec.strata, f"{table} strata"))
        for attr in ("fixed_effects", "covariates", "categorical_covariates"):
            named.extend((c, f"{table} {attr}") for c in getattr(spec, attr))
        if self.uses_propensity(instrument):
            for attr in ("propensity_covariates", "propensity_categorical"):
                named.extend((c, f"{table} {attr}") for c in getattr(spec, attr))
        for family in self.families:
            if family.instrument == instrument:
                named.extend((o, f"[families.{family.name}] outcomes") for o in family.outcomes)
        named.extend(
            (g.column, f"[subgroups.{g.name}] column")
            for g in self.subgroups
            if g.instrument == instrument
        )
        if self.attrition is not None and self.attrition.instrument == instrument:
            a = self.attrition
            named.append((a.response, "[attrition] response"))
            named.append((a.lee_observed, "[attrition] lee_observed"))
            named.extend((c, "[attrition] lee_tighten_by") for c in a.lee_tighten_by)
        return tuple(dict.fromkeys(named))

    def validate_columns(self, columns: Iterable[str], instrument: str) -> None:
        """Check that the analysis data hold every column the plan names.

        Parameters
        ----------
        columns : iterable of str
            Columns available in the instrument's analysis frame (long, with the round column).
        instrument : str
            Instrument name.

        Raises
        ------
        PlanError
            Listing every missing column with the table and key that name it.
        """
        available = set(columns)
        missing = [
            (c, where) for c, where in self.required_columns(instrument) if c not in available
        ]
        if missing:
            listed = "; ".join(f"{c!r} (named in {where})" for c, where in missing)
            raise PlanError(
                self.source,
                f"instruments.{instrument}",
                None,
                f"{len(missing)} column(s) not in the {instrument} data ({len(available)} "
                f"columns): {listed}",
            )

    def uses_propensity(self, instrument: str) -> bool:
        """Return whether the plan fits a propensity or response model on this instrument's data.

        Parameters
        ----------
        instrument : str
            Instrument name.

        Returns
        -------
        bool
            True when an estimator needs a propensity score (``PROPENSITY_ESTIMATORS``) on an
            instrument holding outcome families, or the plan re-estimates with attrition
            weights on this instrument.
        """
        estimated = instrument in self.estimated_instruments and any(
            e in PROPENSITY_ESTIMATORS for e in self.estimators
        )
        attrition = self.attrition
        reweighted = (
            attrition is not None
            and attrition.instrument == instrument
            and attrition.inverse_probability_weights
        )
        return estimated or reweighted


def _deep_freeze(value: Any) -> Any:
    """Return a read-only copy: tables become mapping proxies, arrays tuples."""
    if isinstance(value, Mapping):
        return MappingProxyType({k: _deep_freeze(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(_deep_freeze(v) for v in value)
    return value


def _canonical(value: Any) -> bytes:
    def default(obj: Any) -> str:
        if isinstance(obj, dt.date | dt.datetime | dt.time):
            return obj.isoformat()
        msg = f"cannot hash {type(obj).__name__}"
        raise TypeError(msg)

    text = json.dumps(
        value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=default
    )
    return text.encode("utf-8")


def _digest(value: Any) -> str:
    return hashlib.sha256(_canonical(value)).hexdigest()


def _body(document: Mapping[str, Any]) -> dict[str, Any]:
    body = {k: copy.deepcopy(v) for k, v in document.items() if k != "deviations"}
    if isinstance(body.get("plan"), dict):
        body["plan"].pop("registered_hash", None)
    return body


def read_plan(path: str | pathlib.Path) -> AnalysisPlan:
    """Read and validate an analysis plan file.

    Parameters
    ----------
    path : str or pathlib.Path
        The TOML file (``analysis/plan.toml``).

    Returns
    -------
    AnalysisPlan
        The validated plan with its deviations applied.

    Raises
    ------
    PlanError
        The file is missing, is not valid TOML, or the plan is invalid.
    """
    path = pathlib.Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PlanError(str(path), None, None, f"cannot read the plan: {exc.strerror}") from exc
    return parse_plan(text, source=str(path))


def parse_plan(text: str, *, source: str = "<string>") -> AnalysisPlan:
    """Parse and validate an analysis plan from TOML text.

    Parameters
    ----------
    text : str
        The plan in TOML.
    source : str, optional
        File name used in messages and to resolve ``results_framework``.

    Returns
    -------
    AnalysisPlan
        The validated plan with its deviations applied.

    Raises
    ------
    PlanError
        Invalid TOML, an unknown table or key, a missing or ill-typed value, a family without
        outcomes, an outcome in two families, an unknown estimator, method or instrument, a bad
        seed or threshold, a changed body of a registered plan, or a malformed deviation.
    """
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PlanError(source, None, None, f"not valid TOML: {exc}") from exc
    root = _Table(source, "", document)
    deviations = _read_deviations(root)
    body = _body(document)
    body_hash = _digest(body)
    amended = _apply_deviations(source, body, deviations)
    meta = document.get("plan")
    if isinstance(meta, Mapping) and "registered_hash" in meta:
        amended["plan"]["registered_hash"] = meta["registered_hash"]
    try:
        plan = _read_body(source, amended, body_hash, deviations)
    except PlanError as exc:
        setters = [d.id for d in deviations if f"{exc.table}.{exc.key}" in d.changes]
        if setters:
            raise PlanError(
                source,
                exc.table,
                exc.key,
                f"{exc.problem} (value set by [deviations.{setters[0]}])",
            ) from exc
        raise
    _check_registration(source, plan)
    return plan


def _read_deviations(root: _Table) -> tuple[Deviation, ...]:
    out = []
    for table in root.subtables("deviations"):
        identifier = table.name.split(".", 1)[1]
        date = table.raw("date")
        if isinstance(date, dt.datetime) or not isinstance(date, dt.date | str):
            raise table.error("date", f"expected a date (YYYY-MM-DD); got {date!r}")
        if isinstance(date, str):
            try:
                date = dt.date.fromisoformat(date)
            except ValueError as exc:
                raise table.error("date", f"expected a date (YYYY-MM-DD); got {date!r}") from exc
        changes = table.raw("set", {})
        if not isinstance(changes, Mapping):
            raise table.error("set", "expected a table of 'table.key' = value")
        deviation = Deviation(
            id=identifier,
            what=table.text("what"),
            why=table.text("why"),
            who=table.text("who"),
            date=date.isoformat(),
            changes=dict(changes),
        )
        table.finish()
        out.append(deviation)
    return tuple(sorted(out, key=lambda d: d.id))


def _apply_deviations(
    source: str, body: dict[str, Any], deviations: Iterable[Deviation]
) -> dict[str, Any]:
    amended = copy.deepcopy(body)
    for deviation in deviations:
        for dotted, value in deviation.changes.items():
            *tables, key = dotted.split(".")
            node: Any = amended
            for part in tables:
                node = node.get(part) if isinstance(node, dict) else None
            if not tables or not isinstance(node, dict):
                raise PlanError(
                    source,
                    f"deviations.{deviation.id}",
                    "set",
                    f"{dotted!r} does not name a key of an existing table ('table.key')",
                )
            node[key] = copy.deepcopy(value)
    return amended


def _check_registration(source: str, plan: AnalysisPlan) -> None:
    if plan.status == "draft":
        if plan.registered_hash is not None:
            raise PlanError(
                source, "plan", "registered_hash", "a draft plan has no registered hash"
            )
        if plan.deviations:
            raise PlanError(
                source,
                "deviations",
                None,
                "a draft plan has nothing to deviate from: edit the plan itself, or register it "
                "(status = 'registered') before recording deviations",
            )
        return
    if plan.registered_hash != plan.body_hash:
        raise PlanError(
            source,
            "plan",
            "registered_hash",
            f"the body of the registered plan hashes to {plan.body_hash}, not "
            f"{plan.registered_hash!r}: a registered plan changes only through [deviations.<id>] "
            "tables (restore the registered body and record the change with `set`)",
        )


def _read_body(
    source: str, document: Mapping[str, Any], body_hash: str, deviations: tuple[Deviation, ...]
) -> AnalysisPlan:
    root = _Table(source, "", document)
    root.used.add("deviations")
    meta = root.table("plan")
    status = meta.text("status", "draft", STATUSES)
    registered_hash = meta.text("registered_hash", None)
    if status == "registered" and registered_hash is None:
        raise meta.error(
            "registered_hash",
            f"a registered plan needs its body hash; this body hashes to {body_hash}",
        )
    results_framework = meta.text("results_framework")
    if pathlib.PurePath(results_framework).is_absolute() or not results_framework.endswith(".toml"):
        raise meta.error(
            "results_framework",
            f"expected a relative path to a .toml file; got {results_framework!r}",
        )
    seed = meta.integer("seed", minimum=0)
    if seed > MAX_SEED:
        raise meta.error("seed", f"expected an integer between 0 and 2**63 - 1; got {seed}")
    title, version = meta.text("title"), meta.text("version")
    meta.finish()

    design = root.table("design")
    treatment = design.text("treatment")
    round_column = design.text("round", "round")
    baseline_round = design.text("baseline_round", "baseline")
    endline_round = design.text("endline_round", "endline")
    post = design.text("post", "post")
    baseline_column = design.text("baseline_column", "{outcome}_baseline")
    if "{outcome}" not in baseline_column or baseline_column == "{outcome}":
        raise design.error(
            "baseline_column",
            f"expected a template such as '{{outcome}}_baseline'; got {baseline_column!r}",
        )
    level = design.number("level", 0.95, 0.0, 1.0)
    design.finish()

    instruments = tuple(_read_instrument(t) for t in root.subtables("instruments"))
    if not instruments:
        raise PlanError(source, "instruments", None, "the plan names no instrument")
    names = {i.name: i for i in instruments}

    multiple = root.table("multiple_testing", {})
    multiple_testing = MultipleTestingPlan(
        within=multiple.text("within", "anderson", ADJUSTMENTS),
        across=multiple.text("across", "romano_wolf", ADJUSTMENTS),
        draws=multiple.integer("draws", 9999, minimum=1),
    )
    multiple.finish()

    families = tuple(
        _read_family(t, names, multiple_testing.within) for t in root.subtables("families")
    )
    if not families:
        raise PlanError(source, "families", None, "the plan names no outcome family")
    seen: dict[str, str] = {}
    for family in families:
        for outcome in family.outcomes:
            if outcome in seen:
                raise PlanError(
                    source,
                    f"families.{family.name}",
                    "outcomes",
                    f"outcome {outcome!r} is already in family {seen[outcome]!r}; an outcome "
                    "belongs to one family",
                )
            seen[outcome] = family.name
    for family in families:
        rounds = names[family.instrument].rounds
        for wanted in (baseline_round, endline_round):
            if wanted not in rounds:
                raise PlanError(
                    source,
                    f"instruments.{family.instrument}",
                    "rounds",
                    f"family {family.name!r} needs the {wanted!r} round ([design]); the "
                    f"instrument has {list(rounds)}",
                )

    subgroups = tuple(_read_subgroup(t, names) for t in root.subtables("subgroups"))

    estimators = root.table("estimators")
    primary = estimators.text("primary", choices=ESTIMATORS)
    robustness = estimators.texts("robustness")
    for name in robustness:
        if name not in ESTIMATORS:
            raise estimators.error(
                "robustness", f"unknown estimator {name!r}; expected any of {ESTIMATORS}"
            )
    if primary in robustness:
        raise estimators.error(
            "robustness", f"the primary estimator {primary!r} cannot also be a robustness check"
        )
    missing_baseline = estimators.text("missing_baseline", "indicator", MISSING_BASELINE)
    lin = estimators.flag("lin", False)
    estimators.finish()

    inference_table = root.table("inference", {})
    inference = InferencePlan(
        method=inference_table.text("method", "auto", INFERENCE_METHODS),
        vcov=inference_table.text("vcov", "CR2", VCOVS),
        bootstrap_draws=inference_table.integer("bootstrap_draws", 9999, minimum=1),
        bootstrap_weights=inference_table.text("bootstrap_weights", "webb", BOOTSTRAP_WEIGHTS),
    )
    inference_table.finish()

    if inference.method == "randomization" and subgroups:
        raise inference_table.error(
            "method",
            "randomization inference re-assigns the treatment, so it is not defined for the "
            "subgroup contrasts (interactions of the treatment) of [subgroups]; use 'auto' (which "
            "reports randomization inference where it is available and clusters are very few) "
            "or 'wild'",
        )
    attrition = _read_attrition(root, names, seen)
    comparison = _read_comparison(root)

    power_table = root.table("power", {})
    power = PowerPlan(
        alpha=power_table.number("alpha", 0.05, 0.0, 1.0),
        power=power_table.number("power", 0.8, 0.0, 1.0),
    )
    power_table.finish()

    disclosure_table = root.table("disclosure", {})
    threshold = disclosure_table.integer("threshold", 5, minimum=2)
    sensitive_threshold = disclosure_table.integer("sensitive_threshold", threshold, minimum=2)
    if sensitive_threshold < threshold:
        raise disclosure_table.error(
            "sensitive_threshold",
            f"expected at least the general threshold {threshold}; got {sensitive_threshold}",
        )
    disclosure = DisclosurePlan(
        threshold=threshold,
        sensitive_threshold=sensitive_threshold,
        sensitive_variables=disclosure_table.texts("sensitive_variables"),
    )
    disclosure_table.finish()
    indicators = root.table("indicators", {})
    indicators.used.update(indicators.data)
    root.finish()

    logged = [
        {"id": d.id, "what": d.what, "why": d.why, "who": d.who, "date": d.date}
        | {"changes": dict(d.changes)}
        for d in deviations
    ]
    plan_hash = _digest({"body": _body(document), "deviations": logged})
    return AnalysisPlan(
        source=source,
        title=title,
        version=version,
        status=status,
        registered_hash=registered_hash,
        results_framework=results_framework,
        seed=seed,
        treatment=treatment,
        round=round_column,
        baseline_round=baseline_round,
        endline_round=endline_round,
        post=post,
        baseline_column=baseline_column,
        level=level,
        instruments=instruments,
        families=families,
        subgroups=subgroups,
        primary=primary,
        robustness=robustness,
        missing_baseline=missing_baseline,
        lin=lin,
        inference=inference,
        multiple_testing=multiple_testing,
        attrition=attrition,
        comparison=comparison,
        power=power,
        disclosure=disclosure,
        deviations=deviations,
        body_hash=body_hash,
        plan_hash=plan_hash,
        indicators=_deep_freeze(indicators.data),
    )


def _short_name(table: _Table) -> str:
    return table.name.split(".", 1)[1]


def _read_instrument(table: _Table) -> InstrumentPlan:
    rounds = table.texts("rounds", _REQUIRED)
    if not rounds:
        raise table.error("rounds", "expected at least one round")
    instrument = InstrumentPlan(
        name=_short_name(table),
        rounds=rounds,
        key=table.text("key"),
        cluster=table.text("cluster", None),
        fixed_effects=table.texts("fixed_effects"),
        covariates=table.texts("covariates"),
        categorical_covariates=table.texts("categorical_covariates"),
        propensity_covariates=table.texts("propensity_covariates"),
        propensity_categorical=table.texts("propensity_categorical"),
        strata=table.text("strata", None),
        weights=table.text("weights", None),
        weights_kind=table.text("weights_kind", "analytic", WEIGHTS_KINDS),
    )
    for numeric, categorical in [
        ("covariates", "categorical_covariates"),
        ("propensity_covariates", "propensity_categorical"),
    ]:
        both = sorted(set(getattr(instrument, numeric)) & set(getattr(instrument, categorical)))
        if both:
            raise table.error(categorical, f"also listed in {numeric}: {both}")
    table.finish()
    return instrument


def _known_instrument(table: _Table, names: Mapping[str, InstrumentPlan]) -> str:
    name = table.text("instrument")
    if name not in names:
        raise table.error(
            "instrument", f"unknown instrument {name!r}; the plan has {sorted(names)}"
        )
    return name


def _read_family(
    table: _Table, names: Mapping[str, InstrumentPlan], default_adjustment: str
) -> OutcomeFamily:
    outcomes = table.texts("outcomes", _REQUIRED)
    if not outcomes:
        raise table.error("outcomes", "a family needs at least one outcome")
    family = OutcomeFamily(
        name=_short_name(table),
        label=table.text("label"),
        label_zh=table.text("label_zh", ""),
        instrument=_known_instrument(table, names),
        outcomes=outcomes,
        multiple_testing=table.text("multiple_testing", default_adjustment, ADJUSTMENTS),
    )
    table.finish()
    return family


def _read_subgroup(table: _Table, names: Mapping[str, InstrumentPlan]) -> Subgroup:
    name = _short_name(table)
    subgroup = Subgroup(
        name=name,
        column=table.text("column"),
        instrument=_known_instrument(table, names),
        label=table.text("label", name),
        label_zh=table.text("label_zh", ""),
    )
    table.finish()
    return subgroup


def _read_attrition(
    root: _Table, names: Mapping[str, InstrumentPlan], families: Mapping[str, str]
) -> AttritionPlan | None:
    if "attrition" not in root.data:
        root.used.add("attrition")
        return None
    table = root.table("attrition")
    plan = AttritionPlan(
        instrument=_known_instrument(table, names),
        response=table.text("response"),
        lee_outcomes=table.texts("lee_outcomes"),
        lee_observed=table.text("lee_observed"),
        lee_tighten_by=table.texts("lee_tighten_by"),
        lee_trimming=table.text("lee_trimming", "quantile", LEE_TRIMMING),
        lee_draws=table.integer("lee_draws", 999, minimum=0),
        inverse_probability_weights=table.flag("inverse_probability_weights", True),
    )
    stray = [o for o in plan.lee_outcomes if o not in families]
    if stray:
        raise table.error("lee_outcomes", f"not outcomes of any family: {stray}")
    if names[plan.instrument].weights is not None and plan.lee_trimming != "fractional":
        raise table.error(
            "lee_trimming",
            f"[instruments.{plan.instrument}] has survey weights, which Lee bounds trim only by "
            f"the 'fractional' rule; got {plan.lee_trimming!r}",
        )
    table.finish()
    return plan


def _read_comparison(root: _Table) -> ComparisonPlan:
    table = root.table("comparison", {})
    trim = table.raw("trim", [0.1, 0.9])
    if trim == "crump":
        trim_value: tuple[float, float] | str = "crump"
    elif (
        isinstance(trim, list)
        and len(trim) == 2
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in trim)
        and 0 <= trim[0] < trim[1] <= 1
    ):
        trim_value = (float(trim[0]), float(trim[1]))
    else:
        raise table.error(
            "trim", f"expected [low, high] with 0 <= low < high <= 1, or 'crump'; got {trim!r}"
        )
    caliper = table.raw("caliper", None)
    if caliper is not None and (
        isinstance(caliper, bool) or not isinstance(caliper, int | float) or caliper <= 0
    ):
        raise table.error("caliper", f"expected a positive number; got {caliper!r}")
    plan = ComparisonPlan(
        estimand=table.text("estimand", "ATT", ESTIMANDS),
        trim=trim_value,
        neighbors=table.integer("neighbors", 1, minimum=1),
        caliper=None if caliper is None else float(caliper),
        replace=table.flag("replace", True),
    )
    table.finish()
    return plan

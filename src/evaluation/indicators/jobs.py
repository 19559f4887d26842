"""Job quality and informality, wages, low pay, minimum wages and working time (M5 items).

Decent-work dimensions of DOMAIN.md section 2.4: formality (21st ICLS Resolution I), contracts,
social insurance (五险一金), earnings (ILO Decent Work Indicators), working time and
satisfaction. Unit: respondent x round; defined for the employed (job items are skipped for
others), and formality and contracts for employees.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from evaluation.indicators._common import (
    ConfigError,
    IndicatorError,
    as_float,
    binary,
    codes,
    reason,
)
from evaluation.indicators.labour import EMPLOYEE_STATUSES, STABLE_CONTRACTS

__all__ = [
    "DEFAULT_WAGE_BRACKETS",
    "WageRules",
    "below_minimum_wage",
    "deflate",
    "job_quality",
    "low_pay",
    "wages",
]

#: ``job_wage_bracket`` codes -> [lower, upper) monthly RMB when no instrument is at hand, as the
#: list's labels state them (1 less than 2,000; 2 2,000 to 3,999; ... 6 10,000 or more); the upper
#: bound of the top bracket is open. With the instrument the labels are read
#: (:func:`evaluation.indicators.forms.wage_brackets`).
DEFAULT_WAGE_BRACKETS: Mapping[int, tuple[float, float | None]] = {
    1: (0.0, 2000.0),
    2: (2000.0, 4000.0),
    3: (4000.0, 6000.0),
    4: (6000.0, 8000.0),
    5: (8000.0, 10000.0),
    6: (10000.0, None),
}
#: Weeks per month in hourly wages (ILO DWI convention, 52 / 12).
WEEKS_PER_MONTH = 4.33
#: The five social insurances of ``job_si`` (pension, medical, unemployment, work injury,
#: maternity); 6 is the housing fund.
FIVE_INSURANCES = (1, 2, 3, 4, 5)
#: ``job_status`` code of contributing family workers (ICSE-18 51) when no instrument is at hand.
CONTRIBUTING_FAMILY_WORKER = 6


def _si(data: pd.DataFrame, key: object) -> pd.Series:
    return codes(data, f"job_si__{key}")


def job_quality(
    data: pd.DataFrame,
    *,
    satisfied_from: int = 4,
    employee_codes: Sequence[int] = EMPLOYEE_STATUSES,
    family_codes: Sequence[int] = (CONTRIBUTING_FAMILY_WORKER,),
) -> pd.DataFrame:
    """Formality, contract, social insurance, leave, hours and satisfaction of the main job.

    Parameters
    ----------
    data : DataFrame
        Clean apprentice data with ``job_status`` and the M5 items: ``job_si`` dummies
        (``job_si__1`` .. ``job_si__6``, ``job_si__0`` none, ``job_si__dont_know``),
        ``job_paid_leave``, ``job_sick_leave``, ``job_contract_written``, ``job_contract_type``,
        ``job_dispatch``, ``job_hours_usual``, ``job_union``, ``job_sat_overall``.
    satisfied_from : int, default 4
        Lowest ``job_sat_overall`` code counted as satisfied.
    employee_codes : sequence of int, default (1, 2)
        ``job_status`` codes of employees, ICSE-18 41-44 (employee, paid apprentice).
    family_codes : sequence of int, default (6,)
        ``job_status`` codes of contributing family workers (ICSE-18 51). Both are read from
        the list's ``icse18`` column by
        :func:`evaluation.indicators.construct.construct_indicators`.

    Returns
    -------
    DataFrame
        0/1 ``Float64``: ``employee``, ``formal_job``, ``written_contract``, ``contract_ge12m``,
        ``dispatch``, ``si_pension``, ``si_medical``, ``housing_fund``, ``paid_leave``,
        ``sick_leave``, ``union_member``, ``excess_hours``, ``job_satisfied``; ``Float64``
        ``si_count``, ``hours_usual``, ``job_satisfaction`` (1-5); ``formal_basis`` (categorical:
        ``social_insurance``, ``paid_leave``, ``family_worker``).

    Notes
    -----
    Unit: respondent x round. Rows without a job (``job_status`` skipped) are missing; a
    refused or unknown ``job_status`` keeps the items asked of every worker (hours,
    satisfaction) but leaves ``employee`` and the employee-only items missing.

    **formal_job** (employees, ICSE-18 41-44): 1 when the employer pays
    pension or medical insurance contributions for the worker; 0 when the social-insurance
    answer is known and includes neither. When it is unknown ("don't know", refused, missing),
    paid annual leave and paid sick leave decide: 1 if both, 0 if either is not provided,
    missing otherwise. Contributing family workers hold informal jobs by definition (0).
    Employers, own-account workers and dependent contractors are missing: their formality
    depends on the registration of their economic unit, which the form does not ask.
    Source: 21st ICLS Resolution I (2023) on informality (employer social-insurance
    contributions as the main criterion for employees) and the 17th ICLS guidelines (2003) it
    replaces (social protection, paid annual or sick leave). **[verify]** the order of the
    criteria in Res. I could not be read in the primary text (DOMAIN.md section 9).

    **contract_ge12m**: open-ended or fixed-term >= 1 year (employees); 0 for other contract
    types and for employees without a written contract whose type was not asked.
    **si_count**: number of the five insurances (pension, medical, unemployment, work injury,
    maternity) paid by the employer; missing when the answer is "don't know" or absent.
    **excess_hours**: usual weekly hours > 48 (ILO Decent Work Indicators).
    """
    status = codes(data, "job_status")
    asked = reason(data, "job_status").isin(["dont_know", "refused", "missing"]).fillna(False)
    has_job = status.notna() | asked
    employee = status.isin(list(employee_codes)).fillna(False)
    family = status.isin(list(family_codes)).fillna(False)
    pension, medical = _si(data, 1), _si(data, 2)
    none_ = _si(data, 0)
    dk = _si(data, "dont_know").eq(1).fillna(False)
    known = (pension.notna() & medical.notna() & ~dk) | none_.eq(1).fillna(False)
    si_formal = (pension.eq(1) | medical.eq(1)).fillna(False) & known
    paid = codes(data, "job_paid_leave")
    sick = codes(data, "job_sick_leave")
    leave_yes = paid.eq(1).fillna(False) & sick.eq(1).fillna(False)
    leave_no = (paid.eq(0) | sick.eq(0)).fillna(False)
    by_leave = employee & ~known & (leave_yes | leave_no)
    formal_yes = employee & ((known & si_formal) | (~known & leave_yes))
    formal_def = (employee & known) | by_leave | family
    basis = pd.Series(pd.NA, index=data.index, dtype="object")
    basis[employee & known] = "social_insurance"
    basis[by_leave] = "paid_leave"
    basis[family] = "family_worker"

    written = codes(data, "job_contract_written")
    ctype = codes(data, "job_contract_type")
    ge12_yes = employee & ctype.isin(STABLE_CONTRACTS).fillna(False)
    ge12_def = employee & (ctype.notna() | written.eq(0).fillna(False))

    si_five = pd.DataFrame({k: _si(data, k) for k in FIVE_INSURANCES})
    si_count = si_five.sum(axis=1, min_count=len(FIVE_INSURANCES)).astype("Float64")
    si_count = si_count.where(none_.ne(1).fillna(True), 0.0)
    si_count = si_count.mask(dk | ~has_job)

    hours = as_float(data["job_hours_usual"]) if "job_hours_usual" in data else None
    sat = codes(data, "job_sat_overall")
    out = pd.DataFrame(index=data.index)
    out["employee"] = binary(employee, status.notna())
    out["formal_job"] = binary(formal_yes, formal_def)
    out["formal_basis"] = pd.Categorical(
        basis, categories=["social_insurance", "paid_leave", "family_worker"]
    )
    out["written_contract"] = binary(written.eq(1), employee & written.notna())
    out["contract_ge12m"] = binary(ge12_yes, ge12_def)
    dispatch = codes(data, "job_dispatch")
    out["dispatch"] = binary(dispatch.eq(1), employee & dispatch.notna())
    out["si_count"] = si_count
    for key, name in ((1, "si_pension"), (2, "si_medical"), (6, "housing_fund")):
        v = _si(data, key)
        out[name] = binary(v.eq(1), v.notna() & ~dk & has_job)
    out["paid_leave"] = binary(paid.eq(1), paid.notna() & has_job)
    out["sick_leave"] = binary(sick.eq(1), sick.notna() & has_job)
    union = codes(data, "job_union")
    out["union_member"] = binary(union.eq(1), union.notna() & has_job)
    if hours is not None:
        out["hours_usual"] = hours.mask(~has_job)
        out["excess_hours"] = binary(hours.gt(48), hours.notna() & has_job)
    out["job_satisfaction"] = sat.astype("Float64").mask(~has_job)
    out["job_satisfied"] = binary(sat.ge(satisfied_from), sat.notna() & has_job)
    return out


@dataclass(frozen=True, slots=True)
class WageRules:
    """How wages are cleaned into indicators.

    Attributes
    ----------
    brackets : mapping or None
        ``job_wage_bracket`` code -> ``(lower, upper)`` RMB per month, ``upper`` ``None`` for an
        open top bracket. ``None`` (the default): the bounds stated in the labels of the
        instrument's ``wage_bracket`` list (read by
        :func:`evaluation.indicators.construct.construct_indicators`), or
        :data:`DEFAULT_WAGE_BRACKETS` when no instrument is given.
    bracket_method : {"midpoint", "conditional_median", "interval"}
        Value given to a bracketed wage: the bracket midpoint; the median exact wage reported
        within the bracket in the same round (midpoint when none); or none (only the interval
        bounds ``wage_month_lower`` / ``wage_month_upper`` for interval regression).
    top_bracket_value : float or None
        Value of the open top bracket; ``None``: the median exact wage at or above its lower
        bound in the same round (missing when there is none).
    zero_wage : {"keep", "missing"}
        Zero earnings of the employed (unpaid months, in-kind pay): kept as 0 in ``wage_month``
        and ``wage_hour`` (``log_wage_hour`` is then missing), or set missing.
    winsor : tuple of (float, float) or None
        Quantiles at which positive ``wage_month`` and ``wage_hour`` are winsorised within each
        round (e.g. ``(0.01, 0.99)``); ``None``: no winsorising.
    topcode : float or None
        Cap on ``wage_month`` (applied before hourly wages), or ``None``.
    weeks_per_month : float
        Weeks per month in hourly wages (4.33).
    """

    brackets: Mapping[int, tuple[float, float | None]] | None = None
    bracket_method: str = "midpoint"
    top_bracket_value: float | None = None
    zero_wage: str = "keep"
    winsor: tuple[float, float] | None = None
    topcode: float | None = None
    weeks_per_month: float = WEEKS_PER_MONTH

    def __post_init__(self) -> None:
        """Check the settings."""
        if self.bracket_method not in ("midpoint", "conditional_median", "interval"):
            msg = (
                f"bracket_method {self.bracket_method!r} is not midpoint, "
                "conditional_median or interval"
            )
            raise ConfigError(msg)
        if self.zero_wage not in ("keep", "missing"):
            msg = f"zero_wage {self.zero_wage!r} is not 'keep' or 'missing'"
            raise ConfigError(msg)
        if self.winsor is not None:
            low, high = self.winsor
            if not 0 <= low < high <= 1:
                msg = f"winsor quantiles {self.winsor!r} must satisfy 0 <= low < high <= 1"
                raise ConfigError(msg)


def _by_round(data: pd.DataFrame, round_col: str) -> pd.Series:
    if round_col in data.columns:
        return data[round_col].astype("string").fillna("<NA>")
    return pd.Series("all", index=data.index, dtype="string")


def wages(
    data: pd.DataFrame, rules: WageRules | None = None, *, round_col: str = "round"
) -> pd.DataFrame:
    """Monthly and hourly wages with brackets, zeros, winsorising and top-coding as configured.

    Parameters
    ----------
    data : DataFrame
        Clean apprentice data with ``job_wage`` (net RMB last month), ``job_wage__reason``,
        ``job_wage_bracket`` and ``job_hours_usual``.
    rules : WageRules, optional
        The wage rules (default :class:`WageRules`).
    round_col : str, default "round"
        Round column: medians and quantiles are taken within rounds.

    Returns
    -------
    DataFrame
        ``wage_month`` (RMB), ``wage_month_lower`` / ``wage_month_upper`` (interval: equal for an
        exact amount, the bracket for a bracketed one, upper missing when open), ``wage_source``
        (``reported`` / ``bracket`` / missing), ``wage_imputed`` (0/1), ``wage_hour`` (RMB per
        hour) and ``log_wage_hour``.

    Raises
    ------
    IndicatorError
        When ``job_wage`` is absent or a bracket code is not in ``rules.brackets``.

    Notes
    -----
    Unit: respondent x round. Steps: (1) an exact amount is taken as reported; a "don't know" or
    refused amount with a bracket gets the bracket value (``bracket_method``); (2) zeros follow
    ``zero_wage``; (3) ``topcode`` caps the monthly wage; (4) hourly wage = monthly /
    (usual weekly hours x 4.33) (DOMAIN.md section 2.4); (5) with ``winsor`` both are winsorised at
    the quantiles of positive values within the round; (6) ``log_wage_hour`` = ln(hourly) for
    positive hourly wages. Wages are net of tax and individual contributions and include
    overtime and bonuses, as asked.
    """
    rules = rules or WageRules()
    if "job_wage" not in data.columns:
        msg = "wages need the job_wage column"
        raise IndicatorError(msg)
    exact = as_float(data["job_wage"]).astype(float)
    why = reason(data, "job_wage")
    bracket = codes(data, "job_wage_bracket")
    brackets = DEFAULT_WAGE_BRACKETS if rules.brackets is None else rules.brackets
    unknown_codes = sorted(set(bracket.dropna().astype(int)) - set(brackets))
    if unknown_codes:
        msg = f"job_wage_bracket codes {unknown_codes} have no bounds in the wage rules"
        raise IndicatorError(msg)
    rounds = _by_round(data, round_col)
    bracketed = exact.isna() & why.isin(["dont_know", "refused"]).fillna(False) & bracket.notna()
    lower = exact.copy()
    upper = exact.copy()
    value = exact.copy()
    for code, (lo, hi) in brackets.items():
        rows = bracketed & bracket.eq(code).fillna(False)
        if not rows.any():
            continue
        lower[rows] = lo
        upper[rows] = np.nan if hi is None else hi
        if rules.bracket_method == "interval":
            continue
        for rnd in rounds[rows].unique():
            here = rows & rounds.eq(rnd)
            inside = exact[
                rounds.eq(rnd) & exact.ge(lo) & (exact.lt(hi) if hi is not None else True)
            ]
            if hi is None:
                if rules.top_bracket_value is not None:
                    value[here] = rules.top_bracket_value
                else:
                    value[here] = inside.median() if len(inside) else np.nan
            elif rules.bracket_method == "conditional_median" and len(inside):
                value[here] = inside.median()
            else:
                value[here] = (lo + hi) / 2
    if rules.zero_wage == "missing":
        value = value.mask(value.eq(0))
    if rules.topcode is not None:
        value = value.clip(upper=rules.topcode)
    hours = (
        as_float(data["job_hours_usual"]).astype(float)
        if "job_hours_usual" in data.columns
        else pd.Series(np.nan, index=data.index)
    )
    hourly = value / (hours * rules.weeks_per_month)
    hourly = hourly.where(hours > 0)
    if rules.winsor is not None:
        lo_q, hi_q = rules.winsor
        for rnd in rounds.unique():
            here = rounds.eq(rnd)
            for series in (value, hourly):
                positive = series[here & series.gt(0)]
                if len(positive):
                    a, b = positive.quantile(lo_q), positive.quantile(hi_q)
                    series[here & series.gt(0)] = positive.clip(a, b)
    source = pd.Series(pd.NA, index=data.index, dtype="object")
    source[exact.notna()] = "reported"
    source[bracketed] = "bracket"
    with np.errstate(divide="ignore", invalid="ignore"):
        log_hour = np.log(hourly.where(hourly > 0))
    out = pd.DataFrame(
        {
            "wage_month": value,
            "wage_month_lower": lower,
            "wage_month_upper": upper,
            "wage_source": pd.Categorical(source, categories=["reported", "bracket"]),
            "wage_imputed": binary(bracketed & value.notna(), value.notna()),
            "wage_hour": hourly,
            "log_wage_hour": log_hour,
        },
        index=data.index,
    )
    for c in ("wage_month", "wage_month_lower", "wage_month_upper", "wage_hour", "log_wage_hour"):
        out[c] = out[c].astype("Float64")
    return out


def low_pay(
    wage_hour: pd.Series,
    groups: pd.Series | None = None,
    *,
    median: float | Mapping[str, float] | None = None,
    threshold: float = 2 / 3,
) -> pd.Series:
    """Low pay: hourly earnings below two thirds of the median (ILO Decent Work Indicators).

    Parameters
    ----------
    wage_hour : Series
        Hourly wages.
    groups : Series, optional
        Groups within which the sample median is taken (e.g. the round).
    median : float or mapping, optional
        An external median hourly wage (e.g. national), one number or one per group, instead of
        the sample median.
    threshold : float, default 2/3
        Share of the median below which pay is low.

    Returns
    -------
    Series
        0/1 ``Float64``, missing where the wage is missing.
    """
    w = as_float(wage_hour).astype(float)
    g = (
        groups.astype("string").fillna("<NA>")
        if groups is not None
        else pd.Series("all", index=w.index)
    )
    if median is None:
        med = w.groupby(g.to_numpy()).transform("median")
    elif isinstance(median, Mapping):
        med = g.map(lambda k: median.get(k, np.nan)).astype(float)
    else:
        med = pd.Series(float(median), index=w.index)
    return binary(w.lt(threshold * med), w.notna() & med.notna())


def _lookup(
    keys: pd.DataFrame, table: pd.DataFrame, on: list[str], value: str, what: str
) -> pd.Series:
    need = [*on, value]
    missing = [c for c in need if c not in table.columns]
    if missing:
        msg = f"{what} table lacks columns {missing}"
        raise ConfigError(msg)
    tab = table[need].copy()
    for c in on:
        tab[c] = tab[c].astype(str).str.strip()
    if tab.duplicated(on).any():
        msg = f"{what} table has duplicated {on} rows"
        raise ConfigError(msg)
    tab[value] = pd.to_numeric(tab[value], errors="raise")
    left = keys[on].astype("string").apply(lambda s: s.str.strip()).astype(object)
    merged = left.merge(tab, on=on, how="left", validate="many_to_one")
    return pd.Series(merged[value].to_numpy(dtype=float), index=keys.index)


def deflate(
    values: pd.Series,
    year: pd.Series,
    cpi: pd.DataFrame,
    region: pd.Series | None = None,
) -> tuple[pd.Series, list[str]]:
    """Real values: nominal / (CPI / 100), CPI from a user-supplied table.

    Parameters
    ----------
    values : Series
        Nominal amounts.
    year : Series
        Year each amount refers to.
    cpi : DataFrame
        Columns ``year``, ``cpi`` (index, 100 in the base year), ``source``, and optionally
        ``region`` (then ``region`` must be given).
    region : Series, optional
        Region (e.g. city code) of each amount, for a regional CPI.

    Returns
    -------
    real : Series
        ``Float64`` real amounts (missing where the CPI is missing).
    missing : list of str
        The year (and region) combinations without a CPI that occur with a non-missing amount.
    """
    keys = pd.DataFrame({"year": year.astype("Int64").astype("string")}, index=values.index)
    on = ["year"]
    if "region" in cpi.columns:
        if region is None:
            msg = "the CPI table is regional: pass region="
            raise ConfigError(msg)
        keys["region"] = region.astype("string")
        on.append("region")
    factor = _lookup(keys, cpi, on, "cpi", "CPI")
    v = as_float(values).astype(float)
    real = (v / (factor / 100)).astype("Float64")
    gaps = keys[v.notna() & np.isnan(factor) & keys["year"].notna()].drop_duplicates()
    missing = sorted(" ".join(f"{c}={r[c]}" for c in on) for _, r in gaps.iterrows())
    return real, missing


def below_minimum_wage(
    wage_month: pd.Series,
    city: pd.Series,
    year: pd.Series,
    table: pd.DataFrame,
) -> tuple[pd.Series, list[str]]:
    """Monthly wage below the local minimum wage of the city and year.

    Parameters
    ----------
    wage_month : Series
        Monthly wages.
    city : Series
        City code (``meta_city``).
    year : Series
        Year the wage refers to.
    table : DataFrame
        User-supplied minimum wages: ``city``, ``year``, ``min_wage_month`` (RMB), ``source``.

    Returns
    -------
    below : Series
        0/1 ``Float64``; missing where the wage or the minimum is missing.
    missing : list of str
        City-year pairs with a wage but no minimum in the table.

    Notes
    -----
    China's monthly minimum wage applies to pay for normal hours, excluding overtime pay and
    including the worker's own social-insurance contributions, while ``job_wage`` is net pay
    including overtime and bonuses; the flag is therefore an approximation that tends to
    understate underpayment. Local minima change by decree: the table must give the one in
    force in the month the wage refers to.
    """
    keys = pd.DataFrame(
        {"city": city.astype("string"), "year": year.astype("Int64").astype("string")},
        index=wage_month.index,
    )
    minimum = _lookup(keys, table, ["city", "year"], "min_wage_month", "minimum wage")
    w = as_float(wage_month).astype(float)
    gaps = keys[
        w.notna() & np.isnan(minimum) & keys["city"].notna() & keys["year"].notna()
    ].drop_duplicates()
    missing = sorted(f"city={r.city} year={r.year}" for r in gaps.itertuples())
    return binary(w.lt(minimum), w.notna() & ~np.isnan(minimum)), missing

"""Design-based means, proportions and totals for stratified, clustered samples.

Taylor linearisation with the conventions of R's ``survey`` package (``svydesign``,
``svymean``, ``svytotal``, ``svyby``): with-replacement variance at the first stage with the
finite population correction per stratum, degrees of freedom = PSUs - strata, and domain
estimates that keep the whole design.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["SurveyDesign", "survey_mean", "survey_proportion", "survey_total"]

LONELY_PSU = ("fail", "adjust", "certainty")


@dataclass(frozen=True)
class SurveyDesign:
    """A complex sampling design (as R's ``svydesign``).

    Attributes
    ----------
    weights : str
        Sampling-weight column (inverse inclusion probabilities).
    strata : str or None
        Stratum column.
    psu : str or None
        Primary sampling unit (cluster) column; each row is its own PSU when ``None``.
    fpc : str or None
        Finite population correction per stratum: the population number of PSUs, or the
        sampling fraction when every value is at most 1 (R ``survey``'s rule).
    lonely_psu : {"fail", "adjust", "certainty"}
        Strata with a single PSU: raise; centre at the grand mean (``survey.lonely.psu =
        "adjust"``); or contribute no variance (``"certainty"``).
    """

    weights: str
    strata: str | None = None
    psu: str | None = None
    fpc: str | None = None
    lonely_psu: str = "fail"

    def __post_init__(self) -> None:
        """Check the lonely-PSU rule."""
        if self.lonely_psu not in LONELY_PSU:
            msg = f"lonely_psu must be one of {LONELY_PSU}; got {self.lonely_psu!r}"
            raise ValueError(msg)

    def columns(self) -> list[str]:
        """Return the design columns.

        Returns
        -------
        list of str
            Weights, strata, PSU and FPC columns that are set.
        """
        return [c for c in (self.weights, self.strata, self.psu, self.fpc) if c is not None]


def _prepare(data: pd.DataFrame, design: SurveyDesign) -> dict:
    missing = [c for c in design.columns() if c not in data.columns]
    if missing:
        msg = f"design column(s) {missing} not found in the data"
        raise KeyError(msg)
    bad = data[design.columns()].isna().any(axis=1)
    if bad.any():
        msg = f"{int(bad.sum())} rows have missing design variables {design.columns()}"
        raise ValueError(msg)
    w = data[design.weights].to_numpy(dtype=float)
    if np.any(w <= 0):
        msg = (
            f"sampling weights {design.weights!r} must be positive; found "
            f"{int((w <= 0).sum())} zero or negative values (drop out-of-scope rows instead)"
        )
        raise ValueError(msg)
    strata = (
        pd.factorize(data[design.strata], sort=True)[0]
        if design.strata
        else np.zeros(len(data), dtype=np.intp)
    )
    if design.psu:
        keys = pd.MultiIndex.from_arrays([strata, data[design.psu].to_numpy()])
        psu = keys.factorize()[0]
    else:
        psu = np.arange(len(data))
    n_psu_total = int(psu.max()) + 1 if len(psu) else 0
    psu_stratum = np.zeros(n_psu_total, dtype=np.intp)
    psu_stratum[psu] = strata
    n_strata = int(strata.max()) + 1
    n_h = np.bincount(psu_stratum, minlength=n_strata).astype(float)
    f_h = np.zeros(n_strata)
    if design.fpc:
        values = data[design.fpc].to_numpy(dtype=float)
        per_stratum = pd.Series(values).groupby(strata).agg(["min", "max"])
        if (per_stratum["min"] != per_stratum["max"]).any():
            msg = f"fpc column {design.fpc!r} must be constant within strata"
            raise ValueError(msg)
        pop = per_stratum["max"].to_numpy()
        f_h = pop if np.all(pop <= 1) else n_h / pop
        if np.any(f_h > 1):
            msg = f"fpc {design.fpc!r} is smaller than the number of sampled PSUs in a stratum"
            raise ValueError(msg)
    lonely = n_h == 1
    if lonely.any() and design.lonely_psu == "fail":
        msg = (
            f"{int(lonely.sum())} strata have a single PSU: the variance is not defined; set "
            "lonely_psu='adjust' or 'certainty', or merge strata"
        )
        raise ValueError(msg)
    return {
        "w": w,
        "strata": strata,
        "psu": psu,
        "psu_stratum": psu_stratum,
        "n_h": n_h,
        "f_h": f_h,
        "lonely": lonely,
        "df": float(n_psu_total - n_strata),
    }


def _variance(z: np.ndarray, d: dict, lonely_psu: str) -> float:
    """First-stage with-replacement variance of the total of ``z`` (R ``survey`` ``svyrecvar``)."""
    totals = np.bincount(d["psu"], weights=z, minlength=d["psu_stratum"].size)
    n_strata = d["n_h"].size
    stratum_sum = np.bincount(d["psu_stratum"], weights=totals, minlength=n_strata)
    means = stratum_sum / d["n_h"]
    grand = totals.sum() / totals.size
    centre = means[d["psu_stratum"]]
    if lonely_psu == "adjust":
        centre = np.where(d["lonely"][d["psu_stratum"]], grand, centre)
    dev2 = np.bincount(d["psu_stratum"], weights=(totals - centre) ** 2, minlength=n_strata)
    n_h = d["n_h"]
    scale = np.where(n_h > 1, n_h / np.maximum(n_h - 1, 1), 1.0)
    if lonely_psu == "certainty":
        scale = np.where(d["lonely"], 0.0, scale)
    return float(np.sum((1 - d["f_h"]) * scale * dev2))


def _estimates(
    data: pd.DataFrame,
    y: np.ndarray,
    design: SurveyDesign,
    *,
    domain: str | None,
    kind: str,
    level: float,
) -> list[dict]:
    d = _prepare(data, design)
    w = d["w"]
    if domain is None:
        groups = [(None, np.ones(len(data), dtype=bool))]
    else:
        if domain not in data.columns:
            msg = f"domain column {domain!r} not found in the data"
            raise KeyError(msg)
        values = data[domain]
        groups = [(v, (values == v).to_numpy()) for v in sorted(pd.unique(values.dropna()))]
    z_crit = float(stats.norm.ppf(0.5 + level / 2))
    rows = []
    for label, member in groups:
        ok = member & np.isfinite(y)
        wd = np.where(ok, w, 0.0)
        yd = np.where(ok, y, 0.0)
        if kind == "total":
            estimate = float(np.sum(wd * yd))
            z = wd * yd
        else:
            total_w = float(wd.sum())
            if total_w == 0:
                msg = f"domain {label!r} has no observed rows"
                raise ValueError(msg)
            estimate = float(np.sum(wd * yd) / total_w)
            z = wd * (yd - estimate) / total_w
        se = math.sqrt(_variance(z, d, design.lonely_psu))
        rows.append(
            {
                "domain": label,
                "estimate": estimate,
                "std_error": se,
                "ci_lower": estimate - z_crit * se,
                "ci_upper": estimate + z_crit * se,
                "df": d["df"],
                "nobs": int(ok.sum()),
                "n_psu": int(np.unique(d["psu"][ok]).size),
            }
        )
    return rows


def _values(data: pd.DataFrame, variable: str) -> np.ndarray:
    if variable not in data.columns:
        msg = f"variable {variable!r} not found in the data"
        raise KeyError(msg)
    if not pd.api.types.is_numeric_dtype(data[variable]):
        msg = f"variable {variable!r} must be numeric; use survey_proportion for categories"
        raise ValueError(msg)
    return data[variable].to_numpy(dtype=float)


def survey_mean(
    data: pd.DataFrame,
    variables: Sequence[str] | str,
    design: SurveyDesign,
    *,
    domain: str | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    r"""Design-based means with linearised standard errors (R ``svymean``/``svyby``).

    Parameters
    ----------
    data : pandas.DataFrame
        The sample, one row per respondent.
    variables : sequence of str or str
        Numeric variables; rows where a variable is missing are left out of its mean.
    design : SurveyDesign
        Weights, strata, PSUs and FPC.
    domain : str, optional
        Domain (subpopulation) column: one estimate per value, with the full design.
    level : float, optional
        Confidence level of the normal interval.

    Returns
    -------
    pandas.DataFrame
        One row per variable (and domain): ``estimate``, ``std_error``, ``ci_lower``,
        ``ci_upper``, ``df`` (PSUs - strata), ``nobs``, ``n_psu``.

    Notes
    -----
    Ratio estimator :math:`\hat{\bar y} = \sum w_i y_i / \sum w_i` linearised as
    :math:`z_i = w_i (y_i - \hat{\bar y})/\sum w`; :math:`V = \sum_h (1-f_h)\,
    n_h/(n_h-1) \sum_j (z_{hj} - \bar z_h)^2` over PSU totals :math:`z_{hj}`. For a stratified
    simple random sample this is Cochran's :math:`\sum_h (N_h/N)^2 (1-f_h) s_h^2/n_h`.
    Domains: :math:`z_i` is zero outside the domain, all PSUs kept (``svyby``).
    """
    variables = [variables] if isinstance(variables, str) else list(variables)
    frames = []
    for v in variables:
        rows = _estimates(data, _values(data, v), design, domain=domain, kind="mean", level=level)
        frames.append(pd.DataFrame(rows).assign(variable=v, statistic="mean"))
    return _tidy(frames, domain)


def survey_total(
    data: pd.DataFrame,
    variables: Sequence[str] | str,
    design: SurveyDesign,
    *,
    domain: str | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    r"""Design-based totals with linearised standard errors (R ``svytotal``).

    Parameters
    ----------
    data : pandas.DataFrame
        The sample.
    variables : sequence of str or str
        Numeric variables (missing values count as zero, as ``na.rm = TRUE``).
    design : SurveyDesign
        The design.
    domain : str, optional
        Domain column.
    level : float, optional
        Confidence level.

    Returns
    -------
    pandas.DataFrame
        As :func:`survey_mean`, with ``statistic="total"``.

    Notes
    -----
    :math:`\hat Y = \sum w_i y_i`, :math:`z_i = w_i y_i` in the variance of
    :func:`survey_mean`.
    """
    variables = [variables] if isinstance(variables, str) else list(variables)
    frames = []
    for v in variables:
        rows = _estimates(data, _values(data, v), design, domain=domain, kind="total", level=level)
        frames.append(pd.DataFrame(rows).assign(variable=v, statistic="total"))
    return _tidy(frames, domain)


def survey_proportion(
    data: pd.DataFrame,
    variable: str,
    design: SurveyDesign,
    *,
    domain: str | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """Design-based proportions of each category of a variable (R ``svymean(~factor(x))``).

    Parameters
    ----------
    data : pandas.DataFrame
        The sample.
    variable : str
        Categorical (or numeric) column; rows where it is missing are left out.
    design : SurveyDesign
        The design.
    domain : str, optional
        Domain column.
    level : float, optional
        Confidence level.

    Returns
    -------
    pandas.DataFrame
        One row per category (``level``) and domain, as :func:`survey_mean`.

    Notes
    -----
    The mean of the category indicator among rows where ``variable`` is observed.
    """
    if variable not in data.columns:
        msg = f"variable {variable!r} not found in the data"
        raise KeyError(msg)
    values = data[variable]
    observed = values.notna()
    frames = []
    for category in sorted(pd.unique(values.dropna())):
        y = np.where(observed, (values == category).astype(float), np.nan)
        rows = _estimates(data, y, design, domain=domain, kind="mean", level=level)
        frames.append(
            pd.DataFrame(rows).assign(variable=variable, level=category, statistic="proportion")
        )
    return _tidy(frames, domain)


def _tidy(frames: list[pd.DataFrame], domain: str | None) -> pd.DataFrame:
    out = pd.concat(frames, ignore_index=True)
    first = ["variable"] + (["level"] if "level" in out.columns else []) + ["statistic"]
    if domain is None:
        out = out.drop(columns="domain")
    else:
        out = out.rename(columns={"domain": domain})
        first.append(domain)
    return out[first + [c for c in out.columns if c not in first]]

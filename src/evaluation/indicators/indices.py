"""Summary indices and scale reliability: ICW, KLK z-scores, standardisation, Cronbach's alpha.

Anderson (2008) inverse-covariance-weighted (ICW) and Kling-Liebman-Katz (KLK) z-score indices,
standardisation on a reference group and Cronbach's alpha.

Summary indices fold a family of related outcomes into one number, which reduces the number of
tests (METHODS.md section 2.10). Both indices first standardise each item by the mean and standard
deviation of a named reference group (in this evaluation the baseline comparison group), after
flipping items so that higher is better.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from evaluation.indicators._common import ConfigError, IndicatorError, as_float

__all__ = ["cronbach_alpha", "standardize", "summary_index"]

_METHODS = ("icw", "zscore")
_MISSING = ("available", "complete")


def _reference_mask(data: pd.DataFrame, reference: str | pd.Series | None) -> np.ndarray:
    """Return the reference group as a boolean array aligned with ``data``."""
    if reference is None:
        return np.ones(len(data), dtype=bool)
    if isinstance(reference, str):
        if reference not in data.columns:
            msg = f"reference column {reference!r} is not in the data"
            raise IndicatorError(msg)
        mask = data[reference]
    else:
        mask = reference
        if not mask.index.equals(data.index):
            msg = "the reference mask must have the same index as the data"
            raise IndicatorError(msg)
    values = pd.Series(mask).astype("boolean")
    return values.fillna(False).to_numpy(dtype=bool)


def standardize(
    values: pd.Series, reference: pd.Series | None = None, *, name: str | None = None
) -> pd.Series:
    """Standardise values by the mean and standard deviation of a reference group.

    Parameters
    ----------
    values : Series
        Numbers (missing values stay missing).
    reference : Series of bool, optional
        The reference group, aligned with ``values``; default: every row.
    name : str, optional
        Name of the result (default: the name of ``values``).

    Returns
    -------
    Series
        ``(x - mean_ref) / sd_ref`` as ``Float64``; the standard deviation uses ``n - 1``.

    Raises
    ------
    IndicatorError
        When the reference group has fewer than two values or no variation.
    """
    x = as_float(values).astype(float)
    frame = pd.DataFrame({"x": x})
    mask = _reference_mask(frame, reference)
    ref = x[mask].dropna()
    label = name or values.name or "values"
    if len(ref) < 2 or ref.std(ddof=1) == 0:
        msg = (
            f"cannot standardise {label}: the reference group has {len(ref)} values "
            "and needs at least two distinct ones"
        )
        raise IndicatorError(msg)
    out = (x - ref.mean()) / ref.std(ddof=1)
    return out.astype("Float64").rename(name or values.name)


def _signed_items(
    data: pd.DataFrame, columns: Sequence[str], signs: Mapping[str, int] | Sequence[int] | None
) -> pd.DataFrame:
    """Return the items as floats, multiplied by their signs (+1 or -1)."""
    missing = [c for c in columns if c not in data.columns]
    if missing:
        msg = f"summary index items {missing} are not in the data"
        raise IndicatorError(msg)
    if signs is None:
        sign = dict.fromkeys(columns, 1)
    elif isinstance(signs, Mapping):
        unknown = sorted(set(signs) - set(columns))
        if unknown:
            msg = f"signs given for columns that are not items: {unknown}"
            raise ConfigError(msg)
        sign = {c: int(signs.get(c, 1)) for c in columns}
    else:
        if len(signs) != len(columns):
            msg = f"{len(signs)} signs for {len(columns)} items"
            raise ConfigError(msg)
        sign = {c: int(s) for c, s in zip(columns, signs, strict=True)}
    bad = {c: s for c, s in sign.items() if s not in (1, -1)}
    if bad:
        msg = f"signs must be +1 or -1, got {bad}"
        raise ConfigError(msg)
    items = pd.DataFrame(
        {c: as_float(data[c]).astype(float) * sign[c] for c in columns}, index=data.index
    )
    return items


def summary_index(
    data: pd.DataFrame,
    columns: Sequence[str],
    method: str = "icw",
    *,
    reference: str | pd.Series | None = None,
    signs: Mapping[str, int] | Sequence[int] | None = None,
    missing: str = "available",
    rescale: bool = True,
    name: str | None = None,
) -> pd.Series:
    """Combine several outcomes into one summary index (Anderson ICW or KLK z-score).

    Parameters
    ----------
    data : DataFrame
        One row per unit; the items are numeric columns.
    columns : sequence of str
        The items (at least one).
    method : {"icw", "zscore"}
        ``"icw"``: Anderson (2008) inverse-covariance weighting as Stata ``swindex`` computes it;
        ``"zscore"``: the equally weighted mean of standardised items (Kling, Liebman and Katz
        2007).
    reference : str or Series of bool, optional
        The reference group whose mean and SD standardise each item and, with ``rescale``, the
        final index (``swindex``'s ``normby()``): a boolean column name or a mask aligned with
        ``data``. Default: every row.
    signs : mapping or sequence of {1, -1}, optional
        ``-1`` flips an item so that higher is better (``swindex``'s ``flip()``).
    missing : {"available", "complete"}
        ``"available"``: an observation's index uses the items it has, re-weighted over them
        (``swindex``'s rule; for ``zscore`` the mean of the available z-scores);
        ``"complete"``: missing unless every item is present.
    rescale : bool, default True
        Re-standardise the index to mean 0 and SD 1 in the reference group (``swindex``'s default;
        ``norescale`` is ``rescale=False``).
    name : str, optional
        Name of the result.

    Returns
    -------
    Series
        The index as ``Float64``, ``<NA>`` where no item is present (or, with
        ``missing="complete"``, where any is missing).

    Raises
    ------
    IndicatorError
        When an item is missing from the data, or constant or absent in the reference group.
    ConfigError
        For an unknown method or missing rule, or bad signs.

    Notes
    -----
    Steps of ``swindex`` (Schwab, Janzen, Magnan and Thompson 2020), reproduced exactly:

    1. flip items with sign -1; standardise each item ``j``:
       ``z_ij = (y_ij - mean_ref(y_j)) / sd_ref(y_j)`` (SD with ``n - 1``);
    2. ``S`` = covariance matrix of the standardised items over the whole estimation sample, on
       the rows where every item is present (casewise deletion, Mata ``variance()``);
       weights ``w = S^-1 1`` (row sums of the inverse; ``invsym``, a generalised inverse);
    3. index ``s_i = sum_{j in A_i} w_j z_ij / sum_{j in A_i} w_j`` over the items ``A_i`` that
       observation ``i`` has, i.e. the same weights re-normalised over the available items;
    4. with ``rescale``, ``(s_i - mean_ref(s)) / sd_ref(s)``.

    ``swindex`` also sets an index of exactly zero to missing, a side effect of its
    implementation; this function does not. The KLK index is ``mean_{j in A_i} z_ij``; KLK (2007)
    imputed missing items at the assignment-group mean instead, which amounts to re-weighting
    only when groups are balanced; the ``available`` rule is used here for both methods.
    """
    if method not in _METHODS:
        msg = f"method must be one of {_METHODS}, got {method!r}"
        raise ConfigError(msg)
    if missing not in _MISSING:
        msg = f"missing must be one of {_MISSING}, got {missing!r}"
        raise ConfigError(msg)
    columns = list(columns)
    if not columns:
        msg = "a summary index needs at least one item"
        raise ConfigError(msg)
    items = _signed_items(data, columns, signs)
    ref = _reference_mask(data, reference)
    z = pd.DataFrame(index=items.index)
    for c in columns:
        base = items.loc[ref, c].dropna()
        if len(base) < 2 or base.std(ddof=1) == 0:
            msg = (
                f"item {c!r} has {len(base)} values in the reference group and needs at least "
                "two distinct ones to be standardised"
            )
            raise IndicatorError(msg)
        z[c] = (items[c] - base.mean()) / base.std(ddof=1)
    values = z.to_numpy(dtype=float)
    present = ~np.isnan(values)
    if method == "icw":
        complete = present.all(axis=1)
        if complete.sum() < 2:
            msg = "the ICW index needs at least two observations with every item present"
            raise IndicatorError(msg)
        cov = np.atleast_2d(np.cov(values[complete], rowvar=False, ddof=1))
        weights = np.linalg.pinv(cov, hermitian=True).sum(axis=1)
    else:
        weights = np.ones(len(columns))
    weighted = np.where(present, values, 0.0) @ weights
    total = present.astype(float) @ weights
    with np.errstate(divide="ignore", invalid="ignore"):
        index = weighted / total
    keep = present.all(axis=1) if missing == "complete" else present.any(axis=1)
    index = np.where(keep, index, np.nan)
    if rescale:
        base = index[ref & ~np.isnan(index)]
        if len(base) < 2 or np.std(base, ddof=1) == 0:
            msg = "cannot rescale the index: fewer than two distinct values in the reference group"
            raise IndicatorError(msg)
        index = (index - base.mean()) / np.std(base, ddof=1)
    out = pd.Series(index, index=data.index, name=name).astype("Float64")
    return out.mask(np.isnan(index))


def cronbach_alpha(items: pd.DataFrame) -> tuple[float, int]:
    """Cronbach's alpha of a scale, on the rows that answered every item.

    Parameters
    ----------
    items : DataFrame
        One column per item, one row per respondent.

    Returns
    -------
    alpha : float
        ``k / (k - 1) * (1 - sum(var_j) / var(total))``, variances with ``n - 1``; NaN with
        fewer than two items or two complete rows, or a constant total.
    n : int
        Number of complete rows used.

    Notes
    -----
    Listwise deletion, as Stata ``alpha`` with ``casewise`` and SPSS RELIABILITY do.
    """
    frame = pd.DataFrame({c: as_float(items[c]).astype(float) for c in items.columns})
    complete = frame.dropna()
    k, n = complete.shape[1], complete.shape[0]
    if k < 2 or n < 2:
        return float("nan"), n
    total_var = complete.sum(axis=1).var(ddof=1)
    if total_var == 0:
        return float("nan"), n
    alpha = k / (k - 1) * (1 - complete.var(ddof=1).sum() / total_var)
    return float(alpha), n

"""Multiple-testing adjustment within outcome families.

Bonferroni, Holm and Benjamini-Hochberg (statsmodels ``multipletests``), Anderson's (2008)
sharpened q-values computed as his do-file does, and Romano-Wolf step-down p-values from wild
bootstrap or randomization draws shared across the outcomes of a family (never refitting).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from statsmodels.stats.multitest import multipletests

from evaluation.estimation._resampling import TIE_RTOL
from evaluation.estimation.bootstrap import bootstrap_fits, contrast_vector
from evaluation.estimation.covariance import RegressionFit
from evaluation.estimation.randomization import assignment_from, permute_fits
from evaluation.estimation.results import EffectEstimate, EffectEstimates

__all__ = [
    "ADJUSTMENT_COLUMNS",
    "adjust_pvalues",
    "romano_wolf_pvalues",
    "sharpened_qvalues",
]

ADJUSTMENT_COLUMNS = {
    "bonferroni": "pvalue_bonferroni",
    "holm": "pvalue_holm",
    "bh": "qvalue_bh",
    "anderson": "qvalue_anderson",
    "romano_wolf": "pvalue_romano_wolf",
}
"""Method name to the column it adds to :meth:`EffectEstimates.to_frame`."""

_STATSMODELS = {"bonferroni": "bonferroni", "holm": "holm", "bh": "fdr_bh"}
_RESAMPLING = ("wild", "randomization")


def sharpened_qvalues(pvalues: Sequence[float]) -> np.ndarray:
    """Return Anderson's (2008) sharpened two-stage q-values (Benjamini, Krieger & Yekutieli 2006).

    Parameters
    ----------
    pvalues : sequence of float
        Unadjusted p-values; ``nan`` entries are ignored and stay ``nan``.

    Returns
    -------
    numpy.ndarray
        One q-value per p-value, in the input order, on the grid 0.001, 0.002, ..., 1.

    Notes
    -----
    As Anderson's ``fdr_sharpened_qvalues.do``: sort the M p-values (rank r = 1..M); for each
    q from 1.000 down to 0.001 in steps of 0.001, set ``q' = q / (1 + q)``; stage 1 finds
    ``R1``, the largest rank with ``p_(r) <= q' r / M``; stage 2 finds ``R2``, the largest rank
    with ``p_(r) <= q' M / (M - R1) * r / M`` (every hypothesis when ``R1 = M``, where the
    do-file divides by zero and Stata's missing compares as +infinity); hypotheses with rank
    ``<= R2`` are rejected at q. A q-value is the smallest q at which its hypothesis is
    rejected (1 if never). Comparisons allow a relative 1e-12 in favour of rejection (the
    do-file compares a double threshold with a p-value that is often stored as float). This is
    not statsmodels' ``fdr_tsbky``, which gives different numbers (METHODS 4.9). The q-value
    can be below the p-value when many hypotheses are rejected, as Anderson notes.
    """
    p = np.asarray(pvalues, dtype=float)
    out = np.full(p.shape, np.nan)
    present = np.flatnonzero(~np.isnan(p))
    m = present.size
    if m == 0:
        return out
    order = present[np.argsort(p[present], kind="stable")]
    sorted_p = p[order]
    ranks = np.arange(1, m + 1)
    # every q of the grid at once (rows: q = 1.000 down to 0.001), as the do-file's loop
    q = np.arange(1000, 0, -1) / 1000
    q1 = q / (1 + q)

    def _largest_passing(level: np.ndarray) -> np.ndarray:
        """Return, per q, the largest rank r with ``p_(r) <= level r / M`` (0 if none)."""
        passed = sorted_p <= level[:, None] * ranks / m * (1 + 1e-12)
        return np.max(np.where(passed, ranks, 0), axis=1)

    r1 = _largest_passing(q1)
    everything = r1 == m
    r2 = _largest_passing(q1 * m / np.where(everything, 1, m - r1))
    r2[everything] = m
    # the loop's last assignment wins: the smallest q whose R2 reaches the rank
    rejected = r2[:, None] >= ranks
    last = q.size - 1 - np.argmax(rejected[::-1], axis=0)
    q_sorted = np.where(rejected.any(axis=0), q[last], 1.0)
    out[order] = q_sorted
    return out


def romano_wolf_pvalues(
    observed: Sequence[float], draws: np.ndarray, *, rule: str = "strict", enumerated: bool = True
) -> np.ndarray:
    """Romano-Wolf step-down p-values from resampled statistics shared across hypotheses.

    Parameters
    ----------
    observed : sequence of float
        The S observed statistics (t statistics).
    draws : numpy.ndarray
        ``(B, S)`` resampled statistics under the null, one row per shared draw.
    rule : {"strict", "weak"}, optional
        ``strict``: a draw counts when its maximum exceeds ``|t|`` beyond the tie tolerance
        (bootstrap draws, as :func:`~evaluation.estimation.wild_cluster_bootstrap`);
        ``weak``: when it is at least ``|t|`` within the tolerance (randomization draws).
    enumerated : bool, optional
        For ``weak``: the draws are every assignment (``p = c / B``) rather than a sample
        (``p = (c + 1) / (B + 1)``).

    Returns
    -------
    numpy.ndarray
        Adjusted p-values in the input order.

    Notes
    -----
    Order the hypotheses by ``|t|``, largest first. For the j-th, the raw step-down p-value is
    the share of draws whose ``max_{l in remaining} |t*_l|`` exceeds ``|t_(j)|``, where
    "remaining" is the j-th and every less significant hypothesis; adjusted p-values are then
    made monotone, ``p_(j) = max(p_(j), p_(j-1))`` (Romano & Wolf 2005; Clarke, Romano & Wolf
    2020). With one hypothesis it equals the single-test resampling p-value. Draws that are
    ``nan`` count as not exceeding.
    """
    t = np.abs(np.asarray(observed, dtype=float))
    boot = np.abs(np.asarray(draws, dtype=float))
    boot = np.where(np.isnan(boot), -np.inf, boot)
    n_draws, n_tests = boot.shape
    order = np.argsort(-t, kind="stable")
    # running maximum over the less significant hypotheses: column j holds max over order[j:]
    tail_max = np.maximum.accumulate(boot[:, order[::-1]], axis=1)[:, ::-1]
    adjusted = np.empty(n_tests)
    previous = 0.0
    for j, index in enumerate(order):
        tol = TIE_RTOL * t[index]
        if rule == "strict":
            p = np.count_nonzero(tail_max[:, j] > t[index] + tol) / n_draws
        else:
            count = np.count_nonzero(tail_max[:, j] >= t[index] - tol)
            p = count / n_draws if enumerated else (count + 1) / (n_draws + 1)
        previous = max(previous, p)
        adjusted[index] = previous
    return adjusted


def _families(estimates: EffectEstimates, by: Sequence[str]) -> dict[tuple, list[int]]:
    families: dict[tuple, list[int]] = {}
    for i, estimate in enumerate(estimates):
        key = tuple(getattr(estimate, name) for name in by)
        families.setdefault(key, []).append(i)
    return families


def _fit_of(estimate: EffectEstimate) -> RegressionFit:
    if not isinstance(estimate.fit, RegressionFit):
        msg = (
            f"Romano-Wolf needs the regression fit behind each estimate; {estimate.outcome!r} "
            f"({estimate.estimator}) has none"
        )
        raise ValueError(msg)
    return estimate.fit


def _romano_wolf_family(
    members: list[EffectEstimate],
    *,
    resampling: str,
    bootstrap_draws: int,
    weights_type: str | None,
    permutations: int,
    seed: int | np.random.Generator | None,
    data: pd.DataFrame | None,
    strata: str | None,
) -> np.ndarray:
    fits = [_fit_of(e) for e in members]
    contrasts = [
        contrast_vector(f, dict(e.extra["contrast"]) if "contrast" in e.extra else None)
        for f, e in zip(fits, members, strict=True)
    ]
    if resampling == "wild":
        n_clusters = max(f.design.n_clusters or f.design.nobs for f in fits)
        kind = weights_type or ("webb" if n_clusters < 12 else "rademacher")
        results = bootstrap_fits(
            list(zip(fits, contrasts, strict=True)),
            weights_type=kind,
            bootstrap_draws=bootstrap_draws,
            seed=seed,
            confidence_interval=False,
        )
        observed = [r.statistic for r in results]
        draws = np.column_stack([r.distribution for r in results])
        return romano_wolf_pvalues(observed, draws, rule="strict")
    design = fits[0].design
    if strata is not None and data is None:
        msg = "Romano-Wolf with randomization draws within strata needs data= to read the strata"
        raise ValueError(msg)
    rows = None if strata is None else data.loc[design.index, strata].to_numpy()
    assignment = assignment_from(design, design.treatment, strata=rows, strata_name=strata)
    results = permute_fits(
        fits, assignment, permutations=permutations, seed=seed, confidence_interval=False
    )
    observed = [r.statistic for r in results]
    draws = np.column_stack([r.distribution for r in results])
    return romano_wolf_pvalues(observed, draws, rule="weak", enumerated=results[0].enumerated)


def adjust_pvalues(
    estimates: EffectEstimates,
    method: str | Sequence[str] = ("holm", "anderson"),
    *,
    by: str | Sequence[str] = "family",
    resampling: str = "wild",
    bootstrap_draws: int = 9_999,
    weights_type: str | None = None,
    permutations: int = 9_999,
    seed: int | np.random.Generator | None = None,
    data: pd.DataFrame | None = None,
    strata: str | None = None,
) -> EffectEstimates:
    """Adjust p-values for multiple testing within families of estimates.

    Parameters
    ----------
    estimates : EffectEstimates
        The estimates (for example from :func:`~evaluation.estimation.estimate_effects`).
    method : str or sequence of str, optional
        Any of ``"bonferroni"``, ``"holm"``, ``"bh"``, ``"anderson"`` (sharpened q-values) and
        ``"romano_wolf"``.
    by : str or sequence of str, optional
        Estimate fields that define a family (``"family"`` by default; for example
        ``("family", "subgroup")`` to adjust subgroup rows separately). Estimates with the same
        values form one family; ``None`` is a value like any other.
    resampling : {"wild", "randomization"}, optional
        Romano-Wolf draws: WCR wild cluster bootstrap (each estimate's own null imposed, CR1 t,
        draws shared by cluster label) or randomization of the treatment (the family must share
        one estimation sample and regressors).
    bootstrap_draws : int, optional
        Wild bootstrap draws (full enumeration when ``2^G`` is no larger).
    weights_type : str, optional
        Wild bootstrap weights; by default Webb below 12 clusters, Rademacher otherwise.
    permutations : int, optional
        Randomization draws.
    seed : int, numpy.random.Generator or None, optional
        Seed of the draws (``None`` means seed 0).
    data : pandas.DataFrame, optional
        The analysis data, needed only to read ``strata``.
    strata : str, optional
        Randomization strata column.

    Returns
    -------
    EffectEstimates
        The same estimates with one adjustment column per method (``pvalue_bonferroni``,
        ``pvalue_holm``, ``qvalue_bh``, ``qvalue_anderson``, ``pvalue_romano_wolf``), adjusted
        within each family; existing adjustments are kept (and replaced when recomputed).

    Raises
    ------
    ValueError
        An unknown method, resampling or field, or Romano-Wolf on estimates without a fit.

    Notes
    -----
    Bonferroni ``min(1, M p)``, Holm's step-down and Benjamini-Hochberg's step-up come from
    statsmodels ``multipletests`` within each family of M non-missing p-values; Anderson's
    q-values follow :func:`sharpened_qvalues`; Romano-Wolf follows
    :func:`romano_wolf_pvalues` on the CR1 t statistics (not the reported p-values, which may
    come from another method). Missing p-values stay missing and are not counted in M.
    """
    methods = [method] if isinstance(method, str) else list(method)
    unknown = [m for m in methods if m not in ADJUSTMENT_COLUMNS]
    if unknown:
        msg = f"unknown adjustment method(s) {unknown}; choose from {list(ADJUSTMENT_COLUMNS)}"
        raise ValueError(msg)
    if resampling not in _RESAMPLING:
        msg = f"resampling must be one of {_RESAMPLING}; got {resampling!r}"
        raise ValueError(msg)
    fields = [by] if isinstance(by, str) else list(by)
    known = set(EffectEstimate.__dataclass_fields__)
    bad = [f for f in fields if f not in known]
    if bad:
        msg = f"by= names unknown estimate field(s) {bad}; use fields such as 'family', 'subgroup'"
        raise ValueError(msg)
    pvalues = np.array([e.pvalue for e in estimates], dtype=float)
    adjustments = dict(estimates.adjustments)
    for name in methods:
        column = np.full(len(estimates), np.nan)
        for members in _families(estimates, fields).values():
            idx = np.array([i for i in members if not np.isnan(pvalues[i])], dtype=int)
            if idx.size == 0:
                continue
            if name in _STATSMODELS:
                column[idx] = multipletests(pvalues[idx], method=_STATSMODELS[name])[1]
            elif name == "anderson":
                column[idx] = sharpened_qvalues(pvalues[idx])
            else:
                column[idx] = _romano_wolf_family(
                    [estimates[i] for i in idx],
                    resampling=resampling,
                    bootstrap_draws=bootstrap_draws,
                    weights_type=weights_type,
                    permutations=permutations,
                    seed=seed,
                    data=data,
                    strata=strata,
                )
        adjustments[ADJUSTMENT_COLUMNS[name]] = tuple(column)
    return EffectEstimates(estimates.estimates, adjustments)

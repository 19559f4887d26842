"""Nearest-neighbour matching on the propensity score or on covariates (Mahalanobis).

The result depends on the score specification, the tie rule and row order (METHODS 2.7): the
score is whatever is passed in; ties go to the first candidate in row order (``ties="first"``)
unless every tied candidate is kept (``ties="all"``, Stata ``teffects``); without replacement,
focal units are matched greedily in row order.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import formulaic
import numpy as np
import pandas as pd
from scipy.special import logit

from evaluation.estimation._moments import require_unique_index, t_inference
from evaluation.estimation.effects import estimate_effect
from evaluation.estimation.propensity import (
    ESTIMANDS,
    OverlapError,
    PropensityScore,
    fit_propensity,
    require_binary,
)
from evaluation.estimation.results import EffectEstimate

__all__ = ["Matching", "match_effect", "match_units"]

DISTANCES = ("propensity", "logit", "mahalanobis")
TIES = ("first", "all")
_TIE_TOL = 1e-12
_TIE_DECIMALS = 12
_PAIRS = 2_000_000  # (focal unit, candidate) pairs ranked at once by the 1-D search


@dataclass(frozen=True)
class Matching:
    """Who was matched to whom, and the matched-sample weights.

    Attributes
    ----------
    pairs : pandas.DataFrame
        One row per (focal unit, match): ``focal`` and ``match`` (index labels), ``distance``,
        ``k`` (matches of that focal unit) and ``focal_treated``.
    weights : pandas.Series
        Matched-sample weight of every row (0 for rows never used), indexed like the data.
    unmatched : pandas.Index
        Focal units without an acceptable match (caliper, exact cells, or controls used up).
    estimand : str
        ``"ATT"``, ``"ATC"`` or ``"ATE"``.
    notes : tuple of str
        The rules applied.
    distance : pandas.Series
        The 1-D distance variable (score or its logit), or empty for Mahalanobis.
    """

    pairs: pd.DataFrame
    weights: pd.Series
    unmatched: pd.Index
    estimand: str
    notes: tuple[str, ...] = ()
    distance: pd.Series = field(default_factory=lambda: pd.Series(dtype=float), repr=False)


def _distance_data(
    frame: pd.DataFrame,
    treatment: str,
    propensity: Any,
    distance: str,
    covariates: Sequence[str] | None,
) -> tuple[np.ndarray, pd.Series, list[str]]:
    """Return the matching coordinates ``(N, d)`` (whitened for Mahalanobis) and notes."""
    notes: list[str] = []
    if distance == "mahalanobis":
        if not covariates:
            msg = "distance='mahalanobis' needs covariates=[...]"
            raise ValueError(msg)
        X = formulaic.model_matrix("0 + " + " + ".join(covariates), frame, na_action="raise")
        X = X.to_numpy(dtype=float)
        cov = np.atleast_2d(np.cov(X, rowvar=False))
        chol = np.linalg.cholesky(np.linalg.inv(cov))
        notes.append(
            "Mahalanobis distance on " + ", ".join(covariates) + " (full-sample covariance)"
        )
        return X @ chol, pd.Series(dtype=float), notes
    if isinstance(propensity, PropensityScore):
        score = propensity.score.loc[frame.index]
        notes.append(f"score model {propensity.formula}")
    elif isinstance(propensity, str) and "~" not in propensity and propensity in frame.columns:
        score = frame[propensity].astype(float)
        notes.append(f"scores given in {propensity!r}")
    else:
        fit = fit_propensity(frame, treatment, propensity)
        score = fit.score
        notes.append(f"score model {fit.formula}")
    if distance == "logit":
        e = score.to_numpy()
        if np.any((e <= 0) | (e >= 1)):
            msg = "scores of 0 or 1 have no logit: no overlap"
            raise OverlapError(msg)
        score = pd.Series(logit(e), index=score.index)
    return score.to_numpy()[:, None], score, notes


def _nearest(
    d: np.ndarray, k: int, ties: str, caliper: float | None
) -> tuple[np.ndarray, np.ndarray]:
    """Positions and distances of the ``k`` nearest candidates (stable: row order breaks ties).

    Distances equal to 12 decimals are ties (so rounding in the distance cannot reorder them).
    """
    order = np.argsort(np.round(d, _TIE_DECIMALS), kind="stable")
    if caliper is not None:
        order = order[d[order] <= caliper + _TIE_TOL * max(1.0, caliper)]
    if order.size == 0:
        return order, d[order]
    take = order[:k]
    if ties == "all" and order.size > k:
        cutoff = np.round(d[take[-1]], _TIE_DECIMALS)
        take = order[np.round(d[order], _TIE_DECIMALS) <= cutoff]
    return take, d[take]


def _window_1d(
    x: np.ndarray, values: np.ndarray, k: int, caliper: float | None
) -> tuple[np.ndarray, np.ndarray]:
    """Bounds ``[lo, hi)`` in ``values`` (sorted candidate coordinates) of every focal unit.

    The window holds every candidate within ``min(d_k, caliper) + margin`` of the focal
    coordinate ``x`` (``d_k`` the distance of its k-th nearest candidate): a superset of the
    candidates that can be among its matches, including those tied with the last one to 12
    decimals (rounding moves a distance by at most 5e-13; the margin is 1e-9).
    """
    n = values.size
    p = np.searchsorted(values, x)
    offsets = np.arange(-k, k)
    near = p[:, None] + offsets[None, :]
    inside = (near >= 0) & (near < n)
    d = np.where(inside, np.abs(values[np.clip(near, 0, n - 1)] - x[:, None]), np.inf)
    kth = np.sort(d, axis=1)[:, k - 1]  # inf when fewer than k candidates
    if caliper is not None:
        kth = np.minimum(kth, caliper + _TIE_TOL * max(1.0, caliper))
    bound = kth + 1e-9 * np.maximum(1.0, kth)
    lo = np.searchsorted(values, x - bound, side="left")
    hi = np.searchsorted(values, x + bound, side="right")
    return lo, hi


def _match_1d(
    coords: np.ndarray,
    focal: np.ndarray,
    cand: np.ndarray,
    *,
    k: int,
    ties: str,
    caliper: float | None,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Return the matches of each focal unit among ``cand`` (with replacement), one coordinate.

    Equal to running :func:`_nearest` on every candidate: the candidates outside each focal
    unit's window (:func:`_window_1d`) are farther than its last match, so dropping them
    changes neither the matches nor their order. Inside the windows, every (focal unit,
    candidate) pair is ranked at once by the key of :func:`_nearest` (distance to 12 decimals,
    then row), in blocks of focal units of at most ``_PAIRS`` pairs.
    """
    if cand.size == 0:
        return [(cand, coords[cand, 0]) for _ in focal]
    order = np.argsort(coords[cand, 0], kind="stable")
    values = coords[cand[order], 0]
    lo, hi = _window_1d(coords[focal, 0], values, k, caliper)
    sizes = hi - lo
    ends = np.cumsum(sizes)
    out: list[tuple[np.ndarray, np.ndarray]] = []
    first = 0
    while first < focal.size:
        # focal units first..last-1: at least one, then as many as fit in _PAIRS pairs
        base = ends[first] - sizes[first]
        last = max(first + 1, int(np.searchsorted(ends, base + _PAIRS, side="right")))
        n = sizes[first:last]
        offsets = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
        rows = cand[order[np.repeat(lo[first:last], n) + offsets]]
        out.extend(
            _match_block(coords, focal[first:last], rows, n, k=k, ties=ties, caliper=caliper)
        )
        first = last
    return out


def _match_block(
    coords: np.ndarray,
    focal: np.ndarray,
    rows: np.ndarray,
    n: np.ndarray,
    *,
    k: int,
    ties: str,
    caliper: float | None,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Return the matches of each focal unit among its window (``rows``: ``n[i]`` rows each)."""
    owner = np.repeat(np.arange(n.size), n)
    d = np.sqrt(np.sum((coords[rows] - coords[focal[owner]]) ** 2, axis=1))
    rounded = np.round(d, _TIE_DECIMALS)
    if caliper is not None:
        inside = d <= caliper + _TIE_TOL * max(1.0, caliper)
        owner, rows, d, rounded = owner[inside], rows[inside], d[inside], rounded[inside]
    ranked = np.lexsort((rows, rounded, owner))
    owner, rows, d, rounded = owner[ranked], rows[ranked], d[ranked], rounded[ranked]
    counts = np.bincount(owner, minlength=n.size)
    group_start = np.cumsum(counts) - counts
    take = np.arange(owner.size) - group_start[owner] < k
    if ties == "all":
        has_more = counts > k
        cutoff = np.full(n.size, np.inf)
        cutoff[has_more] = rounded[group_start[has_more] + k - 1]
        take = rounded <= cutoff[owner]
    owner, rows, d = owner[take], rows[take], d[take]
    bounds = np.cumsum(np.bincount(owner, minlength=n.size))[:-1]
    return list(zip(np.split(rows, bounds), np.split(d, bounds), strict=True))


def match_units(
    data: pd.DataFrame,
    treatment: str,
    propensity: PropensityScore | str | Sequence[str] | None = None,
    *,
    neighbors: int = 1,
    replace: bool = True,
    caliper: float | None = None,
    estimand: str = "ATT",
    exact: Sequence[str] | str | None = None,
    distance: str = "propensity",
    covariates: Sequence[str] | None = None,
    ties: str = "first",
    weights: str | None = None,
) -> Matching:
    r"""Match units of one arm to their nearest neighbours in the other.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per unit, in the order that breaks ties; rows with a missing treatment,
        exact-matching variable, covariate or weight are left out.
    treatment : str
        0/1 treatment column.
    propensity : PropensityScore, str or sequence of str, optional
        The score (as in :func:`~evaluation.estimation.ipw_effect`); unused for Mahalanobis.
    neighbors : int, optional
        Matches per focal unit.
    replace : bool, optional
        Whether a unit may serve as a match more than once. Without replacement focal units
        are served in row order (greedy).
    caliper : float, optional
        Largest acceptable distance, in the units of the distance (score, logit or
        Mahalanobis); focal units with no candidate inside it stay unmatched.
    estimand : {"ATT", "ATC", "ATE"}, optional
        ATT matches treated units to controls, ATC controls to treated units, ATE both.
    exact : sequence of str or str, optional
        Variables that must be equal between a unit and its matches (strata).
    distance : {"propensity", "logit", "mahalanobis"}, optional
        Absolute difference in the score or its logit, or Mahalanobis distance on
        ``covariates``.
    covariates : sequence of str, optional
        Columns or formula terms for the Mahalanobis distance.
    ties : {"first", "all"}, optional
        ``"first"``: of candidates at equal distance the first in row order wins; ``"all"``:
        every candidate tied with the last neighbour is kept (Stata ``teffects``). Distances
        equal to 12 decimals count as tied.
    weights : str, optional
        Survey weights of the focal units (they scale each focal unit's contribution).

    Returns
    -------
    Matching
        Pairs, weights and unmatched units.

    Raises
    ------
    ValueError
        Bad options or a non-binary treatment.

    Notes
    -----
    Weights (Abadie & Imbens 2006, :math:`K` form): a matched focal unit :math:`i` gets
    :math:`s_i`; a unit :math:`j` used as a match gets :math:`\sum_{i: j \in J(i)} s_i/|J(i)|`
    (plus its own :math:`s_j` when it is itself a matched focal unit, for the ATE). Each
    arm's weights then sum to the focal units' total weight, so the weighted difference in
    means is the matching estimator.
    """
    if estimand not in ESTIMANDS:
        msg = f"estimand must be one of {ESTIMANDS}; got {estimand!r}"
        raise ValueError(msg)
    if distance not in DISTANCES:
        msg = f"distance must be one of {DISTANCES}; got {distance!r}"
        raise ValueError(msg)
    if ties not in TIES:
        msg = f"ties must be one of {TIES}; got {ties!r}"
        raise ValueError(msg)
    if int(neighbors) != neighbors or neighbors < 1:
        msg = f"neighbors must be a positive integer; got {neighbors!r}"
        raise ValueError(msg)
    if caliper is not None and caliper <= 0:
        msg = f"caliper must be positive; got {caliper!r}"
        raise ValueError(msg)
    require_binary(data, treatment)
    require_unique_index(data)
    exact = [exact] if isinstance(exact, str) else list(exact or [])
    needed = [treatment, *exact] + ([weights] if weights else [])
    frame = data.loc[data[needed].notna().all(axis=1)]
    coords, score, notes = _distance_data(frame, treatment, propensity, distance, covariates)
    frame = frame.loc[score.index] if len(score) else frame
    t = frame[treatment].to_numpy(dtype=float)
    s = frame[weights].to_numpy(dtype=float) if weights else np.ones(len(frame))
    cells = (
        pd.MultiIndex.from_frame(frame[exact]).factorize()[0]
        if exact
        else np.zeros(len(frame), dtype=np.intp)
    )
    focal_arms = {"ATT": [1], "ATC": [0], "ATE": [1, 0]}[estimand]
    w = np.zeros(len(frame))
    focal_rows, match_rows, distances, sizes, arms = [], [], [], [], []
    unmatched = []
    for arm in focal_arms:
        focal = np.nonzero(t == arm)[0]
        if replace and coords.shape[1] == 1:  # one coordinate: search sorted candidates
            found: dict[int, tuple[np.ndarray, np.ndarray]] = {}
            for cell in np.unique(cells[focal]):
                members = focal[cells[focal] == cell]
                cand = np.nonzero((t != arm) & (cells == cell))[0]
                matches = _match_1d(coords, members, cand, k=neighbors, ties=ties, caliper=caliper)
                found.update(zip(members.tolist(), matches, strict=True))
            results = [found[i] for i in focal.tolist()]
        else:
            results = []
            available = np.ones(len(frame), dtype=bool)
            for i in focal:
                cand = np.nonzero((t != arm) & (cells == cells[i]) & available)[0]
                d = np.sqrt(np.sum((coords[cand] - coords[i]) ** 2, axis=1))
                pos, dist = _nearest(d, neighbors, ties, caliper)
                results.append((cand[pos], dist))
                if not replace:
                    available[cand[pos]] = False
        size = np.array([chosen.size for chosen, _ in results], dtype=np.intp)
        unmatched.extend(focal[size == 0].tolist())
        matched = focal[size > 0]
        if matched.size == 0:
            continue
        chosen = np.concatenate([c for c, _ in results])
        owner = np.repeat(focal, size)
        k = np.repeat(size, size)
        # in row order of the focal units, as one unit at a time would add them
        np.add.at(w, matched, s[matched])
        np.add.at(w, chosen, s[owner] / k)
        focal_rows.append(owner)
        match_rows.append(chosen)
        distances.append(np.concatenate([d for _, d in results]))
        sizes.append(k)
        arms.append(np.full(owner.size, bool(arm)))
    columns = ["focal", "match", "distance", "k", "focal_treated"]
    if focal_rows:
        pairs = pd.DataFrame(
            {
                "focal": frame.index[np.concatenate(focal_rows)].tolist(),
                "match": frame.index[np.concatenate(match_rows)].tolist(),
                "distance": np.concatenate(distances),
                "k": np.concatenate(sizes).tolist(),
                "focal_treated": np.concatenate(arms),
            }
        )
    else:
        pairs = pd.DataFrame([], columns=columns)
    notes.append(
        f"{estimand}: {neighbors} neighbour(s), {'with' if replace else 'without'} "
        f"replacement, ties={ties!r}"
        + (f", caliper {caliper:g}" if caliper is not None else "")
        + (f", exact on {exact}" if exact else "")
    )
    if unmatched:
        notes.append(f"{len(unmatched)} focal units had no acceptable match and were dropped")
    return Matching(
        pairs=pairs,
        weights=pd.Series(w, index=frame.index, name="match_weight"),
        unmatched=frame.index[unmatched],
        estimand=estimand,
        notes=tuple(notes),
        distance=score,
    )


def _abadie_imbens(
    frame: pd.DataFrame,
    outcome: str,
    treatment: str,
    matching: Matching,
    *,
    coords: np.ndarray,
    effect: float,
    variance_neighbors: int,
) -> float:
    """Abadie-Imbens (2006) standard error (population ATE/ATT/ATC, conditional on the score)."""
    y = frame[outcome].to_numpy(float)
    t = frame[treatment].to_numpy(float)
    pos = pd.Series(np.arange(len(frame)), index=frame.index)
    n = len(frame)
    K = np.zeros(n)
    K2 = np.zeros(n)
    imputed = {}
    for focal, group in matching.pairs.groupby("focal", sort=False):
        j = pos[group["match"]].to_numpy()
        k = float(len(j))
        K[j] += 1.0 / k
        K2[j] += 1.0 / k**2
        imputed[pos[focal]] = y[j].mean()
    # conditional variances by matching within the arm (J nearest same-arm units)
    sigma2 = np.zeros(n)
    for arm in (0, 1):
        idx = np.nonzero(t == arm)[0]
        for i in idx:
            others = idx[idx != i]
            d = np.sqrt(np.sum((coords[others] - coords[i]) ** 2, axis=1))
            near = others[np.argsort(d, kind="stable")[:variance_neighbors]]
            m = near.size
            sigma2[i] = m / (m + 1) * (y[i] - y[near].mean()) ** 2
    focal = np.array(sorted(imputed))
    diff = np.array([y[i] - imputed[i] if t[i] == 1 else imputed[i] - y[i] for i in focal])
    n_focal = focal.size
    if matching.estimand == "ATE":
        total = np.sum((diff - effect) ** 2) + np.sum((K**2 + 2 * K - K2) * sigma2)
    else:
        total = np.sum((diff - effect) ** 2) + np.sum((K**2 - K2) * sigma2)
    return math.sqrt(total) / n_focal


def match_effect(
    data: pd.DataFrame,
    outcome: str,
    treatment: str,
    propensity: PropensityScore | str | Sequence[str] | None = None,
    *,
    neighbors: int = 1,
    replace: bool = True,
    caliper: float | None = None,
    estimand: str = "ATT",
    exact: Sequence[str] | str | None = None,
    distance: str = "propensity",
    covariates: Sequence[str] | None = None,
    ties: str = "first",
    cluster: str | None = None,
    weights: str | None = None,
    se: str = "regression",
    vcov: str | None = None,
    variance_neighbors: int = 2,
    level: float = 0.95,
) -> EffectEstimate:
    r"""Estimate a treatment effect by nearest-neighbour matching.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per unit; rows with a missing outcome are left out before matching.
    outcome : str
        Outcome column.
    treatment : str
        0/1 treatment column.
    propensity : PropensityScore, str or sequence of str, optional
        The score (see :func:`match_units`).
    neighbors, replace, caliper, estimand, exact, distance, covariates, ties : optional
        Matching rules (see :func:`match_units`).
    cluster : str, optional
        Cluster column: the weighted regression's variance is clustered (``CR1``).
    weights : str, optional
        Survey weights of the focal units.
    se : {"regression", "abadie-imbens"}, optional
        ``"regression"``: WLS of the outcome on the treatment with the matching weights
        (``CR1`` with a cluster, ``HC1`` otherwise), conditional on the matched sample;
        ``"abadie-imbens"``: the Abadie-Imbens (2006) variance (unclustered, unweighted).
    vcov : str, optional
        Variance of the weighted regression (``"CR1"``, ``"CR2"``, ``"HC1"``...).
    variance_neighbors : int, optional
        Same-arm matches for the Abadie-Imbens conditional variances (Stata default 2).
    level : float, optional
        Confidence level.

    Returns
    -------
    EffectEstimate
        ``estimator="matching"``; ``extra`` holds the matched counts, the unmatched focal units
        and the rules; ``fit`` is the :class:`Matching`.

    Raises
    ------
    ValueError
        Bad options; Abadie-Imbens with clusters or survey weights; nothing matched.

    Notes
    -----
    ATT: :math:`\hat\tau = \sum_{i:T_i=1} s_i (Y_i - |J(i)|^{-1}\sum_{j\in J(i)} Y_j) /
    \sum s_i`, equal to the WLS coefficient of :math:`Y` on :math:`T` with the weights of
    :func:`match_units`. Abadie-Imbens (unweighted, with :math:`K_j = \sum_{i} 1[j \in J(i)]
    /|J(i)|` and :math:`K2_j = \sum_i 1[j\in J(i)]/|J(i)|^2`): ATT/ATC
    :math:`V = N_f^{-2}[\sum_{focal}(\hat\tau_i - \hat\tau)^2 + \sum_j (K_j^2 - K2_j)
    \hat\sigma^2_j]`, ATE :math:`V = N^{-2}[\sum_i(\hat\tau_i - \hat\tau)^2 + \sum_j
    (K_j^2 + 2K_j - K2_j)\hat\sigma^2_j]`, :math:`\hat\sigma^2_j = J/(J+1)(Y_j -
    \bar Y_{J(j)})^2` from the :math:`J` nearest units of the same arm; normal reference; it
    does not adjust for the estimated score (Abadie & Imbens 2016).
    """
    ses = ("regression", "abadie-imbens")
    if se not in ses:
        msg = f"se must be one of {ses}; got {se!r}"
        raise ValueError(msg)
    if se == "abadie-imbens" and (cluster is not None or weights is not None):
        msg = (
            "the Abadie-Imbens variance is for unclustered, unweighted designs; use "
            "se='regression' with cluster=... (matching weights in a clustered regression)"
        )
        raise ValueError(msg)
    if outcome not in data.columns:
        msg = f"outcome column {outcome!r} not found in the data"
        raise KeyError(msg)
    needed = [outcome] + ([cluster] if cluster else [])
    frame = data.loc[data[needed].notna().all(axis=1)]
    matching = match_units(
        frame,
        treatment,
        propensity,
        neighbors=neighbors,
        replace=replace,
        caliper=caliper,
        estimand=estimand,
        exact=exact,
        distance=distance,
        covariates=covariates,
        ties=ties,
        weights=weights,
    )
    if matching.pairs.empty:
        msg = "no focal unit found an acceptable match (caliper, exact cells or overlap)"
        raise OverlapError(msg)
    column = "_match_weight"
    used = matching.weights.loc[matching.weights > 0]
    sample = frame.loc[used.index].assign(**{column: used.to_numpy()})
    vcov = vcov or ("CR1" if cluster else "HC1")
    fitted = estimate_effect(
        sample,
        outcome,
        treatment,
        cluster=cluster,
        weights=column,
        weights_kind="sampling",
        vcov=vcov,
        level=level,
    )
    notes = [*matching.notes]
    focal = matching.pairs.drop_duplicates("focal")
    extra = {
        "estimand": estimand,
        "n_matched_focal": len(focal),
        "n_unmatched_focal": len(matching.unmatched),
        "n_matched_treated": int(focal["focal_treated"].sum()),
        "n_matched_control": int((~focal["focal_treated"]).sum()),
        "n_used_as_match": int(matching.pairs["match"].nunique()),
        "neighbors": neighbors,
        "replace": replace,
        "caliper": caliper,
        "ties": ties,
        "distance": distance,
    }
    if se == "regression":
        notes.append(
            f"SE from WLS of {outcome} on {treatment} with the matching weights ({vcov}), "
            "conditional on the matched sample"
        )
        return fitted.replace(
            estimator="matching",
            notes=tuple(notes) + fitted.notes,
            extra={**fitted.extra, **extra},
            fit=matching,
        )
    coords, _, _ = _distance_data(
        frame.loc[matching.weights.index], treatment, propensity, distance, covariates
    )
    std_error = _abadie_imbens(
        frame.loc[matching.weights.index],
        outcome,
        treatment,
        matching,
        coords=coords,
        effect=fitted.effect,
        variance_neighbors=variance_neighbors,
    )
    pvalue, lower, upper = t_inference(fitted.effect, std_error, math.inf, level)
    notes.append(
        f"Abadie-Imbens (2006) variance with {variance_neighbors} same-arm matches for the "
        "conditional variances; conditional on the score; normal reference"
    )
    return fitted.replace(
        estimator="matching",
        std_error=std_error,
        pvalue=pvalue,
        ci_lower=lower,
        ci_upper=upper,
        df=math.inf,
        vcov="abadie-imbens",
        n_clusters=None,
        notes=tuple(notes),
        extra={**fitted.extra, **extra},
        fit=matching,
    )

"""Shared machinery of the resampling tests: statistics affine in the null, p-values, inversion.

The wild cluster bootstrap and randomization inference both reduce every draw ``b`` to a
statistic of the form

    stat_b(r) = (n0_b + r n1_b) / sqrt(v0_b + 2 r v01_b + r^2 v1_b)

where ``r`` is the hypothesised value of the tested contrast (the null) and the five arrays are
computed once per draw. A p-value for any ``r`` then costs O(B), so confidence intervals are found
by inverting the test (bisection on ``r``) without touching the data again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

TIE_RTOL = 1e-9
"""Relative tolerance below which a resampled statistic counts as a tie with the observed one."""

DEFAULT_SEED = 0
"""Seed used when none is given, so that results are reproducible by default."""

PVALUE_TYPES = ("symmetric", "equal-tailed")


def resolve_rng(seed: int | np.random.Generator | None) -> tuple[np.random.Generator, str]:
    """Return a generator and a short description of where it came from.

    Parameters
    ----------
    seed : int, numpy.random.Generator or None
        A seed, a generator (used as is, and advanced), or ``None`` for :data:`DEFAULT_SEED`.

    Returns
    -------
    tuple
        The generator and ``"seed <n>"`` or ``"user generator"``.
    """
    if isinstance(seed, np.random.Generator):
        return seed, "user generator"
    value = DEFAULT_SEED if seed is None else int(seed)
    return np.random.default_rng(value), f"seed {value}"


@dataclass(frozen=True)
class AffineStatistic:
    """Resampled statistics as functions of the null value ``r`` (see module docstring).

    ``v0`` is ``None`` for an unstudentised statistic (denominator 1).
    """

    n0: np.ndarray
    n1: np.ndarray
    v0: np.ndarray | None = None
    v01: np.ndarray | None = None
    v1: np.ndarray | None = None

    def at(self, r: float) -> np.ndarray:
        """Return the statistics at a null value.

        Parameters
        ----------
        r : float
            The hypothesised value.

        Returns
        -------
        numpy.ndarray
            One statistic per draw (``nan`` where the variance is not positive).
        """
        num = self.n0 + r * self.n1
        if self.v0 is None:
            return num
        var = self.v0 + 2.0 * r * self.v01 + r * r * self.v1
        positive = var > 0
        if positive.all():
            return num / np.sqrt(var)
        out = np.full(num.shape, np.nan)
        out[positive] = num[positive] / np.sqrt(var[positive])
        return out

    @staticmethod
    def concat(parts: list[AffineStatistic]) -> AffineStatistic:
        """Join the draws of several chunks.

        Parameters
        ----------
        parts : list of AffineStatistic
            Chunks in order.

        Returns
        -------
        AffineStatistic
            All draws.
        """
        first = parts[0]
        joined = {
            name: np.concatenate([getattr(p, name) for p in parts])
            for name in ("n0", "n1", "v0", "v01", "v1")
            if getattr(first, name) is not None
        }
        return AffineStatistic(**joined)


def count_extreme(draws: np.ndarray, observed: float, rule: str) -> tuple[int, int]:
    """Count draws at least as extreme as the observed statistic, with an explicit tie rule.

    Parameters
    ----------
    draws : numpy.ndarray
        Resampled statistics (``nan`` entries never count).
    observed : float
        The observed statistic.
    rule : {"strict", "weak", "lower", "upper"}
        ``strict``: ``|draw| > |observed|`` beyond the tie tolerance (boottest); ``weak``:
        ``|draw| >= |observed|`` within the tolerance (ties count, as in randomization tests);
        ``lower``/``upper``: ``draw < observed`` / ``draw > observed`` beyond the tolerance.

    Returns
    -------
    tuple of int
        The count and the number of ties (``| |draw| - |observed| | <= tol``).
    """
    tol = TIE_RTOL * abs(observed)
    if rule in {"strict", "weak"}:
        gap = np.abs(draws) - abs(observed)  # nan compares false: never counted
        above = int(np.count_nonzero(gap > tol))
        ties = int(np.count_nonzero(np.abs(gap) <= tol))
        return above + (ties if rule == "weak" else 0), ties
    gap = draws - observed
    ties = int(np.count_nonzero(np.abs(gap) <= tol))
    count = np.count_nonzero(gap < -tol) if rule == "lower" else np.count_nonzero(gap > tol)
    return int(count), ties


def bootstrap_pvalue(draws: np.ndarray, observed: float, pvalue_type: str) -> float:
    """Wild-bootstrap p-value: share of draws beyond the observed t, ties excluded (boottest).

    Parameters
    ----------
    draws : numpy.ndarray
        Bootstrap t statistics.
    observed : float
        Observed t statistic.
    pvalue_type : {"symmetric", "equal-tailed"}
        ``symmetric``: ``#{|t*| > |t|} / B``; ``equal-tailed``:
        ``2 min(#{t* < t}, #{t* > t}) / B`` (capped at 1).

    Returns
    -------
    float
        The p-value.
    """
    b = draws.shape[0]
    if pvalue_type == "symmetric":
        return count_extreme(draws, observed, "strict")[0] / b
    lower = count_extreme(draws, observed, "lower")[0]
    upper = count_extreme(draws, observed, "upper")[0]
    return min(1.0, 2.0 * min(lower, upper) / b)


def invert_test(
    pvalue_at: callable,
    estimate: float,
    scale: float,
    alpha: float,
    focus: callable | None = None,
) -> tuple[float, float]:
    """Confidence interval ``{r : p(r) > alpha}`` by bisection outwards from the estimate.

    Parameters
    ----------
    pvalue_at : callable
        ``r -> p(r)``.
    estimate : float
        The point estimate (``p`` is largest there).
    scale : float
        A standard error, for the first step and the stopping rule.
    alpha : float
        One minus the confidence level.
    focus : callable, optional
        ``focus((lo, hi))`` is called before each bisection step with the current bracket
        (every later evaluation on that side lies inside it) and ``focus(None)`` when a side
        starts, so ``pvalue_at`` may drop work that cannot change inside the bracket (see
        :class:`SymmetricPvalue`); it must not change any p-value.

    Returns
    -------
    tuple of float
        Lower and upper bounds; ``nan`` when ``p(estimate) <= alpha`` (empty set), ``-inf`` or
        ``inf`` when no rejection is found within ``2^60`` standard errors.

    Notes
    -----
    On each side the search doubles the step from ``2 * scale`` until ``p(r) <= alpha``, then
    bisects the bracket until its width is below ``1e-10`` times ``max(|estimate|, scale)``. It
    returns the crossing closest to the estimate within that bracket; a confidence set that is
    not an interval is reported by its innermost crossings.
    """
    if not pvalue_at(estimate) > alpha:
        return math.nan, math.nan
    scale = scale if scale > 0 and math.isfinite(scale) else max(abs(estimate), 1.0)
    precision = 1e-10 * max(abs(estimate), scale)
    bounds = []
    for side in (-1.0, 1.0):
        if focus is not None:
            focus(None)
        inner, step = estimate, 2.0 * scale
        outer = estimate + side * step
        expansions = 0
        while pvalue_at(outer) > alpha:
            inner, step = outer, step * 2.0
            outer = estimate + side * step
            expansions += 1
            if expansions > 60:
                break
        if expansions > 60:
            bounds.append(side * math.inf)
            continue
        for _ in range(200):
            if abs(outer - inner) <= precision:
                break
            if focus is not None:
                focus((min(inner, outer), max(inner, outer)))
            middle = 0.5 * (inner + outer)
            if pvalue_at(middle) > alpha:
                inner = middle
            else:
                outer = middle
        bounds.append(0.5 * (inner + outer))
    return bounds[0], bounds[1]


_SAFE_RELATIVE = 1e-13  # bound on the rounding of the affine pieces, relative to their size
_SAFE_MARGIN = 1e-6  # distance from the threshold beyond which rounding cannot flip a draw
_FOCUS_MIN_DRAWS = 256


class SymmetricPvalue:
    """The symmetric bootstrap p-value ``r -> #{|t*(r)| > |t(r)|}/B``, cheap inside a bracket.

    ``p(r)`` equals ``bootstrap_pvalue(stats.at(r), (estimate - r) / se, "symmetric")``
    exactly. After :meth:`focus` on a bracket ``[lo, hi]``, draws whose comparison cannot
    change anywhere in the bracket are counted once and no longer evaluated: their statistic
    is bounded on the bracket by interval arithmetic on the affine pieces, and a draw is
    settled only when the bound clears the threshold by a relative margin (1e-6) far above
    rounding error. The remaining draws are evaluated exactly as before, so every p-value,
    and with it every bisection step of :func:`invert_test`, is unchanged.

    Parameters
    ----------
    stats : AffineStatistic
        The draws (studentised).
    estimate, se : float
        The estimate and its standard error (the observed ``t(r) = (estimate - r) / se``).
    """

    def __init__(self, stats: AffineStatistic, estimate: float, se: float) -> None:
        self.stats, self.estimate, self.se = stats, float(estimate), float(se)
        self.draws = int(stats.n0.shape[0])
        self.focus(None)

    def __call__(self, r: float) -> float:
        """Return the p-value at ``r`` (inside the current bracket after :meth:`focus`).

        Parameters
        ----------
        r : float
            The hypothesised value.

        Returns
        -------
        float
            The p-value.
        """
        t0 = (self.estimate - r) / self.se
        return (self.settled + count_extreme(self.live.at(r), t0, "strict")[0]) / self.draws

    def focus(self, bracket: tuple[float, float] | None) -> None:
        """Settle the draws whose comparison is constant on ``bracket`` (``None``: reset).

        Parameters
        ----------
        bracket : tuple of float or None
            ``(lo, hi)``, inside the previous bracket since the last reset.
        """
        if bracket is None:
            self.live, self.settled = self.stats, 0
            return
        s = self.live
        if s.n0.shape[0] <= _FOCUS_MIN_DRAWS:
            return  # settling costs more than evaluating so few draws
        lo, hi = bracket
        mid, half = 0.5 * (lo + hi), 0.5 * (hi - lo)
        reach = max(abs(lo), abs(hi))
        # numerator n(r) = N0 + d N1, variance V0 + 2 d V1 + d^2 v1, |d| <= half
        n_mid = s.n0 + mid * s.n1
        n_slack = half * np.abs(s.n1) + _SAFE_RELATIVE * (np.abs(s.n0) + reach * np.abs(s.n1))
        v_mid = s.v0 + 2.0 * mid * s.v01 + mid * mid * s.v1
        slope = s.v01 + mid * s.v1
        v_slack = 2.0 * half * np.abs(slope) + half * half * np.abs(s.v1)
        v_slack += _SAFE_RELATIVE * (
            np.abs(s.v0) + 2 * reach * np.abs(s.v01) + reach**2 * np.abs(s.v1)
        )
        n_low = np.maximum(np.abs(n_mid) - n_slack, 0.0)
        n_high = np.abs(n_mid) + n_slack
        v_low, v_high = v_mid - v_slack, v_mid + v_slack
        # observed |estimate - r| on the bracket, and the tie factor of count_extreme
        e_mid = abs(self.estimate - mid)
        e_slack = half + _SAFE_RELATIVE * (abs(self.estimate) + reach)
        e_low, e_high = max(e_mid - e_slack, 0.0), e_mid + e_slack
        k2 = (1.0 + TIE_RTOL) ** 2 / self.se**2
        positive = v_low > 0
        above = positive & (n_low**2 > k2 * e_high**2 * v_high * (1 + _SAFE_MARGIN))
        below = positive & (n_high**2 * (1 + _SAFE_MARGIN) < k2 * e_low**2 * v_low)
        live = ~(above | below)
        self.settled += int(np.count_nonzero(above))
        self.live = AffineStatistic(
            n0=s.n0[live], n1=s.n1[live], v0=s.v0[live], v01=s.v01[live], v1=s.v1[live]
        )

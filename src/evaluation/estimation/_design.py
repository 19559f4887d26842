"""The prepared regression design: sample selection, formula terms and absorbed fixed effects.

Everything an estimator or an inference backend needs is computed once here and kept in the
frozen :class:`_Design`: the outcome and regressors residualised on the absorbed fixed effects
(Frisch-Waugh-Lovell), integer cluster codes, the weights and their kind, the demeaning function
(to residualise permuted or bootstrapped columns the same way), and the number of parameters ``K``
that enters the small-sample factors.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import formulaic
import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

WEIGHTS_KINDS = ("analytic", "sampling", "frequency")
_DEMEAN_TOL = 1e-10
_DEMEAN_MAXITER = 100_000
_COLLINEAR_TOL = 1e-10
_CATEGORY_TERM = re.compile(r"^C\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)$")


@dataclass(frozen=True)
class _FixedEffect:
    """One absorbed factor: integer codes, its number of levels and nesting in the clusters."""

    name: str
    codes: np.ndarray
    n_levels: int
    nested: bool


@dataclass(frozen=True)
class _Design:
    """A prepared weighted least-squares design, ready for any variance or inference backend.

    Attributes
    ----------
    y, X : numpy.ndarray
        Outcome ``(N,)`` and regressors ``(N, p)`` residualised on the absorbed fixed effects
        (weighted demeaning); not multiplied by the weights.
    y_raw, X_raw : numpy.ndarray
        The same before demeaning (an intercept column is included when no fixed effect is).
    names : tuple of str
        Column names of ``X``.
    focal : int
        Index of the treatment column in ``X``.
    weights : numpy.ndarray or None
        Positive weights ``(N,)``; ``None`` for unweighted fits.
    weights_kind : str
        ``"analytic"``, ``"sampling"`` or ``"frequency"``.
    clusters : numpy.ndarray or None
        Integer cluster codes ``0..G-1``.
    cluster_labels : numpy.ndarray or None
        The sorted cluster identifiers: code ``g`` stands for ``cluster_labels[g]`` (so
        resampling draws can be shared by label across outcomes with different samples).
    cluster_name : str or None
        The cluster column.
    fixed_effects : tuple of _FixedEffect
        The absorbed factors (after singleton removal), with their nesting in the clusters.
    demean : callable
        ``demean(a)`` residualises an ``(N,)`` or ``(N, k)`` array on the fixed effects with the
        design's weights (identity when there are none).
    k_fe : int
        Degrees of freedom absorbed by the fixed effects (levels minus redundancies).
    k_fe_clustered : int
        The same with each factor nested in the clusters counted as one (fixest convention).
    index : pandas.Index
        Row labels of the estimation sample in the input frame.
    treatment : numpy.ndarray
        The raw treatment column on the estimation sample.
    outcome : str
        The outcome column.
    n_dropped_missing, n_dropped_singletons : int
        Rows dropped for missing values and as fixed-effect singletons.
    notes : tuple of str
        What was dropped or changed, in plain words.
    cache : dict
        Pieces computed from the design alone (cluster sums, fixed-effect bases, CR2
        adjustments), kept so that every fit and inference on the design computes them once.
    """

    y: np.ndarray
    X: np.ndarray
    y_raw: np.ndarray
    X_raw: np.ndarray
    names: tuple[str, ...]
    focal: int
    weights: np.ndarray | None
    weights_kind: str
    clusters: np.ndarray | None
    cluster_name: str | None
    fixed_effects: tuple[_FixedEffect, ...]
    demean: Callable[[np.ndarray], np.ndarray] = field(repr=False)
    k_fe: int
    k_fe_clustered: int
    index: pd.Index = field(repr=False)
    treatment: np.ndarray = field(repr=False)
    outcome: str = ""
    n_dropped_missing: int = 0
    n_dropped_singletons: int = 0
    notes: tuple[str, ...] = ()
    cluster_labels: np.ndarray | None = field(default=None, repr=False)
    cache: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def nobs(self) -> int:
        """Rows in the estimation sample."""
        return int(self.y.shape[0])

    @property
    def n_effective(self) -> float:
        """Observations for small-sample factors: rows, or the weight sum for frequency weights."""
        if self.weights is not None and self.weights_kind == "frequency":
            return float(self.weights.sum())
        return float(self.nobs)

    @property
    def n_clusters(self) -> int | None:
        """Number of clusters, or ``None`` when unclustered."""
        return None if self.clusters is None else int(self.clusters.max()) + 1

    def k(self, clustered: bool) -> int:
        """Parameters counted in small-sample factors: regressors plus fixed-effect levels.

        Parameters
        ----------
        clustered : bool
            Whether the variance is clustered (fixed effects nested in the clusters then count
            as one each).

        Returns
        -------
        int
            ``p + k_fe`` or ``p + k_fe_clustered``.
        """
        return self.X.shape[1] + (self.k_fe_clustered if clustered else self.k_fe)


def _check_columns(data: pd.DataFrame, role_columns: Sequence[tuple[str, str | None]]) -> None:
    for role, column in role_columns:
        if column is not None and column not in data.columns:
            msg = f"{role} column {column!r} not found in the data"
            raise KeyError(msg)


def _is_numeric(values: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values)


def _category_column(term: str, data: pd.DataFrame) -> str | None:
    """Return the column of a term ``C(column)`` that :func:`_category_dummies` codes, or None.

    Covered: integer or float columns (not boolean) and text columns (``str`` dtype, or object
    columns holding only strings); anything else goes to formulaic.
    """
    match = _CATEGORY_TERM.match(term)
    if match is None or match.group(1) not in data.columns:
        return None
    values = data[match.group(1)]
    dtype = values.dtype
    if isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_bool_dtype(dtype):
        return None
    if pd.api.types.is_integer_dtype(dtype) or pd.api.types.is_float_dtype(dtype):
        return match.group(1)
    if pd.api.types.is_string_dtype(dtype) and all(
        isinstance(v, str) for v in pd.unique(values.dropna())
    ):
        return match.group(1)
    return None


def _category_dummies(values: pd.Series, column: str) -> tuple[np.ndarray, list[str]]:
    """Treatment-coded dummies of ``C(column)`` exactly as formulaic builds them.

    The levels are the sorted distinct values present; the first is the reference and every
    other level gets a 0/1 column named ``C(column)[T.level]``.
    """
    levels = sorted(pd.unique(values).tolist())
    array = values.to_numpy()
    columns = [(array == level).astype(float) for level in levels[1:]]
    names = [f"C({column})[T.{level}]" for level in levels[1:]]
    return np.column_stack(columns).reshape(len(values), len(columns)), names


def _split_terms(
    terms: Sequence[str], data: pd.DataFrame
) -> tuple[list[str], str, list[str], list[str] | None]:
    """Split covariates into numeric columns used as they are and formula terms.

    Returns the plain numeric columns, the right-hand side formula of the other terms (with an
    intercept, so categorical terms get reduced-rank coding), every data column needed and,
    when every formula term is a plain ``C(column)`` that :func:`_category_dummies` codes
    exactly as formulaic would, those columns (``None`` otherwise: formulaic builds them).
    """
    plain = [t for t in terms if t in data.columns and _is_numeric(data[t])]
    formula_terms = [t for t in terms if t not in plain]
    rhs = "1 + " + " + ".join(formula_terms) if formula_terms else "1"
    categories = [_category_column(t, data) for t in formula_terms]
    if all(c is not None for c in categories):
        return plain, rhs, list(dict.fromkeys([*plain, *categories])), categories
    try:
        needed = sorted(formulaic.Formula(rhs).required_variables)
    except Exception as err:  # formulaic raises several parser error types
        msg = f"could not parse covariate terms {formula_terms!r}: {err}"
        raise ValueError(msg) from err
    missing = [v for v in needed if v not in data.columns]
    if missing:
        msg = f"covariate column(s) {missing!r} (from terms {list(terms)!r}) not found in the data"
        raise KeyError(msg)
    return plain, rhs, list(dict.fromkeys([*plain, *needed])), None


def levels_of(data: pd.DataFrame, column: str, role: str) -> list:
    """Return the sorted distinct non-missing values of a grouping column (at least two).

    Parameters
    ----------
    data : pandas.DataFrame
        The data.
    column : str
        The grouping column (arms, subgroups).
    role : str
        What the column is, for error messages.

    Returns
    -------
    list
        The sorted values.

    Raises
    ------
    KeyError
        The column is missing.
    ValueError
        Fewer than two distinct values.
    """
    if column not in data.columns:
        msg = f"{role} column {column!r} not found in the data"
        raise KeyError(msg)
    levels = sorted(pd.unique(data[column].dropna()).tolist())
    if len(levels) < 2:
        msg = f"{role} column {column!r} needs at least two values; found {levels}"
        raise ValueError(msg)
    return levels


def _factorize(values: pd.Series) -> tuple[np.ndarray, int]:
    """Integer codes 0..L-1 for any hashable column (string, categorical, integer, float)."""
    codes, uniques = pd.factorize(values, sort=True)
    return codes.astype(np.intp), len(uniques)


def _group_weights(codes: np.ndarray, n_levels: int, weights: np.ndarray | None) -> np.ndarray:
    if weights is None:
        return np.bincount(codes, minlength=n_levels).astype(float)
    return np.bincount(codes, weights=weights, minlength=n_levels)


def make_demeaner(
    codes: Sequence[np.ndarray],
    n_levels: Sequence[int],
    weights: np.ndarray | None,
    tol: float = _DEMEAN_TOL,
    maxiter: int = _DEMEAN_MAXITER,
) -> Callable[[np.ndarray], np.ndarray]:
    """Return a function that residualises arrays on one or several factors.

    Parameters
    ----------
    codes : sequence of numpy.ndarray
        Integer codes ``0..L-1`` of each factor.
    n_levels : sequence of int
        Number of levels of each factor.
    weights : numpy.ndarray or None
        Observation weights for weighted group means.
    tol : float
        Convergence tolerance of the alternating projections: the largest absolute change in
        a sweep relative to the column's scale (``max(1, max|a|)``).
    maxiter : int
        Sweeps before giving up (raises ``RuntimeError``).

    Returns
    -------
    callable
        ``demean(a)`` for ``a`` of shape ``(N,)`` or ``(N, k)``, returning a new array.

    Notes
    -----
    One factor: exact one-pass weighted demeaning ``a_i - sum_{j in g(i)} w_j a_j / W_g``.
    Several factors: alternating projections (method of alternating projections, Gaure 2013),
    sweeping the factors in turn until a whole sweep changes no entry by more than ``tol``.
    """
    codes = [np.asarray(c, dtype=np.intp) for c in codes]
    totals = [_group_weights(c, n, weights) for c, n in zip(codes, n_levels, strict=True)]

    def _sweep_one(column: np.ndarray, c: np.ndarray, n: int, total: np.ndarray) -> np.ndarray:
        source = column if weights is None else column * weights
        means = np.bincount(c, weights=source, minlength=n) / total
        return column - means[c]

    def _demean_column(column: np.ndarray) -> np.ndarray:
        out = np.array(column, dtype=float)
        if not codes:
            return out
        if len(codes) == 1:
            return _sweep_one(out, codes[0], n_levels[0], totals[0])
        scale = max(1.0, float(np.max(np.abs(out))) if out.size else 1.0)
        for _ in range(maxiter):
            before = out
            for c, n, total in zip(codes, n_levels, totals, strict=True):
                out = _sweep_one(out, c, n, total)
            if np.max(np.abs(out - before)) <= tol * scale:
                return out
        msg = f"fixed-effect demeaning did not converge in {maxiter} sweeps (tolerance {tol})"
        raise RuntimeError(msg)

    def _demean(a: np.ndarray) -> np.ndarray:
        a = np.asarray(a, dtype=float)
        if a.ndim == 1:
            return _demean_column(a)
        return np.column_stack([_demean_column(a[:, j]) for j in range(a.shape[1])])

    return _demean


def _drop_singletons(codes: list[np.ndarray]) -> np.ndarray:
    """Boolean mask of rows kept after iteratively removing fixed-effect singletons."""
    keep = np.ones(codes[0].shape[0], dtype=bool)
    while True:
        bad = np.zeros_like(keep)
        for c in codes:
            counts = np.bincount(c[keep], minlength=int(c.max()) + 1)
            bad |= keep & (counts[c] == 1)
        if not bad.any():
            return keep
        keep &= ~bad


def _fe_dof(fes: Sequence[_FixedEffect]) -> int:
    """Degrees of freedom absorbed by the factors: levels minus redundant constants.

    The first two factors are counted exactly (one redundancy per connected component of
    their bipartite graph); each further factor loses one level (fixest/pyfixest convention).
    """
    if not fes:
        return 0
    total = sum(fe.n_levels for fe in fes)
    if len(fes) == 1:
        return total
    a, b = fes[0], fes[1]
    n = a.n_levels + b.n_levels
    edges = coo_matrix(
        (np.ones(a.codes.shape[0]), (a.codes, b.codes + a.n_levels)), shape=(n, n)
    ).tocsr()
    n_components, _ = connected_components(edges, directed=False)
    return total - n_components - (len(fes) - 2)


def _is_nested(fe_codes: np.ndarray, n_levels: int, clusters: np.ndarray) -> bool:
    """Whether every level of the factor lies within a single cluster."""
    first = np.empty(n_levels, dtype=clusters.dtype)
    first[fe_codes[::-1]] = clusters[::-1]  # the last write wins: each level's first cluster
    return bool(np.array_equal(first[fe_codes], clusters))


def _independent_columns(XtX: np.ndarray, order: Sequence[int]) -> list[int]:
    """Columns kept by a sequential (in ``order``) Cholesky check for collinearity."""
    kept: list[int] = []
    for j in order:
        diag = XtX[j, j]
        if diag <= 0:
            continue
        if kept:
            sub = XtX[np.ix_(kept, kept)]
            cross = XtX[kept, j]
            resid = diag - cross @ np.linalg.solve(sub, cross)
        else:
            resid = diag
        if resid > _COLLINEAR_TOL * diag:
            kept.append(j)
    return kept


def prepare_design(
    data: pd.DataFrame,
    outcome: str,
    treatment: str,
    *,
    covariates: Sequence[str] = (),
    fixed_effects: Sequence[str] = (),
    cluster: str | None = None,
    weights: str | None = None,
    weights_kind: str = "analytic",
    subset: pd.Series | np.ndarray | None = None,
    lin: bool = False,
    extra_regressors: Sequence[str] = (),
    focal_role: str = "treatment",
) -> _Design:
    """Select the estimation sample and build the residualised design.

    Parameters
    ----------
    data : pandas.DataFrame
        Input rows; never modified.
    outcome, treatment : str
        Outcome and (numeric) treatment columns.
    covariates : sequence of str
        Column names or formulaic terms.
    fixed_effects : sequence of str
        Factors to absorb.
    cluster, weights : str or None
        Cluster and weight columns.
    weights_kind : str
        ``"analytic"``, ``"sampling"`` or ``"frequency"``.
    subset : array-like of bool or None
        Rows to use: a boolean Series with the index of ``data``, or an array in row order.
    lin : bool
        Interact the treatment with the centred covariates (Lin 2013).
    extra_regressors : sequence of str
        Further numeric columns entered right after the treatment, never dropped for
        collinearity (used for interaction designs).
    focal_role : str
        What the treatment column is called in error messages.

    Returns
    -------
    _Design
        The prepared design.

    Raises
    ------
    KeyError
        A named column is missing.
    ValueError
        Bad weights, a non-numeric, constant or collinear treatment, or no rows left.
    """
    if weights_kind not in WEIGHTS_KINDS:
        msg = f"weights_kind must be one of {WEIGHTS_KINDS}; got {weights_kind!r}"
        raise ValueError(msg)
    fixed_effects = list(fixed_effects)
    _check_columns(
        data,
        [("outcome", outcome), ("treatment", treatment), ("cluster", cluster)]
        + [("weights", weights)]
        + [("fixed-effect", fe) for fe in fixed_effects]
        + [("regressor", r) for r in extra_regressors],
    )
    plain, rhs, cov_vars, categories = _split_terms(list(covariates), data)
    for column in [outcome, treatment, *extra_regressors]:
        if not _is_numeric(data[column]):
            role = {outcome: "outcome", treatment: focal_role}.get(column, "regressor")
            msg = f"{role} column {column!r} must be numeric; found dtype {data[column].dtype}"
            raise ValueError(msg)

    used = list(
        dict.fromkeys(
            [outcome, treatment, *extra_regressors, *cov_vars, *fixed_effects]
            + ([cluster] if cluster else [])
            + ([weights] if weights else [])
        )
    )
    frame = data[used]  # only the columns the model uses travel through the row selections
    notes: list[str] = []
    if subset is not None:
        if isinstance(subset, pd.Series) and not subset.index.equals(data.index):
            msg = "subset must be a boolean Series with the same index as the data"
            raise ValueError(msg)
        mask = np.asarray(subset, dtype=bool)
        if mask.shape != (len(data),):
            msg = f"subset must be a boolean mask with {len(data)} entries; got shape {mask.shape}"
            raise ValueError(msg)
        frame = frame.loc[mask]

    missing = frame.isna().to_numpy()
    complete = ~missing.any(axis=1)
    n_missing = int((~complete).sum())
    if n_missing:
        where = list(dict.fromkeys(frame.columns[missing.any(axis=0)]))
        notes.append(f"dropped {n_missing} rows with missing values in {where}")
    frame = frame.loc[complete]
    if len(frame) == 0:
        msg = f"no rows left for outcome {outcome!r} after dropping rows with missing values"
        raise ValueError(msg)

    w = None
    if weights is not None:
        w = frame[weights].to_numpy(dtype=float)
        bad = w <= 0
        if bad.any():
            msg = (
                f"weights column {weights!r} must be positive; found {int(bad.sum())} zero or "
                f"negative values (e.g. {w[bad][:3].tolist()}); drop those rows explicitly"
            )
            raise ValueError(msg)
        if weights_kind == "frequency" and not np.allclose(w, np.round(w)):
            odd = w[w != np.round(w)][:3].tolist()
            msg = f"frequency weights {weights!r} must be whole numbers; found {odd}"
            raise ValueError(msg)

    factors = [_factorize(frame[fe]) for fe in fixed_effects]
    n_singletons = 0
    if fixed_effects:
        keep = _drop_singletons([c for c, _ in factors])
        n_singletons = int((~keep).sum())
        if n_singletons:
            notes.append(
                f"dropped {n_singletons} fixed-effect singleton rows (alone in a level of "
                f"{fixed_effects}); they are fit perfectly and carry no information"
            )
            frame = frame.loc[keep]
            w = None if w is None else w[keep]
            if len(frame) == 0:
                msg = "no rows left after dropping fixed-effect singletons"
                raise ValueError(msg)
            factors = [_factorize(frame[fe]) for fe in fixed_effects]

    t = frame[treatment].to_numpy(dtype=float)
    if np.unique(t).size < 2:
        msg = (
            f"{focal_role} column {treatment!r} is constant ({float(t[0])!r}) in the "
            f"estimation sample of {len(t)} rows; the effect is not identified"
        )
        raise ValueError(msg)

    clusters = cluster_labels = None
    if cluster is not None:
        clusters, cluster_labels = pd.factorize(frame[cluster], sort=True)
        clusters = clusters.astype(np.intp)
        cluster_labels = np.asarray(cluster_labels)

    fes: list[_FixedEffect] = []
    for fe, (c, n) in zip(fixed_effects, factors, strict=True):
        nested = clusters is not None and _is_nested(c, n, clusters)
        fes.append(_FixedEffect(fe, c, n, nested))
    demean = make_demeaner([f.codes for f in fes], [f.n_levels for f in fes], w)

    cov = frame[plain].to_numpy(dtype=float).reshape(len(frame), len(plain))
    formula_names: list[str] = []
    if categories is not None:  # only C(column) terms: coded directly, as formulaic would
        for column in dict.fromkeys(categories):
            dummies, dummy_names = _category_dummies(frame[column], column)
            cov = np.column_stack([cov, dummies])
            formula_names += dummy_names
    elif rhs != "1":  # other formula terms (plain numeric columns need no formula parsing)
        cov_matrix = formulaic.model_matrix(rhs, frame, na_action="raise")
        formula_names = [c for c in cov_matrix.columns if c != "Intercept"]
        cov = np.column_stack([cov, cov_matrix[formula_names].to_numpy(dtype=float)])
    cov_names = [*plain, *formula_names]
    if lin and cov.shape[1]:
        centre = np.average(cov, axis=0, weights=w)
        centred = cov - centre
        cov = np.column_stack([cov, t[:, None] * centred])
        cov_names = cov_names + [f"{treatment}:{c}_centred" for c in cov_names]
        notes.append("Lin (2013): treatment interacted with covariates centred on the sample mean")
    focal_block = np.column_stack([t] + [frame[r].to_numpy(dtype=float) for r in extra_regressors])
    focal_names = [treatment, *extra_regressors]
    intercept = [] if fes else [np.ones(len(frame))]
    X_raw = np.column_stack([focal_block, cov, *intercept])
    names = [*focal_names, *cov_names] + ([] if fes else ["Intercept"])
    y_raw = frame[outcome].to_numpy(dtype=float)
    X = demean(X_raw)
    y = demean(y_raw)

    XtX = (X * w[:, None]).T @ X if w is not None else X.T @ X
    n_focal = len(focal_names)
    controls = list(range(n_focal, X.shape[1]))
    intercept_first = controls[-1:] + controls[:-1] if not fes else controls
    kept_controls = _independent_columns(XtX, intercept_first)
    kept = _independent_columns(XtX, kept_controls + list(range(n_focal)))
    for j in range(n_focal):
        if j not in kept:
            absorbed = np.linalg.norm(X[:, j]) <= 1e-8 * max(1.0, np.linalg.norm(X_raw[:, j]))
            what = f"the fixed effects {fixed_effects}" if absorbed else "the covariates"
            msg = (
                f"{focal_role if j == 0 else 'regressor'} {names[j]!r} is collinear with "
                f"{what}; its effect is not identified"
            )
            raise ValueError(msg)
    dropped = [names[j] for j in controls if j not in kept_controls]
    if dropped:
        notes.append(f"dropped collinear covariate columns {dropped}")
    order = list(range(n_focal)) + sorted(kept_controls)
    X, X_raw = X[:, order], X_raw[:, order]
    names = [names[j] for j in order]

    k_fe = _fe_dof(fes)
    nested_levels = sum(f.n_levels for f in fes if f.nested)
    k_fe_clustered = k_fe - nested_levels + sum(1 for f in fes if f.nested)
    return _Design(
        y=y,
        X=X,
        y_raw=y_raw,
        X_raw=X_raw,
        names=tuple(names),
        focal=0,
        weights=w,
        weights_kind=weights_kind,
        clusters=clusters,
        cluster_name=cluster,
        fixed_effects=tuple(fes),
        demean=demean,
        k_fe=k_fe,
        k_fe_clustered=k_fe_clustered,
        index=frame.index,
        treatment=t,
        outcome=outcome,
        n_dropped_missing=n_missing,
        n_dropped_singletons=n_singletons,
        notes=tuple(notes),
        cluster_labels=cluster_labels,
    )

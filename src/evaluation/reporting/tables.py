"""Tables for people: tidy results and frames in, :class:`Table` values out (pure).

Every builder returns a :class:`Table`: the raw values of the cells, how they are displayed
(:class:`Column`), a caption and notes that say N, clusters, SE type and df and the data
source, and the structure the disclosure gate needs: which cells are counts, which counts a
binary mean implies, which statistics derive from which counts, and which counts add up to
which (margins). Nothing here is published directly: :func:`evaluation.reporting.disclosure.gate`
turns a :class:`Table` into the only thing writers accept.

Builders read the estimation layer's tidy outputs (``EffectEstimates.to_frame()``,
``balance_table``, ``did_table``) and, for descriptive tables, an analysis frame; they never
import the data stages.
"""

from __future__ import annotations

import dataclasses
import math
from collections import defaultdict
from collections.abc import Collection, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from evaluation.estimation import EffectEstimate, EffectEstimates, LeeBounds
from evaluation.estimation.multiple_testing import ADJUSTMENT_COLUMNS
from evaluation.reporting.text import (
    LANGUAGES,
    arm_label,
    df_text,
    estimates_note,
    label_for,
    round_label,
    span,
    text,
)

__all__ = [
    "ACROSS_SUFFIX",
    "ADJUSTMENT_LABELS",
    "ESTIMATOR_LABELS",
    "Column",
    "Quantity",
    "Table",
    "attrition_table",
    "balance_table",
    "capacity_gains_table",
    "descriptive_table",
    "did_table",
    "effects_table",
    "enterprise_table",
    "heterogeneity_table",
    "lee_bounds_table",
    "results_framework_table",
    "robustness_table",
]

#: A cell of a table's frame: (row position, frame column).
Cell = tuple[int, str]

#: Display names of the estimators, keyed by the ``EffectEstimate.estimator`` labels the
#: estimation layer and :mod:`evaluation.pipeline` give them.
ESTIMATOR_LABELS = {
    "ancova": "ANCOVA",
    "ancova-lin": "ANCOVA (Lin)",
    "ancova-weighted": "ANCOVA, propensity-weighted",
    "ancova-ipaw": "ANCOVA, attrition-weighted",
    "did": "DiD",
    "did-ipaw": "DiD, attrition-weighted",
    "did-ipw": "IPW DiD (Abadie)",
    "ipw-hajek": "IPW (Hajek)",
    "ipw-ht": "IPW (Horvitz-Thompson)",
    "aipw": "AIPW",
    "matching": "Matching",
    "ols": "OLS",
    "ols-lin": "OLS (Lin)",
    "subgroup": "Subgroup effect",
    "difference": "Subgroup difference",
}
#: Suffix of an adjustment computed across every primary outcome (one family of all of them).
ACROSS_SUFFIX = "_across"
_METHOD_LABELS = {
    "anderson": "Sharpened q (Anderson)",
    "romano_wolf": "Romano-Wolf p",
    "holm": "Holm p",
    "bonferroni": "Bonferroni p",
    "bh": "BH q",
}
#: Display names of the multiple-testing columns of ``EffectEstimates.to_frame()`` (the names
#: ``EffectEstimates.adjust`` gives them), within families and across them.
ADJUSTMENT_LABELS = {
    column + suffix: _METHOD_LABELS[method] + label
    for method, column in ADJUSTMENT_COLUMNS.items()
    for suffix, label in (("", ""), (ACROSS_SUFFIX, ", all families"))
}
KINDS = ("text", "count", "number", "se", "pvalue", "percent", "interval")


@dataclass(frozen=True)
class Column:
    """One displayed column of a table.

    Attributes
    ----------
    key : str
        Column identifier (unique in the table).
    label : str
        Header text.
    kind : str
        Display kind: ``"text"``, ``"count"``, ``"number"``, ``"se"`` (in parentheses),
        ``"pvalue"``, ``"percent"`` (a share shown x 100) or ``"interval"`` (two sources).
    sources : tuple of str
        Frame columns shown in this column; ``(key,)`` by default.
    group : str
        Spanning header over adjacent columns with the same group ('' for none).
    digits : int or None
        Decimals (by default chosen from the magnitude).
    """

    key: str
    label: str
    kind: str = "number"
    sources: tuple[str, ...] = ()
    group: str = ""
    digits: int | None = None

    def __post_init__(self) -> None:
        """Default the sources and check the kind."""
        if self.kind not in KINDS:
            msg = f"column {self.key!r}: kind must be one of {KINDS}; got {self.kind!r}"
            raise ValueError(msg)
        if not self.sources:
            object.__setattr__(self, "sources", (self.key,))
        expected = 2 if self.kind == "interval" else 1
        if len(self.sources) != expected:
            msg = f"column {self.key!r} ({self.kind}) needs {expected} source column(s)"
            raise ValueError(msg)


@dataclass(frozen=True)
class Quantity:
    """A count a table reveals, directly (a count cell) or implied (a binary mean times N).

    Attributes
    ----------
    id : Hashable
        Identifier used by margins and dependencies.
    value : int
        The count.
    cells : tuple of Cell
        The cells that together reveal it.
    hide : Cell
        The cell hidden to protect it.
    """

    id: Hashable
    value: int
    cells: tuple[Cell, ...]
    hide: Cell


@dataclass(frozen=True)
class Table:
    """A table ready for the disclosure gate: values, layout, caption and protection structure.

    Attributes
    ----------
    name : str
        File stem and identifier (``"balance"``, ``"effects_employability"``).
    title : str
        Caption text (the report adds the number).
    frame : pandas.DataFrame
        Raw cell values, one row per table row (a copy is kept).
    columns : tuple of Column
        Displayed columns, in order.
    notes : tuple of str
        Table notes: N, clusters, SE type and df, methods (empty notes are dropped).
    source : str
        Data source line (for example the data file hash, or the simulated demo world).
    quantities : tuple of Quantity
        Counts shown or implied by the table.
    margins : tuple of (Hashable, tuple of Hashable)
        ``(total, parts)``: the total quantity equals the sum of the parts.
    derived : Mapping of Cell to frozenset
        Statistic cells and the quantities they are computed from.
    language : str
        ``"en"`` or ``"zh"``.
    producer : str
        The function that built the table (for the manifest).
    variables : tuple of str
        Variables shown (for the stricter threshold of sensitive variables).
    row_group : str or None
        Frame column whose value starts a new panel of rows.
    """

    name: str
    title: str
    frame: pd.DataFrame
    columns: tuple[Column, ...]
    notes: tuple[str, ...]
    source: str
    quantities: tuple[Quantity, ...] = ()
    margins: tuple[tuple[Hashable, tuple[Hashable, ...]], ...] = ()
    derived: Mapping[Cell, frozenset] = field(default_factory=dict)
    language: str = "en"
    producer: str = ""
    variables: tuple[str, ...] = ()
    row_group: str | None = None

    def __post_init__(self) -> None:
        """Copy the frame, freeze the mappings and check that every reference exists."""
        frame = self.frame.reset_index(drop=True).copy()
        object.__setattr__(self, "frame", frame)
        object.__setattr__(self, "notes", tuple(n for n in self.notes if n))
        object.__setattr__(self, "columns", tuple(self.columns))
        object.__setattr__(self, "quantities", tuple(self.quantities))
        object.__setattr__(self, "margins", tuple(self.margins))
        object.__setattr__(self, "variables", tuple(self.variables))
        derived = {cell: frozenset(ids) for cell, ids in self.derived.items()}
        object.__setattr__(self, "derived", MappingProxyType(derived))
        if self.language not in LANGUAGES:
            msg = f"table {self.name!r}: language must be one of {LANGUAGES}"
            raise ValueError(msg)
        keys = [c.key for c in self.columns]
        if len(set(keys)) != len(keys):
            msg = f"table {self.name!r}: duplicate column keys"
            raise ValueError(msg)
        missing = sorted({s for c in self.columns for s in c.sources} - set(frame.columns))
        if self.row_group is not None and self.row_group not in frame.columns:
            missing.append(self.row_group)
        if missing:
            msg = f"table {self.name!r}: columns {missing} are not in its frame"
            raise ValueError(msg)
        ids = {q.id for q in self.quantities}
        cells = {(r, c) for r in range(len(frame)) for c in frame.columns}
        for q in self.quantities:
            if not set(q.cells) | {q.hide} <= cells:
                msg = f"table {self.name!r}: quantity {q.id!r} refers to cells outside the frame"
                raise ValueError(msg)
        referenced = {i for total, parts in self.margins for i in (total, *parts)}
        referenced |= {i for deps in derived.values() for i in deps}
        if not referenced <= ids:
            msg = f"table {self.name!r}: unknown quantities {sorted(map(str, referenced - ids))}"
            raise ValueError(msg)
        if not set(derived) <= cells:
            msg = f"table {self.name!r}: derived cells outside the frame"
            raise ValueError(msg)


class _Builder:
    """Collects rows and the protection structure of one table."""

    def __init__(self, source: str, language: str) -> None:
        self.source, self.language = source, language
        self.rows: list[dict[str, Any]] = []
        self.quantities: dict[Hashable, Quantity] = {}
        self.margins: list[tuple[Hashable, tuple[Hashable, ...]]] = []
        self.derived: dict[Cell, set[Hashable]] = defaultdict(set)

    def row(self, **values: Any) -> int:
        self.rows.append(values)
        return len(self.rows) - 1

    def count(self, r: int, column: str) -> Hashable | None:
        value = self.rows[r].get(column)
        if value is None or pd.isna(value):
            return None
        cell = (r, column)
        self.quantities[cell] = Quantity(cell, int(value), (cell,), cell)
        return cell

    def binary(self, r: int, mean: str, n: str) -> list[Hashable]:
        """Register the counts of ones and zeros a binary mean reveals with its N."""
        p, size = self.rows[r].get(mean), self.rows[r].get(n)
        if p is None or size is None or pd.isna(p) or pd.isna(size):
            return []
        ones = round(float(p) * int(size))
        out = []
        for which, value in (("ones", ones), ("zeros", int(size) - ones)):
            qid = (which, r, mean)
            self.quantities[qid] = Quantity(qid, value, ((r, mean), (r, n)), (r, mean))
            out.append(qid)
        return out

    def derive(self, r: int, columns: Iterable[str], ids: Iterable[Hashable | None]) -> None:
        keep = {i for i in ids if i is not None}
        for column in columns:
            if keep:
                self.derived[(r, column)] |= keep

    def margin(self, total: Hashable | None, parts: Sequence[Hashable | None]) -> None:
        if total is None or not parts or any(p is None for p in parts):
            return
        self.margins.append((total, tuple(parts)))

    def table(self, columns: Sequence[Column], notes: Sequence[str | None], **kw: Any) -> Table:
        """Build the table; the data-source note is added last."""
        frame = pd.DataFrame(self.rows)
        needed = [s for c in columns for s in c.sources] + [c for _, c in self.derived]
        for source in dict.fromkeys(needed):
            if source not in frame.columns:
                frame[source] = np.nan
        return Table(
            frame=frame,
            columns=tuple(columns),
            notes=(
                *[n for n in notes if n],
                text("note_source", self.language, source=self.source),
            ),
            source=self.source,
            language=self.language,
            quantities=tuple(self.quantities.values()),
            margins=tuple(self.margins),
            derived=dict(self.derived),
            **kw,
        )


def _check_columns(frame: pd.DataFrame, required: Iterable[str], what: str) -> None:
    missing = [c for c in required if c not in frame.columns]
    if missing:
        msg = f"{what}: missing columns {missing}; found {list(frame.columns)}"
        raise KeyError(msg)


def _is_binary_values(values: pd.Series) -> bool:
    observed = pd.unique(values.dropna())
    if len(observed) == 0:
        return False
    try:
        return set(np.asarray(observed, dtype=float).tolist()) <= {0.0, 1.0}
    except (TypeError, ValueError):
        return False


def _frame_of(estimates: EffectEstimates | pd.DataFrame) -> pd.DataFrame:
    if isinstance(estimates, EffectEstimates):
        return estimates.to_frame()
    if isinstance(estimates, pd.DataFrame):
        return estimates.reset_index(drop=True)
    msg = f"expected EffectEstimates or its to_frame(); got {type(estimates).__name__}"
    raise TypeError(msg)


# --- descriptive statistics ----------------------------------------------------------------


def _arm_key(arm: Any) -> str:
    return f"{arm:g}" if isinstance(arm, float) else str(arm)


def _cell_key(round_value: Any, arm: Any) -> str:
    return _arm_key(arm) if round_value is None else f"{round_value}|{_arm_key(arm)}"


def descriptive_table(
    data: pd.DataFrame,
    variables: Sequence[str],
    *,
    treatment: str,
    source: str,
    round: str | None = None,
    rounds: Sequence[Any] | None = None,
    cluster: str | None = None,
    total: bool = True,
    labels: Mapping[str, str] | None = None,
    language: str = "en",
    name: str = "descriptives",
    title: str | None = None,
) -> Table:
    """Tabulate means, SDs and N of each variable by arm and round.

    Parameters
    ----------
    data : pandas.DataFrame
        Analysis frame, one row per unit and round (long).
    variables : sequence of str
        Numeric variables, one table row each.
    treatment : str
        Arm column.
    source : str
        Data source for the note.
    round : str, optional
        Round column; without it the table has one round.
    rounds : sequence, optional
        Rounds in display order; by default in order of appearance.
    cluster : str, optional
        Cluster column: clusters per arm and round are given in the note.
    total : bool, optional
        Add the all-arms column per round.
    labels : Mapping of str to str, optional
        Variable (and ``"<treatment>=<arm>"``) labels in the table's language.
    language : {"en", "zh"}, optional
        Language of headers, caption and notes.
    name, title : str, optional
        Table name and caption.

    Returns
    -------
    Table
        One row per variable; per round and arm the mean, SD and N.

    Notes
    -----
    Reads the analysis frame; unit of a cell: non-missing values of one variable in one arm and
    round. SDs use n - 1. Means of 0/1 variables imply counts (mean x N); the gate protects
    them as counts, with the total column as their margin.
    """
    _check_columns(data, [treatment, *variables, *([round] if round else [])], "descriptive_table")
    arms = sorted(pd.unique(data[treatment].dropna()).tolist())
    if round is None:
        round_values: list[Any] = [None]
    else:
        round_values = list(rounds) if rounds is not None else list(pd.unique(data[round].dropna()))
    shown = [*arms, "total"] if total else arms
    columns = [Column("label", text("variable", language), "text")]
    for rd in round_values:
        for arm in shown:
            group = arm_label(arm, treatment, labels, language)
            if rd is not None:
                group = f"{round_label(rd, language)}: {group}"
            for stat in ("mean", "sd", "n"):
                kind = "count" if stat == "n" else "number"
                columns.append(
                    Column(f"{_cell_key(rd, arm)}|{stat}", text(stat, language), kind, group=group)
                )
    b = _Builder(source, language)
    for var in variables:
        binary = _is_binary_values(data[var])
        values: dict[str, Any] = {"variable": var, "label": label_for(var, labels)}
        for rd in round_values:
            in_round = data if rd is None else data.loc[data[round] == rd]
            for arm in shown:
                cell = in_round if arm == "total" else in_round.loc[in_round[treatment] == arm]
                x = pd.to_numeric(cell[var], errors="coerce").dropna().to_numpy(dtype=float)
                values[f"{_cell_key(rd, arm)}|mean"] = float(x.mean()) if x.size else math.nan
                values[f"{_cell_key(rd, arm)}|sd"] = (
                    float(x.std(ddof=1)) if x.size > 1 else math.nan
                )
                values[f"{_cell_key(rd, arm)}|n"] = int(x.size)
        r = b.row(**values)
        for rd in round_values:
            counts, ones, zeros = {}, {}, {}
            for arm in shown:
                key = _cell_key(rd, arm)
                counts[arm] = b.count(r, f"{key}|n")
                implied = b.binary(r, f"{key}|mean", f"{key}|n") if binary else []
                ones[arm], zeros[arm] = implied or (None, None)
                b.derive(r, [f"{key}|mean", f"{key}|sd"], [counts[arm]])
                b.derive(r, [f"{key}|sd"], implied)
            if total:
                for quantities in (counts, ones, zeros):
                    b.margin(quantities["total"], [quantities[a] for a in arms])
    notes = [
        (
            "Means and standard deviations (n - 1) of non-missing values by arm and round; "
            "N counts non-missing values."
        )
    ]
    if cluster is not None:
        _check_columns(data, [cluster], "descriptive_table")
        counts_text = []
        for rd in round_values:
            in_round = data if rd is None else data.loc[data[round] == rd]
            per_arm = ", ".join(
                f"{arm_label(a, treatment, labels, language)} "
                f"{in_round.loc[in_round[treatment] == a, cluster].nunique()}"
                for a in arms
            )
            prefix = "" if rd is None else f"{round_label(rd, language)}: "
            counts_text.append(prefix + per_arm)
        notes.append(text("note_clusters_by_arm", language, clusters="; ".join(counts_text)) + ".")
    return b.table(
        columns,
        name=name,
        title=title or text("title_descriptives", language),
        notes=notes,
        producer="evaluation.reporting.tables.descriptive_table",
        variables=tuple(variables),
    )


def enterprise_table(
    data: pd.DataFrame,
    variables: Sequence[str],
    *,
    treatment: str,
    source: str,
    round: str | None = None,
    labels: Mapping[str, str] | None = None,
    language: str = "en",
) -> Table:
    """Tabulate the enterprise indicators by arm and round.

    Parameters
    ----------
    data : pandas.DataFrame
        Enterprise analysis frame, one row per enterprise and round.
    variables : sequence of str
        Enterprise indicators (``hard_to_fill_rate``, ``skill_gap_share``, ...).
    treatment : str
        Arm column.
    source : str
        Data source for the note.
    round : str, optional
        Round column.
    labels : Mapping of str to str, optional
        Labels in the table's language.
    language : {"en", "zh"}, optional
        Language.

    Returns
    -------
    Table
        As :func:`descriptive_table`, named ``enterprise_indicators``.

    Notes
    -----
    Unit of observation: enterprise. Each enterprise is its own cluster, so no cluster note.
    """
    table = descriptive_table(
        data,
        variables,
        treatment=treatment,
        source=source,
        round=round,
        labels=labels,
        language=language,
        name="enterprise_indicators",
        title=text("title_enterprise", language),
    )
    return dataclasses.replace(table, producer="evaluation.reporting.tables.enterprise_table")


# --- balance -------------------------------------------------------------------------------


def _infer_binary(rows: pd.DataFrame) -> bool:
    """Return whether every arm's SD is that of a 0/1 variable with the arm's mean."""
    for _, row in rows.iterrows():
        p, sd, n = row["mean"], row["sd"], row["n"]
        if pd.isna(p) or not 0 <= p <= 1:
            return False
        if n > 1 and not pd.isna(sd):
            expected = p * (1 - p) * n / (n - 1)
            if not math.isclose(sd**2, expected, rel_tol=1e-9, abs_tol=1e-12):
                return False
    return True


def _short_denominator(description: str) -> str:
    for stop in (" sqrt(", " ("):
        if stop in description:
            return description.split(stop, maxsplit=1)[0]
    return description


def balance_table(
    balance: pd.DataFrame,
    *,
    source: str,
    treatment: str = "treatment",
    joint: pd.DataFrame | None = None,
    binary: Collection[str] | None = None,
    labels: Mapping[str, str] | None = None,
    language: str = "en",
    name: str = "balance",
    title: str | None = None,
) -> Table:
    """Lay out the estimation layer's balance frame as an iebaltab-style table.

    Parameters
    ----------
    balance : pandas.DataFrame
        Output of :func:`evaluation.estimation.balance_table` (long: variable x arm).
    source : str
        Data source for the note.
    treatment : str, optional
        Arm column name (for ``"<treatment>=<arm>"`` labels).
    joint : pandas.DataFrame, optional
        Output of :func:`evaluation.estimation.joint_orthogonality_test`, reported in a note.
    binary : collection of str, optional
        0/1 variables. By default a variable counts as binary when every arm's SD equals
        ``sqrt(p (1 - p) n / (n - 1))`` for its mean ``p`` (exact for unweighted 0/1 data; pass
        the list explicitly for weighted data).
    labels : Mapping of str to str, optional
        Variable and arm labels in the table's language.
    language : {"en", "zh"}, optional
        Language.
    name, title : str, optional
        Table name and caption.

    Returns
    -------
    Table
        One row per variable: mean, SD, N and clusters per arm (control first, then each arm,
        then the total when present), and per non-control arm the regression difference, its
        SE and p-value (when computed), the normalised difference with its denominator named
        in the header, and the variance ratio.

    Notes
    -----
    Unit of a cell: non-missing values of one variable in one arm. Statistics comparing two
    arms depend on the counts (and, for binary variables, the implied counts) of both.
    """
    _check_columns(balance, ["variable", "arm", "is_control", "mean", "sd", "n"], "balance_table")
    variables = list(pd.unique(balance["variable"]))
    control = balance.loc[balance["is_control"].astype(bool), "arm"].iloc[0]
    arms = [a for a in pd.unique(balance["arm"]) if a not in (control, "total")]
    has_total = bool((balance["arm"] == "total").any())
    with_p = "pvalue" in balance.columns
    denominators = balance.get("smd_denominator", pd.Series(dtype=object)).dropna().unique()
    smd_label = text("smd", language)
    if len(denominators) == 1:
        smd_label = f"{smd_label} ({_short_denominator(str(denominators[0]))})"
    shown = [control, *arms, *(["total"] if has_total else [])]
    with_clusters = "n_clusters" in balance.columns and balance["n_clusters"].notna().any()
    columns = [Column("label", text("variable", language), "text")]
    for arm in shown:
        k, group = _arm_key(arm), arm_label(arm, treatment, labels, language)
        columns += [
            Column(f"{k}|mean", text("mean", language), group=group),
            Column(f"{k}|sd", text("sd", language), "se", group=group),
            Column(f"{k}|n", text("n", language), "count", group=group),
        ]
        if with_clusters:
            columns.append(
                Column(f"{k}|clusters", text("clusters", language), "count", group=group)
            )
    compared = [("difference", "difference", "number"), ("se", "se", "se")]
    compared += [("pvalue", "pvalue", "pvalue"), ("smd", "smd", "number")]
    compared += [("vr", "variance_ratio", "number")]
    for arm in arms:
        k = _arm_key(arm)
        group = (
            f"{arm_label(arm, treatment, labels, language)} - "
            f"{arm_label(control, treatment, labels, language)}"
        )
        for suffix, label, kind in compared:
            if suffix in ("se", "pvalue") and not with_p:
                continue
            if suffix == "vr" and "variance_ratio" not in balance.columns:
                continue
            shown_label = smd_label if suffix == "smd" else text(label, language)
            columns.append(Column(f"{k}|{suffix}", shown_label, kind, group=group))
    sources = {"difference": "difference", "smd": "smd", "vr": "variance_ratio"}
    sources |= {"se": "std_error", "pvalue": "pvalue"} if with_p else {}
    b = _Builder(source, language)
    for var in variables:
        rows = balance.loc[balance["variable"] == var]
        by_arm = {row["arm"]: row for _, row in rows.iterrows()}
        is_binary = (
            var in set(binary)
            if binary is not None
            else _infer_binary(rows.loc[rows["arm"] != "total"])
        )
        values: dict[str, Any] = {"variable": var, "label": label_for(var, labels)}
        for arm in shown:
            k, row = _arm_key(arm), by_arm[arm]
            values |= {f"{k}|mean": row["mean"], f"{k}|sd": row["sd"], f"{k}|n": row["n"]}
            values[f"{k}|clusters"] = row.get("n_clusters", math.nan)
        for arm in arms:
            k, row = _arm_key(arm), by_arm[arm]
            values |= {f"{k}|{suffix}": row.get(col, math.nan) for suffix, col in sources.items()}
        r = b.row(**values)
        quantities: dict[Any, list[Hashable | None]] = {}
        for arm in shown:
            k = _arm_key(arm)
            n_id = b.count(r, f"{k}|n")
            implied = b.binary(r, f"{k}|mean", f"{k}|n") if is_binary else []
            quantities[arm] = [n_id, *implied]
            b.derive(r, [f"{k}|mean", f"{k}|sd"], [n_id])
            b.derive(r, [f"{k}|sd"], implied)
        for arm in arms:
            cells = [f"{_arm_key(arm)}|{suffix}" for suffix in sources]
            b.derive(r, cells, quantities[arm] + quantities[control])
        if has_total:
            for position in range(len(quantities["total"])):
                parts = [quantities[a][position] for a in [control, *arms]]
                b.margin(quantities["total"][position], parts)
    notes = []
    if with_p:
        vcov = ", ".join(sorted(set(balance["vcov"].dropna().astype(str))))
        notes.append(
            "Difference: coefficient on the arm indicator from a regression of the variable on it "
            "(with the fixed effects and covariates used, if any); "
            + text("note_se", language, vcov=vcov, df=df_text(balance["df"]))
            + "."
        )
    if len(denominators):
        described = "; ".join(str(d) for d in denominators)
        notes.append(f"Normalised difference: (mean_arm - mean_control) / {described}.")
    if joint is not None and len(joint):
        for _, row in joint.iterrows():
            clusters = (
                "" if pd.isna(row.get("n_clusters")) else f", {int(row['n_clusters'])} clusters"
            )
            notes.append(
                f"Joint orthogonality test ({arm_label(row['arm'], treatment, labels, language)} "
                f"vs {arm_label(row['control'], treatment, labels, language)}): "
                f"F({row['df_num']:g}, {row['df_denom']:g}) = {row['f_statistic']:.3f}, "
                f"p = {row['pvalue']:.3f}; N = {int(row['nobs']):,}{clusters}; "
                f"{row['vcov']}; missing values: {row['missing']}."
            )
    return b.table(
        columns,
        name=name,
        title=title or text("title_balance", language),
        notes=notes,
        producer="evaluation.reporting.tables.balance_table",
        variables=tuple(variables),
    )


# --- attrition -----------------------------------------------------------------------------


def attrition_table(
    data: pd.DataFrame,
    *,
    treatment: str,
    response: str,
    source: str,
    differential: EffectEstimate | None = None,
    labels: Mapping[str, str] | None = None,
    language: str = "en",
    name: str = "attrition",
) -> Table:
    """Tabulate attrition by arm, with the test of differential attrition.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per unit interviewed at baseline, with its arm and a 0/1 endline response
        indicator.
    treatment : str
        Arm column.
    response : str
        0/1 column: interviewed at endline.
    source : str
        Data source for the note.
    differential : EffectEstimate, optional
        The regression of attrition (1 - response) on treatment from the estimation layer;
        shown on the treatment row as the difference in attrition rates (percentage points).
    labels : Mapping of str to str, optional
        Labels.
    language : {"en", "zh"}, optional
        Language.
    name : str, optional
        Table name.

    Returns
    -------
    Table
        One row per arm and a total row: baseline N, interviewed, attrited, attrition rate.

    Notes
    -----
    Unit: baseline respondent. Every row satisfies baseline = interviewed + attrited and the
    total row is the sum of the arms: the gate uses both as margins.
    """
    _check_columns(data, [treatment, response], "attrition_table")
    values = pd.to_numeric(data[response], errors="coerce")
    if not _is_binary_values(values) or values.isna().any():
        msg = f"attrition_table: {response!r} must be 0/1 for every baseline unit"
        raise ValueError(msg)
    arms = sorted(pd.unique(data[treatment].dropna()).tolist())
    columns = [
        Column("label", text("arm", language), "text"),
        Column("baseline", text("baseline_n", language), "count"),
        Column("followed", text("followed_n", language), "count"),
        Column("attrited", text("attrited_n", language), "count"),
        Column("rate", text("attrition_rate", language), "percent"),
    ]
    if differential is not None:
        group = text("difference", language)
        columns += [
            Column("diff", f"{group} (pp)", "percent", group=group),
            Column("diff_se", text("se", language), "se", group=group, digits=1),
            Column("diff_p", text("pvalue", language), "pvalue", group=group),
        ]
    b = _Builder(source, language)
    ids: dict[Any, tuple] = {}
    for arm in [*arms, "total"]:
        rows = data if arm == "total" else data.loc[data[treatment] == arm]
        n = len(rows)
        followed = int(pd.to_numeric(rows[response]).sum())
        r = b.row(
            arm=arm,
            label=arm_label(arm, treatment, labels, language),
            baseline=n,
            followed=followed,
            attrited=n - followed,
            rate=(n - followed) / n if n else math.nan,
        )
        ids[arm] = (b.count(r, "baseline"), b.count(r, "followed"), b.count(r, "attrited"))
        b.margin(ids[arm][0], ids[arm][1:])
        b.derive(r, ["rate"], [ids[arm][0], ids[arm][2]])
    for position in range(3):
        b.margin(ids["total"][position], [ids[a][position] for a in arms])
    notes = ["Attrition: baseline respondents not interviewed at endline."]
    if differential is not None:
        treated_row = next(i for i, row in enumerate(b.rows) if row["arm"] == arms[-1])
        b.rows[treated_row] |= {
            "diff": differential.effect,
            "diff_se": differential.std_error * 100,
            "diff_p": differential.pvalue,
        }
        every = [i for arm in arms for i in ids[arm]]
        b.derive(treated_row, ["diff", "diff_se", "diff_p"], every)
        notes.append(
            "Difference: regression of attrition on the treatment indicator ("
            f"{differential.estimator}); "
            + estimates_note(EffectEstimates((differential,)).to_frame(), language)
        )
    return b.table(
        columns,
        name=name,
        title=text("title_attrition", language),
        notes=notes,
        producer="evaluation.reporting.tables.attrition_table",
        variables=(response,),
    )


# --- effects -------------------------------------------------------------------------------


def _adjustment_columns(frame: pd.DataFrame, estimates: EffectEstimates | pd.DataFrame) -> list:
    """Multiple-testing columns with a value in ``frame`` (never ``pvalue_cr1`` and the like)."""
    if isinstance(estimates, EffectEstimates):
        named = list(estimates.adjustments)
    else:
        named = [c for c in frame.columns if c in ADJUSTMENT_LABELS]
    return [c for c in named if c in frame.columns and frame[c].notna().any()]


def effects_table(
    estimates: EffectEstimates | pd.DataFrame,
    *,
    source: str,
    family: str | None = None,
    estimator: str | None = None,
    families: Mapping[str, str] | None = None,
    labels: Mapping[str, str] | None = None,
    language: str = "en",
    name: str | None = None,
) -> Table:
    """Tabulate the main (full-sample) effects, grouped by outcome family.

    Parameters
    ----------
    estimates : EffectEstimates or pandas.DataFrame
        Results of the estimation layer (or their ``to_frame()``), with multiple-testing
        adjustments when computed.
    source : str
        Data source for the note.
    family : str, optional
        Show one family only.
    estimator : str, optional
        Estimator to show; by default the estimator of the first full-sample row (one
        estimator per table: see :func:`robustness_table` to compare them).
    families : Mapping of str to str, optional
        Family names to display labels.
    labels : Mapping of str to str, optional
        Outcome labels.
    language : {"en", "zh"}, optional
        Language.
    name : str, optional
        Table name (``effects`` or ``effects_<family>`` by default).

    Returns
    -------
    Table
        One row per outcome: control mean, effect, SE, confidence interval, p-value, every
        adjusted p- or q-value present, N and clusters; rows grouped by family.

    Raises
    ------
    ValueError
        No full-sample estimate matches.

    Notes
    -----
    Every statistic of a row depends on the row's N (a row with a small N is suppressed).
    """
    frame = _frame_of(estimates)
    rows = frame.loc[frame["subgroup"].isna()] if "subgroup" in frame else frame
    if estimator is None and len(rows):
        estimator = str(rows["estimator"].iloc[0])
    rows = rows.loc[rows["estimator"] == estimator]
    if family is not None:
        rows = rows.loc[rows["family"] == family]
    if rows.empty:
        msg = f"effects_table: no full-sample {estimator!r} estimates (family {family!r})"
        raise ValueError(msg)
    adjustments = _adjustment_columns(rows, estimates)
    group = text("ci", language)
    columns = [
        Column("label", text("outcome", language), "text"),
        Column("control_mean", text("control_mean", language)),
        Column("effect", text("effect", language)),
        Column("std_error", text("se", language), "se"),
        Column("ci", group, "interval", sources=("ci_lower", "ci_upper")),
        Column("pvalue", text("pvalue", language), "pvalue"),
    ]
    columns += [Column(a, ADJUSTMENT_LABELS.get(a, a), "pvalue") for a in adjustments]
    columns += [Column("nobs", text("n", language), "count")]
    if rows["n_clusters"].notna().any():
        columns.append(Column("n_clusters", text("clusters", language), "count"))
    b = _Builder(source, language)
    keep = ["control_mean", "effect", "std_error", "ci_lower", "ci_upper", "pvalue", *adjustments]
    for _, row in rows.iterrows():
        fam = row.get("family")
        fam_label = "" if fam is None or pd.isna(fam) else (families or {}).get(fam, fam)
        r = b.row(
            outcome=row["outcome"],
            label=label_for(row["outcome"], labels),
            family=fam,
            family_label=fam_label,
            nobs=row["nobs"],
            n_clusters=row["n_clusters"],
            **{k: row[k] for k in keep},
        )
        b.derive(r, keep, [b.count(r, "nobs")])
    notes = [
        text("note_estimator", language, estimator=ESTIMATOR_LABELS.get(estimator, estimator))
        + "; "
        + estimates_note(rows, language)
    ]
    if adjustments:
        described = ", ".join(ADJUSTMENT_LABELS.get(a, a) for a in adjustments)
        notes.append(
            f"Adjusted for multiple testing: {described} (within the families of the plan, and "
            "across all of them where said)."
        )
    if family is not None:
        fam_label = (families or {}).get(family, family)
        title = text("title_effects", language, family=fam_label)
    else:
        title = text("title_effects_all", language)
    return b.table(
        columns,
        name=name or (f"effects_{family}" if family else "effects"),
        title=title,
        notes=notes,
        producer="evaluation.reporting.tables.effects_table",
        variables=tuple(rows["outcome"]),
        row_group=None if family is not None else "family_label",
    )


def _split_subgroup(label: str) -> tuple[str, list[str]]:
    """Return the subgroup column and the level labels of a subgroup or difference row."""
    parts = [p.strip() for p in label.split(" - ")]
    return parts[0].split("=", 1)[0], parts


def heterogeneity_table(
    estimates: EffectEstimates | pd.DataFrame,
    *,
    source: str,
    labels: Mapping[str, str] | None = None,
    language: str = "en",
    name: str = "heterogeneity",
) -> Table:
    """Tabulate subgroup effects and the tests of their differences.

    Parameters
    ----------
    estimates : EffectEstimates or pandas.DataFrame
        Results holding ``estimator == "subgroup"`` and ``"difference"`` rows (from
        :func:`evaluation.estimation.heterogeneity` or ``estimate_effects`` with subgroups).
    source : str
        Data source for the note.
    labels : Mapping of str to str, optional
        Outcome, subgroup-column and ``"<column>=<value>"`` labels.
    language : {"en", "zh"}, optional
        Language.
    name : str, optional
        Table name.

    Returns
    -------
    Table
        Per outcome and subgroup dimension: one row per subgroup (effect, SE, p, control mean,
        N, clusters) and one per difference from the reference subgroup (with the joint test
        when there are three or more subgroups).

    Raises
    ------
    ValueError
        No subgroup rows.

    Notes
    -----
    The pooled model's N (shown on difference rows) is the sum of the subgroup Ns: the gate
    uses it as a margin, so one small subgroup suppresses the others' N too. A difference
    depends on the counts of both subgroups; the joint test on every subgroup's count.
    """
    frame = _frame_of(estimates)
    rows = frame.loc[frame["estimator"].isin(["subgroup", "difference"])]
    if rows.empty:
        msg = "heterogeneity_table: no subgroup estimates (estimator 'subgroup'/'difference')"
        raise ValueError(msg)
    has_joint = "joint_pvalue" in rows.columns
    adjustments = _adjustment_columns(rows, estimates)
    columns = [
        Column("subgroup_label", text("subgroup", language), "text"),
        Column("control_mean", text("control_mean", language)),
        Column("effect", text("effect", language)),
        Column("std_error", text("se", language), "se"),
        Column("pvalue", text("pvalue", language), "pvalue"),
    ]
    columns += [Column(a, ADJUSTMENT_LABELS.get(a, a), "pvalue") for a in adjustments]
    if has_joint:
        columns.append(Column("joint_pvalue", "Joint p", "pvalue"))
    columns.append(Column("nobs", text("n", language), "count"))
    if rows["n_clusters"].notna().any():
        columns.append(Column("n_clusters", text("clusters", language), "count"))
    b = _Builder(source, language)
    stats_columns = ["control_mean", "effect", "std_error", "pvalue", *adjustments]
    spec = rows["specification"] if "specification" in rows else pd.Series(None, index=rows.index)
    keys = list(dict.fromkeys(zip(rows["outcome"], spec.fillna(""), strict=True)))
    for outcome, specification in keys:
        block = rows.loc[(rows["outcome"] == outcome) & (spec.fillna("") == specification)]
        by_columns = list(dict.fromkeys(_split_subgroup(s)[0] for s in block["subgroup"]))
        for by in by_columns:
            mine = block.loc[block["subgroup"].map(lambda s, by=by: _split_subgroup(s)[0] == by)]
            level_ids: dict[str, Hashable | None] = {}
            header = f"{label_for(outcome, labels)}: {label_for(by, labels)}"
            for _, row in mine.loc[mine["estimator"] == "subgroup"].iterrows():
                r = b.row(
                    outcome=outcome,
                    group=header,
                    subgroup=row["subgroup"],
                    subgroup_label=label_for(row["subgroup"], labels),
                    nobs=row["nobs"],
                    n_clusters=row["n_clusters"],
                    **{k: row[k] for k in stats_columns},
                )
                level_ids[row["subgroup"]] = b.count(r, "nobs")
                b.derive(r, stats_columns, [level_ids[row["subgroup"]]])
            for _, row in mine.loc[mine["estimator"] == "difference"].iterrows():
                _, levels = _split_subgroup(row["subgroup"])
                shown = " - ".join(label_for(lv, labels) for lv in levels)
                r = b.row(
                    outcome=outcome,
                    group=header,
                    subgroup=row["subgroup"],
                    subgroup_label=f"{text('difference', language)}: {shown}",
                    nobs=row["nobs"],
                    n_clusters=row["n_clusters"],
                    joint_pvalue=row.get("joint_pvalue", math.nan),
                    **{k: row[k] for k in stats_columns},
                )
                b.rows[r]["control_mean"] = math.nan  # a contrast has no control mean of its own
                total = b.count(r, "nobs")
                b.margin(total, list(level_ids.values()))
                b.derive(r, stats_columns, [level_ids.get(lv) for lv in levels])
                b.derive(r, ["joint_pvalue"], level_ids.values())
    notes = [
        (
            "Subgroup effects from one pooled model with treatment x subgroup interactions; "
            "differences are contrasts with the first (reference) subgroup."
        ),
        estimates_note(rows, language),
    ]
    if adjustments:
        described = ", ".join(ADJUSTMENT_LABELS.get(a, a) for a in adjustments)
        notes.append(
            f"Differences adjusted for multiple testing: {described} (families of contrasts "
            "as the plan defines them)."
        )
    return b.table(
        columns,
        name=name,
        title=text("title_heterogeneity", language),
        notes=notes,
        producer="evaluation.reporting.tables.heterogeneity_table",
        variables=tuple(pd.unique(rows["outcome"])),
        row_group="group",
    )


def robustness_table(
    estimates: EffectEstimates | pd.DataFrame,
    *,
    source: str,
    estimators: Sequence[str] | None = None,
    labels: Mapping[str, str] | None = None,
    language: str = "en",
    name: str = "robustness",
) -> Table:
    """Show each outcome's full-sample effect under every estimator side by side.

    Parameters
    ----------
    estimates : EffectEstimates or pandas.DataFrame
        Full-sample results of several estimators (ANCOVA, DiD, IPW, AIPW, matching).
    source : str
        Data source for the note.
    estimators : sequence of str, optional
        Estimators in column order; by default in order of appearance.
    labels : Mapping of str to str, optional
        Outcome labels.
    language : {"en", "zh"}, optional
        Language.
    name : str, optional
        Table name.

    Returns
    -------
    Table
        One row per outcome; per estimator the effect, its SE and N.

    Notes
    -----
    Each estimator's cells depend on that estimator's N; the notes give each estimator's SE
    type, df and inference.
    """
    frame = _frame_of(estimates)
    rows = frame.loc[frame["subgroup"].isna()] if "subgroup" in frame else frame
    order = list(estimators) if estimators is not None else list(pd.unique(rows["estimator"]))
    rows = rows.loc[rows["estimator"].isin(order)]
    columns = [Column("label", text("outcome", language), "text")]
    for est in order:
        group = ESTIMATOR_LABELS.get(est, est)
        columns += [
            Column(f"{est}|effect", text("effect", language), group=group),
            Column(f"{est}|se", text("se", language), "se", group=group),
            Column(f"{est}|n", text("n", language), "count", group=group),
        ]
    b = _Builder(source, language)
    for outcome in pd.unique(rows["outcome"]):
        values: dict[str, Any] = {"outcome": outcome, "label": label_for(outcome, labels)}
        mine = rows.loc[rows["outcome"] == outcome]
        for est in order:
            hit = mine.loc[mine["estimator"] == est]
            if len(hit) > 1:
                msg = f"robustness_table: {len(hit)} full-sample {est!r} estimates for {outcome!r}"
                raise ValueError(msg)
            if len(hit):
                row = hit.iloc[0]
                values |= {
                    f"{est}|effect": row["effect"],
                    f"{est}|se": row["std_error"],
                    f"{est}|n": row["nobs"],
                }
        r = b.row(**values)
        for est in order:
            b.derive(r, [f"{est}|effect", f"{est}|se"], [b.count(r, f"{est}|n")])
    notes = [
        f"{ESTIMATOR_LABELS.get(est, est)}: " + estimates_note(mine, language)
        for est in order
        if len(mine := rows.loc[rows["estimator"] == est])
    ]
    return b.table(
        columns,
        name=name,
        title=text("title_robustness", language),
        notes=notes,
        producer="evaluation.reporting.tables.robustness_table",
        variables=tuple(pd.unique(rows["outcome"])),
    )


def lee_bounds_table(
    bounds: Sequence[LeeBounds] | pd.DataFrame,
    *,
    source: str,
    labels: Mapping[str, str] | None = None,
    language: str = "en",
    name: str = "lee_bounds",
) -> Table:
    """Tabulate Lee (2009) bounds.

    Parameters
    ----------
    bounds : sequence of LeeBounds or pandas.DataFrame
        Results of :func:`evaluation.estimation.lee_bounds` (or ``lee_bounds_table``), or the
        rows of their ``to_frame()``: ``outcome``, ``lower``, ``upper``, ``trimming_share`` and
        ``nobs``; optionally ``im_lower``/``im_upper`` (the Imbens-Manski interval for the
        effect), ``level``, ``n_clusters``, ``n_boot``, ``trimming`` (the convention) and
        ``tightened_by``.
    source : str
        Data source for the note.
    labels : Mapping of str to str, optional
        Outcome labels.
    language : {"en", "zh"}, optional
        Language.
    name : str, optional
        Table name.

    Returns
    -------
    Table
        One row per outcome: bounds, Imbens-Manski interval, trimmed share, N and clusters.

    Notes
    -----
    The trimmed share is p = (q_high - q_low) / q_high for the observation rates q of the two
    arms (METHODS.md 2.8). All cells depend on the row's N. The interval shown is the
    Imbens-Manski interval, which covers the effect; the interval for the identified set
    (``ci_lower``/``ci_upper`` of :class:`~evaluation.estimation.LeeBounds`) is not shown.
    """
    if not isinstance(bounds, pd.DataFrame):
        bounds = pd.concat([b.to_frame() for b in bounds], ignore_index=True)
    required = ["outcome", "lower", "upper", "trimming_share", "nobs"]
    _check_columns(bounds, required, "lee_bounds_table")
    columns = [
        Column("label", text("outcome", language), "text"),
        Column("lower", text("lower_bound", language)),
        Column("upper", text("upper_bound", language)),
        Column("ci", text("ci", language), "interval", sources=("im_lower", "im_upper")),
        Column("trimming_share", text("trimming_share", language) + " (%)", "percent"),
        Column("nobs", text("n", language), "count"),
    ]
    if "n_clusters" in bounds.columns and bounds["n_clusters"].notna().any():
        columns.append(Column("n_clusters", text("clusters", language), "count"))
    b = _Builder(source, language)
    keep = ["lower", "upper", "im_lower", "im_upper", "trimming_share"]
    for _, row in bounds.iterrows():
        r = b.row(
            outcome=row["outcome"],
            label=label_for(row["outcome"], labels),
            nobs=row["nobs"],
            n_clusters=row.get("n_clusters", math.nan),
            **{k: row.get(k, math.nan) for k in keep},
        )
        b.derive(r, keep, [b.count(r, "nobs")])
    notes = [
        (
            "Lee (2009) bounds on the effect for units observed in both arms: the arm with the "
            "higher observation rate is trimmed by the share p = (q_high - q_low) / q_high from "
            "above (lower bound) and below (upper bound)."
        )
    ]
    notes.extend(
        f"{extra.replace('_', ' ').capitalize()}: {span(bounds[extra], '{}')}."
        for extra in ("trimming", "tightened_by")
        if extra in bounds.columns and bounds[extra].astype(bool).any()
    )
    if "im_lower" in bounds.columns and bounds["im_lower"].notna().any():
        draws = span(bounds["n_boot"]) if "n_boot" in bounds.columns else "NA"
        notes.append(
            "Interval: Imbens-Manski confidence interval for the effect, from bootstrap standard "
            f"errors of the bounds ({draws} draws, resampling clusters where clustered)."
        )
    notes.append(estimates_note(bounds, language))
    return b.table(
        columns,
        name=name,
        title=text("title_lee", language),
        notes=notes,
        producer="evaluation.reporting.tables.lee_bounds_table",
        variables=tuple(bounds["outcome"]),
    )


_STATUS_KEYS = {
    "achieved": "achieved",
    "not achieved": "not_achieved",
    "target missing": "target_missing",
    "no data": "no_data",
}


def _number_or_nan(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def results_framework_table(
    framework: pd.DataFrame,
    *,
    source: str,
    labels: Mapping[str, str] | None = None,
    language: str = "en",
    name: str = "results_framework",
) -> Table:
    """Lay out the results framework: baseline, endline, change, target, progress and status.

    Parameters
    ----------
    framework : pandas.DataFrame
        The tidy table of :func:`evaluation.indicators.framework.results_framework_table`: one
        row per indicator x disaggregation x group with ``id``, ``indicator``, ``baseline``,
        ``target`` and ``status``, and, where computed, ``outcome``, ``statistic``,
        ``disaggregation``, ``group``, ``n_baseline``, ``baseline_source``, ``endline``,
        ``n_endline``, ``change`` and ``progress``. Optional ``effect``, ``ci_lower`` and
        ``ci_upper`` give the programme effect on the indicator (from the primary estimator).
    source : str
        Data source for the note.
    labels : Mapping of str to str, optional
        Indicator labels, disaggregation labels and ``"<disaggregation>=<group>"`` labels, and
        outcome titles as ``"outcome=<id>"``.
    language : {"en", "zh"}, optional
        Language.
    name : str, optional
        Table name.

    Returns
    -------
    Table
        One row per indicator and group, in panels by outcome.

    Notes
    -----
    Status and progress are taken as computed by the indicators stage (progress = share of
    the way from baseline to target). Disclosure structure: a baseline computed from data
    depends on its N, the endline, change, progress, status and effect on the endline N (and
    the baseline N); for shares (``statistic == "share"``) the implied counts are protected
    too; each disaggregation's groups are margins of the ``all`` row.
    """
    _check_columns(
        framework, ["id", "indicator", "baseline", "target", "status"], "results_framework_table"
    )
    columns = [
        Column("id", text("indicator", language), "text"),
        Column("label", "", "text"),
        Column("baseline", text("baseline", language)),
        Column("endline", text("endline", language)),
        Column("change", text("first_diff", language)),
        Column("target", text("target", language)),
        Column("progress", text("progress", language), "percent", digits=0),
        Column("status_label", text("status", language), "text"),
        Column("effect", text("effect", language)),
        Column("ci", text("ci", language), "interval", sources=("ci_lower", "ci_upper")),
        Column("n_baseline", text("baseline_n", language), "count"),
        Column("n_endline", f"{text('endline', language)} {text('n', language)}", "count"),
    ]
    b = _Builder(source, language)
    margins: dict[tuple[str, str], dict[str, list]] = {}
    totals: dict[str, dict[str, list]] = {}
    for _, source_row in framework.iterrows():
        row = source_row.to_dict()
        dis = str(row.get("disaggregation") or "all")
        group = str(row.get("group") or "all")
        label = label_for(str(row["indicator"]), labels)
        if dis != "all":
            label = f"  {label_for(f'{dis}={group}', labels)}"
        outcome = row.get("outcome")
        status = _STATUS_KEYS.get(str(row["status"]), "no_data")
        r = b.row(
            id=str(row["id"]) if dis == "all" else "",
            indicator=row["indicator"],
            disaggregation=dis,
            group=group,
            outcome_label=label_for(f"outcome={outcome}", labels)
            if outcome is not None and not pd.isna(outcome)
            else "",
            label=label,
            status=status,
            status_label=text(status, language),
            **{
                k: _number_or_nan(row.get(k))
                for k in (
                    "baseline",
                    "endline",
                    "change",
                    "target",
                    "progress",
                    "effect",
                    "ci_lower",
                    "ci_upper",
                    "n_baseline",
                    "n_endline",
                )
            },
        )
        base_n, end_n = b.count(r, "n_baseline"), b.count(r, "n_endline")
        share = row.get("statistic") == "share"
        base_implied = b.binary(r, "baseline", "n_baseline") if share else []
        end_implied = b.binary(r, "endline", "n_endline") if share else []
        if row.get("baseline_source", "data") == "data":
            b.derive(r, ["baseline"], [base_n])
        derived = [
            "endline",
            "change",
            "progress",
            "status_label",
            "effect",
            "ci_lower",
            "ci_upper",
        ]
        b.derive(r, derived, [end_n, base_n])
        b.derive(r, ["change", "progress", "status_label"], [*base_implied, *end_implied])
        ids = {"n_baseline": [base_n, *base_implied], "n_endline": [end_n, *end_implied]}
        if dis == "all":
            totals[str(row["id"])] = ids
        else:
            parts = margins.setdefault((str(row["id"]), dis), {k: [] for k in ids})
            for k, v in ids.items():
                parts[k].append(v)
    for (identifier, _), parts in margins.items():
        for k, groups in parts.items():
            total = totals.get(identifier, {}).get(k, [])
            for position, quantity in enumerate(total):
                members = [g[position] if position < len(g) else None for g in groups]
                b.margin(quantity, members)
    notes = [
        (
            "Progress: share of the way from baseline to target; status as computed from the "
            "logframe targets (direction and target type of each indicator). Indented rows are "
            "disaggregations, compared with the indicator's target."
        ),
        "Effect: programme effect on the indicator from the primary estimator, where estimated.",
        estimates_note(framework, language),
    ]
    return b.table(
        columns,
        name=name,
        title=text("title_framework", language),
        notes=notes,
        producer="evaluation.reporting.tables.results_framework_table",
        variables=tuple(pd.unique(framework["indicator"].astype(str))),
        row_group="outcome_label" if framework.get("outcome") is not None else None,
    )


def _gain_row(
    b: _Builder,
    rows: pd.DataFrame,
    scores: tuple[str, str],
    max_score: float,
    *,
    label: str,
    group: str,
) -> Hashable | None:
    """Add one row of the capacity-building table and return its count's id."""
    x = rows[scores[0]].to_numpy(dtype=float)
    y = rows[scores[1]].to_numpy(dtype=float)
    n = len(rows)
    mean_pre = float(x.mean()) if n else math.nan
    mean_post = float(y.mean()) if n else math.nan
    d = y - x
    varies = n > 1 and np.ptp(d) > 1e-9 * max(1.0, float(np.abs(d).max()))
    pvalue = float(stats.ttest_rel(y, x).pvalue) if varies else math.nan  # constant gain: no test
    gain = mean_post - mean_pre
    r = b.row(
        label=label,
        group=group,
        n=n,
        pre=mean_pre,
        post=mean_post,
        gain=gain,
        norm_gain=gain / (max_score - mean_pre) if n and mean_pre < max_score else math.nan,
        pvalue=pvalue,
    )
    n_id = b.count(r, "n")
    b.derive(r, ["pre", "post", "gain", "norm_gain", "pvalue"], [n_id])
    return n_id


def capacity_gains_table(
    scores: pd.DataFrame,
    *,
    source: str,
    pre: str = "score_pre",
    post: str = "score_post",
    by: Sequence[str] = (),
    max_score: float = 100.0,
    labels: Mapping[str, str] | None = None,
    language: str = "en",
    name: str = "capacity_gains",
) -> Table:
    """Tabulate learning gains on the capacity-building knowledge test.

    Parameters
    ----------
    scores : pandas.DataFrame
        One row per participant with the pre- and post-test scores (percent correct).
    source : str
        Data source for the note.
    pre, post : str, optional
        Score columns.
    by : sequence of str, optional
        Grouping columns (sex, organisation type); each level gets a row after ``All``.
    max_score : float, optional
        The maximum score (100 for percent correct).
    labels : Mapping of str to str, optional
        Labels for the ``by`` columns and their ``"<column>=<value>"`` levels.
    language : {"en", "zh"}, optional
        Language.
    name : str, optional
        Table name.

    Returns
    -------
    Table
        Rows ``All`` and each group: N with both tests, mean pre and post scores, the mean gain,
        Hake's normalised gain of the means and the paired t-test p-value.

    Notes
    -----
    Unit: participant with both tests. Normalised gain (Hake 1998) of the group means:
    g = (post - pre) / (max_score - pre). Paired t-test (scipy ``ttest_rel``) of post - pre.
    No counterfactual: these are learning gains, not effects. The ``All`` N is the margin of
    each grouping's levels.
    """
    _check_columns(scores, [pre, post, *by], "capacity_gains_table")
    paired = scores.loc[scores[pre].notna() & scores[post].notna()]
    columns = [
        Column("label", text("group", language), "text"),
        Column("n", text("n", language), "count"),
        Column("pre", text("pre", language), digits=1),
        Column("post", text("post", language), digits=1),
        Column("gain", text("gain", language), digits=1),
        Column("norm_gain", text("norm_gain", language), digits=2),
        Column("pvalue", text("pvalue", language), "pvalue"),
    ]
    b = _Builder(source, language)
    all_label = text("all", language)
    total = _gain_row(b, paired, (pre, post), max_score, label=all_label, group=all_label)
    for column in by:
        levels = sorted(pd.unique(paired[column].dropna()).tolist())
        parts = [
            _gain_row(
                b,
                paired.loc[paired[column] == lv],
                (pre, post),
                max_score,
                label=label_for(f"{column}={lv}", labels),
                group=label_for(column, labels),
            )
            for lv in levels
        ]
        b.margin(total, parts)
    notes = [
        (
            f"Scores out of {max_score:g} among participants who took both tests. Normalised "
            f"gain (Hake): (post - pre) / ({max_score:g} - pre) of the group means. p: paired "
            "t-test. No comparison group: learning gains, not effects."
        ),
    ]
    return b.table(
        columns,
        name=name,
        title=text("title_capacity", language),
        notes=notes,
        producer="evaluation.reporting.tables.capacity_gains_table",
        variables=(pre, post, *by),
        row_group="group",
    )


def did_table(
    did: pd.DataFrame,
    *,
    source: str,
    labels: Mapping[str, str] | None = None,
    language: str = "en",
    name: str = "did",
) -> Table:
    """Lay out the estimation layer's difference-in-differences frame as ieddtab does.

    Parameters
    ----------
    did : pandas.DataFrame
        Output of :func:`evaluation.estimation.did_table`.
    source : str
        Data source for the note.
    labels : Mapping of str to str, optional
        Outcome labels.
    language : {"en", "zh"}, optional
        Language.
    name : str, optional
        Table name.

    Returns
    -------
    Table
        One row per outcome: baseline means and N by arm, the baseline difference, the first
        differences by arm, the DiD with its SE and p-value, N and clusters.

    Notes
    -----
    Cells depend on the N of the arm and round they describe; the DiD on all four, whose sum
    is the row's N (a margin).
    """
    required = ["outcome", "baseline_mean_control", "baseline_mean_treatment", "did", "did_se"]
    _check_columns(did, required, "did_table")
    control, treated = text("control", language), text("treatment", language)
    base, fd = text("baseline", language), text("first_diff", language)
    did_label = text("did", language)
    columns = [
        Column("label", text("outcome", language), "text"),
        Column("baseline_mean_control", text("mean", language), group=f"{base}: {control}"),
        Column("baseline_n_control", text("n", language), "count", group=f"{base}: {control}"),
        Column("baseline_mean_treatment", text("mean", language), group=f"{base}: {treated}"),
        Column("baseline_n_treatment", text("n", language), "count", group=f"{base}: {treated}"),
        Column("baseline_diff", text("difference", language), group=base),
        Column("baseline_diff_se", text("se", language), "se", group=base),
        Column("first_diff_control", control, group=fd),
        Column("first_diff_control_se", text("se", language), "se", group=fd),
        Column("first_diff_treatment", treated, group=fd),
        Column("first_diff_treatment_se", text("se", language), "se", group=fd),
        Column("did", did_label, group=did_label),
        Column("did_se", text("se", language), "se", group=did_label),
        Column("did_pvalue", text("pvalue", language), "pvalue", group=did_label),
        Column("nobs", text("n", language), "count"),
        Column("n_clusters", text("clusters", language), "count"),
    ]
    b = _Builder(source, language)
    for _, source_row in did.iterrows():
        row = source_row.to_dict()
        r = b.row(label=label_for(row["outcome"], labels), **row)
        n = {
            (rd, arm): b.count(r, f"{rd}_n_{arm}")
            for rd in ("baseline", "followup")
            for arm in ("control", "treatment")
        }
        b.margin(b.count(r, "nobs"), list(n.values()))
        b.derive(r, ["baseline_mean_control"], [n["baseline", "control"]])
        b.derive(r, ["baseline_mean_treatment"], [n["baseline", "treatment"]])
        b.derive(
            r,
            ["baseline_diff", "baseline_diff_se"],
            [n["baseline", "control"], n["baseline", "treatment"]],
        )
        for arm in ("control", "treatment"):
            b.derive(
                r,
                [f"first_diff_{arm}", f"first_diff_{arm}_se"],
                [n["baseline", arm], n["followup", arm]],
            )
        b.derive(r, ["did", "did_se", "did_pvalue"], n.values())
    frame = did.assign(inference="analytic")
    notes = [
        (
            "ieddtab layout: y = a + b T + c post + d T x post; baseline difference b, first "
            "differences c (control) and c + d (treatment), DiD d. Means are raw means of the "
            "estimation sample."
        ),
        estimates_note(frame, language),
    ]
    return b.table(
        columns,
        name=name,
        title=text("title_did", language),
        notes=notes,
        producer="evaluation.reporting.tables.did_table",
        variables=tuple(did["outcome"]),
    )

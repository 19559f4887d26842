"""Qualification, field-of-study and skills mismatch, every approach the ILO allows, side by side.

Follows the "Guidelines concerning measurement of qualifications and skills mismatches of persons
in employment" endorsed by the 20th ICLS (2018) (DOMAIN.md sections 2.1-2.2): level mismatch by the
normative (ISCO-08 skill level -> ISCED), statistical (modal level in the occupation; mean +/- 1 SD
as an option) and subjective (self-reported requirement) approaches; field-of-study mismatch by
crosswalk, statistical or subjective relatedness; overall and type-specific skills mismatch.
Categories are ``over`` / ``matched`` / ``under``; missing where undefined.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from evaluation.indicators._common import ConfigError, IndicatorError, as_float, binary
from evaluation.indicators.files import reference_table

__all__ = [
    "MISMATCH_CATEGORIES",
    "field_mismatch",
    "normative_mapping",
    "normative_mismatch",
    "qualification_mismatch",
    "skills_mismatch",
    "statistical_mismatch",
    "statistical_thresholds",
    "subjective_mismatch",
]

#: Categories of a level mismatch.
MISMATCH_CATEGORIES = ("over", "matched", "under")
_METHODS = ("normative", "statistical", "subjective")


def normative_mapping(
    overrides: Mapping[int, tuple[int, int] | None] | None = None,
) -> dict[int, tuple[int, int] | None]:
    """Return the normative ISCO-08 major group -> required ISCED-2011 range.

    Parameters
    ----------
    overrides : mapping, optional
        Major group -> ``(min, max)`` required ISCED levels, or ``None`` to exclude the group,
        replacing the strict table for those groups (e.g. ``{9: (0, 2)}`` for the China
        sensitivity analysis of DOMAIN.md section 2.2).

    Returns
    -------
    dict
        Major group (0-9) -> ``(min, max)``, ``None`` for excluded groups (armed forces).

    Raises
    ------
    ConfigError
        For a major group outside 0-9 or a range with ``min > max`` or outside ISCED 0-8.

    Notes
    -----
    The strict table is ``data/isco_isced_normative.csv`` (ISCO-08 Vol. 1, Tables 1 and 2, with
    the ISCED-2011 translation of DOMAIN.md section 2.2): MG1 5-8, MG2 6-8, MG3 5, MG4-8 2-4, MG9
    0-1, MG0 excluded. China caveat: with nine years of compulsory schooling most workers in
    MG9 hold ISCED 2 or more, so the strict rule marks nearly all of them over-qualified; report
    the statistical measure beside it and run the ``{9: (0, 2)}`` sensitivity.
    """
    table = reference_table("isco_isced_normative")
    mapping: dict[int, tuple[int, int] | None] = {}
    for row in table.itertuples(index=False):
        low, high = row.isced_min, row.isced_max
        mapping[int(row.isco_major)] = (
            None if pd.isna(low) or pd.isna(high) else (int(low), int(high))
        )
    for group, band in (overrides or {}).items():
        g = int(group)
        if g not in range(10):
            msg = f"normative mapping: ISCO-08 major group {group!r} is not 0-9"
            raise ConfigError(msg)
        if band is None:
            mapping[g] = None
            continue
        low, high = (int(band[0]), int(band[1]))
        if not (0 <= low <= high <= 8):
            msg = (
                f"normative mapping for major group {g}: ISCED range {band!r} "
                "is not 0 <= min <= max <= 8"
            )
            raise ConfigError(msg)
        mapping[g] = (low, high)
    return mapping


def _classify(attained: pd.Series, low: pd.Series, high: pd.Series) -> pd.Series:
    """Over if attained > high, under if attained < low, matched otherwise; NA if any missing."""
    a = as_float(attained).astype(float).to_numpy()
    lo = as_float(low).astype(float).to_numpy()
    hi = as_float(high).astype(float).to_numpy()
    out = np.full(len(a), None, dtype=object)
    ok = ~(np.isnan(a) | np.isnan(lo) | np.isnan(hi))
    out[ok] = "matched"
    out[ok & (a > hi)] = "over"
    out[ok & (a < lo)] = "under"
    return pd.Series(
        pd.Categorical(out, categories=list(MISMATCH_CATEGORIES)), index=attained.index
    )


def _major_group(isco: pd.Series) -> pd.Series:
    """ISCO-08 major group from codes: integers 0-9 as they are, text codes by first digit."""
    if pd.api.types.is_numeric_dtype(isco):
        groups = as_float(isco)
        if (groups.dropna() > 9).any() or (groups.dropna() < 0).any():
            msg = "numeric ISCO codes must be major groups 0-9; pass longer codes as text"
            raise IndicatorError(msg)
        return groups
    text = isco.astype("string").str.strip()
    first = text.str[0]
    bad = first.notna() & ~first.str.isdigit().fillna(False)
    if bad.any():
        msg = f"ISCO-08 codes must start with a digit; found {text[bad].iloc[0]!r}"
        raise IndicatorError(msg)
    return pd.to_numeric(first, errors="coerce").astype("Float64")


def normative_mismatch(
    isco_major_group: pd.Series,
    isced_level: pd.Series,
    mapping: Mapping[int, tuple[int, int] | None] | None = None,
) -> pd.Series:
    """Normative qualification mismatch: attained ISCED vs the ISCO-08 major group's requirement.

    Parameters
    ----------
    isco_major_group : Series
        ISCO-08 major groups (0-9) or ISCO-08 codes as text (first digit used).
    isced_level : Series
        Attained ISCED-2011 level (0-8).
    mapping : mapping, optional
        Major group -> ``(min, max)`` or ``None``; default :func:`normative_mapping`.

    Returns
    -------
    Series
        Categorical ``over`` / ``matched`` / ``under``; missing for armed forces (MG0), groups
        the mapping excludes, and missing occupation or education.

    Notes
    -----
    Over-qualified if attained > max(required), under-qualified if attained < min(required)
    (DOMAIN.md section 2.2).
    """
    table = normative_mapping() if mapping is None else dict(mapping)
    groups = _major_group(isco_major_group)
    low = groups.map(
        lambda g: np.nan if pd.isna(g) or table.get(int(g)) is None else table[int(g)][0]
    )
    high = groups.map(
        lambda g: np.nan if pd.isna(g) or table.get(int(g)) is None else table[int(g)][1]
    )
    return _classify(isced_level, low, high)


def _truncate(isco: pd.Series, digits: int) -> pd.Series:
    text = isco.astype("string").str.strip()
    return text.where(text.str.len() >= digits).str[:digits]


def _band(values: pd.Series, rule: str, weights: pd.Series | None = None) -> tuple[float, float]:
    """Return the matched band of one group: lowest and highest mode, or mean -/+ 1 SD."""
    if rule == "mode":
        counts = (
            values.value_counts() if weights is None else weights.groupby(values.to_numpy()).sum()
        )
        modes = counts.index[counts == counts.max()].astype(float)
        return float(modes.min()), float(modes.max())
    if weights is None:
        m, s = float(values.mean()), float(values.std(ddof=1))
    else:
        w = weights.to_numpy(dtype=float)
        v = values.to_numpy(dtype=float)
        m = float(np.average(v, weights=w))
        s = float(np.sqrt(np.average((v - m) ** 2, weights=w)))
    return m - s, m + s


def statistical_thresholds(
    isco: pd.Series,
    attained: pd.Series,
    *,
    rule: str = "mode",
    digits: int = 2,
    min_cell: int = 20,
    fallback: str = "coarser",
    external: pd.DataFrame | None = None,
    reference: pd.Series | None = None,
) -> pd.DataFrame:
    """Realised-matches thresholds of each worker's occupation group.

    Parameters
    ----------
    isco : Series
        ISCO-08 codes as text (``"7223"``, ``"72"``...).
    attained : Series
        Attained level: ISCED-2011 for ``rule="mode"``, years of schooling (or any number) for
        ``rule="mean_sd"``.
    rule : {"mode", "mean_sd"}
        ``"mode"``: the modal level of the group (the ILO rule); ``"mean_sd"``: mean +/- 1 SD
        (Verdugo and Verdugo 1989), an academic alternative.
    digits : int, default 2
        ISCO digit level of the occupation groups (1-4).
    min_cell : int, default 20
        Fewest workers a group needs; smaller groups fall back.
    fallback : {"coarser", "external", "none"}
        ``"coarser"``: try fewer digits down to the major group, then ``external`` if given;
        ``"external"``: go straight to ``external``; ``"none"``: missing.
    external : DataFrame, optional
        An external distribution (national LFS or census) with columns ``isco`` (code as text at
        any digit level), ``level`` and ``weight`` (count or share), used for groups too small in
        the data.
    reference : Series of bool, optional
        Workers whose distribution defines the thresholds (default: everyone with an occupation
        and a level).

    Returns
    -------
    DataFrame
        Same index: ``group`` (the code used), ``digits`` used, ``n`` (workers in the cell, or
        ``<NA>`` when external), ``low`` and ``high`` (the matched band: lowest and highest mode,
        or mean -/+ SD), ``basis`` (``"data"``, ``"external"`` or missing).

    Raises
    ------
    ConfigError
        For an unknown rule or fallback, digits outside 1-4, or a malformed external table.
    """
    if rule not in ("mode", "mean_sd"):
        msg = f"rule must be 'mode' or 'mean_sd', got {rule!r}"
        raise ConfigError(msg)
    if fallback not in ("coarser", "external", "none"):
        msg = f"fallback must be 'coarser', 'external' or 'none', got {fallback!r}"
        raise ConfigError(msg)
    if digits not in (1, 2, 3, 4):
        msg = f"digits must be 1-4, got {digits!r}"
        raise ConfigError(msg)
    level = as_float(attained).astype(float)
    codes = isco.astype("string").str.strip()
    ref = (
        pd.Series(True, index=isco.index)
        if reference is None
        else reference.astype("boolean").fillna(False)
    )
    usable = ref & codes.notna() & level.notna()

    tables: dict[int, dict[str, tuple[int, float, float]]] = {}
    for d in range(digits, 0, -1):
        groups = _truncate(codes[usable], d)
        stats = {}
        for g, vals in level[usable].groupby(groups.to_numpy()):
            lo, hi = _band(vals, rule)
            stats[str(g)] = (len(vals), lo, hi)
        tables[d] = stats
    ext: dict[str, tuple[float, float]] = {}
    if external is not None:
        missing = [c for c in ("isco", "level", "weight") if c not in external.columns]
        if missing:
            msg = f"external distribution lacks columns {missing}"
            raise ConfigError(msg)
        ext_codes = external["isco"].astype("string").str.strip()
        for g, part in external.groupby(ext_codes.to_numpy()):
            ext[str(g)] = _band(
                as_float(part["level"]).astype(float),
                rule,
                as_float(part["weight"]).astype(float),
            )
    rows = []
    for code in codes:
        row = {
            "group": pd.NA,
            "digits": pd.NA,
            "n": pd.NA,
            "low": np.nan,
            "high": np.nan,
            "basis": pd.NA,
        }
        if pd.isna(code) or len(code) < 1:
            rows.append(row)
            continue
        tried = [digits] if fallback != "coarser" else list(range(digits, 0, -1))
        for d in tried:
            g = code[:d] if len(code) >= d else None
            hit = tables[d].get(g) if g is not None else None
            if hit is not None and hit[0] >= min_cell:
                row.update(group=g, digits=d, n=hit[0], low=hit[1], high=hit[2], basis="data")
                break
        else:
            if fallback != "none":
                for d in range(min(digits, len(code)), 0, -1):
                    if code[:d] in ext:
                        lo, hi = ext[code[:d]]
                        row.update(group=code[:d], digits=d, low=lo, high=hi, basis="external")
                        break
        rows.append(row)
    out = pd.DataFrame(rows, index=isco.index)
    out["group"] = out["group"].astype("string")
    out["digits"] = out["digits"].astype("Int64")
    out["n"] = out["n"].astype("Int64")
    out["low"] = out["low"].astype("Float64")
    out["high"] = out["high"].astype("Float64")
    out["basis"] = out["basis"].astype("string")
    return out


def statistical_mismatch(isco: pd.Series, attained: pd.Series, **options: object) -> pd.Series:
    """Statistical (realised matches) qualification mismatch.

    Parameters
    ----------
    isco : Series
        ISCO-08 codes as text.
    attained : Series
        Attained level (ISCED-2011, or years with ``rule="mean_sd"``).
    **options : object
        Passed to :func:`statistical_thresholds` (``rule``, ``digits``, ``min_cell``,
        ``fallback``, ``external``, ``reference``).

    Returns
    -------
    Series
        Categorical ``over`` / ``matched`` / ``under``; missing where the group has no usable
        threshold.

    Notes
    -----
    ILO rule (20th ICLS Guidelines): matched when the attained level equals the modal level of
    all persons employed in the occupation group; over above it, under below it. With several
    modes the matched band runs from the lowest to the highest mode. ``rule="mean_sd"``:
    over-educated above mean + 1 SD, under below mean - 1 SD.
    """
    thresholds = statistical_thresholds(isco, attained, **options)  # type: ignore[arg-type]
    return _classify(attained, thresholds["low"], thresholds["high"])


def subjective_mismatch(attained: pd.Series, required: pd.Series) -> pd.Series:
    """Subjective qualification mismatch: attained vs self-reported required level.

    Parameters
    ----------
    attained : Series
        Attained ISCED-2011 level.
    required : Series
        The ISCED-2011 level the worker says the job needs (``mm_req_edu_do`` to do it, or
        ``mm_req_edu_get`` to get it, mapped through the list's ``isced`` column).

    Returns
    -------
    Series
        Categorical ``over`` / ``matched`` / ``under``.
    """
    return _classify(attained, required, required)


def qualification_mismatch(
    isco_major_group: pd.Series | None,
    isced_level: pd.Series,
    method: str = "normative",
    **options: object,
) -> pd.Series:
    """Qualification (level) mismatch by any ILO approach, vectorised over Series.

    Parameters
    ----------
    isco_major_group : Series or None
        ISCO-08 major groups (0-9) or codes as text; ``statistical`` uses codes at ``digits``
        (default 2); ignored by ``subjective``.
    isced_level : Series
        Attained ISCED-2011 level.
    method : {"normative", "statistical", "subjective"}
        The approach.
    **options : object
        ``mapping`` for ``normative`` (see :func:`normative_mapping`); ``rule``, ``digits``,
        ``min_cell``, ``fallback``, ``external``, ``reference`` for ``statistical``; ``required``
        (Series of required ISCED) for ``subjective``.

    Returns
    -------
    Series
        Categorical ``over`` / ``matched`` / ``under``, missing where undefined (armed forces,
        missing occupation or education, cells too small).

    Raises
    ------
    ConfigError
        For an unknown method or a missing option.

    Examples
    --------
    >>> import pandas as pd
    >>> qualification_mismatch(pd.Series([2, 9, 0]), pd.Series([5, 3, 6])).tolist()
    ['under', 'over', nan]
    """
    if method not in _METHODS:
        msg = f"method must be one of {_METHODS}, got {method!r}"
        raise ConfigError(msg)
    if method == "normative":
        return normative_mismatch(isco_major_group, isced_level, options.get("mapping"))  # type: ignore[arg-type]
    if method == "statistical":
        if isco_major_group is None:
            msg = "the statistical approach needs ISCO codes"
            raise ConfigError(msg)
        return statistical_mismatch(isco_major_group.astype("string"), isced_level, **options)
    if "required" not in options:
        msg = "the subjective approach needs required=<Series of required ISCED levels>"
        raise ConfigError(msg)
    return subjective_mismatch(isced_level, options["required"])  # type: ignore[arg-type]


def field_mismatch(
    field: pd.Series,
    method: str = "subjective",
    *,
    relatedness: pd.Series | None = None,
    isco: pd.Series | None = None,
    crosswalk: pd.DataFrame | None = None,
    digits: int = 2,
    min_cell: int = 20,
    share: float | None = None,
    reference: pd.Series | None = None,
    required: pd.Series | None = None,
) -> pd.Series:
    """Field-of-study (horizontal) mismatch, 1 = mismatched.

    Parameters
    ----------
    field : Series
        ISCED-F 2013 broad field code of the highest qualification (0 = generic, no specific
        field).
    method : {"subjective", "required", "statistical", "crosswalk"}
        The approach.
    relatedness : Series, optional
        ``mm_field_related`` (1 very high extent .. 5 not at all); for ``subjective``.
    isco : Series, optional
        ISCO-08 codes as text; for ``statistical`` and ``crosswalk``.
    crosswalk : DataFrame, optional
        Normative ISCED-F x ISCO table with columns ``isced_field``, ``isco`` (a code prefix at
        any digit level) and ``source``; a field matches an occupation when a row has the
        field and a prefix of the worker's code. No such table is shipped (none could be
        sourced); the user supplies it.
    digits : int, default 2
        ISCO digits of the groups for ``statistical``.
    min_cell : int, default 20
        Fewest workers a group needs for ``statistical`` (falls back to coarser groups).
    share : float, optional
        For ``statistical``: fields held by at least this share of the group also count as
        matched; default only the modal field(s).
    reference : Series of bool, optional
        Workers defining the statistical distribution (default: all).
    required : Series, optional
        ``mm_req_field``: the ISCED-F field the worker says is most appropriate for the job
        (0 = no specific field); for ``required``.

    Returns
    -------
    Series
        0/1 ``Float64``: 1 mismatched, 0 matched, missing where undefined (no field, generic
        field for the normative and statistical approaches, no occupation).

    Raises
    ------
    ConfigError
        For an unknown method or a missing input.

    Notes
    -----
    Subjective: mismatched when the job is related to the field "to a low extent" or "not at
    all" (``relatedness >= 4`` on the 1-5 tracer scale, DOMAIN.md section 5). Required (the
    subjective approach on the field the worker names as most appropriate, 20th ICLS
    Guidelines): mismatched when that field is a specific one and differs from the field of
    study; defined for workers with a specific field of study (not 0, generic).
    """
    if method == "required":
        if required is None:
            msg = "the required-field mismatch needs required=<Series of ISCED-F fields>"
            raise ConfigError(msg)
        f, r = as_float(field), as_float(required)
        return binary(r.ne(0) & r.ne(f), f.notna() & f.ne(0) & r.notna())
    if method == "subjective":
        if relatedness is None:
            msg = "the subjective field mismatch needs relatedness"
            raise ConfigError(msg)
        rel = as_float(relatedness)
        return binary(rel.ge(4), rel.notna())
    if isco is None:
        msg = f"the {method} field mismatch needs ISCO codes"
        raise ConfigError(msg)
    f = as_float(field)
    specific = f.notna() & f.ne(0)
    codes = isco.astype("string").str.strip()
    if method == "crosswalk":
        if crosswalk is None:
            msg = "the crosswalk field mismatch needs a crosswalk table (isced_field, isco, source)"
            raise ConfigError(msg)
        pairs = {
            (int(float(r.isced_field)), str(r.isco).strip())
            for r in crosswalk.itertuples(index=False)
        }
        fields_known = {p[0] for p in pairs}

        def matched(fv: float, code: str) -> bool:
            """Whether a crosswalk row pairs the field with a prefix of the code."""
            return any((int(fv), code[:d]) in pairs for d in range(1, len(code) + 1))

        ok = specific & codes.notna() & f.isin(list(fields_known))
        hit = pd.Series(
            [bool(o) and matched(fv, c) for o, fv, c in zip(ok, f, codes, strict=True)],
            index=field.index,
        )
        return binary(~hit, ok)
    if method != "statistical":
        msg = (
            f"method must be 'subjective', 'required', 'statistical' or 'crosswalk', got {method!r}"
        )
        raise ConfigError(msg)
    ref = (
        pd.Series(True, index=field.index)
        if reference is None
        else reference.astype("boolean").fillna(False)
    )
    usable = ref & specific & codes.notna()
    result = pd.Series(np.nan, index=field.index)
    defined = pd.Series(False, index=field.index)
    for i in field.index[specific & codes.notna()]:
        code = codes[i]
        for d in range(min(digits, len(code)), 0, -1):
            cell = usable & codes.str[:d].eq(code[:d]).fillna(False)
            if cell.sum() >= min_cell:
                shares = f[cell].value_counts(normalize=True)
                accepted = set(shares.index[shares == shares.max()])
                if share is not None:
                    accepted |= set(shares.index[shares >= share])
                result[i] = 0.0 if f[i] in accepted else 1.0
                defined[i] = True
                break
    return binary(result.eq(1.0), defined)


def skills_mismatch(data: pd.DataFrame) -> pd.DataFrame:
    """Overall and type-specific skills mismatch from the M6 self-reports.

    Parameters
    ----------
    data : DataFrame
        Clean apprentice data with ``mm_overskilled`` and ``mm_underskilled`` (agree4:
        1 strongly disagree .. 4 strongly agree) and any ``mm_gap_<type>`` items (skill_gap5:
        1 much lower .. 5 much higher than the job requires).

    Returns
    -------
    DataFrame
        0/1 ``Float64`` columns ``overskilled``, ``underskilled`` and, for each gap item,
        ``underskilled_<type>`` (level lower than required, codes 1-2) and
        ``overskilled_<type>`` (higher, codes 4-5).

    Notes
    -----
    20th ICLS Guidelines: overskilled = reports having the skills to cope with more demanding
    duties; underskilled = reports needing further training to cope well with present duties
    (agree or strongly agree, codes 3-4). The two are asked separately and can both hold.
    """
    out = pd.DataFrame(index=data.index)
    for item, name in (("mm_overskilled", "overskilled"), ("mm_underskilled", "underskilled")):
        if item in data.columns:
            v = as_float(data[item])
            out[name] = binary(v.ge(3), v.notna())
    for item in sorted(c for c in data.columns if c.startswith("mm_gap_") and "__" not in c):
        kind = item.removeprefix("mm_gap_")
        v = as_float(data[item])
        out[f"underskilled_{kind}"] = binary(v.le(2), v.notna())
        out[f"overskilled_{kind}"] = binary(v.ge(4), v.notna())
    return out

"""Occupation coding (Chinese job titles -> ISCO-08) and industry coding (GB/T 4754 -> ISIC Rev.4).

ISCO-08 codes are needed for normative and statistical mismatch, and the 职业分类大典 major group
asked in the form cannot stand in for them (its groups mix skill levels; DOMAIN.md section 4.2).
The coding runs in three layers, re-applied on every run:

1. the reviewed **manual-coding file** (a CSV with the normalised title, the suggested codes, the
   coder's decision, coder, date and reason) settles every title it lists;
2. the packaged **keyword table** (``data/isco_keywords.csv``, Chinese job-title keywords with
   ISCO-08 codes, each row citing the ISCO-08 group and, where one exists, the 2022 大典
   occupation) codes the rest: the longest keywords found in the title (then in the tasks)
   propose codes, coded to their longest common prefix when it has at least two digits; the
   大典 major group answered in the form breaks ties between major groups;
3. titles left over are exported with suggestions for a coder (:func:`uncoded_titles`), and
   :func:`coding_coverage` reports how far the coding got.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

import numpy as np
import pandas as pd

from evaluation.indicators._common import ConfigError, IndicatorError, as_int
from evaluation.indicators.files import reference_table

__all__ = [
    "CODING_METHODS",
    "MANUAL_COLUMNS",
    "code_industry",
    "code_occupations",
    "coding_coverage",
    "normalize_title",
    "suggest_isco",
    "uncoded_titles",
    "validate_manual_coding",
]

#: How each respondent's ISCO code was obtained.
CODING_METHODS = (
    "manual",
    "keyword_title",
    "keyword_tasks",
    "dadian_armed_forces",
    "manual_uncodable",
    "uncoded",
    "no_title",
)
#: Columns of the manual-coding file.
MANUAL_COLUMNS = ("title_norm", "suggested", "decision", "coder", "date", "reason")
#: Decision meaning "read, but cannot be coded" (e.g. a title that is not an occupation).
UNCODABLE = "uncodable"
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_STRIP = re.compile(r"[\W_]+", re.UNICODE)


def normalize_title(text: object) -> str | None:
    """Normalise a free-text job title for matching: NFKC, lower case, no spaces or punctuation.

    Parameters
    ----------
    text : object
        The title as entered (``None`` or missing allowed).

    Returns
    -------
    str or None
        The normalised title, ``None`` when nothing is left.

    Examples
    --------
    >>> normalize_title(" 数控 车工（CNC） ")
    '数控车工cnc'
    """
    if text is None or (not isinstance(text, str) and pd.isna(text)):
        return None
    norm = _STRIP.sub("", unicodedata.normalize("NFKC", str(text)).lower())
    return norm or None


def _keywords(table: pd.DataFrame | None) -> list[tuple[str, str]]:
    kw = reference_table("isco_keywords") if table is None else table
    missing = [c for c in ("keyword", "isco08") if c not in kw.columns]
    if missing:
        msg = f"keyword table lacks columns {missing}"
        raise ConfigError(msg)
    pairs = []
    for row in kw.itertuples(index=False):
        key = normalize_title(row.keyword)
        if key:
            pairs.append((key, str(row.isco08).strip()))
    return pairs


def _structure() -> set[str]:
    return set(reference_table("isco08_structure")["isco08"].astype(str))


def suggest_isco(title_norm: str | None, keywords: list[tuple[str, str]]) -> list[str]:
    """ISCO-08 codes proposed by the longest keywords contained in a normalised title.

    Parameters
    ----------
    title_norm : str or None
        A title normalised by :func:`normalize_title`.
    keywords : list of (str, str)
        Normalised keyword -> ISCO-08 code pairs.

    Returns
    -------
    list of str
        Sorted distinct codes of the maximal matches: a keyword found inside a longer matching
        keyword is dropped (``维修电工`` also contains ``电工``; only ``维修电工`` counts), while
        separate matches are all kept (``数控车工`` matches ``数控`` and ``车工``).
    """
    if not title_norm:
        return []
    hits = [(k, c) for k, c in keywords if k in title_norm]
    keys = {k for k, _ in hits}
    maximal = [(k, c) for k, c in hits if not any(k != o and k in o for o in keys)]
    return sorted({c for _, c in maximal})


def _common_prefix(codes: Iterable[str]) -> str:
    codes = list(codes)
    if not codes:
        return ""
    prefix = codes[0]
    for c in codes[1:]:
        n = 0
        while n < min(len(prefix), len(c)) and prefix[n] == c[n]:
            n += 1
        prefix = prefix[:n]
    return prefix


def _resolve(codes: list[str], dadian_majors: set[int] | None) -> str | None:
    """Code to the longest common prefix of the suggestions, needing two digits at least."""
    if not codes:
        return None
    prefix = _common_prefix(codes)
    if len(prefix) >= 2:
        return prefix
    if dadian_majors:
        kept = [c for c in codes if int(c[0]) in dadian_majors]
        prefix = _common_prefix(kept)
        if len(prefix) >= 2:
            return prefix
    return None


def validate_manual_coding(manual: pd.DataFrame, where: str = "manual-coding file") -> pd.DataFrame:
    """Check a manual-coding table and return its decided rows.

    Parameters
    ----------
    manual : DataFrame
        Columns ``title_norm``, ``suggested``, ``decision``, ``coder``, ``date``
        (YYYY-MM-DD) and ``reason``; an empty ``decision`` is a title still to be coded.
    where : str
        The file, for messages.

    Returns
    -------
    DataFrame
        The decided rows (``title_norm``, ``decision``), titles re-normalised.

    Raises
    ------
    ConfigError
        Naming the file line, column and value: a missing column, a duplicated title, a
        decision that is not an ISCO-08 code of two to four digits (or ``uncodable``), or a
        decided row without coder, date or reason.
    """
    missing = [c for c in MANUAL_COLUMNS if c not in manual.columns]
    if missing:
        msg = f"{where}: columns {missing} are missing"
        raise ConfigError(msg)
    table = manual.astype(object).where(manual.notna(), None)
    codes = _structure()
    seen: dict[str, int] = {}
    decided = []
    for pos, row in enumerate(table.itertuples(index=False)):
        line = pos + 2
        title = normalize_title(row.title_norm)
        if title is None:
            msg = f"{where} line {line}: empty title_norm"
            raise ConfigError(msg)
        if title in seen:
            msg = f"{where} line {line}: title {title!r} already on line {seen[title]}"
            raise ConfigError(msg)
        seen[title] = line
        decision = (str(row.decision).strip() if row.decision is not None else "") or None
        if decision is None:
            continue
        if decision != UNCODABLE and (decision not in codes or len(decision) < 2):
            msg = (
                f"{where} line {line}, column decision: {decision!r} is not an ISCO-08 code of "
                f"2-4 digits (or {UNCODABLE!r})"
            )
            raise ConfigError(msg)
        for col in ("coder", "reason"):
            if not (getattr(row, col) and str(getattr(row, col)).strip()):
                msg = f"{where} line {line}: a decided row needs a {col}"
                raise ConfigError(msg)
        if not (row.date and _DATE.match(str(row.date).strip())):
            msg = f"{where} line {line}, column date: {row.date!r} is not YYYY-MM-DD"
            raise ConfigError(msg)
        decided.append({"title_norm": title, "decision": decision})
    return pd.DataFrame(decided, columns=["title_norm", "decision"])


def _dadian_majors() -> dict[int, set[int]]:
    table = reference_table("dadian_isco_major")
    out = {}
    for row in table.itertuples(index=False):
        majors = str(row.isco_majors) if not pd.isna(row.isco_majors) else ""
        out[int(row.dadian_major)] = {int(m) for m in majors.split(";") if m.strip()}
    return out


def code_occupations(
    data: pd.DataFrame,
    manual: pd.DataFrame | None = None,
    *,
    keywords: pd.DataFrame | None = None,
    title: str = "job_title_text",
    tasks: str = "job_tasks_text",
    dadian: str = "job_occ_major",
) -> pd.DataFrame:
    """Code each respondent's main job to ISCO-08.

    Parameters
    ----------
    data : DataFrame
        Clean apprentice data with the free-text ``title`` and ``tasks`` and the 大典 major group
        ``dadian`` (1-8) of the main job.
    manual : DataFrame, optional
        The reviewed manual-coding table (see :func:`validate_manual_coding`).
    keywords : DataFrame, optional
        A keyword table (``keyword``, ``isco08``, ``source``) replacing the packaged one.
    title, tasks, dadian : str
        Column names.

    Returns
    -------
    DataFrame
        Same index: ``job_title_norm``, ``isco08`` (text, 2-4 digits; ``"0"`` for armed forces
        known only from the 大典 group), ``isco_major`` (Int64 0-9), ``isco_digits`` (Int64),
        ``isco_method`` (categorical, :data:`CODING_METHODS`) and ``isco_suggested``
        (``|``-separated keyword suggestions).

    Raises
    ------
    IndicatorError
        When the title column is absent.

    Notes
    -----
    Unit: respondent x round. Rows without a title are ``no_title`` (not employed, skipped)
    unless the 大典 group is 7 (军队人员, armed forces), which codes major group 0.
    """
    if title not in data.columns:
        msg = f"occupation coding needs the {title!r} column"
        raise IndicatorError(msg)
    pairs = _keywords(keywords)
    decided = {} if manual is None else dict(validate_manual_coding(manual).to_numpy())
    dmap = _dadian_majors()
    dcodes = as_int(data[dadian], dadian) if dadian in data.columns else None
    task_text = data[tasks] if tasks in data.columns else pd.Series(None, index=data.index)
    rows = []
    for i, raw in data[title].items():
        norm = normalize_title(raw)
        dcode = None if dcodes is None or pd.isna(dcodes[i]) else int(dcodes[i])
        majors = dmap.get(dcode) if dcode is not None else None
        suggested = suggest_isco(norm, pairs)
        code, method = None, "no_title"
        if norm is not None and norm in decided:
            decision = decided[norm]
            code, method = (
                (None, "manual_uncodable") if decision == UNCODABLE else (decision, "manual")
            )
        elif norm is not None:
            code = _resolve(suggested, majors)
            method = "keyword_title" if code else "uncoded"
            if code is None:
                task_codes = suggest_isco(normalize_title(task_text[i]), pairs)
                code = _resolve(task_codes, majors)
                if code is not None:
                    method = "keyword_tasks"
                    suggested = sorted(set(suggested) | set(task_codes))
        if code is None and dcode == 7:
            code, method = "0", "dadian_armed_forces"
        rows.append(
            {
                "job_title_norm": norm,
                "isco08": code,
                "isco_method": method,
                "isco_suggested": "|".join(suggested) if suggested else None,
            }
        )
    out = pd.DataFrame(rows, index=data.index)
    out["job_title_norm"] = out["job_title_norm"].astype("string")
    out["isco08"] = out["isco08"].astype("string")
    out["isco_major"] = pd.to_numeric(out["isco08"].str[0], errors="coerce").astype("Int64")
    out["isco_digits"] = out["isco08"].str.len().astype("Int64")
    out["isco_method"] = pd.Categorical(out["isco_method"], categories=list(CODING_METHODS))
    out["isco_suggested"] = out["isco_suggested"].astype("string")
    return out[
        ["job_title_norm", "isco08", "isco_major", "isco_digits", "isco_method", "isco_suggested"]
    ]


def uncoded_titles(
    coded: pd.DataFrame, data: pd.DataFrame | None = None, manual: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Titles still without a code, with suggestions, ready to append to the manual-coding file.

    Parameters
    ----------
    coded : DataFrame
        The result of :func:`code_occupations`.
    data : DataFrame, optional
        The data it was coded from; adds the 大典 major groups seen with each title.
    manual : DataFrame, optional
        The current manual-coding table: its rows come first, unchanged, and titles already in
        it (decided or pending) are not repeated.

    Returns
    -------
    DataFrame
        The manual-coding columns (:data:`MANUAL_COLUMNS`) plus ``n`` (respondent-rounds with
        the title) and ``dadian_majors``; new rows have an empty decision, sorted by frequency
        then title.

    Notes
    -----
    Suggestions carry the ISCO-08 titles (``7223 Metal working machine tool setters and
    operators``) so the coder can decide without looking codes up. No free text other than the
    normalised title is exported.
    """
    titles = reference_table("isco08_structure").set_index("isco08")["title_en"]
    todo = coded[coded["isco_method"].eq("uncoded").fillna(False)]
    known = set()
    base = pd.DataFrame(columns=[*MANUAL_COLUMNS, "n", "dadian_majors"])
    if manual is not None:
        base = manual.copy()
        for c in ("n", "dadian_majors"):
            if c not in base.columns:
                base[c] = pd.NA
        known = {normalize_title(t) for t in base["title_norm"]}
    rows = []
    for norm, group in todo.groupby("job_title_norm", sort=True):
        if norm in known:
            continue
        codes = sorted(
            {c for s in group["isco_suggested"].dropna() for c in str(s).split("|") if c}
        )
        majors = ""
        if data is not None and "job_occ_major" in data.columns:
            seen = data.loc[group.index, "job_occ_major"].dropna().astype(int)
            majors = ";".join(str(m) for m in sorted(set(seen)))
        rows.append(
            {
                "title_norm": norm,
                "suggested": "; ".join(f"{c} {titles.get(c, '')}".strip() for c in codes),
                "decision": "",
                "coder": "",
                "date": "",
                "reason": "",
                "n": len(group),
                "dadian_majors": majors,
            }
        )
    new = pd.DataFrame(rows, columns=[*MANUAL_COLUMNS, "n", "dadian_majors"])
    new = new.sort_values(["n", "title_norm"], ascending=[False, True], kind="mergesort")
    return pd.concat([base, new], ignore_index=True)


def coding_coverage(coded: pd.DataFrame, by: pd.Series | None = None) -> pd.DataFrame:
    """Coverage of the occupation coding: counts and shares by method and digit level.

    Parameters
    ----------
    coded : DataFrame
        The result of :func:`code_occupations`.
    by : Series, optional
        A grouping aligned with ``coded`` (e.g. the round).

    Returns
    -------
    DataFrame
        One row per group x method: ``n``, ``share_of_titles`` (among respondents with a
        title) and ``digits_2``, ``digits_3``, ``digits_4`` (codes at each precision), plus a
        ``total`` row per group whose ``share_of_titles`` is the coded share.
    """
    groups = by if by is not None else pd.Series("all", index=coded.index)
    out = []
    for g, part in coded.groupby(groups.to_numpy(), sort=True):
        with_title = part["job_title_norm"].notna() | part["isco_method"].eq("dadian_armed_forces")
        n_titles = int(with_title.sum())
        for method in CODING_METHODS:
            rows = part[part["isco_method"].eq(method)]
            digits = rows["isco_digits"]
            out.append(
                {
                    "group": g,
                    "method": method,
                    "n": len(rows),
                    "share_of_titles": (
                        len(rows) / n_titles if n_titles and method != "no_title" else np.nan
                    ),
                    "digits_2": int(digits.eq(2).sum()),
                    "digits_3": int(digits.eq(3).sum()),
                    "digits_4": int(digits.eq(4).sum()),
                }
            )
        coded_rows = part["isco08"].notna()
        out.append(
            {
                "group": g,
                "method": "total_coded",
                "n": int(coded_rows.sum()),
                "share_of_titles": coded_rows.sum() / n_titles if n_titles else np.nan,
                "digits_2": int(part["isco_digits"].eq(2).sum()),
                "digits_3": int(part["isco_digits"].eq(3).sum()),
                "digits_4": int(part["isco_digits"].eq(4).sum()),
            }
        )
    return pd.DataFrame(out)


def code_industry(sections: pd.Series, letters: dict[int, str] | None = None) -> pd.DataFrame:
    """Map GB/T 4754-2017 sections to ISIC Rev.4 sections.

    Parameters
    ----------
    sections : Series
        ``job_industry`` / ``ent_industry`` codes of the ``industry_section`` list (1-20).
    letters : dict, optional
        Code -> GB/T 4754 section letter, from the list's ``gbt4754`` column (see
        :func:`evaluation.indicators.construct.list_column`); default: 1 = A ... 20 = T, the
        order of the standard and of ``surveys/lists/work.yaml``.

    Returns
    -------
    DataFrame
        ``gbt4754`` (letter), ``isic_section`` (the main ISIC section), ``isic_sections`` (all
        ISIC sections the GB section spans, ``;``-separated) and ``isic_relation``
        (``one_to_one`` / ``partial``).

    Raises
    ------
    IndicatorError
        For a code with no section letter.

    Notes
    -----
    GB/T 4754-2017 is declared non-equivalent (NEQ) to ISIC Rev.4 and its letters diverge after
    C, so sections are mapped through ``data/gbt4754_isic.csv``, never letter to letter. At
    section level some GB sections span several ISIC sections (``partial``); a division-level
    concordance is needed for exact ISIC sections and none could be sourced.
    """
    codes = as_int(sections, sections.name or "industry")
    mapping = letters or {i: chr(ord("A") + i - 1) for i in range(1, 21)}
    bad = sorted(set(codes.dropna().astype(int)) - set(mapping))
    if bad:
        msg = f"industry codes {bad} have no GB/T 4754 section letter"
        raise IndicatorError(msg)
    table = reference_table("gbt4754_isic").set_index("gbt4754")
    letter = codes.map(lambda c: pd.NA if pd.isna(c) else mapping[int(c)]).astype("string")
    out = pd.DataFrame(index=sections.index)
    out["gbt4754"] = letter
    for src, dst in (
        ("isic_main", "isic_section"),
        ("isic_sections", "isic_sections"),
        ("relation", "isic_relation"),
    ):
        out[dst] = letter.map(lambda s, col=src: pd.NA if pd.isna(s) else table[col][s]).astype(
            "string"
        )
    return out

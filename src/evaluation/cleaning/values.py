"""Text to values: normalisation, numbers, dates, special-code text, phones and ID numbers.

Pure, vectorised functions on pandas Series of text (pyarrow compute kernels, or numpy on the
distinct values); none changes its input, and each returns what it could not read instead of
guessing. They never coerce: a value that is not what its type expects is reported, and the
callers decide whether that is an error or a flag.

Conventions: an empty string and ``<NA>`` are both *blank* (no answer); normalisation is NFKC
(full-width digits and letters become ASCII, the ideographic space a space), zero-width
characters removed, the typographic minus ``−`` (U+2212) read as ``-``, and surrounding white
space stripped.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "NUMBER_PATTERN",
    "PHONE_PATTERN",
    "NumberParse",
    "blank",
    "fold",
    "normalise",
    "normalise_one",
    "normalise_phones",
    "parse_dates",
    "parse_datetimes",
    "parse_numbers",
    "resident_id_valid",
    "special_text",
    "text_series",
]

#: A plain decimal number after normalisation (no exponent: scientific notation is a mangled ID).
NUMBER_PATTERN = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
#: Digits grouped by thousands with commas (``1,000`` or ``12,345.5``).
_THOUSANDS = r"[+-]?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]*)?"
#: A mainland mobile number (DATA.md section 10, #6).
PHONE_PATTERN = r"1[3-9][0-9]{9}"
_INVISIBLE = "[\u200b\u200c\u200d\u2060\ufeff]"
_INVISIBLE_RE = re.compile(_INVISIBLE)
_PHONE_SEPARATORS = r"[\s\-\.\(\)（）]"
_ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
_ID_CHECK = np.frombuffer(b"10X98765432", dtype=np.uint8)
_ISO_DATE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}(?:T00:00(?::00(?:\.0+)?)?)?"
_EXCEL_EPOCH = pd.Timestamp("1899-12-30")
_OFFSET = re.compile(r"(?:Z|[+-][0-9]{2}:?[0-9]{2})$")


def text_series(values: pd.Series) -> pd.Series:
    """Return values as pandas ``string`` (pyarrow), on the same index.

    Parameters
    ----------
    values : pandas.Series
        Text, or any values (converted with ``astype``).

    Returns
    -------
    pandas.Series
        The values as ``string[pyarrow]``; missing values are ``<NA>``.
    """
    if isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow":
        return values
    return values.astype(pd.StringDtype("pyarrow"))


def _from_arrow(
    array: pa.Array | pa.ChunkedArray, index: pd.Index, name: object = None
) -> pd.Series:
    return pd.Series(pd.arrays.ArrowStringArray(array), index=index, name=name, copy=False)


def blank(values: pd.Series) -> pd.Series:
    """Say which values are blank (``<NA>`` or the empty string).

    Parameters
    ----------
    values : pandas.Series
        Text.

    Returns
    -------
    pandas.Series
        Booleans (numpy ``bool``) on the same index.
    """
    text = text_series(values)
    return (text.isna() | text.eq("")).fillna(True).astype(bool)


def normalise(values: pd.Series) -> pd.Series:
    """Normalise text: NFKC, zero-width characters removed, ``−`` as ``-``, white space stripped.

    Parameters
    ----------
    values : pandas.Series
        Text as received.

    Returns
    -------
    pandas.Series
        ``string[pyarrow]`` on the same index; ``<NA>`` stays ``<NA>``.

    Notes
    -----
    Idempotent. Full-width digits (``２５``), letters (``Ａ01``), the full-width minus
    (``－３``), comma and full stop become ASCII; the ideographic space and the no-break space
    become spaces and are stripped at both ends. Inner spaces are kept.
    """
    text = text_series(values)
    array = pa.array(text.array)
    array = pc.utf8_normalize(array, "NFKC")
    array = pc.replace_substring_regex(array, _INVISIBLE, "")
    array = pc.replace_substring(array, "\u2212", "-")
    array = pc.utf8_trim_whitespace(array)
    return _from_arrow(array, text.index, text.name)


@dataclass(frozen=True, slots=True)
class NumberParse:
    """Numbers read from text.

    Attributes
    ----------
    values : pandas.Series
        ``Float64``; ``<NA>`` where blank or unreadable.
    invalid : pandas.Series
        Booleans: not blank but not a number (or not an integer when integers were asked for).
    regrouped : pandas.Series
        Booleans: digits grouped by thousands with commas (``1,000``) read as one number.
    """

    values: pd.Series
    invalid: pd.Series
    regrouped: pd.Series


def parse_numbers(values: pd.Series, *, integer: bool = False) -> NumberParse:
    """Read normalised text as numbers, refusing anything that is not plainly a number.

    Parameters
    ----------
    values : pandas.Series
        Text, already normalised with :func:`normalise`.
    integer : bool, optional
        Only whole numbers are valid (``12`` and ``12.0``; ``12.5`` is invalid).

    Returns
    -------
    NumberParse
        The numbers, the invalid cells and the cells read with thousands separators.

    Notes
    -----
    Valid: an optional sign, ASCII digits with at most one decimal point (``.5``, ``5.``), or
    digits grouped by three with commas (``1,000``). Invalid: exponents (``1.2E+17`` is a
    spreadsheet-mangled identifier), other digit scripts, words, ``/`` or ``—``, anything with
    a unit. Whole numbers above 2**53 are invalid for integers (they cannot be held exactly).
    The work is done once per distinct value.
    """
    text = text_series(values)
    codes, uniques = pd.factorize(text, use_na_sentinel=True)
    distinct = pd.Series(uniques, dtype=pd.StringDtype("pyarrow"))
    grouped = distinct.str.fullmatch(_THOUSANDS).fillna(False).to_numpy(dtype=bool)
    plain = distinct.where(~grouped, distinct.str.replace(",", "", regex=False))
    ok = plain.str.fullmatch(NUMBER_PATTERN).fillna(False).to_numpy(dtype=bool)
    numbers = np.full(len(distinct), np.nan)
    if ok.any():
        numbers[ok] = np.asarray(plain[ok], dtype=object).astype(float)
    empty = distinct.eq("").fillna(True).to_numpy(dtype=bool)
    bad = ~ok & ~empty
    if integer:
        whole = np.isfinite(numbers) & (numbers == np.round(numbers)) & (np.abs(numbers) <= 2**53)
        bad |= ok & ~whole
        numbers[ok & ~whole] = np.nan
    # a sentinel slot at the end stands for <NA> (code -1)
    numbers = np.append(numbers, np.nan)
    bad = np.append(bad, False)
    regroup = np.append(grouped & ok, False)
    taken, invalid, regrouped = numbers[codes], bad[codes], regroup[codes]
    index = text.index
    return NumberParse(
        values=pd.Series(taken, index=index, dtype="Float64").mask(np.isnan(taken)),
        invalid=pd.Series(invalid, index=index, dtype=bool),
        regrouped=pd.Series(regrouped, index=index, dtype=bool),
    )


def special_text(values: pd.Series, mapping: Mapping[str, str]) -> pd.Series:
    """Map text answers such as ``不知道`` or ``拒绝`` to special-code keys.

    Parameters
    ----------
    values : pandas.Series
        Normalised text.
    mapping : Mapping
        Text (compared after NFKC and case folding) to a special-code key (``dont_know``...).

    Returns
    -------
    pandas.Series
        ``string``: the key where the text is listed, ``<NA>`` elsewhere.
    """
    text = text_series(values)
    if not mapping:
        return pd.Series(pd.NA, index=text.index, dtype="string")
    folded = _folded(tuple(sorted(mapping.items())))
    lowered = text.str.lower()
    hit = lowered.isin(list(folded)).fillna(False).to_numpy(dtype=bool)
    out = pd.Series(pd.NA, index=text.index, dtype="string")
    if hit.any():
        out[hit] = lowered[hit].map(folded).astype("string")
    return out


@functools.lru_cache(maxsize=64)
def _folded(items: tuple[tuple[str, str], ...]) -> dict[str, str]:
    return {fold(k): v for k, v in items}


def normalise_one(text: str) -> str:
    """Normalise one text exactly as :func:`normalise` normalises a column.

    Parameters
    ----------
    text : str
        Any text.

    Returns
    -------
    str
        NFKC, zero-width characters removed, ``−`` as ``-``, surrounding white space stripped.
    """
    folded = unicodedata.normalize("NFKC", text)
    folded = _INVISIBLE_RE.sub("", folded).replace("\u2212", "-")
    return folded.strip()


def fold(text: str) -> str:
    """Fold a text as :func:`special_text` compares it: NFKC, invisible characters, case.

    Parameters
    ----------
    text : str
        Any text.

    Returns
    -------
    str
        The text normalised like :func:`normalise` and lower-cased.
    """
    return normalise_one(text).lower()


def parse_dates(values: pd.Series, fmt: str = "iso8601") -> tuple[pd.Series, pd.Series]:
    """Read normalised text as calendar dates with a declared format.

    Parameters
    ----------
    values : pandas.Series
        Normalised text.
    fmt : str, optional
        ``"iso8601"`` (``2024-03-05``; a spreadsheet's ``2024-03-05T00:00:00`` too),
        ``"excel-serial"`` (days since 1899-12-30, the 1900 date system) or a
        `strptime <https://docs.python.org/3/library/datetime.html#format-codes>`__ format
        such as ``"%Y/%m/%d"`` or ``"%Y年%m月%d日"``.

    Returns
    -------
    tuple of (pandas.Series, pandas.Series)
        Naive ``datetime64[us]`` dates (NaT where blank or invalid) and the invalid cells.

    Notes
    -----
    Never guesses: ``5/3/2024`` is read only with a declared day-first or month-first format.
    """
    text = text_series(values)
    empty = blank(text)
    if fmt == "iso8601":
        shaped = text.str.fullmatch(_ISO_DATE).fillna(False).astype(bool)
        parsed = pd.to_datetime(
            text.where(shaped).str.slice(0, 10), format="%Y-%m-%d", errors="coerce"
        )
    elif fmt == "excel-serial":
        numbers = parse_numbers(text, integer=True).values
        parsed = _EXCEL_EPOCH + pd.to_timedelta(numbers.astype("float64"), unit="D")
    else:
        parsed = pd.to_datetime(text.where(~empty), format=fmt, errors="coerce")
    parsed = pd.Series(parsed, index=text.index).astype("datetime64[us]")
    invalid = (parsed.isna() & ~empty).astype(bool)
    return parsed, invalid


def parse_datetimes(
    values: pd.Series, timezone: str | None
) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Read ISO 8601 date-times into tz-aware UTC.

    Parameters
    ----------
    values : pandas.Series
        Normalised text (``2024-03-05T10:00:00.000+08:00``).
    timezone : str or None
        IANA zone of values written without an offset; without it they are not read.

    Returns
    -------
    tuple of (pandas.Series, pandas.Series, pandas.Series)
        ``datetime64[us, UTC]`` values, the invalid cells, and the cells that lack an offset
        while no time zone is declared (also invalid).
    """
    text = text_series(values)
    empty = blank(text)
    offset = text.str.contains(_OFFSET.pattern, regex=True).fillna(False).astype(bool)
    aware = pd.to_datetime(text.where(offset), format="ISO8601", utc=True, errors="coerce")
    naive_text = text.where(~offset & ~empty)
    no_zone = pd.Series(False, index=text.index)
    if timezone is None:
        no_zone = (~offset & ~empty).astype(bool)
        naive = pd.Series(pd.NaT, index=text.index, dtype="datetime64[us, UTC]")
    else:
        local = pd.to_datetime(naive_text, format="ISO8601", errors="coerce")
        naive = local.dt.tz_localize(timezone, ambiguous="NaT", nonexistent="NaT").dt.tz_convert(
            "UTC"
        )
    parsed = aware.where(offset, naive).astype("datetime64[us, UTC]")
    invalid = (parsed.isna() & ~empty).astype(bool)
    return parsed, invalid, no_zone


def normalise_phones(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    r"""Normalise mainland mobile numbers and say which are valid.

    Parameters
    ----------
    values : pandas.Series
        Phone numbers as text (``+86 138-1234-5678``, ``１３８１２３４５６７８``...).

    Returns
    -------
    tuple of (pandas.Series, pandas.Series)
        The numbers as 11 digits where they can be (NFKC; spaces, dashes, dots and brackets
        removed; a leading ``+86``, ``0086`` or ``86`` removed from 13- and 15-character
        numbers), else the normalised text; and whether each matches ``^1[3-9]\\d{9}$``
        (``False`` where blank).
    """
    text = normalise(values).str.replace(_PHONE_SEPARATORS, "", regex=True)
    prefixed = text.str.fullmatch(r"(?:\+86|0086|86)1[0-9]{10}").fillna(False).astype(bool)
    text = text.where(~prefixed, text.str.slice(-11))
    valid = text.str.fullmatch(PHONE_PATTERN).fillna(False).astype(bool)
    return text, valid


def _check_digits(ids: np.ndarray) -> np.ndarray:
    r"""Whether 18-character ASCII IDs (``\\d{17}[\\dX]``) carry the right check character."""
    if ids.size == 0:
        return np.zeros(0, dtype=bool)
    raw = np.frombuffer("".join(ids.tolist()).encode("ascii"), dtype=np.uint8).reshape(-1, 18)
    digits = raw[:, :17].astype(np.int64) - 48
    expected = _ID_CHECK[(digits @ _ID_WEIGHTS) % 11]
    return raw[:, 17] == expected


def resident_id_valid(values: pd.Series) -> pd.Series:
    """Say which values are valid resident ID numbers (身份证号, GB 11643-1999).

    Parameters
    ----------
    values : pandas.Series
        ID numbers as text.

    Returns
    -------
    pandas.Series
        Booleans: 18 characters (17 digits and a digit or ``X``, lower-case ``x`` accepted) with
        the ISO 7064 MOD 11-2 check character and a real birth date (1900 or later) in
        characters 7-14, or a 15-digit legacy number (GB 11643-1989) with a real birth date
        ``19YYMMDD`` in characters 7-12. ``False`` where blank.
    """
    text = normalise(values).str.upper()
    long = text.str.fullmatch(r"[0-9]{17}[0-9X]").fillna(False).to_numpy(dtype=bool)
    legacy = text.str.fullmatch(r"[0-9]{15}").fillna(False).to_numpy(dtype=bool)
    valid = np.zeros(len(text), dtype=bool)
    if long.any():
        ids = np.asarray(text[long], dtype=object)
        births = pd.to_datetime(text[long].str.slice(6, 14), format="%Y%m%d", errors="coerce")
        plausible = births.notna().to_numpy() & (births.dt.year.to_numpy() >= 1900)
        valid[long] = _check_digits(ids) & plausible
    if legacy.any():
        births = pd.to_datetime(
            "19" + text[legacy].str.slice(6, 12), format="%Y%m%d", errors="coerce"
        )
        valid[legacy] = births.notna().to_numpy()
    return pd.Series(valid, index=text.index, dtype=bool)

"""SPSS and Stata files: typed values with their labels and missing-value definitions intact.

pyreadstat's defaults lose information that a survey evaluation needs (DATA.md section 6.3): by
default user-defined missing codes (-99 don't know, -98 refused, -97 not applicable) all become
NaN, and Stata files of format 117 or older, which declare no encoding, decode Chinese text as
Windows-1252 without any error. This module reads with ``user_missing=True``, keeps the codes as
values next to their definitions, applies no value labels to the data, checks the Stata format
version, and requires a declared encoding where the file cannot say its own.
"""

from __future__ import annotations

import os
import pathlib
import re
from dataclasses import dataclass
from typing import Any

import pandas as pd
import pyreadstat

from evaluation.loaders.errors import DecodingError, RowCountError, SourceFormatError
from evaluation.loaders.model import Labels
from evaluation.loaders.text import common_hanzi_share, mojibake_runs

__all__ = ["LabelledData", "dta_version", "read_labelled"]

_RELEASE = re.compile(rb"<release>(\d+)</release>")
_CJK_CODECS = frozenset({"gb18030", "gbk", "gb2312", "cp936", "euc-cn", "big5"})
_SUFFIXES = {".sav": "sav", ".zsav": "zsav", ".dta": "dta", ".por": "por"}


@dataclass(frozen=True, slots=True)
class LabelledData:
    """An SPSS or Stata file read with everything it declares.

    Attributes
    ----------
    data : pandas.DataFrame
        The values with their stored types: numbers stay numbers, user-defined missing codes are
        kept as values (SPSS) or as their letters (Stata ``.a`` .. ``.z``), system-missing is NaN,
        strings stay strings (an empty string stays ``""``). Value labels are not applied.
    labels : Labels
        Variable labels, value labels, missing-value definitions, storage types, measures, file
        label and encoding.
    file_format : str
        ``sav``, ``zsav``, ``por`` or ``dta``.
    format_version : str
        ``dta 117``, ``dta 118``... for Stata; the file format otherwise.
    encoding : str or None
        The encoding used to decode the file's text.
    """

    data: pd.DataFrame
    labels: Labels
    file_format: str
    format_version: str
    encoding: str | None


def dta_version(head: bytes) -> int:
    """Return the format version (release) of a Stata ``.dta`` file from its first bytes.

    Parameters
    ----------
    head : bytes
        At least the first 64 bytes of the file.

    Returns
    -------
    int
        The release: 104-115 for Stata 4-12 (binary header), 117 for Stata 13, 118 and 119 for
        Stata 14 and later (XML-like header ``<release>118</release>``).

    Raises
    ------
    SourceFormatError
        When the bytes are not a Stata file header.
    """
    if head.startswith(b"<stata_dta>"):
        match = _RELEASE.search(head[:128])
        if match:
            return int(match.group(1))
    elif head and 104 <= head[0] <= 115:
        return head[0]
    msg = "not a Stata .dta file (unrecognised header)"
    raise SourceFormatError(msg)


def _texts_of(data: pd.DataFrame, meta: Any, *, values: bool) -> list[tuple[str, str]]:
    # Every piece of text that carries the file's encoding: labels, and string values if asked.
    found: list[tuple[str, str]] = []
    for column, label in zip(meta.column_names, meta.column_labels or [], strict=False):
        if label:
            found.append((f"variable label of {column!r}", label))
    for column, mapping in (meta.variable_value_labels or {}).items():
        for value, label in mapping.items():
            found.append((f"value label {value!r} of {column!r}", str(label)))
    if meta.file_label:
        found.append(("file label", meta.file_label))
    for column in data.columns if values else ():
        if pd.api.types.is_string_dtype(data[column]):
            sample = data[column].dropna().unique()[:200]
            found += [(f"a value of {column!r}", str(v)) for v in sample if not str(v).isascii()]
    return found


def _check_cjk(texts: list[tuple[str, str]], encoding: str, where: str) -> None:
    for what, text in texts:
        for _, run in mojibake_runs(text, limit=20):
            share = common_hanzi_share(run)
            if share is not None and share < 0.5:
                msg = (
                    f"{where}: the {what} does not decode to Chinese with the declared encoding "
                    f"{encoding!r} (only {share:.0%} common Chinese characters); check the "
                    "declared encoding"
                )
                raise DecodingError(msg)


def _labels(meta: Any, encoding: str | None) -> Labels:
    return Labels(
        variable_labels={
            name: label
            for name, label in zip(meta.column_names, meta.column_labels or [], strict=False)
            if label
        },
        value_labels=dict(meta.variable_value_labels or {}),
        missing_ranges={k: tuple(v) for k, v in (meta.missing_ranges or {}).items()},
        missing_user_values={k: tuple(v) for k, v in (meta.missing_user_values or {}).items()},
        variable_types=dict(meta.original_variable_types or {}),
        variable_measure=dict(meta.variable_measure or {}),
        file_label=meta.file_label or None,
        file_encoding=getattr(meta, "file_encoding", None) or encoding,
    )


def read_labelled(
    path: str | os.PathLike[str], *, encoding: str | None = None, name: str | None = None
) -> LabelledData:
    """Read any ``.sav``, ``.zsav``, ``.dta`` or ``.por`` file with its labels and missing values.

    Parameters
    ----------
    path : path-like
        The file.
    encoding : str, optional
        The text encoding. SPSS files declare their own (used when this is omitted; a different
        declared value overrides it). Stata files of format 117 or older declare none: when they
        hold non-ASCII text this is required (``gb18030`` for Chinese sources). Stata 118+ is
        UTF-8 by definition. POR files take none.
    name : str, optional
        The file as named in messages (default: the path).

    Returns
    -------
    LabelledData
        The data with user-defined missing codes kept as values, plus variable labels, value
        labels and missing-value definitions.

    Raises
    ------
    SourceFormatError
        When the suffix is not one of ``.sav .zsav .dta .por`` or the file cannot be parsed.
    DecodingError
        When a Stata 117-or-older file holds non-ASCII text and no encoding is given, when a
        non-UTF-8 encoding is given for Stata 118+, or when labels do not decode to Chinese
        with a declared Chinese encoding.
    RowCountError
        When the file has no rows.

    Notes
    -----
    Read with pyreadstat ``user_missing=True`` and no value formats applied (DATA.md section
    6.3): combining ``apply_value_formats`` with ``user_missing`` mixes labels and numbers in one
    column, and the default turns -99/-98/-97 into indistinguishable NaN.
    """
    source = pathlib.Path(path)
    where = name or str(source)
    kind = _SUFFIXES.get(source.suffix.lower())
    if kind is None:
        msg = f"{where}: not an SPSS or Stata file (suffix must be one of {sorted(_SUFFIXES)})"
        raise SourceFormatError(msg)
    try:
        with source.open("rb") as handle:
            head = handle.read(128)
    except FileNotFoundError:
        msg = f"{where}: file not found"
        raise SourceFormatError(msg) from None
    if not head:
        msg = f"{where}: the file is empty (0 bytes)"
        raise RowCountError(msg)
    try:
        if kind == "dta":
            data, meta, version, used = _read_dta(source, head, encoding, where)
        elif kind == "por":
            if encoding:
                msg = f"{where}: SPSS portable files take no encoding (they are read as UTF-8)"
                raise DecodingError(msg)
            data, meta = pyreadstat.read_por(str(source))
            version, used = "por", None
        else:
            data, meta, used = _read_sav(source, encoding, where)
            version = "zsav" if head.startswith(b"$FL3") else "sav"
    except pyreadstat.ReadstatError as err:
        msg = f"{where}: pyreadstat cannot read the file ({err}); check the declared encoding"
        raise SourceFormatError(msg) from None
    except UnicodeDecodeError as err:
        used = encoding or "the default encoding"
        msg = f"{where}: text does not decode with {used} ({err.reason})"
        raise DecodingError(msg) from None
    if len(data) == 0:
        msg = f"{where}: the file has variables but no rows (no data)"
        raise RowCountError(msg)
    return LabelledData(
        data=data,
        labels=_labels(meta, used),
        file_format=kind,
        format_version=version,
        encoding=used,
    )


def _read_sav(
    source: pathlib.Path, encoding: str | None, where: str
) -> tuple[Any, Any, str | None]:
    kwargs: dict[str, Any] = {"user_missing": True, "apply_value_formats": False}
    if encoding:
        kwargs["encoding"] = encoding
    data, meta = pyreadstat.read_sav(str(source), **kwargs)
    used = encoding or meta.file_encoding
    if encoding and encoding.lower().replace("_", "-") in _CJK_CODECS:
        _check_cjk(_texts_of(data, meta, values=False), encoding, where)
    return data, meta, used


def _read_dta(
    source: pathlib.Path, head: bytes, encoding: str | None, where: str
) -> tuple[Any, Any, str, str | None]:
    release = dta_version(head)
    version = f"dta {release}"
    kwargs: dict[str, Any] = {"user_missing": True, "apply_value_formats": False}
    if release >= 118:
        if encoding and encoding.lower().replace("_", "-") not in {"utf-8", "utf8"}:
            msg = (
                f"{where}: Stata format {release} stores text as UTF-8 by definition; remove the "
                f"declared encoding {encoding!r}"
            )
            raise DecodingError(msg)
        data, meta = pyreadstat.read_dta(str(source), **kwargs)
        return data, meta, version, "utf-8"
    if encoding is None:
        data, meta = pyreadstat.read_dta(str(source), **kwargs)
        texts = _texts_of(data, meta, values=True)
        if any(not text.isascii() for _, text in texts):
            what = next(w for w, text in texts if not text.isascii())
            msg = (
                f"{where}: Stata format {release} (Stata 13 or older) declares no text encoding "
                f"and the {what} holds non-ASCII bytes; declare its encoding (e.g. 'gb18030' for "
                "files from Chinese Stata) so that it is not silently read as Windows-1252"
            )
            raise DecodingError(msg)
        return data, meta, version, None
    kwargs["encoding"] = encoding
    data, meta = pyreadstat.read_dta(str(source), **kwargs)
    if encoding.lower().replace("_", "-") in _CJK_CODECS:
        _check_cjk(_texts_of(data, meta, values=False), encoding, where)
    return data, meta, version, encoding

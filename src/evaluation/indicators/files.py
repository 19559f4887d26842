"""Reading the indicator stage's reference tables: packaged crosswalks and user-supplied tables.

The only module of :mod:`evaluation.indicators` that reads files. Packaged tables live in
``evaluation/indicators/data/*.csv``; every table, packaged or supplied, must carry a non-empty
``source`` column that cites where each row comes from. Values the project cannot source (CPI
deflators, local minimum wages, logframe targets) are never shipped: the user supplies them and
the run reports what is missing.
"""

from __future__ import annotations

import functools
import importlib.resources
import io
import os
import pathlib
import tomllib
from typing import Any

import pandas as pd

from evaluation.indicators._common import ConfigError

__all__ = ["PACKAGED_TABLES", "read_table", "read_toml", "reference_table"]

#: Tables shipped with the package (file stem -> what it holds).
PACKAGED_TABLES = {
    "isco_isced_normative": "ISCO-08 major group -> skill level -> required ISCED-2011 levels",
    "ilostat_education_bands": "ISCED-2011 level -> ILOSTAT aggregate education band",
    "ilostat_occupation_skill": "ISCO-08 major group -> ILOSTAT occupation skill band",
    "dadian_isco_major": "职业分类大典 2022 major group -> plausible ISCO-08 major groups",
    "isco08_structure": "ISCO-08 codes (1-4 digits) and English titles",
    "isco_keywords": "Chinese job-title keywords -> ISCO-08 codes",
    "gbt4754_isic": "GB/T 4754-2017 sections -> ISIC Rev.4 sections",
    "edu_years": "Chinese education level (edu_level code) -> years of schooling",
}


def _check_sources(table: pd.DataFrame, where: str) -> pd.DataFrame:
    if "source" not in table.columns:
        msg = f"{where}: a reference table needs a 'source' column citing every row"
        raise ConfigError(msg)
    blank = table["source"].isna() | table["source"].astype(str).str.strip().eq("")
    if blank.any():
        rows = [int(i) + 2 for i in table.index[blank][:5]]
        msg = f"{where}: rows {rows} (file lines) have no source"
        raise ConfigError(msg)
    return table


@functools.cache
def _packaged(name: str) -> pd.DataFrame:
    if name not in PACKAGED_TABLES:
        msg = f"no packaged table {name!r}; tables: {sorted(PACKAGED_TABLES)}"
        raise ConfigError(msg)
    text = (
        importlib.resources.files("evaluation.indicators")
        .joinpath("data", f"{name}.csv")
        .read_text(encoding="utf-8")
    )
    table = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_values=[""])
    return _check_sources(table, f"evaluation/indicators/data/{name}.csv")


def reference_table(name: str) -> pd.DataFrame:
    """Return a packaged reference table (all columns as text, blanks missing).

    Parameters
    ----------
    name : str
        File stem, one of :data:`PACKAGED_TABLES`.

    Returns
    -------
    DataFrame
        A copy of the table.

    Raises
    ------
    ConfigError
        For an unknown table, or a row without a source.
    """
    return _packaged(name).copy()


def read_table(
    path: str | os.PathLike[str], required: tuple[str, ...] = (), what: str = "table"
) -> pd.DataFrame:
    """Read a user-supplied reference table (CSV, UTF-8) and check its columns and sources.

    Parameters
    ----------
    path : str or PathLike
        The CSV file.
    required : tuple of str
        Columns that must be present besides ``source``.
    what : str
        What the table is, for messages.

    Returns
    -------
    DataFrame
        The table, every column as text (blanks missing).

    Raises
    ------
    ConfigError
        When the file is missing, a column is absent or a row has no source.
    """
    file = pathlib.Path(path)
    if not file.is_file():
        msg = f"{what}: file {file} not found"
        raise ConfigError(msg)
    table = pd.read_csv(file, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8")
    missing = [c for c in required if c not in table.columns]
    if missing:
        msg = f"{what} {file}: columns {missing} are missing (found {list(table.columns)})"
        raise ConfigError(msg)
    return _check_sources(table, f"{what} {file}")


def read_toml(path: str | os.PathLike[str], what: str) -> dict[str, Any]:
    """Read a TOML file.

    Parameters
    ----------
    path : str or PathLike
        The file.
    what : str
        What it is, for messages.

    Returns
    -------
    dict
        The parsed document.

    Raises
    ------
    ConfigError
        When the file is missing or not valid TOML.
    """
    file = pathlib.Path(path)
    if not file.is_file():
        msg = f"{what}: file {file} not found"
        raise ConfigError(msg)
    try:
        return tomllib.loads(file.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        msg = f"{what} {file}: not valid TOML ({exc})"
        raise ConfigError(msg) from exc

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

__all__ = [
    "PACKAGED_TABLES",
    "indicator_config",
    "read_manual_coding",
    "read_table",
    "read_toml",
    "reference_table",
    "write_manual_coding",
]

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


def read_manual_coding(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read the reviewed manual occupation-coding file (CSV, UTF-8).

    Parameters
    ----------
    path : str or PathLike
        The file; columns ``title_norm``, ``suggested``, ``decision``, ``coder``, ``date``,
        ``reason`` (see :func:`evaluation.indicators.occupations.validate_manual_coding`).

    Returns
    -------
    DataFrame
        The table, all text, blanks as empty strings.

    Raises
    ------
    ConfigError
        When the file is missing.
    """
    file = pathlib.Path(path)
    if not file.is_file():
        msg = f"manual-coding file {file} not found"
        raise ConfigError(msg)
    return pd.read_csv(file, dtype=str, keep_default_na=False, encoding="utf-8")


def write_manual_coding(table: pd.DataFrame, path: str | os.PathLike[str]) -> pathlib.Path:
    """Write the manual-coding table (e.g. from ``uncoded_titles``) as UTF-8 CSV.

    Parameters
    ----------
    table : DataFrame
        The table to write.
    path : str or PathLike
        Destination; parent folders are created.

    Returns
    -------
    pathlib.Path
        The written file.
    """
    file = pathlib.Path(path)
    file.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(file, index=False, encoding="utf-8", lineterminator="\n")
    return file


def indicator_config(settings: dict[str, Any], base_dir: str | os.PathLike[str] = ".") -> Any:
    """Build an :class:`~evaluation.indicators.construct.IndicatorConfig` from plan settings.

    Parameters
    ----------
    settings : dict
        The ``[indicators]`` table of the analysis plan. Table paths (``cpi``, ``min_wage``,
        ``manual_coding``, ``keywords``, ``field_crosswalk``, ``stat_external``) are read
        relative to ``base_dir``; ``wage`` holds :class:`~evaluation.indicators.jobs.WageRules`
        fields; ``normative_overrides`` maps major groups to ``[min, max]`` or ``"excluded"``;
        other keys are passed as they are.
    base_dir : str or PathLike
        Folder the paths are relative to.

    Returns
    -------
    IndicatorConfig
        The settings.

    Raises
    ------
    ConfigError
        For an unknown key, a missing file or a table without sources.
    """
    from evaluation.indicators.construct import IndicatorConfig
    from evaluation.indicators.jobs import WageRules

    base = pathlib.Path(base_dir)
    tables = {
        "cpi": ("year", "cpi"),
        "min_wage": ("city", "year", "min_wage_month"),
        "keywords": ("keyword", "isco08"),
        "field_crosswalk": ("isced_field", "isco"),
        "stat_external": ("isco", "level", "weight"),
    }
    known = set(IndicatorConfig.__dataclass_fields__) | {"wage"}
    unknown = sorted(set(settings) - known)
    if unknown:
        msg = f"indicator settings: unknown keys {unknown}"
        raise ConfigError(msg)
    values: dict[str, Any] = {}
    for key, value in settings.items():
        if key in tables:
            values[key] = read_table(base / value, tables[key], key)
        elif key == "manual_coding":
            values[key] = read_manual_coding(base / value)
        elif key == "wage":
            wage = dict(value)
            if "brackets" in wage:
                wage["brackets"] = {
                    int(k): (float(v[0]), None if v[1] in (None, "") else float(v[1]))
                    for k, v in wage["brackets"].items()
                }
            for pair in ("winsor",):
                if pair in wage:
                    wage[pair] = tuple(wage[pair])
            values["wage_rules"] = WageRules(**wage)
        elif key == "normative_overrides":
            values[key] = {
                int(k): None if v == "excluded" else (int(v[0]), int(v[1]))
                for k, v in value.items()
            }
        elif key == "isced_overrides":
            values[key] = {int(k): int(v) for k, v in value.items()}
        else:
            values[key] = value
    return IndicatorConfig(**values)

"""Reading instrument definitions from ``surveys/`` and writing built forms: the stage's file edge.

Everything else in :mod:`evaluation.instruments` is pure; this module alone touches the disk.
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Mapping
from typing import Any

import yaml

from evaluation.instruments.definitions import (
    LINE,
    Document,
    SurveyDefinitions,
    build_instrument,
    instrument_rounds,
)
from evaluation.instruments.errors import InstrumentError
from evaluation.instruments.lint import check_instruments
from evaluation.instruments.model import Instrument

__all__ = [
    "dump_yaml",
    "parse_yaml",
    "read_definitions",
    "read_instruments",
    "write_definitions",
    "write_outputs",
]


#: libyaml's parser when PyYAML was built with it (about 10x faster on the definitions), else
#: the pure-Python one; both give the same documents, marks and errors.
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _LineLoader(_SafeLoader):
    """Safe YAML loader that records each mapping's line number under ``__line__``."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    mapping = loader.construct_mapping(node, deep=True)
    keys = [loader.construct_object(k, deep=True) for k, _ in node.value]
    duplicates = sorted({str(k) for k in keys if keys.count(k) > 1})
    if duplicates:
        raise yaml.constructor.ConstructorError(
            None, None, f"duplicate keys {duplicates} in one mapping", node.start_mark
        )
    mapping[LINE] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def parse_yaml(text: str, path: str) -> Document:
    """Parse YAML text, keeping line numbers for messages.

    Parameters
    ----------
    text : str
        The YAML source.
    path : str
        The file it came from, as it should appear in messages.

    Returns
    -------
    Document
        The parsed content with ``__line__`` entries in every mapping.

    Raises
    ------
    InstrumentError
        On a YAML syntax error or a duplicate key, naming the file, line and column.
    """
    try:
        content = yaml.load(text, Loader=_LineLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else path
        problem = getattr(err, "problem", None) or str(err)
        raise InstrumentError(f"{where}: YAML syntax error: {problem}") from None
    return Document(path=path, content=content)


def _read(path: pathlib.Path, root: pathlib.Path) -> Document:
    try:
        shown = str(path.relative_to(root.parent))
    except ValueError:
        shown = str(path)
    return parse_yaml(path.read_text(encoding="utf-8"), shown)


def read_definitions(surveys: str | os.PathLike[str]) -> SurveyDefinitions:
    """Read every definition file of a ``surveys/`` folder.

    Parameters
    ----------
    surveys : path-like
        The folder holding ``instruments/``, ``modules/`` and ``lists/``.

    Returns
    -------
    SurveyDefinitions
        The parsed files.

    Raises
    ------
    InstrumentError
        When the folder lacks ``instruments/`` or a file cannot be parsed.
    """
    root = pathlib.Path(surveys)
    if not (root / "instruments").is_dir():
        msg = f"{root}: not a surveys folder (expected {root / 'instruments'}/)"
        raise InstrumentError(msg)
    instruments = tuple(_read(p, root) for p in sorted((root / "instruments").glob("*.yaml")))
    modules = {p.stem: _read(p, root) for p in sorted((root / "modules").glob("*.yaml"))}
    lists = tuple(_read(p, root) for p in sorted((root / "lists").glob("*.yaml")))
    return SurveyDefinitions(instruments=instruments, modules=modules, lists=lists)


def read_instruments(
    surveys: str | os.PathLike[str], *, check: bool = True
) -> dict[tuple[str, str], Instrument]:
    """Build every instrument and round defined in a ``surveys/`` folder.

    Parameters
    ----------
    surveys : path-like
        The folder holding ``instruments/``, ``modules/`` and ``lists/``.
    check : bool, optional
        Run the instrument lint and raise on any error-level finding (default). Switch off only
        to inspect a broken definition.

    Returns
    -------
    dict
        ``(instrument, round)`` to the built form, in file and round order.

    Raises
    ------
    InstrumentError
        For any definition that cannot be built (see
        :func:`evaluation.instruments.definitions.build_instrument`) or, with ``check``, that
        breaks a lint rule (see :func:`evaluation.instruments.lint.check_instruments`).
    """
    definitions = read_definitions(surveys)
    built: dict[tuple[str, str], Instrument] = {}
    for doc in definitions.instruments:
        for round_name in instrument_rounds(doc):
            form = build_instrument(definitions, doc, round_name)
            built[(form.instrument or doc.path, round_name)] = form
    if check:
        check_instruments(built)
    return built


def write_outputs(files: Mapping[str, bytes], out: str | os.PathLike[str]) -> list[pathlib.Path]:
    """Write built files into a folder, creating it when needed.

    Parameters
    ----------
    files : Mapping
        Relative file name to content.
    out : path-like
        The output folder.

    Returns
    -------
    list of pathlib.Path
        The files written, sorted.
    """
    root = pathlib.Path(out)
    written = []
    for name in sorted(files):
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(files[name])
        written.append(target)
    return written


def dump_yaml(document: Any) -> str:
    """Serialise a definition document as readable YAML (Chinese kept as characters).

    Parameters
    ----------
    document : Any
        Plain mappings, lists and scalars.

    Returns
    -------
    str
        The YAML text.
    """
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=100)


def write_definitions(
    documents: Mapping[str, Any], out: str | os.PathLike[str]
) -> list[pathlib.Path]:
    """Write definition documents as a ``surveys/``-style folder.

    Parameters
    ----------
    documents : Mapping
        Relative path to document, as from
        :func:`evaluation.instruments.definitions.to_definitions`.
    out : path-like
        The folder to create or fill.

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    return write_outputs({k: dump_yaml(v).encode("utf-8") for k, v in documents.items()}, out)

"""File access of the loaders: read raw bytes, zip members, ``sources.toml`` and manifests.

With :mod:`evaluation.loaders.labelled` (SPSS and Stata through pyreadstat), the only module of the
stage that opens files. Raw files are opened read-only and never written.
"""

from __future__ import annotations

import hashlib
import io
import os
import pathlib
import zipfile

from evaluation.loaders.errors import RowCountError, SourceFormatError, SourcesConfigError
from evaluation.loaders.manifest import Manifest, manifest_from_json, manifest_to_json
from evaluation.loaders.sources import Sources, parse_sources

__all__ = [
    "digest",
    "read_bytes",
    "read_manifest",
    "read_sources_toml",
    "write_manifest",
    "zip_members",
]

#: The declaration file every raw folder holds.
SOURCES_FILE = "sources.toml"


def read_bytes(path: pathlib.Path, name: str) -> bytes:
    """Read a raw file's bytes.

    Parameters
    ----------
    path : pathlib.Path
        The file.
    name : str
        The file as named in messages (as declared in ``sources.toml``).

    Returns
    -------
    bytes
        The contents.

    Raises
    ------
    SourcesConfigError
        When the declared file does not exist or is not a file.
    """
    try:
        with path.open("rb") as handle:
            return handle.read()
    except FileNotFoundError:
        msg = f"{name}: declared in sources.toml but not found at {path}"
        raise SourcesConfigError(msg) from None
    except IsADirectoryError:
        msg = f"{name}: declared in sources.toml as a file but {path} is a folder"
        raise SourcesConfigError(msg) from None


def digest(data: bytes) -> str:
    """Return the SHA-256 of some bytes in hexadecimal.

    Parameters
    ----------
    data : bytes
        File contents.

    Returns
    -------
    str
        64 hexadecimal characters.
    """
    return hashlib.sha256(data).hexdigest()


def zip_members(data: bytes, name: str) -> dict[str, bytes]:
    """Return the files inside a zip archive.

    Parameters
    ----------
    data : bytes
        The archive.
    name : str
        The archive as named in messages.

    Returns
    -------
    dict
        Member name to its bytes, folders left out, in archive order.

    Raises
    ------
    RowCountError
        When the archive is empty.
    SourceFormatError
        When the bytes are not a zip archive or a member is corrupt.
    """
    if not data:
        msg = f"{name}: the file is empty (0 bytes)"
        raise RowCountError(msg)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = {
                info.filename: archive.read(info)
                for info in archive.infolist()
                if not info.is_dir()
            }
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError) as err:
        msg = f"{name}: not a readable zip archive ({err}); download the export again"
        raise SourceFormatError(msg) from None
    if not members:
        msg = f"{name}: the zip archive holds no files"
        raise RowCountError(msg)
    return members


def read_sources_toml(raw_dir: str | os.PathLike[str]) -> Sources:
    """Read and parse the ``sources.toml`` of a raw folder.

    Parameters
    ----------
    raw_dir : path-like
        The raw folder (``--raw DIR``).

    Returns
    -------
    Sources
        The declarations, with paths resolved against the folder.

    Raises
    ------
    SourcesConfigError
        When the folder has no ``sources.toml`` or it is invalid (see
        :func:`~evaluation.loaders.sources.parse_sources`).
    """
    root = pathlib.Path(raw_dir)
    path = root / SOURCES_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        msg = (
            f"{root}: no {SOURCES_FILE}; the data manager declares every raw file there "
            "(instrument, round, format, encoding)"
        )
        raise SourcesConfigError(msg) from None
    except UnicodeDecodeError as err:
        msg = f"{path}: not UTF-8 text ({err.reason} at byte {err.start})"
        raise SourcesConfigError(msg) from None
    return parse_sources(text, str(path), root)


def write_manifest(manifest: Manifest, path: str | os.PathLike[str]) -> pathlib.Path:
    """Write a file manifest as JSON (sorted, no timestamps: byte-identical for the same files).

    Parameters
    ----------
    manifest : Manifest
        The manifest of a run.
    path : path-like
        Where to write it (its folder is created).

    Returns
    -------
    pathlib.Path
        The file written.
    """
    target = pathlib.Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(manifest_to_json(manifest), encoding="utf-8")
    return target


def read_manifest(path: str | os.PathLike[str]) -> Manifest:
    """Read a manifest written by :func:`write_manifest`.

    Parameters
    ----------
    path : path-like
        The JSON file.

    Returns
    -------
    Manifest
        The manifest.

    Raises
    ------
    SourceFormatError
        When the file is not a manifest.
    """
    source = pathlib.Path(path)
    return manifest_from_json(source.read_text(encoding="utf-8"), str(source))

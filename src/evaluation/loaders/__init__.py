"""Loaders: raw survey exports and partner files to :class:`RawRound` values, losing nothing.

One reader per source format (KoboToolbox XLSX and CSV, ODK Central CSV zip, SurveyCTO wide and
long CSV, SPSS, Stata, generic CSV and XLSX), all declared in the raw folder's ``sources.toml``
(see :mod:`evaluation.loaders.sources`). Text is decoded strictly with the declared encoding and
kept as text; SPSS and Stata values keep their types, labels and user-defined missing codes.
Headers are checked against the instrument. This is the only stage that reads raw files.

Public entry points: :func:`read_round`, :func:`read_sources`, :func:`read_labelled`,
:func:`read_sample_frame`, :func:`preload_roster`, :func:`backcheck_sample`.
"""

from evaluation.loaders.errors import (
    DecodingError,
    FrameError,
    HeaderError,
    LabelExportError,
    LinkError,
    MangledValueError,
    RowCountError,
    SourceFormatError,
    SourcesConfigError,
)
from evaluation.loaders.files import read_manifest, read_sources_toml, write_manifest
from evaluation.loaders.frame import (
    SampleFrame,
    backcheck_sample,
    check_frame,
    preload_roster,
    read_sample_frame,
)
from evaluation.loaders.labelled import LabelledData, read_labelled
from evaluation.loaders.manifest import Manifest, ManifestEntry
from evaluation.loaders.model import (
    LINK_COLUMNS,
    MAIN_TABLE,
    META_COLUMNS,
    Labels,
    RawRound,
    SourceInfo,
    SourceIssue,
)
from evaluation.loaders.read import LoadedSources, read_round, read_sources
from evaluation.loaders.sources import FORMATS, FrameSource, Source, Sources, parse_sources

__all__ = [
    "FORMATS",
    "LINK_COLUMNS",
    "MAIN_TABLE",
    "META_COLUMNS",
    "DecodingError",
    "FrameError",
    "FrameSource",
    "HeaderError",
    "LabelExportError",
    "LabelledData",
    "Labels",
    "LinkError",
    "LoadedSources",
    "MangledValueError",
    "Manifest",
    "ManifestEntry",
    "RawRound",
    "RowCountError",
    "SampleFrame",
    "Source",
    "SourceFormatError",
    "SourceInfo",
    "SourceIssue",
    "Sources",
    "SourcesConfigError",
    "backcheck_sample",
    "check_frame",
    "parse_sources",
    "preload_roster",
    "read_labelled",
    "read_manifest",
    "read_round",
    "read_sample_frame",
    "read_sources",
    "read_sources_toml",
    "write_manifest",
]

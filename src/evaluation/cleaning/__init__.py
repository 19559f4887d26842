"""Cleaning: raw exports to clean, de-identified, linked rounds and panels, losing nothing.

Pure functions from :class:`~evaluation.loaders.RawRound` values to :class:`CleanRound` values
(typed by the instrument, special codes split into a value and a reason, select_multiple rebuilt,
skip logic and constraints flagged, duplicates and corrections resolved by reviewed decision
files, direct identifiers moved to the private records), and from clean rounds to a
:class:`Panel`. Reading decisions and writing outputs happen only in
:mod:`evaluation.cleaning.outputs` (``read_decisions``, ``write_clean``, ``write_private``,
``write_partner``, ``scan_outputs``, ``run_clean``).

Public entry points: :func:`clean_round`, :func:`build_panel`, :class:`Decisions`,
:func:`parse_rules`, :func:`k_anonymity`, :func:`check_disclosure`, :func:`labelled_table`.
"""

from evaluation.cleaning.clean import clean_round, key_column
from evaluation.cleaning.decisions import DECISION_COLUMNS, Decisions, parse_decision_table
from evaluation.cleaning.disclosure import DisclosureReport, check_disclosure, k_anonymity
from evaluation.cleaning.errors import (
    CleaningError,
    ConservationError,
    DecisionsError,
    DisclosureError,
    HarmonisationError,
    LinkageError,
    PrivacyError,
    TypingError,
    UnresolvedDuplicatesError,
)
from evaluation.cleaning.export import LabelledTable, labelled_table
from evaluation.cleaning.harmonise import compare_choice_lists
from evaluation.cleaning.model import (
    EXCLUSION_COLUMNS,
    LOG_COLUMNS,
    PROBLEM_COLUMNS,
    CleanRound,
    Panel,
    PrivateRecords,
)
from evaluation.cleaning.panel import build_panel, clean_sources
from evaluation.cleaning.rules import CleaningRules, DropRule, parse_rules

__all__ = [
    "DECISION_COLUMNS",
    "EXCLUSION_COLUMNS",
    "LOG_COLUMNS",
    "PROBLEM_COLUMNS",
    "CleanRound",
    "CleaningError",
    "CleaningRules",
    "ConservationError",
    "Decisions",
    "DecisionsError",
    "DisclosureError",
    "DisclosureReport",
    "DropRule",
    "HarmonisationError",
    "LabelledTable",
    "LinkageError",
    "Panel",
    "PrivacyError",
    "PrivateRecords",
    "TypingError",
    "UnresolvedDuplicatesError",
    "build_panel",
    "check_disclosure",
    "clean_round",
    "clean_sources",
    "compare_choice_lists",
    "k_anonymity",
    "key_column",
    "labelled_table",
    "parse_decision_table",
    "parse_rules",
]

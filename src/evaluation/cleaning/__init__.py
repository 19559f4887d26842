"""Cleaning: raw exports to clean, de-identified, linked rounds and panels, losing nothing.

Pure functions from :class:`~evaluation.loaders.RawRound` values to
:class:`~evaluation.cleaning.model.CleanRound` values (typed by the instrument, special codes
split into a value and a reason, select_multiple rebuilt, skip logic and constraints flagged,
duplicates and corrections resolved by reviewed decision files, direct identifiers moved to the
private records), and from clean rounds to a :class:`~evaluation.cleaning.model.Panel`. Reading
decisions and writing outputs happen only in :mod:`evaluation.cleaning.outputs`.

Public entry points: :func:`clean_round`, :func:`build_panel`, :class:`Decisions`,
:func:`k_anonymity`, and in :mod:`evaluation.cleaning.outputs` the file edge
(``read_decisions``, ``write_clean``, ``write_private``, ``run_clean``).
"""

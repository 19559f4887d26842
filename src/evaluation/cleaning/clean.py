"""``clean_round``: from raw exports of one instrument round to a clean, de-identified round.

The steps, in order (DATA.md section 8), each accounted for in the log, exclusions or problems:

1. stack the files of the round (SPSS and Stata values as text);
2. harmonise form versions (``harmonise.csv``) and check every column is mapped;
3. exclude test, training, pilot and undecrypted submissions (``[[drop]]`` rules);
4. **intake**: direct identifiers leave for the private records (phones and ID numbers checked
   there); nothing after this step sees them;
5. normalise and correct respondent IDs (``id_corrections.csv``); refuse other waves;
6. duplicates: downloads of the same submission, then groups sharing an ID (``duplicates.csv``);
7. corrections after call-backs (``corrections.csv``) and other-specify recodes (``specify.csv``);
8. typing by the instrument, special codes split into value and reason, select_multiple rebuilt;
   identifiers that slipped into text or numbers redacted;
9. interviews and non-interviews (consent, tracking status);
10. skip logic, required answers, constraints and ranges; repeat counts;
11. the clean tables, sorted by key, and the accounting, checked for conservation.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from evaluation.cleaning import _ledger
from evaluation.cleaning._ledger import (
    EXCLUDE,
    LOG,
    PROBLEM,
    concat,
    exclusion_entries,
    log_entries,
    problem_entries,
)
from evaluation.cleaning.corrections import (
    apply_corrections,
    apply_id_corrections,
    apply_specify,
    normalise_keys,
)
from evaluation.cleaning.decisions import Decisions
from evaluation.cleaning.duplicates import (
    classify_groups,
    duplicate_downloads,
    resolve_duplicates,
    submission_ids,
)
from evaluation.cleaning.errors import LinkageError, TypingError, UnresolvedDuplicatesError
from evaluation.cleaning.harmonise import harmonise
from evaluation.cleaning.identifiers import (
    IdentifierColumn,
    same_person,
    scan_text,
    split_identifiers,
)
from evaluation.cleaning.logic import Answer, check_answers, relevance
from evaluation.cleaning.model import (
    EXCLUSION_COLUMNS,
    LOG_COLUMNS,
    PROBLEM_COLUMNS,
    CleanRound,
    PrivateRecords,
)
from evaluation.cleaning.questions import (
    SpecialCodes,
    describe_invalid,
    show_value,
    special_codes,
    type_column,
)
from evaluation.cleaning.rules import DEFAULT_KEYS, CleaningRules
from evaluation.cleaning.screening import check_round_marker, interviews, screen_drops
from evaluation.cleaning.selects import indicator_names, type_select_multiple
from evaluation.cleaning.stack import NO_DATA_TYPES, Stacked, stack_rounds
from evaluation.cleaning.values import normalise
from evaluation.instruments.expressions import ExpressionError, evaluate_frame
from evaluation.instruments.model import METADATA_TYPES, Choice, Instrument, Question
from evaluation.loaders.model import MAIN_TABLE, RawRound

__all__ = ["SUBMISSION_KEY", "clean_round", "key_column"]

_LINKS = ("source", "source_row", "parent", "repeat_key")
#: Question types left out of the duplicate comparison (they differ between resubmissions).
_NOT_CONTENT = METADATA_TYPES | {"calculate", "note", "hidden"}
_PHONE_LIKE = (13_000_000_000, 19_999_999_999)
#: The key that names the submission itself, for forms that ask no respondent ID.
SUBMISSION_KEY = "instance_id"


def key_column(instrument: Instrument, rules: CleaningRules) -> str:
    """Return the key column of an instrument.

    Parameters
    ----------
    instrument : Instrument
        The questionnaire.
    rules : CleaningRules
        ``[keys]`` in ``cleaning.toml``.

    Returns
    -------
    str
        The configured key (a question, or ``instance_id``: the submission itself, for forms
        that ask no respondent ID), else the first of
        :data:`~evaluation.cleaning.rules.DEFAULT_KEYS` the instrument asks.

    Raises
    ------
    LinkageError
        When the instrument asks none of them and none is configured.
    """
    family = instrument.instrument or instrument.form_id
    if family in rules.keys:
        return rules.keys[family]
    names = {q.name for q, _ in instrument.walk()}
    for name in DEFAULT_KEYS:
        if name in names:
            return name
    msg = (
        f"instrument {family!r} asks none of the key questions {list(DEFAULT_KEYS)}; name its "
        "key under [keys] in cleaning.toml"
    )
    raise LinkageError(msg)


def _invalid_identifiers(
    columns: Sequence[IdentifierColumn],
    private: Mapping[str, pd.DataFrame],
    active: np.ndarray,
) -> list[pd.DataFrame]:
    """Flag phones and ID numbers that fail their check (by key only; values stay private)."""
    found = []
    for column in columns:
        if column.kind not in {"phone", "id_number"}:
            continue
        bad = (
            private[column.table][f"{column.column}__valid"]
            .eq(False)
            .fillna(False)
            .to_numpy(dtype=bool)
        )
        if column.table == MAIN_TABLE:
            bad &= active
        if not bad.any():
            continue
        what = (
            "mainland mobile number (11 digits, 13-19)"
            if column.kind == "phone"
            else "resident ID number (GB 11643 check digit and birth date)"
        )
        found.append(
            problem_entries(
                column.table,
                np.flatnonzero(bad),
                column.column,
                f"invalid_{column.kind}",
                "warning",
                message=f"{column.column}: not a valid {what} (value kept in the private store)",
            )
        )
    return found


def _today(meta: pd.DataFrame) -> dt.date | None:
    for column in ("submitted_at", "end", "start"):
        stamps = meta[column].dropna()
        if len(stamps):
            return pd.Timestamp(stamps.max()).date()
    return None


def _split_links(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    links = [c for c in _LINKS if c in frame.columns]
    return frame[links], frame.drop(columns=links)


def _data_questions(
    instrument: Instrument, stacked: Stacked, identifiers: Sequence[IdentifierColumn]
) -> dict[str, list[Question]]:
    moved = {c.question for c in identifiers}
    return {
        table: [q for q, _ in spec.questions if q.type not in NO_DATA_TYPES and q.name not in moved]
        for table, spec in stacked.specs.items()
    }


def _indicator_columns(
    frame: pd.DataFrame, question: Question, choices: Sequence[Choice]
) -> dict[str, pd.Series]:
    found = {}
    for choice in choices:
        for name in indicator_names(question.name, choice.name, choice.special):
            if name in frame.columns:
                found[choice.name] = frame[name]
                break
    return found


@dataclass(slots=True)
class _Typed:
    """Typed columns of one table, filled in question by question (internal)."""

    size: int
    values: dict[str, pd.Series] = field(default_factory=dict)
    reasons: dict[str, pd.Series] = field(default_factory=dict)
    coded: dict[str, pd.Series] = field(default_factory=dict)
    dummies: dict[str, pd.DataFrame] = field(default_factory=dict)
    show: dict[str, bool] = field(default_factory=dict)
    log: list[pd.DataFrame] = field(default_factory=list)
    problems: list[pd.DataFrame] = field(default_factory=list)
    errors: list[tuple[str, np.ndarray, str, pd.Series, dict[int, tuple[str, ...]]]] = field(
        default_factory=list
    )
    absent: set[str] = field(default_factory=set)


def _type_table(
    frame: pd.DataFrame,
    questions: Sequence[Question],
    instrument: Instrument,
    codes: SpecialCodes,
    rules: CleaningRules,
    *,
    table: str,
    active: np.ndarray,
    times: pd.DataFrame | None,
) -> _Typed:
    typed = _Typed(len(frame))
    for q in questions:
        if q.type == "select_multiple":
            choices = instrument.choice_list(q.list_name or "").choices
            indicators = _indicator_columns(frame, q, choices)
            text = frame[q.name] if q.name in frame.columns else None
            if text is None and not indicators:
                typed.absent.add(q.name)
                text = pd.Series(pd.NA, index=frame.index, dtype="string")
            result = type_select_multiple(
                text, indicators, q, instrument, codes, table=table, size=len(frame)
            )
            typed.dummies[q.name] = result.dummies
            raw = text if text is not None else result.coded
            errors = (result.invalid, result.expected, raw, dict(result.unknown))
        else:
            if q.name in frame.columns:
                column = frame[q.name]
            else:
                typed.absent.add(q.name)
                column = pd.Series(pd.NA, index=frame.index, dtype="string")
            stamps = times[q.type] if times is not None and q.type in {"start", "end"} else None
            result = type_column(column, q, instrument, codes, rules, table=table, times=stamps)
            errors = (result.invalid, result.expected, column, {})
        invalid = errors[0][active[errors[0]]] if len(errors[0]) else errors[0]
        if len(invalid):
            typed.errors.append((q.name, invalid, errors[1], errors[2], errors[3]))
        typed.values[q.name] = result.value
        typed.reasons[q.name] = result.reason
        typed.coded[q.name] = result.coded
        typed.show[q.name] = q.type not in {"text", "calculate"}
        typed.log += result.log
        typed.problems += result.problems
    return typed


def _typing_error(
    errors: Sequence[tuple[str, np.ndarray, str, pd.Series, dict[int, tuple[str, ...]]]],
    rows: pd.DataFrame,
    table: str,
) -> str:
    parts = []
    for name, positions, expected, raw, unknown in errors:
        where = ", ".join(
            f"{rows['source'].iloc[p]} row {int(rows['source_row'].iloc[p])}" for p in positions[:3]
        )
        if unknown:
            tokens = sorted({t for p in positions for t in unknown.get(int(p), ())})
            shown = ", ".join(show_value(t) for t in tokens[:8])
            what = f"unknown codes {shown}"
        else:
            what = describe_invalid(raw.reset_index(drop=True), positions)
        parts.append(
            f"column {name!r} ({table}): {len(positions)} values cannot be read ({what}; first at "
            f"{where}); expected {expected}, a special code of the instrument, or text listed "
            "under [text_codes] in cleaning.toml"
        )
    return "; ".join(parts)


def _redact_numbers(typed: _Typed, questions: Sequence[Question], table: str) -> None:
    for q in questions:
        value = typed.values.get(q.name)
        if value is None or q.type not in {"integer", "decimal", "range"}:
            continue
        numbers = value.astype("Float64")
        phone = (numbers.ge(_PHONE_LIKE[0]) & numbers.le(_PHONE_LIKE[1])).fillna(False)
        phone &= (numbers == numbers.round()).fillna(False)
        hit = phone.to_numpy(dtype=bool)
        if not hit.any():
            continue
        positions = np.flatnonzero(hit)
        typed.values[q.name] = value.mask(hit)
        typed.coded[q.name] = typed.coded[q.name].mask(hit)
        typed.log.append(
            log_entries(table, positions, q.name, "<withheld: phone>", "", rule="pii_redacted")
        )
        typed.problems.append(
            problem_entries(
                table,
                positions,
                q.name,
                "pii_in_number",
                "error",
                message=f"{q.name}: a number shaped like a mobile phone number was removed",
            )
        )


def _redact_text(
    typed: _Typed,
    questions: Sequence[Question],
    table: str,
    names: Sequence[str],
    skip: set[str],
) -> pd.DataFrame:
    originals = []
    for q in questions:
        value = typed.values.get(q.name)
        if value is None or q.name in skip or not isinstance(value.dtype, pd.StringDtype):
            continue
        redacted, found = scan_text(value, names)
        hit = found.notna().to_numpy()
        if not hit.any():
            continue
        positions = np.flatnonzero(hit)
        typed.values[q.name] = redacted.astype("string")
        typed.coded[q.name] = typed.coded[q.name].mask(hit, redacted)
        kinds = found.to_numpy(dtype=object)[positions]
        typed.log.append(
            log_entries(
                table,
                positions,
                q.name,
                np.array([f"<withheld: {k}>" for k in kinds], dtype=object),
                redacted.to_numpy(dtype=object)[positions],
                rule="pii_redacted",
            )
        )
        typed.problems.append(
            problem_entries(
                table,
                positions,
                q.name,
                "pii_in_text",
                "warning",
                message=[
                    f"{q.name}: an identifier ({k}) found in the answer was redacted" for k in kinds
                ],
            )
        )
        originals.append(
            pd.DataFrame(
                {
                    "table": table,
                    "position": positions,
                    "variable": q.name,
                    "original": value.to_numpy(dtype=object)[positions],
                }
            )
        )
    if not originals:
        return pd.DataFrame(columns=["table", "position", "variable", "original"])
    return pd.concat(originals, ignore_index=True)


def _coded_frame(typed: _Typed, extra: Mapping[str, pd.Series] | None = None) -> pd.DataFrame:
    columns = {name: series.reset_index(drop=True) for name, series in typed.coded.items()}
    for name, series in (extra or {}).items():
        columns.setdefault(name, series.reset_index(drop=True))
    return pd.DataFrame(columns, index=pd.RangeIndex(typed.size))


def _repeat_positions(links: pd.DataFrame) -> np.ndarray:
    """1-based instance number of each repeat row within its parent, in file order."""
    order = links.assign(_pos=np.arange(len(links))).sort_values(
        ["parent", "source_row"], kind="stable"
    )
    number = order.groupby("parent").cumcount().to_numpy() + 1
    out = np.empty(len(links), dtype=np.int64)
    out[order["_pos"].to_numpy()] = number
    return out


def clean_round(
    raw: RawRound | Sequence[RawRound],
    instrument: Instrument | None = None,
    decisions: Decisions | None = None,
) -> CleanRound:
    """Clean one survey round.

    Parameters
    ----------
    raw : RawRound or sequence of RawRound
        Responses as received with their source metadata, from
        :func:`evaluation.loaders.read_round`; several files of the same round are cleaned
        together (duplicates across them are found).
    instrument : Instrument, optional
        The questionnaire the responses answer (default: the one the files were read with).
    decisions : Decisions, optional
        Standing rules and reviewed decisions (duplicates, ID and value corrections, specify
        recodes, harmonisation), re-applied on every run. Default: none.

    Returns
    -------
    CleanRound
        Typed, de-identified responses, the cleaning log, the exclusions, the problems for
        review and the identifiers for the private store.

    Raises
    ------
    UnresolvedDuplicatesError
        When duplicate groups need a decision (its ``report`` lists them, to fill in).
    TypingError
        When values cannot be read as their question's type (unknown codes, unknown text in a
        numeric question, dates in another format); the message lists columns, values (never
        identifiers), files and rows.
    HarmonisationError
        When a column is not mapped onto the instrument.
    LinkageError
        When submissions have no respondent ID or belong to another round.
    DecisionsError
        When a decision file is malformed or stale.

    Notes
    -----
    Unit of observation: respondent. Key: the instrument's key column (``resp_id``,
    ``enterprise_id`` or ``participant_id``; unique, non-missing) and ``round``. Builds no
    indicators (see :mod:`evaluation.indicators`). Conservation holds per source and table:
    ``rows_in == len(kept rows) + len(exclusions)``, checked when the result is built
    (:class:`~evaluation.cleaning.errors.ConservationError` otherwise).
    """
    decisions = decisions or Decisions()
    rules = decisions.rules
    raws = [raw] if isinstance(raw, RawRound) else list(raw)
    if instrument is None:
        if not raws:
            msg = "clean_round: no raw file given"
            raise LinkageError(msg)
        instrument = raws[0].instrument
    family = instrument.instrument or instrument.form_id
    codes = special_codes(instrument, rules)
    key_name = key_column(instrument, rules)

    stacked = stack_rounds(raws, instrument, rules)
    round_name = stacked.round
    stacked, log_h, problems_h = harmonise(stacked, decisions)
    meta = stacked.meta
    logs: list[pd.DataFrame] = [log_h]
    problems: list[pd.DataFrame] = [stacked.issues, problems_h]
    exclusions: list[pd.DataFrame] = []

    links: dict[str, pd.DataFrame] = {}
    texts: dict[str, pd.DataFrame] = {MAIN_TABLE: stacked.data}
    for table, frame in stacked.repeats.items():
        links[table], texts[table] = _split_links(frame)

    # 3. test, training, pilot and undecrypted submissions
    active, dropped = screen_drops(stacked.data, meta, rules, instrument, round_name)
    exclusions.append(dropped)

    # 4. intake: identifiers leave the working data
    public, private, id_columns = split_identifiers(
        texts,
        instrument,
        special_values={str(v): k for k, v in codes.values.items()},
        text_codes=codes.texts,
    )
    main = public[MAIN_TABLE]
    problems += _invalid_identifiers(id_columns, private, active)

    # 5. respondent IDs
    ids = submission_ids(meta)
    if key_name == SUBMISSION_KEY:
        keys = ids.astype("string")
    elif key_name not in main.columns:
        sources = ", ".join(sorted(meta["source"].unique().tolist()))
        msg = f"{sources}: no column {key_name!r} (the key of instrument {family!r})"
        raise LinkageError(msg)
    else:
        keys, log_k = normalise_keys(main[key_name], key_name)
        logs.append(log_k)
    keys, log_c, problems_c = apply_id_corrections(
        keys,
        ids,
        active,
        decisions,
        instrument=family,
        round_name=round_name,
        key_name=key_name,
        sources=meta["source"],
        source_rows=meta["source_row"],
    )
    logs.append(log_c)
    problems.append(problems_c)
    check_round_marker(main, meta, round_name, active)

    # 6. duplicates
    active, excluded_dl, problems_dl = duplicate_downloads(main, meta, active)
    exclusions.append(excluded_dl)
    problems.append(problems_dl)
    content_questions = [
        q.name
        for q, _ in stacked.specs[MAIN_TABLE].questions
        if q.type not in _NOT_CONTENT
        and q.name in main.columns
        and q.name not in {key_name, f"{key_name}_check"}
    ]
    content = pd.DataFrame({c: normalise(main[c]) for c in content_questions}, index=main.index)
    stable = [q.name for q, _ in instrument.walk() if q.backcheck == "should_not_change"]
    groups = classify_groups(content, keys, active, stable, rules.different_share)
    active, keys, excluded_dup, log_dup, problems_dup, report = resolve_duplicates(
        groups,
        keys,
        meta,
        active,
        decisions,
        instrument=family,
        round_name=round_name,
        key_name=key_name,
    )
    if not report.empty:
        count = report["group"].nunique()
        msg = (
            f"{family} {round_name}: {count} groups of submissions share a respondent ID and "
            f"differ ({', '.join(sorted(report['key'].unique().tolist())[:10])}); decide keep, "
            f"drop or newid for each submission in {decisions.where['duplicates']} (the report "
            "lists them)"
        )
        raise UnresolvedDuplicatesError(msg, report)
    exclusions.append(excluded_dup)
    logs.append(log_dup)
    problems.append(problems_dup)
    main = main.assign(**{key_name: keys})

    name_columns = [c for c in id_columns if c.kind == "name" and c.table == MAIN_TABLE]
    birth = [n for n in ("dem_birth_year",) if n in main.columns]
    key_values = keys.to_numpy(dtype=object)
    for what, positions in same_person(
        private[MAIN_TABLE],
        [c for c in id_columns if c.table == MAIN_TABLE],
        keys,
        active,
        extra=normalise(main[birth[0]]).to_frame() if birth and name_columns else None,
    ):
        distinct = sorted(set(key_values[positions].tolist()))
        shown = ", ".join(distinct[:5]) + (
            f" and {len(distinct) - 5} more" if len(distinct) > 5 else ""
        )
        problems.append(
            problem_entries(
                MAIN_TABLE,
                positions,
                key_name,
                "possible_same_person",
                "warning",
                message=(
                    f"submissions under {len(distinct)} different IDs ({shown}) share the same "
                    f"{what}: one person under two IDs?"
                ),
            )
        )

    # 7. corrections and specify recodes
    main, private_main, okay, log_corr, problems_corr = apply_corrections(
        main,
        private[MAIN_TABLE],
        keys,
        active,
        decisions=decisions,
        instrument=instrument,
        round_name=round_name,
    )
    private[MAIN_TABLE] = private_main
    logs.append(log_corr)
    problems.append(problems_corr)
    public[MAIN_TABLE] = main
    table_active = {MAIN_TABLE: active}
    for table in links:
        parent = stacked.specs[table].parent or MAIN_TABLE
        table_active[table] = table_active[parent][links[table]["parent"].to_numpy()]
    public, log_spec = apply_specify(public, decisions, instrument, table_active)
    logs.append(log_spec)

    # 8. typing
    questions = _data_questions(instrument, stacked, id_columns)
    names = sorted(
        {
            str(v)
            for c in id_columns
            if c.kind == "name"
            for v in private[c.table][f"{c.column}__normalised"].dropna().tolist()
        }
    )
    times = meta[["start", "end"]]
    typed: dict[str, _Typed] = {}
    redactions = []
    errors = []
    for table, frame in public.items():
        rows = meta if table == MAIN_TABLE else links[table]
        typed[table] = _type_table(
            frame,
            questions[table],
            instrument,
            codes,
            rules,
            table=table,
            active=table_active[table],
            times=times if table == MAIN_TABLE else None,
        )
        if typed[table].errors:
            errors.append(_typing_error(typed[table].errors, rows, table))
        _redact_numbers(typed[table], questions[table], table)
        redactions.append(_redact_text(typed[table], questions[table], table, names, {key_name}))
    if errors:
        raise TypingError("; ".join(errors))

    # 9. interviews
    coded_main = _coded_frame(typed[MAIN_TABLE])
    active, interviewed, excluded_int = interviews(coded_main, instrument, rules, active)
    exclusions.append(excluded_int)
    table_active = {MAIN_TABLE: active}
    for table in links:
        parent = stacked.specs[table].parent or MAIN_TABLE
        table_active[table] = table_active[parent][links[table]["parent"].to_numpy()]

    # 10. skip logic, constraints, ranges
    today = _today(meta)
    containers = {q.name: q for q, _ in instrument.walk() if q.is_container}
    reasons: dict[str, dict[str, pd.Series]] = {}
    coded_frames: dict[str, pd.DataFrame] = {}
    positions_of: dict[str, np.ndarray] = {}
    for table, typed_table in typed.items():
        if table == MAIN_TABLE:
            frame = coded_main
            position = None
        else:
            parent = stacked.specs[table].parent or MAIN_TABLE
            parent_rows = links[table]["parent"].to_numpy()
            positions_of[table] = _repeat_positions(links[table])
            parent_frame = coded_frames[parent].iloc[parent_rows].reset_index(drop=True)
            frame = _coded_frame(typed_table, {c: parent_frame[c] for c in parent_frame.columns})
            position = pd.Series(positions_of[table], index=frame.index)
        coded_frames[table] = frame
        rel = relevance(
            stacked.specs[table], containers, frame, table=table, today=today, position=position
        )
        problems += rel.problems
        reasons[table] = {}
        for q in questions[table]:
            if q.name not in typed_table.values or not q.asks_respondent:
                continue
            answer = Answer(
                value=typed_table.values[q.name],
                reason=typed_table.reasons[q.name],
                coded=typed_table.coded[q.name],
                show_values=typed_table.show[q.name],
            )
            okay_rows = (
                okay.get(q.name, np.zeros(len(frame), bool))
                if table == MAIN_TABLE
                else np.zeros(len(frame), bool)
            )
            if q.name in typed_table.absent:
                okay_rows = np.ones(len(frame), bool)
            reason, found = check_answers(
                q,
                answer,
                rel.masks.get(q.name, np.ones(len(frame), bool)),
                frame,
                table=table,
                active=table_active[table],
                okay=okay_rows,
                today=today,
                multiple=q.type == "select_multiple",
            )
            reasons[table][q.name] = reason
            problems += found
        logs += typed_table.log
        problems += typed_table.problems
    problems += _repeat_counts(stacked, links, coded_frames, table_active, today)
    problems += _durations(meta, active, rules.duration)

    # 11. assemble
    keys_final = keys
    rows_lookup: dict[str, pd.DataFrame] = {
        MAIN_TABLE: pd.DataFrame(
            {
                "source": meta["source"].to_numpy(),
                "source_row": meta["source_row"].to_numpy(),
                "key": keys_final.to_numpy(dtype=object),
                "instance_id": ids.to_numpy(dtype=object),
            }
        )
    }
    for table in links:
        parent = stacked.specs[table].parent or MAIN_TABLE
        parent_rows = links[table]["parent"].to_numpy()
        rows_lookup[table] = pd.DataFrame(
            {
                "source": links[table]["source"].to_numpy(),
                "source_row": links[table]["source_row"].to_numpy(),
                "key": rows_lookup[parent]["key"].to_numpy(dtype=object)[parent_rows],
                "instance_id": rows_lookup[parent]["instance_id"].to_numpy(dtype=object)[
                    parent_rows
                ],
            }
        )
    exclusions += _repeat_exclusions(stacked, links, exclusions, table_active)
    data = _assemble_main(
        typed[MAIN_TABLE],
        reasons[MAIN_TABLE],
        questions[MAIN_TABLE],
        key_name=key_name,
        keys=keys_final,
        round_name=round_name,
        ids=ids,
        meta=meta,
        interviewed=interviewed,
        active=active,
    )
    repeats = {
        table: _assemble_repeat(
            typed[table],
            reasons[table],
            questions[table],
            key_name=key_name,
            round_name=round_name,
            rows=rows_lookup,
            links=links,
            stacked=stacked,
            table=table,
            positions=positions_of,
            active=table_active[table],
        )
        for table in links
    }
    rows_kept = {}
    for table, frame_active in table_active.items():
        sources = rows_lookup[table]["source"].to_numpy()[frame_active]
        for source, count in pd.Series(sources).value_counts().items():
            rows_kept[(str(source), table)] = int(count)
    exclusion_table = _ledger.finalise(concat(exclusions, EXCLUDE), EXCLUSION_COLUMNS, rows_lookup)
    private_records = _private(
        private,
        rows_lookup,
        table_active,
        round_name=round_name,
        key_name=key_name,
        redactions=redactions,
        links=links,
        positions=positions_of,
    )
    return CleanRound(
        instrument=instrument,
        round=round_name,
        key=key_name,
        data=data,
        repeats=repeats,
        log=_ledger.finalise(concat(logs, LOG), LOG_COLUMNS, rows_lookup),
        exclusions=exclusion_table,
        problems=_ledger.finalise(concat(problems, PROBLEM), PROBLEM_COLUMNS, rows_lookup),
        rows_in=dict(stacked.rows_in),
        rows_kept=rows_kept,
        private=private_records,
    )


def _repeat_counts(
    stacked: Stacked,
    links: Mapping[str, pd.DataFrame],
    coded: Mapping[str, pd.DataFrame],
    active: Mapping[str, np.ndarray],
    today: dt.date | None,
) -> list[pd.DataFrame]:
    found = []
    for table in links:
        spec = stacked.specs[table]
        repeat = next(
            (
                q
                for q, _ in stacked.instrument.walk()
                if q.name == table and q.type in {"repeat", "loop"}
            ),
            None,
        )
        parent = spec.parent or MAIN_TABLE
        if repeat is None or not repeat.repeat_count or parent != MAIN_TABLE:
            continue
        try:
            expected = evaluate_frame(repeat.repeat_count, coded[parent], today=today)
        except ExpressionError as err:
            found.append(
                problem_entries(
                    parent,
                    None,
                    table,
                    "check_not_evaluated",
                    "warning",
                    message=(
                        f"{table}: repeat_count {repeat.repeat_count!r} cannot be evaluated ({err})"
                    ),
                )
            )
            continue
        wanted = pd.to_numeric(pd.Series(expected), errors="coerce").fillna(0).to_numpy()
        counts = np.bincount(links[table]["parent"].to_numpy(), minlength=len(coded[parent]))
        wrong = (counts != wanted) & active[parent]
        if wrong.any():
            positions = np.flatnonzero(wrong)
            found.append(
                problem_entries(
                    parent,
                    positions,
                    table,
                    "repeat_count_mismatch",
                    "error",
                    message=[
                        f"{table}: {int(counts[p])} rows but repeat_count gives {wanted[p]:g}"
                        for p in positions
                    ],
                )
            )
    return found


def _durations(
    meta: pd.DataFrame, active: np.ndarray, bounds: tuple[float, float]
) -> list[pd.DataFrame]:
    """Flag interviews that end before they start, or are implausibly short or long."""
    minutes = (meta["end"] - meta["start"]).dt.total_seconds().to_numpy(dtype=float) / 60
    known = ~np.isnan(minutes) & active
    low, high = bounds
    found = []
    for kind, mask, text in (
        ("end_before_start", known & (minutes < 0), "the interview ends before it starts"),
        (
            "short_interview",
            known & (minutes >= 0) & (minutes < low),
            f"shorter than {low:g} minutes",
        ),
        ("long_interview", known & (minutes > high), f"longer than {high:g} minutes"),
    ):
        if mask.any():
            positions = np.flatnonzero(mask)
            found.append(
                problem_entries(
                    MAIN_TABLE,
                    positions,
                    "end",
                    kind,
                    "warning",
                    message=f"{text} (flagged, never dropped)",
                    value=np.round(minutes[positions], 1).astype(str),
                )
            )
    return found


def _repeat_exclusions(
    stacked: Stacked,
    links: Mapping[str, pd.DataFrame],
    exclusions: Sequence[pd.DataFrame],
    active: Mapping[str, np.ndarray],
) -> list[pd.DataFrame]:
    main = concat(list(exclusions), EXCLUDE)
    reasons = {MAIN_TABLE: pd.Series(main["reason"].to_numpy(), index=main["position"].to_numpy())}
    out = []
    for table in links:
        parent = stacked.specs[table].parent or MAIN_TABLE
        rows = np.flatnonzero(~active[table])
        if not rows.size:
            reasons[table] = pd.Series(dtype=object)
            continue
        parent_rows = links[table]["parent"].to_numpy()[rows]
        why = reasons[parent].reindex(parent_rows).to_numpy(dtype=object)
        out.append(exclusion_entries(table, rows, "parent_excluded", why))
        reasons[table] = pd.Series(why, index=rows)
    return out


def _utc(values: pd.Series) -> pd.Series:
    stamps = pd.Series(values)
    if not isinstance(stamps.dtype, pd.DatetimeTZDtype):
        stamps = pd.to_datetime(stamps).dt.tz_localize("UTC")
    return stamps.dt.as_unit("us")


def _columns_for(
    typed: _Typed, reasons: Mapping[str, pd.Series], questions: Sequence[Question], key_name: str
) -> dict[str, pd.Series]:
    columns: dict[str, pd.Series] = {}
    for q in questions:
        if q.name == key_name or q.name not in typed.values:
            continue
        columns[q.name] = typed.values[q.name].reset_index(drop=True)
        if q.name in reasons:
            columns[f"{q.name}__reason"] = reasons[q.name].astype("string").reset_index(drop=True)
        if q.name in typed.dummies:
            for name in typed.dummies[q.name].columns:
                columns[name] = typed.dummies[q.name][name].astype("Int64").reset_index(drop=True)
    return columns


def _assemble_main(
    typed: _Typed,
    reasons: Mapping[str, pd.Series],
    questions: Sequence[Question],
    *,
    key_name: str,
    keys: pd.Series,
    round_name: str,
    ids: pd.Series,
    meta: pd.DataFrame,
    interviewed: np.ndarray,
    active: np.ndarray,
) -> pd.DataFrame:
    head = {
        key_name: keys.astype("string").reset_index(drop=True),
        "round": pd.Series(round_name, index=range(len(keys)), dtype="string"),
        "instance_id": ids.astype("string").reset_index(drop=True),
        "submitted_at": _utc(meta["submitted_at"]).reset_index(drop=True),
        "interviewed": pd.Series(interviewed.astype(np.int64), dtype="Int64"),
    }
    frame = pd.DataFrame({**head, **_columns_for(typed, reasons, questions, key_name)})
    frame = frame[active]
    return frame.sort_values(key_name, kind="stable").reset_index(drop=True)


def _assemble_repeat(
    typed: _Typed,
    reasons: Mapping[str, pd.Series],
    questions: Sequence[Question],
    *,
    key_name: str,
    round_name: str,
    rows: Mapping[str, pd.DataFrame],
    links: Mapping[str, pd.DataFrame],
    stacked: Stacked,
    table: str,
    positions: Mapping[str, np.ndarray],
    active: np.ndarray,
) -> pd.DataFrame:
    head: dict[str, pd.Series] = {
        key_name: pd.Series(rows[table]["key"].to_numpy(dtype=object), dtype="string"),
        "round": pd.Series(round_name, index=range(len(links[table])), dtype="string"),
    }
    chain = []
    current = table
    mapping = np.arange(len(links[table]))
    while current != MAIN_TABLE:
        chain.append((current, mapping))
        parent = stacked.specs[current].parent or MAIN_TABLE
        mapping = links[current]["parent"].to_numpy()[mapping]
        current = parent
    for name, rows_in_table in reversed(chain):
        head[f"{name}_index"] = pd.Series(positions[name][rows_in_table], dtype="Int64")
    frame = pd.DataFrame({**head, **_columns_for(typed, reasons, questions, key_name)})
    frame = frame[active]
    order = [key_name, *[f"{n}_index" for n, _ in reversed(chain)]]
    return frame.sort_values(order, kind="stable").reset_index(drop=True)


def _private(
    private: Mapping[str, pd.DataFrame],
    rows: Mapping[str, pd.DataFrame],
    active: Mapping[str, np.ndarray],
    *,
    round_name: str,
    key_name: str,
    redactions: Sequence[pd.DataFrame],
    links: Mapping[str, pd.DataFrame],
    positions: Mapping[str, np.ndarray],
) -> PrivateRecords:
    lookup = rows[MAIN_TABLE]
    head = pd.DataFrame(
        {
            "source": pd.array(lookup["source"].to_numpy(dtype=object), dtype="string"),
            "source_row": pd.array(lookup["source_row"].to_numpy(), dtype="Int64"),
            "instance_id": pd.array(lookup["instance_id"].to_numpy(dtype=object), dtype="string"),
            "round": pd.array([round_name] * len(lookup), dtype="string"),
            key_name: pd.array(lookup["key"].to_numpy(dtype=object), dtype="string"),
            "kept": pd.array(active[MAIN_TABLE], dtype="boolean"),
        }
    )
    identifiers = pd.concat([head, private[MAIN_TABLE].reset_index(drop=True)], axis=1)
    repeat_identifiers = {}
    for table in links:
        frame = private.get(table)
        if frame is None or frame.shape[1] == 0:
            continue
        lookup = rows[table]
        repeat_identifiers[table] = pd.concat(
            [
                pd.DataFrame(
                    {
                        "source": pd.array(lookup["source"].to_numpy(dtype=object), dtype="string"),
                        "source_row": pd.array(lookup["source_row"].to_numpy(), dtype="Int64"),
                        "round": pd.array([round_name] * len(lookup), dtype="string"),
                        key_name: pd.array(lookup["key"].to_numpy(dtype=object), dtype="string"),
                        f"{table}_index": pd.array(positions[table], dtype="Int64"),
                        "kept": pd.array(active[table], dtype="boolean"),
                    }
                ),
                frame.reset_index(drop=True),
            ],
            axis=1,
        )
    parts = [r for r in redactions if len(r)]
    if parts:
        found = pd.concat(parts, ignore_index=True)
        redacted = pd.DataFrame(
            {
                "source": [
                    rows[t]["source"].iloc[p]
                    for t, p in zip(found["table"], found["position"], strict=True)
                ],
                "table": found["table"].to_numpy(),
                "source_row": [
                    int(rows[t]["source_row"].iloc[p])
                    for t, p in zip(found["table"], found["position"], strict=True)
                ],
                key_name: [
                    rows[t]["key"].iloc[p]
                    for t, p in zip(found["table"], found["position"], strict=True)
                ],
                "variable": found["variable"].to_numpy(),
                "original": found["original"].to_numpy(),
            }
        ).astype(
            {
                "source": "string",
                "table": "string",
                key_name: "string",
                "variable": "string",
                "original": "string",
            }
        )
    else:
        redacted = pd.DataFrame(
            {
                c: pd.Series([], dtype="string")
                for c in ("source", "table", "source_row", key_name, "variable", "original")
            }
        )
    return PrivateRecords(
        identifiers=identifiers.sort_values(["source", "source_row"]).reset_index(drop=True),
        redactions=redacted,
        repeats=repeat_identifiers,
    )

"""Panel linking: clean rounds stacked long, linked through the sample frame, attrition flagged.

Rounds are stacked with a ``round`` column (never suffixed names), after checking that every
shared column has the same type in every round and that choice lists mean the same thing. The
sample frame is the authority on IDs and design variables (DIME): every respondent of every
round must be in it (an ID that is not is an error listing it, DATA.md section 10, #4), and
``treatment``, ``stratum``, ``enterprise_id`` and ``meta_city`` are joined from it with
``validate="many_to_one"``; where the form says otherwise the difference is flagged. Attrition
is one row per unit of the frame: a record and an interview in each round, and ``attrited``
when a unit interviewed in the first round is not interviewed in the last (refused, not found,
deceased by ``trk_status``, or no record at all). No unit of the frame is lost: those never
interviewed are in the attrition table. Without a frame, IDs of later rounds that the first round
does not have are flagged, with the first-round IDs one character apart (a mistyped ID), and so
are units whose answers from the project's attached lists (the training event) change.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from evaluation.cleaning.clean import clean_round
from evaluation.cleaning.decisions import Decisions
from evaluation.cleaning.errors import HarmonisationError, LinkageError, UnresolvedDuplicatesError
from evaluation.cleaning.harmonise import compare_choice_lists
from evaluation.cleaning.model import PROBLEM_COLUMNS, CleanRound, Panel
from evaluation.cleaning.rules import DEFAULT_TRACKING
from evaluation.cleaning.values import normalise
from evaluation.instruments.model import Instrument
from evaluation.loaders.frame import SampleFrame
from evaluation.loaders.model import RawRound

__all__ = ["ROUND_ORDER", "build_panel", "clean_sources", "design_frame"]

#: Known round orders (others keep the order given).
ROUND_ORDER = ("baseline", "midline", "endline", "pre", "post", "followup")
DESIGN = ("treatment", "stratum", "enterprise_id", "meta_city")


def design_frame(frame: SampleFrame, key: str) -> pd.DataFrame:
    """Return the design variables of a sample frame, one row per unit of ``key``.

    Parameters
    ----------
    frame : SampleFrame
        The validated sample frame.
    key : str
        The panel's key: the frame's key, or its enterprise column (the enterprise panel).

    Returns
    -------
    pandas.DataFrame
        ``key``, ``treatment`` (``Int64``), ``stratum`` (``string``: the strata columns joined
        by ``|``), ``enterprise_id`` and ``meta_city`` (when the frame has an enterprise or a
        ``city``/``meta_city`` column), indexed by key.

    Raises
    ------
    LinkageError
        When the key is neither the frame's key nor its enterprise column, a treatment value is
        not a whole number, or (enterprise panel) an enterprise has respondents in different
        arms or strata.
    """
    source = frame.source
    data = frame.data.astype("string")
    columns: dict[str, pd.Series] = {}
    if key == source.key:
        columns[key] = normalise(data[source.key]).str.upper()
    elif key == source.enterprise:
        columns[key] = normalise(data[source.enterprise]).str.upper()
    else:
        msg = (
            f"{source.name}: the panel key {key!r} is neither the frame's key {source.key!r} nor "
            f"its enterprise column {source.enterprise!r}"
        )
        raise LinkageError(msg)
    if source.treatment:
        numbers = pd.to_numeric(normalise(data[source.treatment]), errors="coerce")
        if (numbers.isna() | (numbers != numbers.round())).any():
            msg = f"{source.name}: column {source.treatment!r} must hold whole numbers (0/1)"
            raise LinkageError(msg)
        columns["treatment"] = numbers.astype("Int64")
    if source.strata:
        joined = normalise(data[source.strata[0]])
        for column in source.strata[1:]:
            joined = joined + "|" + normalise(data[column])
        columns["stratum"] = joined.astype("string")
    if source.enterprise and key != source.enterprise:
        columns["enterprise_id"] = normalise(data[source.enterprise]).str.upper()
    city = next((c for c in ("meta_city", "city") if c in data.columns), None)
    if city is not None:
        columns["meta_city"] = normalise(data[city])
    design = pd.DataFrame(columns)
    if key != source.key:
        varying = [
            c
            for c in design.columns
            if c != key and design.groupby(key)[c].nunique(dropna=False).gt(1).any()
        ]
        if varying:
            msg = (
                f"{source.name}: enterprises have respondents with different {varying}; the "
                "enterprise panel needs one value per enterprise"
            )
            raise LinkageError(msg)
        design = design.drop_duplicates(key)
    return design.set_index(key, drop=False).rename_axis(None)


def _ordered(rounds: Sequence[CleanRound]) -> list[CleanRound]:
    names = [r.round for r in rounds]
    if len(set(names)) != len(names):
        msg = f"build_panel: a round is given twice: {names}"
        raise LinkageError(msg)
    if all(n in ROUND_ORDER for n in names):
        return sorted(rounds, key=lambda r: ROUND_ORDER.index(r.round))
    return list(rounds)


def _stack(frames: Sequence[pd.DataFrame], what: str) -> pd.DataFrame:
    dtypes: dict[str, object] = {}
    for frame in frames:
        for column, dtype in frame.dtypes.items():
            if column in dtypes and str(dtypes[column]) != str(dtype):
                msg = (
                    f"{what}: column {column!r} is {dtypes[column]} in one round and {dtype} in "
                    "another; harmonise the rounds (harmonise.csv) before stacking them"
                )
                raise HarmonisationError(msg)
            dtypes.setdefault(column, dtype)
    order = list(dict.fromkeys(c for f in frames for c in f.columns))
    aligned = []
    for frame in frames:
        missing = {
            c: pd.Series(pd.NA, index=frame.index, dtype=dtypes[c])  # type: ignore[call-overload]
            for c in order
            if c not in frame.columns
        }
        aligned.append(frame.assign(**missing)[order] if missing else frame[order])
    return pd.concat(aligned, ignore_index=True)


def _problems(rows: list[dict[str, object]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(PROBLEM_COLUMNS)).astype(
        {c: "string" for c in PROBLEM_COLUMNS if c != "source_row"} | {"source_row": "Int64"}
    )


def build_panel(rounds: Sequence[CleanRound], frame: SampleFrame | None = None) -> Panel:
    """Stack the clean rounds of one instrument long and link them to the sample frame.

    Parameters
    ----------
    rounds : sequence of CleanRound
        The rounds of one instrument family (any order; known round names are ordered).
    frame : SampleFrame, optional
        The sample frame; without it rounds are linked on their key alone and attrition is
        relative to the first round; IDs of later rounds not in the first round are flagged
        ``not_in_first_round`` and first-round IDs one character apart from them
        ``possible_mistyped_id``, units whose answer from an attached list
        (``select_one_from_file``, the training event) changes ``changed_between_rounds``
        (warnings in ``Panel.problems``).

    Returns
    -------
    Panel
        The long panel, its repeat tables, the attrition table and linking problems.

    Raises
    ------
    LinkageError
        When rounds of different instruments or keys are mixed, a round is given twice, or a
        respondent of any round is not in the sample frame (the message lists the IDs).
    HarmonisationError
        When a column has different types in different rounds, or a choice code means
        something else in another round.

    Notes
    -----
    Unit of observation: respondent x round. Key: (key, ``round``), unique. Merges use
    ``validate="many_to_one"`` against the frame and every unmatched row is accounted for:
    rounds' rows not in the frame raise, frame units without a record appear in the attrition
    table with ``has_<round> = 0``.
    """
    if not rounds:
        msg = "build_panel: no round given"
        raise LinkageError(msg)
    ordered = _ordered(rounds)
    families = {r.family for r in ordered}
    keys = {r.key for r in ordered}
    if len(families) != 1 or len(keys) != 1:
        msg = (
            f"build_panel: rounds of different instruments {sorted(families)} or keys "
            f"{sorted(keys)}"
        )
        raise LinkageError(msg)
    key = keys.pop()
    family = families.pop()
    drift = compare_choice_lists([r.instrument for r in ordered])
    conflicts = drift[drift["severity"] == "error"]
    if len(conflicts):
        raise HarmonisationError("; ".join(conflicts["message"].tolist()[:5]))
    problems = [dict(row) for _, row in drift.iterrows()]
    data = _stack([r.data for r in ordered], f"{family} panel")
    repeat_names = sorted({name for r in ordered for name in r.repeats})
    repeats = {
        name: _stack([r.repeats[name] for r in ordered if name in r.repeats], f"{family} {name}")
        for name in repeat_names
    }
    if data.duplicated([key, "round"]).any():
        msg = f"{family} panel: ({key}, round) is not unique"
        raise LinkageError(msg)
    round_names = tuple(r.round for r in ordered)
    if frame is not None:
        design = design_frame(frame, key)
        unmatched = ~data[key].isin(design.index)
        if unmatched.any():
            listing = "; ".join(
                f"{rnd}: {sorted(group[key].tolist())[:20]}"
                for rnd, group in data[unmatched].groupby("round", sort=False)
            )
            msg = (
                f"{family} panel: {int(unmatched.sum())} respondents are not in the sample frame "
                f"{frame.source.name} ({listing}); correct their IDs (id_corrections.csv) or the "
                "frame"
            )
            raise LinkageError(msg)
        data, found = _join_design(data, design, key, frame.source.name)
        problems += found
        design_columns = [c for c in DESIGN if c in design.columns and c != key]
        units = design[[key, *design_columns]].reset_index(drop=True)
        repeats = {
            name: table.merge(
                design[[key, *[c for c in ("treatment", "stratum") if c in design.columns]]],
                on=key,
                how="left",
                validate="many_to_one",
            )
            for name, table in repeats.items()
        }
    else:
        first = data[data["round"] == round_names[0]]
        units = first[[key]].drop_duplicates().reset_index(drop=True)
        late = ~data[key].isin(units[key])
        if late.any():
            extra = data.loc[late, [key]].drop_duplicates()
            units = pd.concat([units, extra], ignore_index=True)
            problems += _not_in_first_round(data, key, round_names)
        problems += _changed_between_rounds(data, key, ordered)
    narrow = [c for c in (key, "round", "interviewed", *DEFAULT_TRACKING) if c in data.columns]
    attrition = _attrition(data[narrow], units, key, round_names, ordered)
    data = data.merge(attrition[[key, "attrited"]], on=key, how="left", validate="many_to_one")
    order = {name: i for i, name in enumerate(round_names)}
    data = (
        data.assign(_order=data["round"].map(order))
        .sort_values([key, "_order"], kind="stable")
        .drop(columns="_order")
        .reset_index(drop=True)
    )
    front = [key, "round", *[c for c in DESIGN if c in data.columns and c != key], "attrited"]
    data = data[front + [c for c in data.columns if c not in front]]
    return Panel(
        key=key,
        data=data,
        repeats=repeats,
        attrition=attrition,
        problems=_problems(problems),
        rounds=round_names,
    )


def _one_apart(a: str, b: str) -> bool:
    """Whether two IDs of equal length differ in exactly one character (one mistyped digit)."""
    return len(a) == len(b) and sum(x != y for x, y in zip(a, b, strict=True)) == 1


def _not_in_first_round(
    data: pd.DataFrame, key: str, rounds: Sequence[str]
) -> list[dict[str, object]]:
    """Flag later-round IDs never seen in the first round (a panel without a sample frame).

    Each such ID is a warning ``not_in_first_round``; first-round IDs with no record in that
    round that differ from it by one character are flagged ``possible_mistyped_id`` (the two
    are likely one person whose ID was mistyped in one of the rounds).
    """
    first = rounds[0]
    first_ids = data.loc[data["round"] == first, key].astype(str)
    problems: list[dict[str, object]] = []
    for name in rounds[1:]:
        here = data.loc[data["round"] == name, key].astype(str)
        absent = sorted(set(first_ids) - set(here))
        for value in sorted(set(here) - set(first_ids)):
            near = [other for other in absent if _one_apart(value, other)]
            hint = (
                f"; {first} IDs one character apart with no {name} record: {near}" if near else ""
            )
            problems.append(
                _link_problem(
                    value,
                    key,
                    "not_in_first_round",
                    f"{value} ({name}) has no {first} record{hint}",
                )
            )
            problems += [
                _link_problem(
                    other,
                    key,
                    "possible_mistyped_id",
                    f"{other} ({first}) has no {name} record and is one character apart from "
                    f"{value} ({name}), which has no {first} record",
                )
                for other in near
            ]
    return problems


def _changed_between_rounds(
    data: pd.DataFrame, key: str, rounds: Sequence[CleanRound]
) -> list[dict[str, object]]:
    """Flag units whose answer from an attached list (``select_one_from_file``) changes.

    Without a sample frame, what the respondent chose from the project's own lists in every
    round (the training event, the enterprise) is the unit's design and must not change; a
    change is most often an ID typed for another person.
    """
    stable = set.intersection(
        *(
            {
                q.name
                for q, _ in r.instrument.walk()
                if q.type == "select_one_from_file" and q.name != key
            }
            for r in rounds
        )
    )
    problems: list[dict[str, object]] = []
    for column in sorted(c for c in stable if c in data.columns):
        answered = data.loc[data[column].notna(), [key, "round", column]]
        counts = answered.groupby(key)[column].nunique()
        for value in sorted(counts.index[counts > 1]):
            seen = answered[answered[key] == value]
            listing = ", ".join(
                f"{r}: {v}" for r, v in zip(seen["round"], seen[column], strict=True)
            )
            problems.append(
                _link_problem(
                    value,
                    key,
                    "changed_between_rounds",
                    f"{value}: {column} differs between rounds ({listing}); an ID typed for "
                    "another person?",
                )
            )
    return problems


def _link_problem(value: str, key: str, kind: str, message: str) -> dict[str, object]:
    return {
        "source": pd.NA,
        "table": "main",
        "source_row": pd.NA,
        "key": value,
        "variable": key,
        "kind": kind,
        "severity": "warning",
        "value": value,
        "message": message,
    }


def _join_design(
    data: pd.DataFrame, design: pd.DataFrame, key: str, where: str
) -> tuple[pd.DataFrame, list[dict[str, object]]]:
    problems: list[dict[str, object]] = []
    joined = data.merge(
        design.reset_index(drop=True),
        on=key,
        how="left",
        validate="many_to_one",
        suffixes=("__form", ""),
        indicator=True,
    )
    assert (joined["_merge"] == "both").all()
    joined = joined.drop(columns="_merge")
    for column in ("enterprise_id", "meta_city"):
        form = f"{column}__form"
        if form not in joined.columns:
            continue
        answered = joined[form].notna()
        differ = answered & (normalise(joined[form]).str.upper() != joined[column].str.upper())
        for _, row in joined[differ.fillna(False)].iterrows():
            problems.append(
                _design_problem(
                    row,
                    key,
                    column,
                    f"{column}: the form says {row[form]!r}, the sample frame {row[column]!r} "
                    "(the frame's value is used)",
                )
            )
        joined = joined.drop(columns=form)
    if "meta_sample_group" in joined.columns and "treatment" in joined.columns:
        group = pd.to_numeric(joined["meta_sample_group"], errors="coerce").astype("Int64")
        differ = (group.notna() & group.ne(joined["treatment"])).fillna(False)
        for _, row in joined[differ].iterrows():
            problems.append(
                _design_problem(
                    row,
                    key,
                    "meta_sample_group",
                    f"meta_sample_group is {row['meta_sample_group']} but {where} assigns "
                    f"treatment {row['treatment']} (the frame's value is used)",
                )
            )
    return joined, problems


def _design_problem(row: pd.Series, key: str, column: str, message: str) -> dict[str, object]:
    return {
        "source": pd.NA,
        "table": "main",
        "source_row": pd.NA,
        "key": row[key],
        "variable": column,
        "kind": "design_mismatch",
        "severity": "warning",
        "value": pd.NA,
        "message": f"{row[key]} ({row['round']}): {message}",
    }


def _attrition(
    data: pd.DataFrame,
    units: pd.DataFrame,
    key: str,
    rounds: Sequence[str],
    ordered: Sequence[CleanRound],
) -> pd.DataFrame:
    table = units.copy()
    for name in rounds:
        here = data[data["round"] == name].set_index(key)
        table[f"has_{name}"] = table[key].isin(here.index).astype("int64").astype("Int64")
        interviewed = here["interviewed"] if "interviewed" in here.columns else None
        values = (
            table[key].map(interviewed).astype("Int64")
            if interviewed is not None
            else table[f"has_{name}"]
        )
        table[f"interviewed_{name}"] = values.fillna(0).astype("Int64")
    first, last = rounds[0], rounds[-1]
    if len(rounds) == 1:
        table["attrited"] = pd.array([pd.NA] * len(table), dtype="Int64")
        table["attrition_reason"] = pd.array([pd.NA] * len(table), dtype="string")
        return table
    base = table[f"interviewed_{first}"].eq(1)
    lost = table[f"interviewed_{last}"].eq(0)
    table["attrited"] = pd.array(np.where(base, lost.astype(int), -1), dtype="Int64")
    table.loc[~base, "attrited"] = pd.NA
    reason = np.where(
        table[f"has_{last}"].eq(0), "no_record", np.where(lost, "not_interviewed", "")
    )
    tracking = next(
        (
            q
            for q, _ in ordered[-1].instrument.walk()
            if q.name in DEFAULT_TRACKING and q.name in data.columns
        ),
        None,
    )
    if tracking is not None:
        last_data = data[data["round"] == last].set_index(key)[tracking.name]
        codes = table[key].map(last_data).astype("Int64")
        labels = {
            int(c.name): c.label.get("en") or c.label.first()
            for c in ordered[-1].instrument.choice_list(tracking.list_name or "").choices
            if c.name.lstrip("-").isdigit()
        }
        table[f"{last}_{tracking.name}"] = codes
        named = codes.map(labels, na_action="ignore")
        reason = np.where(
            (reason == "not_interviewed") & named.notna().to_numpy(),
            "not_interviewed: " + named.fillna("").astype(str).to_numpy(),
            reason,
        )
    table["attrition_reason"] = pd.array(
        np.where(base.to_numpy() & lost.to_numpy(), reason, None), dtype="string"
    )
    return table.sort_values(key, kind="stable").reset_index(drop=True)


def clean_sources(
    rounds: Sequence[RawRound],
    instruments: Mapping[tuple[str, str], Instrument],
    decisions: Decisions,
    frame: SampleFrame | None,
    *,
    progress: Callable[[str], None] | None = None,
) -> tuple[list[CleanRound], dict[str, Panel]]:
    """Clean every raw round (files of one instrument and round together) and link the panels.

    Parameters
    ----------
    rounds : sequence of RawRound
        What the loaders read (``LoadedSources.rounds``).
    instruments : Mapping
        ``(instrument, round)`` to its form.
    decisions : Decisions
        The reviewed decisions.
    frame : SampleFrame or None
        The sample frame; a panel is linked through it when its key is the frame's key or its
        enterprise column.
    progress : callable, optional
        Called with the name of each step.

    Returns
    -------
    tuple of (list of CleanRound, dict of str to Panel)
        The clean rounds, and the panel of every instrument family.

    Raises
    ------
    UnresolvedDuplicatesError
        When any round has duplicate groups without decisions: one error for all rounds, its
        report the rows of every round (nothing is linked then).

    Notes
    -----
    Reads the raw rounds; unit: submission in, respondent x round out (key: the instrument
    family's key and ``round``). :func:`evaluation.cleaning.outputs.run_clean` and the report
    pipeline both clean through this function.
    """
    step = progress or (lambda _: None)
    groups: dict[tuple[str, str], list[RawRound]] = {}
    for raw in rounds:
        groups.setdefault((raw.source.instrument, raw.round), []).append(raw)
    results: list[CleanRound] = []
    unresolved: list[UnresolvedDuplicatesError] = []
    for (family, round_name), raws in groups.items():
        step(f"cleaning {family} {round_name}")
        try:
            results.append(clean_round(raws, instruments[(family, round_name)], decisions))
        except UnresolvedDuplicatesError as err:
            unresolved.append(err)
    if unresolved:
        report = pd.concat([e.report for e in unresolved], ignore_index=True)
        raise UnresolvedDuplicatesError("; ".join(str(e) for e in unresolved), report)
    step("linking panels")
    by_family: dict[str, list[CleanRound]] = {}
    for result in results:
        by_family.setdefault(result.family, []).append(result)
    panels = {}
    for family, parts in by_family.items():
        key = parts[0].key
        linked = (
            frame
            if frame is not None and key in {frame.source.key, frame.source.enterprise}
            else None
        )
        panels[family] = build_panel(parts, linked)
    return results, panels

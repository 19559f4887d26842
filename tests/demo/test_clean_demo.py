"""Issue 5 on the demo world: every injected problem is found, nothing is lost, nothing leaks.

For every export format, a messy demo folder is cleaned as a data manager does (see
``conftest.cleaned_demo``). The expected problems are the demo's ``manifest.csv`` (written by the
messiness injector, independent of cleaning); each kind is looked for where cleaning reports it:

=========================  =================================================================
``exact_resubmission``     ``exclusions.csv``: the copy excluded, reason ``exact_resubmission``
``conflicting_duplicate``  the duplicates report of the first run lists the submission
``mistyped_id``,           apprentice forms: the second run stops (``LinkageError``) listing
``leading_zero_id``        the ID; capacity forms (no sample frame): a pattern failure
                           (``constraint_failed``) or the panel's ``not_in_first_round``,
                           ``possible_mistyped_id`` or ``changed_between_rounds`` flag
``full_width_digits``      the private store's ``__normalised`` identifier is the ASCII number
``out_of_range``           ``problems.csv``: ``out_of_range`` on the key and variable
``skip_logic_violation``   ``problems.csv``: ``not_relevant_value`` on the key and variable
``pii_in_free_text``       ``problems.csv``: ``pii_in_text`` on the key and variable
``direct_identifier``      the frame's resident ID numbers: nowhere under ``--out``
=========================  =================================================================

``rushed_interview`` and ``other_specify_existing`` are the quality checks' to report
(``test_checks_demo.py``).
"""

from __future__ import annotations

import json
import unicodedata

import pandas as pd
import pyreadstat
import pytest

from .conftest import FORMATS, forms_of

pytestmark = pytest.mark.slow

CLEANING_KINDS = {
    "exact_resubmission",
    "conflicting_duplicate",
    "mistyped_id",
    "leading_zero_id",
    "full_width_digits",
    "out_of_range",
    "skip_logic_violation",
    "pii_in_free_text",
    "direct_identifier",
}
PANEL_ID_FLAGS = ["not_in_first_round", "possible_mistyped_id", "changed_between_rounds"]
CHECK_KINDS = {"rushed_interview", "other_specify_existing"}


def _read(path):
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")


def _source(file: str) -> str:
    return file.removeprefix("raw/")


@pytest.mark.parametrize("format_name", FORMATS)
def test_every_injected_problem_is_found(cleaned_demo, format_name):
    cleaned = cleaned_demo(format_name)
    manifest = cleaned.demo.manifest
    assert set(manifest["kind"]) <= CLEANING_KINDS | CHECK_KINDS
    exclusions = _read(cleaned.out / "exclusions.csv")
    problems = _read(cleaned.out / "problems.csv")
    panel_problems = _read(cleaned.out / "panel_problems.csv")
    flagged = set(
        zip(
            problems["source"],
            problems["key"],
            problems["variable"],
            problems["kind"],
            strict=False,
        )
    )
    excluded = set(zip(exclusions["instance_id"], exclusions["reason"], strict=False))
    reported = set(cleaned.duplicates_report["instance_id"])
    not_found = []
    for row in manifest.itertuples():
        source = _source(row.file)
        if row.kind == "exact_resubmission":
            found = (row.instance_id, "exact_resubmission") in excluded
        elif row.kind == "conflicting_duplicate":
            found = row.instance_id in reported
        elif row.kind in {"mistyped_id", "leading_zero_id"}:
            if row.column == "resp_id":
                found = f"'{row.key}'" in cleaned.linkage_message
            else:
                found = (source, row.key, row.column, "constraint_failed") in flagged or (
                    (panel_problems["key"] == row.key) & panel_problems["kind"].isin(PANEL_ID_FLAGS)
                ).any()
        elif row.kind == "full_width_digits":
            found = _normalised_in_private(cleaned, row)
        elif row.kind in {"out_of_range", "skip_logic_violation", "pii_in_free_text"}:
            kind = {
                "out_of_range": "out_of_range",
                "skip_logic_violation": "not_relevant_value",
                "pii_in_free_text": "pii_in_text",
            }[row.kind]
            found = (source, row.key, row.column, kind) in flagged
        else:  # direct identifiers of the frame: test_no_planted_identifier_under_out
            continue
        if not found:
            not_found.append((row.file, row.key, row.column, row.kind))
    assert not not_found, not_found


def _normalised_in_private(cleaned, row) -> bool:
    family, round_name = forms_of(cleaned.folder)[_source(row.file)]
    stored = pd.read_parquet(cleaned.private / family / round_name / "identifiers.parquet")
    mine = stored[stored["instance_id"] == row.instance_id]
    if len(mine) != 1:
        return False
    raw = mine[row.column].iloc[0]
    # NFKC maps full-width digits to ASCII (Unicode compatibility decomposition).
    return raw != unicodedata.normalize("NFKC", raw) and mine[f"{row.column}__normalised"].iloc[
        0
    ] == unicodedata.normalize("NFKC", raw)


@pytest.mark.parametrize("format_name", FORMATS)
def test_every_raw_row_is_accounted_for(cleaned_demo, format_name):
    cleaned = cleaned_demo(format_name)
    summary = json.loads((cleaned.out / "summary.json").read_text("utf-8"))
    exclusions = _read(cleaned.out / "exclusions.csv")
    for name, submissions in cleaned.demo.submissions.items():
        family, round_name = name
        rows_in = len(submissions.responses.main)  # the rows the demo wrote into the export
        source = next(p for p, form in forms_of(cleaned.folder).items() if form == name)
        counts = summary["sources"][source]
        kept = pd.read_parquet(cleaned.out / family / f"{round_name}.parquet")
        mine = exclusions[(exclusions["source"] == source) & (exclusions["table"] == "main")]
        assert counts["rows_in"] == rows_in, source
        assert counts["rows_kept"] == len(kept), source
        assert counts["rows_excluded"] == len(mine), source
        assert len(kept) + len(mine) == rows_in, source
        # each raw submission is either kept or excluded, once
        instances = set(submissions.envelope["instance_id"])
        assert set(kept["instance_id"]) | set(mine["instance_id"]) == instances, source
        assert not set(kept["instance_id"]) & set(mine["instance_id"]), source


def _planted(demo, forms) -> set[str]:
    """Every name, phone and ID number the demo world planted (frame and answers)."""
    apprentices = demo.population.apprentices
    values = set()
    for column in ("name", "phone", "resident_id"):
        if column in apprentices.columns:
            values |= set(apprentices[column].astype(str))
    for submissions in demo.submissions.values():
        main = submissions.responses.main
        for q, _ in submissions.instrument.walk():
            if q.pii == "direct" and q.name in main.columns:
                values |= {unicodedata.normalize("NFKC", v) for v in main[q.name].astype(str)}
    manifest = demo.manifest
    pii = manifest[manifest["kind"] == "pii_in_free_text"]
    for row in pii.itertuples():
        main = demo.submissions[forms[_source(row.file)]].responses.main
        key = next(k for k in ("resp_id", "participant_id", "enterprise_id") if k in main)
        text = main.loc[main[key] == row.key]
        values |= set(text[row.column].str.extract(r"(1[3-9]\d{9})")[0].dropna())
    return {v for v in values if len(v) >= 2 and v not in {"nan", ""}}


def _texts(path) -> list[str]:
    if path.suffix == ".parquet":
        frame = pd.read_parquet(path)
        return [*map(str, frame.columns), *frame.astype("string").fillna("").to_numpy().ravel()]
    if path.suffix in {".sav", ".dta"}:
        reader = pyreadstat.read_sav if path.suffix == ".sav" else pyreadstat.read_dta
        frame, meta = reader(str(path))
        labels = [str(v) for m in meta.variable_value_labels.values() for v in m.values()]
        return [
            *map(str, frame.columns),
            *map(str, frame.to_numpy().ravel()),
            *labels,
            *map(str, meta.column_labels),
        ]
    return [path.read_text(encoding="utf-8-sig")]


@pytest.mark.parametrize("format_name", FORMATS)
def test_no_planted_identifier_under_out(cleaned_demo, format_name):
    cleaned = cleaned_demo(format_name)
    planted = _planted(cleaned.demo, forms_of(cleaned.folder))
    assert len(planted) > 100  # names, phones and resident IDs of every apprentice
    files = sorted(p for p in cleaned.out.rglob("*") if p.is_file())
    assert any(p.suffix == ".sav" for p in files)
    assert any(p.suffix == ".dta" for p in files)
    names = {v for v in planted if not v.isdigit() and not v[:-1].isdigit()}
    numbers = planted - names
    for path in files:
        text = "\n".join(_texts(path))
        leaked = [v for v in numbers if v in text]
        # names are matched as whole cells or words (a two-character name can be a word)
        leaked += [v for v in names if len(v) >= 3 and v in text]
        assert not leaked, (path, len(leaked))
        cells = set(_texts(path)) if path.suffix in {".parquet", ".sav", ".dta"} else set()
        assert not cells & names, path


def _numeric_columns(clean: pd.DataFrame, data: pd.DataFrame) -> list[str]:
    return [
        c
        for c in clean.columns
        if c in data.columns and pd.api.types.is_numeric_dtype(clean[c].dtype)
    ]


@pytest.mark.xdist_group("demo-kobo-csv")
@pytest.mark.parametrize("family_round", ["apprentice_baseline", "enterprise_endline"])
def test_partner_files_read_back_with_the_clean_values_and_labels(cleaned_demo, family_round):
    # Readers: pyreadstat and pandas (read_spss, read_stata), against the clean parquet file
    # and the instrument's own choice lists (English labels, the run's default language).
    cleaned = cleaned_demo("kobo-csv")
    family, round_name = family_round.split("_")
    clean = pd.read_parquet(cleaned.out / family / f"{round_name}.parquet")
    form = cleaned.demo.submissions[(family, round_name)].instrument
    specials = {float(c.value) for c in form.special_codes}
    sav, meta = pyreadstat.read_sav(str(cleaned.out / "partner" / f"{family_round}.sav"))
    dta, dta_meta = pyreadstat.read_dta(str(cleaned.out / "partner" / f"{family_round}.dta"))
    plain_sav = pd.read_spss(
        cleaned.out / "partner" / f"{family_round}.sav", convert_categoricals=False
    )
    plain_dta = pd.read_stata(
        cleaned.out / "partner" / f"{family_round}.dta",
        convert_categoricals=False,
        convert_dates=False,
    )
    key = "resp_id" if family == "apprentice" else "enterprise_id"
    for table in (sav, dta, plain_sav, plain_dta):
        assert table[key].tolist() == clean[key].tolist()
    numeric = _numeric_columns(clean, sav)
    assert len(numeric) > 20
    for column in numeric:
        values = clean[column].astype("Float64")
        answered = values.notna().to_numpy()
        expected = values[answered].astype(float).to_numpy()
        for table in (sav, dta, plain_sav, plain_dta):
            got = pd.to_numeric(table[column], errors="coerce").to_numpy(dtype=float)
            assert (got[answered] == expected).all(), column
        # not answered: system-missing or a declared special code, never a made-up number
        rest = sav[column].to_numpy(dtype=float)[~answered]
        assert all(v != v or v in specials for v in rest), column
    checked = 0
    for q, _ in form.walk():
        if q.type != "select_one" or q.name not in meta.variable_value_labels:
            continue
        choices = {
            float(c.name): c.label.get("en")
            for c in form.choice_list(q.list_name).choices
            if c.name.lstrip("-").isdigit() and not c.special
        }
        for labels in (meta.variable_value_labels[q.name], dta_meta.variable_value_labels[q.name]):
            assert {v: labels[v] for v in choices if v in labels} == choices, q.name
        assert meta.column_names_to_labels[q.name]
        checked += 1
    assert checked > 5


@pytest.mark.parametrize(
    "format_name",
    [f for f in FORMATS if f.values[0] in {"surveycto", "gb18030-csv", "odk", "stata"}],
)
def test_date_questions_are_declared_to_cleaning(demo_folder, format_name):
    # The date answers of the export ('today') parse with the format the demo declares in
    # decisions/cleaning.toml (ISO 8601 when it declares none), by cleaning's own rules.
    from evaluation.cleaning.rules import parse_rules
    from evaluation.cleaning.values import parse_dates
    from evaluation.loaders import read_sources

    folder, demo = demo_folder(seed=1, format=format_name)
    path = folder / "decisions" / "cleaning.toml"
    rules = parse_rules(path.read_text("utf-8") if path.exists() else "")
    assert path.exists() == (format_name != "odk")
    if format_name == "stata":  # the firm's extended missing values, not dates
        declared = {letter: rules.stata_missing.get(letter) for letter in "abc"}
        assert declared == {"a": "dont_know", "b": "refused", "c": "not_applicable"}
        return
    forms = {key: s.instrument for key, s in demo.submissions.items()}
    loaded = read_sources(folder / "raw", forms)
    for raw in loaded.rounds:
        today = raw.data["today"].astype("string")
        parsed, bad = parse_dates(today[today.fillna("") != ""], rules.date_format("today"))
        assert not bad.any(), (raw.source.name, today[bad.reindex(today.index, fill_value=False)])
        assert parsed.notna().all()

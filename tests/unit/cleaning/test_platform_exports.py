"""Cleaning real KoboToolbox exports (``../shared/data/platform/kobo``, written by formpack).

Independent source: formpack, KoboToolbox's own exporter, wrote both the select_multiple answer
column and its ``question/choice`` 1/0 columns (blank when not answered), and
``submissions.json`` holds the submissions it was given. The dummies cleaning rebuilds from the
answer column must equal formpack's 1/0 columns, and the typed values must equal the
submissions.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from evaluation.cleaning import clean_round
from evaluation.loaders import Source, read_round
from tests.unit.cleaning.conftest import decisions_from
from tests.unit.loaders.kobo_forms import kobo_instrument


@pytest.mark.parametrize(
    "file", ["export_xml_both.csv", "export_xml_both.xlsx", "export_xml_both_typed.xlsx"]
)
def test_select_multiple_and_integers_from_a_kobo_export(platform_data, file):
    folder = platform_data / "kobo" / "grouped_translated"
    instrument = kobo_instrument(folder)
    fmt = "kobo-csv" if file.endswith(".csv") else "kobo-xlsx"
    source = Source(
        name=file,
        path=folder / file,
        instrument="kobo",
        round="fixture",
        format=fmt,
        encoding="utf-8" if fmt == "kobo-csv" else None,
        # the typed workbook holds Excel date-times without the offset (-05:00) they had
        timezone="Etc/GMT+5" if "typed" in file else None,
    )
    raw = read_round(source, instrument)
    rules = f'[keys]\n{instrument.form_id} = "instance_id"\n'
    result = clean_round(raw, instrument, decisions_from(rules))
    submissions = json.loads((folder / "submissions.json").read_text(encoding="utf-8"))
    data = result.data.set_index("instance_id")
    assert len(data) == len(submissions)
    question = "What_kind_of_symmetry_do_you_have"
    choices = [
        c.name for c in instrument.choice_list(instrument.question(question).list_name).choices
    ]
    for number, submission in enumerate(submissions):
        # the export has no _uuid column: a submission is its row (row i = submission i)
        row = data.loc[f"{file}#row{number + 2}"]
        answer = submission.get(f"external_characteristics/{question}")
        for choice in choices:
            file_value = raw.data[f"{question}/{choice}"].iloc[number]
            expected = pd.NA if file_value in ("", None) else int(float(file_value))
            assert (
                row[f"{question}__{choice}"] is expected or row[f"{question}__{choice}"] == expected
            )
        if answer is None:
            assert pd.isna(row[question])
            assert row[f"{question}__reason"] in {"skipped", "missing"}
        else:
            assert row[question] == answer
        segments = submission.get("external_characteristics/How_many_segments_does_your_body_have")
        value = row["How_many_segments_does_your_body_have"]
        assert (pd.isna(value) and segments is None) or value == int(segments)
    assert result.problems[result.problems["kind"] == "select_multiple_mismatch"].empty
    assert str(result.data[question].dtype) == "string"
    assert str(result.data["Do_you_have_body_flu_intracellular_space"].dtype) == "string"
    counts = result.summary()[file]
    assert counts["rows_in"] == counts["rows_kept"] + counts["rows_excluded"] == len(submissions)

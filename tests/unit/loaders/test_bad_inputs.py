"""DATA.md section 10, the catalogue of bad inputs that concern reading: one test (or more) each.

Every fixture is written by hand here (literal bytes, openpyxl, pandas and pyreadstat writers);
none comes from the demo world's simulator. Each test asserts the exception type and that the
message names the file, the row or line (or key), the column, the value when it is not an
identifier, and what was expected; and that no planted identifier appears in it.
"""

from __future__ import annotations

import io

import numpy as np
import openpyxl
import pandas as pd
import pyreadstat
import pytest

from evaluation.instruments.model import Question
from evaluation.loaders import (
    MAIN_TABLE,
    DecodingError,
    HeaderError,
    LabelExportError,
    LinkError,
    MangledValueError,
    RowCountError,
    SourceFormatError,
    read_round,
)
from tests.unit.loaders.conftest import NAME, PHONE, RESIDENT_ID, assert_no_identifiers

HEADER = "resp_id,id_name,id_phone,dem_sex,dem_birth_year"


def _csv(*rows: str, header: str = HEADER, end: str = "\n") -> str:
    return end.join([header, *rows]) + end


def _xlsx(rows: list[list[object]], title: str = "数据", extra: tuple[str, ...] = ()) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = title
    for row in rows:
        sheet.append(row)
    for name in extra:
        book.create_sheet(name)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


GOOD_ROWS = (f"TJ001001,{NAME},{PHONE},1,1998", "TJ001002,李四,13900000000,2,2001")


# --- 8. encodings --------------------------------------------------------------------------


def test_gb18030_file_declared_utf8_fails_with_line_and_hint(declare, small):
    data = _csv(*GOOD_ROWS).encode("gb18030")
    source = declare("gbk.csv", data, "csv", encoding="utf-8", delimiter=",")
    with pytest.raises(DecodingError) as caught:
        read_round(source, small)
    message = str(caught.value)
    assert message.startswith("gbk.csv: line 2, byte 10:")
    assert "not valid utf-8" in message
    assert "decodes as GB18030" in message
    assert_no_identifiers(message)


def test_gb18030_file_declared_gb18030_reads(declare, small):
    data = _csv(*GOOD_ROWS).encode("gb18030")
    raw = read_round(declare("gbk.csv", data, "csv", encoding="gb18030", delimiter=","), small)
    assert raw.data["id_name"].tolist() == [NAME, "李四"]
    assert raw.info.encoding == "gb18030"


def test_utf8_file_declared_gb18030_is_refused_as_mojibake(declare, small):
    # UTF-8 read as GB18030 can succeed silently (张三 -> 寮犱笁); the loader refuses it.
    rows = (
        "TJ001001,张三丰,13812345678,1,1998",
        "TJ001002,李四,13900000000,2,2001",
        "TJ001003,王小明,13700000000,1,1999",
    )
    text = _csv(*rows)
    # find a text whose UTF-8 bytes decode as GB18030 (the silent case)
    data = text.encode("utf-8")
    try:
        data.decode("gb18030")
    except UnicodeDecodeError:
        data = _csv(rows[0]).replace("张三丰", "张三").encode("utf-8")
        data.decode("gb18030")
    source = declare("utf8.csv", data, "csv", encoding="gb18030", delimiter=",")
    with pytest.raises(DecodingError) as caught:
        read_round(source, small)
    message = str(caught.value)
    assert "utf8.csv" in message
    assert "valid UTF-8" in message
    assert "declare 'utf-8'" in message
    assert_no_identifiers(message)


def test_gbk_text_declared_latin1_is_flagged_as_mojibake(declare, small):
    # GBK bytes read as Latin-1 always "succeed" (张三 -> ÕÅÈý); the heuristic counts them.
    data = _csv(*GOOD_ROWS).encode("gbk")
    raw = read_round(declare("latin.csv", data, "csv", encoding="latin-1", delimiter=","), small)
    (flag,) = raw.issues_of("suspected_mojibake")
    assert flag.count == 2
    assert flag.rows == (2, 3)
    assert "look like gb18030 text decoded as cp1252" in flag.message
    assert_no_identifiers(flag.message)


def test_mojibake_baked_into_a_utf8_file_is_flagged(declare, small):
    # A file someone opened as Windows-1252 and saved as UTF-8: the text itself is garbled.
    garbled = NAME.encode("gbk").decode("cp1252")
    data = _csv(f"TJ001001,{garbled},{PHONE},1,1998").encode("utf-8")
    raw = read_round(declare("baked.csv", data, "csv", encoding="utf-8", delimiter=","), small)
    assert raw.data["id_name"].iloc[0] == garbled  # kept as received, never repaired silently
    (flag,) = raw.issues_of("suspected_mojibake")
    assert flag.rows == (2,)


def test_utf8_bom_needs_utf8_sig(declare, small):
    data = b"\xef\xbb\xbf" + _csv(*GOOD_ROWS).encode("utf-8")
    with pytest.raises(DecodingError) as caught:
        read_round(declare("bom.csv", data, "csv", encoding="utf-8", delimiter=","), small)
    assert "bom.csv" in str(caught.value)
    assert "'utf-8-sig'" in str(caught.value)
    raw = read_round(declare("bom2.csv", data, "csv", encoding="utf-8-sig", delimiter=","), small)
    assert raw.source_path[MAIN_TABLE]["resp_id"] == "resp_id"  # no BOM left in the header
    assert not raw.issues_of("header_normalised")


def test_unknown_encoding_is_a_declaration_error(declare):
    with pytest.raises(SourceFormatError) as caught:
        declare("x.csv", b"a\n1\n", "csv", encoding="gb-what", delimiter=",")
    assert "encoding" in str(caught.value)
    assert "gb-what" in str(caught.value)


# --- 18. delimiters and quoting ---------------------------------------------------------------


def test_kobo_semicolons_declared_as_commas(declare, small):
    data = b'"resp_id";"dem_sex"\r\n"TJ001001";"1"\r\n'
    with pytest.raises(HeaderError) as caught:
        read_round(declare("kobo.csv", data, "csv", encoding="utf-8", delimiter=","), small)
    message = str(caught.value)
    assert "kobo.csv" in message
    assert "declare delimiter = ';'" in message


def test_kobo_csv_semicolons_quotes_crlf(declare, small):
    data = (
        b'"resp_id";"id_name";"job_si";"job_si/1";"job_si/2";"job_si/0";"_uuid";"_submission_time"\r\n'
        b'"TJ001001";"a ""quoted""; name";"1 2";"1";"1";"0";"abc";"2024-05-01T03:04:05"\r\n'
    )
    raw = read_round(declare("k.csv", data, "kobo-csv", encoding="utf-8"), small)
    assert raw.data["id_name"].iloc[0] == 'a "quoted"; name'
    assert raw.data["job_si/2"].iloc[0] == "1"
    assert raw.meta["instance_id"].iloc[0] == "uuid:abc"
    assert raw.meta["submitted_at"].iloc[0] == pd.Timestamp("2024-05-01T03:04:05Z")


def test_unterminated_quote_gives_the_line_where_it_opens(declare, small):
    data = _csv(*GOOD_ROWS, f'TJ001003,"{NAME},{PHONE},1,1998', "TJ001004,x,y,1,1990").encode()
    with pytest.raises(RowCountError) as caught:
        read_round(declare("quote.csv", data, "csv", encoding="utf-8", delimiter=","), small)
    message = str(caught.value)
    assert message.startswith("quote.csv: line 4:")
    assert "never closed" in message
    assert_no_identifiers(message)


def test_stray_quote_inside_an_unquoted_field_is_data(declare, small):
    # A quote in the middle of an unquoted field is literal (as for pandas and Excel).
    data = _csv('TJ001001,5" screen,13800000000,1,1998', "TJ001002,b,13900000000,2,2001").encode()
    raw = read_round(declare("stray.csv", data, "csv", encoding="utf-8", delimiter=","), small)
    assert raw.data["id_name"].tolist() == ['5" screen', "b"]
    # two literal quotes on different lines pair up in a quick parity count; still read right
    data = _csv('TJ001001,5" screen,13800000000,1,1998', 'TJ001002,7" tab,13900000000,2,2001')
    raw = read_round(
        declare("pair.csv", data.encode(), "csv", encoding="utf-8", delimiter=","), small
    )
    assert raw.data["id_name"].tolist() == ['5" screen', '7" tab']
    assert raw.meta["source_row"].tolist() == [2, 3]


def test_ragged_rows_are_listed_never_skipped(declare, small):
    data = _csv(GOOD_ROWS[0], "TJ001002,x,13900000000,2", "TJ001003,y,1,2,1990,extra").encode()
    with pytest.raises(RowCountError) as caught:
        read_round(declare("ragged.csv", data, "csv", encoding="utf-8", delimiter=","), small)
    message = str(caught.value)
    assert "line 3: 4 fields" in message
    assert "line 4: 6 fields" in message
    assert "header's 5 fields" in message
    assert_no_identifiers(message)


def test_embedded_newlines_keep_line_numbers(declare, small):
    data = _csv(
        'TJ001001,"two\nlines",13800000000,1,1998', "TJ001002,b,13900000000,2,2001"
    ).encode()
    raw = read_round(declare("nl.csv", data, "csv", encoding="utf-8", delimiter=","), small)
    assert raw.data["id_name"].iloc[0] == "two\nlines"
    assert raw.meta["source_row"].tolist() == [2, 4]  # the second record starts on line 4


# --- 19, 20. truncated, empty and header-only files -------------------------------------------


def test_empty_csv(declare, small):
    with pytest.raises(RowCountError) as caught:
        read_round(declare("empty.csv", b"", "csv", encoding="utf-8", delimiter=","), small)
    assert str(caught.value) == "empty.csv: the file is empty (0 bytes): no header and no data rows"


def test_header_only_csv(declare, small):
    source = declare("head.csv", (HEADER + "\n").encode(), "csv", encoding="utf-8", delimiter=",")
    with pytest.raises(RowCountError) as caught:
        read_round(source, small)
    assert str(caught.value) == "head.csv: the file has a header but no data rows"


def test_empty_and_header_only_xlsx(declare, small):
    with pytest.raises(RowCountError) as caught:
        read_round(declare("empty.xlsx", _xlsx([]), "xlsx"), small)
    assert "empty.xlsx sheet '数据': the sheet is empty" in str(caught.value)
    with pytest.raises(RowCountError) as caught:
        read_round(declare("head.xlsx", _xlsx([HEADER.split(",")]), "xlsx"), small)
    assert "head.xlsx sheet '数据': the sheet has a header but no data rows" in str(caught.value)


def test_truncated_against_declared_and_previous_counts(declare, small):
    data = _csv(*GOOD_ROWS).encode()
    source = declare("cut.csv", data, "csv", encoding="utf-8", delimiter=",", expected_rows=3)
    with pytest.raises(RowCountError) as caught:
        read_round(source, small)
    assert "cut.csv: table 'main' has 2 rows but sources.toml expects 3" in str(caught.value)
    source = declare("cut2.csv", data, "csv", encoding="utf-8", delimiter=",")
    with pytest.raises(RowCountError) as caught:
        read_round(source, small, previous_rows=5)
    assert "the previous run read 5" in str(caught.value)
    assert len(read_round(source, small, previous_rows=2)) == 2


def test_cut_without_final_newline_is_flagged(declare, small):
    data = _csv(*GOOD_ROWS).rstrip("\n").encode()
    raw = read_round(declare("nofinal.csv", data, "csv", encoding="utf-8", delimiter=","), small)
    (flag,) = raw.issues_of("no_final_newline")
    assert flag.rows == (3,)


# --- 21. sheets -------------------------------------------------------------------------------


def test_wrong_sheet_name_lists_the_sheets(declare, small):
    book = _xlsx([HEADER.split(","), ["TJ001001", "x", "y", "1", "1998"]], extra=("Sheet2",))
    with pytest.raises(HeaderError) as caught:
        read_round(declare("s.xlsx", book, "xlsx", sheet="Sheet1"), small)
    assert str(caught.value) == (
        "s.xlsx: no sheet named 'Sheet1' (for table 'main'); the workbook's sheets are "
        "['数据', 'Sheet2']"
    )
    with pytest.raises(HeaderError) as caught:
        read_round(declare("s2.xlsx", book, "xlsx"), small)
    assert "declare which one holds the data" in str(caught.value)
    raw = read_round(declare("s3.xlsx", book, "xlsx", sheet="数据"), small)
    assert raw.info.sheets == ((MAIN_TABLE, "数据"),)


def test_kobo_workbook_without_its_repeat_sheet(declare, small):
    book = _xlsx([["resp_id", "_index"], ["TJ001001", 1]], title="Small test form")
    with pytest.raises(HeaderError) as caught:
        read_round(declare("k.xlsx", book, "kobo-xlsx"), small)
    message = str(caught.value)
    assert "no sheet 'hh' for repeat 'hh'" in message
    assert "['Small test form']" in message


# --- 22, 23. headers ----------------------------------------------------------------------------


def test_duplicate_headers_before_pandas_renames_them(declare, small):
    data = _csv("TJ001001,1,TJ001001", header="resp_id,dem_sex,resp_id").encode()
    with pytest.raises(HeaderError) as caught:
        read_round(declare("dup.csv", data, "csv", encoding="utf-8", delimiter=","), small)
    assert str(caught.value) == (
        "dup.csv: header 'resp_id' appears twice (columns 1 and 3); the file must name every "
        "column once"
    )


def test_duplicate_after_trailing_space(declare, small):
    data = _csv("TJ001001,1,TJ001001", header="resp_id,dem_sex,resp_id ").encode()
    with pytest.raises(HeaderError) as caught:
        read_round(declare("dup.csv", data, "csv", encoding="utf-8", delimiter=","), small)
    assert "columns 1 and 3" in str(caught.value)


def test_blank_header(declare, small):
    data = _csv("TJ001001,1,x", header="resp_id,dem_sex,").encode()
    with pytest.raises(HeaderError) as caught:
        read_round(declare("blank.csv", data, "csv", encoding="utf-8", delimiter=","), small)
    assert "blank.csv: column 3 has a blank header" in str(caught.value)


def test_headers_normalised_and_reported(declare, small):
    # NBSP, zero-width space and full-width letters in headers, as Excel users leave them
    header = "resp_id\u00a0,\u200bdem_sex,ｄｅｍ＿ｂｉｒｔｈ＿ｙｅａｒ"
    data = _csv("TJ001001,1,1998", header=header).encode()
    raw = read_round(declare("h.csv", data, "csv", encoding="utf-8", delimiter=","), small)
    assert list(raw.data.columns[:3]) == ["resp_id", "dem_sex", "dem_birth_year"]
    assert len(raw.issues_of("header_normalised")) == 3


def test_unknown_and_missing_columns_reported(declare, small):
    data = _csv("TJ001001,1,x", header="resp_id,dem_sex,dem_extra").encode()
    raw = read_round(declare("u.csv", data, "csv", encoding="utf-8", delimiter=","), small)
    assert [i.column for i in raw.issues_of("unknown_column")] == ["dem_extra"]
    assert raw.data["dem_extra"].tolist() == ["x"]  # kept, not dropped
    missing = {i.column for i in raw.issues_of("missing_column")}
    assert missing == {
        "start",
        "end",
        "deviceid",
        "id_name",
        "id_phone",
        "dem_birth_year",
        "job_si",
    }


def test_group_paths_are_stripped_with_source_paths(declare, small):
    data = _csv("TJ001001,1", header="ident/resp_id,dem_sex").encode()
    raw = read_round(declare("g.csv", data, "csv", encoding="utf-8", delimiter=","), small)
    assert raw.source_path[MAIN_TABLE]["resp_id"] == "ident/resp_id"


# --- 5, 6, 10. Excel-mangled IDs, phones as numbers, full-width digits -----------------------


def test_scientific_notation_id_is_refused(declare, small):
    data = _csv(f"TJ001001,{NAME},{PHONE},1,1998", "1.10105E+17,x,13900000000,2,2001").encode()
    with pytest.raises(MangledValueError) as caught:
        read_round(declare("m.csv", data, "csv", encoding="utf-8", delimiter=","), small)
    message = str(caught.value)
    assert "m.csv: column 'resp_id'" in message
    assert "row 3 (scientific notation)" in message
    assert "1.10105" not in message
    assert_no_identifiers(message)


def test_eighteen_digits_ending_000_in_a_numeric_cell_is_refused(declare, small):
    book = _xlsx(
        [
            ["resp_id", "id_phone"],
            ["TJ001001", int(RESIDENT_ID[:15] + "000")],
            ["TJ001002", int(PHONE)],
        ]
    )
    with pytest.raises(MangledValueError) as caught:
        read_round(declare("m.xlsx", book, "xlsx"), small)
    message = str(caught.value)
    assert "column 'id_phone'" in message
    assert "row 2 (18 digits ending in 000)" in message
    assert_no_identifiers(message)


def test_genuine_id_ending_in_zero_check_digit_is_kept(declare, small):
    # GB 11643 check character computed by hand for 11010519491231000 (weights 7 9 10 5 8 4 2 1
    # 6 3 7 9 10 5 8 4 2): sum = 7+0+0+0+8+0+18+1+54+3+7+27+10+0+0+0+0 = 135; 135 mod 11 = 3;
    # "10X98765432"[3] = "9". So 110105194912310009 is valid; 110105194912310000 is not.
    data = _csv("TJ001001,x,110105194912310009,1,1998").encode()
    raw = read_round(declare("ok.csv", data, "csv", encoding="utf-8", delimiter=","), small)
    assert raw.data["id_phone"].iloc[0] == "110105194912310009"


def test_leading_zeros_and_numbers_in_text_columns(declare, small):
    # CSV keeps "000123" as text; a workbook number cell in an ID column is reported.
    raw = read_round(
        declare(
            "z.csv",
            _csv("000123,x,013800000000,1,1998").encode(),
            "csv",
            encoding="utf-8",
            delimiter=",",
        ),
        small,
    )
    assert raw.data["resp_id"].iloc[0] == "000123"
    assert raw.data["id_phone"].iloc[0] == "013800000000"
    raw = read_round(declare("z.xlsx", _xlsx([["resp_id", "dem_sex"], [123, 1]]), "xlsx"), small)
    assert raw.data["resp_id"].iloc[0] == "123"
    (flag,) = raw.issues_of("non_text_cells")
    assert flag.column == "resp_id"
    assert flag.rows == (2,)
    assert not [i for i in raw.issues_of("non_text_cells") if i.column == "dem_sex"]


def test_full_width_digits_are_preserved_for_cleaning(declare, small):
    data = _csv("TJ001001,x,１３８００００００００,1,１９９８").encode()
    raw = read_round(declare("fw.csv", data, "csv", encoding="utf-8", delimiter=","), small)
    assert raw.data["dem_birth_year"].iloc[0] == "１９９８"
    assert raw.data["id_phone"].iloc[0] == "１３８００００００００"


def test_excel_dates_become_iso_text_and_are_reported(declare, small):
    import datetime as dt

    book = _xlsx([["resp_id", "dem_birth_year"], ["TJ001001", dt.datetime(1998, 3, 5, 10, 0)]])
    raw = read_round(declare("d.xlsx", book, "xlsx"), small)
    assert raw.data["dem_birth_year"].iloc[0] == "1998-03-05T10:00:00"
    (flag,) = raw.issues_of("date_cells")
    assert flag.column == "dem_birth_year"


# --- 7. dates of metadata ----------------------------------------------------------------------


def test_naive_start_needs_a_timezone(declare, small):
    data = _csv("TJ001001,2024-05-01T09:00:00", header="resp_id,start").encode()
    with pytest.raises(SourceFormatError) as caught:
        read_round(
            declare(
                "t.csv",
                data,
                "csv",
                encoding="utf-8",
                delimiter=",",
                date_formats=(("start", "iso8601"),),
            ),
            small,
        )
    assert "t.csv: row 2, column 'start': date-times have no UTC offset" in str(caught.value)
    raw = read_round(
        declare(
            "t2.csv",
            data,
            "csv",
            encoding="utf-8",
            delimiter=",",
            date_formats=(("start", "iso8601"),),
            timezone="Asia/Shanghai",
        ),
        small,
    )
    assert raw.meta["start"].iloc[0] == pd.Timestamp("2024-05-01T01:00:00Z")


def test_generic_file_needs_a_declared_date_format(declare, small):
    data = _csv("TJ001001,2024/5/1 9:00", header="resp_id,start").encode()
    with pytest.raises(SourceFormatError) as caught:
        read_round(declare("t.csv", data, "csv", encoding="utf-8", delimiter=","), small)
    assert "declare date_formats.start" in str(caught.value)


def test_date_not_in_declared_format_names_row_column_value(declare, small):
    data = _csv("TJ001001,2024/5/1 9:00", "TJ001002,5/1/2024 9:00", header="resp_id,start").encode()
    source = declare(
        "t.csv",
        data,
        "csv",
        encoding="utf-8",
        delimiter=",",
        date_formats=(("start", "%Y/%m/%d %H:%M"),),
        timezone="Asia/Shanghai",
    )
    with pytest.raises(SourceFormatError) as caught:
        read_round(source, small)
    assert str(caught.value) == (
        "t.csv: row 3, column 'start': '5/1/2024 9:00' is not a date-time in the declared format "
        "'%Y/%m/%d %H:%M' (1 such values); fix date_formats in sources.toml"
    )


def test_excel_serial_dates(declare, small):
    data = _csv("TJ001001,45356.5", header="resp_id,start").encode()
    source = declare(
        "s.csv",
        data,
        "csv",
        encoding="utf-8",
        delimiter=",",
        date_formats=(("start", "excel-serial"),),
        timezone="Asia/Shanghai",
    )
    # 45356 days after 1899-12-30 is 2024-03-05 (Excel's 1900 system); .5 is noon local
    assert read_round(source, small).meta["start"].iloc[0] == pd.Timestamp("2024-03-05T04:00:00Z")


# --- 17. label exports ------------------------------------------------------------------------


def test_label_values_under_xml_headers_are_refused(declare, small):
    data = _csv("TJ001001,Male", "TJ001002,Female", header="resp_id,dem_sex").encode()
    with pytest.raises(LabelExportError) as caught:
        read_round(declare("lab.csv", data, "csv", encoding="utf-8", delimiter=","), small)
    assert str(caught.value) == (
        "lab.csv: column 'dem_sex' holds the choice label 'Male' instead of a code of list "
        "'sex': this is a label export; export XML values and headers"
    )


def test_label_headers_are_refused(declare, small):
    data = _csv("TJ001001,1,1998", header="Respondent ID,Sex,Birth year").encode()
    with pytest.raises(LabelExportError) as caught:
        read_round(declare("lab.csv", data, "csv", encoding="utf-8", delimiter=","), small)
    assert "export XML values and headers" in str(caught.value)


# --- 16, 28. form versions and platform -------------------------------------------------------


ODK_HEADER = "SubmissionDate,resp_id,dem_sex,KEY,FormVersion,ReviewState,DeviceID"


def _odk(*rows: str) -> bytes:
    return _csv(*rows, header=ODK_HEADER).encode()


def test_mixed_form_versions_are_reported(declare, small, tmp_path):
    import zipfile

    main = _odk(
        "2024-05-01T03:04:05.000Z,TJ001001,1,uuid:a,2026010101,approved,collect:x",
        "2024-05-02T03:04:05.000Z,TJ001002,2,uuid:b,2026020101,,collect:y",
        "2024-05-03T03:04:05.000Z,TJ001003,2,uuid:c,2026020101,,",
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("small.csv", main)
        archive.writestr("small-hh.csv", b"hh_name,hh_age,PARENT_KEY,KEY\n")
    raw = read_round(declare("o.zip", buffer.getvalue(), "odk-zip", encoding="utf-8"), small)
    (mixed,) = raw.issues_of("mixed_form_versions")
    assert "'2026010101': 1, '2026020101': 2" in mixed.message
    assert raw.meta["review_state"].tolist()[0] == "approved"
    assert raw.meta["device_id"].tolist()[:2] == ["collect:x", "collect:y"]
    assert raw.repeats["hh"].empty


def test_declared_platform_must_match_signature_columns(declare, small):
    data = _odk("2024-05-01T03:04:05.000Z,TJ001001,1,uuid:a,1,,")
    with pytest.raises(HeaderError) as caught:
        read_round(declare("o.csv", data, "kobo-csv", encoding="utf-8", delimiter=","), small)
    message = str(caught.value)
    assert "declared format 'kobo-csv' but the columns SubmissionDate and KEY" in message
    assert "are those of a odk export" in message
    with pytest.raises(HeaderError) as caught:
        read_round(declare("g.csv", data, "csv", encoding="utf-8", delimiter=","), small)
    assert "declare its platform format" in str(caught.value)


# --- 24. repeats ------------------------------------------------------------------------------


def test_orphan_repeat_rows_are_refused(declare, small):
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("small.csv", _odk("2024-05-01T03:04:05.000Z,TJ001001,1,uuid:a,1,,"))
        archive.writestr(
            "small-hh.csv",
            b"hh_name,hh_age,PARENT_KEY,KEY\nx,3,uuid:a,uuid:a/hh[1]\ny,4,uuid:zz,uuid:zz/hh[1]\n",
        )
    with pytest.raises(LinkError) as caught:
        read_round(declare("o.zip", buffer.getvalue(), "odk-zip", encoding="utf-8"), small)
    assert str(caught.value) == (
        "o.zip:small-hh.csv: 1 rows have a PARENT_KEY that matches no row of table 'main' "
        "(orphans), first on row 3: 'uuid:zz'"
    )


# --- 9, 12. Stata and SPSS ----------------------------------------------------------------------


def _gbk_dta(tmp_path, version: int = 117) -> bytes:
    # DATA.md section 11: write with equal-byte-length ASCII placeholders, then replace the bytes.
    frame = pd.DataFrame(
        {"resp_id": ["TJ001001", "TJ001002"], "id_name": ["QQQQ", "abcd"], "dem_sex": [1, 2]}
    )
    path = tmp_path / "w.dta"
    frame.to_stata(path, version=version, write_index=False, variable_labels={"id_name": "WWWW"})
    data = path.read_bytes()
    assert data.count(b"QQQQ") == 1
    return data.replace(b"QQQQ", NAME.encode("gbk")).replace(b"WWWW", "姓名".encode("gbk"))


def test_dta_117_with_gbk_text_needs_an_encoding(declare, small, tmp_path):
    data = _gbk_dta(tmp_path)
    with pytest.raises(DecodingError) as caught:
        read_round(declare("old.dta", data, "stata"), small)
    message = str(caught.value)
    assert message.startswith(
        "old.dta: Stata format 117 (Stata 13 or older) declares no text encoding"
    )
    assert "'gb18030'" in message
    assert_no_identifiers(message)
    raw = read_round(declare("old2.dta", data, "stata", encoding="gb18030"), small)
    assert raw.data["id_name"].tolist() == [NAME, "abcd"]
    assert raw.labels is not None
    assert raw.labels.variable_labels["id_name"] == "姓名"
    assert raw.info.format_version == "dta 117"


def test_dta_117_labels_must_decode_to_chinese(declare, small, tmp_path):
    # UTF-8 bytes in a format-117 file read as GB18030 give mojibake labels: refused.
    frame = pd.DataFrame({"resp_id": ["TJ001001"], "dem_sex": [1]})
    path = tmp_path / "u.dta"
    frame.to_stata(path, version=117, write_index=False, variable_labels={"dem_sex": "WWWWWW"})
    data = path.read_bytes().replace(b"WWWWWW", "性别".encode())
    with pytest.raises(DecodingError) as caught:
        read_round(declare("u.dta", data, "stata", encoding="gb18030"), small)
    assert "variable label of 'dem_sex' does not decode to Chinese" in str(caught.value)


def test_sav_user_missing_codes_are_kept_as_values(declare, small, tmp_path):
    frame = pd.DataFrame(
        {"resp_id": ["TJ001001", "TJ001002", "TJ001003"], "dem_birth_year": [1998.0, -99.0, -98.0]}
    )
    path = tmp_path / "w.sav"
    pyreadstat.write_sav(
        frame,
        str(path),
        variable_value_labels={"dem_birth_year": {-99.0: "不知道", -98.0: "拒绝回答"}},
        missing_ranges={"dem_birth_year": [-99.0, -98.0]},
    )
    raw = read_round(declare("w.sav", path.read_bytes(), "spss"), small)
    assert raw.data["dem_birth_year"].tolist() == [1998.0, -99.0, -98.0]  # not NaN
    assert raw.labels is not None
    assert raw.labels.missing_ranges["dem_birth_year"] == (
        {"lo": -99.0, "hi": -99.0},
        {"lo": -98.0, "hi": -98.0},
    )
    assert raw.labels.value_labels["dem_birth_year"][-99.0] == "不知道"
    assert raw.info.format_version == "sav"


def test_spss_names_match_ignoring_case(declare, small, tmp_path):
    frame = pd.DataFrame({"RESP_ID": ["TJ001001"], "DEM_SEX": [1.0]})
    path = tmp_path / "u.sav"
    pyreadstat.write_sav(frame, str(path), column_labels={"DEM_SEX": "Sex"})
    raw = read_round(declare("u.sav", path.read_bytes(), "spss"), small)
    assert list(raw.data.columns) == ["resp_id", "dem_sex"]
    assert raw.source_path[MAIN_TABLE]["dem_sex"] == "DEM_SEX"
    assert raw.labels is not None
    assert raw.labels.variable_labels["dem_sex"] == "Sex"


def test_spss_from_a_survey_firm_spreads_repeats_wide(declare, small, tmp_path):
    # A survey firm's SPSS file of SurveyCTO data: the repeat 'hh' as hh_age_1, hh_age_2, and
    # a select_multiple inside it as its codes (hh_si_1) and dummies (hh_si_1_<option>). Two
    # submissions: the first has two members, the second one (its hh_*_2 cells are empty).
    import dataclasses

    repeat = next(q for q in small.questions if q.name == "hh")
    member_si = Question("hh_si", "select_multiple", list_name="si")
    form = dataclasses.replace(
        small,
        questions=tuple(
            dataclasses.replace(q, children=(*q.children, member_si)) if q is repeat else q
            for q in small.questions
        ),
    )
    frame = pd.DataFrame(
        {
            "resp_id": ["TJ001001", "TJ001002"],
            "hh_age_1": [34.0, 61.0],
            "hh_si_1": ["1 2", "0"],
            "hh_si_1_1": [1.0, 0.0],
            "hh_si_1_2": [1.0, 0.0],
            "hh_si_1_0": [0.0, 1.0],
            "hh_age_2": [8.0, np.nan],
            "hh_si_2": ["", ""],
            "hh_si_2_1": [np.nan, np.nan],
            "hh_si_2_2": [np.nan, np.nan],
            "hh_si_2_0": [np.nan, np.nan],
        }
    )
    path = tmp_path / "firm.sav"
    pyreadstat.write_sav(frame, str(path))
    raw = read_round(declare("firm.sav", path.read_bytes(), "spss"), form)
    assert list(raw.data.columns) == ["resp_id"]
    members = raw.repeats["hh"]
    assert members["hh_age"].tolist() == ["34", "8", "61"]  # whole numbers, not "34.0"
    assert members["parent_key"].tolist() == [*raw.meta["key"].iloc[[0, 0, 1]]]
    assert members["hh_si"].fillna("").tolist() == ["1 2", "", "0"]
    assert members["hh_si_1"].fillna("").tolist() == ["1", "", "0"]
    assert members["hh_si_0"].fillna("").tolist() == ["0", "", "1"]

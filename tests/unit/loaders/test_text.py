"""Property-based tests of the loaders' text helpers (hypothesis).

Independent sources: Python's :mod:`csv` module (the record structure and the values of any
table it writes), :func:`unicodedata.normalize` (NFKC), the ISO 7064 MOD 11-2 formula of GB
11643-1999 written out here, and the standard's own example number 11010519491231002X.
"""

from __future__ import annotations

import csv
import io
import unicodedata

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evaluation.loaders.errors import DecodingError
from evaluation.loaders.parsing import parse_csv
from evaluation.loaders.text import (
    common_hanzi_share,
    decode_strict,
    is_valid_resident_id,
    mangled_reason,
    mojibake_repair,
    normalise_header,
    resident_id_check_digit,
    scan_records,
)

INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff"
# The 3,755 level-1 hanzi of GB 2312 (rows 16-55): common Chinese characters.
LEVEL1 = [
    bytes([row, cell]).decode("gb2312")
    for row in range(0xB0, 0xD8)
    for cell in range(0xA1, 0xFF)
    if not (row == 0xD7 and cell > 0xF9)
]
hanzi = st.text(alphabet=st.sampled_from(LEVEL1), min_size=2, max_size=12)


@given(st.text(max_size=40))
def test_normalise_header_is_idempotent_and_clean(raw):
    once = normalise_header(raw)
    assert normalise_header(once) == once
    assert once == once.strip()
    assert not any(ch in once for ch in INVISIBLE)


@given(st.text(alphabet=st.characters(exclude_characters=INVISIBLE), max_size=40))
def test_normalise_header_is_nfkc_stripped(raw):
    assert normalise_header(raw) == unicodedata.normalize("NFKC", raw).strip()


def test_normalise_header_examples():
    assert normalise_header("\ufeffresp_id ") == "resp_id"
    assert normalise_header("ｄｅｍ＿ｓｅｘ") == "dem_sex"
    assert normalise_header("q1\u00a0") == "q1"
    assert normalise_header("group/q 1") == "group/q 1"


# Lone carriage returns are left out: unquoted, pandas (like Excel) reads one as a line break while
# the csv module keeps it, so such a file has no single meaning; the loader then refuses it
# because the parser and the record scan disagree on the row count (tested below).
cell = st.text(alphabet=st.sampled_from(list("ab,;\"\n 张三\t'")), max_size=6)


@st.composite
def tables(draw):
    width = draw(st.integers(2, 5))
    rows = draw(st.lists(st.lists(cell, min_size=width, max_size=width), min_size=1, max_size=8))
    header = [f"c{i}" for i in range(width)]
    delimiter = draw(st.sampled_from([",", ";", "\t"]))
    quoting = draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]))
    terminator = draw(st.sampled_from(["\n", "\r\n"]))
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, quoting=quoting, lineterminator=terminator)
    writer.writerow(header)
    writer.writerows(rows)
    return header, rows, delimiter, out.getvalue()


@given(tables())
@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
def test_any_table_csv_writes_is_read_back_exactly(table):
    # csv.writer quotes every field holding the delimiter, a quote or a line break: the loader
    # must give back every cell, row count and record line as written.
    header, rows, delimiter, text = table
    data = text.encode("utf-8")
    parsed = parse_csv(data, encoding="utf-8", delimiter=delimiter, where="t.csv", table="main")
    assert list(parsed.headers) == header
    assert parsed.frame.to_numpy().tolist() == rows
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    starts, previous = [], 0
    for _ in reader:
        starts.append(previous + 1)
        previous = reader.line_num
    assert parsed.source_rows.tolist() == starts[1:]


@given(tables())
@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
def test_record_scan_agrees_with_the_csv_module(table):
    _, rows, delimiter, text = table
    scan = scan_records(text.encode("utf-8"), text, delimiter, "t.csv")
    assert scan.field_counts.tolist() == [len(rows[0])] * (len(rows) + 1)
    assert scan.ends_with_newline


@given(
    st.lists(st.lists(st.sampled_from(["a", "b"]), min_size=3, max_size=3), min_size=1, max_size=6),
    st.integers(0, 5),
    st.integers(1, 2),
)
def test_record_scan_counts_fields_of_ragged_rows(rows, which, drop):
    # unquoted rows, one of them cut short: the scan reports its true field count
    lines = ["x,y,z", *(",".join(r) for r in rows)]
    which = which % len(rows) + 1
    lines[which] = ",".join(rows[which - 1][: 3 - drop])
    text = "\n".join(lines) + "\n"
    scan = scan_records(text.encode(), text, ",", "t.csv")
    expected = [3] * len(lines)
    expected[which] = 3 - drop
    assert scan.field_counts.tolist() == expected
    assert scan.lines.tolist() == list(range(1, len(lines) + 1))


@given(hanzi)
def test_genuine_chinese_is_never_mojibake(text):
    assert common_hanzi_share(text) == 1.0
    assert mojibake_repair(text) is None


@given(hanzi)
def test_gbk_read_as_latin1_is_detected_and_repaired(text):
    garbled = text.encode("gbk").decode("latin-1")
    found = mojibake_repair(garbled)
    assert found is not None
    assert found[1] == "gb18030"
    assert found[2] == text


@given(hanzi)
def test_utf8_read_as_gb18030_is_detected_when_it_decodes(text):
    try:
        garbled = text.encode("utf-8").decode("gb18030")
    except UnicodeDecodeError:
        return  # strict decoding already refuses these
    if common_hanzi_share(garbled) > 0.5:
        return  # too few characters to tell (documented limit of the heuristic)
    found = mojibake_repair(garbled)
    assert found is not None
    assert found[2] == text


def test_mojibake_examples_from_data_md():
    assert mojibake_repair("寮犱笁") == ("gb18030", "utf-8", "张三")
    assert mojibake_repair("ÕÅÈý") == ("cp1252", "gb18030", "张三")
    assert mojibake_repair("学徒 apprentice") is None


@given(st.text(max_size=30))
def test_decode_strict_round_trips(text):
    assert decode_strict(text.encode("utf-8"), "utf-8", "t") == text
    assert decode_strict(text.encode("gb18030"), "gb18030", "t") == text


def test_decode_strict_never_replaces():
    with pytest.raises(DecodingError, match=r"line 2, byte 2: byte 0xd5"):
        decode_strict("a\nb张".encode("gbk"), "utf-8", "t")


def _iso7064(first17: str) -> str:
    # GB 11643-1999: weights W_i = 2^(i-1) mod 11 for positions i = 18..2 (left to right), and
    # check value a_1 = (12 - (sum mod 11)) mod 11, with 10 written X.
    total = sum(int(d) * pow(2, 17 - i, 11) for i, d in enumerate(first17))
    value = (12 - total % 11) % 11
    return "X" if value == 10 else str(value)


@given(st.text(alphabet="0123456789", min_size=17, max_size=17))
def test_resident_id_check_digit_matches_iso7064(first17):
    assert resident_id_check_digit(first17) == _iso7064(first17)
    assert is_valid_resident_id(first17 + _iso7064(first17))


def test_standard_example_number():
    # the example in GB 11643-1999 itself
    assert is_valid_resident_id("11010519491231002X")
    assert not is_valid_resident_id("110105194912310021")


@given(st.integers(10**17, 10**18 - 1))
def test_excel_fifteen_digits_are_caught(number):
    # Excel keeps 15 significant digits: the number it shows and stores ends in 000
    shown = f"{float(f'{number:.14e}'):.0f}"
    if not shown.endswith("000") or len(shown) != 18:
        return
    reason = mangled_reason(shown)
    if is_valid_resident_id(shown):
        assert reason is None
    else:
        assert reason == "18 digits ending in 000"
    assert mangled_reason(f"{number:.5E}") == "scientific notation"


@given(st.text(alphabet="0123456789", min_size=1, max_size=15))
def test_short_numbers_are_not_mangled(text):
    assert mangled_reason(text) is None


def test_lone_carriage_return_is_refused_not_lost():
    from evaluation.loaders.errors import RowCountError

    with pytest.raises(RowCountError, match="refusing rather than guessing"):
        parse_csv(b"c0,c1\n,\r;\n", encoding="utf-8", delimiter=",", where="t.csv", table="main")


def test_blank_line_and_crlf_scan():
    text = "a,b\r\n1,2\r\n\r\n3,4\r\n"
    scan = scan_records(text.encode(), text, ",", "t")
    assert scan.field_counts.tolist() == [2, 2, 2]
    assert scan.lines.tolist() == [1, 2, 4]
    assert scan.blank_lines == (3,)
    assert isinstance(scan.field_counts, np.ndarray)

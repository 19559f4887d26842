"""Property-based tests of the text-to-value functions (hypothesis).

Independent sources: Python's own ``int``/``float`` parsing of ASCII text, ``datetime.strftime``
for dates, ``unicodedata`` for the full-width forms, the loaders' scalar GB 11643 check
(:func:`evaluation.loaders.text.is_valid_resident_id`) and the published example number of the
standard (11010519491231002X), and the mathematical property of ISO 7064 MOD 11-2 that every
single-digit substitution changes the check character.
"""

from __future__ import annotations

import datetime as dt
import string

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evaluation.cleaning.values import (
    normalise,
    normalise_phones,
    parse_dates,
    parse_datetimes,
    parse_numbers,
    resident_id_valid,
    special_text,
)
from evaluation.loaders.text import is_valid_resident_id, resident_id_check_digit

FULLWIDTH = str.maketrans("0123456789-+.,", "０１２３４５６７８９－＋．，")


def _series(*values: object) -> pd.Series:
    return pd.Series(list(values), dtype="string")


@given(st.text(max_size=30))
def test_normalise_is_idempotent(text):
    once = normalise(_series(text))
    assert normalise(once).equals(once)


@given(st.integers(min_value=-(10**12), max_value=10**12))
def test_full_width_integers_read_as_python_int(number):
    text = str(number).translate(FULLWIDTH)
    parsed = parse_numbers(normalise(_series(text)), integer=True)
    assert not parsed.invalid.iloc[0]
    assert parsed.values.iloc[0] == int(str(number))


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e9, max_value=1e9))
def test_decimals_read_as_python_float(number):
    text = f"{number:.6f}"
    parsed = parse_numbers(_series(text))
    assert parsed.values.iloc[0] == float(text)


@given(st.integers(min_value=1000, max_value=10**9))
def test_thousands_separators(number):
    text = f"{number:,}"
    parsed = parse_numbers(_series(text))
    assert parsed.regrouped.iloc[0]
    assert parsed.values.iloc[0] == int(text.replace(",", ""))


@given(st.text(alphabet=string.printable + "不知道拒绝／—·", max_size=12))
def test_invalid_text_is_never_a_number(text):
    norm = normalise(_series(text))
    parsed = parse_numbers(norm)
    cleaned = norm.iloc[0]
    if cleaned in ("", None) or pd.isna(cleaned):
        assert not parsed.invalid.iloc[0]
        assert pd.isna(parsed.values.iloc[0])
        return
    try:
        expected = float(cleaned.replace(",", "")) if cleaned.replace(",", "").strip() else None
    except ValueError:
        expected = None
    exponent_or_word = any(c in cleaned.lower() for c in "einfatyx_ ") or cleaned.strip() != cleaned
    if parsed.invalid.iloc[0]:
        assert pd.isna(parsed.values.iloc[0])
    else:
        # whatever is accepted is what Python reads from the same ASCII text
        assert expected is not None
        assert not exponent_or_word
        assert parsed.values.iloc[0] == expected


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("1.2E+17", "exponent"),
        ("25岁", "unit"),
        ("/", "slash"),
        ("—", "dash"),
        ("١٢", "other digits"),
        ("12.5", "not whole"),
    ],
)
def test_integers_refuse(text, why):
    parsed = parse_numbers(normalise(_series(text)), integer=True)
    assert parsed.invalid.iloc[0], why
    assert pd.isna(parsed.values.iloc[0])


def test_minus_signs_and_blanks():
    values = normalise(_series("－３", "−3", "", None, "  "))
    parsed = parse_numbers(values)
    assert parsed.values.iloc[0] == -3
    assert parsed.values.iloc[1] == -3
    assert parsed.values.iloc[2:].isna().all()
    assert not parsed.invalid.any()


@given(st.sampled_from(["不知道", "不 知道", "ＤＫ", "dk", "拒绝", "n/a"]))
def test_special_text(text):
    mapping = {"不知道": "dont_know", "DK": "dont_know", "拒绝": "refused"}
    found = special_text(normalise(_series(text)), mapping).iloc[0]
    expected = {"不知道": "dont_know", "ＤＫ": "dont_know", "dk": "dont_know", "拒绝": "refused"}
    if text in expected:
        assert found == expected[text]
    else:
        assert pd.isna(found)


@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2099, 12, 31)))
@settings(max_examples=60)
def test_dates_in_declared_formats(day):
    iso, _ = parse_dates(_series(day.isoformat()))
    assert iso.iloc[0].date() == day
    chinese, bad = parse_dates(_series(f"{day.year}年{day.month}月{day.day}日"), "%Y年%m月%d日")
    assert not bad.iloc[0]
    assert chinese.iloc[0].date() == day
    serial = (day - dt.date(1899, 12, 30)).days
    excel, _ = parse_dates(_series(str(serial)), "excel-serial")
    assert excel.iloc[0].date() == day


def test_ambiguous_dates_follow_the_declaration():
    day_first, _ = parse_dates(_series("5/3/2024"), "%d/%m/%Y")
    month_first, _ = parse_dates(_series("5/3/2024"), "%m/%d/%Y")
    assert day_first.iloc[0].date() == dt.date(2024, 3, 5)
    assert month_first.iloc[0].date() == dt.date(2024, 5, 3)
    _, bad = parse_dates(_series("5/3/2024"))
    assert bad.iloc[0]  # never guessed under ISO 8601


def test_datetimes_need_an_offset_or_a_zone():
    values = _series("2024-03-05T10:00:00.000+08:00", "2024-03-05T10:00:00")
    parsed, invalid, no_zone = parse_datetimes(values, None)
    assert parsed.iloc[0] == pd.Timestamp("2024-03-05T02:00:00Z")
    assert invalid.tolist() == [False, True]
    assert no_zone.tolist() == [False, True]
    parsed, invalid, _ = parse_datetimes(values, "Asia/Shanghai")
    assert parsed.tolist() == [pd.Timestamp("2024-03-05T02:00:00Z")] * 2
    assert not invalid.any()


@given(
    st.integers(min_value=3, max_value=9),
    st.integers(min_value=0, max_value=10**9 - 1),
    st.sampled_from(["", "+86 ", "0086", "86"]),
    st.sampled_from(["plain", "dashes", "spaces", "fullwidth"]),
)
def test_phones_normalise_to_eleven_digits(second, rest, prefix, style):
    digits = f"1{second}{rest:09d}"
    shown = {
        "plain": digits,
        "dashes": f"{digits[:3]}-{digits[3:7]}-{digits[7:]}",
        "spaces": f"{digits[:3]} {digits[3:7]} {digits[7:]}",
        "fullwidth": digits.translate(FULLWIDTH),
    }[style]
    normalised, valid = normalise_phones(_series(prefix + shown))
    assert normalised.iloc[0] == digits
    assert valid.iloc[0]


@given(st.integers(min_value=0, max_value=2), st.integers(min_value=0, max_value=10**9 - 1))
def test_phones_outside_the_mobile_ranges_are_invalid(second, rest):
    _, valid = normalise_phones(_series(f"1{second}{rest:09d}"))
    assert not valid.iloc[0]


def test_published_resident_id_example():
    assert resident_id_valid(_series("11010519491231002X", "11010519491231002x")).all()


@given(
    st.integers(min_value=110000, max_value=659004),
    st.dates(min_value=dt.date(1930, 1, 1), max_value=dt.date(2020, 12, 31)),
    st.integers(min_value=0, max_value=999),
)
def test_resident_ids_agree_with_the_scalar_check(area, birth, serial):
    first17 = f"{area:06d}{birth:%Y%m%d}{serial:03d}"
    good = first17 + resident_id_check_digit(first17)
    others = [first17 + c for c in "0123456789X" if first17 + c != good]
    values = _series(good, *others)
    vectorised = resident_id_valid(values).tolist()
    scalar = [is_valid_resident_id(v) for v in values.tolist()]
    assert vectorised == scalar
    assert vectorised == [True] + [False] * len(others)


@given(
    st.text(alphabet="0123456789", min_size=17, max_size=17),
    st.integers(min_value=0, max_value=16),
    st.integers(min_value=1, max_value=9),
)
def test_every_single_digit_error_is_caught(first17, position, shift):
    good = first17 + resident_id_check_digit(first17)
    digit = (int(good[position]) + shift) % 10
    typo = good[:position] + str(digit) + good[position + 1 :]
    assert not resident_id_valid(_series(typo)).iloc[0]


def test_resident_ids_need_a_real_birth_date():
    first17 = "11010519491331002"  # month 13
    assert not resident_id_valid(_series(first17 + resident_id_check_digit(first17))).iloc[0]
    assert resident_id_valid(_series("110105491231002")).iloc[0]  # 15-digit legacy, 1949-12-31
    assert not resident_id_valid(_series("110105491331002")).iloc[0]

"""Scan parsing by tables: every code kind, bad check digits, garbage; and no input crashes it."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hardware.codes import (
    AmazonOrderId,
    Asin,
    CodeKind,
    Fnsku,
    Gs1Code,
    Gtin,
    Invalid,
    ReturnCode,
    Unknown,
    parse_scan,
)
from hardware.return_codes import make_return_code

GS = "\x1d"
SCANNED_TYPES = (Gtin, Gs1Code, Fnsku, Asin, AmazonOrderId, ReturnCode, Invalid, Unknown)


@pytest.mark.parametrize(
    ("scan", "fmt"),
    [
        ("96385074", "GTIN-8"),
        ("036000291452", "GTIN-12"),
        ("4006381333931", "GTIN-13"),
        ("09506000134352", "GTIN-14"),
        ("4006381333931\r\n", "GTIN-13"),
        ("]E04006381333931", "GTIN-13"),
        (b"4006381333931", "GTIN-13"),
    ],
)
def test_valid_gtins(scan: str | bytes, fmt: str) -> None:
    code = parse_scan(scan)
    assert isinstance(code, Gtin)
    assert code.format == fmt
    assert len(code.gtin14) == 14 and code.gtin14.endswith(code.value)


@pytest.mark.parametrize(
    ("scan", "message"),
    [
        ("96385075", "GTIN-8 check digit should be 4, got 5"),
        ("036000291453", "GTIN-12 check digit should be 2, got 3"),
        ("4006381333933", "GTIN-13 check digit should be 1, got 3"),
        ("09506000134357", "GTIN-14 check digit should be 2, got 7"),
    ],
)
def test_gtin_bad_check_digit_is_invalid_with_message(scan: str, message: str) -> None:
    assert parse_scan(scan) == Invalid(scan, CodeKind.GTIN, message)


def test_gs1_128_with_fnc1_separator_and_symbology_prefix() -> None:
    scan = "]C1" + "0109506000134352" + "17251231" + "10ABC123" + GS + "21SN42"
    code = parse_scan(scan)
    assert isinstance(code, Gs1Code)
    assert code.gtin == "09506000134352"
    assert code.expiry == date(2025, 12, 31)
    assert code.batch == "ABC123"
    assert code.serial == "SN42"
    assert code.value == "(01)09506000134352(17)251231(10)ABC123(21)SN42"


@pytest.mark.parametrize(
    "scan",
    [
        GS + "0109506000134352" + "10AB" + GS + "21X",  # leading FNC1 as GS
        "(01)09506000134352(10)AB(21)X",  # human-readable form
        "]d2" + "0109506000134352" + "10AB" + GS + "21X",  # GS1 DataMatrix
        "010950600013435210AB" + GS + "21X",  # GS1-128 read without identifier
    ],
)
def test_gs1_forms(scan: str) -> None:
    code = parse_scan(scan)
    assert isinstance(code, Gs1Code)
    assert (code.gtin, code.batch, code.serial) == ("09506000134352", "AB", "X")


@pytest.mark.parametrize(
    ("scan", "ai", "check"),
    [
        ("(00)106141411234567897", "00", lambda e: e.value == "106141411234567897"),
        ("(01)09506000134352(3103)001250", "3103", lambda e: e.as_decimal == Decimal("1.250")),
        ("(01)09506000134352(17)250200", "17", lambda e: e.as_date == date(2025, 2, 28)),
        ("(11)240229(37)12", "37", lambda e: e.value == "12"),
        ("(400)PO-77(3922)1999", "3922", lambda e: e.as_decimal == Decimal("19.99")),
    ],
)
def test_gs1_application_identifiers(scan: str, ai: str, check: object) -> None:
    code = parse_scan(scan)
    assert isinstance(code, Gs1Code), code
    element = next(e for e in code.elements if e.ai == ai)
    assert check(element)  # type: ignore[operator]


@pytest.mark.parametrize(
    ("scan", "message"),
    [
        ("]C10109506000134353", "GS1 (01) GTIN check digit should be 2, got 3"),
        ("]C1010950600013", "GS1 (01) GTIN needs 14 characters, got 10"),
        ("(01)09506000134352(17)251341", "GS1 (17) USE BY '251341' is not a valid YYMMDD date"),
        ("]C19912345", "GS1 application identifier '9912' at position 0 is not known"),
        ("]C110" + "A" * 21, "GS1 (10) BATCH/LOT needs 1-20 characters, got 21"),
        ("]C13012A", "GS1 (30) VAR. COUNT must be digits, got '12A'"),
        ("]C110" + GS + "21X", "GS1 (10) BATCH/LOT needs 1-20 characters, got 0"),
        ("(01)09506000134352 trailing", "GS1 (01) GTIN needs 14 characters, got 23"),
        ("(01)0950(", "GS1 text is not in the (AI)value form throughout"),
        ("(99)ABC", "GS1 application identifier (99) is not known"),
        ("]C1" + GS, "GS1 code holds no application identifiers"),
    ],
)
def test_gs1_problems_are_invalid(scan: str, message: str) -> None:
    assert parse_scan(scan) == Invalid(scan, CodeKind.GS1, message)


@pytest.mark.parametrize(
    ("scan", "kind", "value"),
    [
        ("X001ABCDEF", Fnsku, "X001ABCDEF"),
        ("x001abcdef", Fnsku, "X001ABCDEF"),
        ("B08N5WRWNW", Asin, "B08N5WRWNW"),
        ("b08n5wrwnw\n", Asin, "B08N5WRWNW"),
        ("114-3941689-8772232", AmazonOrderId, "114-3941689-8772232"),
    ],
)
def test_amazon_ids(scan: str, kind: type, value: str) -> None:
    code = parse_scan(scan)
    assert isinstance(code, kind)
    assert getattr(code, "value", None) == value


@pytest.mark.parametrize("scan", ["X00ABC", "X001ABCDEFG", "B0123", "114-394168-8772232"])
def test_amazon_near_misses_are_unknown(scan: str) -> None:
    assert isinstance(parse_scan(scan), Unknown)


def test_return_code_round_trip_and_forgiving_reading() -> None:
    code = make_return_code(12345)
    assert code == "RT-000C1SE"
    assert parse_scan(code) == ReturnCode(code, code)
    assert parse_scan("rt-ooocise").value == code  # type: ignore[union-attr]  # O read as 0


@pytest.mark.parametrize(
    ("scan", "message"),
    [
        ("RT-000C1SX", "return code check character should be E, got X"),
        ("RT-", "return code too short: 5+ characters after RT-"),
        ("RT-00U0001", "return code has characters outside base32: 'U'"),
    ],
)
def test_bad_return_codes_are_invalid(scan: str, message: str) -> None:
    assert parse_scan(scan) == Invalid(scan, CodeKind.RETURN_CODE, message)


@pytest.mark.parametrize(
    ("scan", "reason"),
    [
        ("", "empty scan"),
        ("  \r\n", "empty scan"),
        (b"\xff\xfe\x00", "scan holds bytes that are not text (check the scanner's character set)"),
        ("40063\x0081333931", "scan holds control character U+0000 at position 5"),
        ("\x1b[A", "scan holds control character U+001B at position 0"),
        ("]C1", "scan holds only a symbology identifier"),
        ("1" * 300, "scan too long (300 characters, at most 256)"),
        ("12345", "5 digits is not a GTIN length (8, 12, 13, 14)"),
        ("hello world", "not a code format we know (GTIN, GS1, FNSKU, ASIN, order id, RT-)"),
        ("🙂", "not a code format we know (GTIN, GS1, FNSKU, ASIN, order id, RT-)"),
        ("٤٠٠٦٣٨١٣٣٣٩٣١", "not a code format we know (GTIN, GS1, FNSKU, ASIN, order id, RT-)"),
    ],
)
def test_garbage_is_unknown_with_reason(scan: str | bytes, reason: str) -> None:
    code = parse_scan(scan)
    assert isinstance(code, Unknown)
    assert code.reason == reason


@given(st.text(max_size=300))
def test_no_text_crashes_the_parser(text: str) -> None:
    assert isinstance(parse_scan(text), SCANNED_TYPES)


@given(st.binary(max_size=300))
def test_no_bytes_crash_the_parser(data: bytes) -> None:
    assert isinstance(parse_scan(data.decode("utf-8", errors="replace")), SCANNED_TYPES)
    assert isinstance(parse_scan(data), SCANNED_TYPES)


@given(st.text(alphabet="0123456789()]Cd1e0RTXB-\x1dABO ", max_size=60))
def test_no_code_like_text_crashes_the_parser(text: str) -> None:
    assert isinstance(parse_scan(text), SCANNED_TYPES)

"""Receipts and labels: laid out, sent to a real TCP printer stand-in, decoded and checked."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from hardware.errors import ConfigError
from hardware.escpos_text import DecodedJob, decode
from hardware.printing import (
    PAPER_58,
    PAPER_80,
    ItemLabel,
    KanjiMode,
    MemorySink,
    PrinterProfile,
    Receipt,
    ReceiptItem,
    make_profile,
    printer_from_url,
    render_receipt,
)
from hardware.printing.texts import TEXTS, display_width, format_money, two_columns, wrap
from hardware.return_codes import make_return_code
from tests.hardware.conftest import FakePrinter

RETURN_ID = make_return_code(12345)
SUMMER_NOON_UTC = datetime(2025, 7, 1, 10, 0, tzinfo=UTC)


def receipt(language: str = "en", zone: str = "Europe/Berlin", **changes: Any) -> Receipt:
    fields: dict[str, Any] = {
        "store_name": "ACORN Berlin Mitte",
        "return_id": RETURN_ID,
        "created_at": SUMMER_NOON_UTC,
        "time_zone": zone,
        "language": language,
        "items": [
            ReceiptItem("Wireless headphones", 2, Decimal("1299.50"), "EUR"),
            ReceiptItem("USB-C cable", 1, Decimal("9.99"), "EUR"),
        ],
        "store_lines": ["Friedrichstraße 1, 10117 Berlin"],
        "order_id": "114-3941689-8772232",
    }
    fields.update(changes)
    return Receipt(**fields)


def assert_return_codes(job: DecodedJob, return_id: str = RETURN_ID) -> None:
    assert [(b.kind, b.data) for b in job.barcodes] == [("CODE128", return_id)]
    assert job.qr_codes == [return_id]
    assert job.cuts == 1


def test_receipt_over_tcp_is_decoded_back_to_the_return(fake_printer: FakePrinter) -> None:
    printer = printer_from_url(fake_printer.url)
    printer.print_receipt(receipt())
    (data,) = fake_printer.wait_for_jobs(1)
    job = decode(data)
    assert_return_codes(job)
    assert job.lines[0] == "ACORN Berlin Mitte"
    assert "Friedrichstraße 1, 10117 Berlin" in job.lines
    assert "Return receipt" in job.lines
    assert job.lines[job.lines.index("Return receipt") + 1].endswith("2025-07-01 12:00 CEST")
    assert any(line.startswith("Return") and line.endswith(RETURN_ID) for line in job.lines)
    assert any(line.endswith("114-3941689-8772232") for line in job.lines)
    assert _pair(job, "2 x Wireless headphones") == "2,599.00 EUR"
    assert _pair(job, "1 x USB-C cable") == "9.99 EUR"
    assert _pair(job, "Total") == "2,608.99 EUR"
    assert "What happens next" in job.lines


def _pair(job: DecodedJob, left: str) -> str:
    line = next(line for line in job.lines if line.startswith(left))
    return line[len(left) :].strip()


@pytest.mark.parametrize(
    ("language", "kanji", "zone", "title", "when", "total"),
    [
        ("en", KanjiMode.NONE, "Europe/London", "Return receipt", "2025-07-01 11:00 BST", "Total"),
        ("de", KanjiMode.NONE, "Europe/Berlin", "Rückgabebeleg", "01.07.2025 12:00 CEST", "Summe"),
        ("zh", KanjiMode.GB18030, "Asia/Shanghai", "退货回执", "2025-07-01 18:00 CST", "合计"),
        ("ja", KanjiMode.SHIFT_JIS, "Asia/Tokyo", "返品受付票", "2025/07/01 19:00 JST", "合計"),
    ],
)
def test_receipt_in_each_language(
    language: str, kanji: KanjiMode, zone: str, title: str, when: str, total: str
) -> None:
    description = {"zh": "无线耳机 黑色", "ja": "イヤホン 黒", "de": "Kopfhörer"}
    item = ReceiptItem(description.get(language, "Headphones"), 1, Decimal("12800"), "JPY")
    printer = printer_from_url("memory://", PrinterProfile(paper=PAPER_58, kanji=kanji))
    printer.print_receipt(receipt(language, zone, items=[item]))
    assert isinstance(printer.sink, MemorySink)
    job = decode(printer.sink.output)
    assert_return_codes(job)
    assert title in job.lines
    assert any(line.endswith(when) for line in job.lines)
    assert _pair(job, f"1 x {item.description}") == format_money(Decimal(12800), "JPY", language)
    assert _pair(job, total) == ("12.800 JPY" if language == "de" else "12,800 JPY")
    assert TEXTS[language]["next"] in job.lines
    assert all(display_width(line) <= 32 for line in job.lines), job.text


def test_german_money_uses_german_separators() -> None:
    job = decode(render_receipt(receipt("de"), PrinterProfile()))
    assert _pair(job, "Summe") == "2.608,99 EUR"


def test_local_time_follows_daylight_saving_in_the_store_zone() -> None:
    before = receipt(created_at=datetime(2025, 3, 30, 0, 30, tzinfo=UTC))
    after = receipt(created_at=datetime(2025, 3, 30, 1, 30, tzinfo=UTC))
    assert "2025-03-30 01:30 CET" in decode(render_receipt(before, PrinterProfile())).text
    assert "2025-03-30 03:30 CEST" in decode(render_receipt(after, PrinterProfile())).text


def test_lines_fit_the_paper() -> None:
    for paper in (PAPER_58, PAPER_80):
        job = decode(render_receipt(receipt("de"), PrinterProfile(paper=paper)))
        assert max(display_width(line) for line in job.lines) <= paper.columns


def test_language_the_printer_cannot_print_falls_back_to_english() -> None:
    job = decode(render_receipt(receipt("zh"), PrinterProfile(kanji=KanjiMode.NONE)))
    assert "Return receipt" in job.lines
    assert_return_codes(job)


def test_awkward_return_ids_survive_the_barcode() -> None:
    job = decode(render_receipt(receipt(return_id="RT{7}"), PrinterProfile()))
    assert_return_codes(job, "RT{7}")
    long_id = "R" * 64
    job = decode(render_receipt(receipt(return_id=long_id), PrinterProfile(paper=PAPER_58)))
    assert job.barcodes == [], "too wide for 58 mm: QR and text only"
    assert job.qr_codes == [long_id]


def test_control_characters_in_item_data_never_become_printer_commands() -> None:
    hostile = "Cable\x1bp\x00\x19\xfa\x1dV\x00 end"  # ESC p: kick the cash drawer; GS V: cut
    job = decode(
        render_receipt(
            receipt(items=[ReceiptItem(hostile, 1, Decimal(1), "EUR")]), PrinterProfile()
        )
    )
    assert job.cuts == 1
    assert any(line.startswith("1 x Cable p") and "V  end" in line for line in job.lines)


def test_label_over_tcp(fake_printer: FakePrinter) -> None:
    label = ItemLabel(RETURN_ID, "like_new", "restock_open_box", "Wireless headphones", "de")
    printer_from_url(fake_printer.url, PrinterProfile(paper=PAPER_58)).print_label(label)
    job = decode(fake_printer.wait_for_jobs(1)[0])
    assert job.lines[0] == RETURN_ID
    assert [(b.kind, b.data) for b in job.barcodes] == [("CODE128", RETURN_ID)]
    assert _pair(job, "Zustand") == "LIKE NEW"
    assert _pair(job, "Verbleib") == "RESTOCK OPEN BOX"
    assert "Wireless headphones" in job.lines


def test_test_page_and_memory_sink() -> None:
    printer = printer_from_url("memory://", make_profile("58mm", "cp858"))
    printer.print_test_page()
    assert isinstance(printer.sink, MemorySink)
    job = decode(printer.sink.output)
    assert "ÄÖÜ äöü ß € 1.234,50" in job.lines
    assert job.qr_codes == ["RT-TEST"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"created_at": datetime(2025, 7, 1, 10, 0)}, "timezone-aware"),
        ({"time_zone": "Mars/Olympus"}, "unknown time zone 'Mars/Olympus'"),
        ({"language": "fr"}, "no receipt texts for language 'fr'"),
        ({"return_id": "RT 1"}, "printable ASCII"),
        ({"return_id": "RT-ä"}, "printable ASCII"),
    ],
)
def test_receipt_validates_at_construction(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        receipt(**changes)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("x", 1, 9.99, "EUR"), "must be a Decimal, got float"),
        (("x", 0, Decimal(1), "EUR"), "at least 1"),
        (("x", 1, Decimal(1), "euro"), "ISO 4217"),
        (("x", 1, Decimal("NaN"), "EUR"), "finite"),
    ],
)
def test_receipt_item_validates(args: tuple[object, ...], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        ReceiptItem(*args)  # type: ignore[arg-type]


def test_profiles() -> None:
    assert PrinterProfile().job_prefix() == b"\x1b@\x1c.\x1bt\x13"
    assert PrinterProfile(kanji=KanjiMode.SHIFT_JIS).job_prefix() == b"\x1b@\x1c&\x1cC\x01"
    assert make_profile("58mm", "CP437", "gb18030").kanji is KanjiMode.GB18030
    assert PrinterProfile(kanji=KanjiMode.GB18030).can_print("zh")
    assert not PrinterProfile(kanji=KanjiMode.GB18030).can_print("ja")
    with pytest.raises(ConfigError, match="papers: 58mm, 80mm"):
        make_profile("57mm")
    with pytest.raises(ConfigError, match="no printer profile 'nope'"):
        PrinterProfile(escpos_profile="nope")


def test_every_language_has_every_phrase() -> None:
    keys = set(TEXTS["en"])
    assert all(set(texts) == keys for texts in TEXTS.values())


@pytest.mark.parametrize(
    ("amount", "currency", "language", "text"),
    [
        (Decimal("1234.5"), "EUR", "en", "1,234.50 EUR"),
        (Decimal("1234.5"), "EUR", "de", "1.234,50 EUR"),
        (Decimal("1234.5"), "JPY", "ja", "1,235 JPY"),
        (Decimal("0.005"), "USD", "en", "0.01 USD"),
        (Decimal("-3"), "CNY", "zh", "-3.00 CNY"),
    ],
)
def test_format_money(amount: Decimal, currency: str, language: str, text: str) -> None:
    assert format_money(amount, currency, language) == text


@pytest.mark.parametrize(
    ("text", "width", "lines"),
    [
        ("one two three", 7, ["one two", "three"]),
        ("abcdefghij", 4, ["abcd", "efgh", "ij"]),
        ("商品を確認します。", 6, ["商品を", "確認し", "ます。"]),
        ("", 5, [""]),
    ],
)
def test_wrap(text: str, width: int, lines: list[str]) -> None:
    assert wrap(text, width) == lines


def test_two_columns_falls_back_to_two_lines() -> None:
    assert two_columns("ab", "cd", 6) == ["ab  cd"]
    assert two_columns("abcd", "ef", 5) == ["abcd", "   ef"]

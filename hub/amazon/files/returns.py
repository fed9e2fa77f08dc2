"""The MFN and FBA returns reports, parsed by header name into typed rows (pure).

``GET_FLAT_FILE_RETURNS_DATA_BY_RETURN_DATE`` (MFN, 32 columns) and
``GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA`` (FBA, 13 columns); see
``vendor-data/amazon-formats.md`` 2.1 and 2.2. The general flat-file rules are in
``hub.amazon.files.flatfile``. A return the customer drops off at one of our stores is marked the
simulator's (and our integration's) way: ``Label type`` ``StoreDropOff`` and ``Return carrier``
``STORE:<store id>``; ``MfnReturn.store_ref`` is that store id.

Claims on an MFN return: ``A-to-Z Claim`` ``Y`` (or ``Yes``/``True``) means the buyer filed an
A-to-z Guarantee claim; a non-empty ``SafeT claim id`` means a SafeT claim was filed for the
return (with its ``SafeT Action reason``). Both are read; the returns sync flags the order.

Amounts in returns reports: a decimal point is assumed unless the value itself shows a decimal
comma (``guess_decimal_comma``); they are informative (the refund amount comes from the store).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Generic, TypeVar

from hub.amazon.files.flatfile import (
    FileFormatError,
    Problem,
    guess_decimal_comma,
    header_index,
    parse_amount,
    parse_time,
    split_lines,
)

STORE_DROP_OFF = "StoreDropOff"
STORE_PREFIX = "STORE:"
MFN_REQUIRED = (
    "Order ID",
    "Return request date",
    "Amazon RMA ID",
    "Label type",
    "Return carrier",
    "Merchant SKU",
    "Return quantity",
    "Currency code",
)
MFN_KNOWN = (
    *MFN_REQUIRED,
    "Order date",
    "Return request status",
    "Merchant RMA ID",
    "Label cost",
    "Tracking ID",
    "Label to be paid by",
    "A-to-Z Claim",
    "Is prime",
    "ASIN",
    "Item Name",
    "Return Reason",
    "In policy",
    "Return type",
    "Resolution",
    "Invoice number",
    "Return delivery date",
    "Order Amount",
    "Order quantity",
    "SafeT Action reason",
    "SafeT claim id",
    "SafeT claim state",
    "SafeT claim creation time",
    "SafeT claim reimbursement amount",
    "Refunded Amount",
)
FBA_REQUIRED = ("return-date", "order-id", "sku", "quantity")
FBA_KNOWN = (
    *FBA_REQUIRED,
    "asin",
    "fnsku",
    "product-name",
    "fulfillment-center-id",
    "detailed-disposition",
    "reason",
    "status",
    "license-plate-number",
    "customer-comments",
)

R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class MfnReturn:
    """One line of the MFN returns report."""

    line_no: int
    order_id: str
    requested_at: datetime
    status: str
    rma_id: str
    label_type: str
    carrier: str
    tracking_id: str
    asin: str
    sku: str
    item_name: str
    quantity: int
    reason: str
    in_policy: bool
    currency: str
    order_amount: Decimal | None
    order_quantity: int | None
    refunded_amount: Decimal | None
    a_to_z_claim: bool = False
    safet_claim_id: str = ""
    safet_reason: str = ""

    @property
    def store_ref(self) -> str | None:
        """The store the customer drops the item off at, or None for a carrier return."""
        if self.label_type == STORE_DROP_OFF and self.carrier.startswith(STORE_PREFIX):
            return self.carrier[len(STORE_PREFIX) :].strip() or None
        return None


@dataclass(frozen=True, slots=True)
class FbaReturn:
    """One line of the FBA customer returns report (read-only for ACORN)."""

    line_no: int
    returned_at: datetime
    order_id: str
    sku: str
    asin: str
    fnsku: str
    product_name: str
    quantity: int
    fulfillment_center: str
    disposition: str
    reason: str
    status: str
    license_plate: str
    customer_comments: str

    @property
    def row_key(self) -> str:
        """A stable key: FBA rows have no id of their own."""
        parts = (self.order_id, self.sku, self.license_plate, self.returned_at.isoformat())
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class ReturnsFile(Generic[R]):
    """Parsed rows, problems, and the columns we did not know."""

    rows: list[R]
    problems: list[Problem]
    unknown_columns: tuple[str, ...]


class _Fields:
    """Field access by header name for one row."""

    def __init__(self, index: dict[str, int], row: list[str]) -> None:
        self._index = index
        self._row = row

    def text(self, name: str) -> str:
        position = self._index.get(name.lower())
        return self._row[position].strip() if position is not None else ""

    def required(self, name: str) -> str:
        value = self.text(name)
        if not value:
            raise ValueError(f"{name!r} is empty")
        return value

    def when(self, name: str) -> datetime:
        moment = parse_time(self.required(name))
        assert moment is not None  # required() refused an empty field
        return moment

    def flag(self, name: str) -> bool:
        return self.text(name).upper() in {"Y", "YES", "TRUE"}

    def count(self, name: str) -> int | None:
        value = self.text(name)
        return int(value) if value else None

    def amount(self, name: str, comma_market: bool) -> Decimal | None:
        value = self.text(name)
        return parse_amount(value, guess_decimal_comma(value, comma_market)) if value else None


def _parse(
    text: str, required: tuple[str, ...], known: tuple[str, ...], build: Callable[[_Fields, int], R]
) -> ReturnsFile[R]:
    lines = split_lines(text)
    if not lines or not lines[0].strip():
        raise FileFormatError("the file is empty")
    header = lines[0].split("\t")
    index = header_index(header, required)
    lowered = {name.lower() for name in known}
    unknown = tuple(name for name in index if name not in lowered)
    rows: list[R] = []
    problems: list[Problem] = []
    for line_no, line in enumerate(lines[1:], start=2):
        fields = line.split("\t")
        if len(fields) != len(header):
            if line:
                problems.append(
                    Problem(
                        line_no,
                        f"{len(fields)} fields where the header has "
                        f"{len(header)}: the line is cut or malformed",
                    )
                )
            continue
        try:
            rows.append(build(_Fields(index, fields), line_no))
        except ValueError as err:
            problems.append(Problem(line_no, str(err)))
    return ReturnsFile(rows, problems, unknown)


def _mfn_row(comma_market: bool) -> Callable[[_Fields, int], MfnReturn]:
    def build(f: _Fields, line_no: int) -> MfnReturn:
        quantity = f.count("Return quantity")
        if quantity is None or quantity < 1:
            raise ValueError(f"Return quantity {f.text('Return quantity')!r} is not a count")
        return MfnReturn(
            line_no,
            f.required("Order ID"),
            f.when("Return request date"),
            f.text("Return request status"),
            f.required("Amazon RMA ID"),
            f.text("Label type"),
            f.text("Return carrier"),
            f.text("Tracking ID"),
            f.text("ASIN"),
            f.required("Merchant SKU"),
            f.text("Item Name"),
            quantity,
            f.text("Return Reason"),
            f.flag("In policy"),
            f.required("Currency code"),
            f.amount("Order Amount", comma_market),
            f.count("Order quantity"),
            f.amount("Refunded Amount", comma_market),
            f.flag("A-to-Z Claim"),
            f.text("SafeT claim id"),
            f.text("SafeT Action reason"),
        )

    return build


def _fba_row(f: _Fields, line_no: int) -> FbaReturn:
    quantity = f.count("quantity")
    if quantity is None or quantity < 1:
        raise ValueError(f"quantity {f.text('quantity')!r} is not a count")
    return FbaReturn(
        line_no,
        f.when("return-date"),
        f.required("order-id"),
        f.required("sku"),
        f.text("asin"),
        f.text("fnsku"),
        f.text("product-name"),
        quantity,
        f.text("fulfillment-center-id"),
        f.text("detailed-disposition"),
        f.text("reason"),
        f.text("status"),
        f.text("license-plate-number"),
        f.text("customer-comments"),
    )


def parse_mfn_returns(text: str, comma_market: bool = False) -> ReturnsFile[MfnReturn]:
    """The MFN returns report; FileFormatError when it cannot be read at all."""
    return _parse(text, MFN_REQUIRED, MFN_KNOWN, _mfn_row(comma_market))


def parse_fba_returns(text: str) -> ReturnsFile[FbaReturn]:
    """The FBA customer returns report; FileFormatError when it cannot be read at all."""
    return _parse(text, FBA_REQUIRED, FBA_KNOWN, _fba_row)

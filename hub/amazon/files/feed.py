"""The order adjustment feed (``POST_PAYMENT_ADJUSTMENT_DATA``) and its processing report (pure).

The feed is Amazon's XML envelope (``vendor-data/amazon-formats.md`` 2.5): ``MessageType``
``OrderAdjustment``, one ``Message`` per refund, each ``OrderAdjustment`` with ``AmazonOrderID``,
``ActionType`` ``Refund`` and one ``AdjustedItem`` per order line: ``AmazonOrderItemCode``,
``MerchantAdjustmentItemID`` (our refund id: it comes back in the settlement report),
``AdjustmentReason`` and ``ItemPriceAdjustments/Component{Type, Amount@currency}``. Amounts given
back to the buyer are positive and written with the currency's minor units.

Values are checked when they are built (reason and component types from Amazon's XSD enums,
finite amounts, a positive total per item), so a feed that leaves here is well-formed.

The processing report (``ProcessingReport``) says how many messages were processed and lists
the failed ones by ``MessageID`` with Amazon's code and description; ``MessageID`` 0 is a failure
of the whole document.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from protocol import minor_units

FEED_TYPE = "POST_PAYMENT_ADJUSTMENT_DATA"
CONTENT_TYPE = "text/xml; charset=UTF-8"
ADJUSTMENT_REASONS = frozenset(
    {
        "NoInventory",
        "CustomerReturn",
        "GeneralAdjustment",
        "CouldNotShip",
        "DifferentItem",
        "Abandoned",
        "CustomerCancel",
        "PriceError",
        "ProductOutofStock",
        "CustomerAddressIncorrect",
        "Exchange",
        "Other",
        "CarrierCreditDecision",
        "RiskAssessmentInformationNotValid",
        "CarrierCoverageFailure",
        "TransactionRecord",
        "Undeliverable",
        "RefusedDelivery",
    }
)
COMPONENT_TYPES = frozenset(
    {
        "Principal",
        "Shipping",
        "Tax",
        "ShippingTax",
        "RestockingFee",
        "RestockingFeeTax",
        "GiftWrap",
        "GiftWrapTax",
        "Surcharge",
        "ReturnShipping",
        "Goodwill",
        "ExportCharge",
        "COD",
        "CODTax",
        "Other",
    }
)
WHOLE_DOCUMENT = "0"


@dataclass(frozen=True, slots=True)
class AdjustedItem:
    """One order line to refund: its components (type, amount given back)."""

    order_item_id: str
    merchant_adjustment_item_id: str
    components: tuple[tuple[str, Decimal], ...]
    reason: str = "CustomerReturn"

    def __post_init__(self) -> None:
        if not self.order_item_id or not self.merchant_adjustment_item_id:
            raise ValueError("an adjusted item needs an order item id and our adjustment id")
        if self.reason not in ADJUSTMENT_REASONS:
            raise ValueError(f"{self.reason!r} is not an AdjustmentReason")
        for kind, amount in self.components:
            if kind not in COMPONENT_TYPES or not amount.is_finite():
                raise ValueError(f"bad component {kind!r} {amount!r}")
        if self.total <= 0:
            raise ValueError("an adjusted item must give back a positive amount")

    @property
    def total(self) -> Decimal:
        """What the item gives back, net."""
        return sum((amount for _, amount in self.components), Decimal(0))


@dataclass(frozen=True, slots=True)
class Adjustment:
    """One message: a refund of one order."""

    message_id: int
    order_id: str
    currency: str
    items: tuple[AdjustedItem, ...]

    def __post_init__(self) -> None:
        minor_units(self.currency)  # ValueError for a currency we do not know
        if self.message_id < 1 or not self.order_id or not self.items:
            raise ValueError("a message needs a positive id, an order id and items")


def _amount(amount: Decimal, currency: str) -> str:
    return format(amount.quantize(Decimal(1).scaleb(-minor_units(currency))), "f")


def adjustment_feed(merchant_id: str, adjustments: Sequence[Adjustment]) -> bytes:
    """The feed document (UTF-8 XML) refunding ``adjustments`` for seller ``merchant_id``."""
    if not adjustments:
        raise ValueError("a feed needs at least one message")
    root = ET.Element(
        "AmazonEnvelope",
        {
            "xmlns:xsi": "http://www.w3.org/2001/XMLSchema-instance",
            "xsi:noNamespaceSchemaLocation": "amzn-envelope.xsd",
        },
    )
    header = ET.SubElement(root, "Header")
    ET.SubElement(header, "DocumentVersion").text = "1.01"
    ET.SubElement(header, "MerchantIdentifier").text = merchant_id
    ET.SubElement(root, "MessageType").text = "OrderAdjustment"
    for adjustment in adjustments:
        _message(root, adjustment)
    document: bytes = ET.tostring(root, encoding="UTF-8", xml_declaration=True)
    return document


def _message(root: ET.Element, adjustment: Adjustment) -> None:
    message = ET.SubElement(root, "Message")
    ET.SubElement(message, "MessageID").text = str(adjustment.message_id)
    order = ET.SubElement(message, "OrderAdjustment")
    ET.SubElement(order, "AmazonOrderID").text = adjustment.order_id
    ET.SubElement(order, "ActionType").text = "Refund"
    for item in adjustment.items:
        adjusted = ET.SubElement(order, "AdjustedItem")
        ET.SubElement(adjusted, "AmazonOrderItemCode").text = item.order_item_id
        ET.SubElement(adjusted, "MerchantAdjustmentItemID").text = item.merchant_adjustment_item_id
        ET.SubElement(adjusted, "AdjustmentReason").text = item.reason
        prices = ET.SubElement(adjusted, "ItemPriceAdjustments")
        for kind, amount in item.components:
            component = ET.SubElement(prices, "Component")
            ET.SubElement(component, "Type").text = kind
            ET.SubElement(component, "Amount", {"currency": adjustment.currency}).text = _amount(
                amount, adjustment.currency
            )


@dataclass(frozen=True, slots=True)
class ProcessingReport:
    """Amazon's verdict on a feed: counts and the failed messages (MessageID -> reason)."""

    status: str
    processed: int
    successful: int
    errors: dict[str, str]

    def error_for(self, message_id: int) -> str | None:
        """Why a message failed (or the whole document did), None if it went through."""
        return self.errors.get(str(message_id)) or self.errors.get(WHOLE_DOCUMENT)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _find(element: ET.Element, name: str) -> ET.Element | None:
    return next((e for e in element.iter() if _local(e.tag) == name), None)


def _text(element: ET.Element | None, name: str) -> str:
    found = _find(element, name) if element is not None else None
    return (found.text or "").strip() if found is not None else ""


def parse_processing_report(data: bytes | str) -> ProcessingReport:
    """Read a processing report; ValueError when it is not one."""
    raw = data.encode() if isinstance(data, str) else data
    if b"<!DOCTYPE" in raw or b"<!ENTITY" in raw:
        raise ValueError("processing report with a DTD refused")
    try:
        root = ET.fromstring(raw)
    except ET.ParseError as err:
        raise ValueError(f"unreadable processing report: {err}") from err
    report = _find(root, "ProcessingReport")
    if report is None:
        raise ValueError("not a ProcessingReport document")
    summary = _find(report, "ProcessingSummary")
    errors = {}
    for result in (e for e in report if _local(e.tag) == "Result"):
        if _text(result, "ResultCode") == "Error":
            code, text = _text(result, "ResultMessageCode"), _text(result, "ResultDescription")
            errors[_text(result, "MessageID") or WHOLE_DOCUMENT] = f"{code}: {text}".strip(": ")
    return ProcessingReport(
        _text(report, "StatusCode"),
        int(_text(summary, "MessagesProcessed") or 0),
        int(_text(summary, "MessagesSuccessful") or 0),
        errors,
    )

"""The order adjustment feed (`POST_PAYMENT_ADJUSTMENT_DATA`): parse, check, report (pure).

Input is Amazon's XML envelope, `MessageType` `OrderAdjustment`, one or more `Message`s each
holding an `OrderAdjustment` (`AmazonOrderID`, optional `ActionType` Refund, `AdjustedItem`s with
`AmazonOrderItemCode`, optional `MerchantAdjustmentItemID`, `AdjustmentReason`,
`ItemPriceAdjustments/Component{Type, Amount@currency}`, optional `Quantity`). Amounts given
back to the buyer are positive; a `RestockingFee` kept by the seller is negative.

A message is applied whole or not at all. Checks, per adjusted item: the order exists for this
seller and is merchant-fulfilled, the item is in the order, reason and component types are in
the XSD enums, currencies are the marketplace's, and the net amount is positive and within what
is left to refund on the line. Amazon does not deduplicate: sending the same refund twice
refunds twice while the balance allows, which is exactly what the hub must avoid.

The result is Amazon's `ProcessingReport` XML. Its `ResultMessageCode`s are this simulator's
own numbers (Amazon's are not documented publicly), except 5000 for an unreadable document.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from spapi_sim.fees import COMPONENT_TYPES
from spapi_sim.model import Order

FEED_TYPE = "POST_PAYMENT_ADJUSTMENT_DATA"
ADJUSTMENT_REASONS = frozenset({
    "NoInventory", "CustomerReturn", "GeneralAdjustment", "CouldNotShip", "DifferentItem",
    "Abandoned", "CustomerCancel", "PriceError", "ProductOutofStock", "CustomerAddressIncorrect",
    "Exchange", "Other", "CarrierCreditDecision", "RiskAssessmentInformationNotValid",
    "CarrierCoverageFailure", "TransactionRecord", "Undeliverable", "RefusedDelivery",
})


class FeedParseError(ValueError):
    """The document is not a readable order adjustment feed."""


@dataclass(frozen=True, slots=True)
class AdjustedItem:
    """One `AdjustedItem` of an `OrderAdjustment` message."""

    order_item_id: str
    merchant_adjustment_item_id: str
    reason: str
    components: dict[str, Decimal]
    currencies: frozenset[str]


@dataclass(frozen=True, slots=True)
class Message:
    """One `Message`: an order and its adjusted items, or a problem found while reading it."""

    message_id: str
    order_id: str
    action: str
    items: tuple[AdjustedItem, ...] = ()
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class Result:
    """A failed message, as the processing report lists it."""

    message_id: str
    order_id: str
    code: str
    description: str


@dataclass(slots=True)
class Outcome:
    """Messages processed, and the failures among them."""

    processed: int = 0
    errors: list[Result] = field(default_factory=list)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(element: ET.Element, name: str) -> ET.Element | None:
    return next((c for c in element if _local(c.tag) == name), None)


def _text(element: ET.Element, name: str) -> str:
    child = _child(element, name)
    return (child.text or "").strip() if child is not None else ""


def parse_feed(data: bytes) -> list[Message]:
    """The messages of an order adjustment feed; FeedParseError when it cannot be read."""
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise FeedParseError("DTDs and entities are not allowed in feeds")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as err:
        raise FeedParseError(f"XML Parsing Fatal Error: {err}") from err
    if _local(root.tag) != "AmazonEnvelope" or _text(root, "MessageType") != "OrderAdjustment":
        raise FeedParseError("Expected an AmazonEnvelope with MessageType OrderAdjustment")
    return [_message(m) for m in root if _local(m.tag) == "Message"]


def _message(element: ET.Element) -> Message:
    message_id = _text(element, "MessageID")
    adjustment = _child(element, "OrderAdjustment")
    if adjustment is None:
        return Message(message_id, "", "", problem="Message has no OrderAdjustment")
    order_id = _text(adjustment, "AmazonOrderID")
    action = _text(adjustment, "ActionType") or "Refund"
    try:
        items = tuple(_item(i) for i in adjustment if _local(i.tag) == "AdjustedItem")
    except ValueError as err:
        return Message(message_id, order_id, action, problem=str(err))
    return Message(message_id, order_id, action, items)


def _item(element: ET.Element) -> AdjustedItem:
    components: dict[str, Decimal] = {}
    currencies: set[str] = set()
    adjustments = _child(element, "ItemPriceAdjustments")
    for component in adjustments if adjustments is not None else ():
        kind, amount = _text(component, "Type"), _child(component, "Amount")
        if kind not in COMPONENT_TYPES or amount is None:
            raise ValueError(f"Invalid component type or missing amount: {kind!r}")
        try:
            value = Decimal((amount.text or "").strip())
        except InvalidOperation as err:
            raise ValueError(f"Invalid amount {amount.text!r} for {kind}") from err
        components[kind] = components.get(kind, Decimal(0)) + value
        currencies.add(amount.get("currency", ""))
    return AdjustedItem(_text(element, "AmazonOrderItemCode"),
                        _text(element, "MerchantAdjustmentItemID"),
                        _text(element, "AdjustmentReason"), components, frozenset(currencies))


def check_item(item: AdjustedItem, order: Order,
               refunded_before: Decimal) -> tuple[str, str] | None:
    """(code, description) of why the item cannot be refunded, or None when it can."""
    line = order.item(item.order_item_id)
    net = sum(item.components.values(), Decimal(0))
    problems = (
        (line is None, "25002", f"The order item {item.order_item_id!r} is not in order "
                                f"{order.order_id}."),
        (item.reason not in ADJUSTMENT_REASONS, "25005",
         f"Invalid AdjustmentReason {item.reason!r}."),
        (item.currencies != {order.currency}, "25006",
         f"Amounts must be in the marketplace currency {order.currency}."),
        (net <= 0, "25004", "The net adjustment amount is not a positive amount and has "
                            "therefore been rejected."),
        (line is not None and refunded_before + net > line.paid, "25007",
         "The adjustment amount exceeds the balance on the order item."),
    )
    return next(((code, text) for failed, code, text in problems if failed), None)


OrderLookup = Callable[[str], Order | None]
RefundedLookup = Callable[[str, str], Decimal]


def check_message(message: Message, find_order: OrderLookup,
                  refunded: RefundedLookup) -> tuple[str, str] | None:
    """(code, description) of why the message fails, or None when all its items pass."""
    order = find_order(message.order_id)
    if message.problem is not None:
        return "25008", message.problem
    if order is None:
        return "25001", f"The order {message.order_id!r} was not found for this merchant."
    if order.fulfilled_by != "MERCHANT":
        return "25003", "Orders fulfilled by Amazon cannot be adjusted by the seller."
    if message.action != "Refund" or not message.items:
        return "25008", "Only ActionType Refund with at least one AdjustedItem is simulated."
    in_message: dict[str, Decimal] = {}  # earlier items of this message on the same line
    for item in message.items:
        earlier = in_message.get(item.order_item_id, Decimal(0))
        problem = check_item(item, order, refunded(order.order_id, item.order_item_id) + earlier)
        if problem is not None:
            return problem
        in_message[item.order_item_id] = earlier + sum(item.components.values(), Decimal(0))
    return None


def processing_report(merchant_id: str, feed_id: str, outcome: Outcome) -> bytes:
    """Amazon's ProcessingReport XML for a processed feed."""
    root = ET.Element("AmazonEnvelope", {
        "xmlns:xsi": "http://www.w3.org/2001/XMLSchema-instance",
        "xsi:noNamespaceSchemaLocation": "amzn-envelope.xsd"})
    header = ET.SubElement(root, "Header")
    ET.SubElement(header, "DocumentVersion").text = "1.02"
    ET.SubElement(header, "MerchantIdentifier").text = merchant_id
    ET.SubElement(root, "MessageType").text = "ProcessingReport"
    message = ET.SubElement(root, "Message")
    ET.SubElement(message, "MessageID").text = "1"
    report = ET.SubElement(message, "ProcessingReport")
    ET.SubElement(report, "DocumentTransactionID").text = feed_id
    ET.SubElement(report, "StatusCode").text = "Complete"
    summary = ET.SubElement(report, "ProcessingSummary")
    counts = (("MessagesProcessed", outcome.processed),
              ("MessagesSuccessful", outcome.processed - len(outcome.errors)),
              ("MessagesWithError", len(outcome.errors)), ("MessagesWithWarning", 0))
    for name, value in counts:
        ET.SubElement(summary, name).text = str(value)
    for error in outcome.errors:
        _result(report, error)
    document: bytes = ET.tostring(root, encoding="UTF-8", xml_declaration=True)
    return document


def _result(report: ET.Element, error: Result) -> None:
    result = ET.SubElement(report, "Result")
    ET.SubElement(result, "MessageID").text = error.message_id
    ET.SubElement(result, "ResultCode").text = "Error"
    ET.SubElement(result, "ResultMessageCode").text = error.code
    ET.SubElement(result, "ResultDescription").text = error.description
    if error.order_id:
        info = ET.SubElement(result, "AdditionalInfo")
        ET.SubElement(info, "AmazonOrderID").text = error.order_id

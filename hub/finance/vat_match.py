"""Amazon's VAT report refunds matched to ACORN's refunds (pure).

Rules:
- both sides are per order line: an ACORN refund is split over its return's SKUs by returned
  value (``refund_lines``; cumulative rounding to the minor unit, so the parts add up to the
  refund exactly); an Amazon refund is one REFUND row of a VAT report, its amounts made positive;
- a row matches a refund line of the same order id and SKU: first those with the same gross
  amount and currency, then the rest of the same order and SKU in amount order (an amount
  difference); what is left is unmatched on its side (``only_amazon``: refunded at Amazon,
  unknown to ACORN; ``only_acorn``: refunded by ACORN, not in Amazon's report);
- the VAT ACORN expects in a matched line is its gross at the row's rate, ``gross x rate /
  (1 + rate)`` rounded half-up to the minor unit (EU prices include VAT); a row whose VAT
  differs from it is a VAT difference; a row without a rate is not checked for VAT;
- results are sorted (order id, SKU, then line), so equal inputs give equal outputs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from protocol.money import minor_units

PairStatus = Literal["matched", "amount_differs", "vat_differs", "currency_differs"]


@dataclass(frozen=True, slots=True)
class AcornRefund:
    """The part of one ACORN refund that gave back one SKU of an Amazon order."""

    store_id: str
    refund_id: str
    order_id: str
    sku: str
    gross: Decimal
    currency: str
    state: str


@dataclass(frozen=True, slots=True)
class AmazonRefund:
    """One REFUND row of an Amazon VAT report, amounts positive."""

    report_type: str
    line_no: int
    order_id: str
    sku: str
    transaction_id: str
    gross: Decimal
    vat: Decimal
    rate: Decimal | None
    currency: str
    tax_date: datetime | None


@dataclass(frozen=True, slots=True)
class Pair:
    """A matched refund line and what differs."""

    acorn: AcornRefund
    amazon: AmazonRefund
    amount_difference: Decimal  # Amazon's gross less ACORN's
    expected_vat: Decimal | None  # the VAT in ACORN's gross at Amazon's rate
    vat_difference: Decimal | None  # Amazon's VAT less the expected

    @property
    def status(self) -> PairStatus:
        """What kind of match this is."""
        if self.acorn.currency != self.amazon.currency:
            return "currency_differs"
        if self.amount_difference:
            return "amount_differs"
        return "vat_differs" if self.vat_difference else "matched"


@dataclass(frozen=True, slots=True)
class VatMatch:
    """The outcome for one report's refunds against ACORN's."""

    pairs: list[Pair]
    only_amazon: list[AmazonRefund]
    only_acorn: list[AcornRefund]

    def count(self, status: PairStatus) -> int:
        """How many pairs have ``status``."""
        return sum(1 for p in self.pairs if p.status == status)


def vat_in(gross: Decimal, rate: Decimal, currency: str) -> Decimal:
    """The VAT contained in a VAT-inclusive amount, rounded half-up to the minor unit."""
    unit = Decimal(1).scaleb(-minor_units(currency))
    return (gross * rate / (1 + rate)).quantize(unit, rounding=ROUND_HALF_UP)


def refund_lines(
    store_id: str,
    refund_id: str,
    order_id: str,
    amount: Decimal,
    currency: str,
    state: str,
    returned: Sequence[tuple[str, int, Decimal]],
) -> list[AcornRefund]:
    """One ACORN refund split over its returned (SKU, quantity, unit price) lines by value."""
    weights: dict[str, Decimal] = {}
    for sku, quantity, unit_price in returned:
        weights[sku] = weights.get(sku, Decimal(0)) + unit_price * quantity
    if not weights:
        return []
    unit = Decimal(1).scaleb(-minor_units(currency))
    total = sum(weights.values(), Decimal(0))
    running, given, found = Decimal(0), Decimal(0), []
    for n, (sku, weight) in enumerate(weights.items(), start=1):
        running += weight
        upto = amount if n == len(weights) or not total else amount * running / total
        upto = upto.quantize(unit, rounding=ROUND_HALF_UP)
        found.append(AcornRefund(store_id, refund_id, order_id, sku, upto - given, currency, state))
        given = upto
    return found


def match_refunds(acorn: Iterable[AcornRefund], amazon: Iterable[AmazonRefund]) -> VatMatch:
    """Pair Amazon's refund rows with ACORN's refund lines (see the module's rules)."""
    ours: dict[tuple[str, str], list[AcornRefund]] = {}
    for line in sorted(acorn, key=lambda a: (a.order_id, a.sku, a.gross, a.refund_id)):
        ours.setdefault((line.order_id, line.sku), []).append(line)
    theirs: dict[tuple[str, str], list[AmazonRefund]] = {}
    for row in sorted(amazon, key=lambda a: (a.order_id, a.sku, a.gross, a.line_no)):
        theirs.setdefault((row.order_id, row.sku), []).append(row)
    pairs: list[Pair] = []
    only_amazon: list[AmazonRefund] = []
    for key, rows in sorted(theirs.items()):
        left = ours.pop(key, [])
        for row in _pair_exact(rows, left, pairs) if left else rows:
            if left:
                pairs.append(_pair(left.pop(0), row))
            else:
                only_amazon.append(row)
        if left:
            ours[key] = left
    only_acorn = [line for key in sorted(ours) for line in ours[key]]
    pairs.sort(key=lambda p: (p.amazon.order_id, p.amazon.sku, p.amazon.line_no))
    return VatMatch(pairs, only_amazon, only_acorn)


def _pair_exact(
    rows: list[AmazonRefund], left: list[AcornRefund], pairs: list[Pair]
) -> list[AmazonRefund]:
    """Pair rows with lines of the same gross and currency; the rows still unpaired."""
    rest = []
    for row in rows:
        same = next((a for a in left if a.gross == row.gross and a.currency == row.currency), None)
        if same is None:
            rest.append(row)
            continue
        left.remove(same)
        pairs.append(_pair(same, row))
    return rest


def _pair(acorn: AcornRefund, amazon: AmazonRefund) -> Pair:
    expected = None
    if amazon.rate is not None and acorn.currency == amazon.currency:
        try:
            expected = vat_in(acorn.gross, amazon.rate, acorn.currency)
        except ValueError:  # a currency we do not know: no VAT check
            expected = None
    return Pair(
        acorn,
        amazon,
        amazon.gross - acorn.gross,
        expected,
        None if expected is None else amazon.vat - expected,
    )

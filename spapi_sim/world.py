"""The simulator's mutable state of the sellers' business: seeded history plus what happened since.

Seeded data (`datagen`) is generated per account on first use. Orders change when the seller
confirms a shipment (`update_order`); they keep their place in the oldest-first order. Live
refunds (accepted order adjustments) are kept with their future `posted` time and become
visible when it passes.
Settlements: seeded ones are 14-day periods aligned to a fixed epoch and ending before the
anchor; the period open at the anchor closes `settlement_delay_seconds` after the first live
refund in it posts (or at its 14-day boundary), and its report then lists every sale and refund
posted in it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from spapi_sim.accounts import SellerAccount
from spapi_sim.datagen import generate_account
from spapi_sim.ids import report_document_id, stable
from spapi_sim.model import AccountData, Order, RefundEvent, ReturnRequest, Settlement
from spapi_sim.settings import SimulatorSettings

SETTLEMENT_EPOCH = datetime(2020, 1, 6, tzinfo=UTC)
SETTLEMENT_PERIOD = timedelta(days=14)


def period_start(moment: datetime) -> datetime:
    """The start of the 14-day settlement period containing `moment`."""
    periods = (moment - SETTLEMENT_EPOCH) // SETTLEMENT_PERIOD
    return SETTLEMENT_EPOCH + periods * SETTLEMENT_PERIOD


def make_settlement(seed: int, seller: SellerAccount, marketplace_id: str, start: datetime,
                    end: datetime, published: datetime) -> Settlement:
    """The settlement of one seller and marketplace for [start, end), published at a time."""
    key = (seed, seller.seller_id, marketplace_id, start.isoformat())
    return Settlement(
        settlement_id=stable("settlement", *key), seller_id=seller.seller_id,
        marketplace_id=marketplace_id, start=start, end=end,
        report_id=stable("settlement-report", *key),
        document_id=report_document_id(seller.region, "settlement", *key), published=published,
    )


def seeded_settlements(seed: int, seller: SellerAccount, marketplace_id: str,
                       history_start: datetime, anchor: datetime) -> list[Settlement]:
    """Closed 14-day settlements between the history start and the anchor."""
    start = period_start(history_start)
    settlements = []
    while start + SETTLEMENT_PERIOD <= anchor:
        end = start + SETTLEMENT_PERIOD
        # Amazon publishes a settlement report a little after the period closes.
        settlements.append(make_settlement(seed, seller, marketplace_id, start, end,
                                           end + timedelta(hours=1)))
        start += SETTLEMENT_PERIOD
    return settlements


class World:
    """Orders, returns, refunds and settlements of every seeded account."""

    def __init__(self, settings: SimulatorSettings, accounts: Mapping[str, SellerAccount]) -> None:
        self._settings = settings
        self._accounts = accounts
        self._data: dict[str, AccountData] = {}
        self._orders: dict[str, dict[str, Order]] = {}
        self._live_refunds: dict[str, list[RefundEvent]] = {}
        self._settlements: dict[tuple[str, str], list[Settlement]] = {}
        self._open_since: dict[tuple[str, str], datetime] = {}

    def data(self, seller_id: str) -> AccountData:
        """The seeded data of an account, generated on first use."""
        if seller_id not in self._data:
            data = generate_account(self._accounts[seller_id], self._settings)
            self._data[seller_id] = data
            self._orders[seller_id] = {order.order_id: order for order in data.orders}
            self._seed_settlements(self._accounts[seller_id])
        return self._data[seller_id]

    def _seed_settlements(self, seller: SellerAccount) -> None:
        for marketplace_id in seller.marketplace_ids:
            key = (seller.seller_id, marketplace_id)
            self._settlements[key] = seeded_settlements(
                self._settings.seed, seller, marketplace_id, self._settings.history_start,
                self._settings.anchor)
            self._open_since[key] = period_start(self._settings.anchor)

    def orders(self, seller_id: str) -> tuple[Order, ...]:
        """The seller's orders as they are now, oldest first."""
        self.data(seller_id)
        return tuple(self._orders[seller_id].values())

    def order(self, seller_id: str, order_id: str) -> Order | None:
        """One order of the seller, or None."""
        self.data(seller_id)
        return self._orders[seller_id].get(order_id)

    def update_order(self, order: Order) -> None:
        """Replace an order of its seller by its new state (a confirmed shipment)."""
        self.data(order.seller_id)
        if order.order_id not in self._orders[order.seller_id]:
            raise KeyError(order.order_id)
        self._orders[order.seller_id][order.order_id] = order

    def returns(self, seller_id: str) -> tuple[ReturnRequest, ...]:
        """The seller's return requests (MFN and FBA)."""
        return self.data(seller_id).returns

    def refunds(self, seller_id: str, posted_by: datetime) -> list[RefundEvent]:
        """Refund events posted at or before `posted_by`, oldest first."""
        live = [r for r in self._live_refunds.get(seller_id, []) if r.posted <= posted_by]
        seeded = [r for r in self.data(seller_id).refunds if r.posted <= posted_by]
        return sorted(seeded + live, key=lambda r: (r.posted, r.adjustment_item_id))

    def refunded(self, seller_id: str, order_id: str, order_item_id: str) -> Decimal:
        """All money refunded or scheduled to be refunded for one order line."""
        everything = [*self.data(seller_id).refunds, *self._live_refunds.get(seller_id, [])]
        return sum((r.refunded for r in everything
                    if r.order_id == order_id and r.order_item_id == order_item_id), Decimal(0))

    def add_refund(self, refund: RefundEvent) -> None:
        """Record an accepted refund; it becomes visible at `refund.posted`."""
        self._live_refunds.setdefault(refund.seller_id, []).append(refund)

    def settlements(self, seller_id: str, now: datetime) -> list[Settlement]:
        """Closed settlements of the seller, oldest first, after closing those now due."""
        seller = self._accounts[seller_id]
        self.data(seller_id)
        for marketplace_id in seller.marketplace_ids:
            self._close_due(seller, marketplace_id, now)
        found = [s for m in seller.marketplace_ids for s in self._settlements[(seller_id, m)]]
        return sorted(found, key=lambda s: (s.end, s.marketplace_id))

    def _close_due(self, seller: SellerAccount, marketplace_id: str, now: datetime) -> None:
        key = (seller.seller_id, marketplace_id)
        while (end := self._due_close(seller.seller_id, marketplace_id,
                                      self._open_since[key], now)) is not None:
            self._settlements[key].append(make_settlement(
                self._settings.seed, seller, marketplace_id, self._open_since[key], end, end))
            self._open_since[key] = end

    def _due_close(self, seller_id: str, marketplace_id: str, start: datetime,
                   now: datetime) -> datetime | None:
        if now >= start + SETTLEMENT_PERIOD:
            return start + SETTLEMENT_PERIOD
        delay = timedelta(seconds=self._settings.settlement_delay_seconds)
        waiting = [r.posted for r in self._live_refunds.get(seller_id, [])
                   if r.marketplace_id == marketplace_id and start <= r.posted <= now]
        if waiting and now > min(waiting) + delay:
            return now
        return None

    def settlement_lines(self, settlement: Settlement) -> tuple[list[Order], list[RefundEvent]]:
        """Orders shipped and refunds posted within a settlement's period."""
        seller_id, marketplace_id = settlement.seller_id, settlement.marketplace_id
        orders = [o for o in self.orders(seller_id)
                  if o.marketplace_id == marketplace_id and o.shipped is not None
                  and settlement.start <= o.shipped < settlement.end]
        refunds = [r for r in self.refunds(seller_id, settlement.end)
                   if r.marketplace_id == marketplace_id and settlement.start <= r.posted
                   and r.posted < settlement.end]
        return orders, refunds

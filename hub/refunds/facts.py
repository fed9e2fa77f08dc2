"""What the refund policy knows about a refund: built here, once, for every caller.

The ingest (``hub.sync.ingest.state`` loads, ``hub.refunds.projection`` decides), hub-side
requests (``hub.refunds.requests``) and the policy simulation (``hub.refunds.simulate``) all
decide from ``RefundFacts`` made by ``refund_facts`` out of what ``load_known`` loaded; nothing
else assembles them, so a simulation of the active policy decides what the live path decided.

Rules:
- the items: the return's lines in line order; their total (``items_total``) is the amount paid
  (None when they mix currencies or there are none); each line's category and opened flag as the
  store recorded them (``item_facts``);
- the sale: the refund's order id and marketplace, else the return's; the synced Amazon order
  (``hub.refunds.order_facts``) counts only for an Amazon sale (``amazon_mfn``/``amazon_fba``)
  whose order id it holds in the same marketplace (``order_of``): its purchase time is the order
  date, its promised latest delivery the delivery day and its marketplace fills in a missing one;
  otherwise the order date is the sale date the store recorded (``sold_at``);
- the customer: the synced order's keyed buyer (``buyer:<hex>``), else the order
  (``order:<id>``), else none (``customer_key``); fixed when the refund is requested and kept in
  the refund's ``customer_key``;
- the history: the customer's other refunds that are not rejected, requested before this one
  (``Known.prior``; the policy counts those in its window). A refund the policy rejects stops
  counting at once (``Known.remember``), as it does once stored;
- the risk: the reasons of the active flags (``hub.risk.flags``) on the order id and on the
  customer key (``risk_note``);
- the time: the request time, never later than when the hub first stored the refund
  (``created_at``): a refund decided again (after its inspection, in a simulation) is decided as
  of the same moment;
- the grade and the mismatch flag: the return's, as the hub holds them; the store's offline
  limit for a refund approved offline at the counter;
- the exchange rates: ECB's on the request's (UTC) day, or the latest before it
  (``hub.finance.fx_rates.FxBook``, read through the deciding transaction, one indexed query per
  currency and day); ``fx`` is None only for facts built without rates (then none converts);
- ``load_known`` costs one query per table per ``CHUNK`` keys, whatever the number of refunds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from hub.finance.fx import Crossed
from hub.finance.fx_rates import FxBook
from hub.policy import PriorRefund
from hub.refunds.order_facts import OrderFacts, load_order_facts
from hub.refunds.states import RefundState
from hub.risk.flags import active_risk
from hub.storage.bulk import key_chunks, rows_at_pairs
from hub.storage.money import money_of
from hub.storage.tables.core import refunds, return_items, stores
from protocol import Channel, Money

CHUNK = 500
AMAZON_CHANNELS = frozenset({Channel.AMAZON_MFN, Channel.AMAZON_FBA})
Key = tuple[str, str]
Row = Mapping[str, Any]


@dataclass(frozen=True)
class ItemFacts:
    """One returned line as the policy sees it."""

    category: str | None  # None: the store did not say
    opened: bool | None  # None: the counter did not ask


@dataclass(frozen=True)
class RefundFacts:
    """What the hub knows about one refund request when it decides."""

    store_id: str
    refund_id: str
    amount: Money
    channel: Channel
    marketplace_id: str | None
    requested_at: datetime
    grade: str | None
    mismatch: bool
    paid: Money | None
    customer_key: str | None
    ordered_at: datetime | None = None  # the synced order's or the sale's date; None: request
    delivered_at: datetime | None = None
    items: tuple[ItemFacts, ...] = ()
    risk: str | None = None  # why the order or the customer is flagged high-risk; None: neither
    offline_limit: Money | None = None  # the store's limit for refunds approved offline
    # ECB rates of the request's day: (currency, base) -> 1 currency in base; None: no rates
    fx: Callable[[str, str], Crossed | None] | None = field(default=None, compare=False)

    @property
    def high_risk(self) -> bool:
        """True when the order or the customer is flagged."""
        return self.risk is not None


@dataclass(frozen=True)
class Asked:
    """A refund about to be decided: enough to know what to load for it."""

    store_id: str
    return_id: str
    channel: Channel
    order_id: str | None
    marketplace_id: str | None = None
    customer_key: str | None = None  # already fixed (a stored refund)


@dataclass
class Known:
    """What deciding some refunds needs beyond their own rows, loaded once (``load_known``)."""

    lines: dict[Key, list[Row]] = field(default_factory=dict)  # stored returns' lines, in order
    orders: dict[str, OrderFacts] = field(default_factory=dict)  # synced Amazon orders by id
    history: dict[str, dict[Key, PriorRefund]] = field(default_factory=dict)  # by customer
    risk: dict[str, str] = field(default_factory=dict)  # flagged order id / customer key: why
    offline_limits: dict[str, Money | None] = field(default_factory=dict)  # by store
    fx: FxBook | None = None  # ECB rates, read through the deciding transaction

    def prior(self, facts: RefundFacts) -> list[PriorRefund]:
        """The customer's other refunds requested before this one: its history."""
        if not facts.customer_key:
            return []
        own = (facts.store_id, facts.refund_id)
        return [p for k, p in self.history.get(facts.customer_key, {}).items()
                if k != own and p.at < facts.requested_at]

    def remember(self, facts: RefundFacts, state: RefundState) -> None:
        """Count a just decided (or waiting) refund for the customer's next ones, unless
        rejected."""
        if not facts.customer_key:
            return
        mine = self.history.setdefault(facts.customer_key, {})
        key = (facts.store_id, facts.refund_id)
        if state is RefundState.REJECTED:
            mine.pop(key, None)
        else:
            mine[key] = PriorRefund(facts.requested_at, facts.amount)


# -- pure builders ----------------------------------------------------------------------------

def items_total(lines: Sequence[Row]) -> Money | None:
    """The lines' total (None when there are none or they mix currencies)."""
    currencies = {line["currency"] for line in lines}
    if len(currencies) != 1:
        return None
    return money_of(sum(line["unit_price"] * line["quantity"] for line in lines),
                    currencies.pop())


def item_facts(lines: Sequence[Row]) -> tuple[ItemFacts, ...]:
    """Each line's category and opened flag, in line order."""
    return tuple(ItemFacts(line["category"], line["opened"]) for line in lines)


def order_of(channel: Channel, order_id: str | None, marketplace_id: str | None,
             orders: Mapping[str, OrderFacts]) -> OrderFacts | None:
    """The synced order of an Amazon sale, or None (not Amazon, no order id, unknown order, or
    an order of another marketplace than the one the refund names)."""
    if channel not in AMAZON_CHANNELS or not order_id:
        return None
    order = orders.get(order_id)
    if order is None or (marketplace_id and marketplace_id != order.marketplace_id):
        return None
    return order


def customer_key_of(order_id: str | None, order: OrderFacts | None = None) -> str | None:
    """How the hub recognises the same customer: the synced buyer, else the order, else None."""
    if order is not None and order.buyer_key:
        return f"buyer:{order.buyer_key}"
    return f"order:{order_id}" if order_id else None


def customer_key(channel: Channel, order_id: str | None, marketplace_id: str | None,
                 orders: Mapping[str, OrderFacts]) -> str | None:
    """The customer key of a new refund of this sale."""
    return customer_key_of(order_id, order_of(channel, order_id, marketplace_id, orders))


def risk_note(order_id: str | None, customer: str | None, risk: Mapping[str, str]) -> str | None:
    """Why the order or the customer is flagged, for the approver; None when neither is."""
    said = [f"{kind} flagged high-risk: {risk[subject]}"
            for kind, subject in (("order", order_id), ("customer", customer))
            if subject and subject in risk]
    return "; ".join(said) or None


def refund_facts(refund: Row, ret: Row, lines: Sequence[Row], known: Known) -> RefundFacts:
    """The facts of a refund (a ``refunds`` row) of a return (its ``returns`` row and lines)."""
    channel = Channel(refund["channel"])
    market = refund["marketplace_id"] or ret.get("marketplace_id")
    order_id = refund["order_id"] or ret.get("order_id")
    order = order_of(channel, order_id, market, known.orders)
    return RefundFacts(
        refund["store_id"], refund["refund_id"], money_of(refund["amount"], refund["currency"]),
        channel, market or (order.marketplace_id if order else None),
        min(refund["requested_at"], refund["created_at"]), ret.get("grade"),
        bool(ret.get("mismatch")), items_total(lines), refund["customer_key"],
        ordered_at=order.purchased_at if order else ret.get("sold_at"),
        delivered_at=order.deliver_by if order else None,
        items=item_facts(lines),
        risk=risk_note(order_id, refund["customer_key"], known.risk),
        offline_limit=known.offline_limits.get(refund["store_id"]),
        fx=known.fx.lookup(min(refund["requested_at"], refund["created_at"]).date())
        if known.fx else None)


# -- loading ----------------------------------------------------------------------------------

def load_known(conn: Connection, asked: Sequence[Asked]) -> Known:
    """Everything deciding the ``asked`` refunds needs (see the module rules)."""
    orders = load_order_facts(conn, {a.order_id for a in asked
                                     if a.order_id and a.channel in AMAZON_CHANNELS})
    customers = {key for a in asked for key in _customer_keys(a, orders) if key}
    return Known(
        lines=load_lines(conn, {(a.store_id, a.return_id) for a in asked}),
        orders=orders,
        history=_history(conn, customers),
        risk=active_risk(conn, {a.order_id for a in asked if a.order_id}, customers),
        offline_limits=_offline_limits(conn, {a.store_id for a in asked}),
        fx=FxBook(conn))


def _customer_keys(asked: Asked, orders: Mapping[str, OrderFacts]) -> Iterable[str | None]:
    if asked.customer_key:
        return (asked.customer_key,)
    return (customer_key(asked.channel, asked.order_id, asked.marketplace_id, orders),
            customer_key_of(asked.order_id))


def load_lines(conn: Connection, keys: set[Key]) -> dict[Key, list[Row]]:
    """The lines of these stored returns, in line order (a return the hub does not hold yet,
    such as one received in the same batch, is absent)."""
    lines: dict[Key, list[Row]] = {}
    for chunk in key_chunks(conn, sorted(keys), CHUNK):  # each (store, id) one index probe
        rows = conn.execute(rows_at_pairs(conn, return_items, ("store_id", "return_id"), chunk))
        for row in rows:
            lines.setdefault((row.store_id, row.return_id), []).append(dict(row._mapping))
    for found in lines.values():
        found.sort(key=lambda line: int(line["line_no"]))
    return lines


def _history(conn: Connection, customers: set[str]) -> dict[str, dict[Key, PriorRefund]]:
    """Every refund (not rejected) of these customers, oldest first."""
    history: dict[str, dict[Key, PriorRefund]] = {c: {} for c in customers}
    wanted = sorted(customers)
    for start in range(0, len(wanted), CHUNK):
        rows = conn.execute(
            select(refunds.c.store_id, refunds.c.refund_id, refunds.c.customer_key,
                   refunds.c.requested_at, refunds.c.created_at, refunds.c.amount,
                   refunds.c.currency)
            .where(refunds.c.customer_key.in_(wanted[start:start + CHUNK]),
                   refunds.c.state != RefundState.REJECTED.value)
            .order_by(refunds.c.requested_at, refunds.c.store_id, refunds.c.refund_id))
        for r in rows:
            history[r.customer_key][(r.store_id, r.refund_id)] = PriorRefund(
                min(r.requested_at, r.created_at), money_of(r.amount, r.currency))
    return history


def _offline_limits(conn: Connection, store_ids: set[str]) -> dict[str, Money | None]:
    rows = conn.execute(select(stores.c.store_id, stores.c.offline_limit,
                               stores.c.offline_currency)
                        .where(stores.c.store_id.in_(sorted(store_ids))))
    return {r.store_id: money_of(r.offline_limit, r.offline_currency)
            if r.offline_limit is not None and r.offline_currency else None for r in rows}

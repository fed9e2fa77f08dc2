"""Routing in the hub: load the engine's inputs, store each decision, audit it.

Rules:
- orders are routed when the orders sync stores them: each merchant-fulfilled order that is
  ``UNSHIPPED`` or ``PARTIALLY_SHIPPED`` and not routed yet, in the sync's own transaction (the
  order and its route commit together); an order that cannot be routed is stored as
  ``unroutable`` with the reason, never skipped;
- the engine's inputs are read once per batch: every store not decommissioned with its record,
  the stock view (``stock_source``), the active allocation rules' floors, the active routing
  rules, each store's packages per local ship date (capacity) and the units of routed packages
  whose order is still open (``PENDING``/``UNSHIPPED``/``PARTIALLY_SHIPPED``) and whose pick task
  is not closed (shipped, withdrawn or given back: those units left the store or are free
  again), which are taken off the store's sellable units so that two orders never count on the
  same unit; each decision of a batch updates both for the next order;
- each unit is taken off once: the stock view's sellable is already net of what the store
  reserved (the store reserves a task's units when it receives it, and the hub's view sees
  ``reserved`` once the moves are ingested), so of a SKU's routed units at a store only those
  beyond the units the hub sees reserved there are taken off again (``unseen``): the store's
  reservations are read as covering its routed packages first;
- of the destination only country and postal code are kept; its centroid comes from
  ``postcodes.Lookup``;
- every decision is a new ``routing_decisions`` row (attempt 1, 2, ...), replaces the order's
  ``routed_packages`` and its ``routed_orders`` row, and is audited (entity ``amazon_order``,
  ``<account>/<order id>``): ``order.routed`` (on import, by ``system``), ``order.rerouted``
  (by hand: routed again by the rules, or to a store a manager chose) and ``order.given_back``
  (a store could not fill its package: the whole order is routed again without every store
  that gave it back); only an order Amazon still lists as unshipped (or partly shipped) is
  routed again; a store's capacity counts the packages of every order routed to it that was
  not cancelled;
- each package of a decision is sent to its store as a pick task in the same transaction
  (``picks``); a store's ``order.pick.given_back`` event gives the order back through
  ``give_back_in`` inside the ingest's transaction;
- a manager's own choice of store stands even when the rules would drop that store; the
  decision keeps what the rules would have done, for the record.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, delete, func, select, update

from hub.access.users import Actor
from hub.errors import Conflict, InputError, NotFound
from hub.inventory import stock_source, store_records
from hub.inventory.allocation import CompiledRules, compile_text, default_rules_text
from hub.inventory.allocation import store as allocation_store
from hub.inventory.allocation.values import Stock, StockLine
from hub.inventory.routing import picks, rules_store
from hub.inventory.routing.document import RoutingRules
from hub.inventory.routing.engine import route
from hub.inventory.routing.postcodes import Lookup
from hub.inventory.routing.stock import routing_stock
from hub.inventory.routing.values import (
    Decision,
    Destination,
    Line,
    Order,
    Package,
    RoutingStock,
    Site,
    Status,
    Usable,
    order_lines,
)
from hub.storage.audit_chain import AuditDraft
from hub.storage.engine import Tx, writing
from hub.storage.tables.amazon import amazon_orders
from hub.storage.tables.picking import pick_tasks
from hub.storage.tables.routing import routed_orders, routed_packages, routing_decisions

MERCHANT = "MERCHANT"
ROUTABLE = frozenset({"UNSHIPPED", "PARTIALLY_SHIPPED"})
OPEN = frozenset({"PENDING", "UNSHIPPED", "PARTIALLY_SHIPPED"})
CANCELLED = "CANCELLED"
SYSTEM = Actor("system", "system")
MAX_REASON = 500
ENTITY = "amazon_order"


class Cause(StrEnum):
    """Why an order was routed."""

    IMPORT = "import"
    MANUAL = "manual"
    GIVE_BACK = "give_back"


ACTIONS = {Cause.IMPORT: "order.routed", Cause.MANUAL: "order.rerouted",
           Cause.GIVE_BACK: "order.given_back"}


@dataclass
class Inputs:
    """What the engine reads, loaded once for a batch of orders."""

    now: datetime
    rules: RoutingRules
    allocation: CompiledRules
    stock: Stock
    sites: dict[str, Site]
    loads: dict[str, dict[date, int]]
    committed: dict[tuple[str, str], int]
    lookup: Lookup

    by_sku: dict[str, list[StockLine]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for line in self.stock.lines:
            self.by_sku.setdefault(line.sku, []).append(line)

    def usable(self, skus: Iterable[str]) -> RoutingStock:
        """Usable units of ``skus``: sellable above the floor, less what open routes hold."""
        wanted = sorted(set(skus))
        lines = [line for sku in wanted for line in self.by_sku.get(sku, ())]
        base = routing_stock(Stock(lines, self.stock.categories), self.allocation, wanted)
        reserved = {(line.sku, line.store): max(line.reserved, 0) for line in lines}
        return RoutingStock({key: Usable(max(u.sellable - unseen(self.committed.get(key, 0),
                                                                 reserved.get(key, 0)), 0),
                                         u.floor, u.floor_rule)
                             for key, u in base.usable.items()})

    def book(self, packages: Iterable[Package], sign: int = 1, stock: bool = True) -> None:
        """Count ``packages`` (or, with ``sign`` -1, stop counting them) in loads and (unless
        ``stock`` is False) in the units routes hold."""
        for package in packages:
            days = self.loads.setdefault(package.store_id, {})
            days[package.ship_date] = days.get(package.ship_date, 0) + sign
            if not stock:
                continue
            for line in package.lines:
                key = (line.sku, package.store_id)
                self.committed[key] = self.committed.get(key, 0) + sign * line.quantity


def load_inputs(conn: Connection, now: datetime, skus: Iterable[str]) -> Inputs:
    """The engine's inputs as the database holds them at ``now``, for orders of ``skus`` (the
    stock view of those SKUs only: not the chain's whole view, nor any sales)."""
    loads = _loads(conn, now.date() - timedelta(days=1))
    sites: dict[str, Site] = {}
    for store_id, record in store_records.active_records(conn).items():  # one statement
        sites[store_id] = Site(store_id, record, loads.setdefault(store_id, {}))
    active = allocation_store.active(conn)
    allocation = active.compiled if active else compile_text(default_rules_text())
    stock = stock_source.stock_view(conn, set(skus))
    return Inputs(now, rules_store.active(conn), allocation, stock, sites, loads,
                  _committed(conn), Lookup(conn))


def _loads(conn: Connection, since: date) -> dict[str, dict[date, int]]:
    rows = conn.execute(
        select(routed_packages.c.store_id, routed_packages.c.ship_date, func.count())
        .join(amazon_orders, (amazon_orders.c.account == routed_packages.c.account)
              & (amazon_orders.c.order_id == routed_packages.c.order_id))
        .where(routed_packages.c.ship_date >= since, amazon_orders.c.status != CANCELLED)
        .group_by(routed_packages.c.store_id, routed_packages.c.ship_date))
    loads: dict[str, dict[date, int]] = {}
    for store_id, day, count in rows:
        loads.setdefault(store_id, {})[day] = int(count)
    return loads


def unseen(routed: int, reserved: int) -> int:
    """Routed units of a SKU at a store still to take off its sellable units (pure): those
    beyond the units the hub sees reserved there (sellable is net of those already)."""
    return max(routed - max(reserved, 0), 0)


def _closed_tasks(conn: Connection) -> set[str]:
    """Package ids of the closed pick tasks (shipped, withdrawn, given back) of open orders."""
    p = pick_tasks.c
    return set(conn.scalars(
        select(p.package_id)
        .join(amazon_orders, (amazon_orders.c.account == p.account)
              & (amazon_orders.c.order_id == p.order_id))
        .where(amazon_orders.c.status.in_(sorted(OPEN)), p.status != "open")))


def _counts(row: Any, closed: set[str]) -> bool:
    """Whether a routed package still holds its units: its current task is not closed."""
    pid = picks.package_id(row.account, row.order_id, row.store_id, row.attempt)
    return pid not in closed


def _committed(conn: Connection) -> dict[tuple[str, str], int]:
    rows = conn.execute(
        select(routed_packages.c.account, routed_packages.c.order_id,
               routed_packages.c.store_id, routed_packages.c.lines, routed_orders.c.attempt)
        .join(amazon_orders, (amazon_orders.c.account == routed_packages.c.account)
              & (amazon_orders.c.order_id == routed_packages.c.order_id))
        .join(routed_orders, (routed_orders.c.account == routed_packages.c.account)
              & (routed_orders.c.order_id == routed_packages.c.order_id))
        .where(amazon_orders.c.status.in_(sorted(OPEN))))
    closed = _closed_tasks(conn)
    held: dict[tuple[str, str], int] = {}
    for row in rows:
        if not _counts(row, closed):
            continue
        store_id, lines = row.store_id, row.lines
        for line in lines:
            key = (str(line["sku"]), store_id)
            held[key] = held.get(key, 0) + int(line["quantity"])
    return held


def destination_of(order: Mapping[str, Any]) -> tuple[str, str] | None:
    """Country and postal code of an Orders API order's delivery address (nothing else of it)."""
    address = (order.get("recipient") or {}).get("deliveryAddress") or {}
    country, code = address.get("countryCode"), address.get("postalCode")
    if not isinstance(country, str) or not isinstance(code, str) or not code.strip():
        return None
    return country.strip().upper()[:2], code.strip()[:20]


def _decide(inputs: Inputs, order_id: str, marketplace: str, items: list[dict[str, Any]],
            where: tuple[str | None, str | None], excluded: frozenset[str]) -> Decision:
    rules = inputs.rules
    country, postal = where
    if country is None or postal is None:
        return _cannot(order_id, rules, "no delivery country and postal code known for the order")
    lines = _lines(items)
    if isinstance(lines, str):
        return _cannot(order_id, rules, lines)
    spot = inputs.lookup.centroid(country, postal)
    dest = Destination(country, postal, *(spot or (None, None)))
    order = Order(order_id, marketplace, dest, lines, excluded)
    return route(order, inputs.sites, inputs.usable(li.sku for li in lines), rules, inputs.now)


def _skus(items: Iterable[Mapping[str, Any]]) -> set[str]:
    """The SKUs named by order items (what the engine will ask the stock of)."""
    return {sku for item in items if isinstance(sku := item.get("sku"), str)}


def _lines(items: list[dict[str, Any]]) -> tuple[Line, ...] | str:
    """The order's lines (items of no units left out), or why they cannot be read."""
    wanted: list[tuple[str, int]] = []
    for item in items:
        sku, quantity = item.get("sku"), item.get("quantity")
        if not isinstance(quantity, int) or quantity < 0:
            return f"an item of the order has no whole quantity ({quantity!r})"
        if quantity == 0:
            continue  # a cancelled item: nothing to ship
        if not isinstance(sku, str) or not sku:
            return "an item of the order has no SKU"
        wanted.append((sku, quantity))
    return order_lines(wanted) if wanted else "the order has no units to ship"


def _cannot(order_id: str, rules: RoutingRules, reason: str) -> Decision:
    return Decision(order_id, Status.UNROUTABLE, (), (reason,), (), rules.version)


def route_new_orders(tx: Tx, account: str, rows: Iterable[Mapping[str, Any]],
                     destinations: Mapping[str, tuple[str, str]]) -> int:
    """Route each routable MFN order of ``rows`` not routed yet; the number routed."""
    wanted = {str(r["order_id"]): r for r in rows
              if r.get("fulfilled_by") == MERCHANT and r.get("status") in ROUTABLE}
    if not wanted:
        return 0
    done = set(tx.conn.scalars(select(routed_orders.c.order_id).where(
        routed_orders.c.account == account, routed_orders.c.order_id.in_(sorted(wanted)))))
    todo = [wanted[o] for o in sorted(wanted) if o not in done]
    if not todo:
        return 0
    inputs = load_inputs(tx.conn, tx.now, _skus(i for row in todo for i in row["items"] or ()))
    for row in todo:
        order_id = str(row["order_id"])
        where = destinations.get(order_id, (None, None))
        decision = _decide(inputs, order_id, str(row["marketplace_id"]), list(row["items"]),
                           where, frozenset())
        _record(tx, inputs, account, str(row["marketplace_id"]), where, decision, Cause.IMPORT,
                SYSTEM, None, [])
    return len(todo)


def _record(tx: Tx, inputs: Inputs, account: str, marketplace: str,
            where: tuple[str | None, str | None], decision: Decision, cause: Cause,
            actor: Actor, reason: str | None, given_back: list[str]) -> dict[str, Any]:
    key = (routed_orders.c.account == account) & (routed_orders.c.order_id == decision.order_id)
    before = tx.conn.execute(select(routed_orders).where(key)).first()
    attempt = 1 if before is None else before.attempt + 1
    body = decision.as_json()
    values = {"marketplace_id": marketplace, "country": where[0], "postal_code": where[1],
              "status": decision.status.value, "given_back": given_back, "decision": body,
              "rules_version": decision.rules_version, "attempt": attempt,
              "routed_at": tx.now, "routed_by": actor.name}
    if before is None:
        tx.conn.execute(routed_orders.insert().values(account=account,
                                                      order_id=decision.order_id, **values))
    else:
        tx.conn.execute(update(routed_orders).where(key).values(**values))
    tx.conn.execute(delete(routed_packages).where(
        (routed_packages.c.account == account)
        & (routed_packages.c.order_id == decision.order_id)))
    for package in decision.packages:
        tx.conn.execute(routed_packages.insert().values(
            account=account, order_id=decision.order_id, store_id=package.store_id,
            ship_date=package.ship_date,
            lines=[{"sku": li.sku, "quantity": li.quantity} for li in package.lines]))
    inputs.book(decision.packages)
    picks.send(tx, account, decision.order_id, marketplace, attempt, decision.packages)
    tx.conn.execute(routing_decisions.insert().values(
        account=account, order_id=decision.order_id, attempt=attempt, cause=cause.value,
        status=decision.status.value, decision=body, decided_at=tx.now, decided_by=actor.name,
        reason=reason))
    tx.audit(AuditDraft(
        actor.name, actor.role, ACTIONS[cause], ENTITY, f"{account}/{decision.order_id}",
        None if before is None else _summary(before.status, before.decision),
        {**_summary(decision.status.value, body), "attempt": attempt,
         "given_back": list(given_back)},
        reason))
    return {"account": account, "order_id": decision.order_id, "attempt": attempt, **values}


def _summary(status: str, decision: Mapping[str, Any]) -> dict[str, Any]:
    return {"status": status, "rules_version": decision.get("rules_version"),
            "stores": [p["store_id"] for p in decision.get("packages", [])],
            "reasons": list(decision.get("reasons", []))}


def _reason(reason: str) -> str:
    text = reason.strip()
    if not text:
        raise InputError("say why (a reason is kept in the audit)", field="reason")
    if len(text) > MAX_REASON:
        raise InputError(f"a reason is at most {MAX_REASON} characters", field="reason")
    return text


def _current(conn: Connection, order_id: str) -> Any:
    rows = conn.execute(select(routed_orders).where(routed_orders.c.order_id == order_id)
                        ).all()
    if not rows:
        raise NotFound(f"no routed order {order_id!r}", field="order_id")
    if len(rows) > 1:
        raise Conflict(f"order {order_id!r} is known under several accounts", field="order_id")
    return rows[0]


def _items(conn: Connection, account: str, order_id: str) -> list[dict[str, Any]]:
    """The order's items, when it can still be routed (else ``Conflict`` saying its state)."""
    row = conn.execute(select(amazon_orders.c["items"], amazon_orders.c.status).where(
        amazon_orders.c.account == account, amazon_orders.c.order_id == order_id)).first()
    if row is None:
        raise NotFound(f"order {order_id!r} is not among the synced orders", field="order_id")
    if row.status not in ROUTABLE:
        raise Conflict(f"order {order_id} is {row.status}: only an unshipped order is routed",
                       field="order_id")
    return list(row[0])


def _forget(inputs: Inputs, conn: Connection, account: str, order_id: str) -> None:
    # The order's own current packages must not count against the route it gets now.
    attempt = conn.scalar(select(routed_orders.c.attempt).where(
        routed_orders.c.account == account, routed_orders.c.order_id == order_id)) or 0
    closed = set(conn.scalars(select(pick_tasks.c.package_id).where(
        pick_tasks.c.account == account, pick_tasks.c.order_id == order_id,
        pick_tasks.c.status != "open")))
    for r in conn.execute(select(routed_packages).where(
            routed_packages.c.account == account, routed_packages.c.order_id == order_id)):
        package = Package(r.store_id, r.ship_date,
                          tuple(Line(li["sku"], int(li["quantity"])) for li in r.lines))
        counted = picks.package_id(account, order_id, r.store_id, attempt) not in closed
        inputs.book([package], sign=-1, stock=counted)


def reroute(engine: Engine, order_id: str, actor: Actor, reason: str,
            store: str | None = None) -> dict[str, Any]:
    """Route an order again by the rules, or (``store``) to the store a manager chose."""
    why = _reason(reason)
    with writing(engine) as tx:
        row = _current(tx.conn, order_id)
        items = _items(tx.conn, row.account, order_id)
        inputs = load_inputs(tx.conn, tx.now, _skus(items))
        _forget(inputs, tx.conn, row.account, order_id)
        where = (row.country, row.postal_code)
        excluded = frozenset(row.given_back)
        decision = _decide(inputs, order_id, row.marketplace_id, items, where, excluded)
        if store is not None:
            decision = _by_hand(inputs, decision, store, items, actor, why)
        return _record(tx, inputs, row.account, row.marketplace_id, where, decision,
                       Cause.MANUAL, actor, why, list(row.given_back))


def _by_hand(inputs: Inputs, auto: Decision, store: str, items: list[dict[str, Any]],
             actor: Actor, why: str) -> Decision:
    site = inputs.sites.get(store)
    if site is None:
        raise NotFound(f"no store {store!r} (or it is decommissioned)", field="store")
    verdict = next((v for v in auto.verdicts if v.store_id == store), None)
    day = verdict.ship_date if verdict and verdict.ship_date else _local_today(site, inputs.now)
    lines = _lines(items)
    if isinstance(lines, str):
        raise Conflict(f"order {auto.order_id} cannot be routed by hand: {lines}",
                       field="order_id")
    rules_said = auto.reasons[0] if auto.reasons else ""
    note = f"; the rules dropped it: {verdict.dropped}" if verdict and verdict.dropped else ""
    reasons = (f"routed by hand to {store} by {actor.name}: {why}{note}",
               f"the rules would have decided: {auto.status.value}: {rules_said}")
    return Decision(auto.order_id, Status.MANUAL, (Package(store, day, lines),), reasons,
                    auto.verdicts, auto.rules_version)


def _local_today(site: Site, now: datetime) -> date:
    zone = site.record.time_zone
    return now.astimezone(ZoneInfo(zone)).date() if zone else now.date()


def give_back(engine: Engine, order_id: str, store: str, actor: Actor,
              reason: str) -> dict[str, Any]:
    """``store`` cannot fill its package: route the order again without it (and earlier ones)."""
    why = _reason(reason)
    with writing(engine) as tx:
        return give_back_in(tx, order_id, store, actor, why)


def give_back_in(tx: Tx, order_id: str, store: str, actor: Actor,
                 reason: str) -> dict[str, Any]:
    """``give_back`` inside the caller's transaction (a store's ``order.pick.given_back``)."""
    why = _reason(reason)
    row = _current(tx.conn, order_id)
    shipping = set(tx.conn.scalars(select(routed_packages.c.store_id).where(
        routed_packages.c.account == row.account, routed_packages.c.order_id == order_id)))
    if store not in shipping:
        raise Conflict(f"store {store} has no package of order {order_id}", field="store")
    items = _items(tx.conn, row.account, order_id)
    inputs = load_inputs(tx.conn, tx.now, _skus(items))
    _forget(inputs, tx.conn, row.account, order_id)
    given = sorted({*row.given_back, store})
    where = (row.country, row.postal_code)
    decision = _decide(inputs, order_id, row.marketplace_id, items, where, frozenset(given))
    return _record(tx, inputs, row.account, row.marketplace_id, where, decision,
                   Cause.GIVE_BACK, actor, why, given)


def detail(conn: Connection, order_id: str) -> dict[str, Any]:
    """An order's current route and every decision made for it, oldest first."""
    row = _current(conn, order_id)
    history = conn.execute(select(routing_decisions).where(
        routing_decisions.c.account == row.account,
        routing_decisions.c.order_id == order_id).order_by(routing_decisions.c.attempt)).all()
    return {**_row(row), "history": [
        {"attempt": h.attempt, "cause": h.cause, "status": h.status, "decided_at": h.decided_at,
         "decided_by": h.decided_by, "reason": h.reason, "decision": h.decision}
        for h in history]}


def _row(row: Any) -> dict[str, Any]:
    return {"account": row.account, "order_id": row.order_id,
            "marketplace_id": row.marketplace_id, "country": row.country,
            "postal_code": row.postal_code, "status": row.status,
            "stores": [p["store_id"] for p in row.decision.get("packages", [])],
            "given_back": list(row.given_back), "attempt": row.attempt,
            "rules_version": row.rules_version, "routed_at": row.routed_at,
            "routed_by": row.routed_by, "decision": row.decision}


def listing(conn: Connection, status: str | None = None, store: str | None = None,
            limit: int = 100) -> list[dict[str, Any]]:
    """Routed orders, newest routing first; only a status or a store's when asked."""
    query = select(routed_orders).order_by(routed_orders.c.routed_at.desc(),
                                           routed_orders.c.order_id).limit(limit)
    if status is not None:
        query = query.where(routed_orders.c.status == status)
    if store is not None:
        query = query.where(routed_orders.c.order_id.in_(
            select(routed_packages.c.order_id).where(routed_packages.c.store_id == store)))
    return [_row(row) for row in conn.execute(query)]

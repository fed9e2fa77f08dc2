"""The fleet page's rows: every store in the caller's scope and each of its nodes, with presence,
versions, outbox, peripherals, certificate and alerts.

Rules:
- a row is a node (the ``nodes`` the hub has heard from, and the nodes that only have a
  certificate so far), or a store that has no node yet (``node_id`` None);
- the caller's scope and the ``store`` / ``region`` / ``city`` / ``online`` filters are SQL
  conditions (``hub.fleet.stores.in_scope``), so nothing outside the scope is ever read; the
  alerts and ages are then computed (``hub.fleet.alerts``, pure) over that set, and the ``alert``
  filter, the sort and the page are applied to it in that order: a page is never filtered after
  it was cut;
- what a node reports (version, outbox, oldest unsent event, config version, printer, scanner,
  and its last self-test: clock offset, disk free, POS terminal reachability, when, passed,
  failing checks) comes from its last ``node.status`` as stored by ingest; a node that never
  sent one (or an older node) has None;
- ``counts`` are the figures ``/metrics`` shows: nodes online, offline and alerting, fleet-wide.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Connection, and_, false, or_, select, true, union
from sqlalchemy.sql.elements import ColumnElement

from hub.access.permissions import Scope
from hub.fleet.alerts import ALERTS, Alert, NodeFacts, Thresholds, age, alerts_of
from hub.fleet.stores import in_scope
from hub.storage.money import money_of
from hub.storage.tables.core import nodes, stores
from hub.storage.tables.fleet import node_certificates
from protocol import to_utc

Presence = Literal["online", "offline"]
SortKey = Literal["store", "node", "state", "last_seen", "outbox", "unsent_age", "cert_expiry",
                  "version", "alerts", "clock", "disk", "selftest"]
SORT_KEYS: tuple[str, ...] = ("store", "node", "state", "last_seen", "outbox", "unsent_age",
                              "cert_expiry", "version", "alerts", "clock", "disk", "selftest")


@dataclass(frozen=True)
class FleetFilter:
    """What the fleet page asks for."""

    store: str | None = None
    region: str | None = None
    city: str | None = None
    state: Presence | None = None
    alert: Alert | Literal["any"] | None = None
    sort: SortKey = "store"
    descending: bool = False
    limit: int = 100
    offset: int = 0


def _keys() -> Any:
    """Every node key the hub knows: heard from, or given a certificate."""
    return union(select(nodes.c.store_id, nodes.c.node_id),
                 select(node_certificates.c.store_id, node_certificates.c.node_id)).subquery("k")


def _rows(conn: Connection, scope: Scope, wanted: FleetFilter) -> list[Mapping[str, Any]]:
    keys = _keys()
    where: list[ColumnElement[bool]] = [in_scope(scope, stores.c.store_id)]
    if wanted.store is not None:
        where.append(stores.c.store_id == wanted.store)
    if wanted.region is not None:
        where.append(stores.c.region == wanted.region)
    if wanted.city is not None:
        where.append(stores.c.city == wanted.city)
    if wanted.state == "online":
        where.append(nodes.c.online == true())
    elif wanted.state == "offline":
        where.append(and_(keys.c.node_id.is_not(None),
                          or_(nodes.c.online.is_(None), nodes.c.online == false())))
    query = (
        select(stores.c.store_id, stores.c.name, stores.c.region, stores.c.city,
               stores.c.config_version.label("config_published"), stores.c.language,
               stores.c.time_zone, stores.c.printer_paper, stores.c.offline_limit,
               stores.c.offline_currency, keys.c.node_id,
               nodes.c.online, nodes.c.status, nodes.c.status_at, nodes.c.last_seen_at,
               nodes.c.contiguous_seq, node_certificates.c.not_after,
               node_certificates.c.revoked_at)
        .select_from(stores)
        .outerjoin(keys, keys.c.store_id == stores.c.store_id)
        .outerjoin(nodes, and_(nodes.c.store_id == keys.c.store_id,
                               nodes.c.node_id == keys.c.node_id))
        .outerjoin(node_certificates, and_(node_certificates.c.store_id == keys.c.store_id,
                                           node_certificates.c.node_id == keys.c.node_id))
        .where(*where)
        .order_by(stores.c.store_id, keys.c.node_id)
    )
    return [dict(r._mapping) for r in conn.execute(query)]


def _when(value: Any) -> datetime | None:
    """A status timestamp (ISO text in the stored JSON) as an aware datetime, or None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return to_utc(datetime.fromisoformat(value))
    except ValueError:
        return None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _names(value: Any) -> list[str] | None:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else None


def _settings(row: Mapping[str, Any]) -> dict[str, Any]:
    """The store's settings its nodes are pushed (edited on the fleet page)."""
    amount, currency = row["offline_limit"], row["offline_currency"]
    money = money_of(amount, currency) if amount is not None and currency else None
    limit = {"amount": format(money.amount, "f"), "currency": currency} if money else None
    return {"language": row["language"], "time_zone": row["time_zone"],
            "printer_paper": row["printer_paper"], "offline_refund_limit": limit}


def describe(row: Mapping[str, Any], now: datetime, limits: Thresholds) -> dict[str, Any]:
    """One row of the page (pure): the facts, their ages and the alerts."""
    base = {"store_id": row["store_id"], "store_name": row["name"], "region": row["region"],
            "city": row["city"], "config_published": row["config_published"],
            "store_settings": _settings(row), "node_id": row["node_id"]}
    if row["node_id"] is None:
        return base | {"state": None, "alerts": [], "revoked": False}
    status = row["status"] if isinstance(row["status"], dict) else {}
    oldest = _when(status.get("oldest_unsent_at"))
    online = bool(row["online"])
    revoked = row["revoked_at"] is not None
    offset, free = _number(status.get("clock_offset_seconds")), _int(status.get("disk_free_bytes"))
    pos = _text(status.get("pos_terminal"))
    facts = NodeFacts(online=online and not revoked, last_seen_at=row["last_seen_at"],
                      oldest_unsent_at=oldest, cert_not_after=row["not_after"], revoked=revoked,
                      clock_offset=offset, disk_free=free, pos_terminal=pos)
    passed = status.get("selftest_passed")
    return base | {
        "state": "online" if facts.online else "offline",
        "last_seen_at": row["last_seen_at"],
        "offline_for_seconds": None if facts.online else age(row["last_seen_at"], now),
        "version": _text(status.get("version")),
        "outbox_pending": _int(status.get("outbox_pending")),
        "oldest_unsent_at": oldest,
        "unsent_age_seconds": age(oldest, now),
        "config_version": _int(status.get("config_version")),
        "printer": _text(status.get("printer")),
        "scanner": _text(status.get("scanner")),
        "pos_terminal": pos,
        "cert_not_after": row["not_after"],
        "revoked": revoked,
        "revoked_at": row["revoked_at"],
        "clock_offset_seconds": offset,
        "disk_free_bytes": free,
        "selftest_at": _when(status.get("selftest_at")),
        "selftest_passed": passed if isinstance(passed, bool) else None,
        "selftest_failing": _names(status.get("selftest_failing")),
        "alerts": alerts_of(facts, now, limits),
    }


def _sort_value(item: dict[str, Any], key: str) -> tuple[Any, ...]:
    """Rows without the value (stores without nodes, unknown figures) sort last either way."""
    value: Any = {
        "store": item["store_id"],
        "node": item["node_id"],
        "state": item.get("state"),
        "last_seen": item.get("last_seen_at"),
        "outbox": item.get("outbox_pending"),
        "unsent_age": item.get("unsent_age_seconds"),
        "cert_expiry": item.get("cert_not_after"),
        "version": item.get("version"),
        "alerts": len(item["alerts"]) if item.get("node_id") else None,
        "clock": (abs(item["clock_offset_seconds"])
                  if item.get("clock_offset_seconds") is not None else None),
        "disk": item.get("disk_free_bytes"),
        "selftest": item.get("selftest_at"),
    }[key]
    return (value is None, value if value is not None else 0)


def page(conn: Connection, scope: Scope, wanted: FleetFilter, now: datetime,
         limits: Thresholds) -> tuple[list[dict[str, Any]], int]:
    """The rows of one page and how many rows match."""
    items = [describe(r, now, limits) for r in _rows(conn, scope, wanted)]
    if wanted.alert == "any":
        items = [i for i in items if i["alerts"]]
    elif wanted.alert is not None:
        items = [i for i in items if wanted.alert in i["alerts"]]
    items.sort(key=lambda i: (i["store_id"], i["node_id"] or ""))
    present = [i for i in items if _sort_value(i, wanted.sort)[0] is False]
    absent = [i for i in items if _sort_value(i, wanted.sort)[0] is True]
    present.sort(key=lambda i: _sort_value(i, wanted.sort)[1], reverse=wanted.descending)
    ordered = present + absent
    return ordered[wanted.offset:wanted.offset + wanted.limit], len(ordered)


def counts(conn: Connection, now: datetime, limits: Thresholds) -> dict[str, int]:
    """Nodes online, offline (revoked ones not counted), alerting, and nodes with each alert
    (``alert:NAME``), over the whole fleet."""
    figures = {"online": 0, "offline": 0, "alerting": 0} | {f"alert:{a}": 0 for a in ALERTS}
    for row in _rows(conn, Scope(), FleetFilter()):
        if row["node_id"] is None or row["revoked_at"] is not None:
            continue
        item = describe(row, now, limits)
        figures[str(item["state"])] += 1
        figures["alerting"] += bool(item["alerts"])
        for alert in item["alerts"]:
            figures[f"alert:{alert}"] += 1
    return figures


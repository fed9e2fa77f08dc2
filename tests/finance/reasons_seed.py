"""Seeded return lines for the reason tests: store returns (counter and POS text), Amazon MFN and
FBA returns, refunds, stores, catalogue, sales; written as the hub's own writers leave them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine

from hub.storage.tables.amazon import amazon_fba_returns, amazon_orders, amazon_returns
from hub.storage.tables.catalogue import catalogue_items
from hub.storage.tables.core import refunds, return_items, returns, stores
from hub.storage.tables.inventory import stock_moves

DE, US = "A1PA6795UKMFR9", "ATVPDKIKX0DER"
T0 = datetime(2026, 3, 1, tzinfo=UTC)


def at(month: int, day: int) -> datetime:
    """A moment in 2026 (UTC)."""
    return datetime(2026, month, day, 12, tzinfo=UTC)


def add_stores(engine: Engine, places: dict[str, str]) -> None:
    """Stores with their regions (skipped when the store exists)."""
    with engine.begin() as conn:
        known = {row[0] for row in conn.execute(stores.select().with_only_columns(
            stores.c.store_id))}
        for store_id, region in places.items():
            if store_id in known:
                conn.execute(stores.update().where(stores.c.store_id == store_id)
                             .values(region=region))
            else:
                conn.execute(stores.insert().values(store_id=store_id, name=store_id,
                                                    region=region, created_at=T0))


def store_return(engine: Engine, store_id: str, return_id: str, channel: str, reason: str,
                 when: datetime, items: list[tuple[str, int]], currency: str = "EUR",
                 refund: tuple[str, str] | None = None, order_id: str | None = None) -> None:
    """A return taken in at a store, its lines, and its refund (amount, state) when given."""
    with engine.begin() as conn:
        store_return_in(conn, store_id, return_id, channel, reason, when, items, currency, refund,
                        order_id)


def store_return_in(conn: Connection, store_id: str, return_id: str, channel: str = "pos",
                    reason: str = "does not work", when: datetime = T0,
                    items: Sequence[tuple[str, int]] = (("SKU-A", 1),), currency: str = "EUR",
                    refund: tuple[str, str] | None = None, order_id: str | None = None) -> None:
    """``store_return`` in the caller's transaction (by default a one-line return)."""
    conn.execute(returns.insert().values(
        store_id=store_id, return_id=return_id, node_id="n1", state="received",
        channel=channel, reason=reason, order_id=order_id, mismatch=False, received_at=when,
        created_at=when, updated_at=when))
    for n, (sku, quantity) in enumerate(items, start=1):
        conn.execute(return_items.insert().values(
            store_id=store_id, return_id=return_id, line_no=n, sku=sku, quantity=quantity,
            unit_price=Decimal("10.00"), currency=currency))
    if refund is not None:
        amount, state = refund
        conn.execute(refunds.insert().values(
            store_id=store_id, refund_id=f"rf-{return_id}", return_id=return_id,
            node_id="n1", origin="store", amount=Decimal(amount), currency=currency,
            channel=channel, state=state, reasons=[], requested_at=when, created_at=when,
            updated_at=when))


def mfn_return(engine: Engine, rma: str, sku: str, marketplace: str, reason: str,
               when: datetime, refunded: str | None, currency: str = "EUR") -> None:
    """An Amazon MFN return line as the returns report sync stores it."""
    with engine.begin() as conn:
        conn.execute(amazon_returns.insert().values(
            account="acct1", rma_id=rma, sku=sku, order_id=f"o-{rma}", marketplace_id=marketplace,
            requested_at=when, status="Approved", label_type="AmazonUnPaidLabel", carrier="",
            tracking_id="", asin="B000000000", item_name=sku, quantity=1, reason=reason,
            in_policy=True, currency=currency,
            refunded_amount=None if refunded is None else Decimal(refunded),
            expected="none", content_hash="0" * 64, first_seen_at=when, updated_at=when))


def fba_return(engine: Engine, key: str, sku: str, marketplace: str, reason: str,
               when: datetime) -> None:
    """An FBA customer return line as the FBA returns sync stores it."""
    with engine.begin() as conn:
        conn.execute(amazon_fba_returns.insert().values(
            account="acct1", row_key=key, marketplace_id=marketplace, returned_at=when,
            order_id=f"o-{key}", sku=sku, asin="B000000000", fnsku="X000000000",
            product_name=sku, quantity=1, fulfillment_center="LEJ1", disposition="SELLABLE",
            reason=reason, status="Unit returned to inventory", license_plate="LPN1",
            customer_comments="", acorn_can_act=False, content_hash="0" * 64,
            first_seen_at=when, updated_at=when))


def catalogue(engine: Engine, categories: dict[str, str]) -> None:
    """Catalogue entries: SKU -> category."""
    with engine.begin() as conn:
        for sku, category in categories.items():
            conn.execute(catalogue_items.insert().values(sku=sku, category=category,
                                                         updated_at=T0, updated_by="test"))


def pos_sales(engine: Engine, store_id: str, sold: dict[str, int], when: datetime) -> None:
    """POS sale moves of a store (one move per SKU)."""
    with engine.begin() as conn:
        seq = 1000
        for sku, quantity in sold.items():
            seq += 1
            conn.execute(stock_moves.insert().values(
                store_id=store_id, node_id="n1", seq=seq, move_id=f"sale-{sku}", sku=sku,
                quantity=quantity, from_state="sellable", to_state=None, reason="pos_sale",
                at=when, applied_at=when))


def amazon_order(engine: Engine, order_id: str, items: list[dict[str, Any]],
                 when: datetime) -> None:
    """An Amazon order with its items (SKU, quantity)."""
    with engine.begin() as conn:
        conn.execute(amazon_orders.insert().values(
            account="acct1", order_id=order_id, marketplace_id=DE, status="SHIPPED",
            fulfilled_by="MERCHANT", purchased_at=when, last_updated_at=when, items=items,
            content_hash="0" * 64, first_seen_at=when, updated_at=when))


def seed(engine: Engine) -> None:
    """The worked example of the analytics tests (figures in their docstring)."""
    add_stores(engine, {"s1": "north", "s2": "north", "s3": "west"})
    catalogue(engine, {"SKU-A": "electronics", "SKU-B": "toys"})
    store_return(engine, "s1", "R1", "pos", "Defective", at(1, 10),
                 [("SKU-A", 2), ("SKU-B", 1)], refund=("59.90", "approved"))
    store_return(engine, "s2", "R2", "pos", "Kunde sagt: Gerät kaputt", at(1, 20),
                 [("SKU-A", 1)], refund=("20.00", "settled"))
    store_return(engine, "s3", "R3", "web", "changed mind", at(2, 5), [("SKU-B", 1)],
                 currency="USD", refund=("15.00", "rejected"))
    store_return(engine, "s3", "R4", "pos", "customer left no word", at(2, 7), [("SKU-C", 1)],
                 refund=("9.00", "pending_approval"))
    mfn_return(engine, "rma1", "SKU-A", DE, "NOT_AS_DESCRIBED", at(2, 10), "30.00")
    mfn_return(engine, "rma2", "SKU-B", US, "DEFECTIVE", at(1, 15), "12.50", currency="USD")
    mfn_return(engine, "rma3", "SKU-A", DE, "WEIRD_NEW_CODE", at(2, 11), None)
    fba_return(engine, "f1", "SKU-A", DE, "CR-SWITCHEROO", at(2, 20))

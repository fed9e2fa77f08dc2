"""Seed refunds through the real ingest (so the policy decides them), at chosen ages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Engine

from hub.storage.engine import writing
from hub.sync.ingest.batch import store_batch
from hub.sync.ingest.classify import classify
from protocol import (
    Channel,
    Envelope,
    Grade,
    InspectionRecorded,
    Money,
    RefundRequested,
    ReturnItem,
    ReturnReceived,
    TopicKind,
    encode,
    make_envelope,
    node_topic,
    utc_now,
)


@dataclass
class Ask:
    """One return with one refund request."""

    store: str
    ident: str  # R<ident> and F<ident>
    amount: str
    hours_ago: float = 1.0
    currency: str = "USD"
    channel: Channel = Channel.POS
    marketplace: str | None = None
    mismatch: bool = False
    order: str | None = None
    by: str = "clerk-1"
    photos: tuple[str, ...] = ()
    inspected: bool | None = None  # None: when photos are given or the sale is not POS
    sku: str = "SKU-1"
    rma: str | None = None


def events(asks: list[Ask], node: str = "n1") -> list[Envelope]:
    """Envelopes for ``asks``, seq numbered per store from 1."""
    now, seqs, out = utc_now(), dict[str, int](), list[Envelope]()
    for ask in asks:
        when = now - timedelta(hours=ask.hours_ago)
        seq = seqs.get(ask.store, 0)
        out.append(
            make_envelope(
                ask.store,
                node,
                seq + 1,
                ReturnReceived(
                    return_id=f"R{ask.ident}",
                    channel=ask.channel,
                    reason="changed mind",
                    items=[
                        ReturnItem(
                            sku=ask.sku, quantity=1, unit_price=Money.of(ask.amount, ask.currency)
                        )
                    ],
                    order_id=ask.order,
                    rma_id=ask.rma,
                    marketplace_id=ask.marketplace,
                    mismatch=ask.mismatch,
                    received_at=when,
                ),
            )
        )
        inspect = ask.inspected if ask.inspected is not None else bool(
            ask.photos or ask.channel is not Channel.POS)  # the default policy waits for it
        if inspect:
            seq += 1
            out.append(
                make_envelope(
                    ask.store,
                    node,
                    seq + 1,
                    InspectionRecorded(
                        return_id=f"R{ask.ident}",
                        grade=Grade.GOOD,
                        notes="box dented",
                        photos=list(ask.photos),
                        inspected_at=when,
                    ),
                )
            )
        out.append(
            make_envelope(
                ask.store,
                node,
                seq + 2,
                RefundRequested(
                    refund_id=f"F{ask.ident}",
                    return_id=f"R{ask.ident}",
                    amount=Money.of(ask.amount, ask.currency),
                    channel=ask.channel,
                    order_id=ask.order,
                    marketplace_id=ask.marketplace,
                    requested_by=ask.by,
                    requested_at=when,
                ),
            )
        )
        seqs[ask.store] = seq + 2
    return out


def ingest(engine: Engine, envelopes: list[Envelope], batch: int = 2000) -> None:
    """Store and apply envelopes through the hub's real batch code."""
    for start in range(0, len(envelopes), batch):
        classified = [
            classify(node_topic(e.store_id, e.node_id, TopicKind.EVENTS), encode(e))
            for e in envelopes[start : start + batch]
        ]
        with writing(engine) as tx:
            store_batch(tx, classified)


def seed(engine: Engine, asks: list[Ask]) -> None:
    """Seed ``asks`` (returns, inspections, refund requests) into ``engine``."""
    ingest(engine, events(asks))

"""Store staff PINs and the ``store.config`` document that carries them to the store's nodes.

Rules:
- a PIN is 4-8 digits, stored and synced only as a scrypt hash (``hub.access.passwords``,
  ``PIN_COST``) so the counter can check it offline without the hub ever sending the PIN;
- a PIN belongs to (store, staff id) with the staff member's store role; it is audited as
  ``staff_pin.set`` / ``staff_pin.removed`` without the hash;
- ``store_config`` is the document published, retained, on ``protocol.config_topic(store)``:
  ``kind`` ``store.config``, ``schema`` 1, a per-store ``version`` that rises whenever the
  content changes, the offline refund limit, the staff PIN hashes, the active policy version and
  the store's part of the active allocation rules.
  It goes out as a ``protocol.StoreConfig`` envelope (node ``hub``, seq == version), so the
  nodes decode it with the same codec as every other message.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, select

from hub.access.passwords import PIN_COST, hash_pin
from hub.access.permissions import STORE_ROLES, Role
from hub.access.users import Actor
from hub.errors import InputError, NotFound
from hub.storage import notices
from hub.storage.audit_chain import AuditDraft
from hub.storage.engine import writing
from hub.storage.money import money_json
from hub.storage.tables.access import staff_pins
from protocol import CONFIG_NODE_ID, Money, StoreConfig, check_id, encode, format_utc, make_envelope

CONFIG_KIND = "store.config"
STORE_SETTINGS = ("language", "time_zone", "printer_paper")  # edited on the fleet page
CONFIG_SCHEMA = 1
PIN_FORMAT = f"scrypt${PIN_COST.n}${PIN_COST.r}${PIN_COST.p}$<salt b64>$<key b64>, utf-8 digits"


def _check(store_id: str, staff_id: str, role: Role) -> None:
    try:
        check_id(store_id, "store id")
    except ValueError as err:
        raise InputError(str(err), field="store") from err
    if not 1 <= len(staff_id.strip()) <= 64 or staff_id != staff_id.strip():
        raise InputError(
            "a staff id is 1-64 characters without surrounding spaces", field="staff_id"
        )
    if role not in STORE_ROLES:
        raise InputError("a PIN is for store_staff or store_manager", field="role")


def set_pin(
    engine: Engine, store_id: str, staff_id: str, pin: str, role: Role, actor: Actor
) -> None:
    """Set (or replace) a staff member's PIN at a store."""
    _check(store_id, staff_id, role)
    hashed = hash_pin(pin)
    with writing(engine) as tx:
        key = (staff_pins.c.store_id == store_id) & (staff_pins.c.staff_id == staff_id)
        existed = tx.conn.execute(select(staff_pins.c.role).where(key)).first()
        tx.conn.execute(staff_pins.delete().where(key))
        tx.conn.execute(
            staff_pins.insert().values(
                store_id=store_id,
                staff_id=staff_id,
                pin_hash=hashed,
                role=role.value,
                updated_at=tx.now,
            )
        )
        tx.audit(
            AuditDraft(
                actor.name,
                actor.role,
                "staff_pin.set",
                "staff",
                f"{store_id}/{staff_id}",
                {"role": existed.role} if existed else None,
                {"role": role.value},
            )
        )
        notices.store_config_changed(tx.conn)


def remove_pin(engine: Engine, store_id: str, staff_id: str, actor: Actor) -> None:
    """Remove a staff member's PIN (the counter refuses it once the config arrives)."""
    with writing(engine) as tx:
        done = tx.conn.execute(
            staff_pins.delete().where(
                staff_pins.c.store_id == store_id, staff_pins.c.staff_id == staff_id
            )
        )
        if done.rowcount == 0:
            raise NotFound(f"no PIN for {staff_id!r} at {store_id}", field="staff_id")
        notices.store_config_changed(tx.conn)
        tx.audit(
            AuditDraft(
                actor.name,
                actor.role,
                "staff_pin.removed",
                "staff",
                f"{store_id}/{staff_id}",
                {"pin": True},
                {"pin": False},
            )
        )


def staff_of(conn: Connection, store_id: str) -> list[dict[str, str]]:
    """The staff PIN hashes of one store, by staff id."""
    rows = conn.execute(
        select(staff_pins).where(staff_pins.c.store_id == store_id).order_by(staff_pins.c.staff_id)
    )
    return [{"staff_id": r.staff_id, "role": r.role, "pin_hash": r.pin_hash} for r in rows]


def store_config(
    store_id: str,
    version: int,
    issued_at: datetime,
    limit: Money | None,
    staff: list[dict[str, str]],
    policy_version: int | None,
    settings: dict[str, str | None] | None = None,
    allocation: dict[str, Any] | None = None,
    event_batch: int | None = None,
) -> dict[str, Any]:
    """The ``store.config`` document for one store (pure); ``settings`` (language, time_zone,
    printer_paper), ``allocation`` (the store's part of the allocation rules) and
    ``event_batch`` (the most events the hub reads in one message) are in it only when set, so
    a store without them keeps its content hash."""
    return {
        **{k: v for k, v in (settings or {}).items() if v},
        **({"allocation": allocation} if allocation is not None else {}),
        **({"event_batch": event_batch} if event_batch is not None else {}),
        "kind": CONFIG_KIND,
        "schema": CONFIG_SCHEMA,
        "store_id": store_id,
        "version": version,
        "issued_at": format_utc(issued_at),
        "offline_refund_limit": money_json(limit.amount, limit.currency) if limit else None,
        "staff": staff,
        "pin_hash_format": PIN_FORMAT,
        "policy_version": policy_version,
    }


def content_hash(document: dict[str, Any]) -> str:
    """SHA-256 of what the document says, leaving out its version and issue time."""
    content = {k: v for k, v in document.items() if k not in ("version", "issued_at")}
    return hashlib.sha256(
        json.dumps(content, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()


def encode_config(document: dict[str, Any]) -> bytes:
    """The document as published: a ``store.config`` envelope from the hub, seq == version."""
    body = StoreConfig.model_validate({
        "version": document["version"],
        "issued_at": document["issued_at"],
        "offline_refund_limit": document["offline_refund_limit"],
        "staff": document["staff"],
        "policy_version": document["policy_version"],
        **{k: document[k] for k in (*STORE_SETTINGS, "allocation", "event_batch")
           if document.get(k)},
    })
    envelope = make_envelope(document["store_id"], CONFIG_NODE_ID, document["version"], body,
                             occurred_at=body.issued_at)
    return encode(envelope.resent())

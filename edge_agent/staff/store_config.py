"""The store's config from the hub, retained on ``acorn/v1/stores/S/config``, applied per version.

Rules:
- the payload is a normal envelope of kind ``store.config`` (decoded with the config topic's
  kinds only); its store must be ours, its node ``hub`` and its seq its version;
- every PIN hash must be usable (``edge_agent.staff.pins``) and every staff id unique: a config
  with one
  bad entry is refused whole, since half a staff list would lock out the wrong people;
- a version not above the one held is ignored (the broker hands the retained copy over again on
  every connect); a newer one replaces the config and the staff list in one transaction, with an
  audit entry (counts and limit, never hashes);
- the store settings it may carry (language, time zone, printer paper: edited on the fleet page)
  override the agent's own settings while it is in force (``effective``); absent, the agent's
  own settings hold;
- the store's part of the allocation rules it may carry (``allocation``) is kept whole in
  ``store_allocation`` with the time the node began applying its rules version (``since`` stays
  when a newer config carries the same version); a config without one removes it;
- a refused config is logged and its reason kept (meta ``store_config_refused``); the config held
  stays in force; nothing here raises into the link on bad input.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from edge_agent.settings import EdgeSettings
from edge_agent.staff import pins
from edge_agent.storage import audit
from edge_agent.storage.store import Store, Tx
from protocol import (
    CONFIG_NODE_ID,
    KINDS_ON_TOPIC,
    DecodeError,
    Envelope,
    Money,
    StoreAllocation,
    StoreConfig,
    TopicKind,
    decode,
    format_utc,
)

log = logging.getLogger(__name__)

REFUSED_META = "store_config_refused"
EVENT_BATCH_META = "store_config_event_batch"  # the most events the hub reads in one message
SETTINGS = ("language", "time_zone", "printer_paper")
SETTING_OF = {"language": "store_language", "time_zone": "store_timezone",
              "printer_paper": "printer_paper"}  # config field -> EdgeSettings field
StaffRole = Literal["store_staff", "store_manager"]


@dataclass(frozen=True)
class Received:
    """What became of one config message."""

    result: Literal["applied", "ignored", "refused"]
    version: int | None
    detail: str


@dataclass(frozen=True)
class Held:
    """The config in force (without PIN hashes)."""

    version: int
    issued_at: datetime
    applied_at: datetime
    offline_refund_limit: Money | None
    policy_version: int | None
    staff: list[tuple[str, StaffRole]]


def check(envelope: Envelope, store_id: str) -> StoreConfig:
    """The config in ``envelope`` if it is ours and usable; ValueError saying why not."""
    body = envelope.body
    if not isinstance(body, StoreConfig):
        raise ValueError(f"a {envelope.kind} message is not a store config")
    if envelope.store_id != store_id:
        raise ValueError(f"the config is for store {envelope.store_id}, not {store_id}")
    if envelope.node_id != CONFIG_NODE_ID:
        raise ValueError(f"the config comes from node {envelope.node_id}, not the hub")
    if envelope.seq != body.version:
        raise ValueError(f"the envelope seq {envelope.seq} is not the version {body.version}")
    if body.time_zone is not None:
        try:
            ZoneInfo(body.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"time_zone: {body.time_zone!r} is not a time zone this machine "
                             "knows") from None
    seen: set[str] = set()
    for index, member in enumerate(body.staff):
        if member.staff_id in seen:
            raise ValueError(f"staff.{index}: staff id {member.staff_id!r} appears twice")
        seen.add(member.staff_id)
        try:
            pins.parse(member.pin_hash)
        except ValueError as err:
            raise ValueError(f"staff.{index}: the PIN hash of {member.staff_id!r}: {err}") from err
    return body


def receive(store: Store, store_id: str, payload: bytes, now: datetime) -> Received:
    """Decode, check and apply a config message if it is newer; never raises on bad input."""
    try:
        envelope = decode(payload, expect=KINDS_ON_TOPIC[TopicKind.CONFIG])
        config = check(envelope, store_id)
    except (DecodeError, ValueError) as err:
        return _refuse(store, str(err))
    with store.write() as tx:
        held = version(tx)
        if held is not None and config.version <= held:
            return Received("ignored", config.version, f"version {held} is already held")
        _replace(tx, config, envelope.id, now)
        audit.record(tx, at=now, actor="hub", role="hub", action="store_config.applied",
                     entity="store_config", entity_id=store_id,
                     before=None if held is None else {"version": held},
                     after=_summary(config))
    log.info("applied store config version %d (%d staff)", config.version, len(config.staff))
    return Received("applied", config.version, f"version {config.version}")


def _refuse(store: Store, reason: str) -> Received:
    log.warning("refused a store config: %s; the config held stays in force", reason)
    with store.write() as tx:
        tx.set_meta(REFUSED_META, reason[:2000])
    return Received("refused", None, reason)


def _replace(tx: Tx, config: StoreConfig, message_id: str, now: datetime) -> None:
    limit = config.offline_refund_limit
    tx.execute("DELETE FROM store_config")
    tx.execute(
        "INSERT INTO store_config(id, version, issued_at, limit_amount, limit_currency, "
        "policy_version, message_id, applied_at, language, time_zone, printer_paper) "
        "VALUES (1,?,?,?,?,?,?,?,?,?,?)",
        (config.version, format_utc(config.issued_at),
         None if limit is None else format(limit.amount, "f"),
         None if limit is None else limit.currency, config.policy_version, message_id,
         format_utc(now), config.language, config.time_zone, config.printer_paper))
    tx.execute("DELETE FROM staff")
    tx.db.conn.executemany("INSERT INTO staff(staff_id, role, pin_hash) VALUES (?,?,?)",
                           [(m.staff_id, m.role, m.pin_hash) for m in config.staff])
    tx.execute("DELETE FROM staff_sessions WHERE staff_id NOT IN (SELECT staff_id FROM staff)")
    tx.set_meta(EVENT_BATCH_META, str(config.event_batch or 1))
    _keep_allocation(tx, config, now)


def _keep_allocation(tx: Tx, config: StoreConfig, now: datetime) -> None:
    part = config.allocation
    if part is None:
        tx.execute("DELETE FROM store_allocation")
        return
    held_version = tx.scalar("SELECT version FROM store_allocation WHERE id = 1")
    since = tx.scalar("SELECT since FROM store_allocation WHERE id = 1")
    if held_version != part.version or since is None:
        since = format_utc(now)
    tx.execute("DELETE FROM store_allocation")
    tx.execute("INSERT INTO store_allocation(id, version, name, part, config_version, since) "
               "VALUES (1,?,?,?,?,?)",
               (part.version, part.name, part.model_dump_json(by_alias=True), config.version,
                since))


@dataclass(frozen=True)
class AllocationHeld:
    """The allocation rules part in force at this store."""

    version: int
    since: datetime
    part: StoreAllocation


def allocation(tx: Tx) -> AllocationHeld | None:
    """The store's part of the allocation rules in force, or None (no config carried one)."""
    row = tx.one("SELECT version, since, part FROM store_allocation WHERE id = 1")
    if row is None:
        return None
    return AllocationHeld(int(row["version"]), datetime.fromisoformat(row["since"]),
                          StoreAllocation.model_validate(json.loads(row["part"])))


def _summary(config: StoreConfig) -> dict[str, object]:
    limit = config.offline_refund_limit
    return {"version": config.version, "staff": len(config.staff),
            "managers": sum(m.role == "store_manager" for m in config.staff),
            "offline_refund_limit": None if limit is None else str(limit),
            "policy_version": config.policy_version,
            "allocation_version": config.allocation.version if config.allocation else None,
            **{k: v for k in SETTINGS if (v := getattr(config, k)) is not None}}


def version(tx: Tx) -> int | None:
    """The version of the config in force, or None before the first one."""
    value = tx.scalar("SELECT version FROM store_config WHERE id = 1")
    return None if value is None else int(value)


def event_batch(tx: Tx) -> int:
    """The most events to send in one message: what the hub's config says it reads (1: one
    event per message, the hub said nothing: an older hub, or no config yet)."""
    value = tx.meta(EVENT_BATCH_META)
    return int(value) if value and value.isdigit() else 1


def store_settings(tx: Tx) -> dict[str, str]:
    """The store settings the config in force sets (config field names; unset ones left out)."""
    row = tx.one("SELECT language, time_zone, printer_paper FROM store_config WHERE id = 1")
    return {} if row is None else {k: str(row[k]) for k in SETTINGS if row[k]}


def effective(tx: Tx, settings: EdgeSettings) -> EdgeSettings:
    """The agent's settings with the store config's settings in force over them."""
    given = store_settings(tx)
    if not given:
        return settings
    return settings.model_copy(update={SETTING_OF[k]: v for k, v in given.items()})


def language(tx: Tx, settings: EdgeSettings) -> str:
    """The store's language in force: the store config's, else ``STORE_LANGUAGE``."""
    return store_settings(tx).get("language") or settings.store_language


def offline_limit(tx: Tx) -> Money | None:
    """The store's offline refund limit, or None (no config, or no limit set)."""
    row = tx.one("SELECT limit_amount, limit_currency FROM store_config WHERE id = 1")
    if row is None or row["limit_amount"] is None:
        return None
    return Money.of(row["limit_amount"], row["limit_currency"])


def signin_required(tx: Tx) -> bool:
    """True once the store has a config naming at least one member of staff."""
    return bool(tx.scalar("SELECT EXISTS (SELECT 1 FROM staff)"))


def member(tx: Tx, staff_id: str) -> tuple[StaffRole, str] | None:
    """A member of staff's (role, PIN hash), or None."""
    row = tx.one("SELECT role, pin_hash FROM staff WHERE staff_id = ?", (staff_id,))
    return None if row is None else (role_of(row["role"]), str(row["pin_hash"]))


def role_of(value: object) -> StaffRole:
    """A role read back from the ``staff`` table (its CHECK constraint admits only these)."""
    return cast(StaffRole, str(value))


def held(tx: Tx) -> Held | None:
    """The config in force, without hashes, or None."""
    row = tx.one("SELECT * FROM store_config WHERE id = 1")
    if row is None:
        return None
    staff = [(str(r["staff_id"]), role_of(r["role"]))
             for r in tx.all("SELECT staff_id, role FROM staff ORDER BY staff_id")]
    return Held(int(row["version"]), datetime.fromisoformat(row["issued_at"]),
                datetime.fromisoformat(row["applied_at"]), offline_limit(tx),
                row["policy_version"], staff)


def last_refusal(tx: Tx) -> str | None:
    """Why the last refused config was refused, if one was."""
    return tx.meta(REFUSED_META)

"""Risk flags: an order or a customer marked high-risk, by a person or by an Amazon claim.

Rules:
- a flag's subject is ``order`` + an order id (1-64 letters, digits, ``-``, ``_``, ``.``), or
  ``customer`` + a customer key ``<scheme>:<value>`` (lower-case scheme, no spaces, at most 100
  characters; a ``buyer:`` key is 64 hex digits, as ``hub.amazon.buyer_key`` makes it);
- a reason is required to flag and to clear (1-500 characters);
- people: finance and admin may list, flag and clear (``require_risk_officer``); the CLI acts as
  the operator. Clearing a cleared flag is a Conflict, an unknown id NotFound; nothing is deleted;
- Amazon: ``raise_once`` raises automatic flags (an A-to-Z or SafeT claim in the MFN returns
  report) keyed by ``source_ref``, each once, even after a person cleared it;
- every change is audited in its own transaction's chain: ``risk.flagged`` / ``risk.cleared``,
  entity ``risk_flag``, the flag's id, before and after;
- ``active_risk`` answers, for the policy, which of some orders and customers have flags that are
  not cleared, with their reasons (several: distinct reasons, oldest first, joined with ``; ``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import ColumnElement, Connection, Engine, and_, func, or_, select, update

from hub.access.permissions import HQ_APPROVERS, Principal
from hub.access.users import Actor
from hub.errors import Conflict, Forbidden, InputError, NotFound
from hub.storage.audit_chain import AuditDraft, jsonable
from hub.storage.engine import Tx, writing
from hub.storage.tables.risk import risk_flags
from protocol.limits import MAX_NOTE_CHARS, clip

Kind = Literal["order", "customer"]
KINDS: tuple[Kind, ...] = ("order", "customer")
ORDER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
CUSTOMER_RE = re.compile(r"^[a-z][a-z0-9_-]{0,19}:\S{1,90}$")
BUYER_RE = re.compile(r"^buyer:[0-9a-f]{64}$")
REASON_MAX = 500
CHUNK = 500
RISK_REASON_CHARS = MAX_NOTE_CHARS // 2  # room for the rule text that quotes it
ENTITY = "risk_flag"


@dataclass(frozen=True)
class AutoFlag:
    """A flag a system raises once: ``source_ref`` says what raised it."""

    kind: Kind
    subject: str
    reason: str
    source: str
    source_ref: str
    actor: Actor


def require_risk_officer(principal: Principal) -> None:
    """Raise Forbidden unless the principal may see and change risk flags (finance, admin)."""
    if principal.role not in HQ_APPROVERS:
        raise Forbidden(f"role {principal.role.value} may not see or change risk flags: "
                        "finance and admin do")


def check_subject(kind: str, subject: str) -> tuple[Kind, str]:
    """The (kind, subject) if well formed; InputError naming the field otherwise."""
    text = subject.strip()
    if kind == "order":
        if not ORDER_RE.match(text):
            raise InputError("an order id is 1-64 letters, digits, - _ or .", field="subject")
        return "order", text
    if kind == "customer":
        text = text.lower() if text.lower().startswith("buyer:") else text
        if not CUSTOMER_RE.match(text) or len(text) > 100:
            raise InputError("a customer key is <scheme>:<value>, e.g. buyer:<64 hex digits>",
                             field="subject")
        if text.startswith("buyer:") and not BUYER_RE.match(text):
            raise InputError("a buyer key is buyer: and 64 hex digits", field="subject")
        return "customer", text
    raise InputError(f"kind is order or customer, not {kind!r}", field="kind")


def check_reason(reason: str, field: str = "reason") -> str:
    """The stripped reason if it has 1-500 characters."""
    text = reason.strip()
    if not text or len(text) > REASON_MAX:
        raise InputError(f"a reason of 1-{REASON_MAX} characters is required", field=field)
    return text


def flag(engine: Engine, kind: str, subject: str, reason: str, actor: Actor) -> dict[str, Any]:
    """Raise a flag as a person; return it."""
    checked_kind, checked_subject = check_subject(kind, subject)
    values = {"kind": checked_kind, "subject": checked_subject, "reason": check_reason(reason),
              "source": "person", "source_ref": None, "flagged_by": actor.name}
    with writing(engine) as tx:
        return _insert(tx, values, actor)


def clear(engine: Engine, flag_id: int, reason: str, actor: Actor) -> dict[str, Any]:
    """Clear an active flag; return it."""
    why = check_reason(reason)
    with writing(engine) as tx:
        row = tx.conn.execute(select(risk_flags).where(risk_flags.c.id == flag_id)
                              .with_for_update()).first()
        if row is None:
            raise NotFound(f"no risk flag {flag_id}", field="flag_id")
        before = dict(row._mapping)
        if before["cleared_at"] is not None:
            raise Conflict(f"risk flag {flag_id} was cleared by {before['cleared_by']} already",
                           field="flag_id")
        change = {"cleared_at": tx.now, "cleared_by": actor.name, "clear_reason": why}
        tx.conn.execute(update(risk_flags).where(risk_flags.c.id == flag_id).values(change))
        after = {**before, **change}
        tx.audit(AuditDraft(actor.name, actor.role, "risk.cleared", ENTITY, str(flag_id),
                            jsonable(before), jsonable(after), why))
    return public(after)


def raise_once(tx: Tx, flags: Sequence[AutoFlag]) -> int:
    """Raise the flags whose ``source_ref`` was never raised before; return how many were new."""
    refs = sorted({f.source_ref for f in flags})
    known: set[str] = set()
    for start in range(0, len(refs), CHUNK):
        known.update(tx.conn.execute(select(risk_flags.c.source_ref).where(
            risk_flags.c.source_ref.in_(refs[start:start + CHUNK]))).scalars())
    new = 0
    for auto in flags:
        if auto.source_ref in known:
            continue
        known.add(auto.source_ref)
        _insert(tx, {"kind": auto.kind, "subject": auto.subject,
                     "reason": auto.reason[:REASON_MAX], "source": auto.source,
                     "source_ref": auto.source_ref, "flagged_by": auto.actor.name}, auto.actor)
        new += 1
    return new


def _insert(tx: Tx, values: dict[str, Any], actor: Actor) -> dict[str, Any]:
    row = {**values, "flagged_at": tx.now}
    inserted = tx.conn.execute(risk_flags.insert().values(row)).inserted_primary_key
    assert inserted is not None  # an INSERT of one row always has its key
    flag_id = inserted[0]
    stored = {"id": int(flag_id), **row, "cleared_at": None, "cleared_by": None,
              "clear_reason": None}
    tx.audit(AuditDraft(actor.name, actor.role, "risk.flagged", ENTITY, str(flag_id), None,
                        jsonable(stored), row["reason"]))
    return public(stored)


def public(row: Any) -> dict[str, Any]:
    """A flag as the API and CLI show it (``active``: not cleared)."""
    data = dict(row._mapping) if hasattr(row, "_mapping") else dict(row)
    return {**data, "active": data["cleared_at"] is None}


def list_flags(conn: Connection, active: bool | None = True, kind: str | None = None,
               subject: str | None = None, limit: int = 50,
               offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """Flags, newest first: only active ones (``active=True``), only cleared ones (False) or all
    (None), of one kind and subject if given; with the total before paging."""
    where: list[ColumnElement[bool]] = []
    if active is not None:
        where.append(risk_flags.c.cleared_at.is_(None) if active
                     else risk_flags.c.cleared_at.is_not(None))
    if kind is not None:
        where.append(risk_flags.c.kind == kind)
    if subject is not None:
        where.append(risk_flags.c.subject == subject.strip())
    total = conn.execute(select(func.count()).select_from(risk_flags).where(*where)).scalar_one()
    rows = conn.execute(select(risk_flags).where(*where)
                        .order_by(risk_flags.c.flagged_at.desc(), risk_flags.c.id.desc())
                        .limit(limit).offset(offset))
    return [public(r) for r in rows], int(total)


def active_risk(conn: Connection, order_ids: set[str],
                customer_keys: set[str]) -> dict[str, str]:
    """Each order id and customer key given that has active flags -> their reasons.

    Order flags match ``order_ids``, customer flags ``customer_keys`` (the two cannot collide: a
    customer key has a ``:``, an order id none); subjects without an active flag are absent.
    Several flags on one subject: their distinct reasons, oldest flag first, joined with ``; ``
    and clipped to ``RISK_REASON_CHARS`` (a rule text quotes it; the decision stays readable).
    One query per 500 orders and customers."""
    orders, customers = sorted(order_ids), sorted(customer_keys)
    reasons: dict[str, list[str]] = {}
    for start in range(0, max(len(orders), len(customers)), CHUNK):
        parts = (("order", orders[start:start + CHUNK]),
                 ("customer", customers[start:start + CHUNK]))
        rows = conn.execute(
            select(risk_flags.c.subject, risk_flags.c.reason)
            .where(risk_flags.c.cleared_at.is_(None),
                   or_(*(and_(risk_flags.c.kind == kind, risk_flags.c.subject.in_(subjects))
                         for kind, subjects in parts if subjects)))
            .order_by(risk_flags.c.flagged_at, risk_flags.c.id))
        for r in rows:
            said = reasons.setdefault(r.subject, [])
            if r.reason not in said:
                said.append(r.reason)
    return {subject: clip("; ".join(said), RISK_REASON_CHARS) for subject, said in reasons.items()}

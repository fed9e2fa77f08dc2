"""Apply accepted node events to the hub's projections — pure: loaded rows in, changes out.

The ingest adapter loads the rows a batch touches (``Loaded``), feeds the batch's applicable
events in seq order to one ``Projector``, and writes its ``Changes`` in a few statements. A refund
asked for at the hub (``hub.refunds.requests``) goes through the same ``Projector.request``.

Rules:
- an event is applied once, in its node's seq order (the adapter guarantees both);
- an event that cannot apply (a return received twice, an inspection of a return the hub never
  saw, a refund for an unknown return, a state the table refuses) becomes a ``Problem``: the event
  stays stored, the problem is dead-lettered, the node's stream moves on;
- every state change adds an ``AuditDraft``; the node is the actor for what it reports (the hub
  user for a refund asked at the hub), the policy (``policy:auto``) for the decision it takes;
- a refund records its origin (``hub.refunds.origin``): a node's request is ``pos`` for a POS
  sale, ``store`` otherwise; a hub request is ``hub``;
- a refund request is decided at once by the active policy: its facts are built by
  ``hub.refunds.facts`` from ``Loaded.known`` (the customer's other refunds as history, the
  returned items, the flags on the order or customer, the synced Amazon order), and
  ``hub.refunds.decisions.judge`` says where it goes; the projector applies that ``Verdict`` on
  the refund state table, keeps every fired rule (reasons, decision record, rule index) and
  queues the decision as a ``refund.decided`` command to the node that asked, if a node did;
- unless its policy timing is "after inspection" and the return is not inspected yet: then the
  refund waits (``awaiting_inspection``, told to the node the same way), and the inspection of its
  return decides it, in the same batch, as of its request time, with the grade.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from hub.errors import InvalidTransition
from hub.policy import CompiledPolicy
from hub.refunds import facts
from hub.refunds.decisions import (
    AUTO_ACTOR,
    AUTO_ROLE,
    Verdict,
    decision_columns,
    indexed_rules,
    judge,
    wire_rules,
)
from hub.refunds.origin import Origin, asked_by_node, to_asker
from hub.refunds.states import RefundState, outcome_of
from hub.returns.states import ReturnAction, ReturnState
from hub.returns.states import transition as return_transition
from hub.storage.audit_chain import AuditDraft, jsonable, jsonable_fields
from hub.storage.money import money_json, money_of
from hub.storage.outbox import CommandDraft
from protocol import (
    CommandApplied,
    DispositionRecorded,
    Envelope,
    InspectionRecorded,
    RefundDecided,
    RefundOutcome,
    RefundRequested,
    ReturnReceived,
)
from protocol.limits import clip_list

Key = tuple[str, str]
Row = dict[str, Any]
NODE_ROLE = "node"


class Refused(Exception):
    """A request or event that cannot be applied (an event's becomes a Problem)."""


@dataclass(frozen=True)
class Problem:
    """An accepted event the projections could not apply, and why."""

    event: Envelope
    reason: str


@dataclass
class Loaded:
    """Current rows of what a batch touches, keyed by (store_id, id) or command id."""

    returns: dict[Key, Row] = field(default_factory=dict)
    refunds: dict[Key, Row] = field(default_factory=dict)
    commands: dict[str, Row] = field(default_factory=dict)
    policy: CompiledPolicy | None = None  # the active policy (loaded when refunds are asked)
    known: facts.Known = field(default_factory=facts.Known)  # what deciding refunds needs


@dataclass
class Changes:
    """Everything a batch of events changes, ready to be written in bulk."""

    returns_new: dict[Key, Row] = field(default_factory=dict)
    returns_changed: dict[Key, Row] = field(default_factory=dict)
    items: list[Row] = field(default_factory=list)
    inspections: list[Row] = field(default_factory=list)
    dispositions: list[Row] = field(default_factory=list)
    refunds_new: dict[Key, Row] = field(default_factory=dict)
    refunds_changed: dict[Key, Row] = field(default_factory=dict)
    refund_rules: list[Row] = field(default_factory=list)
    commands_applied: dict[str, Row] = field(default_factory=dict)
    commands: list[CommandDraft] = field(default_factory=list)
    audit: list[AuditDraft] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def node_actor(store_id: str, node_id: str) -> str:
    """How the audit log names an edge node."""
    return f"node:{store_id}/{node_id}"


def entity_id(store_id: str, local_id: str) -> str:
    """Audit entity id of a store-scoped record."""
    return f"{store_id}/{local_id}"


RETURN_FIELDS = ("state", "grade", "disposition", "node_id", "channel", "reason", "order_id",
                 "rma_id", "mismatch", "staff_id", "received_at", "inspected_at", "disposed_at")
REFUND_FIELDS = ("state", "outcome", "approval_level", "reasons", "return_id", "node_id",
                 "origin", "requested_by", "decided_by", "decided_at", "decision_reason",
                 "policy_version")


def return_summary(row: Row) -> Any:
    """The audited view of a return row."""
    return jsonable_fields(row, RETURN_FIELDS)


def refund_summary(row: Row) -> Any:
    """The audited view of a refund row (money as text with its currency)."""
    return {**jsonable_fields(row, REFUND_FIELDS),
            "amount": money_json(row["amount"], row["currency"])}


def refund_decided_body(row: Row, decided_at: datetime) -> RefundDecided:
    """The ``refund.decided`` command body for a refund row.

    Its reasons are bounded by construction (``clip_list``: each cut to the protocol's note
    length with an ellipsis, at most ``MAX_REASONS`` with a "+N more"), so however many rules or
    risk flags fired, and however long their texts, the command is valid and the refund moves;
    its fired rules as data likewise (``wire_rules``)."""
    return RefundDecided(
        refund_id=row["refund_id"], return_id=row["return_id"],
        outcome=outcome_of(RefundState(row["state"]), row["outcome"] == "manual_review"),
        amount=money_of(row["amount"], row["currency"]), approval_level=row["approval_level"],
        reasons=clip_list([str(r) for r in row["reasons"]]), rules=wire_rules(row.get("decision")),
        decided_by=row["decided_by"], decided_at=decided_at)


class Projector:
    """Applies events (and hub-side refund requests) to loaded rows and collects the changes.

    ``on_behalf`` (actor, role): the changes are asked for by a hub user, not a node (a refund
    requested through the API); they are audited as that user.
    """

    def __init__(self, loaded: Loaded, now: datetime,
                 on_behalf: tuple[str, str] | None = None) -> None:
        self.loaded = loaded
        self.now = now
        self.on_behalf = on_behalf
        self.changes = Changes()
        # the refunds of each return, loaded and new (an inspection looks up its return's):
        # built once, kept as refunds are requested, instead of a scan of them all per event
        self._of_return: dict[Key, list[Key]] = defaultdict(list)
        for key, row in loaded.refunds.items():
            self._of_return[(key[0], row["return_id"])].append(key)
        # the lines of the returns received in this batch, by return (a refund of one of them
        # reads its lines here, instead of a scan of every new line per refund)
        self._new_lines: dict[Key, list[Row]] = {}

    def apply(self, event: Envelope) -> None:
        """Apply one event; a refusal is recorded as a Problem, never raised."""
        try:
            HANDLERS[event.kind](self, event)
        except Refused as err:
            self.changes.problems.append(Problem(event, str(err)))

    # -- lookups ------------------------------------------------------------------------------

    def _return(self, key: Key) -> Row | None:
        return self.changes.returns_new.get(key) or self.loaded.returns.get(key)

    def _existing_return(self, event: Envelope, return_id: str) -> Row:
        row = self._return((event.store_id, return_id))
        if row is None:
            raise Refused(f"{event.kind} for return {return_id!r}, which store "
                          f"{event.store_id} never reported as received")
        return row

    def _changed(self, key: Key, row: Row) -> None:
        if key not in self.changes.returns_new:
            self.changes.returns_changed[key] = row

    def _audit(self, event: Envelope, action: str, entity: str, ident: str, before: Any,
               after: Any, reason: str | None = None) -> None:
        self._audit_as(event.store_id, event.node_id, action, entity, ident, before, after,
                       reason)

    def _audit_as(self, store_id: str, node_id: str, action: str, entity: str, ident: str,
                  before: Any, after: Any, reason: str | None = None) -> None:
        actor, role = self.on_behalf or (node_actor(store_id, node_id), NODE_ROLE)
        self.changes.audit.append(AuditDraft(actor, role, action, entity, ident, before, after,
                                             reason))

    # -- returns ------------------------------------------------------------------------------

    def _received(self, event: Envelope) -> None:
        body = cast(ReturnReceived, event.body)
        key = (event.store_id, body.return_id)
        if self._return(key) is not None:
            raise Refused(f"return {body.return_id!r} was already received")
        row: Row = {
            "store_id": event.store_id, "return_id": body.return_id, "node_id": event.node_id,
            "state": return_transition(None, ReturnAction.RECEIVE).value,
            "channel": body.channel.value, "reason": body.reason, "order_id": body.order_id,
            "rma_id": body.rma_id, "marketplace_id": body.marketplace_id,
            "mismatch": body.mismatch, "staff_id": body.staff_id,
            "received_at": body.received_at, "sold_at": body.sold_at, "grade": None,
            "inspected_at": None,
            "disposition": None, "disposed_at": None, "created_at": self.now,
            "updated_at": self.now,
        }
        self.changes.returns_new[key] = row
        items = [self._item(event.store_id, body.return_id, n, item)
                 for n, item in enumerate(body.items, start=1)]
        self.changes.items.extend(items)
        self._new_lines[key] = items
        # the lines as audited: every value is text, a number, a flag or None already (the
        # protocol's ReturnItem), the price made text, so no jsonable pass over them
        after = {**return_summary(row), "items": [
            {**i, "unit_price": money_json(i["unit_price"], i["currency"])} for i in items]}
        self._audit(event, "return.received", "return", entity_id(*key), None, after)

    @staticmethod
    def _item(store_id: str, return_id: str, line_no: int, item: Any) -> Row:
        return {"store_id": store_id, "return_id": return_id, "line_no": line_no,
                "sku": item.sku, "quantity": item.quantity, "unit_price": item.unit_price.amount,
                "currency": item.unit_price.currency, "description": item.description,
                "gtin": item.gtin, "asin": item.asin, "category": item.category,
                "opened": item.opened}

    def _move_return(self, event: Envelope, return_id: str, action: ReturnAction,
                     **values: Any) -> None:
        row = self._existing_return(event, return_id)
        try:
            state = return_transition(ReturnState(row["state"]), action)
        except InvalidTransition as err:
            raise Refused(f"return {return_id!r}: {err}") from err
        before = return_summary(row)
        row.update(state=state.value, updated_at=self.now, **values)
        self._changed((event.store_id, return_id), row)
        self._audit(event, event.kind, "return", entity_id(event.store_id, return_id), before,
                    return_summary(row))

    def _inspected(self, event: Envelope) -> None:
        body = cast(InspectionRecorded, event.body)
        self._move_return(event, body.return_id, ReturnAction.INSPECT, grade=body.grade.value,
                          inspected_at=body.inspected_at)
        self.changes.inspections.append({
            "store_id": event.store_id, "return_id": body.return_id, "node_id": event.node_id,
            "seq": event.seq, "grade": body.grade.value, "reason": body.reason,
            "notes": body.notes, "photos": list(body.photos),
            "compliance_tags": [t.value for t in body.compliance_tags],
            "inspected_by": body.inspected_by, "inspected_at": body.inspected_at})
        for row in self._waiting_for(event.store_id, body.return_id):
            self._decide(row)
            if row is not self.changes.refunds_new.get((row["store_id"], row["refund_id"])):
                self.changes.refunds_changed[(row["store_id"], row["refund_id"])] = row
            self._tell_node(row)

    def _waiting_for(self, store_id: str, return_id: str) -> list[Row]:
        """The refunds of this return that wait for its inspection (this batch's and stored)."""
        rows = [self.changes.refunds_new.get(key) or self.loaded.refunds[key]
                for key in sorted(self._of_return.get((store_id, return_id), ()))]
        return [row for row in rows if row["state"] == RefundState.AWAITING_INSPECTION.value]

    def _disposed(self, event: Envelope) -> None:
        body = cast(DispositionRecorded, event.body)
        self._move_return(event, body.return_id, ReturnAction.DISPOSE,
                          disposition=body.disposition.value, disposed_at=body.decided_at)
        self.changes.dispositions.append({
            "store_id": event.store_id, "return_id": body.return_id, "node_id": event.node_id,
            "seq": event.seq, "disposition": body.disposition.value, "location": body.location,
            "decided_by": body.decided_by, "decided_at": body.decided_at})

    # -- refunds ------------------------------------------------------------------------------

    def _refund_requested(self, event: Envelope) -> None:
        body = cast(RefundRequested, event.body)
        self._existing_return(event, body.return_id)
        self.request(event.store_id, event.node_id, body, asked_by_node(body.channel))

    def request(self, store_id: str, node_id: str, body: RefundRequested,
                origin: Origin) -> Row:
        """Record a refund request of ``origin``, decide it and tell the node that asked (if a
        node did); return its row. Refused: the id is taken, or the return is unknown."""
        key = (store_id, body.refund_id)
        if key in self.changes.refunds_new or key in self.loaded.refunds:
            raise Refused(f"refund {body.refund_id!r} was already requested")
        if self._return((store_id, body.return_id)) is None:
            raise Refused(f"a refund of return {body.return_id!r}, which store {store_id} "
                          "never reported as received")
        row = self._new_refund(store_id, node_id, body, origin)
        asked = refund_summary(row)
        self._audit_as(store_id, node_id, "refund.requested", "refund", entity_id(*key), None,
                       asked)
        self._decide(row, getattr(body, "approved_offline_by", None), asked)
        self.changes.refunds_new[key] = row
        self._of_return[(store_id, body.return_id)].append(key)
        self._tell_node(row)
        return row

    def _tell_node(self, row: Row) -> None:
        """Queue the refund's decision (or its wait) to the node that asked for it."""
        self.changes.commands.extend(to_asker(row, refund_decided_body(row, self.now)))

    def _new_refund(self, store_id: str, node_id: str, body: RefundRequested,
                    origin: Origin) -> Row:
        ret = self._return((store_id, body.return_id)) or {}
        order_id = body.order_id or ret.get("order_id")
        market = body.marketplace_id or ret.get("marketplace_id")
        return {
            "store_id": store_id, "refund_id": body.refund_id, "return_id": body.return_id,
            "node_id": node_id, "origin": origin.value, "amount": body.amount.amount,
            "currency": body.amount.currency, "channel": body.channel.value,
            "order_id": body.order_id, "marketplace_id": body.marketplace_id,
            "state": RefundState.REQUESTED.value, "outcome": None, "approval_level": None,
            "reasons": [], "requested_by": body.requested_by, "requested_at": body.requested_at,
            "decided_by": None, "decided_at": None, "decision_reason": None,
            "created_at": self.now, "updated_at": self.now,
            "customer_key": facts.customer_key(body.channel, order_id, market,
                                               self.loaded.known.orders),
            "policy_version": None, "decision": None, "base_amount": None, "base_currency": None,
        }

    def _facts(self, row: Row) -> facts.RefundFacts:
        key = (row["store_id"], row["return_id"])
        lines = (self.loaded.known.lines[key] if key in self.loaded.known.lines
                 else self._new_lines.get(key, []))
        return facts.refund_facts(row, self._return(key) or {}, lines, self.loaded.known)

    def _decide(self, row: Row, offline_by: str | None = None, before: Any = None) -> None:
        """Decide the refund of ``row`` and audit it (``before``: the row's audited view, when
        the caller has just made it)."""
        policy = self.loaded.policy
        if policy is None:
            raise Refused("no refund policy is loaded")  # the adapter loads it for refunds
        known = self.loaded.known
        told = self._facts(row)
        verdict = judge(told, known.prior(told), policy, offline_by)
        known.remember(told, verdict.state)
        if before is None:
            before = refund_summary(row)
        self._settle(row, verdict)
        if verdict.decision is None:
            self.changes.audit.append(AuditDraft(
                AUTO_ACTOR, AUTO_ROLE, "refund.awaiting_inspection", "refund",
                entity_id(row["store_id"], row["refund_id"]), before, refund_summary(row),
                verdict.reasons[0]))
            return
        row.update(decision_columns(verdict.decision))
        self.changes.refund_rules.extend(
            {"store_id": row["store_id"], "refund_id": row["refund_id"], "rule_id": rule}
            for rule in indexed_rules(verdict.decision))
        self._audit_decision(row, before, row["decision"], verdict, offline_by)

    def _settle(self, row: Row, verdict: Verdict) -> None:
        """Move the refund where the verdict says (through the state table)."""
        state = verdict.moves(RefundState(row["state"]))
        row.update(state=state.value, outcome=verdict.outcome.value,
                   approval_level=verdict.level, reasons=list(verdict.reasons),
                   decided_by=verdict.decided_by,
                   decided_at=self.now if verdict.final else None, updated_at=self.now)

    def _audit_decision(self, row: Row, before: Any, record: Any, verdict: Verdict,
                        offline_by: str | None) -> None:
        flagged = offline_by and verdict.outcome is RefundOutcome.MANUAL_REVIEW
        self.changes.audit.append(AuditDraft(
            AUTO_ACTOR, AUTO_ROLE, "refund.offline_over_limit" if flagged else "refund.decided",
            "refund", entity_id(row["store_id"], row["refund_id"]), before,
            {**refund_summary(row), "decision": record}, "; ".join(verdict.reasons)))

    # -- commands -----------------------------------------------------------------------------

    def _command_applied(self, event: Envelope) -> None:
        body = cast(CommandApplied, event.body)
        row = self.changes.commands_applied.get(body.command_id) or self.loaded.commands.get(
            body.command_id)
        if row is None:
            raise Refused(f"command.applied for unknown command {body.command_id!r}")
        if (row["store_id"], row["node_id"]) != (event.store_id, event.node_id):
            raise Refused(f"command {body.command_id!r} was not sent to this node")
        if row["applied_at"] is not None:
            return  # reported again after a resend: already recorded
        before = jsonable({"applied_at": None, "result": None})
        row.update(applied_at=event.occurred_at, result=body.result, detail=body.detail)
        self.changes.commands_applied[body.command_id] = row
        self._audit(event, "command.applied", "command", body.command_id, before,
                    jsonable({"applied_at": row["applied_at"], "result": body.result,
                              "kind": row["kind"], "detail": body.detail}))


HANDLERS: dict[str, Callable[[Projector, Envelope], None]] = {
    "return.received": Projector._received,
    "inspection.recorded": Projector._inspected,
    "disposition.recorded": Projector._disposed,
    "refund.requested": Projector._refund_requested,
    "command.applied": Projector._command_applied,
}

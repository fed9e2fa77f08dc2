"""What the counter does: scan, record a return, inspect, dispose, look things up.

Rules:
- each action is ONE write transaction: the rows, the state change, the audit entry and the
  outbox event(s) with their seqs commit together or not at all, and the caller gets its answer
  only after the commit (``synchronous=FULL``: the data is on disk);
- every check that can refuse the request (validation, state machine, RMA already received) runs
  before anything is written, and a refusal rolls the transaction back: nothing half-written;
- decisions come from the pure core (``edge_agent.returns.states``); this module only loads, calls
  and
  persists;
- ``in_tx(tx, kind, return_id)`` runs inside each action's transaction, after its rows (what must
  commit with the fact, e.g. its print job); ``on_write(kind, return_id)`` runs after the commit
  (wake the link, tell the counter screens); a scanned return code (``RT-…``) finds its return.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from edge_agent.errors import Conflict, InvalidRequest
from edge_agent.returns import views
from edge_agent.returns.models import (
    DispositionRequest,
    InspectionRequest,
    ReturnPage,
    ReturnRequest,
    ReturnView,
    ScanResult,
)
from edge_agent.returns.states import (
    Action,
    ReturnState,
    check_offline_refund,
    check_sold_at,
    mismatches,
    next_state,
    total_of,
    with_rma_facts,
)
from edge_agent.staff import store_config
from edge_agent.storage import audit, outbox, records
from edge_agent.storage.ids import new_refund_id, new_return_id, return_id_for_code
from edge_agent.storage.outbox import Figures
from edge_agent.storage.store import Store, Tx
from protocol import (
    Body,
    DispositionRecorded,
    InspectionRecorded,
    Money,
    RefundRequested,
    ReturnReceived,
    utc_now,
)

B = TypeVar("B", bound=BaseModel)
Within = Callable[[Tx, str], None]
MAX_REASONS, MAX_NOTE = 20, 2000  # what ReturnReceived.mismatch_reasons carries


def _nothing(*_args: Any) -> None:
    """The default hook: nothing to add."""


def _check_offline(tx: Tx, request: ReturnRequest, total: Money) -> None:
    """Refuse an offline approval the store may not give (before anything is written)."""
    if not request.request_refund:
        raise InvalidRequest("an offline approval needs a refund request", field="approve_offline")
    check_offline_refund(total, request.channel, store_config.offline_limit(tx))


def build(body_type: type[B], **fields: Any) -> B:
    """Construct a protocol body; a validation failure becomes InvalidRequest naming the field."""
    try:
        return body_type(**fields)
    except ValidationError as err:
        first = err.errors(include_url=False)[0]
        field = ".".join(str(part) for part in first["loc"]) or None
        raise InvalidRequest(first["msg"].removeprefix("Value error, "), field=field) from err


@dataclass
class Counter:
    """The counter's actions over one store; ``in_tx`` and ``on_write`` see each action."""

    store: Store
    store_id: str
    node_id: str
    on_write: Callable[[str, str], None] = _nothing
    clock: Callable[[], datetime] = utc_now
    language: str = "en"  # the store's language: the views' staff sentences
    in_tx: Callable[[Tx, str, str], None] = _nothing
    # the language in force, read in the action's transaction (the hub's store config may set
    # one over ``language``); unset: ``language``
    language_in: Callable[[Tx], str] | None = None

    def words_in(self, tx: Tx) -> str:
        """The language of the staff sentences, as it stands in ``tx``."""
        return self.language if self.language_in is None else self.language_in(tx)

    def current_language(self) -> str:
        """The language of the staff sentences now."""
        if self.language_in is None:
            return self.language
        with self.store.read() as tx:
            return self.language_in(tx)

    def _emit(self, tx: Tx, body: Body, at: datetime) -> int:
        return outbox.append(tx, self.store_id, self.node_id, body, at).seq

    def scan(self, code: str) -> ScanResult:
        """Match a code against existing returns and cached RMAs, and record the scan."""
        now, key = self.clock(), return_id_for_code(code) or code
        with self.store.write() as tx:
            found = [views.return_view(tx, rid, self.words_in(tx))
                     for rid in records.return_ids_for_code(tx, key)]
            expected = records.expected_for(tx, code, code)
            match = "return" if found else "expected_return" if expected else "unknown"
            matched_id = found[0].return_id if found else expected.rma_id if expected else None
            records.record_scan(tx, code, match, matched_id, now)
        return ScanResult(code=code, match=match, returns=found, scanned_at=now,
                          expected_return=views.expected_view(expected) if expected else None)

    def record_return(self, request: ReturnRequest, within: Within = _nothing,
                      approved_by: str | None = None) -> ReturnView:
        """Take a return in (and ask for its refund), durably, in one transaction.

        ``within(tx, return_id)`` adds the caller's rows to that transaction (a POS transaction
        id); anything it raises rolls the whole return back. ``approved_by`` is the store
        manager approving the refund offline (the caller checked who and when; the amount is
        checked here, against the store's offline limit). ``sold_at`` is refused if it is after
        now; lines without a category or opened flag take the cached RMA's (``with_rma_facts``).
        """
        items = [item.to_item() for item in request.items]
        total = total_of(items)
        now, return_id = self.clock(), new_return_id()
        check_sold_at(request.sold_at, now)
        with self.store.write() as tx:
            if approved_by is not None:
                _check_offline(tx, request, total)
            expected = records.expected_for(tx, request.rma_id, request.order_id)
            items = with_rma_facts(items, expected)
            rma_id = request.rma_id or (expected.rma_id if expected else None)
            if rma_id and (earlier := records.return_id_for_rma(tx, rma_id)):
                raise Conflict(f"RMA {rma_id} was already received as return {earlier}",
                               field="rma_id")
            state = next_state(ReturnState.EXPECTED if expected else None, Action.RECEIVE)
            reasons = mismatches(items, request.order_id, expected)
            event = build(
                ReturnReceived, return_id=return_id, channel=request.channel, items=items,
                reason=request.reason, rma_id=rma_id,
                order_id=request.order_id or (expected.order_id if expected else None),
                marketplace_id=request.marketplace_id
                or (expected.marketplace_id if expected else None),
                scanned_codes=request.scanned_codes, mismatch=bool(reasons),
                mismatch_reasons=[reason[:MAX_NOTE] for reason in reasons[:MAX_REASONS]],
                staff_id=request.staff_id, received_at=now, sold_at=request.sold_at)
            records.insert_return(tx, event, state, total, reasons, self._emit(tx, event, now))
            self._audit(tx, now, request.staff_id, "return.received", "return", return_id,
                        None, {"state": state.value, "total": str(total), "mismatch": reasons})
            if request.request_refund:
                self._request_refund(tx, event, total, now, request.refund_method, approved_by)
            within(tx, return_id)
            self.in_tx(tx, "return.received", return_id)
            view = views.return_view(tx, return_id, self.words_in(tx))
        self.on_write("return.received", return_id)
        return view

    def _request_refund(self, tx: Tx, received: ReturnReceived, total: Money, now: datetime,
                        method: str | None, approved_by: str | None) -> None:
        refund = build(
            RefundRequested, refund_id=new_refund_id(), return_id=received.return_id,
            amount=total, channel=received.channel, order_id=received.order_id,
            marketplace_id=received.marketplace_id, requested_by=received.staff_id,
            requested_at=now, approved_offline_by=approved_by, refund_method=method)
        records.insert_refund(tx, refund, self._emit(tx, refund, now))
        self._audit(tx, now, received.staff_id, "refund.requested", "refund", refund.refund_id,
                    None, {"status": "requested", "amount": str(total),
                           "return_id": received.return_id, "refund_method": method})
        if approved_by is not None:
            audit.record(tx, at=now, actor=approved_by, role="store_manager",
                         action="refund.approved_offline", entity="refund",
                         entity_id=refund.refund_id, before={"status": "requested"},
                         after={"status": "approved_offline", "amount": str(total),
                                "limit": str(store_config.offline_limit(tx))})

    def record_inspection(self, return_id: str, request: InspectionRequest) -> ReturnView:
        """Record the QC result (only for a received, not yet inspected return)."""
        now = self.clock()
        with self.store.write() as tx:
            before = ReturnState(records.return_row(tx, return_id)["state"])
            after = next_state(before, Action.INSPECT)
            event = build(InspectionRecorded, return_id=return_id, inspected_at=now,
                          **request.model_dump())
            records.insert_inspection(tx, event, self._emit(tx, event, now))
            records.set_state(tx, return_id, after, now)
            self._audit(tx, now, request.inspected_by, "inspection.recorded", "return",
                        return_id, {"state": before.value},
                        {"state": after.value, "grade": event.grade.value})
            self.in_tx(tx, "inspection.recorded", return_id)
            view = views.return_view(tx, return_id, self.words_in(tx))
        self.on_write("inspection.recorded", return_id)
        return view

    def record_disposition(self, return_id: str, request: DispositionRequest) -> ReturnView:
        """Record what happens to the goods (only after QC)."""
        now = self.clock()
        with self.store.write() as tx:
            before = ReturnState(records.return_row(tx, return_id)["state"])
            after = next_state(before, Action.DISPOSE)
            event = build(DispositionRecorded, return_id=return_id, decided_at=now,
                          **request.model_dump())
            records.insert_disposition(tx, event, self._emit(tx, event, now))
            records.set_state(tx, return_id, after, now)
            self._audit(tx, now, request.decided_by, "disposition.recorded", "return", return_id,
                        {"state": before.value},
                        {"state": after.value, "disposition": event.disposition.value})
            self.in_tx(tx, "disposition.recorded", return_id)
            view = views.return_view(tx, return_id, self.words_in(tx))
        self.on_write("disposition.recorded", return_id)
        return view

    def _audit(self, tx: Tx, at: datetime, actor: str | None, action: str, entity: str,
               entity_id: str, before: dict[str, Any] | None, after: dict[str, Any]) -> None:
        audit.record(tx, at=at, actor=actor or "counter", role="counter", action=action,
                     entity=entity, entity_id=entity_id, before=before, after=after)

    def get_return(self, return_id: str) -> ReturnView:
        """One return with everything known about it."""
        with self.store.read() as tx:
            return views.return_view(tx, return_id, self.words_in(tx))

    def list_returns(self, limit: int, offset: int) -> ReturnPage:
        """Recent returns, newest first."""
        with self.store.read() as tx:
            return views.recent_returns(tx, limit, offset, self.words_in(tx))

    def figures(self) -> Figures:
        """Outbox figures for health and status."""
        with self.store.read() as tx:
            return outbox.figures(tx)

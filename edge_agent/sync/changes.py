"""What the link tells the agent the moment it happens, and the live event each change becomes.

Rules:
- the link calls its listener on its worker thread right after a change is committed (a
  command's effect and its report, the store config, the deletion of acked outbox rows) or seen
  (the connection going up or down); the listener must not block (it publishes on the event bus);
- ``live_event`` reads what the store holds *now*, so an event never claims more than the page
  will find: a refund command announces the refund only while it is the command that set the
  refund's decision or payment status (a late one that was kept out announces nothing);
- refused and duplicate commands, ``event.verify`` and configs that were ignored or refused
  change nothing the counter shows, so they announce nothing;
- event kinds and data are those of ``edge_agent.events`` (``refund``, ``expected``, ``config``,
  ``outbox``, ``broker``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from edge_agent.staff import store_config
from edge_agent.storage import outbox, records
from edge_agent.storage.store import Tx
from edge_agent.sync.commands import Outcome
from protocol import (
    CountTask,
    ExpectedReturn,
    RefundDecided,
    RefundStatus,
    TransferDelivered,
    TransferTask,
)


@dataclass(frozen=True)
class Applied:
    """A hub command was handled (its effect, if any, is committed)."""

    outcome: Outcome


@dataclass(frozen=True)
class ConfigReceived:
    """A store config message was handled."""

    received: store_config.Received


@dataclass(frozen=True)
class Connection:
    """The broker connection went up or down."""

    connected: bool


@dataclass(frozen=True)
class Acked:
    """Outbox rows the hub has acked were deleted, up to ``up_to``."""

    up_to: int


Change = Applied | ConfigReceived | Connection | Acked
Listener = Callable[[Change], None]
LiveEvent = tuple[str, dict[str, Any]]


def live_event(tx: Tx, change: Change) -> LiveEvent | None:
    """The counter screens' event for ``change`` (kind, data), or None when nothing shows."""
    if isinstance(change, Connection):
        return "broker", {"connected": change.connected}
    if isinstance(change, Acked):
        figures = outbox.figures(tx)
        return "outbox", {"pending": figures.pending, "last_acked_seq": figures.last_acked_seq}
    if isinstance(change, ConfigReceived):
        if change.received.result != "applied":
            return None
        return "config", {"version": change.received.version,
                          "signin_required": store_config.signin_required(tx)}
    return _command_event(tx, change.outcome)


def _command_event(tx: Tx, outcome: Outcome) -> LiveEvent | None:
    envelope = outcome.envelope
    if outcome.result != "applied" or envelope is None:
        return None
    body = envelope.body
    if isinstance(body, ExpectedReturn):
        return "expected", {"rma_id": body.rma_id, "order_id": body.order_id}
    if isinstance(body, CountTask):
        return "count_task", {"task_id": body.task_id, "sku": body.sku,
                              "state": body.state.value}
    if isinstance(body, TransferTask | TransferDelivered):
        return "transfer", {"transfer_id": body.transfer_id, "command": envelope.kind}
    if not isinstance(body, RefundDecided | RefundStatus):
        return None
    refund = records.refund_row(tx, body.refund_id)
    column = "decision_command_id" if isinstance(body, RefundDecided) else "payment_command_id"
    if refund is None or refund[column] != envelope.id:
        return None  # kept out: the newer decision or status held is already announced
    return "refund", {"return_id": refund["return_id"], "refund_id": refund["id"],
                      "status": refund["status"], "payment": refund["payment_status"],
                      "command": envelope.kind}

"""The hub's count tasks at the store (``stock.count.task``): count one SKU in one state.

Rules:
- a task arrives as a hub command (``edge_agent.sync.commands``): ``receive`` keeps it open in
  ``count_tasks`` (migration ``0017``) inside the command's transaction, audited; a task id seen
  before changes nothing (the command layer applies each command once; this guards a second
  command naming the same task);
- the counter page lists the open tasks (``open_tasks``: "count SKU X") and works offline: the
  tasks live in the node's SQLite;
- ANY count of the task's SKU in the task's state answers it (``answer``, inside the count's
  transaction: the counter page, a handheld, the POS API): the task is done with the count id
  and the quantity counted, audited; the count then sends a ``recount`` snapshot carrying the
  answers, so the hub closes its side and checks the difference again from the new figures;
- a count of another state, or of other SKUs, leaves the task open.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from edge_agent.storage import audit
from edge_agent.storage.store import Tx
from protocol import CountAnswer, CountTask, StockState, format_utc

Row = dict[str, Any]


def receive(tx: Tx, task: CountTask, command_id: str, at: datetime) -> tuple[bool, str]:
    """Keep the hub's task open here; (True, what) when new, (False, why) when known already."""
    held = tx.one("SELECT status FROM count_tasks WHERE task_id = ?", (task.task_id,))
    if held is not None:
        return False, f"count task {task.task_id} is known already ({held['status']})"
    tx.execute("INSERT INTO count_tasks(task_id, sku, state, difference_id, requested_by, note, "
               "command_id, received_at, status) VALUES (?,?,?,?,?,?,?,?, 'open')",
               (task.task_id, task.sku, task.state.value, task.difference_id,
                task.requested_by, task.note, command_id, format_utc(at)))
    audit.record(tx, at=at, actor=task.requested_by or "hub", role="hub",
                 action="stock.count_task.received", entity="count_task",
                 entity_id=task.task_id, before=None,
                 after={"sku": task.sku, "state": task.state.value,
                        "difference_id": task.difference_id})
    return True, f"count task {task.task_id}: count {task.sku} ({task.state.value})"


def open_tasks(tx: Tx) -> list[Row]:
    """The open tasks, oldest first."""
    return tx.all("SELECT task_id, sku, state, difference_id, requested_by, note, received_at "
                  "FROM count_tasks WHERE status = 'open' ORDER BY received_at, task_id")


def answer(tx: Tx, state: StockState, counted: Mapping[str, int], count_id: str, at: datetime,
           actor: str) -> list[CountAnswer]:
    """Close every open task of ``state`` for a SKU in ``counted``; the answers, by SKU."""
    if not counted:
        return []
    answers: list[CountAnswer] = []
    for row in open_tasks(tx):
        if row["state"] != state.value or row["sku"] not in counted:
            continue
        quantity = counted[row["sku"]]
        tx.execute("UPDATE count_tasks SET status = 'done', count_id = ?, counted = ?, "
                   "done_at = ? WHERE task_id = ?",
                   (count_id, quantity, format_utc(at), row["task_id"]))
        audit.record(tx, at=at, actor=actor, role="counter", action="stock.count_task.done",
                     entity="count_task", entity_id=row["task_id"], before={"status": "open"},
                     after={"status": "done", "count_id": count_id, "counted": quantity})
        answers.append(CountAnswer(task_id=row["task_id"], sku=row["sku"], state=state,
                                   count_id=count_id, counted=quantity))
    return sorted(answers, key=lambda a: (a.sku, a.task_id))


def sent_with(tx: Tx, answers: list[CountAnswer], snapshot_id: str) -> None:
    """Note the snapshot that carries the answers to the hub."""
    for a in answers:
        tx.execute("UPDATE count_tasks SET snapshot_id = ? WHERE task_id = ?",
                   (snapshot_id, a.task_id))

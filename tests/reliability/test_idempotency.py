"""Every write is idempotent end to end (issue 9, "What broke" 4): a repeated request with the same
``Idempotency-Key`` gets the first answer and writes nothing more, on the edge's local API (real
uvicorn, real SQLite, the printer stand-in counting receipts) and on the hub's API."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from hardware.sim.printer import PrinterStandIn
from tests.edge.conftest import Running, make_settings, no_leaked_threads, running_agent

__all__ = ["no_leaked_threads"]

ITEMS = [{"sku": "SKU-KETTLE-1", "quantity": 1, "description": "Kettle",
          "unit_price": {"amount": "34.90", "currency": "EUR"}}]


def a_return(**overrides: Any) -> dict[str, Any]:
    """A counter return asking for its refund."""
    return {"channel": "pos", "reason": "defective", "items": ITEMS, "request_refund": True,
            **overrides}


def key() -> dict[str, str]:
    """A fresh key, as the counter page makes one per action."""
    return {"Idempotency-Key": str(uuid.uuid4())}


@pytest.fixture
def printer(tmp_path: Path) -> Iterator[PrinterStandIn]:
    """A network receipt printer stand-in that keeps every job it prints."""
    with PrinterStandIn(tmp_path / "printed") as stand_in:
        yield stand_in


@pytest.fixture
def edge(tmp_path: Path, printer: PrinterStandIn) -> Iterator[Running]:
    """An agent (no MQTT link) printing its receipts on the stand-in."""
    settings = make_settings(tmp_path, printer_url=printer.url, print_retry_seconds=0.2)
    with running_agent(settings, connect=False) as run:
        yield run


def settle(printer: PrinterStandIn, run: Running, expected: int) -> None:
    """Wait until the queue is empty and ``expected`` jobs printed; then make sure no more come."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if len(printer.jobs) >= expected and run.rows("print_jobs WHERE state = 'queued'") == 0:
            break
        time.sleep(0.05)
    time.sleep(0.5)  # a second receipt would be printed by now: the queue was empty
    assert len(printer.jobs) == expected


def test_a_repeated_return_is_recorded_once_and_answered_the_same(
        edge: Running, printer: PrinterStandIn) -> None:
    """Promise: a double click or a retried POST /api/returns makes one return, one refund
    request and one receipt; the repeat gets the first answer (same status and body)."""
    headers = key()
    first = edge.http.post("/api/returns", json=a_return(), headers=headers)
    second = edge.http.post("/api/returns", json=a_return(), headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.content == first.content
    assert second.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert edge.rows("returns") == 1
    assert edge.rows("refunds") == 1
    assert edge.rows("outbox WHERE kind = 'refund.requested'") == 1
    settle(printer, edge, 1)


def test_concurrent_repeats_wait_for_the_first_and_never_run_twice(
        edge: Running, printer: PrinterStandIn) -> None:
    """Promise: repeats sent while the first is still in flight never make a second return."""
    headers, answers = key(), []

    def post() -> None:
        with httpx.Client(base_url=edge.url, timeout=20) as http:
            answers.append(http.post("/api/returns", json=a_return(), headers=headers))

    threads = [threading.Thread(target=post) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {a.status_code for a in answers} == {201}
    assert len({a.content for a in answers}) == 1
    assert sum(a.headers.get("idempotent-replayed") == "true" for a in answers) == 7
    assert edge.rows("returns") == 1
    settle(printer, edge, 1)


def test_the_same_key_for_another_request_is_refused_naming_the_key(edge: Running) -> None:
    """Promise: a key reused for a different return is a 422 naming the key, writing nothing."""
    headers = key()
    assert edge.http.post("/api/returns", json=a_return(), headers=headers).status_code == 201
    other = edge.http.post("/api/returns", json=a_return(reason="wrong size"), headers=headers)
    assert other.status_code == 422
    assert other.json()["detail"][0]["field"] == "Idempotency-Key"
    assert edge.rows("returns") == 1


def test_requests_without_a_key_work_as_before_and_bad_keys_are_refused(edge: Running) -> None:
    """Promise: a request without a key still works (each one is a new return); a malformed
    key is a 422 in the published error shape, not a 500."""
    assert edge.http.post("/api/returns", json=a_return()).status_code == 201
    assert edge.http.post("/api/returns", json=a_return()).status_code == 201
    assert edge.rows("returns") == 2
    bad = edge.http.post("/api/returns", json=a_return(), headers={"Idempotency-Key": "x" * 201})
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["field"] == "Idempotency-Key"
    assert edge.rows("returns") == 2


def test_a_repeated_inspection_disposition_and_reprint_are_done_once(
        edge: Running, printer: PrinterStandIn) -> None:
    """Promise: repeating QC, disposition or a receipt reprint answers the first result instead
    of a 409 or a second receipt."""
    rid = edge.http.post("/api/returns", json=a_return(), headers=key()).json()["return_id"]
    for path, body in ((f"/api/returns/{rid}/inspection", {"grade": "good", "notes": "scratched"}),
                       (f"/api/returns/{rid}/disposition", {"disposition": "restock_open_box"})):
        headers = key()
        first = edge.http.post(path, json=body, headers=headers)
        second = edge.http.post(path, json=body, headers=headers)
        assert first.status_code == second.status_code == 201, second.text
        assert first.content == second.content
    headers = key()
    first = edge.http.post(f"/api/returns/{rid}/receipt", headers=headers)
    second = edge.http.post(f"/api/returns/{rid}/receipt", headers=headers)
    assert first.status_code == second.status_code == 202
    assert first.json()["job_id"] == second.json()["job_id"]
    assert edge.rows("inspections") == 1
    assert edge.rows("dispositions") == 1
    settle(printer, edge, 3)  # the drop-off receipt, one shelf label (same printer), one reprint


def test_keys_are_kept_for_a_day_then_pruned(edge: Running) -> None:
    """Promise: a key expires after 24 hours (documented) and the table does not grow forever."""
    headers = key()
    assert edge.http.post("/api/returns", json=a_return(), headers=headers).status_code == 201
    with edge.agent.store.write() as tx:  # a day passes for this key
        tx.execute("UPDATE idempotency_keys SET created_at = '2000-01-01T00:00:00Z'")
    again = edge.http.post("/api/returns", json=a_return(), headers=headers)
    assert again.status_code == 201 and "idempotent-replayed" not in again.headers
    assert edge.rows("returns") == 2
    assert edge.rows("idempotency_keys") == 1  # the old row went, the new one is there

"""The machine's side of pairing against a real hub (both databases): the code is shown even when
the printer fails, and a code that expires or a pairing that is stopped writes nothing."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from edge_agent.enrolment import EnrolmentError, Pairing, PairingStatus, Snapshot, pair
from hub.fleet.local_broker import free_port
from hub.storage.engine import writing
from hub.storage.tables.pairing import pairing_requests
from tests.hub.conftest import RunningHub


def pairing(hub: RunningHub, tmp_path: Path, printer_url: str = "") -> Pairing:
    return Pairing(str(hub.client.base_url), None, tmp_path / "edge", tmp_path / ".env",
                   insecure_http=True, printer_url=printer_url, serial="SN-T")


def test_a_dead_printer_still_shows_the_code_and_an_expired_code_writes_nothing(
    enrol_hub: RunningHub, tmp_path: Path,
) -> None:
    shown: list[Snapshot] = []

    def expire_it(snapshot: Snapshot) -> None:
        shown.append(snapshot)
        with writing(enrol_hub.engine) as tx:
            tx.conn.execute(update(pairing_requests).values(
                expires_at=tx.now - timedelta(seconds=1)))

    status = PairingStatus()
    dead_printer = f"tcp://127.0.0.1:{free_port()}"
    with pytest.raises(EnrolmentError, match=r"ended the pairing \(410\).*expired"):
        pair(pairing(enrol_hub, tmp_path, dead_printer), status, threading.Event(),
             on_code=expire_it)
    [first] = shown
    assert first.state == "waiting" and first.code and first.printed is False
    assert first.serial == "SN-T"
    assert status.snapshot().state == "failed" and "expired" in status.snapshot().message
    assert not (tmp_path / "edge").exists() and not (tmp_path / ".env").exists()


def test_a_stopped_pairing_writes_nothing(enrol_hub: RunningHub, tmp_path: Path) -> None:
    stop = threading.Event()
    with pytest.raises(EnrolmentError, match="stopped before the code was entered"):
        pair(pairing(enrol_hub, tmp_path), PairingStatus(), stop,
             on_code=lambda _snapshot: stop.set())
    assert not (tmp_path / "edge").exists() and not (tmp_path / ".env").exists()

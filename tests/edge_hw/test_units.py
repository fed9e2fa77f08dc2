"""Tables for the pure parts: scan meaning, return codes, device settings, job queue, the bus."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, get_args

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge_agent.devices import print_jobs
from edge_agent.devices.print_queue import Printing
from edge_agent.errors import ConfigError
from edge_agent.events import MAX_BACKLOG, EventBus
from edge_agent.returns.scans import interpret
from edge_agent.settings import EdgeSettings, load_settings
from edge_agent.storage.ids import new_return_id, return_code, return_id_for_code
from edge_agent.storage.store import Store
from hardware.printing import CODE_PAGES, KanjiMode
from hardware.printing.texts import TEXTS
from protocol import utc_now

IDS = {"store_id": "store-a", "node_id": "counter-1"}


@pytest.mark.parametrize(("line", "kind", "lookup", "words"), [
    ("4006381333931", "gtin", "4006381333931", "GTIN-13 4006381333931"),
    ("4006381333932", "invalid", None, "check digit should be 1, got 2. Scan it again"),
    ("113-1234567-1234567", "amazon_order", "113-1234567-1234567", "Amazon order"),
    ("x001abcdef", "fnsku", "X001ABCDEF", "Amazon FNSKU X001ABCDEF"),
    ("RT-000C1SE", "return_code", "RT-000C1SE", "Return code RT-000C1SE"),
    ("RT-000C1SF", "invalid", None, "check character"),
    ("RMA-DEMO-00", "unknown", "RMA-DEMO-00", "Code RMA-DEMO-00"),
    ("\x00\x07", "unknown", None, "Unreadable scan: scan holds control character U+0000"),
    ("A" * 300, "unknown", None, "scan too long"),
    ("\ufffd\ufffd", "unknown", None, "not text"),
    ("", "unknown", None, "empty scan"),
])
def test_what_a_scan_means(line: str, kind: str, lookup: str | None, words: str) -> None:
    outcome = interpret(line)
    assert (outcome.kind, outcome.lookup) == (kind, lookup)
    assert words in outcome.message


@given(st.text(max_size=300))
def test_no_line_breaks_interpretation(line: str) -> None:
    outcome = interpret(line)
    assert outcome.message and (outcome.lookup is None or len(outcome.lookup) <= 64)


def test_a_return_code_scans_back_to_its_return_and_a_misread_does_not() -> None:
    for _ in range(200):
        rid = new_return_id()
        code = return_code(rid)
        assert return_id_for_code(code) == rid == return_id_for_code(code.lower())
        misread = code[:5] + ("1" if code[5] != "1" else "2") + code[6:]
        assert return_id_for_code(misread) is None
    assert return_id_for_code("RT-000C1SE") is None  # a valid code, but not one of our ids
    assert return_id_for_code("R7QK2M9XH4TZA") is None


def test_device_settings_defaults_and_forms() -> None:
    settings = load_settings(None, **IDS)
    assert (settings.scanner_url, settings.printer_url, settings.label_printer_url) == ("", "", "")
    assert (settings.printer_paper, settings.printer_code_page, settings.printer_kanji) == \
        ("80mm", "cp858", "none")
    assert settings.store_language == "en" and settings.scanner_line_end is None
    custom = load_settings(None, **IDS, scanner_terminator="\\x03", printer_url="usb://04b8:0e15")
    assert custom.scanner_line_end == b"\x03"
    assert load_settings(None, **IDS, scanner_terminator="crlf").scanner_line_end == b"\r\n"


@pytest.mark.parametrize(("field", "value", "env"), [
    ("printer_url", "http://printer:9100", "ACORN_EDGE_PRINTER_URL"),
    ("label_printer_url", "192.168.1.9", "ACORN_EDGE_LABEL_PRINTER_URL"),
    ("printer_paper", "76mm", "ACORN_EDGE_PRINTER_PAPER"),
    ("printer_code_page", "cp1251", "ACORN_EDGE_PRINTER_CODE_PAGE"),
    ("printer_kanji", "big5", "ACORN_EDGE_PRINTER_KANJI"),
    ("store_language", "fr", "ACORN_EDGE_STORE_LANGUAGE"),
    ("scanner_terminator", "\\x", "ACORN_EDGE_SCANNER_TERMINATOR"),
    ("print_retry_seconds", "0", "ACORN_EDGE_PRINT_RETRY_SECONDS"),
    ("scanner_baud", "12", "ACORN_EDGE_SCANNER_BAUD"),
])
def test_bad_device_settings_name_their_variable(field: str, value: str, env: str) -> None:
    with pytest.raises(ConfigError, match=env):
        load_settings(None, **IDS, **{field: value})


def test_settings_choices_match_what_the_hardware_library_can_do() -> None:
    def choices(name: str) -> set[str]:
        return set(get_args(EdgeSettings.model_fields[name].annotation))

    assert choices("printer_code_page") == set(CODE_PAGES)
    assert choices("printer_kanji") == {kanji.value for kanji in KanjiMode}
    assert choices("store_language") == set(TEXTS)


def test_the_job_queue_moves_through_its_states(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "edge.db", "store-a", "counter-1")
    try:
        with store.write() as tx:
            first = print_jobs.enqueue(tx, "receipt", "receipt", "R1", {"n": 1}, utc_now())
            second = print_jobs.enqueue(tx, "receipt", "receipt", "R2", {"n": 2}, utc_now())
            print_jobs.enqueue(tx, "label", "label", "R1", {"n": 3}, utc_now())
            job = print_jobs.next_job(tx, "receipt")
            assert job is not None and (job.id, job.payload) == (first, {"n": 1})
            print_jobs.mark_printing(tx, first, utc_now())
            assert print_jobs.next_job(tx, "receipt").id == second  # type: ignore[union-attr]
            print_jobs.mark_retry(tx, first, "refused", utc_now(), tried=True)
            assert print_jobs.depth(tx, "receipt") == print_jobs.Depth(2, 0, "refused")
            print_jobs.mark_printing(tx, first, utc_now())
            print_jobs.mark_done(tx, first, utc_now())
            print_jobs.mark_printing(tx, second, utc_now())
            assert print_jobs.requeue_interrupted(tx, utc_now()) == 1  # a crash mid-print
            print_jobs.mark_failed(tx, second, "cannot lay out", utc_now())
            assert print_jobs.depth(tx, "receipt") == print_jobs.Depth(0, 1, None)
            row = tx.one("SELECT attempts, printed_at FROM print_jobs WHERE id = ?", (first,))
            assert row is not None and row["attempts"] == 2 and row["printed_at"]
            assert print_jobs.job_state(tx, second) == "failed"
    finally:
        store.close()


def _done_job(tx: Any, lane: print_jobs.Lane, return_id: str, printed: datetime) -> int:
    job = print_jobs.enqueue(tx, lane, lane, return_id, {}, printed)
    print_jobs.mark_printing(tx, job, printed)
    print_jobs.mark_done(tx, job, printed)
    return job


def _state(store: Store, job: int) -> str | None:
    with store.read() as tx:
        return print_jobs.job_state(tx, job)


def test_printed_jobs_are_purged_after_the_keep_period_by_the_running_worker(
        tmp_path: Path) -> None:
    """Old printed jobs go; recent ones, other lanes', failed and queued jobs stay."""
    store = Store.open(tmp_path / "edge.db", "store-a", "counter-1")
    now = utc_now()
    try:
        with store.write() as tx:
            old = _done_job(tx, "receipt", "R1", now - timedelta(days=31))
            recent = _done_job(tx, "receipt", "R2", now - timedelta(days=29))
            other_lane = _done_job(tx, "label", "R3", now - timedelta(days=40))
            long_ago = now - timedelta(days=40)
            failed = print_jobs.enqueue(tx, "receipt", "receipt", "R4", {}, long_ago)
            print_jobs.mark_failed(tx, failed, "cannot lay out", long_ago)
        settings = load_settings(None, **IDS, printer_url="tcp://127.0.0.1:9",  # nobody listens
                                 print_jobs_keep_days=30, print_retry_seconds=60)
        printing = Printing(settings, store, EventBus())
        printing.start()
        try:
            deadline = time.monotonic() + 10
            while _state(store, old) is not None:
                assert time.monotonic() < deadline, "the old printed job was not purged"
                time.sleep(0.02)
        finally:
            printing.stop()
        with store.read() as tx:
            assert [print_jobs.job_state(tx, j) for j in (recent, other_lane, failed)] == [
                "done", "done", "failed"]
    finally:
        store.close()


def test_the_bus_fans_out_keeps_statuses_drops_laggards_and_closes() -> None:
    async def scenario() -> None:
        bus = EventBus()
        bus.publish("printer", {"status": "ok"}, key="receipt")
        bus.publish("scan", {"n": 0})  # not a status: not replayed
        subscription, latest = bus.subscribe()
        assert [(e.kind, e.data) for e in latest] == [("printer", {"status": "ok"})]
        event = bus.publish("scan", {"n": 1})
        assert await subscription.queue.get() == event
        assert "event: scan\n" in event.encode() and 'data: {"n":1}' in event.encode()
        for n in range(MAX_BACKLOG + 1):
            bus.publish("scan", {"n": n})
        await asyncio.sleep(0.05)
        assert subscription.queue.qsize() == 1 and await subscription.queue.get() is None
        bus.unsubscribe(subscription)
        fresh, _ = bus.subscribe()
        bus.close()
        assert await asyncio.wait_for(fresh.queue.get(), 1) is None
        late, _ = bus.subscribe()
        assert await asyncio.wait_for(late.queue.get(), 1) is None

    asyncio.run(scenario())


def test_an_idle_agent_without_devices_loads_no_device_library() -> None:
    code = ("import sys; import edge_agent.app, edge_agent.cli.main\n"
            "heavy = {'escpos', 'PIL', 'zeroconf', 'serial', 'qrcode', 'usb', 'evdev'}\n"
            "print(sorted(heavy & {m.split('.')[0] for m in sys.modules}))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"

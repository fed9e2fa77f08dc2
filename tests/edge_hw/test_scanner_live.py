"""A socat pty as the scanner of a running agent: typed scans over SSE, unplug and replug."""

from __future__ import annotations

import time
from pathlib import Path

from hardware.sim.scanner import PtyScanner
from tests.edge.conftest import running_agent
from tests.edge_hw.conftest import hw_settings, return_body
from tests.edge_hw.sse import SseClient


def _connected(data: dict[str, object]) -> bool:
    return data["state"] == "connected"


def test_a_line_on_the_pty_arrives_as_a_typed_scan_and_replug_needs_no_restart(
    tmp_path: Path, scanner: PtyScanner
) -> None:
    settings = hw_settings(tmp_path, scanner_url=str(scanner.port))
    with running_agent(settings, connect=False) as run, SseClient(run.url) as sse:
        sse.next("scanner", _connected)
        assert sse.status_line.endswith("200 OK")
        scanner.type_line("4006381333931")
        scan = sse.next("scan").data
        assert scan["code"] == {"kind": "gtin", "value": "4006381333931", "valid": True,
                                "message": "GTIN-13 4006381333931"}
        assert scan["result"]["match"] == "unknown"
        assert run.rows("scans") == 1  # recorded like POST /api/scans

        scanner.unplug()
        gone = sse.next("scanner", lambda d: d["state"] == "disconnected").data
        assert str(scanner.port) in gone["last_error"]
        assert run.http.get("/api/devices").json()["scanner"]["state"] == "disconnected"
        scanner.plug()  # same link names, the agent keeps running
        sse.next("scanner", _connected, timeout=10)
        scanner.type_line("X001ABCDEF")
        assert sse.next("scan").data["code"]["kind"] == "fnsku"


def test_a_receipt_code_finds_its_return_and_bad_scans_get_a_clear_message(
    tmp_path: Path, scanner: PtyScanner
) -> None:
    settings = hw_settings(tmp_path, scanner_url=str(scanner.port), scanner_prefix="]C0")
    with running_agent(settings, connect=False) as run, SseClient(run.url) as sse:
        recorded = run.http.post("/api/returns", json=return_body()).json()
        sse.next("scanner", _connected)
        scanner.type_line("]C0" + recorded["return_code"].lower())  # prefix stripped, any case
        scan = sse.next("scan").data
        assert scan["code"]["kind"] == "return_code"
        assert [r["return_id"] for r in scan["result"]["returns"]] == [recorded["return_id"]]
        # the sentence in the store's language (de), the state by its label, never its code
        assert scan["message"] == f"Rückgabe {recorded['return_id']} (Angenommen)"

        wrong_check = recorded["return_code"][:-1] + ("0" if recorded["return_code"][-1] != "0"
                                                      else "1")
        scanner.type_line(wrong_check)
        misread = sse.next("scan").data
        assert misread["code"]["kind"] == "invalid" and misread["result"] is None
        assert misread["message"].startswith("Rückgabecode falsch gelesen: ")
        assert "check character" in misread["message"]  # the parser's detail, as it came
        assert misread["message"].endswith("Bitte erneut scannen.")

        scanner.write(b"\x00\x1b\xff\xfegarbage\r\n" + b"9" * 2000 + b"\r\n")
        garbage = sse.next("scan").data
        assert garbage["code"]["valid"] is False
        assert garbage["message"].startswith("Scan nicht lesbar")
        assert sse.next("scan").data["message"].startswith("Scan nicht lesbar")  # too long

        scanner.type_line("4006381333931")  # the scanner still works after the garbage
        assert sse.next("scan").data["code"]["kind"] == "gtin"


def test_the_api_scan_resolves_return_codes_too(tmp_path: Path) -> None:
    with running_agent(hw_settings(tmp_path), connect=False) as run:
        recorded = run.http.post("/api/returns", json=return_body()).json()
        found = run.http.post("/api/scans", json={"code": recorded["return_code"]}).json()
        assert found["match"] == "return"
        assert found["returns"][0]["return_id"] == recorded["return_id"]


def test_status_events_reach_a_new_stream_first_and_updates_follow(tmp_path: Path) -> None:
    with running_agent(hw_settings(tmp_path), connect=False) as run:
        with SseClient(run.url) as sse:
            assert sse.next("broker").data == {"connected": False}
            recorded = run.http.post("/api/returns", json=return_body()).json()
            update = sse.next("return").data
            assert update == {"return_id": recorded["return_id"], "action": "return.received"}
            time.sleep(0.05)
            assert run.agent.events.streams == 1
        deadline = time.monotonic() + 5
        while run.agent.events.streams and time.monotonic() < deadline:
            time.sleep(0.02)
        assert run.agent.events.streams == 0  # the client left: the stream was dropped


def test_the_server_ends_open_streams_when_it_stops(tmp_path: Path) -> None:
    with running_agent(hw_settings(tmp_path), connect=False) as run:
        sse = SseClient(run.url)
        sse.next("broker")
        started = time.monotonic()
    try:
        assert time.monotonic() - started < 3  # uvicorn did not wait for the stream to end
        assert sse.status_line.endswith("200 OK")
    finally:
        sse.close()

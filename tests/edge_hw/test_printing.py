"""Receipts and labels through a TCP printer stand-in: content, offline queue, paper out."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from hardware.escpos_text import decode
from hardware.sim.printer import PrinterStandIn
from tests.edge.conftest import Running, running_agent, wait_until
from tests.edge_hw.conftest import hw_settings, return_body
from tests.support.http_calls import http_get


def _printer(run: Running) -> dict[str, object]:
    return dict(run.http.get("/api/printer").json())


def test_a_recorded_return_prints_its_receipt_in_the_store_language(
    tmp_path: Path, printer: PrinterStandIn
) -> None:
    settings = hw_settings(tmp_path, printer_url=printer.url)
    with running_agent(settings, connect=False) as run:
        recorded = run.http.post("/api/returns", json=return_body(order_id="B-4711")).json()
        job = decode(printer.wait_for_jobs(1)[0].data)
    local = datetime.fromisoformat(recorded["received_at"]).astimezone(ZoneInfo("Europe/Berlin"))
    text = job.text
    assert "Filiale Mitte" in text and "Rückgabebeleg" in text
    assert local.strftime("%d.%m.%Y %H:%M") in text and local.tzname() in text
    assert "1 x Wasserkocher 1,7 l" in text and "2 x Tassen-Set" in text
    assert "54,80 EUR" in text  # 34.90 + 2 x 9.95, German decimal comma
    assert "B-4711" in text and "Wie es weitergeht" in text
    assert [(b.kind, b.data) for b in job.barcodes] == [("CODE128", recorded["return_code"])]
    assert job.qr_codes == [recorded["return_code"]]
    assert job.cuts == 1
    assert (tmp_path / "printed" / "0001.txt").read_text().count(recorded["return_code"]) >= 3


def test_with_the_printer_down_each_return_is_answered_with_its_receipt_queued_printed_later(
    tmp_path: Path, printer: PrinterStandIn
) -> None:
    settings = hw_settings(tmp_path, printer_url=printer.url)
    printer.close()  # the listener is down: connections are refused
    with running_agent(settings, connect=False) as run:
        wait_until(lambda: _printer(run)["status"] == "offline")
        ids = []
        for n in range(1, 11):
            answer = run.http.post("/api/returns", json=return_body())
            assert answer.status_code == 201
            ids.append(answer.json()["return_id"])
            # the receipt was queued in the return's own transaction, before the answer, and
            # waits there: the counter answered without printing it
            assert _printer(run)["queued"] == n
        report = _printer(run)
        assert report["status"] == "offline" and report["configured"] is True
        assert "unreachable" in str(report["last_error"])

        printer.start()  # back on the same port
        jobs = printer.wait_for_jobs(10, timeout=10)
        printed = [decode(job.data).qr_codes[0] for job in jobs]
        codes = [run.http.get(f"/api/returns/{rid}").json()["return_code"] for rid in ids]
        assert printed == codes  # in order, each once
        report = wait_until(lambda: (r := _printer(run))["queued"] == 0 and r)
        assert report["status"] == "ok" and report["last_error"] is None


def test_out_of_paper_holds_jobs_and_a_silent_printer_is_unknown_but_printed_to(
    tmp_path: Path, printer: PrinterStandIn
) -> None:
    printer.status = "paper_out"
    with running_agent(hw_settings(tmp_path, printer_url=printer.url), connect=False) as run:
        run.http.post("/api/returns", json=return_body())
        wait_until(lambda: _printer(run)["status"] == "paper_out" and _printer(run)["queued"])
        time.sleep(0.5)
        assert printer.jobs == []  # nothing sent to a printer without paper
        printer.status = "silent"  # paper reloaded; this printer answers no status query
        printer.wait_for_jobs(1)
        assert _printer(run)["status"] == "unknown"


def test_a_disposition_prints_a_label_and_a_reprint_is_queued(
    tmp_path: Path, printer: PrinterStandIn
) -> None:
    with running_agent(hw_settings(tmp_path, printer_url=printer.url), connect=False) as run:
        rid = run.http.post("/api/returns", json=return_body()).json()["return_id"]
        run.http.post(f"/api/returns/{rid}/inspection", json={"grade": "like_new"})
        done = run.http.post(f"/api/returns/{rid}/disposition",
                             json={"disposition": "restock_open_box", "location": "A-12"}).json()
        label = decode(printer.wait_for_jobs(2)[1].data)
        assert "LIKE NEW" in label.text and "RESTOCK OPEN BOX" in label.text
        assert "-> A-12" in label.text
        assert [b.data for b in label.barcodes] == [done["return_code"]]

        again = run.http.post(f"/api/returns/{rid}/receipt")
        assert again.status_code == 202 and again.json()["kind"] == "receipt"
        assert decode(printer.wait_for_jobs(3)[2].data).qr_codes == [done["return_code"]]
        missing = run.http.post("/api/returns/RXXXXXXXXXXXX/receipt")
        assert missing.status_code == 404 and missing.json()["detail"][0]["field"] == "return_id"


def test_a_separate_label_printer_gets_the_labels(tmp_path: Path, printer: PrinterStandIn) -> None:
    with PrinterStandIn() as labels, running_agent(hw_settings(
            tmp_path, printer_url=printer.url, label_printer_url=labels.url), connect=False) as run:
        rid = run.http.post("/api/returns", json=return_body()).json()["return_id"]
        run.http.post(f"/api/returns/{rid}/inspection", json={"grade": "good"})
        run.http.post(f"/api/returns/{rid}/disposition", json={"disposition": "dispose"})
        assert "DISPOSE" in decode(labels.wait_for_jobs(1)[0].data).text
        assert len(printer.wait_for_jobs(1)) == 1 and len(printer.jobs) == 1
        roles = [p["role"] for p in _printer(run)["printers"]]  # type: ignore[union-attr]
        assert roles == ["receipt", "label"]


def test_no_printer_configured_means_nothing_queued(tmp_path: Path) -> None:
    with running_agent(hw_settings(tmp_path), connect=False) as run:
        run.http.post("/api/returns", json=return_body())
        assert _printer(run) == {"configured": False, "status": "none", "queued": 0,
                                 "last_error": None, "printers": []}
        assert run.rows("print_jobs") == 0
        refused = run.http.post(f"/api/returns/{'R' + '0' * 12}/receipt")
        assert refused.status_code == 409
        assert "PRINTER_URL" in refused.json()["detail"][0]["message"]


def test_a_printer_url_that_cannot_work_shows_as_error_not_a_crash(tmp_path: Path) -> None:
    settings = hw_settings(tmp_path, printer_url="serial://")
    with running_agent(settings, connect=False) as run:
        answer = run.http.post("/api/returns", json=return_body())
        assert answer.status_code == 201
        report = wait_until(lambda: (r := _printer(run))["status"] == "error" and r)
        assert "serial://" in str(report["last_error"]) and report["queued"] == 1


def test_health_still_answers_while_the_printer_hangs(tmp_path: Path) -> None:
    """A printer that accepts the connection and then never reads must not stall the API."""
    import socket

    with socket.socket() as black_hole:
        black_hole.bind(("127.0.0.1", 0))
        black_hole.listen(1)
        url = f"tcp://127.0.0.1:{black_hole.getsockname()[1]}?timeout=10"
        with running_agent(hw_settings(tmp_path, printer_url=url), connect=False) as run:
            run.http.post("/api/returns", json=return_body()).raise_for_status()
            http_get(f"{run.url}/api/health", timeout=5).raise_for_status()
            # both answered while the receipt is still stuck at the printer (10 s before the
            # printer gives up): neither waited for it
            assert run.http.get("/api/printer").json()["queued"] == 1


@pytest.mark.parametrize(("language", "kanji", "zone", "title"), [
    ("zh", "gb18030", "Asia/Shanghai", "退货回执"),
    ("ja", "shift_jis", "Asia/Tokyo", "返品受付票"),
    ("en", "none", "America/New_York", "Return receipt"),
])
def test_receipts_in_every_store_language(tmp_path: Path, printer: PrinterStandIn, language: str,
                                          kanji: str, zone: str, title: str) -> None:
    settings = hw_settings(tmp_path, printer_url=printer.url, store_language=language,
                           printer_kanji=kanji, store_timezone=zone, printer_paper="58mm")
    with running_agent(settings, connect=False) as run:
        recorded = run.http.post("/api/returns", json=return_body()).json()
        job = decode(printer.wait_for_jobs(1)[0].data)
    local = datetime.fromisoformat(recorded["received_at"]).astimezone(ZoneInfo(zone))
    assert title in job.text and local.strftime("%H:%M") in job.text
    assert job.qr_codes == [recorded["return_code"]]
    assert max(len(line) for line in job.lines) <= 32 or language != "en"

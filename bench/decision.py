"""Benchmark of push to the counter (issue 10): hub decision -> the counter page shows it.

On loopback with real parts: a private Mosquitto, ``acorn-hub serve`` and ``acorn-edge run`` as
processes, and headless Chromium (Playwright, ``/usr/bin/chromium``) on the counter page. Returns
over the store's limit are recorded at the counter, so their refunds wait for approval at the hub.
For each sample the page opens one such return and shows "pending approval"; an approver then
approves it through the hub's API (``POST /api/refunds/{id}/approve``), and a MutationObserver in
the page notes when ``#refund-status`` says "approved". The time runs from just before the
approve request is sent until that DOM change; both ends read the machine's wall clock (Python's
``time.time()``, the page's ``Date.now()``), so it has a millisecond's resolution. An SSE client
in this process also notes when the agent's ``refund`` event arrives (the hub and link's share).
Prints figures beside the target; asserts nothing.

    python -m bench decision
"""

from __future__ import annotations

import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.spine import pct, row
from tests.edge_hw.sse import SseClient
from tests.support.broker import TestBroker
from tests.support.browser import ARGS, CHROMIUM
from tests.support.procs import BIN, Proc, edge_proc, hub_proc, wait_for

TARGET = "p99 <= 100 ms"
OVER_THE_LIMIT = "750.00"  # a POS refund the default policy sends to an approver
WATCH = """() => new Promise((resolve) => {
  const status = document.querySelector("#refund-status");
  window.__shownAt = null;
  new MutationObserver((changes, observer) => {
    if (status.dataset.status === "approved") {
      window.__shownAt = Date.now();
      observer.disconnect();
    }
  }).observe(status, { attributes: true, attributeFilter: ["data-status"] });
  resolve(true);
})"""


def token(hub: Proc) -> str:
    """An approver's API token, made by the hub's CLI."""
    out = subprocess.run([str(BIN / "acorn-hub"), "token", "create", "--name", "bench-approver",
                          "--role", "admin"], env=hub.env, capture_output=True, text=True,
                         check=True)
    return out.stdout.strip().splitlines()[-1]


def pending_returns(edge: Proc, count: int) -> list[dict[str, Any]]:
    """Record ``count`` returns over the limit; once each waits for approval, their views."""
    ids = []
    with httpx.Client(base_url=edge.url, timeout=10) as client:
        for n in range(count):
            body = {"channel": "pos", "reason": f"bench #{n}", "request_refund": True,
                    "items": [{"sku": f"SKU-{n}", "quantity": 1,
                               "unit_price": {"amount": OVER_THE_LIMIT, "currency": "USD"}}]}
            ids.append(client.post("/api/returns", json=body).raise_for_status().json()
                       ["return_id"])

        def all_pending() -> list[dict[str, Any]] | None:
            views = [client.get(f"/api/returns/{i}").json() for i in ids]
            waiting = all(v["refund"]["status"] == "pending_approval" for v in views)
            return views if waiting else None

        views: list[dict[str, Any]] = wait_for(all_pending, 120, "refunds pending approval")
    return views


def open_return(page: Any, return_id: str) -> None:
    """Open the return on the counter page (scan its id, open it) and wait for its status."""
    by = page.get_by_test_id
    if by("return-card").is_visible():
        by("next-customer").click()
    by("scan-input").fill(return_id)
    by("scan-input").press("Enter")
    by("open-return").first.click()
    page.wait_for_selector("[data-testid=refund-status][data-status=pending_approval]")


def sample(page: Any, hub: Proc, bearer: str, sse: SseClient,
           view: dict[str, Any]) -> tuple[float, float, float]:
    """One approval, in ms from the approver's request: until the page shows it, until the
    agent's event reached a stream, until the hub's API answered."""
    open_return(page, view["return_id"])
    page.evaluate(WATCH)
    refund_id = view["refund"]["refund_id"]
    started, started_perf = time.time() * 1000, time.perf_counter()
    httpx.post(f"{hub.url}/api/refunds/{refund_id}/approve", json={"reason": "bench"},
               headers={"Authorization": f"Bearer {bearer}"}, timeout=10).raise_for_status()
    answered = (time.perf_counter() - started_perf) * 1000
    event = sse.next("refund", lambda d: d["refund_id"] == refund_id and
                     d["status"] == "approved", timeout=10)
    page.wait_for_function("window.__shownAt !== null", timeout=10_000)
    shown = float(page.evaluate("window.__shownAt"))
    return shown - started, (event.received_at - started_perf) * 1000, answered


def measure(edge: Proc, hub: Proc, samples: int) -> dict[str, list[float]]:
    """``samples`` approvals watched on the counter page in headless Chromium."""
    from playwright.sync_api import sync_playwright

    bearer = token(hub)
    views = pending_returns(edge, samples + 2)
    figures: dict[str, list[float]] = {"screen": [], "stream": [], "answer": []}
    with sync_playwright() as playwright, SseClient(edge.url) as sse:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS,
                                             headless=True)
        try:
            page = browser.new_page(viewport={"width": 1024, "height": 768})
            page.goto(edge.url)
            page.wait_for_selector("body[data-ready=true]")
            page.wait_for_selector("[data-testid=live-state][data-state=live]")
            for n, view in enumerate(views):
                times = sample(page, hub, bearer, sse, view)
                if n >= 2:  # the first two warm up the hub, the link and the page
                    for name, ms in zip(figures, times, strict=True):
                        figures[name].append(ms)
        finally:
            browser.close()
    return figures


def main(samples: int = 60) -> None:
    """Run the decision-to-screen benchmark and print the figures."""
    if not CHROMIUM.exists():
        print("  skipped: Debian chromium is not installed at /usr/bin/chromium", flush=True)
        return
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        broker = TestBroker(tmp / "mosquitto")
        hub = hub_proc(tmp, broker.hub_creds(), log_level="WARNING")
        edge = edge_proc(tmp, "bench-store", "n1", broker.node_creds("bench-store", "n1"),
                         log_level="WARNING")
        try:
            hub.start()
            edge.start()
            print("push to the counter (issue 10)", flush=True)
            figures = measure(edge, hub, samples)
            figures["push"] = [screen - answer for screen, answer
                               in zip(figures["screen"], figures["answer"], strict=True)]
            for name, what, target in (
                    ("screen", f"hub decision -> counter page shows it ({samples})", TARGET),
                    ("answer", "  of which: the hub's approve API answers", "-"),
                    ("stream", "  of which: ... -> the agent's live event", "-"),
                    ("push", "  the hub's answer -> the page shows it", "-")):
                ms = figures[name]
                row(f"{what}, p50", f"{statistics.median(ms):.1f} ms", "-")
                row(f"{what}, p99", f"{pct(ms, 99):.1f} ms", target)
        finally:
            edge.stop()
            hub.stop()
            broker.kill()


if __name__ == "__main__":
    main()

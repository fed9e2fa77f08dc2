"""The self-test probes the POS terminal when its address is set (``ACORN_EDGE_POS_TERMINAL_URL``):
against the POS simulator's health endpoint (a real process) it is reachable; with the simulator
stopped the connection is refused; a terminal that takes the connection and never answers has
timed out. The words are said on the counter page in the store's language (Chromium), and the
finding travels to the hub in the node's retained status over a real broker."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from edge_agent.errors import ConfigError
from edge_agent.selftest import checks
from edge_agent.settings import load_settings
from edge_agent.web import page_words
from protocol import NodeStatus, TopicKind, decode, node_topic
from tests.edge.conftest import (  # noqa: F401  (node_creds: fixture)
    NODE,
    STORE,
    make_settings,
    node_creds,
    running_agent,
    wait_until,
)
from tests.support.broker import MqttCreds, Probe, TestBroker
from tests.support.browser import BROWSER_MARKS, chromium_page
from tests.support.http_calls import http_get
from tests.support.procs import free_port

ROOT = Path(__file__).resolve().parents[2]


class PosSimulator:
    """``python -m edge_agent.pos.simulator --count 0 --health-port PORT`` as its own process."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}/health"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "edge_agent.pos.simulator", "--count", "0", "--health-port",
             str(port), "--terminal", "till-7"], cwd=ROOT, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True)
        wait_until(self._answers, timeout=30)

    def _answers(self) -> bool:
        assert self.proc.poll() is None, self.proc.communicate()[0]
        try:
            return http_get(self.url, timeout=2).json() == {"status": "ok", "terminal": "till-7"}
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(15)
        assert self.proc.stdout is not None
        self.proc.stdout.close()


@pytest.fixture
def pos_sim() -> Iterator[PosSimulator]:
    simulator = PosSimulator(free_port())
    try:
        yield simulator
    finally:
        simulator.stop()


@pytest.fixture
def silent_terminal() -> Iterator[str]:
    """host:port of a listener that takes connections and never says a word."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    try:
        yield f"127.0.0.1:{listener.getsockname()[1]}"
    finally:
        listener.close()


def pos_check(answer: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = next(c for c in answer["report"]["checks"] if c["name"] == "pos")
    return found


def run_selftest(http: httpx.Client) -> dict[str, Any]:
    answer = http.post("/api/selftest", json={"scan": False, "print_page": False}, timeout=30)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


@pytest.mark.parametrize("bad", ["pos.local", "ftp://till:21", "till:99999", ":80", "http://"])
def test_a_pos_address_that_cannot_be_probed_is_refused_by_name(bad: str,
                                                                tmp_path: Path) -> None:
    env = tmp_path / "edge.env"
    env.write_text(f'ACORN_EDGE_STORE_ID="s"\nACORN_EDGE_NODE_ID="n"\n'
                   f'ACORN_EDGE_POS_TERMINAL_URL="{bad}"\n')
    with pytest.raises(ConfigError, match="ACORN_EDGE_POS_TERMINAL_URL"):
        load_settings(env)


def test_reachable_refused_and_timed_out_said_by_the_self_test(
        tmp_path: Path, pos_sim: PosSimulator, silent_terminal: str) -> None:
    settings = make_settings(tmp_path, pos_terminal_url=pos_sim.url, selftest_at_start=False)
    with running_agent(settings, connect=False) as run:
        check = pos_check(run_selftest(run.http))
        assert (check["outcome"], check["code"]) == ("pass", "reachable"), check
        assert pos_sim.url in check["detail"]
        pos_sim.stop()  # the terminal is switched off
        stopped = run_selftest(run.http)
        check = pos_check(stopped)
        assert (check["outcome"], check["code"]) == ("fail", "refused"), check
        assert stopped["report"]["passed"] is False
    # a terminal that accepts and never answers, probed by URL (HTTP) and by host:port (TCP)
    reach, said = checks.probe_pos(f"http://{silent_terminal}/health", timeout=0.5)
    assert reach == "timed_out" and "did not answer within 0.5 s" in said
    assert checks.probe_pos(silent_terminal, timeout=0.5)[0] == "reachable"  # TCP: it connects
    assert checks.probe_pos(f"127.0.0.1:{free_port()}", timeout=0.5)[0] == "refused"


def test_a_terminal_whose_backlog_is_full_times_out_on_tcp() -> None:
    """A TCP connect that is never completed (the terminal's listen queue is full) times out."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    held = []
    try:
        address = f"127.0.0.1:{listener.getsockname()[1]}"
        # fill the queue: connects the listener never accepts
        for _ in range(8):
            extra = socket.socket()
            extra.setblocking(False)
            extra.connect_ex(listener.getsockname())
            held.append(extra)
        reach, said = checks.probe_pos(address, timeout=0.5)
        assert reach == "timed_out", said
    finally:
        for extra in held:
            extra.close()
        listener.close()


def test_the_finding_reaches_the_hub_in_the_nodes_status(
        tmp_path: Path, node_creds: MqttCreds, broker: TestBroker,  # noqa: F811
        pos_sim: PosSimulator) -> None:
    watcher = Probe(broker.admin_creds())
    try:
        watcher.subscribe(node_topic(STORE, NODE, TopicKind.STATUS))
        settings = make_settings(tmp_path, node_creds, pos_terminal_url=pos_sim.url,
                                 selftest_at_start=False)
        with running_agent(settings) as run:
            wait_until(lambda: _statuses(watcher))
            pos_sim.stop()
            run_selftest(run.http)
            said = wait_until(lambda: [s for s in _statuses(watcher)
                                       if s.pos_terminal == "refused"])
            assert said[-1].selftest_failing == ["pos"]
    finally:
        watcher.close()


def _statuses(probe: Probe) -> list[NodeStatus]:
    bodies = [decode(bytes(m.payload)).body for m in list(probe.messages)]
    return [b for b in bodies if isinstance(b, NodeStatus) and b.state == "online"]


@BROWSER_MARKS[0]
@BROWSER_MARKS[1]
def test_the_counter_panel_says_it_in_the_stores_language(
        tmp_path: Path, pos_sim: PosSimulator) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    settings = make_settings(tmp_path, pos_terminal_url=pos_sim.url, selftest_at_start=False,
                             store_language="de")
    with running_agent(settings, connect=False) as run, chromium_page() as page:
        run_selftest(run.http)
        page.goto(run.url)
        item = page.locator('[data-testid="selftest-check"][data-check="pos"]')
        sync_api.expect(item).to_have_attribute("data-code", "reachable", timeout=15_000)
        sync_api.expect(item).to_contain_text(page_words.DE["selftest_pos_reachable"])
        pos_sim.stop()
        page.get_by_test_id("selftest-run").click()
        sync_api.expect(item).to_have_attribute("data-code", "refused", timeout=30_000)
        sync_api.expect(item).to_contain_text(page_words.DE["selftest_pos_refused"])
        sync_api.expect(page.get_by_test_id("selftest-verdict")).to_have_attribute(
            "data-passed", "false")

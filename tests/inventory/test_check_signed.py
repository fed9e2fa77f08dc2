"""Signed stock snapshots on real processes: a store machine enrolled with ``acorn-edge enrol``
(its key made there, never sent) signs each snapshot page; the hub (``acorn-hub serve``) checks
it with the key of the certificate it issued, builds differences only on pages that verify, and
refuses a tampered page (signature invalid), with an alert on the desk's API and in /metrics.

Real Mosquitto with the mutual-TLS listener, real ``acorn-hub`` and ``acorn-edge`` processes,
the hub's and the store's SQLite files."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from edge_agent.stock.ledger import Ledger
from edge_agent.stock.snapshot import Signer
from edge_agent.storage import integrity
from edge_agent.storage.journal import event_checksum
from protocol import SnapshotLine, StockState, snapshot_digest
from tests.fleet.conftest import Fleet, fleet  # noqa: F401  (the fleet's CA and broker)
from tests.fleet.test_journey import hub, new_code, plain_env, run  # noqa: F401
from tests.support.http_calls import http_get, http_post
from tests.support.ports import free_port
from tests.support.procs import BIN, Proc, polling_client, wait_for

STORE, NODE = "store-t", "counter-1"


class Machine:
    """An enrolled store machine: its folder, and its agent when running."""

    def __init__(self, folder: Path, tmp: Path) -> None:
        self.folder, self.tmp = folder, tmp
        self.port = free_port()
        self.edge: Proc | None = None

    @property
    def db(self) -> Path:
        return self.folder / "var" / "edge" / "edge.db"

    @property
    def key(self) -> Path:
        return self.folder / "var" / "edge" / "identity" / "node.key"

    def start(self) -> Proc:
        in_folder = f"cd '{self.folder}' && exec '{BIN}/acorn-edge' run"
        self.edge = Proc("edge-enrolled", ["/bin/sh", "-c", in_folder],
                         plain_env() | {"ACORN_EDGE_HTTP_PORT": str(self.port)}, self.port,
                         self.tmp / "edge.log")
        self.edge.start(wait=False)
        wait_for(lambda: (h := self.edge.wait_healthy()) and h["broker_connected"], 30,  # type: ignore[union-attr]
                 "the enrolled agent connected to the broker")
        return self.edge

    def stop(self) -> None:
        if self.edge is not None:
            self.edge.stop()
            self.edge = None

    def post(self, path: str, body: dict[str, Any]) -> Any:
        assert self.edge is not None
        answer = http_post(f"{self.edge.url}{path}", json=body, timeout=10)
        assert answer.status_code in (200, 201), answer.text
        return answer.json()

    def synced(self) -> None:
        assert self.edge is not None
        wait_for(lambda: polling_client().get(f"{self.edge.url}/api/health",  # type: ignore[union-attr]
                                           timeout=5).json()["outbox_pending"] == 0,
                 30, "the store's events to reach the hub")


@pytest.fixture
def machine(hub: Proc, tmp_path: Path) -> Iterator[Machine]:  # noqa: F811
    """A store machine enrolled through the real CLI, its agent running over mutual TLS."""
    folder = tmp_path / "store-pc"
    folder.mkdir()
    _, link = new_code(hub)
    run([str(BIN / "acorn-edge"), "enrol", "--insecure-http", link], plain_env(), cwd=folder)
    enrolled = Machine(folder, tmp_path)
    enrolled.start()
    try:
        yield enrolled
    finally:
        enrolled.stop()


def hub_sql(tmp: Path, query: str) -> list[dict[str, Any]]:
    engine = sa.create_engine(f"sqlite:///{tmp / 'hub.db'}")
    try:
        with engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(sa.text(query))]
    finally:
        engine.dispose()


def token(hub: Proc) -> str:  # noqa: F811
    out = subprocess.run([str(BIN / "acorn-hub"), "token", "create", "--name", "hq",
                          "--role", "admin"], env=hub.env, capture_output=True, text=True,
                         check=True)
    return out.stdout.strip().splitlines()[-1]


def tamper_with_the_next_page(machine: Machine) -> str:
    """With the agent stopped, queue a genuinely signed snapshot, then change a figure in its
    page and reseal what needs no key (the digest, the outbox checksum): what someone with the
    store's database but not its key can do. The snapshot id."""
    store = integrity.open_checked(machine.db, STORE, NODE)
    try:
        taken = Ledger(store, STORE, NODE, signer=Signer.from_file(machine.key)).snapshot(
            "local", "tamperer", "counter")
        assert taken.signed
        with store.write() as tx:
            row = tx.one("SELECT * FROM outbox WHERE seq = ?", (taken.first_seq,))
            assert row is not None
            body = json.loads(row["body"])
            assert body["signature"]
            body["lines"][0]["levels"]["sellable"] = 3  # the shelf holds 13: claim 3
            lines = [SnapshotLine.model_validate(line) for line in body["lines"]]
            body["digest"] = snapshot_digest(body["snapshot_id"], body["page"],
                                             body["as_of_seq"], body.get("after_sku"),
                                             body.get("last_sku"), lines)
            text = json.dumps(body)
            tx.execute("UPDATE outbox SET body = ?, checksum = ? WHERE seq = ?",
                       (text, event_checksum(row["seq"], row["message_id"], row["kind"], text,
                                             row["occurred_at"]), row["seq"]))
    finally:
        store.close()
    return taken.snapshot_id


def test_a_signed_snapshot_is_checked_and_a_tampered_one_is_refused_with_an_alert(
        hub: Proc, machine: Machine, tmp_path: Path) -> None:  # noqa: F811
    machine.post("/api/stock/counts", {"count_id": "open", "lines": [
        {"sku": "SKU-A", "quantity": 10}]})
    machine.synced()
    # the hub keeps the key of the certificate it issued (never the private half)
    (cert,) = hub_sql(tmp_path, "SELECT public_key FROM node_certificates")
    assert cert["public_key"].startswith("-----BEGIN PUBLIC KEY-----")

    # a real difference on a signed page: the store's ledger was changed behind its moves' back
    conn = sqlite3.connect(machine.db, timeout=10)
    with conn:
        conn.execute("UPDATE stock_levels SET quantity = 13 WHERE sku = 'SKU-A'")
    conn.close()
    assert machine.post("/api/stock/snapshots", {})["signed"] is True
    (found,) = wait_for(lambda: hub_sql(tmp_path, "SELECT * FROM stock_differences"), 30,
                        "the hub to compare the signed snapshot")
    assert (found["store_quantity"], found["hub_quantity"], found["authentication"]) == (
        13, 10, "signature")

    machine.stop()
    tampered = tamper_with_the_next_page(machine)
    machine.start()
    (refused,) = wait_for(lambda: hub_sql(tmp_path, "SELECT * FROM stock_snapshot_refusals"),
                          30, "the hub to refuse the tampered page")
    assert (refused["snapshot_id"], refused["reason"], refused["status"]) == (
        tampered, "signature invalid", "open")
    # nothing was built on it: the one difference still carries the signed page's figures
    rows = hub_sql(tmp_path, "SELECT snapshot_id, store_quantity FROM stock_differences")
    assert [r["store_quantity"] for r in rows] == [13] and tampered not in {
        r["snapshot_id"] for r in rows}
    assert hub_sql(tmp_path, "SELECT actor FROM audit_log WHERE action = "
                             "'stock.snapshot.refused'") == [{"actor": f"node:{STORE}/{NODE}"}]

    auth = {"Authorization": f"Bearer {token(hub)}"}
    listed = http_get(f"{hub.url}/api/stock/refusals", headers=auth, timeout=10).json()
    assert [(r["snapshot_id"], r["reason"], r["alert"]) for r in listed] == [
        (tampered, "signature invalid", True)]
    metrics = http_get(f"{hub.url}/metrics", headers=auth, timeout=10).text
    assert "acorn_hub_stock_snapshots_refused 1.0" in metrics
    done = http_post(f"{hub.url}/api/stock/refusals/{refused['id']}/dismiss",
                     json={"note": "the store PC was reimaged"}, headers=auth, timeout=10)
    assert done.status_code == 200 and done.json()["alert"] is False, done.text
    metrics = http_get(f"{hub.url}/metrics", headers=auth, timeout=10).text
    assert "acorn_hub_stock_snapshots_refused 0.0" in metrics
    again = http_post(f"{hub.url}/api/stock/refusals/{refused['id']}/dismiss", json={},
                      headers=auth, timeout=10)
    assert again.status_code == 409


def test_the_page_signature_binds_the_figures_and_the_node() -> None:
    """The check's own verdicts, over a key made here: signed, tampered, unsigned, another
    node's, and a password node (no key on record: its broker identity only)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    from edge_agent.stock.snapshot import pages_of
    from hub.inventory.check import authenticate
    from protocol import utc_now

    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    signer = Signer(key)
    lines = [SnapshotLine(sku="SKU-A", levels={StockState.SELLABLE: 13})]
    (page,) = pages_of("SN1", "local", 4, utc_now(), lines,
                       sign=lambda digest: signer.sign(STORE, NODE, digest))
    assert authenticate(public, page, STORE, NODE).authentication == "signature"
    assert authenticate(public, page, STORE, "counter-2").refusal == "signature invalid"
    other = [SnapshotLine(sku="SKU-A", levels={StockState.SELLABLE: 3})]
    forged = page.model_copy(update={"lines": other, "digest": snapshot_digest(
        "SN1", 1, 4, None, None, other)})
    assert authenticate(public, forged, STORE, NODE).refusal == "signature invalid"
    unsigned = page.model_copy(update={"signature": None})
    assert authenticate(public, unsigned, STORE, NODE).refusal == "signature missing"
    assert authenticate(None, unsigned, STORE, NODE).authentication == "broker"

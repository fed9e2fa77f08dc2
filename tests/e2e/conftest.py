"""End-to-end fixtures: real broker, real `acorn-hub serve`, real `acorn-edge run` processes."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.support.broker import MqttCreds, TestBroker
from tests.support.http_calls import http_get
from tests.support.procs import BIN, Proc, edge_proc, hub_proc, stop_all


@dataclass
class System:
    """A broker, a hub and two store agents (store-a, store-b), each with its own credentials."""

    broker: TestBroker
    hub: Proc
    edge_a: Proc
    edge_b: Proc
    tmp: Path
    creds: dict[str, MqttCreds]

    def token(self, name: str = "approver-1", role: str = "admin") -> str:
        """Create an API token through the real CLI, as an operator would."""
        out = subprocess.run(
            [str(BIN / "acorn-hub"), "token", "create", "--name", name, "--role", role],
            env=self.hub.env,
            capture_output=True,
            text=True,
            check=True,
        )
        return out.stdout.strip().splitlines()[-1]

    def hub_sql(self, query: str, **params: Any) -> list[dict[str, Any]]:
        """Read the hub's own SQLite database (the ground truth of what it stored)."""
        engine = sa.create_engine(f"sqlite:///{self.tmp / 'hub.db'}")
        try:
            with engine.connect() as conn:
                return [dict(row._mapping) for row in conn.execute(sa.text(query), params)]
        finally:
            engine.dispose()

    def hub_inbox(self, store: str, node: str) -> list[dict[str, Any]]:
        """Every event the hub stored for one node, in seq order, with its return id."""
        rows = self.hub_sql(
            "SELECT seq, kind, body FROM inbox WHERE store_id = :s AND node_id = :n ORDER BY seq",
            s=store, n=node)
        for row in rows:
            body = row["body"] if isinstance(row["body"], dict) else json.loads(row["body"])
            row["return_id"] = body.get("return_id")
        return rows

    def hub_return_count(self, store: str) -> int:
        """How many returns the hub holds for a store."""
        rows = self.hub_sql("SELECT count(*) AS n FROM returns WHERE store_id = :s", s=store)
        return int(rows[0]["n"])

    def hub_get(self, path: str, token: str, **params: Any) -> Any:
        answer = http_get(
            f"{self.hub.url}{path}",
            params=params,
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        answer.raise_for_status()
        return answer.json()


def a_return(n: int = 0, price: str = "19.99", currency: str = "USD") -> dict[str, Any]:
    """A POS return request as the counter page sends it."""
    return {
        "channel": "pos",
        "reason": f"changed mind #{n}",
        "items": [
            {
                "sku": f"SKU-{n % 7}",
                "quantity": 1,
                "unit_price": {"amount": price, "currency": currency},
            }
        ],
        "request_refund": True,
    }


def total(items: list[dict[str, Any]]) -> Decimal:
    """Sum of quantity x unit price."""
    return sum((Decimal(i["unit_price"]["amount"]) * i["quantity"] for i in items), Decimal(0))


@pytest.fixture
def system(broker: TestBroker, tmp_path: Path) -> Iterator[System]:
    """Everything running; stopped (SIGTERM, then SIGKILL) after the test."""
    creds = {
        "hub": broker.hub_creds(),
        "store-a": broker.node_creds("store-a", "n1"),
        "store-b": broker.node_creds("store-b", "n1"),
    }
    hub = hub_proc(tmp_path, creds["hub"])
    edge_a = edge_proc(tmp_path, "store-a", "n1", creds["store-a"])
    edge_b = edge_proc(tmp_path, "store-b", "n1", creds["store-b"])
    procs = [hub, edge_a, edge_b]
    try:
        hub.start()  # first: it is subscribed before the stores say anything
        for edge in (edge_a, edge_b):  # the two stores start side by side
            edge.start(wait=False)
        for edge in (edge_a, edge_b):
            edge.wait_healthy()
        yield System(broker, hub, edge_a, edge_b, tmp_path, creds)
    finally:
        stop_all(procs)

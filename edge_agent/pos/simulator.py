"""A POS terminal simulator: posts sample POS sale returns to an agent, as till software would.

    python -m edge_agent.pos.simulator --url http://127.0.0.1:8081 --count 3
    python -m edge_agent.pos.simulator --url http://127.0.0.1:8081 --every 300   # one every 5
    minutes

Each return carries what a till knows: per line a category and whether the packaging was opened,
and when the original sale was rung up. Each is posted, then posted again with the same
``pos_transaction_id`` (a till retrying after a lost answer), which must give back the same
return; then the sale receipt is looked up.
It uses only the documented API (``/api/pos/returns``, ``/api/pos/lookup``); Ctrl-C stops it.
With ``--health-port PORT`` it also answers ``GET /health`` (200, JSON) on ``--health-host``
(default 127.0.0.1), as a till's health endpoint would, for the agent's self-test
(``ACORN_EDGE_POS_TERMINAL_URL=http://127.0.0.1:PORT/health``); it then runs until stopped::

    python -m edge_agent.pos.simulator --count 0 --health-port 9200
Once the store has staff PINs the agent wants a POS API key: ``--key`` (or ``ACORN_POS_API_KEY``),
one of the agent's ``ACORN_EDGE_POS_API_KEYS``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

# sku, description, unit price, barcode, category (as the hub's refund policy names it)
CATALOG = [
    ("SKU-KETTLE-1", "Kettle 1.7 l", "34.90", "4006381333931", "home"),
    ("SKU-TOASTER-2", "2-slice toaster", "39.99", None, "home"),
    ("SKU-DRILL-18V", "Cordless drill 18 V", "129.00", None, "electronics"),
    ("SKU-LAMP-LED", "LED desk lamp", "24.50", None, "electronics"),
    ("SKU-MUG-SET", "Mug set (4)", "19.95", None, "home"),
    ("SKU-GAME-RACE", "Racing game (console)", "59.99", None, "software"),
    ("SKU-BLURAY-DOC", "Nature documentary Blu-ray", "17.99", None, "sealed_media"),
    ("SKU-HOODIE-M", "Hoodie, size M", "44.00", None, "apparel"),
]
REASONS = ["defective", "changed mind", "wrong item", "not as described"]
MAX_SALE_AGE = timedelta(days=45)  # most returns come back within a few weeks of the sale


def sample_return(rng: random.Random, currency: str, terminal: str,
                  now: datetime | None = None) -> dict[str, Any]:
    """One POS return body with 1-2 random lines (category, opened or sealed), the original sale
    a few hours to ~6 weeks before ``now``, and a fresh transaction id."""
    lines = []
    for sku, description, price, gtin, category in rng.sample(CATALOG, rng.randint(1, 2)):
        line: dict[str, Any] = {"sku": sku, "qty": rng.randint(1, 2), "description": description,
                                "price": {"amount": price, "currency": currency},
                                "category": category, "opened": rng.random() < 0.6}
        if gtin:
            line["gtin"] = gtin
        lines.append(line)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    age = rng.uniform(timedelta(hours=2).total_seconds(), MAX_SALE_AGE.total_seconds())
    sold_at = (now or datetime.now(UTC)) - timedelta(seconds=age)
    return {"pos_transaction_id": f"{terminal}-{stamp}-{secrets.token_hex(3)}",
            "receipt_id": f"B-{stamp}-{rng.randint(1, 9999):04d}", "lines": lines,
            "reason": rng.choice(REASONS), "refund_mode": rng.choice(["original_payment", "cash"]),
            "cashier": f"cashier-{rng.randint(1, 20)}", "terminal_id": terminal,
            "sold_at": sold_at.strftime("%Y-%m-%dT%H:%M:%SZ")}


def post_one(client: httpx.Client, body: dict[str, Any]) -> str:
    """Post, repeat, look up; a line describing what happened (raises on a broken agent)."""
    first = client.post("/api/pos/returns", json=body)
    if first.status_code != 201:
        return f"refused {first.status_code}: {first.text}"
    again = client.post("/api/pos/returns", json=body)
    same = again.status_code == 200 and again.json()["return_id"] == first.json()["return_id"]
    found = client.get("/api/pos/lookup", params={"receipt": body["receipt_id"]}).json()
    created = first.json()
    return (f"{body['pos_transaction_id']}: return {created['return_id']} "
            f"({created['return_code']}) for receipt {body['receipt_id']}; "
            f"retry {'gave the same return' if same else f'FAILED ({again.status_code})'}; "
            f"lookup finds {len(found['returns'])}")


def serve_health(host: str, port: int, terminal: str) -> ThreadingHTTPServer:
    """Answer ``GET /health`` on ``host:port`` in a thread (404 elsewhere) until shutdown()."""

    class Health(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            found = self.path.split("?")[0] == "/health"
            body = json.dumps({"status": "ok", "terminal": terminal} if found
                              else {"error": "not found"}).encode()
            self.send_response(200 if found else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the simulator prints what it posts, not each probe."""

    server = ThreadingHTTPServer((host, port), Health)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="pos-sim-health", daemon=True).start()
    return server


def main(argv: list[str] | None = None) -> None:
    """Post ``--count`` returns, then one every ``--every`` seconds if given."""
    parser = argparse.ArgumentParser(description="POS terminal simulator for an ACORN edge agent")
    parser.add_argument("--url", default="http://127.0.0.1:8081", help="the agent's local API")
    parser.add_argument("--count", type=int, default=1, help="returns to post at once")
    parser.add_argument("--every", type=float, default=0, help="then one every N seconds")
    parser.add_argument("--currency", default="EUR")
    parser.add_argument("--terminal", default="till-sim")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--key", default=os.environ.get("ACORN_POS_API_KEY", ""),
                        help="POS API key sent as a bearer token (default $ACORN_POS_API_KEY)")
    parser.add_argument("--health-port", type=int, default=0,
                        help="also answer GET /health on this port (the self-test probes it)")
    parser.add_argument("--health-host", default="127.0.0.1")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    health = None
    if args.health_port:
        try:
            health = serve_health(args.health_host, args.health_port, args.terminal)
        except OSError as err:
            sys.exit(f"pos simulator: cannot serve /health on port {args.health_port}: {err}")
        print(f"health: http://{args.health_host}:{args.health_port}/health", flush=True)
    headers = {"Authorization": f"Bearer {args.key}"} if args.key else {}
    with httpx.Client(base_url=args.url, timeout=10, headers=headers) as client:
        try:
            for _ in range(args.count):
                print(post_one(client, sample_return(rng, args.currency, args.terminal)),
                      flush=True)
            while args.every > 0:
                time.sleep(args.every)
                print(post_one(client, sample_return(rng, args.currency, args.terminal)),
                      flush=True)
            while health is not None:  # only the health endpoint: until stopped
                time.sleep(3600)
        except httpx.HTTPError as err:
            sys.exit(f"pos simulator: agent at {args.url} not answering: {err}")
        except KeyboardInterrupt:
            pass
        finally:
            if health is not None:
                health.shutdown()


if __name__ == "__main__":
    main()

"""Limits and scope on the hub and the edge, over real HTTP (issue 9, "What broke" 5).

Each test names the promise it protects in its docstring. The hub runs in-process under a real
uvicorn on a SQLite file; the edge agent runs the same way on its own data directory.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from edge_agent.devices.discovery import discover
from edge_agent.web.api import MAX_OFFSET as EDGE_MAX_OFFSET
from hub.access import users
from hub.access.permissions import Role, Scope
from hub.access.tokens import create_token
from hub.access.users import Actor
from hub.fleet import stores
from hub.fleet.advertise import Advertiser, HubAnnouncement
from hub.storage.engine import make_engine
from hub.web.api.ops import MAX_OFFSET
from tests.edge.conftest import Running, make_settings, running_agent
from tests.hub.conftest import RunningHub, hub_settings, start_hub
from tests.hub.helpers import ingest
from tests.support.databases import migrated

ONE_MIB = 1024 * 1024
SETUP = Actor("test-setup", "operator")


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[RunningHub]:
    """A hub serving its API on a SQLite file (MQTT off)."""
    yield from start_hub(hub_settings(f"sqlite:///{tmp_path / 'hub.db'}"))


def raw_request(url: str, head: bytes, body: Iterator[bytes] = iter(())) -> tuple[bytes, int]:
    """Send ``head`` then ``body`` chunks on a raw socket until the server answers or hangs up;
    return the answer's first bytes and how many body bytes were written."""
    parts = urlsplit(url)
    sent = 0
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as conn:
        conn.sendall(head)
        try:
            for chunk in body:
                conn.sendall(chunk)
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed while we were still sending: the point
        reply = b""
        try:
            while chunk := conn.recv(65536):  # the answer closes the connection: read to the end
                reply += chunk
        except ConnectionResetError:
            pass
        return reply, sent


def chunked(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    """``total`` bytes of a JSON-ish body in HTTP/1.1 chunked framing."""
    piece = b"x" * size
    for _ in range(total // size):
        yield b"%x\r\n%s\r\n" % (size, piece)
    yield b"0\r\n\r\n"


def test_hub_refuses_a_declared_100_mb_body_unread(hub: RunningHub) -> None:
    """Promise: an unauthenticated caller cannot make the hub hold a huge body in memory —
    a declared Content-Length above the limit is answered 413 (error shape) before reading."""
    url = str(hub.client.base_url)
    head = (b"POST /api/session HTTP/1.1\r\nHost: hub\r\nContent-Type: application/json\r\n"
            b"Content-Length: 104857600\r\n\r\n")
    reply, _ = raw_request(url, head)
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]
    body = json.loads(reply.split(b"\r\n\r\n", 1)[1])
    assert body == {"detail": [{"field": "body", "message":
                                f"the request body is larger than {ONE_MIB} bytes"}]}


def test_hub_stops_reading_a_chunked_body_past_the_limit(hub: RunningHub) -> None:
    """Promise: a body without a declared length is read only up to the limit, then refused —
    a 100 MB chunked upload is cut off long before its end."""
    url = str(hub.client.base_url)
    head = (b"POST /api/users HTTP/1.1\r\nHost: hub\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n")
    reply, sent = raw_request(url, head, chunked(100 * ONE_MIB))
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]
    # socket buffers may swallow some megabytes past the limit, never the whole upload
    assert sent < 40 * ONE_MIB


def test_hub_lets_a_body_within_the_limit_through(hub: RunningHub) -> None:
    """Promise: the limit refuses only what is too big — a normal request still reaches its
    route (here: 401, since it has no token), with its body intact."""
    answer = hub.client.post("/api/users", json={"username": "x" * 1000})
    assert answer.status_code == 401


# --- paging and ids bounded; nulls and empties refused by name -----------------------------

HUB_PAGED = ["/api/returns", "/api/refunds", "/api/desk/queue", "/api/dead-letters", "/api/audit",
             "/api/risk-flags"]
HUGE = 2**63  # one past SQLite's and PostgreSQL's largest integer


@pytest.fixture
def admin(hub: RunningHub) -> dict[str, str]:
    """An admin token's header, and an admin user ``root`` to act on."""
    users.add_user(hub.engine, "root", "Root", "a long enough secret", Role.ADMIN, Scope(), SETUP)
    return {"Authorization": f"Bearer {create_token(hub.engine, 'ops', Role.ADMIN)}"}


def field_of(answer: httpx.Response) -> str | None:
    """The field named by the first item of an error answer."""
    item: dict[str, str | None] = answer.json()["detail"][0]
    return item["field"]


def test_hub_paging_is_bounded_on_every_list(hub: RunningHub, admin: dict[str, str]) -> None:
    """Promise: no paging number reaches the database unchecked — an offset beyond 2^63 (or
    past the documented maximum) is a 422 naming ``offset`` on every list, never an overflow
    500."""
    for path in HUB_PAGED:
        for offset in (HUGE, 2**70, MAX_OFFSET + 1, -1):
            answer = hub.client.get(path, params={"offset": offset}, headers=admin)
            assert answer.status_code == 422, (path, offset, answer.text)
            assert field_of(answer) == "offset"
        assert hub.client.get(path, params={"limit": 10**6}, headers=admin).status_code == 422
        last = hub.client.get(path, params={"offset": MAX_OFFSET}, headers=admin)
        assert last.status_code == 200, (path, last.text)


def test_hub_ids_in_paths_are_bounded(hub: RunningHub, admin: dict[str, str]) -> None:
    """Promise: an id too large for any database column is refused (422), not a 500."""
    cleared = hub.client.post(f"/api/risk-flags/{2**70}/clear", json={"reason": "fuzz"},
                              headers=admin)
    assert cleared.status_code == 422 and field_of(cleared) == "flag_id"
    missing = hub.client.post(f"/api/risk-flags/{2**62}/clear", json={"reason": "fuzz"},
                              headers=admin)
    assert missing.status_code == 404
    version = hub.client.get(f"/api/policy/versions/{2**70}", headers=admin)
    assert version.status_code == 422 and field_of(version) == "version"


def test_a_null_role_is_refused_by_name(hub: RunningHub, admin: dict[str, str]) -> None:
    """Promise: ``PATCH /api/users/{name}`` with ``{"role": null}`` is a 422 naming ``role``
    and changes nothing (it was a 500)."""
    for field in ("role", "active", "display_name", "password"):
        answer = hub.client.patch("/api/users/root", json={field: None}, headers=admin)
        assert answer.status_code == 422, answer.text
        assert field_of(answer) == field
    assert [u["role"] for u in users.list_users(hub.engine)] == ["admin"]
    ghost = hub.client.patch("/api/users/ghost", json={}, headers=admin)
    assert ghost.status_code == 404 and field_of(ghost) == "username"


# --- the last admin stays -------------------------------------------------------------------

def test_the_last_admin_cannot_be_demoted_or_disabled_over_the_api(
        hub: RunningHub, admin: dict[str, str]) -> None:
    """Promise: an admin token cannot leave the hub without an active admin user — demoting or
    disabling the last one is a 409 with a clear message, and nothing changes."""
    for change in ({"role": "viewer"}, {"active": False}, {"role": "finance", "active": False}):
        answer = hub.client.patch("/api/users/root", json=change, headers=admin)
        assert answer.status_code == 409, answer.text
        assert "last active admin" in answer.json()["detail"][0]["message"]
    assert [(u["role"], u["active"]) for u in users.list_users(hub.engine)] == [("admin", True)]
    users.add_user(hub.engine, "deputy", "Deputy", "a long enough secret", Role.ADMIN, Scope(),
                   SETUP)
    assert hub.client.patch("/api/users/root", json={"role": "viewer"},
                            headers=admin).status_code == 200
    refused = hub.client.patch("/api/users/deputy", json={"active": False}, headers=admin)
    assert refused.status_code == 409  # deputy is now the last one


def test_the_last_admin_cannot_be_disabled_from_the_cli(tmp_path: Path) -> None:
    """Promise: ``acorn-hub users disable`` refuses the last active admin with a clear message
    and a non-zero exit; with a second admin it works."""
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    env = {**os.environ, "ACORN_HUB_DATABASE_URL": url}
    cli = [str(Path(sys.executable).with_name("acorn-hub")), "users"]
    migrated(url)
    engine = make_engine(url)
    try:
        users.add_user(engine, "root", "Root", "a long enough secret", Role.ADMIN, Scope(), SETUP)
        done = subprocess.run([*cli, "disable", "root"], env=env, capture_output=True, text=True,
                              timeout=60, check=False)
        assert done.returncode == 1, done.stderr
        assert "last active admin" in done.stderr and "Traceback" not in done.stderr
        assert users.list_users(engine)[0]["active"] is True
        users.add_user(engine, "deputy", "Deputy", "a long enough secret", Role.ADMIN, Scope(),
                       SETUP)
        done = subprocess.run([*cli, "disable", "root"], env=env, capture_output=True, text=True,
                              timeout=60, check=False)
        assert done.returncode == 0, done.stderr
    finally:
        engine.dispose()


# --- the edge: paging bounded, empty lookups named ------------------------------------------

@pytest.fixture
def edge(tmp_path: Path) -> Iterator[Running]:
    """An edge agent with a store, no broker."""
    with running_agent(make_settings(tmp_path), connect=False) as run:
        yield run


def test_edge_paging_and_lookups_are_bounded(edge: Running) -> None:
    """Promise: the edge answers a hostile page or an empty lookup with a 422 naming the
    parameter (``offset`` beyond 2^63 and ``receipt=`` were 500s)."""
    for offset in (HUGE, 2**70, EDGE_MAX_OFFSET + 1):
        answer = edge.http.get("/api/returns", params={"offset": offset})
        assert answer.status_code == 422 and field_of(answer) == "offset", answer.text
    assert edge.http.get("/api/returns", params={"offset": EDGE_MAX_OFFSET}).status_code == 200
    for params in ({"receipt": ""}, {"order": ""}):
        answer = edge.http.get("/api/pos/lookup", params=params)
        assert answer.status_code == 422, answer.text
        assert field_of(answer) == next(iter(params))


# --- dead letters and metrics by scope ------------------------------------------------------

def _dead_letters_of_three_stores(hub: RunningHub) -> None:
    """s1 and s2 in region north, s3 in the south; one unreadable message from each."""
    for store, region in (("s1", "north"), ("s2", "north"), ("s3", "south")):
        stores.set_store(hub.engine, store, SETUP, region=region)
        ingest(hub.engine, (f"acorn/v1/stores/{store}/nodes/n1/events",
                            b"\xff secret customer " + store.encode()))


def test_dead_letters_follow_the_callers_scope_and_only_admins_see_payloads(
        hub: RunningHub) -> None:
    """Promise: a viewer scoped to one store reads only that store's dead letters, without
    payloads; an admin reads every store's, with payloads (it read every store's in full)."""
    _dead_letters_of_three_stores(hub)
    callers = {
        "one-store": (Role.VIEWER, Scope(store="s1")),
        "north": (Role.REGIONAL_MANAGER, Scope(region="north")),
        "everywhere": (Role.VIEWER, Scope()),
        "admin": (Role.ADMIN, Scope()),
    }
    seen: dict[str, list[str | None]] = {}
    for name, (role, scope) in callers.items():
        token = create_token(hub.engine, name, role, scope=scope)
        answer = hub.client.get("/api/dead-letters", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 200, answer.text
        page = answer.json()
        assert page["total"] == len(page["items"])
        seen[name] = sorted(item["sender"] for item in page["items"])
        shown = [item["payload"] for item in page["items"]]
        if role is Role.ADMIN:
            assert all(p and "secret customer" in p for p in shown)
        else:
            assert shown == [None] * len(shown)
            assert all(item["payload_bytes"] > 0 for item in page["items"])
    assert seen == {"one-store": ["s1/n1"], "north": ["s1/n1", "s2/n1"],
                    "everywhere": ["s1/n1", "s2/n1", "s3/n1"],
                    "admin": ["s1/n1", "s2/n1", "s3/n1"]}


def test_metrics_need_an_unscoped_token(hub: RunningHub) -> None:
    """Promise: the hub's /metrics is not open — no token is a 401, a store-scoped token a
    403 (the metrics count every store), a Prometheus token with the view right a 200."""
    anonymous = hub.client.get("/metrics")
    assert anonymous.status_code == 401 and anonymous.json()["detail"][0]["message"]
    scoped = create_token(hub.engine, "store-view", Role.VIEWER, scope=Scope(store="s1"))
    refused = hub.client.get("/metrics", headers={"Authorization": f"Bearer {scoped}"})
    assert refused.status_code == 403 and field_of(refused) == "authorization"
    scraper = create_token(hub.engine, "prometheus", Role.VIEWER)
    scraped = hub.client.get("/metrics", headers={"Authorization": f"Bearer {scraper}"})
    assert scraped.status_code == 200 and "acorn_hub_dead_letters" in scraped.text


# --- two hubs on one network ----------------------------------------------------------------

def test_two_hubs_with_one_name_both_advertise(caplog: pytest.LogCaptureFixture) -> None:
    """Promise: a second hub announcing the same mDNS name on the same network still starts
    (it took the name "<name>-2"; it used to exit 2 with NonUniqueNameException), and a store's
    discovery finds both."""
    def announce(port: int) -> HubAnnouncement:
        return HubAnnouncement(name="ACORN hub", http_port=port, mqtt_port=1883, version="9.9.9",
                               addresses=("127.0.0.1",))

    first = Advertiser(announce(18181))
    try:
        second = Advertiser(announce(18182))
        try:
            assert (first.name, second.name) == ("ACORN hub", "ACORN hub-2")
            assert "another hub announces 'ACORN hub'" in caplog.text
            found = discover(timeout=6.0, interfaces=["127.0.0.1"], serial=False)
        finally:
            second.close()
    finally:
        first.close()
    hubs = {f.name: f.where for f in found if f.kind == "hub"}
    assert hubs.get("ACORN hub") == "127.0.0.1:18181", hubs
    assert hubs.get("ACORN hub-2") == "127.0.0.1:18182", hubs


def test_chain_wide_reads_are_for_unscoped_callers(hub: RunningHub) -> None:
    """Promise: what spans every store and cannot be cut to a scope — the audit trail, the
    Amazon seller accounts — is refused (403) to a caller limited to a region or a store."""
    scoped = {
        "/api/audit": create_token(hub.engine, "north-finance", Role.FINANCE,
                                   scope=Scope(region="north")),
        "/api/amazon/accounts": create_token(hub.engine, "store-view", Role.VIEWER,
                                             scope=Scope(store="s1")),
    }
    for path, token in scoped.items():
        refused = hub.client.get(path, headers={"Authorization": f"Bearer {token}"})
        assert refused.status_code == 403, refused.text
        assert field_of(refused) == "authorization"
        assert "use a token or user without a scope" in refused.json()["detail"][0]["message"]
    finance = create_token(hub.engine, "hq-finance", Role.FINANCE)
    for path in scoped:
        assert hub.client.get(path, headers={"Authorization": f"Bearer {finance}"}
                              ).status_code == 200


# --- the framework's own errors, in our shape -----------------------------------------------

def test_framework_errors_come_in_the_published_shape(hub: RunningHub, edge: Running) -> None:
    """Promise: FastAPI's and Starlette's own answers (unknown route, wrong method, unreadable
    JSON, a malformed Content-Length) have the one error shape on both apps, like ours."""
    tries = [("GET", "/no-such-route", None), ("DELETE", "/api/returns", None),
             ("POST", "/api/session", b"{not json"), ("GET", "/static/missing.js", None)]
    for client in (hub.client, edge.http):
        for method, path, body in tries:
            answer = client.request(method, path, content=body,
                                    headers={"Content-Type": "application/json"})
            assert 400 <= answer.status_code < 500, (method, path, answer.text)
            items = answer.json()["detail"]
            assert items and all(set(i) - {"in"} == {"field", "message"} for i in items), items
        head = (b"POST /api/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: 12abc\r\n\r\n{}")
        reply, _ = raw_request(str(client.base_url), head)
        assert reply.startswith(b"HTTP/1.1 400"), reply[:100]

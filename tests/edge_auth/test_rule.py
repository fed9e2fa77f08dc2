"""The local API's access rule: by table (pure) and through the real API, on loopback and LAN."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from edge_agent.errors import ConfigError, Forbidden, RequestError, Unauthorized
from edge_agent.pos.models import REQUEST_EXAMPLE
from edge_agent.settings import load_settings
from edge_agent.staff.sessions import StaffSession
from edge_agent.web.auth import LOCAL, Caller, Credentials, decide, is_loopback, pos_key_name, stamp
from protocol import utc_now
from tests.edge.conftest import Running
from tests.edge_auth.conftest import (
    POS_KEY,
    apply_config,
    auth_settings,
    lan_address,
    running_on,
    sign_in,
)
from tests.edge_hw.conftest import return_body

ANN = StaffSession("ann", "store_staff", utc_now() + timedelta(hours=1))
POS = {"Authorization": f"Bearer {POS_KEY}"}


def creds(auth: str | None = None, pos: str | None = None, session: StaffSession | None = None,
          loopback: bool = True) -> Credentials:
    return Credentials(auth, pos, session, loopback)


@pytest.mark.parametrize(("shown", "required", "lan", "expected"), [
    (creds(), False, False, LOCAL),                                   # fresh install, this PC
    (creds(loopback=False), False, True, LOCAL),                      # LAN explicitly allowed
    (creds(loopback=False), False, False, (403, "client")),           # LAN refused
    (creds(), True, False, (401, "session")),                         # enrolled: sign in
    (creds(loopback=False), True, True, (401, "session")),            # LAN setting no excuse
    (creds(session=ANN), True, False, Caller("staff", "ann", "store_staff")),
    (creds(session=ANN, loopback=False), True, False, Caller("staff", "ann", "store_staff")),
    (creds("Bearer k", "pos-1", loopback=False), True, False, Caller("pos", "pos-1", "pos")),
    (creds("Bearer k", "pos-2", loopback=False), False, False, Caller("pos", "pos-2", "pos")),
    (creds("Bearer wrong"), False, False, (401, "authorization")),
    (creds("Basic abc", session=ANN), True, False, (401, "authorization")),  # never ignored
])
def test_the_rule_by_table(shown: Credentials, required: bool, lan: bool,
                           expected: Caller | tuple[int, str]) -> None:
    if isinstance(expected, Caller):
        assert decide(shown, required, lan) == expected
        return
    with pytest.raises(RequestError) as refused:
        decide(shown, required, lan)
    assert (refused.value.status_code, refused.value.field) == expected


@pytest.mark.parametrize(("host", "loopback"), [
    ("127.0.0.1", True), ("127.8.9.1", True), ("::1", True), ("::ffff:127.0.0.1", True),
    ("192.0.2.2", False), ("::ffff:192.0.2.2", False), ("fd00::2", False), (None, False),
    ("testclient", False), ("", False)])
def test_loopback_clients(host: str | None, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_pos_keys_match_exactly() -> None:
    keys = ("a" * 24, "b" * 24)
    assert pos_key_name("Bearer " + "b" * 24, keys) == "pos-2"
    assert pos_key_name("bearer  " + "a" * 24, keys) == "pos-1"
    assert pos_key_name("Bearer " + "a" * 23, keys) is None
    assert pos_key_name("Basic " + "a" * 24, keys) is None
    assert pos_key_name("Bearer ", keys) is None


def test_stamp_fills_and_refuses_impersonation() -> None:
    ann = Caller("staff", "ann", "store_staff")
    assert stamp(ann, None, "staff_id") == "ann" and stamp(ann, "ann", "staff_id") == "ann"
    with pytest.raises(Forbidden) as refused:
        stamp(ann, "max", "inspected_by")
    assert refused.value.field == "inspected_by"
    assert stamp(Caller("pos", "pos-1", "pos"), "cashier-17", "cashier") == "cashier-17"
    assert stamp(LOCAL, "bob", "staff_id") == "bob"


def test_weak_pos_keys_are_refused_at_startup(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="POS API key 2 is too weak"):
        load_settings(store_id="s", node_id="n", pos_api_keys=f"{POS_KEY}, short")
    keys = load_settings(store_id="s", node_id="n", pos_api_keys=f" {POS_KEY} ,{'x' * 24},")
    assert keys.pos_keys == (POS_KEY, "x" * 24)


GUARDED: list[tuple[str, str, Any]] = [
    ("POST", "/api/scans", {"code": "RMA-1"}),
    ("POST", "/api/returns", return_body()),
    ("GET", "/api/returns", None),
    ("GET", "/api/returns/R0000000000000", None),
    ("POST", "/api/returns/R0000000000000/inspection", {"grade": "good"}),
    ("POST", "/api/returns/R0000000000000/disposition", {"disposition": "dispose"}),
    ("POST", "/api/returns/R0000000000000/receipt", None),
    ("GET", "/api/pos/lookup?receipt=B-1", None),
    ("POST", "/api/pos/returns", REQUEST_EXAMPLE),
    ("GET", "/api/config", None),
    ("GET", "/api/events/stream", None),
]
OPEN = ["/api/health", "/api/session", "/api/devices", "/api/printer", "/metrics", "/",
        "/openapi.json"]


def test_enrolled_store_guards_every_route_but_health(enrolled: Running) -> None:
    for method, path, body in GUARDED:
        answer = enrolled.http.request(method, path, json=body)
        assert answer.status_code == 401, (method, path, answer.text)
        assert answer.json()["detail"][0]["field"] == "session"
        bad_key = enrolled.http.request(method, path, json=body,
                                        headers={"Authorization": "Bearer not-a-key"})
        assert bad_key.status_code == 401 and bad_key.json()["detail"][0]["field"] == \
            "authorization"
    for path in OPEN:
        assert enrolled.http.get(path).status_code == 200, path
    assert enrolled.rows("returns") == 0


def test_a_signed_in_member_of_staff_and_a_pos_key_may_work(enrolled: Running) -> None:
    assert enrolled.http.post("/api/pos/returns", json=REQUEST_EXAMPLE,
                              headers=POS).status_code == 201
    assert enrolled.http.get("/api/returns", headers=POS).status_code == 200
    sign_in(enrolled.http, "ann")
    recorded = enrolled.http.post("/api/returns", json=return_body())
    assert recorded.status_code == 201 and recorded.json()["staff_id"] == "ann"
    rid = recorded.json()["return_id"]
    inspected = enrolled.http.post(f"/api/returns/{rid}/inspection", json={"grade": "good"})
    assert inspected.json()["inspection"]["inspected_by"] == "ann"
    disposed = enrolled.http.post(f"/api/returns/{rid}/disposition",
                                  json={"disposition": "dispose", "decided_by": "ann"})
    assert disposed.json()["disposition"]["decided_by"] == "ann"
    with enrolled.agent.store.read() as tx:
        actors = {r["actor"] for r in tx.all("SELECT actor FROM audit WHERE entity = 'return'")}
    assert actors == {"ann", "cashier-17"}  # the POS names its own cashier


@pytest.mark.parametrize(("path", "body", "field"), [
    ("/api/returns", return_body(staff_id="max"), "staff_id"),
    ("/api/pos/returns", {**REQUEST_EXAMPLE, "cashier": "max"}, "cashier"),
    ("/api/returns/{rid}/inspection", {"grade": "good", "inspected_by": "max"}, "inspected_by"),
])
def test_staff_cannot_act_as_someone_else(enrolled: Running, path: str, body: dict[str, Any],
                                          field: str) -> None:
    rid = enrolled.http.post("/api/returns", json=return_body(), headers=POS).json()["return_id"]
    sign_in(enrolled.http, "ann")
    answer = enrolled.http.post(path.format(rid=rid), json=body)
    assert answer.status_code == 403, answer.text
    assert answer.json()["detail"][0]["field"] == field
    assert enrolled.rows("returns") == 1 and enrolled.rows("inspections") == 0


def test_disposition_by_someone_else_is_refused(enrolled: Running) -> None:
    rid = enrolled.http.post("/api/returns", json=return_body(), headers=POS).json()["return_id"]
    enrolled.http.post(f"/api/returns/{rid}/inspection", json={"grade": "good"}, headers=POS)
    sign_in(enrolled.http, "ann")
    answer = enrolled.http.post(f"/api/returns/{rid}/disposition",
                                json={"disposition": "dispose", "decided_by": "max"})
    assert answer.status_code == 403 and answer.json()["detail"][0]["field"] == "decided_by"


def test_before_enrolment_this_machine_works_without_sign_in(agent: Running) -> None:
    assert agent.http.post("/api/returns", json=return_body(staff_id="bob")).status_code == 201
    assert agent.http.get("/api/returns").json()["items"][0]["staff_id"] == "bob"
    assert apply_config(agent, staff=[]) == "applied"  # a config without staff: still open
    assert agent.http.post("/api/scans", json={"code": "X"}).status_code == 200


needs_lan = pytest.mark.skipif(lan_address() is None, reason="this machine has no LAN address")


@needs_lan
def test_before_enrolment_lan_clients_are_refused(tmp_path: Path) -> None:
    with running_on(auth_settings(tmp_path), "0.0.0.0") as (run, _url):
        answer = run.http.post("/api/returns", json=return_body())
        assert answer.status_code == 403 and answer.json()["detail"][0]["field"] == "client"
        assert run.http.get("/api/returns").status_code == 403
        assert run.http.get("/api/health").status_code == 200
        assert run.http.post("/api/returns", json=return_body(), headers=POS).status_code == 201
        assert run.rows("returns") == 1


@needs_lan
def test_lan_clients_may_work_before_enrolment_when_allowed(tmp_path: Path) -> None:
    settings = auth_settings(tmp_path, allow_unauthenticated_lan=True)
    with running_on(settings, "0.0.0.0") as (run, _url):
        assert run.http.post("/api/returns", json=return_body()).status_code == 201
        apply_config(run)
        assert run.http.post("/api/returns", json=return_body()).status_code == 401
        assert sign_in(run.http, "ann").status_code == 201  # a LAN tablet signs in
        assert run.http.post("/api/returns", json=return_body()).status_code == 201


def test_unauthorized_and_forbidden_are_errors_of_the_tree() -> None:
    assert issubclass(Unauthorized, RequestError) and Unauthorized.status_code == 401
    assert issubclass(Forbidden, RequestError) and Forbidden.status_code == 403


def test_the_pos_simulator_sends_its_key(enrolled: Running,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    from edge_agent.pos import simulator as pos

    pos.main(["--url", enrolled.url, "--seed", "1"])
    assert "refused 401" in capsys.readouterr().out
    pos.main(["--url", enrolled.url, "--seed", "1", "--key", POS_KEY])
    assert "retry gave the same return" in capsys.readouterr().out
    assert enrolled.rows("returns") == 1

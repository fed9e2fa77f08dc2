"""Staff sign-in with a PIN, offline: cookie flags, sessions stored hashed, expiry, sign-out,
the wrong-PIN lockout, and sessions ending when the config drops the staff member."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from edge_agent.staff import sessions as staff
from edge_agent.staff.sessions import Attempts, after_failure, locked_for
from edge_agent.web.auth import COOKIE
from protocol import utc_now
from tests.edge.conftest import Running
from tests.edge_auth.conftest import apply_config, sign_in, staff_pins


def test_sign_in_sets_a_strict_httponly_cookie_and_stores_only_its_hash(enrolled: Running) -> None:
    answer = sign_in(enrolled.http, "ann")
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert (body["signed_in"], body["staff_id"], body["role"]) == (True, "ann", "store_staff")
    cookie = answer.headers["set-cookie"]
    flags = {part.strip().split("=")[0].lower(): part.strip() for part in cookie.split(";")}
    assert {"httponly", "path", "max-age", "samesite"} <= set(flags)
    assert flags["samesite"].lower() == "samesite=strict" and flags["path"] == "Path=/"
    assert flags["max-age"] == f"Max-Age={12 * 3600}"
    token = enrolled.http.cookies[COOKIE]
    assert len(token) >= 40
    with enrolled.agent.store.read() as tx:
        stored = tx.all("SELECT * FROM staff_sessions")
    assert [row["id_hash"] for row in stored] == [staff.token_hash(token)]
    assert token not in str(stored)
    who = enrolled.http.get("/api/session").json()
    assert who["signed_in"] is True and who["staff_id"] == "ann"


@pytest.mark.parametrize(("staff_id", "pin"), [("ann", "0000"), ("nobody", "4711"),
                                               ("ann", "8080")])
def test_a_wrong_pin_or_unknown_staff_is_401_naming_the_pin(enrolled: Running, staff_id: str,
                                                            pin: str) -> None:
    answer = sign_in(enrolled.http, staff_id, pin)
    assert answer.status_code == 401
    assert answer.json()["detail"] == [{"field": "pin", "message": "wrong staff id or PIN"}]
    assert COOKIE not in enrolled.http.cookies


@pytest.mark.parametrize("pin", ["123", "123456789", "12a4", ""])
def test_a_pin_that_is_not_4_to_8_digits_is_422(enrolled: Running, pin: str) -> None:
    answer = enrolled.http.post("/api/session", json={"staff_id": "ann", "pin": pin})
    assert answer.status_code == 422 and answer.json()["detail"][0]["field"] == "pin"


def test_five_wrong_pins_lock_the_staff_id_for_five_minutes(enrolled: Running) -> None:
    now = utc_now()
    enrolled.agent.staff.clock = lambda: now
    for _ in range(5):
        assert sign_in(enrolled.http, "ann", "0000").status_code == 401
    locked = sign_in(enrolled.http, "ann")  # the right PIN, refused unchecked
    assert locked.status_code == 429 and locked.json()["detail"][0]["field"] == "staff_id"
    assert locked.headers["retry-after"] == "300"
    assert sign_in(enrolled.http, "max").status_code == 201  # other staff are not affected
    enrolled.agent.staff.clock = lambda: now + timedelta(seconds=299)
    assert sign_in(enrolled.http, "ann").status_code == 429
    enrolled.agent.staff.clock = lambda: now + timedelta(seconds=301)
    assert sign_in(enrolled.http, "ann").status_code == 201
    with enrolled.agent.store.read() as tx:
        assert tx.scalar("SELECT count(*) FROM signin_failures WHERE staff_id = 'ann'") == 0
        assert tx.scalar("SELECT count(*) FROM audit WHERE action = 'staff.locked_out'") == 1


def test_unknown_staff_ids_are_throttled_too(enrolled: Running) -> None:
    for _ in range(5):
        sign_in(enrolled.http, "mallory", "1234")
    assert sign_in(enrolled.http, "mallory", "1234").status_code == 429


def test_a_success_clears_the_failures(enrolled: Running) -> None:
    for _ in range(4):
        sign_in(enrolled.http, "ann", "0000")
    assert sign_in(enrolled.http, "ann").status_code == 201
    for _ in range(4):
        assert sign_in(enrolled.http, "ann", "0000").status_code == 401
    assert sign_in(enrolled.http, "ann").status_code == 201


T0 = datetime(2025, 3, 30, 12, 0, tzinfo=utc_now().tzinfo)
LOCK = timedelta(minutes=5)


@pytest.mark.parametrize(("before", "at", "after"), [
    (Attempts(), T0, Attempts(1, T0, None)),
    (Attempts(3, T0, None), T0 + timedelta(minutes=1), Attempts(4, T0 + timedelta(minutes=1))),
    (Attempts(4, T0, None), T0, Attempts(5, T0, T0 + LOCK)),
    (Attempts(4, T0, None), T0 + LOCK, Attempts(1, T0 + LOCK, None)),  # old failures forgotten
    (Attempts(5, T0, T0 + LOCK), T0 + LOCK, Attempts(1, T0 + LOCK, None)),  # after a lockout
])
def test_the_throttle_by_table(before: Attempts, at: datetime, after: Attempts) -> None:
    assert after_failure(before, at, 5, LOCK) == after


def test_locked_for_counts_down() -> None:
    assert locked_for(Attempts(5, T0, T0 + LOCK), T0 + timedelta(minutes=4)) == 60.0
    assert locked_for(Attempts(5, T0, T0 + LOCK), T0 + LOCK) == 0.0
    assert locked_for(Attempts(2, T0, None), T0) == 0.0


def test_a_session_expires_after_its_hours(enrolled: Running) -> None:
    sign_in(enrolled.http, "ann")
    now = utc_now()
    enrolled.agent.staff.clock = lambda: now + timedelta(hours=11, minutes=59)
    assert enrolled.http.get("/api/session").json()["signed_in"] is True
    assert enrolled.http.get("/api/returns").status_code == 200
    enrolled.agent.staff.clock = lambda: now + timedelta(hours=12, seconds=1)
    assert enrolled.http.get("/api/session").json()["signed_in"] is False
    answer = enrolled.http.get("/api/returns")
    assert answer.status_code == 401 and answer.json()["detail"][0]["field"] == "session"


def test_sign_out_ends_the_session_and_clears_the_cookie(enrolled: Running) -> None:
    sign_in(enrolled.http, "ann")
    token = enrolled.http.cookies[COOKIE]
    answer = enrolled.http.delete("/api/session")
    assert answer.status_code == 204 and 'acorn_counter_session=""' in answer.headers["set-cookie"]
    replay = enrolled.http.get("/api/returns", headers={"Cookie": f"{COOKIE}={token}"})
    assert replay.status_code == 401  # the old id opens nothing any more
    with enrolled.agent.store.read() as tx:
        actions = [r["action"] for r in tx.all("SELECT action FROM audit ORDER BY id")]
    assert actions[-2:] == ["staff.signed_in", "staff.signed_out"]
    assert enrolled.http.delete("/api/session").status_code == 204  # twice is fine


def test_a_new_config_without_the_staff_member_ends_their_session(enrolled: Running) -> None:
    sign_in(enrolled.http, "ann")
    assert enrolled.http.get("/api/returns").status_code == 200
    assert apply_config(enrolled, 2, staff=staff_pins({"max": ("store_manager", "8080")})) \
        == "applied"
    assert enrolled.http.get("/api/returns").status_code == 401


def test_a_role_change_in_the_config_applies_to_open_sessions(enrolled: Running) -> None:
    sign_in(enrolled.http, "ann")
    apply_config(enrolled, 2, staff=staff_pins({"ann": ("store_manager", "4711")}))
    assert enrolled.http.get("/api/session").json()["role"] == "store_manager"


def test_no_sign_in_before_the_store_has_staff(agent: Running) -> None:
    answer = sign_in(agent.http, "ann")
    assert answer.status_code == 409 and answer.json()["detail"][0]["field"] == "staff_id"
    who = agent.http.get("/api/session").json()
    assert who == {"signed_in": False, "staff_id": None, "role": None, "expires_at": None,
                   "signin_required": False}

"""Desk sign-in throttling: the pure rules by table, then the real hub (uvicorn, SQLite and
PostgreSQL) locking usernames and client addresses, across a restart, and unlocking them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest
from sqlalchemy import select

from hub.access import passwords, throttle
from hub.access.permissions import Role
from hub.access.throttle import FRESH, Count, Kind, Limits, locked_for, user_subject, wait
from hub.access.tokens import create_token
from hub.access.users import LOGIN_REFUSED
from hub.storage.engine import reading
from hub.storage.tables.core import audit_log
from tests.people.conftest import (
    FIXTURE_COST,
    PASSWORD,
    DeskHub,
    add_user,
    hub_settings,
    running,
)
from tests.people.test_cli_and_audit import run as cli
from tests.support.browser import BROWSER_MARKS, chromium_page
from tests.support.http_calls import http_get, http_post

# ---------------------------------------------------------------- the pure rules, by table

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
LIMITS = Limits(
    max_failures=3,
    window=timedelta(seconds=60),
    lockout=timedelta(seconds=120),
    max_failures_per_client=5,
)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def attempts(kind: Kind, steps: list[tuple[str, float]]) -> Count:
    """Play attempts as ``hub.access.signin`` does: refused ones are not counted, admitted ones
    count until they are settled; ``"x"`` fails, ``"ok"`` succeeds, ``"admit"`` stays open."""
    count = FRESH
    for what, second in steps:
        now = at(second)
        if wait(kind, count, now, LIMITS):
            continue
        count = throttle.admit(count, now, LIMITS)
        if what == "x":
            count = throttle.fail(kind, count, now, LIMITS)
        elif what == "ok" and not locked_for(count, now, LIMITS):
            count = throttle.succeed(kind, count, now, LIMITS)
    return count


def fails(*seconds: float) -> list[tuple[str, float]]:
    return [("x", s) for s in seconds]


RULES: list[tuple[str, Kind, list[tuple[str, float]], float, int]] = [
    # name, kind, attempts, asked at (s), wait (s)
    ("fewer failures than the limit", Kind.USER, fails(0, 10), 20, 0),
    ("the limit locks for the lockout", Kind.USER, fails(0, 10, 20), 20, 120),
    ("a lock counts down", Kind.USER, fails(0, 10, 20), 50, 90),
    ("a lock ends by itself", Kind.USER, fails(0, 10, 20), 140, 0),
    ("after a lock the count starts from zero", Kind.USER, fails(0, 10, 20, 140, 141), 142, 0),
    ("refused attempts do not lengthen a lock", Kind.USER, fails(0, 10, 20, 30, 100), 130, 10),
    ("failures outside the window start again", Kind.USER, fails(0, 10, 60, 61), 62, 0),
    ("three inside a later window lock", Kind.USER, fails(0, 60, 61, 62), 62, 120),
    ("a success clears the username", Kind.USER,
     [*fails(0, 10), ("ok", 15), *fails(20, 25)], 26, 0),
    ("the right password is refused while locked", Kind.USER,
     [*fails(0, 10, 20), ("ok", 30)], 30, 110),
    ("attempts being checked hold the limit (parallel guesses)", Kind.USER,
     [("admit", 0), ("admit", 1), ("admit", 2)], 3, 57),
    ("a client may fail more often than a username", Kind.CLIENT, fails(0, 1, 2, 3), 4, 0),
    ("a client at its limit is locked for the window", Kind.CLIENT, fails(0, 1, 2, 3, 4), 4, 60),
    ("a success gives a client one attempt back", Kind.CLIENT,
     [*fails(0, 1, 2), ("ok", 3), ("x", 4)], 5, 0),
    ("but does not wipe the client's failures", Kind.CLIENT,
     [*fails(0, 1, 2, 3), ("ok", 4), ("x", 5)], 5, 60),
    ("a client's window ends too", Kind.CLIENT, fails(0, 1, 2, 3, 60), 61, 0),
]


@pytest.mark.parametrize(("name", "kind", "steps", "asked", "expected"), RULES,
                         ids=[r[0] for r in RULES])
def test_throttle_rules(name: str, kind: Kind, steps: list[tuple[str, float]], asked: float,
                        expected: int) -> None:
    assert wait(kind, attempts(kind, steps), at(asked), LIMITS) == expected, name


def test_a_success_that_was_checked_while_another_attempt_locked_is_refused() -> None:
    count = FRESH
    for _ in range(3):  # three attempts admitted at once, none checked yet
        count = throttle.admit(count, at(0), LIMITS)
    count = throttle.fail(Kind.USER, count, at(1), LIMITS)  # the first is wrong: at the limit
    assert locked_for(count, at(1), LIMITS) == 120  # so a right one among the others is refused


@pytest.mark.parametrize(("typed", "counted"), [
    ("ada", "ada"), ("Ada", "ada"), ("  ADA ", "ada"), ("ghost", "ghost"), ("Straße", "strasse"),
    ("x" * 500, "x" * 200),
])
def test_usernames_are_counted_case_folded_whether_or_not_they_exist(typed: str,
                                                                     counted: str) -> None:
    assert user_subject(typed) == counted


# ---------------------------------------------------------------- the real hub

SMALL = {
    "login_max_failures": 3,
    "login_window_seconds": 3600,
    "login_lockout_seconds": 3600,
    "login_max_failures_per_client": 10,
}
WRONG = "not the password at all"


@dataclass
class Place:
    """Where the throttled hubs of one test run: one database, started again at will."""

    db_url: str
    tmp: Path
    limits: dict[str, int]

    @contextmanager
    def hub(self) -> Iterator[DeskHub]:
        settings = hub_settings(self.db_url, **self.limits)
        yield from running(self.db_url, self.tmp, settings)


def test_an_unknown_username_costs_a_real_users_scrypt() -> None:
    """Sign-in verifies an unknown username against ``DUMMY_HASH`` so that it takes as long as a
    real user's: the dummy carries the production cost (the hubs below lower both, see
    ``place``)."""
    parsed = passwords.parse(passwords.DUMMY_HASH)
    assert parsed is not None and parsed[0] == passwords.PASSWORD_COST


@pytest.fixture
def place(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Place:
    """The users these tests make are hashed at ``FIXTURE_COST`` (``add_user``); unknown usernames
    are verified at the same cost here, as in production they cost what a real user costs
    (``test_an_unknown_username_costs_a_real_users_scrypt``). The guesses below are unknown
    usernames: at the production cost each would be a quarter second of scrypt."""
    salt_and_key = passwords.DUMMY_HASH.split("$", 4)[4]
    cost = FIXTURE_COST
    cheap = f"scrypt${cost.n}${cost.r}${cost.p}${salt_and_key}"
    monkeypatch.setattr(passwords, "DUMMY_HASH", cheap)
    assert passwords.parse(passwords.DUMMY_HASH) is not None
    return Place(db_url, tmp_path, SMALL)


def session(hub: DeskHub, username: str, password: str) -> httpx.Response:
    return http_post(f"{hub.url}/api/session", json={"username": username, "password": password},
                     timeout=10)


def form(hub: DeskHub, username: str, password: str) -> httpx.Response:
    return http_post(f"{hub.url}/login", data={"username": username, "password": password},
                     timeout=10)


def lock(hub: DeskHub, username: str) -> None:
    for _ in range(SMALL["login_max_failures"]):
        refused = session(hub, username, WRONG)
        assert refused.status_code == 401, refused.text
        assert refused.json()["detail"][0]["message"] == LOGIN_REFUSED


def assert_locked(answer: httpx.Response, field: str | None = "username") -> int:
    assert answer.status_code == 429, answer.text
    retry = int(answer.headers["Retry-After"])
    assert 0 < retry <= SMALL["login_lockout_seconds"]
    [item] = answer.json()["detail"]
    assert item["field"] == field
    assert "too many failed sign-ins" in item["message"]
    assert "try again in 60 minutes" in item["message"]
    return retry


def audit_of(hub: DeskHub, action: str) -> list[Any]:
    with reading(hub.engine) as conn:
        return list(conn.execute(select(audit_log).where(audit_log.c.action == action)
                                 .order_by(audit_log.c.seq)))


def metric(hub: DeskHub, line_start: str) -> float:
    token = create_token(hub.engine, f"prometheus-{uuid4().hex[:8]}", Role.VIEWER)
    text = http_get(f"{hub.url}/metrics", headers={"Authorization": f"Bearer {token}"},
                    timeout=10).text
    [line] = [line for line in text.splitlines() if line.startswith(line_start)]
    return float(line.rsplit(" ", 1)[1])


def test_failures_lock_a_username_even_for_the_right_password(
    place: Place, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked: list[str] = []
    verify = passwords.verify

    def counting(secret: str, stored: str) -> bool:
        checked.append(secret)
        return verify(secret, stored)

    monkeypatch.setattr(passwords, "verify", counting)
    with place.hub() as hub:
        add_user(hub.engine, "ada", Role.ADMIN)
        for _ in range(2):  # a success clears the failures before the limit
            assert session(hub, "ada", WRONG).status_code == 401
            assert session(hub, "ada", WRONG).status_code == 401
            assert session(hub, "ada", PASSWORD).status_code == 200
        lock(hub, "ada")
        checked.clear()
        assert_locked(session(hub, "ada", PASSWORD))
        assert_locked(session(hub, "ADA", PASSWORD))  # one count, whatever the case
        assert checked == []  # refused unchecked: scrypt did not run
        redirected = form(hub, "ada", PASSWORD)
        assert redirected.status_code == 303
        location = redirected.headers["location"]
        assert location.startswith("/login?locked=")
        assert 0 < int(location.removeprefix("/login?locked=")) <= 3600
        assert form(hub, "ghost", WRONG).headers["location"] == "/login?failed=1"

        [entry] = audit_of(hub, "user.locked_out")
        assert (entry.actor, entry.entity, entry.entity_id) == ("system:sign-in", "user", "ada")
        assert entry.after["failures"] == 3 and entry.after["locked_until"].endswith("Z")
        assert PASSWORD not in str(entry._mapping) and WRONG not in str(entry._mapping)
        assert metric(hub, 'acorn_hub_sign_in_lockouts_total{subject="user"}') == 1
        assert metric(hub, 'acorn_hub_sign_in_failures_total{reason="refused"}') == 8
        assert metric(hub, 'acorn_hub_sign_in_failures_total{reason="throttled"}') == 3


def test_unknown_usernames_are_locked_the_same_way(place: Place) -> None:
    with place.hub() as hub:
        add_user(hub.engine, "ada", Role.ADMIN)
        lock(hub, "ada")
        lock(hub, "ghost")
        known, unknown = session(hub, "ada", PASSWORD), session(hub, "ghost", PASSWORD)
        assert_locked(known)
        assert_locked(unknown)
        assert known.json() == unknown.json()
        assert [e.entity_id for e in audit_of(hub, "user.locked_out")] == ["ada", "ghost"]


def test_a_lockout_holds_across_a_restart_until_unlocked_by_cli_or_api(place: Place) -> None:
    with place.hub() as hub:
        add_user(hub.engine, "ada", Role.ADMIN)
        add_user(hub.engine, "bob", Role.VIEWER)
        add_user(hub.engine, "root", Role.ADMIN)
        lock(hub, "ada")
    with place.hub() as hub:  # a new server and engine on the same database
        assert_locked(session(hub, "ada", PASSWORD))
        code, out, err = cli(place.db_url, "users", "unlock", "ada")
        assert (code, out.strip()) == (0, "user ada unlocked"), err
        assert cli(place.db_url, "users", "unlock", "ada")[1].strip() == "user ada was not locked"
        assert session(hub, "ada", PASSWORD).status_code == 200

        root, bob = hub.sign_in("root"), hub.sign_in("bob")
        lock(hub, "ada")
        assert bob.post("/api/users/ada/unlock").status_code == 403
        assert_locked(session(hub, "ada", PASSWORD))
        unlocked = root.post("/api/users/ada/unlock")
        assert unlocked.status_code == 200, unlocked.text
        assert unlocked.json() == {"username": "ada", "unlocked": True}
        assert root.post("/api/users/ada/unlock").json()["unlocked"] is False
        assert session(hub, "ada", PASSWORD).status_code == 200

        locked, unlocked_entries = audit_of(hub, "user.locked_out"), audit_of(hub, "user.unlocked")
        assert [e.entity_id for e in locked] == ["ada", "ada"]
        assert unlocked_entries[0].actor.startswith("cli:") and unlocked_entries[1].actor == "root"
        assert [e.before["failures"] for e in unlocked_entries] == [3, 3]
    code, out, err = cli(place.db_url, "audit", "verify")
    assert code == 0 and "audit chain intact" in out, out + err


def test_password_spraying_locks_the_client_whatever_the_username(place: Place) -> None:
    with place.hub() as hub:
        add_user(hub.engine, "ada", Role.ADMIN)
        limit = SMALL["login_max_failures_per_client"]
        for n in range(limit):
            assert session(hub, f"guess{n}", WRONG).status_code == 401
        for username in ("ada", "someone-new"):
            answer = session(hub, username, PASSWORD)
            assert_locked(answer, field=None)
            assert "from this address" in answer.json()["detail"][0]["message"]
        assert form(hub, "ada", PASSWORD).headers["location"].startswith("/login?locked=")
        assert audit_of(hub, "user.locked_out") == []  # no username reached its own limit
        assert metric(hub, 'acorn_hub_sign_in_lockouts_total{subject="client"}') == 1


def test_behind_a_local_reverse_proxy_each_forwarded_client_is_counted_apart(
        place: Place) -> None:
    """uvicorn trusts X-Forwarded-For from 127.0.0.1 (``FORWARDED_ALLOW_IPS`` widens that), so a
    proxy on the hub's host does not make all its users one client."""
    with place.hub() as hub:
        add_user(hub.engine, "ada", Role.ADMIN)

        def via(address: str, username: str, password: str) -> httpx.Response:
            return http_post(f"{hub.url}/api/session",
                             json={"username": username, "password": password},
                             headers={"X-Forwarded-For": address}, timeout=10)

        for n in range(SMALL["login_max_failures_per_client"]):
            assert via("203.0.113.7", f"guess{n}", WRONG).status_code == 401
        assert_locked(via("203.0.113.7", "ada", PASSWORD), field=None)
        assert via("198.51.100.9", "ada", PASSWORD).status_code == 200


@pytest.mark.parametrize("db_url", [pytest.param("sqlite", marks=BROWSER_MARKS)], indirect=True)
def test_the_login_page_says_how_long_to_wait(place: Place) -> None:
    pytest.importorskip("playwright.sync_api")
    with place.hub() as hub, chromium_page() as page:
        add_user(hub.engine, "ada", Role.ADMIN)
        lock(hub, "ada")
        page.goto(f"{hub.url}/login")
        page.get_by_test_id("username").fill("ada")
        page.get_by_test_id("password").fill(PASSWORD)
        page.get_by_test_id("sign-in").click()
        page.wait_for_url("**/login?locked=*")
        notice = page.get_by_test_id("locked")
        assert notice.is_visible()
        assert " ".join(notice.inner_text().split()) == (
            "Too many failed sign-ins. Try again in 60 minutes."
        )
        assert page.locator("#failed").is_hidden()

"""Desk sign-in over real HTTP: passwords, cookie flags, sessions that end, tokens with users."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, update

from hub.access import users as people
from hub.access.permissions import Role, Scope
from hub.access.tokens import create_token
from hub.storage.engine import reading, writing
from hub.storage.tables.access import sessions, users
from tests.people.conftest import PASSWORD, SETUP, DeskHub, add_user, running
from tests.support.http_calls import http_get, http_post

REFUSED = "wrong username or password, or the account is disabled"


@pytest.fixture
def hub(desk: DeskHub) -> DeskHub:
    add_user(desk.engine, "alice", Role.FINANCE)
    return desk


def login(hub: DeskHub, username: str, password: str) -> httpx.Response:
    return http_post(
        f"{hub.url}/api/session", json={"username": username, "password": password}, timeout=10
    )


def cookie_attrs(answer: httpx.Response) -> dict[str, str]:
    header = next(
        h for h in answer.headers.get_list("set-cookie") if h.startswith("acorn_session=")
    )
    parts = [p.strip() for p in header.split(";")]
    return {p.split("=", 1)[0].lower(): (p.split("=", 1)[1] if "=" in p else "") for p in parts}


@pytest.mark.parametrize(
    ("username", "password"),
    [("alice", "not the password"), ("nobody", PASSWORD), ("ALICE", PASSWORD)],
)
def test_wrong_credentials_get_the_same_401(hub: DeskHub, username: str, password: str) -> None:
    answer = login(hub, username, password)
    assert answer.status_code == 401
    assert answer.json()["detail"][0]["message"] == REFUSED
    assert "set-cookie" not in answer.headers


def test_a_disabled_user_cannot_sign_in_and_their_session_ends(hub: DeskHub) -> None:
    client = hub.sign_in("alice")
    assert client.get("/api/desk/queue").status_code == 200
    people.set_active(hub.engine, "alice", False, SETUP)
    assert client.get("/api/desk/queue").status_code == 401
    answer = login(hub, "alice", PASSWORD)
    assert answer.status_code == 401 and answer.json()["detail"][0]["message"] == REFUSED
    people.set_active(hub.engine, "alice", True, SETUP)
    assert login(hub, "alice", PASSWORD).status_code == 200


def test_the_cookie_is_httponly_lax_and_only_a_hash_is_stored(hub: DeskHub) -> None:
    answer = login(hub, "alice", PASSWORD)
    assert answer.status_code == 200
    attrs = cookie_attrs(answer)
    assert "httponly" in attrs and attrs["samesite"].lower() == "lax" and attrs["path"] == "/"
    assert "secure" not in attrs  # plain HTTP on loopback; see the Secure test below
    session_id = attrs["acorn_session"]
    body = answer.json()
    assert (body["username"], body["role"], body["display_name"]) == ("alice", "finance", "Alice")
    assert session_id not in answer.text  # the id is in the cookie only
    with reading(hub.engine) as conn:
        stored = conn.execute(select(sessions)).all()
        user = conn.execute(select(users.c.password_hash)).scalar_one()
    assert len(stored) == 1 and stored[0].id_hash != session_id and len(stored[0].id_hash) == 64
    assert PASSWORD not in user and user.startswith("scrypt$")


def test_logout_ends_the_session_on_the_server(hub: DeskHub) -> None:
    client = hub.sign_in("alice")
    stolen = client.cookies["acorn_session"]
    assert client.get("/api/session").status_code == 200
    answer = client.delete("/api/session")
    assert answer.status_code == 204
    assert cookie_attrs(answer).get("max-age") == "0"
    replay = http_get(f"{hub.url}/api/session", cookies={"acorn_session": stolen}, timeout=10)
    assert replay.status_code == 401
    with reading(hub.engine) as conn:
        assert conn.execute(select(sessions)).all() == []


def test_an_expired_session_is_refused(hub: DeskHub) -> None:
    client = hub.sign_in("alice")
    with writing(hub.engine) as tx:
        tx.conn.execute(update(sessions).values(expires_at=tx.now - timedelta(seconds=1)))
    answer = client.get("/api/desk/queue")
    assert answer.status_code == 401 and "expired" in answer.json()["detail"][0]["message"]


def test_a_password_change_signs_the_user_out_everywhere(hub: DeskHub) -> None:
    client = hub.sign_in("alice")
    people.set_password(hub.engine, "alice", "a brand new secret", SETUP)
    assert client.get("/api/session").status_code == 401
    assert login(hub, "alice", PASSWORD).status_code == 401
    assert login(hub, "alice", "a brand new secret").status_code == 200


def test_the_form_login_redirects_to_the_desk_and_the_desk_needs_a_session(hub: DeskHub) -> None:
    with httpx.Client(base_url=hub.url, timeout=10) as browser:
        assert browser.get("/desk").headers["location"] == "/login"
        bad = browser.post("/login", data={"username": "alice", "password": "wrong one!"})
        assert (bad.status_code, bad.headers["location"]) == (303, "/login?failed=1")
        good = browser.post("/login", data={"username": "alice", "password": PASSWORD})
        assert (good.status_code, good.headers["location"]) == (303, "/desk")
        assert "httponly" in cookie_attrs(good)
        page = browser.get("/desk")
        assert page.status_code == 200 and "ACORN approvals desk" in page.text
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        assert browser.get("/desk/static/desk.js").status_code == 200
        assert browser.post("/logout").headers["location"] == "/login"
        assert browser.get("/desk").status_code == 303


def test_a_token_that_carries_a_user_stops_with_the_user(hub: DeskHub) -> None:
    token = create_token(
        hub.engine, "alice-laptop", Role.FINANCE, username="alice", scope=Scope(region="north")
    )
    headers = {"Authorization": f"Bearer {token}"}
    queue = http_get(f"{hub.url}/api/desk/queue", headers=headers, timeout=10)
    assert queue.status_code == 200
    people.set_active(hub.engine, "alice", False, SETUP)
    assert http_get(f"{hub.url}/api/desk/queue", headers=headers, timeout=10).status_code == 401


@pytest.fixture
def secure_hub(tmp_path: Path) -> Iterator[DeskHub]:
    from tests.hub.conftest import hub_settings

    settings = hub_settings(f"sqlite:///{tmp_path / 'hub.db'}", session_cookie_secure=True)
    for hub in running(settings.database_url, tmp_path, settings):
        add_user(hub.engine, "alice", Role.FINANCE)
        yield hub


def test_the_cookie_is_secure_when_configured(secure_hub: DeskHub) -> None:
    assert "secure" in cookie_attrs(login(secure_hub, "alice", PASSWORD))

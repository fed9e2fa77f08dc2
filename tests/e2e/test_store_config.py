"""Staff PINs set at the hub reach the store, which then checks them itself, also offline."""

from __future__ import annotations

import httpx

from tests.e2e.conftest import System
from tests.support.http_calls import http_get, http_post, http_put
from tests.support.procs import wait_for


def test_a_pin_set_at_the_hub_signs_staff_in_at_that_store_only(system: System) -> None:
    token = system.token()
    headers = {"Authorization": f"Bearer {token}"}
    answer = http_put(f"{system.hub.url}/api/stores/store-a/pins/mgr-1", headers=headers,
                      json={"pin": "4821", "role": "store_manager"}, timeout=30)
    assert answer.status_code == 204, answer.text

    def applied() -> bool:
        health = http_get(f"{system.edge_a.url}/api/health", timeout=5).json()
        return bool(health.get("signin_required"))

    wait_for(applied, 30, "store A to apply its config")
    with httpx.Client(base_url=system.edge_a.url, timeout=10) as counter:
        assert counter.get("/api/returns").status_code == 401  # sign-in now required
        wrong = counter.post("/api/session", json={"staff_id": "mgr-1", "pin": "0000"})
        assert wrong.status_code == 401
        system.broker.stop()  # the PIN is checked at the store, without the hub
        signed = counter.post("/api/session", json={"staff_id": "mgr-1", "pin": "4821"})
        assert signed.status_code == 201, signed.text
        assert counter.get("/api/returns").status_code == 200
    at_b = http_post(f"{system.edge_b.url}/api/session",
                     json={"staff_id": "mgr-1", "pin": "4821"}, timeout=10)
    assert at_b.status_code in (401, 409)  # store B has no such staff member

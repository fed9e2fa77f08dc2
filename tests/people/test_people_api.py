"""Users, stores and staff PINs through the API: admin only (PINs: also the store's manager)."""

from __future__ import annotations

from sqlalchemy import select

from hub.access.permissions import Role, Scope
from hub.storage.engine import reading
from hub.storage.tables.access import staff_pins
from hub.storage.tables.core import audit_log
from tests.people.conftest import DeskHub, add_user

NEW = {
    "username": "nora",
    "display_name": "Nora North",
    "password": "nora's long secret",
    "role": "regional_manager",
    "region": "north",
}


def test_admins_manage_users_and_nothing_secret_comes_back(desk: DeskHub) -> None:
    add_user(desk.engine, "ada", Role.ADMIN)
    ada = desk.sign_in("ada")
    created = ada.post("/api/users", json=NEW)
    assert created.status_code == 201, created.text
    assert created.json()["region"] == "north" and "password" not in created.text
    assert ada.post("/api/users", json=NEW).status_code == 409
    unscoped = ada.post("/api/users", json={**NEW, "username": "sid", "role": "store_staff"})
    assert unscoped.status_code == 422 and unscoped.json()["detail"][0]["field"] == "store"
    listed = ada.get("/api/users").json()
    assert [u["username"] for u in listed] == ["ada", "nora"]
    assert all("hash" not in key for u in listed for key in u)
    changed = ada.patch(
        "/api/users/nora", json={"role": "finance", "region": None, "bulk_limit": "750"}
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["role"], changed.json()["region"]) == ("finance", None)
    nora = desk.sign_in("nora", "nora's long secret")
    assert nora.get("/api/audit").status_code == 200  # finance reads the audit trail now
    assert ada.patch("/api/users/nora", json={"active": False}).status_code == 200
    assert nora.get("/api/session").status_code == 401
    assert ada.patch("/api/users/ghost", json={"active": False}).status_code == 404
    assert ada.patch("/api/users/nora", json={"password": "x"}).status_code == 422
    with reading(desk.engine) as conn:
        actions = [
            r.action
            for r in conn.execute(
                select(audit_log.c.action).where(
                    audit_log.c.entity == "user", audit_log.c.entity_id == "nora"
                )
            )
        ]
    assert actions == ["user.created", "user.updated", "user.disabled"]


def test_stores_are_described_by_admins_and_pins_set_by_their_manager(desk: DeskHub) -> None:
    add_user(desk.engine, "ada", Role.ADMIN)
    add_user(desk.engine, "mia", Role.STORE_MANAGER, Scope(store="s1"))
    ada, mia = desk.sign_in("ada"), desk.sign_in("mia")
    described = ada.put(
        "/api/stores/s9",
        json={
            "region": "east",
            "city": "kyiv",
            "offline_limit": {"amount": "90.00", "currency": "EUR"},
        },
    )
    assert described.status_code == 200, described.text
    assert described.json()["offline_limit"] == {"amount": "90.00", "currency": "EUR"}
    assert mia.put("/api/stores/s1", json={"region": "south"}).status_code == 403
    pin = {"pin": "4821", "role": "store_staff"}
    assert mia.put("/api/stores/s1/pins/k1", json=pin).status_code == 204
    assert mia.put("/api/stores/s2/pins/k1", json=pin).status_code == 403
    assert mia.put("/api/stores/s1/pins/k2", json={"pin": "12"}).status_code == 422
    assert ada.put("/api/stores/s2/pins/k9", json=pin).status_code == 204
    assert mia.delete("/api/stores/s1/pins/k1").status_code == 204
    assert mia.delete("/api/stores/s1/pins/k1").status_code == 404
    with reading(desk.engine) as conn:
        left = conn.execute(select(staff_pins.c.store_id, staff_pins.c.staff_id)).all()
    assert [tuple(r) for r in left] == [("s2", "k9")]
    stores = {s["store_id"]: s for s in mia.get("/api/stores").json()}
    assert list(stores) == ["s1"] and stores["s1"]["offline_limit"] == {
        "amount": "150.00",
        "currency": "USD",
    }

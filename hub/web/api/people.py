"""People and stores: users (admin), store attributes (admin), staff PINs (admin or the store's
manager). Every change is audited; passwords and PINs never come back."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from hub.access import pins, signin, users
from hub.access.permissions import (
    Action,
    Principal,
    Role,
    Scope,
    StorePlace,
    can,
    require_in_scope,
)
from hub.access.users import Actor
from hub.errors import Forbidden, NotFound
from hub.fleet import stores as store_attrs
from hub.storage.engine import reading
from hub.storage.money import money_json
from hub.web.api.deps import Caller, Hub, StoreManager, UserManager
from hub.web.api.desk_models import PinIn, StoreIn, UserIn, UserOut, UserPatch
from hub.web.api.idempotency import IDEMPOTENT
from hub.web.api.models import ErrorOut

router = APIRouter(prefix="/api", tags=["people"])
ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut} for status in (401, 403, 404, 409, 422)
}


def actor_of(principal: Principal) -> Actor:
    """The audit actor of an API caller."""
    return Actor(principal.actor, principal.role.value)


@router.get("/users", response_model=list[UserOut], responses=ERRORS)
def list_users(hub: Hub, _who: UserManager) -> list[UserOut]:
    """Every user, without password hashes."""
    return [UserOut.model_validate(u) for u in users.list_users(hub.engine)]


@router.post("/users", response_model=UserOut, status_code=201, responses=ERRORS,
             dependencies=IDEMPOTENT)
def add_user(hub: Hub, who: UserManager, body: UserIn) -> UserOut:
    """Create a user with a role and a scope (store roles need a store)."""
    created = users.add_user(
        hub.engine,
        body.username,
        body.display_name,
        body.password,
        body.role,
        Scope(body.region, body.city, body.store),
        actor_of(who),
        body.bulk_limit,
    )
    return UserOut.model_validate(created)


@router.patch("/users/{username}", response_model=UserOut, responses=ERRORS,
              dependencies=IDEMPOTENT)
def change_user(hub: Hub, who: UserManager, username: str, body: UserPatch) -> UserOut:
    """Change a user: role, scope, display name, bulk limit, password, active."""
    sent = body.model_dump(exclude_unset=True)
    actor = actor_of(who)
    password, active = sent.pop("password", None), sent.pop("active", None)
    if "store" in sent:
        sent["store_id"] = sent.pop("store")
    if "role" in sent and sent["role"] is not None:
        sent["role"] = Role(sent["role"]).value
    if sent:
        users.update_user(hub.engine, username, actor, **sent)
    if password is not None:
        users.set_password(hub.engine, username, password, actor)
    if active is not None:
        users.set_active(hub.engine, username, active, actor)
    found = [u for u in users.list_users(hub.engine) if u["username"] == username]
    if not found:
        raise NotFound(f"no user {username!r}", field="username")
    return UserOut.model_validate(found[0])


@router.post("/users/{username}/unlock", responses=ERRORS, dependencies=IDEMPOTENT)
def unlock_user(hub: Hub, who: UserManager, username: str) -> dict[str, Any]:
    """Lift a sign-in lockout: clear the username's failed sign-ins (audited when there were
    any). ``unlocked`` says whether there was anything to clear."""
    return {"username": username, "unlocked": signin.unlock(hub.engine, username, actor_of(who))}


@router.put("/stores/{store_id}", responses=ERRORS, dependencies=IDEMPOTENT)
def describe_store(hub: Hub, who: StoreManager, store_id: str, body: StoreIn) -> dict[str, Any]:
    """Set a store's name, region, city and offline refund limit (only the fields sent)."""
    sent = body.model_fields_set
    limit = body.offline_limit
    kwargs: dict[str, Any] = {k: getattr(body, k) for k in ("name", "region", "city") if k in sent}
    if "offline_limit" in sent:
        kwargs["limit"] = limit.amount if limit else None
        kwargs["currency"] = limit.currency if limit else None
    done = store_attrs.set_store(hub.engine, store_id, actor_of(who), **kwargs)
    amount, currency = done.pop("offline_limit"), done.pop("offline_currency")
    done["offline_limit"] = money_json(amount, currency) if amount is not None else None
    return done


def _may_manage_pins(hub: Hub, who: Principal, store_id: str) -> None:
    if can(who, Action.MANAGE_STORES):
        return
    if who.role is not Role.STORE_MANAGER:
        raise Forbidden(f"role {who.role.value} may not manage staff PINs")
    with reading(hub.engine) as conn:
        place: StorePlace = store_attrs.place(conn, store_id)
    require_in_scope(who, place)


@router.put("/stores/{store_id}/pins/{staff_id}", status_code=204, responses=ERRORS,
            dependencies=IDEMPOTENT)
def set_pin(hub: Hub, who: Caller, store_id: str, staff_id: str, body: PinIn) -> None:
    """Set a staff member's PIN; the store's nodes get its hash with the store config."""
    _may_manage_pins(hub, who, store_id)
    pins.set_pin(hub.engine, store_id, staff_id, body.pin, Role(body.role), actor_of(who))


@router.delete("/stores/{store_id}/pins/{staff_id}", status_code=204, responses=ERRORS,
               dependencies=IDEMPOTENT)
def remove_pin(hub: Hub, who: Caller, store_id: str, staff_id: str) -> None:
    """Remove a staff member's PIN."""
    _may_manage_pins(hub, who, store_id)
    pins.remove_pin(hub.engine, store_id, staff_id, actor_of(who))

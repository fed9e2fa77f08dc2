"""Who is calling the local API, and the one rule deciding whether they may.

The rule (``decide``), for every guarded route (all of ``/api`` except ``GET /api/health``,
``/api/session``, ``GET /api/devices`` and ``GET /api/printer``):

1. ``Authorization: Bearer <key>`` with one of ``ACORN_EDGE_POS_API_KEYS`` -> the POS terminal
   (``pos-N``, N the key's place in the list); any other ``Authorization`` header -> 401 naming
   ``authorization`` (a wrong key is never silently ignored);
2. else a live staff session cookie -> that member of staff, with their role in the config in
   force;
3. else, once the store config names staff -> 401 naming ``session``: sign in or send a key;
4. else (not enrolled yet, or no staff PINs: a store is never locked out) -> the counter itself
   (``local``), but only for a loopback client unless ``ACORN_EDGE_ALLOW_UNAUTHENTICATED_LAN``;
   any other client -> 403 naming ``client``.

A signed-in member of staff acts as themself: ``stamp`` fills the request's staff fields with
their id, and naming someone else is 403 naming that field. A POS names its own cashiers (it
authenticates them), and before enrolment there are no identities to check. Only a signed-in
store manager may approve a refund offline, and only while the hub link is down.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import Depends, Request

from edge_agent.agent import Agent
from edge_agent.errors import Conflict, Forbidden, Unauthorized
from edge_agent.staff.sessions import StaffSession

COOKIE = "acorn_counter_session"
MANAGER = "store_manager"


@dataclass(frozen=True)
class Caller:
    """Who is asking: a member of staff, a POS terminal, or the (unenrolled) counter."""

    kind: Literal["staff", "pos", "local"]
    name: str
    role: str

    @property
    def staff_id(self) -> str | None:
        """The signed-in member of staff's id, or None for a POS or the local counter."""
        return self.name if self.kind == "staff" else None


LOCAL = Caller("local", "counter", "counter")


@dataclass(frozen=True)
class Credentials:
    """What a request shows: an Authorization header (and the POS key it matched), a session,
    and whether it comes from this machine."""

    authorization: str | None
    pos_name: str | None
    session: StaffSession | None
    loopback: bool


def decide(creds: Credentials, signin_required: bool, allow_lan: bool) -> Caller:
    """The caller behind ``creds`` under the rule above; Unauthorized or Forbidden if none."""
    if creds.authorization is not None:
        if creds.pos_name is None:
            raise Unauthorized("the Authorization header does not carry a valid POS API key "
                               "(Bearer <key>)", field="authorization")
        return Caller("pos", creds.pos_name, "pos")
    if creds.session is not None:
        return Caller("staff", creds.session.staff_id, creds.session.role)
    if signin_required:
        raise Unauthorized("sign in with your staff id and PIN (or send a POS API key)",
                           field="session")
    if creds.loopback or allow_lan:
        return LOCAL
    raise Forbidden("this counter is not enrolled yet, so it serves only this machine without "
                    "sign-in (ACORN_EDGE_ALLOW_UNAUTHENTICATED_LAN=true to allow the LAN)",
                    field="client")


def stamp(caller: Caller, value: str | None, field: str) -> str | None:
    """The staff id to record in ``field``: a signed-in member of staff's own, never another's."""
    if caller.staff_id is None:
        return value
    if value is not None and value != caller.staff_id:
        raise Forbidden(f"signed in as {caller.staff_id}: you cannot act as {value}", field=field)
    return caller.staff_id


def may_approve_offline(caller: Caller, link_up: bool) -> str:
    """The approving manager's id; Forbidden for anyone else, Conflict while the hub is there."""
    if caller.kind != "staff" or caller.role != MANAGER:
        raise Forbidden("only a store manager signed in at the counter may approve a refund "
                        "offline", field="approve_offline")
    if link_up:
        raise Conflict("the hub is reachable and decides this refund: approve offline only "
                       "while the hub link is down", field="approve_offline")
    return caller.name


def pos_key_name(authorization: str, keys: tuple[str, ...]) -> str | None:
    """``pos-N`` when the header is ``Bearer <key N>``, else None (constant time per key)."""
    scheme, _, sent = authorization.partition(" ")
    if scheme.lower() != "bearer" or not sent.strip():
        return None
    digest = hashlib.sha256(sent.strip().encode("utf-8")).digest()
    found = None
    for index, key in enumerate(keys, start=1):
        if hmac.compare_digest(digest, hashlib.sha256(key.encode("utf-8")).digest()):
            found = f"pos-{index}"
    return found


def is_loopback(host: str | None) -> bool:
    """True for 127.0.0.0/8, ::1 and IPv4-mapped loopback; False for anything else or nothing."""
    try:
        address = ipaddress.ip_address(host or "")
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def credentials(request: Request) -> Credentials:
    """What ``request`` shows (the session looked up in the agent's store)."""
    agent: Agent = request.app.state.agent
    header = request.headers.get("authorization")
    token = request.cookies.get(COOKIE)
    return Credentials(
        authorization=header,
        pos_name=pos_key_name(header, agent.settings.pos_keys) if header is not None else None,
        session=agent.staff.find(token) if token else None,
        loopback=is_loopback(request.client.host if request.client else None))


async def current_caller(request: Request) -> Caller:
    """FastAPI dependency: the caller of a guarded route (or 401/403).

    Async on purpose: it reads a session row (well under a millisecond, on the reading
    connection), and a thread-pool hop per request would cost more than that on a small box.
    """
    agent: Agent = request.app.state.agent
    creds = credentials(request)
    required = creds.session is None and creds.authorization is None and agent.staff.required()
    return decide(creds, required, agent.settings.allow_unauthenticated_lan)


CallerDep = Annotated[Caller, Depends(current_caller)]
GUARD = [Depends(current_caller)]

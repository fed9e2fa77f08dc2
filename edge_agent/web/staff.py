"""Staff sign-in at the counter, and the store config in force (tag ``staff``).

    POST   /api/session   {staff_id, pin} -> 201 and the session cookie; 401 wrong staff id or
                          PIN (field ``pin``), 429 locked after too many (``staff_id``, with
                          Retry-After), 409 when the store has no staff PINs yet
    GET    /api/session   who is signed in at this browser (always 200)
    DELETE /api/session   sign out -> 204, the cookie cleared
    GET    /api/config    the store config in force, without PIN hashes (guarded, see ``auth``)

The cookie (``acorn_counter_session``) is HttpOnly, SameSite=Strict, Path=/, and lasts
``session_hours``; it carries a random id whose SHA-256 is all the agent stores.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from edge_agent.staff import store_config
from edge_agent.staff.models import ConfigView, SessionView, SignInRequest, StaffView
from edge_agent.web.api import ERRORS, AgentDep, _json
from edge_agent.web.auth import COOKIE, GUARD

router = APIRouter(tags=["staff"])
SIGN_IN_ERRORS = {**ERRORS, 401: ERRORS[404], 429: ERRORS[404]}


@router.post("/api/session", response_model=SessionView, status_code=201,
             responses=SIGN_IN_ERRORS)
def sign_in(body: SignInRequest, agent: AgentDep) -> Response:
    """Sign in with a staff id and PIN, checked at the store (works with the hub away)."""
    token, session = agent.staff.sign_in(body.staff_id, body.pin)
    view = SessionView(signed_in=True, staff_id=session.staff_id, role=session.role,
                       expires_at=session.expires_at, signin_required=True)
    response = _json(view, 201)
    response.set_cookie(COOKIE, token, max_age=int(agent.settings.session_hours * 3600),
                        path="/", httponly=True, samesite="strict")
    return response


@router.get("/api/session", response_model=SessionView)
def who(request: Request, agent: AgentDep) -> Response:
    """Who is signed in at this browser, and whether this counter needs a sign-in at all."""
    token = request.cookies.get(COOKIE)
    session = agent.staff.find(token) if token else None
    required = agent.staff.required()
    if session is None:
        return _json(SessionView(signed_in=False, signin_required=required))
    return _json(SessionView(signed_in=True, staff_id=session.staff_id,
                             role=session.role,
                             expires_at=session.expires_at, signin_required=required))


@router.delete("/api/session", status_code=204)
def sign_out(request: Request, agent: AgentDep) -> Response:
    """Sign out: the session ends here and the cookie is cleared."""
    token = request.cookies.get(COOKIE)
    if token:
        agent.staff.sign_out(token)
    response = Response(status_code=204)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    return response


@router.get("/api/config", response_model=ConfigView, dependencies=GUARD, responses=ERRORS)
def config(agent: AgentDep) -> Response:
    """The store config from the hub in force here: version, offline refund limit, who may
    sign in (no PIN hashes), and why the last config received was refused, if it was."""
    with agent.store.read() as tx:
        held = store_config.held(tx)
        refusal = store_config.last_refusal(tx)
        required = store_config.signin_required(tx)
    if held is None:
        return _json(ConfigView(configured=False, signin_required=required,
                                last_refusal=refusal))
    return _json(ConfigView(
        configured=True, version=held.version, issued_at=held.issued_at,
        applied_at=held.applied_at,
        offline_refund_limit=held.offline_refund_limit, policy_version=held.policy_version,
        staff=[StaffView(staff_id=s, role=r) for s, r in held.staff],
        signin_required=required, last_refusal=refusal))

"""The desk's HTML: the login page, the desk page and their static files (no CDN, no build).

Rules:
- ``GET /login`` shows the form; ``POST /login`` (form-encoded) signs in and redirects (303) to
  ``/desk``, or back to ``/login?failed=1`` with the same answer for every refusal, or to
  ``/login?locked=<seconds>`` when the sign-in throttle holds the username or the client back;
- ``POST /logout`` ends the session and clears the cookie;
- ``GET /desk`` serves the single-page desk to a signed-in user and sends anyone else to
  ``/login``; the page talks to the JSON API with its cookie and CSRF token;
- pages go out with ``no-cache`` and a strict Content-Security-Policy (our own scripts only, no
  framing); static files come from the package (``hub/web/desk/static``) with ETags.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from urllib.parse import parse_qs

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from hub.access import sessions
from hub.access.signin import Throttled
from hub.errors import AuthError
from hub.web.api.auth import clear_cookie, client_of, set_cookie, sign_in
from hub.web.api.deps import Hub, current_session

router = APIRouter(include_in_schema=False)
STATIC = Path(str(resources.files("hub.web.desk").joinpath("static")))
PAGE_HEADERS = {
    "Cache-Control": "no-cache",
    # Only our own scripts and styles, never inside another site's frame.
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
MAX_FORM = 4096


def _page(name: str) -> FileResponse:
    return FileResponse(STATIC / name, media_type="text/html; charset=utf-8", headers=PAGE_HEADERS)


@router.get("/")
def root() -> RedirectResponse:
    """The hub's front door is the desk."""
    return RedirectResponse("/desk", status_code=303)


@router.get("/login")
def login_page() -> FileResponse:
    """The sign-in form."""
    return _page("login.html")


@router.post("/login")
async def login_form(hub: Hub, request: Request) -> Response:
    """Sign in from the form; 303 to the desk, or back to the form."""
    raw = await request.body()
    fields = parse_qs(raw[:MAX_FORM].decode("utf-8", errors="replace"))
    username = (fields.get("username") or [""])[0].strip()
    password = (fields.get("password") or [""])[0]
    try:
        session_id, expires = await run_in_threadpool(  # scrypt: off the event loop
            sign_in, hub, username, password, client_of(request))
    except Throttled as err:
        return RedirectResponse(f"/login?locked={err.retry_after}", status_code=303)
    except AuthError:
        return RedirectResponse("/login?failed=1", status_code=303)
    response = RedirectResponse("/desk", status_code=303)
    set_cookie(response, hub.settings, session_id, expires)
    return response


@router.post("/logout")
def logout_form(hub: Hub, request: Request) -> Response:
    """Sign out and go back to the form."""
    session_id = request.cookies.get(sessions.COOKIE)
    if session_id:
        sessions.close_session(hub.engine, session_id)
    response = RedirectResponse("/login", status_code=303)
    clear_cookie(response, hub.settings)
    return response


@router.get("/desk")
def desk_page(hub: Hub, request: Request) -> Response:
    """The desk, for a signed-in user."""
    try:
        signed_in = current_session(hub, request) is not None
    except AuthError:
        signed_in = False
    return _page("desk.html") if signed_in else RedirectResponse("/login", status_code=303)


def install(app: FastAPI) -> None:
    """Add the pages and the static files to ``app``."""
    app.include_router(router)
    app.mount("/desk/static", StaticFiles(directory=STATIC), name="desk-static")

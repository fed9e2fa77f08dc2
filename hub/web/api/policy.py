"""The refund policy as data: read it, its history, publish a new version, simulate a draft.

``PUT /api/policy`` takes the YAML itself (``Content-Type: application/yaml``, ``text/yaml`` or
``text/plain``) or JSON ``{"yaml": "...", "reason": "..."}``. A document the policy refuses
answers 422 with one item per problem, ``field`` being the path of the bad field
(``tiers[1].below``), and nothing is stored. ``POST /api/policy/draft`` answers what the desk's
editor shows for a draft (YAML with the next version, the fields, each problem at its field).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse

from hub.errors import InputError, NotFound
from hub.policy import PolicyError
from hub.policy import draft as policy_draft
from hub.policy import store as policy_store
from hub.refunds import simulate
from hub.storage.engine import reading
from hub.web.api.deps import Hub, PolicyEditor, Viewer
from hub.web.api.desk_models import (
    PolicyDraftIn,
    PolicyDraftOut,
    PolicyOut,
    PolicyVersionOut,
    ProblemOut,
    SimulateIn,
)
from hub.web.api.errors import error_body
from hub.web.api.idempotency import IDEMPOTENT
from hub.web.api.models import ErrorOut
from protocol import utc_now

router = APIRouter(prefix="/api/policy", tags=["policy"])
ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut} for status in (401, 403, 404, 422)
}
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/plain")
MAX_BODY = 200_000


def _out(policy: policy_store.ActivePolicy) -> PolicyOut:
    return PolicyOut(
        version=policy.version,
        name=policy.name,
        sha256=policy.sha256,
        published_by=policy.published_by,
        published_at=policy.published_at,
        yaml=policy.yaml,
    )


def refused(err: PolicyError) -> JSONResponse:
    """422 with every problem of a refused document, each naming its field path."""
    items = [error_body(p.path or None, p.message, "body") for p in err.problems]
    return JSONResponse({"detail": items}, status_code=422)


async def _document(request: Request) -> tuple[str, str | None]:
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise InputError(f"a policy document is at most {MAX_BODY} bytes", field="body")
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise InputError("the document is not UTF-8 text", field="body") from err
    if kind in YAML_TYPES:
        return text, request.headers.get("x-acorn-reason")
    if kind != "application/json":
        raise InputError('send YAML (application/yaml) or JSON {"yaml": ...}', field="body")
    try:
        data = json.loads(text)
    except ValueError as err:
        raise InputError("the body is not valid JSON", field="body") from err
    if not isinstance(data, dict) or not isinstance(data.get("yaml"), str):
        raise InputError('JSON bodies are {"yaml": "<document>", "reason": ...}', field="yaml")
    reason = data.get("reason")
    return data["yaml"], reason if isinstance(reason, str) and reason.strip() else None


@router.get("", response_model=PolicyOut, responses=ERRORS)
def get_policy(hub: Hub, _who: Viewer) -> PolicyOut:
    """The active policy: version, who published it, and its YAML."""
    return _out(policy_store.ensure_seeded(hub.engine))


@router.get("/versions", response_model=list[PolicyVersionOut], responses=ERRORS)
def get_versions(hub: Hub, _who: Viewer) -> list[PolicyVersionOut]:
    """Every published version, newest first."""
    policy_store.ensure_seeded(hub.engine)
    with reading(hub.engine) as conn:
        return [PolicyVersionOut.model_validate(v) for v in policy_store.versions(conn)]


@router.get("/versions/{version}", response_model=str, responses=ERRORS)
def get_version_text(hub: Hub, _who: Viewer,
                     version: Annotated[int, Path(ge=1, le=2**31 - 1)]) -> str:
    """The YAML of one published version."""
    with reading(hub.engine) as conn:
        text = policy_store.version_text(conn, version)
    if text is None:
        raise NotFound(f"no policy version {version}", field="version")
    return text


@router.put(
    "",
    response_model=PolicyOut,
    responses=ERRORS,
    dependencies=IDEMPOTENT,
    openapi_extra={
        "requestBody": {
            "content": {
                "application/yaml": {"schema": {"type": "string"}},
                "application/json": {
                    "schema": {
                        "type": "object",
                        "properties": {"yaml": {"type": "string"}, "reason": {"type": "string"}},
                    }
                },
            }
        }
    },
)
async def put_policy(hub: Hub, who: PolicyEditor, request: Request) -> Any:
    """Validate and publish a new version (it must raise ``version``); audited before/after."""
    text, reason = await _document(request)
    try:
        published = policy_store.publish(hub.engine, text, who.actor, who.role.value, reason)
    except PolicyError as err:
        return refused(err)
    return _out(published)


@router.post("/simulate", responses=ERRORS)
def simulate_draft(hub: Hub, _who: PolicyEditor, body: SimulateIn) -> Any:
    """Decide the last ``days`` days of refunds under the draft and the active policy: counts,
    the from → to matrix, money whose decision changes, examples. Nothing is stored."""
    policy_store.ensure_seeded(hub.engine)
    try:
        with reading(hub.engine) as conn:
            return simulate.run(conn, body.yaml, body.days, utc_now(), body.examples)
    except PolicyError as err:
        return refused(err)


@router.post("/draft", response_model=PolicyDraftOut, responses=ERRORS)
def draft_policy(hub: Hub, _who: PolicyEditor, body: PolicyDraftIn) -> PolicyDraftOut:
    """The next version of the policy from the editor: ``yaml`` (kept as written, comments too,
    its ``version`` raised) or the form's ``document`` (written into ``base``, the YAML the form
    was filled from, keeping its comments and order; without one, in the canonical layout).
    The version is always the active one + 1. A draft that does not validate answers 200 with
    ``valid: false`` and each problem at its field path, as publishing would refuse it; nothing
    is stored."""
    active = policy_store.ensure_seeded(hub.engine)
    if body.document is not None:
        made = policy_draft.from_sections(body.document, active.version, body.base)
    else:
        made = policy_draft.from_text(body.yaml or "", active.version)
    return PolicyDraftOut(
        valid=not made.problems,
        version=made.version,
        yaml=made.yaml,
        document=made.document.model_dump(mode="json") if made.document else None,
        problems=[ProblemOut(field=p.path, message=p.message) for p in made.problems],
    )

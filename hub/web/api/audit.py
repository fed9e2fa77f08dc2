"""The audit trail over HTTP: ``GET /api/audit?from=&to=`` (finance and admin).

Personal data is masked unless an admin asks for ``unmask=true``; that read is itself audited.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from hub.access.permissions import Principal, Role, require_unscoped
from hub.audit.export import count, day_start, entries
from hub.errors import Forbidden
from hub.storage.audit_chain import AuditDraft
from hub.storage.engine import reading, writing
from hub.web.api.deps import AuditReader, Hub
from hub.web.api.desk_models import AuditEntryOut, AuditPage
from hub.web.api.models import ErrorOut
from hub.web.api.ops import Limit, Offset

router = APIRouter(prefix="/api/audit", tags=["audit"])
ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut} for status in (401, 403, 422)
}
From = Annotated[datetime | None, Query(alias="from", description="UTC date or date-time")]
To = Annotated[datetime | None, Query(alias="to", description="exclusive, UTC")]


def note_unmasked(
    engine: Any, who: Principal, start: datetime | None, end: datetime | None, where: str
) -> None:
    """Record that someone read the trail with personal data in clear."""
    with writing(engine) as tx:
        tx.audit(
            AuditDraft(
                who.actor,
                who.role.value,
                "audit.exported_unmasked",
                "audit",
                where,
                None,
                {
                    "from": start.isoformat() if start else None,
                    "to": end.isoformat() if end else None,
                },
            )
        )


@router.get("", response_model=AuditPage, responses=ERRORS)
def get_audit(
    hub: Hub,
    who: AuditReader,
    start: From = None,
    end: To = None,
    unmask: bool = False,
    limit: Limit = 100,
    offset: Offset = 0,
) -> AuditPage:
    """Audit entries in ``[from, to)`` in chain order, personal data masked."""
    require_unscoped(who, "audit entries")
    if unmask and who.role is not Role.ADMIN:
        raise Forbidden("only an admin may read personal data in clear", field="unmask")
    start_at, end_at = (day_start(start) if start else None), (day_start(end) if end else None)
    with reading(hub.engine) as conn:
        total = count(conn, start_at, end_at)
        items = [
            AuditEntryOut.model_validate(e)
            for e in entries(conn, start_at, end_at, unmask, limit, offset)
        ]
    if unmask:
        note_unmasked(hub.engine, who, start_at, end_at, "api")
    return AuditPage(items=items, total=total, limit=limit, offset=offset)

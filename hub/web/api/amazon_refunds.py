"""What ``POST /api/refunds/{id}/retry`` takes and answers, and who may call it.

The route itself sits with approve and reject in ``hub.web.api.refunds``; the rules are
``hub.amazon.refunds.ops``'s: finance and admin, in their scope, retry a failed Amazon MFN refund,
saying why (403 for other roles, before the body is looked at; 409 for a refund that is not
failed or already has a retry queued; 422 naming ``reason`` when it is missing).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from pydantic import BaseModel, ConfigDict

from hub.access.permissions import Principal
from hub.amazon.refunds.ops import require_refund_officer
from hub.web.api.deps import current_principal
from hub.web.api.models import Out, Reason
from protocol.timeutil import UtcDatetime


def refund_officer(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    """Let through finance and admin only."""
    require_refund_officer(principal)
    return principal


RefundOfficer = Annotated[Principal, Depends(refund_officer)]


class RetryIn(BaseModel):
    """Why the failed refund is sent again (required)."""

    model_config = ConfigDict(extra="forbid")

    reason: Reason


class RetryOut(Out):
    """The queued retry: the refund goes out in a new feed with the next refunds run."""

    store_id: str
    refund_id: str
    requested_by: str
    reason: str
    requested_at: UtcDatetime


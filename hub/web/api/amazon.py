"""``GET /api/amazon/accounts``: the seller accounts, their status and last error, never secrets;
``GET /api/amazon/listings/issues``: SKUs whose quantity Amazon refused, with its issues."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from hub.access.permissions import require_unscoped
from hub.amazon.accounts import list_accounts
from hub.amazon.listings.outbox import issues as listing_issues
from hub.amazon.secrets import SecretSource
from hub.storage.engine import reading
from hub.web.api.deps import Hub, Viewer
from hub.web.api.models import ErrorOut

router = APIRouter(prefix="/api/amazon", tags=["amazon"])
ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut} for status in (401, 403, 422)}


class AmazonAccountOut(BaseModel):
    """A seller account as the API shows it."""

    name: str
    seller_id: str
    region: str
    marketplaces: list[str]
    endpoint: str | None
    status: str
    last_error: str | None
    last_error_at: datetime | None
    last_ok_at: datetime | None
    credentials_configured: bool


@router.get("/accounts", response_model=list[AmazonAccountOut], responses=ERRORS)
def get_accounts(hub: Hub, who: Viewer) -> list[AmazonAccountOut]:
    """Seller accounts: region, marketplaces, ok/error with Amazon's last message.

    ``credentials_configured`` says whether the secrets can be found; the secrets themselves are
    never stored in the database nor returned. The accounts serve every store: a caller with a
    scope gets 403.
    """
    require_unscoped(who, "the seller accounts")
    secrets = SecretSource(secrets_file=hub.amazon.secrets_file)
    with reading(hub.engine) as conn:
        accounts = list_accounts(conn)
    return [
        AmazonAccountOut(
            **a.public(), credentials_configured=secrets.configured(a.name, a.seller_id)
        )
        for a in accounts
    ]


class ListingIssueOut(BaseModel):
    """A SKU whose newest quantity change Amazon refused, with Amazon's issues."""

    account: str
    marketplace_id: str
    sku: str
    change_id: int
    quantity: int
    channel: str | None
    feed_id: str | None
    at: datetime | None
    issues: list[dict[str, Any]]


@router.get("/listings/issues", response_model=list[ListingIssueOut], responses=ERRORS)
def get_listing_issues(hub: Hub, who: Viewer, account: str | None = None) -> list[ListingIssueOut]:
    """SKUs whose newest quantity change Amazon refused: the quantity and Amazon's issues
    (code, message, severity), from patchListingsItem or a listings feed's processing report.

    Amazon quantities serve every store: a caller with a scope gets 403.
    """
    require_unscoped(who, "the Amazon listings")
    with reading(hub.engine) as conn:
        found = listing_issues(conn, account)
    return [ListingIssueOut(**row) for row in found]

"""Login with Amazon: the token endpoint and the access tokens it issues.

`POST /auth/o2/token` takes a form with `grant_type=refresh_token`, `client_id`,
`client_secret` and `refresh_token` and answers `{"access_token", "refresh_token",
"token_type": "bearer", "expires_in"}`. Errors take LWA's OAuth shape: an unknown client or a
wrong secret is 401 `invalid_client`; an unknown or revoked refresh token is 400
`invalid_grant`; another grant type is 400 `unsupported_grant_type`.

Access tokens (`Atza|...`) are sealed (seller id, expiry) with the seed's secret, so they
survive a restart with the same seed; SP-API calls check them and the seller's revocation.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request

from spapi_sim.accounts import SellerAccount
from spapi_sim.errors import LwaError, Unauthorized
from spapi_sim.jsonio import AmazonJSONResponse
from spapi_sim.signing import Signer

ACCESS_PREFIX = "Atza|"
INVALID_GRANT = "The request has an invalid grant parameter : refresh_token"


def issue_access_token(signer: Signer, account: SellerAccount, now: datetime,
                       ttl_seconds: int) -> dict[str, Any]:
    """LWA's success body with a new access token for `account`."""
    sealed = signer.seal({"s": account.seller_id, "e": int(now.timestamp()) + ttl_seconds})
    return {"access_token": ACCESS_PREFIX + sealed, "refresh_token": account.refresh_token,
            "token_type": "bearer", "expires_in": ttl_seconds}


def seller_of(signer: Signer, token: str | None, now: datetime, revoked: set[str]) -> str:
    """The seller an access token was issued for; Unauthorized when it is not usable."""
    payload = None
    if token and token.startswith(ACCESS_PREFIX):
        payload = signer.unseal(token[len(ACCESS_PREFIX):])
    if payload is None or not isinstance(payload.get("s"), str):
        raise Unauthorized("The access token you provided is revoked, malformed or invalid.")
    if int(payload.get("e", 0)) < now.timestamp():
        raise Unauthorized("The access token you provided has expired.")
    if payload["s"] in revoked:
        raise Unauthorized("The access token you provided is revoked, malformed or invalid.")
    return str(payload["s"])


def account_for_grant(accounts: Mapping[str, SellerAccount], form: Mapping[str, str],
                      revoked: set[str]) -> SellerAccount:
    """The account a refresh-token grant is for; LwaError when it must be refused."""
    grant_type = form.get("grant_type")
    if not grant_type:
        raise LwaError("invalid_request", "The request is missing a required parameter : "
                       "grant_type")
    if grant_type != "refresh_token":
        raise LwaError("unsupported_grant_type",
                       "The authorization grant type is not supported by the authorization server")
    account = next((a for a in accounts.values() if a.client_id == form.get("client_id")), None)
    if account is None or account.client_secret != form.get("client_secret"):
        raise LwaError("invalid_client", "Client authentication failed", 401)
    if form.get("refresh_token") != account.refresh_token or account.seller_id in revoked:
        raise LwaError("invalid_grant", INVALID_GRANT)
    return account


def parse_form(body: bytes) -> dict[str, str]:
    """An `application/x-www-form-urlencoded` body as a dict (last value wins)."""
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError as err:
        raise LwaError("invalid_request", "The request body is not valid form data") from err
    return {name: values[-1] for name, values in fields.items()}


router = APIRouter(tags=["Login with Amazon"])


@router.post("/auth/o2/token")
async def token(request: Request) -> AmazonJSONResponse:
    """Exchange a refresh token for an access token."""
    sim = request.app.state.simulator
    account = account_for_grant(sim.accounts, parse_form(await request.body()), sim.revoked)
    body = issue_access_token(sim.signer, account, sim.now(), sim.settings.token_ttl_seconds)
    return AmazonJSONResponse(body)

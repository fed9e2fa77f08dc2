"""Login with Amazon and access-token checks, in the shapes LWA and SP-API use."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sp_api.api import Orders
from sp_api.auth.exceptions import AuthorizationError

from spapi_sim import client_kwargs
from spapi_sim.accounts import SellerAccount
from tests.spapi_sim.conftest import ANCHOR, Running
from tests.support.http_calls import http_get, http_post

ORDERS = "/orders/2026-01-01/orders"


def grant(account: SellerAccount, **changes: str) -> dict[str, str]:
    """A refresh-token grant form for `account`, with fields changed."""
    return {"grant_type": "refresh_token", "client_id": account.client_id,
            "client_secret": account.client_secret, "refresh_token": account.refresh_token,
            **changes}


def test_refresh_token_grant_issues_access_token(sim: Running) -> None:
    response = http_post(f"{sim.base_url}/auth/o2/token", data=grant(sim.accounts[0]))
    body = response.json()
    assert response.status_code == 200
    assert body["access_token"].startswith("Atza|") and body["token_type"] == "bearer"
    assert body["expires_in"] == 3600 and body["refresh_token"] == sim.accounts[0].refresh_token


@pytest.mark.parametrize(("changes", "status", "error"), [
    ({"refresh_token": "Atzr|not-a-token"}, 400, "invalid_grant"),
    ({"client_secret": "wrong"}, 401, "invalid_client"),
    ({"client_id": "amzn1.application-oa2-client.unknown"}, 401, "invalid_client"),
    ({"grant_type": "authorization_code"}, 400, "unsupported_grant_type"),
    ({"grant_type": ""}, 400, "invalid_request"),
])
def test_bad_credentials_get_lwa_errors(sim: Running, changes: dict[str, str], status: int,
                                        error: str) -> None:
    response = http_post(f"{sim.base_url}/auth/o2/token", data=grant(sim.accounts[0], **changes))
    assert response.status_code == status
    assert set(response.json()) == {"error", "error_description"}
    assert response.json()["error"] == error


def test_revoked_refresh_token_is_invalid_grant(make_sim: Any) -> None:
    sim = make_sim(seed=21)
    account = sim.accounts[1]
    sim.simulator.revoke(account.seller_id)
    response = http_post(f"{sim.base_url}/auth/o2/token", data=grant(account))
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_grant", "error_description":
                               "The request has an invalid grant parameter : refresh_token"}


def test_sp_api_reports_bad_refresh_token_as_authorization_error(sim: Running) -> None:
    account = sim.accounts[0]
    credentials = {**account.sp_api_credentials(), "refresh_token": "Atzr|revoked"}
    kwargs = client_kwargs(sim.base_url, credentials, account.marketplace_ids[0])
    with Orders(version="2026-01-01", **kwargs) as orders, \
            pytest.raises(AuthorizationError) as caught:
        orders.search_orders(createdAfter="2026-02-01T00:00:00Z")
    assert caught.value.error_code == "invalid_grant" and caught.value.status_code == 400


@pytest.mark.parametrize("token", [None, "", "Atza|forged.token", "Bearer nothing"])
def test_calls_without_a_valid_access_token_are_unauthorized(sim: Running,
                                                             token: str | None) -> None:
    headers = {} if token is None else {"x-amz-access-token": token}
    response = http_get(f"{sim.base_url}{ORDERS}", params={"createdAfter": "2026-01-01"},
                        headers=headers)
    assert response.status_code == 403
    assert response.json()["errors"][0]["code"] == "Unauthorized"
    assert response.json()["errors"][0]["message"] == "Access to requested resource is denied."


def test_expired_access_token_is_unauthorized(make_sim: Any) -> None:
    now = [ANCHOR + timedelta(days=1)]
    sim = make_sim(clock=lambda: now[0])
    token = sim.token(sim.accounts[0])
    now[0] += timedelta(hours=2)
    response = http_get(f"{sim.base_url}{ORDERS}", params={"createdAfter": "2026-02-01"},
                        headers={"x-amz-access-token": token})
    assert response.status_code == 403
    assert response.json()["errors"][0]["details"] == "The access token you provided has expired."


def test_access_tokens_survive_a_restart_with_the_same_seed(make_sim: Any) -> None:
    first, second = make_sim(seed=5), make_sim(seed=5)
    token = first.token(first.accounts[0])
    response = http_get(f"{second.base_url}{ORDERS}", params={"createdAfter": "2026-02-01"},
                        headers={"x-amz-access-token": token})
    assert response.status_code == 200


def test_unknown_paths_answer_like_sp_api(sim: Running) -> None:
    response = http_get(f"{sim.base_url}/orders/v9/nothing")
    assert response.status_code == 403
    assert response.json()["errors"][0]["code"] == "Unauthorized"
    assert "x-amzn-RequestId" in response.headers


def test_the_simulator_documents_itself(sim: Running) -> None:
    paths = http_get(f"{sim.base_url}/_sim/openapi.json").json()["paths"]
    assert "/auth/o2/token" in paths and "/finances/v0/financialEvents" in paths

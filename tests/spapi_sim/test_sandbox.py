"""With `models_dir` on Amazon's model files, the simulator is Amazon's static sandbox."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
from sp_api.api import Orders
from sp_api.base import SellingApiBadRequestException
from sp_api.base._core import prepare_request

from spapi_sim import client_kwargs
from tests.spapi_sim import official
from tests.spapi_sim.conftest import FAST, Running, serve
from tests.support.http_calls import http_get

JAPAN = "A1VC38T7YXB528"
NO_MATCH = {"errors": [{"code": "InvalidInput", "message": "Could not match input arguments"}]}


def static_examples() -> list[Any]:
    """One pytest param per static example of every model (none without the models)."""
    if not official.MODELS_DIR.is_dir():
        return [pytest.param(None, marks=pytest.mark.skip(reason=official.SKIP_REASON))]
    found = []
    for op in official.operations():
        for code, response in op.responses.items():
            for index, example in enumerate(response.get("x-amzn-api-sandbox", {})
                                            .get("static", [])):
                found.append(pytest.param((op, int(code), example),
                                          id=f"{op.model}-{op.operation_id}-{code}-{index}"))
    return found


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Running]:
    """A simulator with the official models loaded."""
    if not official.MODELS_DIR.is_dir():
        pytest.skip(official.SKIP_REASON)
    stores = official.STORES_DIR if official.STORES_DIR.is_dir() else None
    yield from serve(replace(FAST, models_dir=official.MODELS_DIR, store_models_dir=stores))


@pytest.fixture(scope="module")
def caller(sandbox: Running) -> Iterator[httpx.Client]:
    """One authorised client for the sandbox tests."""
    with sandbox.client(sandbox.accounts[0]) as client:
        yield client


def as_query(value: Any) -> str:
    """A parameter value as the library sends it in the query (arrays comma-separated)."""
    if isinstance(value, list):
        return ",".join(map(as_query, value))
    return json.dumps(value) if isinstance(value, bool) else str(value)


def build_request(op: official.ModelOperation, parameters: dict[str, Any]) -> dict[str, Any]:
    """httpx request arguments carrying an example's parameters the way python-amazon-sp-api
    does: path values in the path, the body (whatever the example calls it) as JSON through
    the library's own `prepare_request`, everything else in the query."""
    kinds = {p["name"]: p["in"] for p in official.parameters(op)}
    has_body = "body" in kinds.values()
    path, query, body = op.path, {}, None
    for name, spec in parameters.items():
        # No value: any value will do (a listings patch body).
        value = spec.get("value", {"any": "value"})
        if kinds.get(name) == "path":
            path = path.replace("{" + name + "}", str(value))
        elif kinds.get(name) == "body" or (name == "body" and has_body):
            body = value
        else:
            query[name] = as_query(value)
    path = "/".join("ANY-VALUE" if part.startswith("{") else part for part in path.split("/"))
    prepared = prepare_request(method=op.method, endpoint="/sandbox", path=path, params=query,
                               data=body, headers={}, add_marketplace=False,
                               marketplace_id=None, version=None)
    return {key: prepared[key] for key in ("method", "url", "params", "content")}


@pytest.mark.parametrize("case", static_examples())
def test_every_static_example_is_answered_as_specified(caller: httpx.Client, case: Any) -> None:
    op, code, example = case
    response = caller.request(**build_request(op, example["request"]["parameters"]))
    assert response.status_code == code
    if "response" in example and code != 204:
        assert response.json() == example["response"]
    else:
        assert response.content == b""


def test_a_request_matching_no_example_is_invalid_input(caller: httpx.Client) -> None:
    response = caller.get("/sandbox/orders/2026-01-01/orders",
                          params={"createdAfter": "2020-01-01T00:00:00Z"})
    assert response.status_code == 400
    assert response.json() == NO_MATCH


def test_sandbox_needs_an_access_token(sandbox: Running) -> None:
    response = http_get(f"{sandbox.base_url}/sandbox/orders/2026-01-01/orders/TEST_CASE_400")
    assert response.status_code == 403


def test_sp_api_against_the_sandbox(sandbox: Running) -> None:
    account = sandbox.accounts[2]
    included = ["BUYER", "RECIPIENT", "PROCEEDS", "EXPENSE", "PROMOTION", "CANCELLATION",
                "FULFILLMENT", "PACKAGES"]
    kwargs = client_kwargs(sandbox.base_url, account, JAPAN, sandbox=True)
    with Orders(version="2026-01-01", **kwargs) as orders:
        found = orders.search_orders(createdAfter="2024-12-25T00:00:00Z", marketplaceIds=[JAPAN],
                                     includedData=included)
        with pytest.raises(SellingApiBadRequestException) as caught:
            orders.search_orders(createdAfter="TEST_CASE_400")
    assert found.payload["orders"][0]["orderId"] == "250-1234567-8901234"
    assert caught.value.error == [{"code": "InvalidInput", "message": "Invalid Input",
                                   "details": "Invalid Input"}]


def test_without_models_the_sandbox_says_so(sim: Running) -> None:
    with sim.client(sim.accounts[0]) as client:
        response = client.get("/sandbox/orders/2026-01-01/orders/TEST_CASE_400")
    assert response.status_code == 403
    assert "models directory" in response.json()["errors"][0]["details"]



def examples_of(operation_id: str) -> list[tuple[str, dict[str, Any], Any]]:
    """(orderId, body, answer) of each of an ordersV0 write's static examples with a body."""
    op = official.by_id("ordersV0", operation_id)
    return [(e["request"]["parameters"].get("orderId", {}).get("value", "902-1106328-1059050"),
             e["request"]["parameters"]["body"]["value"], e.get("response"))
            for code in sorted(op.responses)
            for e in (op.responses[code].get("x-amzn-api-sandbox") or {}).get("static", [])
            if "body" in e["request"]["parameters"]]


@pytest.mark.parametrize("operation_id", ["confirmShipment", "updateShipmentStatus",
                                          "updateVerificationStatus"])
def test_sp_api_v0_writes_against_the_sandbox(sandbox: Running, operation_id: str) -> None:
    """The library's own call, with an example's body as its keyword arguments, gets the
    example's answer (an error list raised, or a success without a body)."""
    kwargs = client_kwargs(sandbox.base_url, sandbox.accounts[0], "ATVPDKIKX0DER", sandbox=True)
    cases = examples_of(operation_id)
    assert cases
    with Orders(**kwargs) as orders:
        call = {"confirmShipment": orders.confirm_shipment,
                "updateShipmentStatus": orders.update_shipment_status,
                "updateVerificationStatus": orders.update_verification_status}[operation_id]
        for order_id, body, answer in cases:
            if answer and answer.get("errors"):
                with pytest.raises(SellingApiBadRequestException) as caught:
                    call(order_id, **body)
                assert caught.value.error == answer["errors"]
            else:
                assert call(order_id, **body).payload in ({}, {"status_code": 204})


def test_a_confirmation_of_another_order_matches_no_example(sandbox: Running) -> None:
    (_, body, _), *_ = examples_of("confirmShipment")
    kwargs = client_kwargs(sandbox.base_url, sandbox.accounts[0], "ATVPDKIKX0DER", sandbox=True)
    with Orders(**kwargs) as orders, pytest.raises(SellingApiBadRequestException) as caught:
        orders.confirm_shipment("111-0000000-0000000", **body)
    assert caught.value.error == NO_MATCH["errors"]

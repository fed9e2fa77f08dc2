"""Both OpenAPI documents fuzzed against the real apps: no 5xx, every 4xx in the published shape.

Schemathesis reads each app's own ``/openapi.json`` and sends, for every operation, requests that
fit the document and requests that break it (wrong types, out-of-range numbers, missing and extra
fields), to a hub on SQLite with an admin token and to an edge agent with a store, both under a
real uvicorn. The examples are derandomized and bounded (``ACORN_FUZZ_EXAMPLES``, default 15 per
operation) so the run is repeatable and stays under two minutes on two cores; raise the number to
search harder by hand. (Schemathesis's own pytest integration, ``from_fixture``, fails under
pytest 9 — it writes ``request.node._nodeid`` — so each operation is driven here with its
strategies and Hypothesis's ``@given``.)
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from edge_agent.app import create_app as create_edge_app
from hub.access.permissions import Role
from hub.access.tokens import create_token
from tests.edge.conftest import make_settings
from tests.edge.server import serving as serving_edge
from tests.hub.conftest import hub_settings, start_hub
from tests.hub.helpers import ingest, received, refund
from tests.support.http_calls import http_get

EXAMPLES = int(os.environ.get("ACORN_FUZZ_EXAMPLES", "15"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))
# A live event stream never ends by itself: nothing to fuzz there but a hung test.
ENDLESS = "/api/events/stream"


def check_answer(case: schemathesis.Case, response: Any) -> None:
    """No 5xx; a 4xx has the published error shape ``{"detail": [{"field", "message"}]}``."""
    where = f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:500]}"
    assert response.status_code < 500, where
    if response.status_code < 400:
        return
    body = response.json()
    assert isinstance(body, dict) and set(body) == {"detail"}, where
    items = body["detail"]
    assert isinstance(items, list) and items, where
    for item in items:
        assert isinstance(item, dict), where
        assert isinstance(item.get("message"), str) and item["message"], where
        assert "field" in item and (item["field"] is None or isinstance(item["field"], str)), where


@pytest.fixture
def hub_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A hub on SQLite with two stores' returns and refunds; its URL and an admin token.

    Per test, not per module: the server's worker threads must end with the test that used
    them (the leak guard, tests/support/leaks.py)."""
    path = tmp_path_factory.mktemp("fuzz-hub") / "hub.db"
    for running in start_hub(hub_settings(f"sqlite:///{path}")):
        ingest(running.engine, received("s1", "n1", 1, "R1"), refund("s1", "n1", 2, "R1", "F1"),
               received("s2", "n1", 1, "R2", "99.00"),
               refund("s2", "n1", 2, "R2", "F2", "99.00"))
        token = create_token(running.engine, "fuzzer", Role.ADMIN)
        yield str(running.client.base_url), token


# The hub builds its document on the first request: 1.3 s of CPU alone, past schemathesis's 10 s
# read timeout once on a loaded two-core host running the whole suite.
SCHEMA_TIMEOUT = 60


@pytest.fixture
def hub_schema(hub_api: tuple[str, str]) -> Any:
    """The hub's OpenAPI document, as served."""
    return schemathesis.openapi.from_url(f"{hub_api[0]}/openapi.json", timeout=SCHEMA_TIMEOUT)


@pytest.fixture
def edge_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An edge agent with a store (no broker: events wait in its outbox)."""
    app = create_edge_app(make_settings(tmp_path_factory.mktemp("fuzz-edge")), connect=False)
    with serving_edge(app) as url:
        yield url


@pytest.fixture
def edge_schema(edge_url: str) -> Any:
    """The edge agent's OpenAPI document, as served."""
    return schemathesis.openapi.from_url(f"{edge_url}/openapi.json", timeout=SCHEMA_TIMEOUT)


def fuzz(schema: Any, url: str, headers: dict[str, str], skip: frozenset[str] = frozenset()
         ) -> list[str]:
    """Run every operation of ``schema`` with documented and broken requests; the failures."""
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path in skip:
            continue
        cases = st.one_of(operation.as_strategy(GenerationMode.POSITIVE),
                          operation.as_strategy(GenerationMode.NEGATIVE))

        @FUZZ
        @given(case=cases)
        def send(case: schemathesis.Case) -> None:
            check_answer(case, case.call(base_url=url, headers=headers, timeout=30))

        try:
            send()
        except AssertionError as err:
            failures.append(str(err).split("\n")[0])
    return failures


def test_hub_api_never_fails_and_always_answers_in_shape(
        hub_api: tuple[str, str], hub_schema: Any) -> None:
    """Promise: whatever a caller sends the hub — in or out of its documented shape — it gets a
    clear 2xx/4xx answer in the published error shape, never a server error."""
    url, token = hub_api
    failures = fuzz(hub_schema, url, {"Authorization": f"Bearer {token}"})
    assert not failures, "\n".join(failures)


def test_edge_api_never_fails_and_always_answers_in_shape(edge_url: str, edge_schema: Any) -> None:
    """Promise: whatever a counter screen or POS sends the edge agent, it gets a clear 2xx/4xx
    answer in the published error shape, never a server error."""
    failures = fuzz(edge_schema, edge_url, {}, skip=frozenset({ENDLESS}))
    assert not failures, "\n".join(failures)


def _ref_name(schema: dict[str, Any]) -> str:
    return str(schema.get("$ref", "")).rsplit("/", 1)[-1]


def documented_errors(doc: dict[str, Any]) -> list[str]:
    """Every documented 4xx/5xx answer whose body is not ``{"detail": [ErrorItem]}``."""
    models = doc["components"]["schemas"]
    wrong = []
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            for status, answer in operation.get("responses", {}).items():
                if status[0] not in "45":
                    continue
                body = answer.get("content", {}).get("application/json", {}).get("schema", {})
                detail = models.get(_ref_name(body), {}).get("properties", {}).get("detail", {})
                if _ref_name(detail.get("items", {})) != "ErrorItem":
                    wrong.append(f"{method.upper()} {path} {status}: {_ref_name(body) or body}")
    return wrong


def test_both_documents_publish_the_error_shape_they_send(
        hub_api: tuple[str, str], edge_url: str) -> None:
    """Promise: the OpenAPI documents tell integrators the truth about errors — every
    documented 4xx/5xx body is ``{"detail": [ErrorItem]}`` (three hub routes published
    FastAPI's own ``HTTPValidationError`` for 422, a body neither API ever sends)."""
    for url in (hub_api[0], edge_url):
        doc = http_get(f"{url}/openapi.json", timeout=10).json()
        assert not documented_errors(doc), (url, documented_errors(doc))

"""The routing API under Schemathesis (documented and broken requests, as the hub-wide fuzz test
sends them): a clear 2xx/4xx answer in the published error shape, never a server error."""

from __future__ import annotations

from typing import Any

from tests.reliability.test_api_fuzz import fuzz, hub_api, hub_schema  # noqa: F401 - fixtures


def test_routing_api_never_fails(hub_api: tuple[str, str], hub_schema: Any) -> None:  # noqa: F811
    url, token = hub_api
    routing = hub_schema.include(path_regex="^/api/routing")
    assert len(list(routing.get_all_operations())) == 6  # every routing operation, no other
    failures = fuzz(routing, url, {"Authorization": f"Bearer {token}"})
    assert not failures, "\n".join(failures)

"""The edge agent's /docs (Swagger UI) and /redoc (ReDoc) render its operations with no internet."""

from __future__ import annotations

import pytest

from tests.edge.conftest import Running
from tests.support.api_pages import operations_on_api_pages
from tests.support.browser import BROWSER_MARKS

pytestmark = BROWSER_MARKS
pytest.importorskip("playwright.sync_api")


def test_api_pages_render_offline(agent: Running) -> None:
    shown = operations_on_api_pages(agent.url)
    assert "/api/returns" in shown["swagger"]
    assert "/api/health" in shown["swagger"]
    assert any("/api/returns" in text for text in shown["redoc"]), len(shown["redoc"])

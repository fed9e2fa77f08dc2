"""The hub's /docs (Swagger UI) and /redoc (ReDoc) render its operations with no internet.

On SQLite only: the pages and their OpenAPI document do not depend on the database (rendering
them is a quarter minute of Chromium's CPU).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.hub.conftest import RunningHub, hub_settings, start_hub
from tests.support.api_pages import operations_on_api_pages
from tests.support.browser import BROWSER_MARKS

pytestmark = BROWSER_MARKS
pytest.importorskip("playwright.sync_api")


@pytest.fixture
def api_hub(tmp_path: Path) -> Iterator[RunningHub]:
    """A hub serving only its API, on SQLite."""
    yield from start_hub(hub_settings(f"sqlite:///{tmp_path / 'hub.db'}"))


def test_api_pages_render_offline(api_hub: RunningHub) -> None:
    shown = operations_on_api_pages(str(api_hub.client.base_url).rstrip("/"))
    assert "/api/health" in shown["swagger"]
    assert "/api/returns/{return_id}" in shown["swagger"]
    assert any("/api/health" in text for text in shown["redoc"]), len(shown["redoc"])


def test_asset_files_come_from_the_hub(api_hub: RunningHub) -> None:
    for page in ("/docs", "/redoc"):
        html = api_hub.client.get(page).text
        assert "cdn" not in html.lower() and "fonts.googleapis" not in html
    assert api_hub.client.get("/docs-assets/swagger-ui-bundle.js").status_code == 200
    assert api_hub.client.get("/docs-assets/redoc.standalone.js").status_code == 200

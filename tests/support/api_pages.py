"""Open an app's /docs and /redoc in Chromium with every request off this machine refused.

A store LAN has no internet: the API pages must render their operations from files the process
serves itself. Any request to a host other than loopback is aborted and recorded, so a page that
still reaches for a CDN for code or looks (scripts, styles, fonts, data) fails the test by name.
Only images may be refused: ReDoc's bundle links its "API docs by Redocly" logo from its CDN; the
page renders without it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from tests.support.browser import chromium_page

LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


def _offline(page: Any) -> list[tuple[str, str]]:
    """Abort every request to a non-loopback host; return the list of (kind, url) refused."""
    refused: list[tuple[str, str]] = []

    def route(r: Any) -> None:
        url = r.request.url
        if urlsplit(url).scheme in {"data", "blob"} or urlsplit(url).hostname in LOOPBACK:
            r.continue_()
        else:
            refused.append((r.request.resource_type, url))
            r.abort()

    page.route("**/*", route)
    return refused


def operations_on_api_pages(base_url: str) -> dict[str, list[str]]:
    """The operation paths Swagger UI and ReDoc show for ``base_url``, with the net blocked."""
    shown: dict[str, list[str]] = {}
    with chromium_page(1366, 900) as page:
        refused = _offline(page)
        page.goto(f"{base_url}/docs")
        page.wait_for_selector(".opblock-summary-path", timeout=20_000)
        shown["swagger"] = page.eval_on_selector_all(
            ".opblock-summary-path", "els => els.map(e => e.getAttribute('data-path'))")
        page.goto(f"{base_url}/redoc")
        page.wait_for_selector("[data-section-id^='operation/']", timeout=20_000)
        shown["redoc"] = page.eval_on_selector_all(
            "[data-section-id^='operation/']", "els => els.map(e => e.textContent)")
        needed = [(kind, url) for kind, url in refused if kind != "image"]
        assert needed == [], f"the API pages reached off this machine: {needed}"
    return shown

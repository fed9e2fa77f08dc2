"""Desk tests reuse the people fixtures: a hub on both databases with stores s1, s2, s3."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.hub.conftest import (  # noqa: F401  (fixtures)
    api_hub,
    db_url,
    engine,
)
from tests.people.conftest import desk  # noqa: F401  (fixture)
from tests.support.browser import chromium_page


@pytest.fixture
def page() -> Iterator[Any]:
    """A laptop-sized page in headless Chromium that accepts confirm() and remembers it."""
    with chromium_page(1280, 800) as page:
        page.confirms = []

        def accept(dialog: Any) -> None:
            page.confirms.append(dialog.message)
            dialog.accept()

        page.on("dialog", accept)
        yield page

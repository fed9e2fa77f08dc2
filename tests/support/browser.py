"""Headless Debian Chromium for the page tests, driven by Playwright (no browser download)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.support.leaks import SHARED_THREADS, session_owned
from tests.support.procs import wait_for

CHROMIUM = Path("/usr/bin/chromium")
# as root in a sandbox, and without the background traffic this closed network refuses
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]

_shared: dict[str, Any] = {}  # "playwright", "browser": this test process's own

BROWSER_MARKS = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed at "
                       "/usr/bin/chromium (apt-get install chromium)"),
]


@contextmanager
def chromium_page(width: int = 1024, height: int = 768, **context: Any) -> Iterator[Any]:
    """A fresh page (tablet-sized by default) in a context of its own (no cookie, storage or
    cache shared with another test), closed afterwards. The Chromium behind it is this test
    process's one browser, launched when first needed (a launch costs a second of CPU)."""
    made = _shared_browser().new_context(viewport={"width": width, "height": height}, **context)
    try:
        yield made.new_page()
    finally:
        made.close()


@contextmanager
def chromium(args: Sequence[str] = ()) -> Iterator[Any]:
    """A Chromium of its own launched with ``ARGS`` + ``args`` (a fake camera, say), closed
    afterwards; driven by this process's one Playwright."""
    launched = _playwright().chromium.launch(executable_path=str(CHROMIUM),
                                             args=[*ARGS, *args], headless=True)
    try:
        yield launched
    finally:
        launched.close()


def wait_in_page(page: Any, condition: Callable[[], Any], timeout: float, what: str) -> Any:
    """``tests.support.procs.wait_for``, waiting through ``page`` between tries.

    Playwright's sync API runs the page's event handlers (``page.route``, ``page.on``) only
    while the test is inside one of its calls: a ``time.sleep`` poll never sees what a route
    handler records, however long it waits."""
    return wait_for(condition, timeout, what, 0.02,
                    pause=lambda seconds: page.wait_for_timeout(seconds * 1000))


def close_shared() -> None:
    """Close the shared browser and Playwright (pytest's unconfigure calls it)."""
    browser, playwright = _shared.pop("browser", None), _shared.pop("playwright", None)
    if browser is not None:
        browser.close()
    if playwright is not None:
        playwright.stop()


def _playwright() -> Any:
    if "playwright" not in _shared:
        from playwright.sync_api import sync_playwright

        with session_owned():  # the driver outlives the test that happens to start it
            manager = sync_playwright()
            _shared["playwright"] = manager.start()
        # Its event loop starts worker threads when it needs them: under a name the guard
        # knows as the session's (the loop is the manager's own, not a public attribute).
        manager._loop.set_default_executor(
            ThreadPoolExecutor(2, thread_name_prefix=SHARED_THREADS))
    return _shared["playwright"]


def _shared_browser() -> Any:
    browser = _shared.get("browser")
    if browser is None or not browser.is_connected():
        playwright = _playwright()
        with session_owned():
            _shared["browser"] = playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=ARGS, headless=True)
    return _shared["browser"]

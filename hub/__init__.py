"""ACORN hub: the central service (ingest, refund decisions, approvals, audit, API, fleet).

Public entry points: ``hub.app.create_app(settings)`` (the composition root) and the
``acorn-hub`` CLI (``hub.cli.main:main``). Nothing here creates an engine, a client or settings at
import time. Errors: see ``hub.errors``.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version


def _version() -> str:
    try:
        return version("acorn")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0.0.0+source"


__version__ = _version()

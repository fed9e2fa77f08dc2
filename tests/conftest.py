"""Shared fixtures: a private broker per test, PostgreSQL databases made and dropped per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.broker import TestBroker, broker_fixture


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[TestBroker]:
    """A real mosquitto with dynamic security on a free loopback port."""
    yield from broker_fixture(tmp_path)

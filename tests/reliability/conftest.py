"""Fixtures of the reliability suite: the end-to-end system (real broker, hub and two agents)."""

from tests.e2e.conftest import system  # noqa: F401 (re-exported fixture)

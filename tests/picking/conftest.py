"""Picking fixtures: the edge's agent fixtures (real agent, real SQLite)."""

from tests.edge.conftest import agent, settings

__all__ = ["agent", "settings"]

"""Simulators that drive a running agent through its public API (development and ``make run``)."""

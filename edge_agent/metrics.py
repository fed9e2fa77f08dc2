"""Prometheus metrics of one agent, in a registry of its own (several agents may share a process).

Names: ``acorn_edge_outbox_pending``, ``acorn_edge_last_acked_seq``,
``acorn_edge_broker_connected``, ``acorn_edge_events_sent_total``,
``acorn_edge_batches_sent_total``,
``acorn_edge_events_resent_total``, ``acorn_edge_acks_total``,
``acorn_edge_returns_recorded_total``, ``acorn_edge_actions_total{kind}``,
``acorn_edge_commands_total{result}``.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Metrics:
    """Counters and gauges the agent updates; ``render`` gives the text exposition format."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        reg = self.registry
        self.outbox_pending = Gauge("acorn_edge_outbox_pending",
                                    "events not yet acknowledged by the hub", registry=reg)
        self.last_acked_seq = Gauge("acorn_edge_last_acked_seq",
                                    "highest seq the hub has acknowledged", registry=reg)
        self.broker_connected = Gauge("acorn_edge_broker_connected",
                                      "1 while the MQTT link is connected", registry=reg)
        self.events_sent = Counter("acorn_edge_events_sent", "events published (incl. resends)",
                                   registry=reg)
        self.batches_sent = Counter("acorn_edge_batches_sent",
                                    "event.batch messages published (several events in each)",
                                    registry=reg)
        self.events_resent = Counter("acorn_edge_events_resent",
                                     "events published again after no ack", registry=reg)
        self.acks = Counter("acorn_edge_acks", "ack messages received from the hub", registry=reg)
        self.returns_recorded = Counter("acorn_edge_returns_recorded",
                                        "returns recorded at the counter", registry=reg)
        self.actions = Counter("acorn_edge_actions", "counter actions committed",
                               ["kind"], registry=reg)
        self.commands = Counter("acorn_edge_commands", "hub commands handled", ["result"],
                                registry=reg)

    def watch(self, pending: Callable[[], float], last_acked: Callable[[], float]) -> None:
        """Read the outbox gauges from the store at scrape time."""
        self.outbox_pending.set_function(pending)
        self.last_acked_seq.set_function(last_acked)

    def counted(self, kind: str) -> None:
        """Count one committed counter action."""
        self.actions.labels(kind=kind).inc()
        if kind == "return.received":
            self.returns_recorded.inc()

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)

"""Prometheus metrics of one hub instance (own registry: no global state, tests stay apart)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from hub import heap


class _Collector(Collector):
    """The garbage collector as ``hub.heap`` sets and times it (process-wide figures)."""

    def collect(self) -> Iterator[Metric]:
        spent = CounterMetricFamily("acorn_hub_gc_seconds", "CPU seconds in garbage "
                                    "collections, by generation (timed from serve's start)",
                                    labels=["generation"])
        for generation, seconds in enumerate(heap.seconds_by_generation()):
            spent.add_metric([str(generation)], seconds)
        yield spent
        yield GaugeMetricFamily("acorn_hub_gc_frozen_objects", "objects frozen at start (never "
                                "walked by a collection)", value=gc.get_freeze_count())


class HubMetrics:
    """The counters and gauges operators watch."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.messages = Counter("acorn_hub_mqtt_messages", "MQTT messages received", ["topic_kind"],
                                registry=r)
        self.events_stored = Counter("acorn_hub_events_stored", "new events stored", registry=r)
        self.events_applied = Counter("acorn_hub_events_applied", "events applied to projections",
                                      registry=r)
        self.duplicates = Counter("acorn_hub_events_duplicate", "duplicate events skipped (acked)",
                                  registry=r)
        self.gaps = Counter("acorn_hub_seq_gaps", "gaps detected in a node's event seq",
                            registry=r)
        self.gap_waits = Counter("acorn_hub_seq_gap_waits",
                                 "nodes left waiting for a missing seq after a batch (one per "
                                 "node per batch; the log says so at most every 10 s)",
                                 registry=r)
        self.dead_letters = Counter("acorn_hub_dead_letters", "messages dead-lettered", registry=r)
        self.batch_size = Histogram("acorn_hub_ingest_batch_size", "messages per ingest batch",
                                    buckets=(1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500),
                                    registry=r)
        self.ingest_queued = Gauge("acorn_hub_ingest_queued", "messages waiting for the ingest "
                                   "writer, by lane (live: single events and statuses, served "
                                   "first; bulk: nodes draining a backlog)", ["lane"],
                                   registry=r)
        self.batch_seconds = Histogram("acorn_hub_ingest_batch_seconds",
                                       "time to commit one ingest batch", registry=r)
        self.ingest_wait = Histogram(
            "acorn_hub_ingest_wait_seconds", "from a message's arrival at the hub to its PUBACK "
            "(queued, then committed in a batch; the rest of a node's publish -> ack time is the "
            "broker's and the network's)",
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10), registry=r)
        self.batch_failures = Counter("acorn_hub_ingest_batch_failures",
                                      "ingest batches that failed and were retried", registry=r)
        self.commands_published = Counter("acorn_hub_commands_published",
                                          "hub -> node commands published", registry=r)
        self.sign_in_failures = Counter("acorn_hub_sign_in_failures",
                                        "desk sign-ins refused: wrong password, unknown or "
                                        "disabled user (refused), or held back by the throttle "
                                        "(throttled)", ["reason"], registry=r)
        self.sign_in_lockouts = Counter("acorn_hub_sign_in_lockouts",
                                        "usernames (user) and client addresses (client) locked "
                                        "after too many failed sign-ins", ["subject"], registry=r)
        self.ingest_errors = Counter("acorn_hub_ingest_errors",
                                     "exceptions caught in the ingest thread (it kept running)",
                                     registry=r)
        self.unprocessable = Counter("acorn_hub_ingest_unprocessable",
                                     "events recorded unprocessable: their seq was skipped",
                                     registry=r)
        self.ingest_restarts = Counter("acorn_hub_ingest_restarts",
                                       "times the ingest thread died and was restarted",
                                       registry=r)
        self.retained_events_cleared = Counter(
            "acorn_hub_retained_events_cleared",
            "retained messages nodes left on their events topics, cleared by the hub", registry=r)
        self.fleet_nodes = Gauge("acorn_hub_fleet_nodes", "nodes by broker presence (revoked "
                                 "nodes not counted), as of the last scrape", ["state"],
                                 registry=r)
        self.fleet_alerting = Gauge("acorn_hub_fleet_nodes_alerting", "nodes with at least one "
                                    "fleet alert (offline, unsent, certificate, clock, disk)",
                                    registry=r)
        self.fleet_alerts = Gauge("acorn_hub_fleet_alerts", "nodes with this fleet alert, as of "
                                  "the last scrape", ["alert"], registry=r)
        self.stock_differences = Gauge("acorn_hub_stock_differences_alerting",
                                       "unresolved stock differences (store snapshot vs hub) "
                                       "over their store's threshold, as of the last scrape",
                                       registry=r)
        self.stock_refusals = Gauge("acorn_hub_stock_snapshots_refused",
                                    "store snapshot pages refused (signature missing or invalid) "
                                    "and not dismissed, as of the last scrape", registry=r)
        self.amazon_differences = Gauge("acorn_hub_stock_amazon_differences_alerting",
                                        "SKUs Amazon lists over the chain's sellable units by more "
                                        "than the threshold, as of the last scrape", registry=r)
        self.orders_due = Gauge("acorn_hub_orders_due_to_ship",
                                "packages routed to a store, not shipped, within 24 hours of "
                                "their ship-by time or past it, as of the last scrape",
                                registry=r)
        self.shipments_unconfirmed = Gauge("acorn_hub_shipments_unconfirmed",
                                           "shipped packages not confirmed to Amazon, by state",
                                           ["state"], registry=r)
        r.register(_Collector())
        self.reasons_queued = Gauge("acorn_hub_reasons_queued",
                                    "returns whose lines wait for the reasons pass, as of the "
                                    "scrape (growing: the pass falls behind the ingest)",
                                    registry=r)
        self.mqtt_connected = Gauge("acorn_hub_mqtt_connected", "1 while connected to the broker",
                                    registry=r)

    def set_fleet(self, online: int, offline: int, alerting: int,
                  by_alert: dict[str, int] | None = None) -> None:
        """The fleet gauges (the /metrics route counts them just before rendering)."""
        self.fleet_nodes.labels("online").set(online)
        self.fleet_nodes.labels("offline").set(offline)
        self.fleet_alerting.set(alerting)
        for alert, count in (by_alert or {}).items():
            self.fleet_alerts.labels(alert).set(count)

    def render(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)

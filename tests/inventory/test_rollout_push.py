"""The store config pass that carries the allocation rules to every store (issue 13 point 5),
on SQLite and PostgreSQL: its cost does not grow with the stores, only what the connection took
is recorded, and a republish keeps each store's first push."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import Engine, select

from hub.fleet import stores
from hub.inventory.allocation import default_rules_text
from hub.inventory.allocation import store as rules_store
from hub.storage.engine import reading
from hub.storage.tables.core import stores as stores_table
from hub.storage.tables.inventory_rules import allocation_pushes
from hub.sync import config_push
from hub.sync.config_push import sync_once
from protocol import StoreConfig, decode
from tests.people.conftest import SETUP
from tests.support.databases import statements_sent

V2 = default_rules_text().replace("\nversion: 1\n", "\nversion: 2\n", 1)


@dataclass
class Link:
    """A connection stand-in: takes ``room`` messages (None: any number), then refuses."""

    room: int | None = None
    sent: dict[str, StoreConfig] = field(default_factory=dict)

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> bool:
        if self.room is not None:
            if self.room == 0:
                return False
            self.room -= 1
        body = decode(payload, expect=frozenset({"store.config"})).body
        assert isinstance(body, StoreConfig) and qos == 1 and retain
        self.sent[topic.split("/")[3]] = body
        return True


def add_stores(engine: Engine, first: int, count: int) -> None:
    for n in range(first, first + count):
        stores.set_store(engine, f"s{n:03d}", SETUP, region="north")


def pushes(engine: Engine) -> dict[str, tuple[int, int, Any]]:
    """Per store: (rules version, config version that carried it, when)."""
    p = allocation_pushes.c
    with reading(engine) as conn:
        return {r.store_id: (r.version, r.config_version, r.pushed_at) for r in conn.execute(
            select(p.store_id, p.version, p.config_version, p.pushed_at))}


def config_versions(engine: Engine) -> dict[str, int | None]:
    with reading(engine) as conn:
        return dict(conn.execute(select(stores_table.c.store_id,
                                        stores_table.c.config_version)).all())


def test_a_pass_costs_the_same_statements_for_forty_stores_as_for_three(engine: Engine) -> None:
    rules_store.ensure_seeded(engine)
    add_stores(engine, 0, 3)
    link = Link()
    with statements_sent(engine) as few:
        assert sync_once(engine, link) == 3
    add_stores(engine, 3, 37)
    rules_store.publish(engine, V2, "ada", "admin", "more stores")
    with statements_sent(engine) as many:
        assert sync_once(engine, link) == 40
    assert len(many) == len(few), (few, many)
    assert {b.allocation.version for b in link.sent.values() if b.allocation} == {2}
    assert {v[0] for v in pushes(engine).values()} == {2} and len(pushes(engine)) == 40


def test_only_what_the_connection_took_is_recorded_and_the_rest_goes_next_pass(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config_push, "WRITE_CHUNK", 2)  # several transactions in one pass
    rules_store.ensure_seeded(engine)
    add_stores(engine, 0, 5)
    before = config_versions(engine)
    link = Link(room=3)  # the connection drops after three
    assert sync_once(engine, link) == 3
    took = sorted(link.sent)
    assert took == ["s000", "s001", "s002"]
    assert sorted(pushes(engine)) == took
    after = config_versions(engine)
    assert [s for s in after if after[s] != before[s]] == took
    assert all(pushes(engine)[s][1] == after[s] == link.sent[s].version for s in took)

    link.room = None  # back online: the other two, each one version up, the three not again
    link.sent.clear()
    assert sync_once(engine, link) == 2
    assert sorted(link.sent) == ["s003", "s004"]
    final = config_versions(engine)
    assert all(final[s] == (before[s] or 0) + 1 == link.sent[s].version for s in link.sent)
    assert sorted(pushes(engine)) == [f"s{n:03d}" for n in range(5)]
    assert sync_once(engine, link) == 0


def test_a_republish_sends_every_store_again_and_keeps_its_first_push(engine: Engine) -> None:
    rules_store.ensure_seeded(engine)
    add_stores(engine, 0, 4)
    link = Link()
    sync_once(engine, link)
    first, versions = pushes(engine), config_versions(engine)
    link.sent.clear()
    assert sync_once(engine, link, force=True) == 4  # the hub reconnected
    assert {s: b.version for s, b in link.sent.items()} == versions
    assert pushes(engine) == first and config_versions(engine) == versions

    rules_store.publish(engine, V2, "ada", "admin", "v2")
    assert sync_once(engine, link) == 4
    now = pushes(engine)
    assert all(now[s][0] == 2 and now[s][1] == versions[s] + 1 for s in now)  # type: ignore[operator]


class HubDied(Exception):
    """The hub process ending right after the broker took a publish."""


@dataclass
class DyingLink(Link):
    """Takes the first publish, then the hub dies (nothing after the hand-over runs)."""

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> bool:
        super().publish(topic, payload, qos, retain)
        raise HubDied


def test_a_hub_that_dies_after_publishing_never_reuses_the_version_a_node_holds(
        engine: Engine) -> None:
    rules_store.ensure_seeded(engine)
    add_stores(engine, 0, 1)
    link = Link()
    sync_once(engine, link)
    held = link.sent["s000"].version  # what the store's node applies
    rules_store.publish(engine, V2, "ada", "admin", "v2")
    dying = DyingLink()
    with pytest.raises(HubDied):
        sync_once(engine, dying)
    published = dying.sent["s000"]
    assert published.version == held + 1  # at the broker, retained; the node applies it
    # the hub starts again and the store's content changes once more before its first pass
    stores.set_store(engine, "s000", SETUP, node_settings={"language": "de"})
    link.sent.clear()
    assert sync_once(engine, link, force=True) == 1  # the republish of a (re)connect
    assert link.sent["s000"].version > published.version
    assert link.sent["s000"].language == "de"

"""The node's SQLite file: pragmas, recorded migrations, gap-free seq, atomic writes, audit."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlite_utils import Database

from edge_agent.errors import ConfigError, StoreError
from edge_agent.storage import audit, outbox
from edge_agent.storage.migrations import MIGRATIONS, migrate
from edge_agent.storage.store import Store, read_counters
from protocol import CommandApplied, utc_now

STORE, NODE = "store-a", "counter-1"


def report(n: int) -> CommandApplied:
    return CommandApplied(command_id=f"c{n}", command_kind="return.expected", result="applied")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(tmp_path / "edge.db", STORE, NODE)
    yield opened
    opened.close()


def test_file_is_wal_with_full_sync_and_foreign_keys(store: Store) -> None:
    with store.read() as tx:
        assert tx.scalar("PRAGMA journal_mode") == "wal"
        assert tx.scalar("PRAGMA synchronous") == 2  # FULL
        assert tx.scalar("PRAGMA foreign_keys") == 1


def test_migrations_apply_once_and_are_recorded(tmp_path: Path) -> None:
    first = Store.open(tmp_path / "edge.db", STORE, NODE)
    assert first.applied_migrations == [name for name, _ in MIGRATIONS]
    first.close()
    second = Store.open(tmp_path / "edge.db", STORE, NODE)
    assert second.applied_migrations == []
    with second.read() as tx:
        assert [r["name"] for r in tx.all("SELECT name FROM migrations")] == \
            [name for name, _ in MIGRATIONS]
    second.close()


def test_a_failing_migration_leaves_no_trace(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "x.db", isolation_level=None)
    db = Database(conn, execute_plugins=False)

    def broken(db: Database) -> None:
        db.conn.execute("CREATE TABLE half (x)")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        migrate(db, [("0001_broken", broken)])
    assert db.table_names() == ["migrations"]
    assert conn.execute("SELECT count(*) FROM migrations").fetchone()[0] == 0
    conn.close()


def test_seq_starts_at_one_and_stays_gap_free_across_acks_and_rollbacks(store: Store) -> None:
    with store.write() as tx:
        seqs = [outbox.append(tx, STORE, NODE, report(n), utc_now()).seq for n in range(3)]
    assert seqs == [1, 2, 3]
    with store.write() as tx:
        assert outbox.acknowledge(tx, 3) == 3
    with pytest.raises(RuntimeError), store.write() as tx:
        outbox.append(tx, STORE, NODE, report(9), utc_now())
        raise RuntimeError("the business action failed after its event was appended")
    with store.write() as tx:
        assert outbox.append(tx, STORE, NODE, report(4), utc_now()).seq == 4
        assert outbox.figures(tx) == outbox.Figures(pending=1, last_acked_seq=3, next_seq=5)


def test_seq_survives_reopening_after_everything_was_acked(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "edge.db", STORE, NODE)
    with store.write() as tx:
        for n in range(5):
            outbox.append(tx, STORE, NODE, report(n), utc_now())
        outbox.acknowledge(tx, 5)
    store.close()
    store = Store.open(tmp_path / "edge.db", STORE, NODE)
    with store.write() as tx:
        assert outbox.append(tx, STORE, NODE, report(6), utc_now()).seq == 6
    store.close()
    assert read_counters(tmp_path / "edge.db") == {"outbox_pending": 1, "last_acked_seq": 5,
                                                   "next_seq": 7}


def test_read_range_rebuilds_the_exact_envelopes(store: Store) -> None:
    with store.write() as tx:
        written = [outbox.append(tx, STORE, NODE, report(n), utc_now()) for n in range(4)]
    with store.read() as tx:
        assert outbox.read_range(tx, STORE, NODE, 2, 3) == written[1:3]


def test_the_file_belongs_to_one_store_and_node(tmp_path: Path) -> None:
    Store.open(tmp_path / "edge.db", STORE, NODE).close()
    with pytest.raises(ConfigError, match="belongs to store store-a node counter-1"):
        Store.open(tmp_path / "edge.db", STORE, "counter-2")


def test_unopenable_file_is_a_store_error(tmp_path: Path) -> None:
    (tmp_path / "edge.db").mkdir()
    with pytest.raises(StoreError):
        Store.open(tmp_path / "edge.db", STORE, NODE)


def test_read_counters_without_a_file(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no database"):
        read_counters(tmp_path / "missing.db")


def test_audit_is_hash_chained_and_append_only(store: Store) -> None:
    with store.write() as tx:
        for n in range(3):
            audit.record(tx, at=utc_now(), actor="ann", role="counter", action="x",
                         entity="return", entity_id=f"R{n}", before=None, after={"n": n})
    with store.read() as tx:
        assert audit.verify(tx) is None
    for statement in ("UPDATE audit SET actor = 'eve' WHERE id = 2", "DELETE FROM audit"):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"), store.write() as tx:
            tx.execute(statement)
    with store.write() as tx:  # a forger who drops the triggers is still caught by the chain
        tx.execute("DROP TRIGGER audit_no_update")
        tx.execute("UPDATE audit SET after = '{\"n\": 7}' WHERE id = 2")
        assert audit.verify(tx) == 2

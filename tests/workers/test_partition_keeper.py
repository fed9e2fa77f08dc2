"""Workers hold their partitions of the ingest through PostgreSQL advisory locks: they split the
stores evenly, a worker whose session ends leaves its stores to the others, and a worker cut off
from the broker holds none."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text

from hub.storage.engine import make_engine, writing
from hub.storage.tables.core import stores
from hub.sync.partition_keeper import PartitionKeeper
from hub.sync.partitions import PARTITIONS
from tests.support.databases import migrated, pg_database

pytestmark = pytest.mark.pg

STORES = {f"pk-{n:03d}" for n in range(300)}


class Worker:
    """One keeper and what it last told its link, as the runtime wires them."""

    def __init__(self, engine: Engine, name: str) -> None:
        self.stores: frozenset[str] = frozenset()
        self.connected = True
        self.keeper = PartitionKeeper(engine, name, 60.0, on_stores=self._follow,
                                      connected=lambda: self.connected)

    def _follow(self, stores: frozenset[str]) -> None:
        self.stores = stores

    @property
    def held(self) -> int:
        return int(self.keeper.state()["partitions"])  # type: ignore[call-overload]


@pytest.fixture
def engine(pg_url: str) -> Iterator[Engine]:
    migrated(pg_url)
    engine = make_engine(pg_url)
    with writing(engine) as tx:
        tx.conn.execute(stores.insert(), [{"store_id": s, "created_at": tx.now} for s in STORES])
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def workers(engine: Engine) -> Iterator[tuple[Worker, Worker]]:
    one, two = Worker(engine, "acorn-hub-w1"), Worker(engine, "acorn-hub-w2")
    try:
        yield one, two
    finally:
        one.keeper.stop()
        two.keeper.stop()


def _rounds(*workers: Worker) -> None:
    for _ in range(3):
        for worker in workers:
            worker.keeper.round()


def test_two_workers_split_the_stores_evenly_and_each_store_goes_to_one(
        workers: tuple[Worker, Worker]) -> None:
    one, two = workers
    one.keeper.round()
    assert one.held == PARTITIONS and one.stores == STORES  # alone, it takes everything
    _rounds(two, one)
    assert one.held == two.held == PARTITIONS // 2
    assert one.stores and two.stores and not one.stores & two.stores
    assert one.stores | two.stores == STORES
    assert one.keeper.state()["members"] == 2


def test_a_worker_whose_session_ends_leaves_its_stores_to_the_other(
        engine: Engine, workers: tuple[Worker, Worker]) -> None:
    one, two = workers
    _rounds(one, two)
    assert one.held == two.held == PARTITIONS // 2
    with engine.connect() as admin:  # the server ends one's session, as when its process dies
        ended = admin.execute(text(  # waiting (up to 10 s) until that backend is gone: its
            # locks are free only then, and the other worker's next round may come at once
            "SELECT pg_terminate_backend(pid, 10000) FROM pg_locks WHERE locktype = 'advisory' "
            "AND classid = :ns AND objid = 1 + :p AND granted AND database = "
            "(SELECT oid FROM pg_database WHERE datname = current_database())"),
            {"ns": int.from_bytes(b"ACPT", "big"),
             "p": min(int(p) for p in one.keeper._mine)}).scalars().all()
        admin.commit()
    assert ended == [True]
    two.keeper.round()
    assert two.held == PARTITIONS and two.stores == STORES
    one.keeper.round()  # its connection is gone: it drops everything it thought it held
    assert one.held == 0 and one.stores == frozenset()
    _rounds(one, two)  # and comes back for its share
    assert one.held == two.held == PARTITIONS // 2 and one.stores | two.stores == STORES


def test_a_worker_off_the_broker_gives_its_stores_back(workers: tuple[Worker, Worker]) -> None:
    one, two = workers
    _rounds(one, two)
    one.connected = False
    one.keeper.round()
    assert one.held == 0 and one.stores == frozenset()
    two.keeper.round()
    assert two.held == PARTITIONS and two.stores == STORES
    assert two.keeper.state()["members"] == 1  # one is not counted while it is off
    one.connected = True
    _rounds(one, two)  # back on the broker: it gets its share again
    assert one.held == two.held == PARTITIONS // 2 and one.stores | two.stores == STORES


def test_a_new_store_is_taken_by_the_worker_holding_its_partition(
        engine: Engine, workers: tuple[Worker, Worker]) -> None:
    one, two = workers
    _rounds(one, two)
    with writing(engine) as tx:
        tx.conn.execute(stores.insert().values(store_id="pk-new", created_at=tx.now))
    _rounds(one, two)
    assert ("pk-new" in one.stores) != ("pk-new" in two.stores)


def test_stopping_gives_every_partition_back(workers: tuple[Worker, Worker]) -> None:
    one, two = workers
    _rounds(one, two)
    one.keeper.stop()
    assert one.stores == frozenset()
    _rounds(two)
    assert two.held == PARTITIONS and two.stores == STORES


def test_the_workers_of_another_hub_database_on_the_server_are_not_counted(
        workers: tuple[Worker, Worker]) -> None:
    """Advisory locks belong to one database: another hub's workers on the same PostgreSQL
    server neither take this hub's partitions nor shrink its workers' shares."""
    one, _ = workers
    for other_url in pg_database():
        migrated(other_url)
        other_engine = make_engine(other_url)
        other = Worker(other_engine, "acorn-hub-w1")
        try:
            other.keeper.round()
            one.keeper.round()
            assert other.held == PARTITIONS and one.held == PARTITIONS
            assert one.keeper.state()["members"] == 1
        finally:
            other.keeper.stop()
            other_engine.dispose()

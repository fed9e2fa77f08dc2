"""How several hub workers split the stores' events: the partition arithmetic (pure)."""

from __future__ import annotations

from hub.sync.partitions import (
    PARTITIONS,
    Plan,
    fair_share,
    partition_of,
    plan,
    start_of,
    stores_in,
)


def test_a_store_has_one_partition_the_same_every_time() -> None:
    stores = [f"store-{n:04d}" for n in range(1000)]
    first = [partition_of(s) for s in stores]
    assert first == [partition_of(s) for s in stores]
    assert set(first) == set(range(PARTITIONS))  # a thousand stores reach every partition
    counts = [first.count(p) for p in range(PARTITIONS)]
    assert max(counts) < 2 * 1000 / PARTITIONS  # and no partition is a hot spot


def test_fair_share_covers_every_partition() -> None:
    assert fair_share(1) == PARTITIONS
    assert fair_share(2) == PARTITIONS // 2
    for members in range(1, 65):
        assert fair_share(members) * members >= PARTITIONS
    assert fair_share(0) == PARTITIONS  # no member counted yet: this worker alone


def test_a_lone_worker_takes_every_free_partition() -> None:
    step = plan(set(), set(), 1, start=5)
    assert sorted(step.take) == list(range(PARTITIONS)) and step.release == ()
    assert step.take[0] == 5  # it starts at its own place


def test_a_worker_takes_only_free_partitions_up_to_its_share() -> None:
    others = set(range(0, 20))
    step = plan({40, 41}, others, 2, start=0)
    assert len(step.take) == PARTITIONS // 2 - 2
    assert not set(step.take) & (others | {40, 41})
    crowded = plan({40, 41}, set(range(0, 40)), 2, start=0)  # fewer free than its share
    assert sorted(crowded.take) == list(range(42, 64))


def test_a_worker_holding_too_many_gives_back_the_rest_and_takes_none() -> None:
    mine = set(range(PARTITIONS))
    step = plan(mine, set(), 2, start=10)
    assert step.take == () and len(step.release) == PARTITIONS - fair_share(2)
    kept = mine - set(step.release)
    assert kept == {(10 + k) % PARTITIONS for k in range(fair_share(2))}


def test_nothing_to_do_when_the_share_is_held() -> None:
    mine = set(range(32))
    assert plan(mine, set(range(32, 64)), 2, start=0) == Plan()
    assert plan(mine, set(range(32, 40)), 2, start=0) == Plan()  # share held, others free


def test_two_workers_rounds_converge_to_an_even_split() -> None:
    """The rounds two workers play through the locks end with every partition held once."""
    a: set[int] = set(range(PARTITIONS))  # the first worker ran alone
    b: set[int] = set()
    for _ in range(3):
        a -= set(plan(a, b, 2, start_of("w1")).release)
        b |= set(plan(b, a, 2, start_of("w2")).take)
        a |= set(plan(a, b, 2, start_of("w1")).take)
    assert len(a) == len(b) == PARTITIONS // 2 and not a & b


def test_stores_in_picks_the_stores_of_the_partitions() -> None:
    stores = [f"s{n}" for n in range(200)]
    held = {partition_of("s7"), partition_of("s8")}
    picked = stores_in(stores, held)
    assert {"s7", "s8"} <= picked
    assert all(partition_of(s) in held for s in picked)
    assert stores_in(stores, set(range(PARTITIONS))) == set(stores)

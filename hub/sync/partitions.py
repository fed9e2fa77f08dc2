"""Which stores' events a hub worker takes: stores hashed into partitions, shared out fairly.

Several workers (``hub_workers`` > 1) split the nodes' events between them by store: each worker
subscribes to the events topics of the stores in the partitions it holds, so all of a node's
messages reach one worker, in order, and two workers' batches touch different nodes (they never
wait for each other's node rows, and nothing arrives ahead of its stream to be held back).
Holding a partition is a PostgreSQL advisory lock (``hub.sync.partition_keeper``); this module is
the arithmetic only.

Rules:
- ``PARTITIONS`` is fixed (64, at least ``hub_workers``' maximum): a store's partition is the
  CRC-32 of its id modulo 64, the same in every worker and every release, and a store's
  partition never changes (so a worker never has to reason about stores moving by themselves);
- a worker's fair share is ``ceil(64 / members)``; it takes free partitions up to its share,
  and gives back what it holds beyond it (the highest in its own order), so a worker that
  joins gets partitions within a round or two and the shares even out;
- each worker walks the partitions from its own starting point (``start_of`` its client id), so
  workers starting together do not all reach for the same free ones first.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Set
from dataclasses import dataclass

PARTITIONS = 64


def partition_of(store_id: str) -> int:
    """The partition a store's events belong to."""
    return zlib.crc32(store_id.encode()) % PARTITIONS


def start_of(worker: str) -> int:
    """Where a worker starts looking for free partitions."""
    return zlib.crc32(worker.encode()) % PARTITIONS


def fair_share(members: int) -> int:
    """How many partitions one of ``members`` workers should hold at most."""
    return -(-PARTITIONS // max(members, 1))


@dataclass(frozen=True)
class Plan:
    """One round's change: partitions to try to lock, partitions to give back."""

    take: tuple[int, ...] = ()
    release: tuple[int, ...] = ()


def plan(mine: Set[int], others: Set[int], members: int, start: int) -> Plan:
    """What a worker holding ``mine`` does when ``others`` are held by other workers and
    ``members`` workers take part (this one included)."""
    share = fair_share(members)
    order = [(start + k) % PARTITIONS for k in range(PARTITIONS)]
    if len(mine) > share:
        held = [p for p in order if p in mine]
        return Plan(release=tuple(held[share:]))
    free = [p for p in order if p not in mine and p not in others]
    return Plan(take=tuple(free[:share - len(mine)]))


def stores_in(stores: Iterable[str], partitions: Set[int]) -> set[str]:
    """The stores among ``stores`` whose events belong to ``partitions``."""
    return {s for s in stores if partition_of(s) in partitions}

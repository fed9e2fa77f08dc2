"""Set-based lookups of (node, seq) slots, for the batch and claim rules.

A storm brings gaps on hundreds of nodes in one batch; asking per node would cost one statement
per node (the issue measured 200-300 ev/s that way). Here one statement answers a chunk of
slots from any number of nodes.

Rules:
- one SELECT per ``CHUNK`` slots or ``NODES_PER_STATEMENT`` nodes: an OR of one term per node
  (store, node, seq IN ...), which SQLite (multi-index OR) and PostgreSQL (bitmap OR) both answer
  from the primary key; a row-value ``IN`` list would scan the whole table on SQLite;
- pure reads: nothing here writes or decides.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping

from sqlalchemy import Connection, Table, and_, or_, select

Key = tuple[str, str]
Slot = tuple[Key, int]
CHUNK = 400  # slots a statement: with the node terms, far below SQLite's parameter limit
NODES_PER_STATEMENT = 100


def held_ids(conn: Connection, table: Table, slots: Iterable[Slot]) -> dict[Slot, str | None]:
    """The message id ``table`` (inbox or unprocessable_events) holds at each slot found."""
    found: dict[Slot, str | None] = {}
    for chunk in _chunks(_by_node(slots)):
        rows = conn.execute(
            select(table.c.store_id, table.c.node_id, table.c.seq, table.c.message_id).where(
                or_(
                    *[
                        and_(
                            table.c.store_id == key[0],
                            table.c.node_id == key[1],
                            table.c.seq.in_(seqs),
                        )
                        for key, seqs in chunk
                    ]
                )
            )
        )
        found.update((((r.store_id, r.node_id), int(r.seq)), r.message_id) for r in rows)
    return found


def held_beyond(conn: Connection, table: Table, contiguous: Mapping[Key, int]) -> list[Slot]:
    """Slots ``table`` holds above each node's contiguous seq (nodes given with theirs)."""
    found: list[Slot] = []
    keys = sorted(contiguous.items())
    for start in range(0, len(keys), NODES_PER_STATEMENT):
        rows = conn.execute(
            select(table.c.store_id, table.c.node_id, table.c.seq).where(
                or_(
                    *[
                        and_(
                            table.c.store_id == key[0],
                            table.c.node_id == key[1],
                            table.c.seq > after,
                        )
                        for key, after in keys[start : start + NODES_PER_STATEMENT]
                    ]
                )
            )
        )
        found.extend(((r.store_id, r.node_id), int(r.seq)) for r in rows)
    return found


def _by_node(slots: Iterable[Slot]) -> list[tuple[Key, list[int]]]:
    seqs: dict[Key, set[int]] = defaultdict(set)
    for key, seq in slots:
        seqs[key].add(seq)
    return [(key, sorted(seqs[key])) for key in sorted(seqs)]


def _chunks(nodes: list[tuple[Key, list[int]]]) -> Iterator[list[tuple[Key, list[int]]]]:
    """Runs of nodes of at most ``NODES_PER_STATEMENT`` nodes and about ``CHUNK`` slots."""
    chunk: list[tuple[Key, list[int]]] = []
    size = 0
    for key, seqs in nodes:
        if chunk and (len(chunk) >= NODES_PER_STATEMENT or size + len(seqs) > CHUNK):
            yield chunk
            chunk, size = [], 0
        chunk.append((key, seqs))
        size += len(seqs)
    if chunk:
        yield chunk

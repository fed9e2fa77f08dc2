"""The nodes' cursors move with every batch and their rows stay on their pages (migration
0037), on the real PostgreSQL.

Every ingest batch updates the row of each node it carries. With full pages (PostgreSQL's
default) the new version of a row goes to another page, with new index entries, and the old one
stays until a VACUUM: ``python -m bench capacity`` left 24,287 dead versions beside 1,000 live
rows and a 12 MB heap for 200 kB of rows (autovacuum off, as on these machines). With half of
each page free the new version is written beside the old one (a HOT update) and PostgreSQL
prunes a page's dead versions as it reads it.

What the test holds is the first half, which does not depend on anything else running on the
server: after a batch moves every node's cursor, every node's row is still on the page it was
on (without the migration, 198 of 200 moved). The pruning, the second half, waits for every
transaction on the server older than the dead versions: a long one anywhere holds it back,
which makes it a poor thing to assert beside other tests. Measured alone: 200 nodes moved 6,000
times, 96 % HOT updates, 29 pages before and after; without the migration, 21 % and 19 -> 309
pages.
"""

from __future__ import annotations

from sqlalchemy import Engine, text

from hub.storage.engine import writing
from hub.sync.ingest.batch import store_batch
from hub.sync.ingest.classify import classify
from protocol import NodeStatus, TopicKind, encode, make_envelope, node_topic, utc_now
from tests.hub.helpers import ON_PG, received

NODES = 200


def _fleet(engine: Engine) -> None:
    """Every node's row as the fleet's are (with its last status), written in one statement."""
    status = encode(make_envelope("s0", "n1", 0, NodeStatus(
        state="online", version="acorn-edge 2026.12.1", since=utc_now(), printer="ok",
        scanner="connected", clock_offset_seconds=0.25))).decode()
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO stores (store_id, created_at) "
                          "SELECT 's' || g, now() FROM generate_series(0, :last) AS g"),
                     {"last": NODES - 1})
        conn.execute(text(
            "INSERT INTO nodes (store_id, node_id, contiguous_seq, highest_seq, command_seq, "
            "online, status, status_at, last_seen_at, created_at) SELECT 's' || g, 'n1', 0, 0, "
            "0, true, CAST(:status AS json), now(), now(), now() "
            "FROM generate_series(0, :last) AS g"), {"status": status, "last": NODES - 1})


def _events(engine: Engine) -> None:
    """One event from each node, in two batches as the writer cuts them (each batch moves the
    cursor of its nodes: one update of each row)."""
    items = [classify(node_topic(f"s{n}", "n1", TopicKind.EVENTS),
                      encode(received(f"s{n}", "n1", 1, "R1"))) for n in range(NODES)]
    for half in (items[:NODES // 2], items[NODES // 2:]):
        with writing(engine) as tx:
            result = store_batch(tx, half)
        assert result.applied == len(half) and not result.dead


def _pages_of_rows(engine: Engine) -> dict[str, int]:
    """The heap page each node's row is on (the block of its ctid)."""
    with engine.connect() as conn:
        return {r.store_id: int(r.block) for r in conn.execute(text(
            "SELECT store_id, (ctid::text::point)[0]::int AS block FROM nodes"))}


@ON_PG
def test_a_batch_that_moves_every_nodes_cursor_leaves_each_row_on_its_page(
        engine: Engine) -> None:
    with engine.connect() as conn:
        assert conn.execute(text(
            "SELECT reloptions FROM pg_class WHERE relname = 'nodes'")).scalar_one() == [
                "fillfactor=50"]
    _fleet(engine)
    before = _pages_of_rows(engine)
    _events(engine)
    after = _pages_of_rows(engine)
    moved = sum(1 for store, page in after.items() if page != before[store])
    print(f"\nnodes: {moved} of {NODES} rows moved to another page")
    assert len(after) == NODES and moved == 0

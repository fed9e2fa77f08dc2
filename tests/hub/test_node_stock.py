"""Each node's running figures (``node_stock``, kept by a trigger on ``stock_moves``) on both
databases: always the sum of the node's stored moves, whatever the batches, and the consistency
check's starting point (tests/hub/test_stock_check.py holds the check's answers to it)."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import Engine, select

from hub.storage.engine import reading
from hub.storage.tables.inventory import node_stock, stock_moves
from tests.hub.helpers import ingest
from tests.hub.test_stock_view import R, S, moved, story


def summed_moves(engine: Engine) -> dict[tuple[str, str, str, str], int]:
    """Each (store, node, SKU, state)'s sum of the stored moves, made here in Python."""
    sums: Counter[tuple[str, str, str, str]] = Counter()
    with reading(engine) as conn:
        for m in conn.execute(select(stock_moves)):
            if m.to_state is not None:
                sums[(m.store_id, m.node_id, m.sku, m.to_state)] += m.quantity
            if m.from_state is not None:
                sums[(m.store_id, m.node_id, m.sku, m.from_state)] -= m.quantity
    return dict(sums)


def figures(engine: Engine) -> dict[tuple[str, str, str, str], int]:
    with reading(engine) as conn:
        return {(r.store_id, r.node_id, r.sku, r.state): r.quantity
                for r in conn.execute(select(node_stock))}


def test_each_node_s_figures_are_the_sum_of_its_stored_moves(engine: Engine) -> None:
    ingest(engine, *story("s1"), *story("s2"))  # two stores in one batch
    ingest(engine,  # a second node of s1, and s1/n1 again, in one batch
           moved("s1", 1, "s1-N2-M1", "SKU-K", 7, None, S.SELLABLE, R.COUNT, {S.SELLABLE: 7},
                 node="n2"),
           moved("s1", 5, "s1-M5", "SKU-K", 3, S.SELLABLE, S.RESERVED, R.RESERVATION,
                 {S.SELLABLE: 1, S.RESERVED: 3}),
           moved("s1", 6, "s1-M6", "SKU-L", 2, None, S.SELLABLE, R.COUNT, {S.SELLABLE: 2}))
    refused = ingest(engine, moved(  # a move id s1 already reported, from its other node
        "s1", 2, "s1-M5", "SKU-K", 9, None, S.SELLABLE, R.COUNT, {S.SELLABLE: 16}, node="n2"))
    assert refused.dead and refused.applied == 1  # taken by the stream, not by the stock view
    held = figures(engine)
    assert held == summed_moves(engine)
    assert held[("s1", "n1", "SKU-K", "sellable")] == 1  # 5 - 2 + 1 - 3
    assert held[("s1", "n1", "SKU-K", "reserved")] == 3
    assert held[("s1", "n1", "SKU-K", "qc_hold")] == 0  # in and out again: kept at zero
    assert held[("s1", "n2", "SKU-K", "sellable")] == 7  # not the refused 9 more
    assert held[("s2", "n1", "SKU-K", "sellable")] == 4

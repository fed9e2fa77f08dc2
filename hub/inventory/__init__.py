"""Inventory across stores and Amazon: the stock view (built), allocation rules and their pure
engine, and the stock consistency check.

Rules: quantities only move through ``stock.moved`` events that reach the hub exactly once (the
ingest dedups on node and seq; a move id seen twice is refused, never applied twice);
``projection`` is pure (loaded levels in, changes out); ``ledger`` loads and writes them inside
the ingest's batch transaction; ``queries`` read the view, scoped like every desk list;
allocation is a pure function of stock, rules, sales and time; rules are versioned and published
like the refund policy. Built: ``store_records`` (a store's address, manager,
hours, capabilities; open now), ``allocation`` (the rules and their engine),
``stock_source`` (the engine's stock, categories and sales velocity read from the stock view and
the catalogue), ``catalogue`` (each SKU's category, title, brand and unit cost), ``check``
(each store snapshot verified against the node's certificate key when it has one, compared as
of its seq, its count-task answers applied), ``differences`` (listed, resolved — a recount
sends the node a count task —, refused pages, Amazon listing more than the stores hold;
alerting) and ``routing`` (Amazon MFN orders routed to stores by a pure engine, on import and
by hand).

    projection  ledger  queries  stock_source  store_records  catalogue/  allocation/  check
    differences  routing/
"""

"""The store's stock ledger: per-SKU quantities by state (sellable, QC hold, refurbish, scrap,
reserved, in transit), moved by POS sales, returns (received -> QC hold, then their disposition),
stock counts, transfers and reservations.

Rules: a quantity moves only by ``ledger.Ledger.book``, which writes the move, its audit entry and
its ``stock.moved`` outbox event in the caller's transaction (so it reaches the hub exactly once,
offline too); a returned item is never sellable before its inspection (``rules``, pure).
``snapshot`` sends the hub the store's totals for its consistency check (signed with the node's
key when it has one); ``tasks`` keeps the hub's count tasks until a count answers them.

    rules  models  ledger  snapshot  tasks  kept_back
"""

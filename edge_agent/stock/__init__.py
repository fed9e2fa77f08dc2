"""The store's stock ledger (the inventory issue): the home of per-SKU quantities by state, the
moves from POS sales, return dispositions, counts, transfers and reservations, and the
allocation rules the hub pushes.

Rules (for what will live here): a quantity moves only by an event written in the same
transaction as the move and sent through the outbox (so it reaches the hub exactly once, offline
too); a returned item is never sellable before its inspection. Nothing is built here yet.
"""

"""The node's SQLite file: schema, one writer, integrity, salvage, and the rows of its tables.

Rules: one connection, one transaction per counter action, and the audit entry in that same
transaction; the file is opened only once it has proved itself (``integrity``), and damage is
quarantined, never silently trimmed (``walcheck``); nothing recorded is lost (``replay``,
``recover`` rebuild from the node's own events; ``rebuild`` makes events whose outbox rows were
cut again from the business rows they reported).

    store  migrations  integrity  walcheck  replay  recover  rebuild  records  audit  ids
"""

"""Returns as the hub sees them: their state, the projection of node events, read models.

Rules: ``states`` is the pure lifecycle table; ``projection`` turns accepted node events into row
changes (pure: loaded rows in, changes out); ``queries`` builds the API's read models. Writes
happen only through ingest's transaction (``hub.sync.ingest``), except ``buyer``: returns a
buyer books online to a store they choose (its own rules, its own tables ``buyer_*``).

    states  projection  queries  buyer
"""

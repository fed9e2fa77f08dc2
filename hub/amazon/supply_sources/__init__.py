"""Stores published as Amazon supply sources (Supply Sources API 2020-07-01), for multi-location
inventory in US marketplaces.

    document    pure: a store record as create/update documents, and the plan (create, update,
                replace, archive) that makes Amazon match the stores
    zip_states  pure data: a US ZIP code's state (Amazon requires ``stateOrRegion``)
    registry    the store ↔ supplySourceId mapping (``amazon_supply_sources``), audited
    publish     the ``supply-sources`` job: the plan sent through python-amazon-sp-api

Rules: a store is a supply source of each account that sells in a multi-location US marketplace
while it has ship-from-store or pickup, a US address and is not decommissioned; the listings job
publishes first, so a changed record reaches Amazon before the quantities that depend on it.
"""

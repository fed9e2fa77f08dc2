"""Finance (the finance issue): the home of reason analytics, settlement reconciliation, FX
with sources, VAT/DATEV exports and the monthly archive.

Rules (for what will live here): money is Decimal with a currency, every rate has a source and a
date, exports are reproducible from stored facts. Nothing is built here yet.
"""

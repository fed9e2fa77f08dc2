"""Finance (the finance issue): reason analytics, settlement reconciliation, FX with sources,
VAT/DATEV exports and the monthly archive.

Rules: money is Decimal with a currency, every rate has a source and a date, exports are
reproducible from stored facts.

Built: ``fx`` / ``fx_rates`` / ``fx_fetch`` (ECB reference rates with their day and source, and
the policy's own rates), ``reasons/`` (one return-reason taxonomy, text rules, the
classification pass, reason analytics and the stands-out test), ``vat_match`` / ``vat_store``
(Amazon's EU VAT report refunds matched to ACORN's refunds; the reports are fetched by
``hub.amazon.sync.vat_reports``). Not yet: settlement reconciliation, DATEV/OSS exports, the
monthly archive, evidence.
"""

"""Finance (the finance issue): reason analytics, settlement reconciliation, FX with sources,
VAT/DATEV exports and the monthly archive.

Rules: money is Decimal with a currency, every rate has a source and a date, exports are
reproducible from stored facts.

Built: ``fx`` / ``fx_rates`` / ``fx_fetch`` (ECB reference rates with their day and source, and
the policy's own rates), ``reasons/`` (one return-reason taxonomy, text rules, the
classification pass, reason analytics and the stands-out test), ``entities`` (the legal
entities: base currency, country, VAT id, DATEV settings; a versioned YAML document),
``fx_amounts`` / ``fx_amounts_store`` (every refund and settlement amount also in its entity's
base currency with rate, day and source; the FX gain or loss between refund and settlement per
month), ``exports/`` (the transaction journal as CSV and XLSX, the DATEV EXTF Buchungsstapel,
the EU OSS summary). Not yet: settlement reconciliation, the VAT report import, the monthly
archive, evidence.
"""

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
the EU OSS summary), ``settlements/`` (settlement reconciliation), ``vat_match`` /
``vat_store`` (Amazon's EU VAT report refunds matched to ACORN's refunds; the reports are
fetched by ``hub.amazon.sync.vat_reports``), ``vat_overview`` (the imported months summed up),
``archive/`` (the monthly archive) and ``evidence/`` (photos and documents, content-addressed).
"""

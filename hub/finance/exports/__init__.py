"""Exports for accountants and tax: the transaction journal (CSV, XLSX), the DATEV EXTF
Buchungsstapel and the EU OSS summary, per entity (``hub.finance.entities``) and period.

Rules:
- pure core: ``facts`` (the journal's rows, periods, VAT split from gross), ``journal`` (CSV and
  XLSX writers), ``datev`` (bookings and the EXTF file), ``oss`` (the summary); one I/O adapter:
  ``store`` reads the facts of an entity and a period from the hub's tables (Amazon orders,
  store and Amazon returns, refunds with their stored base amounts) after converting what is
  pending (``hub.finance.fx_amounts_store``);
- the same facts feed every export, so the journal, the DATEV file and the OSS summary agree;
- personal data never enters a fact: no buyer key, customer key, staff id or free text (the
  reasons people typed); documents are order, return and refund ids;
- bad input (an unknown entity, a malformed period, DATEV settings missing, an amount DATEV
  cannot hold) is an ``InputError`` naming the field, nothing half-written.
"""

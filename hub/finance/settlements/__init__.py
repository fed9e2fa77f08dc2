"""Settlement reconciliation: each Amazon settlement checked against the refunds ACORN made, its
deposit, and booked to accounts, with a status people resolve.

Rules:
- pure core: ``model`` (the plain values), ``reconcile`` (deduplication on ``settlement-id``,
  refund matching into a difference table, the deposit check), ``accounting`` (the versioned
  YAML account mapping and the month-end split); I/O: ``store`` (reads Amazon's stored tables
  and the refund tables through ``hub.storage``, keeps statuses and resolutions, audited);
- finance never imports ``hub.amazon``: what Amazon sent is read from the tables the sync wrote;
- a settlement is counted once however many reports carry it; the repeats are reported;
- money is ``Decimal`` in the settlement's currency; nothing is summed across currencies;
- a difference is never deleted: a person resolves it with a note (who, why, audited), and a
  settlement is ``reconciled`` only when the deposit adds up and every difference is resolved.
"""

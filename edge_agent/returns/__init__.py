"""The return at the counter: its pure state machine, scans, the counter's actions, receipts and
read models.

Rules: ``states`` and ``scans`` are pure; each counter action is one transaction that writes the
rows, the audit entry and the outbox event together.

    states  scans  counter  receipts  views
"""

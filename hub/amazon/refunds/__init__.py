"""Approved MFN refunds sent to Amazon exactly once, followed to the money, and the operations a
person takes on them (retry, resolve).

Rules: an intent is recorded before ``createFeed`` and reconciled after a crash; ``rules`` and
``feed`` are pure.
"""

"""Inventory across stores and Amazon (the inventory issue): the home of the stock view,
allocation rules and their pure engine, and the stock consistency check.

Rules (for what will live here): quantities only move through events that reach the hub exactly
once; allocation is a pure function of stock, rules, sales and time; rules are versioned and
published like the refund policy. Built: ``store_records`` (a store's address, manager,
hours, capabilities; open now) and ``allocation`` (the rules and their engine).
"""

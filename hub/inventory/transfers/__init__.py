"""Transfers between stores, priced by rule, settled monthly between stores and regions.

Rules: a transfer order is requested at the hub (``orders``: audited, its ``transfer.task``
queued to the sending store); everything after is followed from the two stores'
``stock.moved`` events carrying its id (``follow``): shipped at the sender, received at the
receiver (with a difference when units were lost or a surplus came), delivered when the sender
booked its in-transit units out. A complete receipt is priced once by the active transfer price
rules (``rules``: versioned YAML, ``rules_store``) in a pure core (``pricing``, the rule and why
with each line) and the lines make the monthly internal settlement (``settlement``, CSV too).

    rules  pricing  rules_store  orders  follow  settlement
"""

"""Shipments confirmed to Amazon: one ``confirmShipment`` per package a store shipped.

Rules:
- owns the ``confirm_state`` of ``package_shipments`` (written by the stores' ``order.shipped``
  events, ``hub.inventory.picking``): pending -> sending -> confirmed, or failed; a package
  ``held`` (the order shipped twice) is never sent: a person decides;
- the intent is recorded (``sending``, committed) BEFORE the call; a hub that dies between the
  call and its record finds the package still ``sending`` and sends it again with the SAME
  ``packageReferenceId``, which Amazon treats as an edit of that package, never a second one:
  exactly once in effect;
- a store published as a supply source (``hub.amazon.supply_sources``, configured and active)
  ships from it: ``shipFromSupplySourceId``;
- one call per package, at Amazon's limit for ``confirmShipment`` (2/s, burst 10,
  ``hub.amazon.client.ratelimit``); the job runs on ``interval_shipments``;
- Amazon refusing the request (4xx with an error body) fails the package with Amazon's message
  (a person corrects it on the desk); anything else (throttling, 5xx, no network) leaves it to
  the next run;
- a person decides a ``failed`` or ``held`` package (``decide``: resend, corrected or not, or
  drop), audited;
- ``due`` lists the routed packages not shipped yet whose ship-by is near (the desk and
  ``/metrics``).
"""

from hub.amazon.shipments.confirm import confirm_shipments
from hub.amazon.shipments.decide import decide
from hub.amazon.shipments.due import due_soon, unconfirmed_counts

__all__ = ["confirm_shipments", "decide", "due_soon", "unconfirmed_counts"]

"""Returns a buyer books online, to a store they choose (issue 14 point 5).

Rules:
- nothing of an order is shown without both its order id and the destination postcode the
  routing kept for it (``routed_orders``): an unknown order and a wrong postcode get the same
  ``NoMatch``, after the same reads and one constant-time comparison (``lookup``);
- which items may still be returned is the refund policy's decision (``eligibility``, pure):
  an item the active policy would reject is shown with the policy's own sentences; cancelled or
  unshipped orders and items already returned or booked say so in plain words;
- stores offered are those whose record takes returns and has coordinates, nearest first from
  the postcode's centroid (``hub.inventory.routing``), with their opening hours (``stores``);
- booking (``service.book``) stores the return under a fresh code, queues it as a
  ``return.expected`` command to every node of the chosen store (the counter scans the code),
  and audits ``buyer_return.created``, all in one transaction; the same items cannot be booked
  twice;
- every lookup and booking passes the per-client rate limiter first (``throttle``).

    throttle  lookup  eligibility  stores  service
"""

from hub.returns.buyer.eligibility import ItemView, eligible_items
from hub.returns.buyer.lookup import NoMatch, OrderFacts, find_order
from hub.returns.buyer.service import Booked, OrderView, book, look_up
from hub.returns.buyer.stores import StoreView, nearby_stores
from hub.returns.buyer.throttle import Limits, Throttled, admit

__all__ = ["Booked", "ItemView", "Limits", "NoMatch", "OrderFacts", "OrderView", "StoreView",
           "Throttled", "admit", "book", "eligible_items", "find_order", "look_up", "nearby_stores"]

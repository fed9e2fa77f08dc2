"""The buyer key: how the hub recognises one Amazon buyer across orders without knowing them (pure).

Rules:
- the key is the HMAC-SHA256 (hex, 64 characters) of the buyer's anonymised email as Amazon's
  Orders API gives it (``buyer.buyerEmail``, merchant-fulfilled orders only), stripped and
  lower-cased, under the hub's customer key secret; equal emails give equal keys, the email
  cannot be read back from the key, and without the secret a key cannot be recomputed from a
  guessed email;
- the email itself is never stored, logged or returned: it exists only while a key is computed;
- a blank or missing email has no key (None): the customer is then not known;
- the policy names the customer ``buyer:<key>`` (``customer_key``), which is also the subject of
  a customer risk flag.
"""

from __future__ import annotations

import hashlib
import hmac

CUSTOMER_PREFIX = "buyer:"


def buyer_key(email: str | None, secret: bytes) -> str | None:
    """The keyed hash of ``email`` (stripped, lower-cased), or None for a blank email."""
    if not secret:
        raise ValueError("the customer key secret is empty")
    normal = (email or "").strip().lower()
    if not normal:
        return None
    return hmac.new(secret, normal.encode("utf-8"), hashlib.sha256).hexdigest()


def customer_key(key: str | None) -> str | None:
    """The policy's customer key for a buyer key (``buyer:<hex>``), or None."""
    return f"{CUSTOMER_PREFIX}{key}" if key else None

"""Every bound on what may cross the wire: one source for broker, codec, edge and hub.

Rules:
- each limit is a constant here and nowhere else; the protocol's types, the codec, the edge's and
  POS's request models, the hub's composed texts and the broker config (``message_size_limit``,
  kept equal to ``MAX_PAYLOAD_BYTES`` by a test) all read it from this module;
- a bound holds BEFORE parsing where it can (payload bytes, JSON nesting depth), so a hostile
  message costs a length check and a few C-speed scans, never a recursion;
- money: at most ``MAX_AMOUNT_INTEGER_DIGITS`` digits before the point and the currency's minor
  units after it; the hub stores amounts as NUMERIC(19, 4) (15 integer digits), so every amount
  the protocol accepts fits, with three digits to spare for a conversion to the base currency.
  A return's total (quantity × unit price, summed) obeys the same bound, so a refund of the whole
  return is itself a valid amount.
"""

from __future__ import annotations

from decimal import Decimal

MAX_PAYLOAD_BYTES = 256 * 1024  # one MQTT message; the broker's message_size_limit is the same
MAX_JSON_DEPTH = 32  # nested objects/arrays in one message (an envelope needs about 5)

MAX_SEQ = 2**63 - 1  # a node's event seq: the hub stores it as BIGINT
MAX_BATCH_EVENTS = 100  # events of one node in one event.batch message (a backlog's drain)

MAX_CODE_CHARS = 64  # ids, SKUs, codes
MAX_TEXT_CHARS = 200  # a short human text: a reason, a description
MAX_NOTE_CHARS = 2000  # a free note, one reason of a decision

MAX_ITEMS = 100  # lines of one return
MAX_SCANNED_CODES = 50
MAX_MISMATCH_REASONS = 20
MAX_PHOTOS = 20
# one photo inside one evidence.recorded message: base64 (4/3) plus the envelope stays under
# MAX_PAYLOAD_BYTES
MAX_EVIDENCE_BYTES = 180 * 1024
MAX_COMPLIANCE_TAGS = 10
MAX_REASONS = 20  # reasons of one refund decision (the hub caps its list with "+N more")
MAX_RULES = 20  # fired rules named in one refund decision (the hub keeps the first ones)
MAX_RULE_PARAMS = 8  # parameters of one fired rule
MAX_STAFF = 500  # staff PINs in one store config
MAX_STOCK_QUANTITY = 1_000_000  # units of one SKU in one stock move
MAX_STOCK_BALANCE = 10**12  # a SKU's quantity in one state at a store (the hub: BIGINT)
# a store's part of the allocation rules in its config; bounded so that with MAX_STAFF PINs the
# whole config stays well under MAX_PAYLOAD_BYTES (the hub refuses rules whose part is larger)
MAX_ALLOCATION_SKU_FLOORS = 1000
MAX_ALLOCATION_CATEGORY_FLOORS = 200
MAX_ALLOCATION_RESERVES = 50
MAX_ALLOCATION_RESERVE_SKUS = 20  # SKUs (and categories) one reserve names
MAX_MARKETPLACES = 100

MAX_AMOUNT_INTEGER_DIGITS = 12  # < 10^12 in any currency; the DB holds 15
MAX_AMOUNT_SCALE = 3  # no ISO 4217 currency we know has more minor units
DB_AMOUNT_PRECISION, DB_AMOUNT_SCALE = 19, 4  # the hub's NUMERIC columns (hub/storage/types.py)
MAX_AMOUNT = Decimal(10) ** MAX_AMOUNT_INTEGER_DIGITS  # exclusive

ELLIPSIS = "…"


def amount_fits(amount: Decimal) -> bool:
    """True when ``amount`` is finite and has at most the allowed integer digits and scale."""
    if not amount.is_finite() or amount.copy_abs() >= MAX_AMOUNT:
        return False
    exponent = amount.as_tuple().exponent
    return not isinstance(exponent, int) or -exponent <= MAX_AMOUNT_SCALE


def clip(text: str, limit: int = MAX_NOTE_CHARS) -> str:
    """``text`` cut to ``limit`` characters, ending in an ellipsis when it was cut."""
    return text if len(text) <= limit else text[: limit - len(ELLIPSIS)] + ELLIPSIS


def clip_list(texts: list[str], limit: int = MAX_REASONS,
              chars: int = MAX_NOTE_CHARS) -> list[str]:
    """At most ``limit`` texts, each clipped: the first ones, a "+N more", and the last one (the
    newest, e.g. an approver's verdict, stays visible)."""
    clipped = [clip(t, chars) for t in texts]
    if len(clipped) <= limit:
        return clipped
    head = clipped[: limit - 2]
    return [*head, f"+{len(clipped) - len(head) - 1} more", clipped[-1]]

"""Dead-letter rows with bounded size: what the hub keeps of a message it refused.

Rules:
- the payload is capped at ``PAYLOAD_CAP`` bytes; the row keeps the original size and SHA-256,
  so an operator can match it to the sender's copy without the hub storing megabytes;
- the reason, topic, sender and field are cut to their columns (reason: ``MAX_NOTE_CHARS``), so a
  dead letter can always be written, whatever the message;
- pure: builds rows; the callers insert them in their transaction.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from protocol.limits import MAX_NOTE_CHARS, clip

PAYLOAD_CAP = 64 * 1024


def dead_letter_row(received_at: datetime, topic: str, sender: str | None, reason: str,
                    field: str | None, payload: bytes) -> dict[str, Any]:
    """The ``dead_letters`` row for one refused message."""
    return {"received_at": received_at, "topic": topic[:300],
            "sender": sender[:100] if sender else None, "reason": clip(reason, MAX_NOTE_CHARS),
            "field": field[:200] if field else None, "payload": payload[:PAYLOAD_CAP],
            "payload_size": len(payload), "payload_sha256": hashlib.sha256(payload).hexdigest()}

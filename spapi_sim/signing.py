"""Stateless, tamper-evident tokens: LWA access tokens, paging tokens and presigned URLs.

Everything the simulator hands out that a caller brings back later is sealed with an HMAC of a
secret derived from the seed, so a restarted simulator with the same seed still accepts the
access tokens a client cached (python-amazon-sp-api keeps them process-wide for almost an hour)
and a forged or edited token is refused. This is a test double: the secret is deterministic on
purpose and protects nothing real.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any


def secret_for_seed(seed: int) -> bytes:
    """The signing secret of a simulator started with `seed`."""
    return hashlib.sha256(f"acorn-spapi-sim:{seed}".encode()).digest()


class Signer:
    """Signs strings and seals small JSON payloads with one secret."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def sign(self, message: str) -> str:
        """A hex HMAC-SHA256 of `message`."""
        return hmac.new(self._secret, message.encode(), hashlib.sha256).hexdigest()

    def verify(self, message: str, signature: str) -> bool:
        """True when `signature` is this signer's signature of `message`."""
        return hmac.compare_digest(self.sign(message), signature)

    def seal(self, payload: Mapping[str, Any]) -> str:
        """An opaque token carrying `payload` (JSON values only) and its signature."""
        raw = json.dumps(payload, separators=(",", ":"), sort_keys=True)
        body = base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
        return f"{body}.{self.sign(body)[:32]}"

    def unseal(self, token: str) -> dict[str, Any] | None:
        """The payload of a token made by `seal`, or None when it is forged or garbled."""
        body, _, signature = token.partition(".")
        if not body or not hmac.compare_digest(self.sign(body)[:32], signature):
            return None
        try:
            decoded = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            payload = json.loads(decoded)
        except ValueError:
            return None
        return payload if isinstance(payload, dict) else None

"""Seeded seller accounts and their LWA credentials.

Accounts cycle through three shapes: NA (US, CA), EU (DE, FR, IT, ES, UK) and FE (JP). Every
identifier and credential is derived from the seed and the account's index, so the hub (or a
test) that knows the seed can compute them with `seed_accounts`, or read the credentials file
that `run(..., credentials_file=...)` writes. Secrets never appear in `repr`.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from spapi_sim.marketplaces import BY_CODE, Region

_SHAPES: tuple[tuple[Region, tuple[str, ...]], ...] = (
    ("NA", ("US", "CA")),
    ("EU", ("DE", "FR", "IT", "ES", "UK")),
    ("FE", ("JP",)),
)
_NAMES = ("Oakridge Outfitters", "Birchwood Home", "Maple & Pine Goods", "Cedar Lane Supply",
          "Willow Creek Trading")
_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


@dataclass(frozen=True, slots=True)
class SellerAccount:
    """A selling partner with its LWA app credentials and refresh token."""

    seller_id: str
    name: str
    region: Region
    marketplace_ids: tuple[str, ...]
    client_id: str
    client_secret: str = field(repr=False)
    refresh_token: str = field(repr=False)

    def sp_api_credentials(self) -> dict[str, str]:
        """The dict python-amazon-sp-api takes as `credentials=`."""
        return {
            "lwa_app_id": self.client_id,
            "lwa_client_secret": self.client_secret,
            "refresh_token": self.refresh_token,
        }


def _digest(seed: int, index: int, purpose: str) -> str:
    return hashlib.sha256(f"{seed}:{index}:{purpose}".encode()).hexdigest()


def _alnum(hexdigest: str, length: int) -> str:
    number = int(hexdigest, 16)
    chars = []
    for _ in range(length):
        number, rest = divmod(number, len(_ALNUM))
        chars.append(_ALNUM[rest])
    return "".join(chars)


def seed_account(seed: int, index: int) -> SellerAccount:
    """The `index`-th seeded account for `seed`."""
    region, codes = _SHAPES[index % len(_SHAPES)]
    name = f"{_NAMES[index % len(_NAMES)]} {region}" + (f" {index}" if index >= 3 else "")
    return SellerAccount(
        seller_id="A" + _alnum(_digest(seed, index, "seller"), 13),
        name=name,
        region=region,
        marketplace_ids=tuple(BY_CODE[code].marketplace_id for code in codes),
        client_id="amzn1.application-oa2-client." + _digest(seed, index, "client")[:32],
        client_secret="amzn1.oa2-cs.v1." + _digest(seed, index, "secret"),
        refresh_token="Atzr|" + _digest(seed, index, "refresh") + _digest(seed, index, "r2"),
    )


def seed_accounts(seed: int, count: int) -> tuple[SellerAccount, ...]:
    """The first `count` seeded accounts for `seed`."""
    return tuple(seed_account(seed, index) for index in range(count))


def credentials_document(seed: int, accounts: Iterable[SellerAccount]) -> dict[str, object]:
    """A JSON-able description of the accounts, secrets included (for local development)."""
    return {
        "simulator": "acorn-spapi-sim",
        "seed": seed,
        "accounts": [
            {"seller_id": a.seller_id, "name": a.name, "region": a.region,
             "marketplace_ids": list(a.marketplace_ids), **a.sp_api_credentials()}
            for a in accounts
        ],
    }


def write_credentials_file(path: Path, seed: int, accounts: Iterable[SellerAccount]) -> None:
    """Write `credentials_document` to `path`, readable by the owner only."""
    text = json.dumps(credentials_document(seed, accounts), indent=2) + "\n"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)  # O_CREAT's mode does not apply to an existing file
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)

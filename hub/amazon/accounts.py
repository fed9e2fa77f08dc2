"""Seller account definitions (``amazon_accounts``) and their ok/error status.

Rules:
- an account is a name of ours, Amazon's seller id, one region and marketplaces of that region,
  and optionally an endpoint override (a simulator's URL); its secrets are never stored here;
- values are checked once, in ``new_account``; after that they are trusted;
- status is ``ok`` or ``error`` with Amazon's last message; a change of status is audited, a
  repeated outcome only refreshes its time.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, cast
from urllib.parse import urlsplit

from sqlalchemy import Connection, Engine, select, update

from hub.amazon.marketplaces import REGIONS, Marketplace, Region, by_code
from hub.errors import Conflict, InputError, NotFound
from hub.storage.audit_chain import AuditDraft, jsonable
from hub.storage.engine import reading, writing
from hub.storage.tables.amazon import amazon_accounts

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
SELLER_ID = re.compile(r"[A-Z0-9]{6,32}")
ROLE = "integration"


class AccountStatus(StrEnum):
    """How the account's last contact with Amazon went."""

    OK = "ok"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class Account:
    """One seller account as ACORN knows it (no secrets)."""

    name: str
    seller_id: str
    region: Region
    marketplaces: tuple[Marketplace, ...]
    endpoint: str | None = None
    status: AccountStatus = AccountStatus.OK
    last_error: str | None = None
    last_error_at: datetime | None = None
    last_ok_at: datetime | None = None

    @property
    def marketplace_ids(self) -> tuple[str, ...]:
        """Amazon's ids of the account's marketplaces."""
        return tuple(m.marketplace_id for m in self.marketplaces)

    @property
    def actor(self) -> str:
        """How the audit log names what the integration does for this account."""
        return f"amazon:{self.name}"

    def public(self) -> dict[str, Any]:
        """The account as the API and the CLI show it."""
        return {
            "name": self.name,
            "seller_id": self.seller_id,
            "region": self.region,
            "marketplaces": [m.code for m in self.marketplaces],
            "endpoint": self.endpoint,
            "status": self.status.value,
            "last_error": self.last_error,
            "last_error_at": self.last_error_at,
            "last_ok_at": self.last_ok_at,
        }


def new_account(
    name: str, seller_id: str, region: str, codes: Iterable[str], endpoint: str | None = None
) -> Account:
    """A checked account definition; InputError naming the field that is wrong."""
    if not NAME.fullmatch(name):
        raise InputError(
            "name: letters, digits, - and _, up to 64, starting with a letter or digit",
            field="name",
        )
    if not SELLER_ID.fullmatch(seller_id):
        raise InputError(
            "seller id: Amazon's merchant token, e.g. A1B2C3D4E5F6G7", field="seller_id"
        )
    if region.upper() not in REGIONS:
        raise InputError(f"region must be one of {', '.join(REGIONS)}", field="region")
    markets = _marketplaces(codes, cast(Region, region.upper()))
    if endpoint is not None and urlsplit(endpoint).scheme not in {"http", "https"}:
        raise InputError("endpoint must be an http(s) URL", field="endpoint")
    return Account(
        name,
        seller_id,
        cast(Region, region.upper()),
        markets,
        endpoint.rstrip("/") if endpoint else None,
    )


def _marketplaces(codes: Iterable[str], region: Region) -> tuple[Marketplace, ...]:
    try:
        markets = tuple(dict.fromkeys(by_code(code) for code in codes))
    except ValueError as err:
        raise InputError(str(err), field="marketplaces") from err
    if not markets:
        raise InputError("at least one marketplace is needed", field="marketplaces")
    wrong = [m.code for m in markets if m.region != region]
    if wrong:
        raise InputError(f"{', '.join(wrong)} not in region {region}", field="marketplaces")
    return markets


def _account(row: Any) -> Account:
    return Account(
        row.name,
        row.seller_id,
        row.region,
        tuple(by_code(code) for code in row.marketplaces),
        row.endpoint,
        AccountStatus(row.status),
        row.last_error,
        row.last_error_at,
        row.last_ok_at,
    )


def add_account(engine: Engine, account: Account, actor: str, role: str = "operator") -> None:
    """Store a new account; Conflict if the name or the seller id is taken."""
    with writing(engine) as tx:
        taken = tx.conn.execute(
            select(amazon_accounts.c.name).where(
                (amazon_accounts.c.name == account.name)
                | (amazon_accounts.c.seller_id == account.seller_id)
            )
        ).first()
        if taken is not None:
            raise Conflict(f"account {taken.name} already has that name or seller id", field="name")
        tx.conn.execute(
            amazon_accounts.insert().values(
                name=account.name,
                seller_id=account.seller_id,
                region=account.region,
                marketplaces=[m.code for m in account.marketplaces],
                endpoint=account.endpoint,
                status=AccountStatus.OK.value,
                created_at=tx.now,
                updated_at=tx.now,
            )
        )
        tx.audit(
            AuditDraft(
                actor,
                role,
                "amazon.account.added",
                "amazon_account",
                account.name,
                None,
                jsonable(account.public()),
            )
        )


def list_accounts(conn: Connection) -> list[Account]:
    """Every account, by name."""
    rows = conn.execute(select(amazon_accounts).order_by(amazon_accounts.c.name))
    return [_account(row) for row in rows]


def load_accounts(engine: Engine, names: Iterable[str] = ()) -> list[Account]:
    """The named accounts (all when none is named); NotFound for an unknown name."""
    with reading(engine) as conn:
        accounts = list_accounts(conn)
    wanted = list(names)
    unknown = sorted(set(wanted) - {a.name for a in accounts})
    if unknown:
        raise NotFound(f"no Amazon account {', '.join(unknown)}", field="account")
    return [a for a in accounts if not wanted or a.name in wanted]


def record_outcome(engine: Engine, account: Account, error: str | None) -> None:
    """Mark the account ok (``error`` None) or in error with Amazon's message."""
    status = AccountStatus.ERROR if error else AccountStatus.OK
    with writing(engine) as tx:
        row = tx.conn.execute(
            select(amazon_accounts.c.status, amazon_accounts.c.last_error).where(
                amazon_accounts.c.name == account.name
            )
        ).one_or_none()
        if row is None:
            return  # removed while syncing: nothing to record
        values: dict[str, Any] = {"status": status.value, "updated_at": tx.now}
        values |= (
            {"last_error": error, "last_error_at": tx.now} if error else {"last_ok_at": tx.now}
        )
        tx.conn.execute(
            update(amazon_accounts).where(amazon_accounts.c.name == account.name).values(values)
        )
        if row.status != status.value or (error and error != row.last_error):
            tx.audit(
                AuditDraft(
                    account.actor,
                    ROLE,
                    f"amazon.account.{status.value}",
                    "amazon_account",
                    account.name,
                    {"status": row.status},
                    {"status": status.value},
                    error,
                )
            )

"""What the hub records of each node's certificate: its current serial and expiry, and whether
the node is revoked (``node_certificates``).

Rules:
- ``record_certificate`` runs in the transaction that hands a node its certificate (enrolment,
  renewal): from its commit on, that serial is the node's only renewable certificate;
- a revoked node stays revoked (nothing here clears ``revoked_at``): its id cannot be enrolled,
  renewed or heard from again; give the machine a new node id;
- reads only, and writes only inside the caller's transaction: auditing is the caller's.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy import Connection, select, update

from hub.fleet.pki import serial_hex
from hub.storage.bulk import among, in_array
from hub.storage.tables.fleet import node_certificates

Key = tuple[str, str]


@dataclass(frozen=True)
class Standing:
    """One node's certificate as the hub knows it, and its revocation."""

    store_id: str
    node_id: str
    serial: str | None
    not_after: datetime | None
    revoked_at: datetime | None
    revoked_by: str | None
    revoked_reason: str | None

    @property
    def revoked(self) -> bool:
        """True once the node was revoked."""
        return self.revoked_at is not None


def _standing(row: Any) -> Standing:
    return Standing(row.store_id, row.node_id, row.serial, row.not_after, row.revoked_at,
                    row.revoked_by, row.revoked_reason)


def standing(conn: Connection, store_id: str, node_id: str, lock: bool = False) -> Standing | None:
    """The node's row (locked for update when ``lock``), None if it never had one."""
    query = select(node_certificates).where(node_certificates.c.store_id == store_id,
                                            node_certificates.c.node_id == node_id)
    row = conn.execute(query.with_for_update() if lock else query).first()
    return None if row is None else _standing(row)


def standings(conn: Connection) -> dict[Key, Standing]:
    """Every node's row, by (store, node)."""
    return {(r.store_id, r.node_id): _standing(r) for r in conn.execute(select(node_certificates))}


_REVOKED = select(node_certificates.c.store_id, node_certificates.c.node_id).where(
    node_certificates.c.revoked_at.is_not(None))
# PostgreSQL: the revoked nodes of the stores ``stores`` (an array), for the ingest's first reads
# (``hub.storage.bulk.select_together``; ``revoked_in`` keeps the wanted pairs)
REVOKED_OF_STORES = _REVOKED.where(in_array(node_certificates.c.store_id, "stores"))


def revoked_in(rows: Iterable[Any], keys: Iterable[Key]) -> set[Key]:
    """The pairs of ``keys`` that ``rows`` (store_id, node_id of revoked nodes) name."""
    pairs = set(keys)
    return {key for r in rows if (key := (r.store_id, r.node_id)) in pairs}


def revoked_among(conn: Connection, keys: Iterable[Key]) -> set[Key]:
    """The (store, node) pairs of ``keys`` that are revoked."""
    wanted = sorted(set(keys))
    if not wanted:
        return set()
    # by store (one array parameter on PostgreSQL, hub.storage.bulk.among), then the pairs here:
    # revoked nodes are few, and this runs for every ingest batch
    rows = conn.execute(_REVOKED.where(
        among(conn, node_certificates.c.store_id, sorted({s for s, _ in wanted}))))
    return revoked_in(rows, wanted)


def record_certificate(conn: Connection, store_id: str, node_id: str, cert: x509.Certificate,
                       now: datetime) -> None:
    """Make ``cert`` the node's current certificate (and its key the one the node signs with)."""
    values = {"serial": serial_hex(cert), "not_after": cert.not_valid_after_utc, "issued_at": now,
              "public_key": public_key_pem(cert)}
    if standing(conn, store_id, node_id, lock=True) is None:
        conn.execute(node_certificates.insert().values(store_id=store_id, node_id=node_id,
                                                       **values))
    else:
        conn.execute(update(node_certificates).where(
            node_certificates.c.store_id == store_id,
            node_certificates.c.node_id == node_id).values(**values))


def public_key_pem(cert: x509.Certificate) -> str:
    """The certificate's public key, PEM (SubjectPublicKeyInfo)."""
    return cert.public_key().public_bytes(serialization.Encoding.PEM,
                                          serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def mark_revoked(conn: Connection, store_id: str, node_id: str, now: datetime, by: str,
                 role: str, reason: str) -> None:
    """Record the node as revoked (its row is made if it had none, e.g. a password node)."""
    values = {"revoked_at": now, "revoked_by": by[:200], "revoked_role": role[:30],
              "revoked_reason": reason[:500]}
    if standing(conn, store_id, node_id, lock=True) is None:
        conn.execute(node_certificates.insert().values(store_id=store_id, node_id=node_id,
                                                       **values))
    else:
        conn.execute(update(node_certificates).where(
            node_certificates.c.store_id == store_id,
            node_certificates.c.node_id == node_id).values(**values))

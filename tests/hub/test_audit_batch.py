"""The audit chain written by the cheaper batch path keeps its tamper evidence.

The canonical bytes now come from an encoder built once (``audit_chain.canonical``) and each
batch's clock is formatted once: the hashes must be the very ones the plain ``json.dumps``
formula gives (so every entry written before still verifies), and ``acorn-hub audit verify``
must still name the entry where a batch written by the ingest was changed, cut, added to or
reordered, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, update
from typer.testing import CliRunner

from bench.ingest import messages
from hub.cli.main import app
from hub.refunds.projection import Loaded, Projector
from hub.storage.audit_chain import (
    GENESIS,
    AuditDraft,
    canonical,
    chain,
    encoded,
    extend,
    jsonable,
    jsonable_fields,
    verify,
)
from hub.storage.engine import writing
from hub.storage.tables.core import audit_log
from hub.sync.ingest.batch import store_batch
from hub.sync.ingest.classify import classify
from protocol import Channel, Grade, Money, ReturnItem, ReturnReceived, make_envelope

AT = datetime(2026, 12, 4, 20, 0, 0, 5, tzinfo=UTC)
ODD = ["", "groß ✓", "\u2028\u2029", "tab\tnew\nline \"q\" \\ back", "\x00\x1f", "😀", "é" * 50]


def oracle(fields: dict[str, Any]) -> bytes:
    """The canonical form as the chain has always defined it."""
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@pytest.mark.parametrize("value", [
    None, True, False, 0, -1, 2**70, *ODD, [], {}, [1, [2, [3, {"z": 1, "a": None}]]],
    {"b": {"y": ODD, "x": [True, None]}, "a": "x", "Z": 1, "é": 2, "10": 3, "9": 4},
])
def test_canonical_bytes_are_the_plain_json_dumps_ones(value: Any) -> None:
    fields = {"seq": 7, "after": value, "before": {"v": value}, "reason": None}
    assert canonical(fields) == oracle(fields)
    # a value alone (text, null, numbers, booleans are written without the encoder)
    assert encoded(value) == json.dumps(value, sort_keys=True, separators=(",", ":"),
                                        ensure_ascii=False)


def test_canonical_refuses_what_json_refuses() -> None:
    with pytest.raises(TypeError):
        canonical({"after": {1, 2}})  # type: ignore[dict-item]


def test_batch_hashes_are_the_per_entry_formula_so_old_entries_still_verify() -> None:
    drafts = [AuditDraft("node:s1/n1", "node", "return.received", "return", f"s1/R{n}", None,
                         {"state": "received", "n": n, "text": ODD[n % len(ODD)]})
              for n in range(12)]
    entries = extend((0, GENESIS), AT, drafts)
    prev = GENESIS
    for entry, draft in zip(entries, drafts, strict=True):
        fields = {"seq": entry.seq, "at": "2026-12-04T20:00:00.000005Z", "actor": draft.actor,
                  "role": draft.role, "action": draft.action, "entity": draft.entity,
                  "entity_id": draft.entity_id, "before": draft.before, "after": draft.after,
                  "reason": draft.reason, "prev_hash": prev}
        assert entry.hash == hashlib.sha256(oracle(fields)).hexdigest()
        prev = entry.hash
    assert verify(entries, (12, prev)).ok


@pytest.mark.parametrize("odd", ODD)
def test_entries_assembled_field_by_field_hash_as_the_whole_entry_did(odd: str) -> None:
    """``chain`` writes an entry's canonical bytes from its parts (before/after encoded once);
    the hash must be the one of ``json.dumps`` over the whole entry, whatever the texts, and
    the stored before/after text must read back as the same values."""
    draft = AuditDraft(f"user:{odd}", "admin", f"x.{odd}", "return", f"s1/{odd}",
                       {"v": [odd, 1, None], odd: True}, odd, odd or None)
    links = chain((41, "f" * 64), AT, [draft, AuditDraft("a", "admin", "y", "refund", "s1/F",
                                                          None, None)])
    prev = "f" * 64
    for seq, link in enumerate(links, start=42):
        d = link.entry
        fields = {"seq": seq, "at": "2026-12-04T20:00:00.000005Z", "actor": d.actor,
                  "role": d.role, "action": d.action, "entity": d.entity,
                  "entity_id": d.entity_id, "before": d.before, "after": d.after,
                  "reason": d.reason, "prev_hash": prev}
        assert d.hash == hashlib.sha256(oracle(fields)).hexdigest()
        for text, value in ((link.before, d.before), (link.after, d.after)):
            assert (text is None) == (value is None)  # SQL NULL for a JSON null
            assert text is None or json.loads(text) == value
        prev = d.hash


def test_stored_before_and_after_are_the_values_written(engine: Engine) -> None:
    ingested(engine)
    with writing(engine) as tx:
        rows = tx.conn.execute(select(audit_log.c.before, audit_log.c.after)
                               .where(audit_log.c.action == "return.received")).all()
    assert rows and all(r.before is None and r.after["state"] == "received" for r in rows)
    assert all(isinstance(r.after["items"], list) for r in rows)


def run_verify(db_url: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["audit", "verify"], env={"ACORN_HUB_DATABASE_URL": db_url})
    return result.exit_code, result.stdout + result.stderr


def ingested(engine: Engine) -> tuple[int, int]:
    """Two ingest batches of 60 events; the audit seqs (first, last) the second one wrote."""
    payloads = messages("mixed", 120, 6)
    for part in (payloads[:60], payloads[60:]):
        with writing(engine) as tx:
            first = int(tx.conn.scalar(select(func.max(audit_log.c.seq))) or 0) + 1
            result = store_batch(tx, [classify(t, p) for t, p in part])
            assert result.applied == 60 and not result.dead
    with writing(engine) as tx:
        last = int(tx.conn.scalar(select(func.max(audit_log.c.seq))) or 0)
    return first, last


def test_an_ingested_chain_verifies(engine: Engine, db_url: str) -> None:
    _first, last = ingested(engine)
    code, out = run_verify(db_url)
    assert code == 0 and f"intact: {last} entries" in out


def test_a_changed_entry_inside_a_batch_is_named(engine: Engine, db_url: str) -> None:
    first, last = ingested(engine)
    target = (first + last) // 2
    with writing(engine) as tx:
        tx.conn.execute(update(audit_log).where(audit_log.c.seq == target).values(
            after={"state": "approved"}))
    code, out = run_verify(db_url)
    assert code == 1 and f"BROKEN at entry {target}:" in out and "altered" in out


def test_a_deleted_entry_inside_a_batch_is_named(engine: Engine, db_url: str) -> None:
    first, _last = ingested(engine)
    with writing(engine) as tx:
        tx.conn.execute(audit_log.delete().where(audit_log.c.seq == first + 3))
    code, out = run_verify(db_url)
    assert code == 1 and f"BROKEN at entry {first + 4}:" in out and "missing" in out


def test_an_inserted_entry_is_named(engine: Engine, db_url: str) -> None:
    first, last = ingested(engine)
    with writing(engine) as tx:  # room made in the middle, a forged entry put in it
        for seq in range(last, first + 4, -1):
            tx.conn.execute(update(audit_log).where(audit_log.c.seq == seq).values(seq=seq + 1))
        row = dict(tx.conn.execute(select(audit_log).where(audit_log.c.seq == first + 4))
                   .one()._mapping)
        tx.conn.execute(audit_log.insert().values({**row, "seq": first + 5,
                                                   "actor": "mallory"}))
    code, out = run_verify(db_url)
    assert code == 1 and f"BROKEN at entry {first + 5}:" in out


def test_two_entries_swapped_are_named(engine: Engine, db_url: str) -> None:
    first, _last = ingested(engine)
    a, b = first + 2, first + 7
    with writing(engine) as tx:
        tx.conn.execute(update(audit_log).where(audit_log.c.seq == a).values(seq=-1))
        tx.conn.execute(update(audit_log).where(audit_log.c.seq == b).values(seq=a))
        tx.conn.execute(update(audit_log).where(audit_log.c.seq == -1).values(seq=b))
    code, out = run_verify(db_url)
    assert code == 1 and f"BROKEN at entry {a}:" in out


def test_a_batch_cut_off_the_end_is_detected(engine: Engine, db_url: str) -> None:
    first, _last = ingested(engine)
    with writing(engine) as tx:
        tx.conn.execute(audit_log.delete().where(audit_log.c.seq >= first))
    code, out = run_verify(db_url)
    assert code == 1 and "chain tip says entry" in out and f"entry {first}" in out


def test_a_received_returns_audited_view_is_plain_json_made_in_one_pass() -> None:
    """The projector audits a received return without a jsonable pass over its lines (they
    hold text, numbers, flags and None only, the price made text): what it audits is already
    plain JSON, the same as jsonable makes of it, and a row's view (``jsonable_fields``) is
    jsonable's of the picked fields."""
    body = ReturnReceived(
        return_id="R1", channel=Channel.POS, reason="too small", received_at=AT,
        sold_at=AT, staff_id="clerk-1", items=[
            ReturnItem(sku="SKU-1", quantity=2, unit_price=Money.of("12.5", "EUR"),
                       description="Kettle ✓", category="electronics", opened=True),
            ReturnItem(sku="SKU-2", quantity=1, unit_price=Money.of("3", "EUR"))])
    projector = Projector(Loaded(returns={}, refunds={}, commands={}), AT)
    projector.apply(make_envelope("s1", "n1", 1, body))
    (draft,) = projector.changes.audit
    assert draft.after == jsonable(draft.after)
    assert json.loads(encoded(draft.after)) == draft.after
    after: Any = draft.after
    assert [i["unit_price"] for i in after["items"]] == [
        {"amount": "12.50", "currency": "EUR"}, {"amount": "3.00", "currency": "EUR"}]
    row = {"state": Grade.GOOD, "at": AT, "amount": Decimal("1.50"), "flag": False, "n": None}
    assert jsonable_fields(row, ["state", "at", "amount", "flag", "n", "missing"]) == jsonable(
        {k: row.get(k) for k in ["state", "at", "amount", "flag", "n", "missing"]})

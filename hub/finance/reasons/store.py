"""Stored reasons: the active text rules, publishing new ones, and the classification pass.

Rules:
- ``reason_rules`` is append-only; the highest version is active; before any publication the
  shipped default (version 1) is active, unstored; a new version must validate and be higher
  than the active one; publishing is audited (``reason_rules.published``, before and after) and
  maps again, in the same transaction, every store line the text rules mapped or left unmapped;
- ``classify_pending`` classifies every return line that has no row in ``return_reasons``: store
  lines of the returns named in ``reason_queue`` (a trigger names there the return of every line
  inserted into ``return_items``, in the inserting transaction), Amazon MFN and FBA lines by an
  anti-join over their report tables (idempotent and safe to run at any time, by several
  processes: a line inserted twice is refused by the primary key and the pass retried); each batch
  is one transaction with one audit entry (``return_reasons.classified``: how many per source and
  the rules' version) that deletes the queued returns it took; a batch finds, classifies and
  writes its lines BEFORE it takes the audit tip, then takes it only to audit, and is rolled back
  and done again if new rules were published meanwhile (a publication remaps, under the tip, the
  lines committed before it): every ingest batch waits for what a writer does with the tip held,
  and at 4,000 returns a second the pass's inserts under the tip cost the ingest more than it
  could spare; an Amazon line whose report, read again, now gives another reason code is
  classified again (``return_reasons.reclassified``); after each batch, the MFN lines a store also
  took in are marked not counted (``mark_taken_in``, among the orders of the batch's lines); an
  incremental pass (``since``) looks only at Amazon report lines the hub stored or saw change at
  or after that time (``updated_at``, through their indexes);
- store lines through a queue, not an anti-join: the anti-join of ``return_items`` against
  ``return_reasons`` walked every line ever classified, for every batch (0.3-0.5 s a batch of
  2,000 at 320,000 lines on PostgreSQL; a pass with nothing to do 1.7 s; about 2,400 lines a
  second, fewer than a hub ingesting 5,000 returns a second stores). The queued returns are
  read by the primary key, and the database makes their lines' rows by key from them and the
  batch's few distinct texts, classified here: a batch costs what it classifies, whatever the
  tables hold (11,527 lines a second after a minute at 5,000 returns a second, over a million
  classified lines: ``python -m bench reasons``). Migration 0039 queued the lines stored before
  it;
- why a pass and not the ingest paths: return lines reach the hub through three writers (the
  event projection, the MFN and FBA report syncs); one pass over what is unclassified catches
  them all, any writer added later, and every line that existed before migration 0030 (the
  backfill is the first pass), without adding work or a failure mode to the writers' own
  transactions (beyond the queue's trigger). The hub runs it at start and every minute
  (``runner.ReasonClassifier``).
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, and_, bindparam, func, select, update
from sqlalchemy import text as sql_text
from sqlalchemy.engine import Engine

from hub.finance.reasons.classify import Classification, Method, Source, by_text, classify
from hub.finance.reasons.rules import (
    ReasonRules,
    ReasonRulesError,
    default_rules_text,
    load_rules_yaml,
)
from hub.storage.audit_chain import AuditDraft, Json
from hub.storage.bulk import among, delete_at_pairs, insert_rows, key_chunks, rows_at_pairs
from hub.storage.engine import Tx, reading, writing
from hub.storage.tables.amazon import amazon_fba_returns, amazon_returns
from hub.storage.tables.core import returns
from hub.storage.tables.reasons import reason_queue, reason_rules, return_reasons
from hub.storage.types import UtcDateTime

PUBLISHED, CLASSIFIED = "reason_rules.published", "return_reasons.classified"
RECLASSIFIED = "return_reasons.reclassified"
MFN_CHANNEL = Source.AMAZON_MFN.value  # an MFN report line's, and a store line taking one in
SYSTEM = ("system:reasons", "system")
BATCH = 2000
RAW_MAX = 500


@lru_cache(maxsize=8)
def _parsed(sha: str, text: str) -> ReasonRules:
    return load_rules_yaml(text)


def sha256_of(text: str) -> str:
    """Hex SHA-256 of a document's text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def active_text(conn: Connection) -> str:
    """The YAML of the active rules (the shipped default before any publication)."""
    text = conn.scalar(select(reason_rules.c.yaml)
                       .order_by(reason_rules.c.version.desc()).limit(1))
    return default_rules_text() if text is None else str(text)


def active(conn: Connection) -> ReasonRules:
    """The active text rules."""
    text = active_text(conn)
    return _parsed(sha256_of(text), text)


def publish(tx: Tx, text: str, actor: str, role: str) -> tuple[ReasonRules, int]:
    """Store ``text`` as the active rules and map the text-mapped lines again; returns the rules
    and how many lines changed reason."""
    rules = load_rules_yaml(text)
    before_text = active_text(tx.conn)
    before = _parsed(sha256_of(before_text), before_text)
    if rules.version <= before.version:
        raise ReasonRulesError.at("version",
                                  f"must be higher than the active version {before.version}")
    sha = sha256_of(text)
    tx.conn.execute(reason_rules.insert().values(
        version=rules.version, name=rules.name, yaml=text, sha256=sha, published_by=actor,
        published_at=tx.now))
    changed = _remap(tx, rules)
    tx.audit(AuditDraft(
        actor, role, PUBLISHED, "reason_rules", str(rules.version),
        {"version": before.version, "name": before.name, "sha256": sha256_of(before_text),
         "yaml": before_text},
        {"version": rules.version, "name": rules.name, "sha256": sha, "yaml": text,
         "lines_changed": changed}))
    return rules, changed


def _remap(tx: Tx, rules: ReasonRules) -> int:
    # Text-mapped lines are mapped by their text alone: one update per distinct text.
    t = return_reasons.c
    texts = tx.conn.execute(select(t.raw_reason).distinct().where(
        t.source == Source.STORE.value,
        t.method.in_([Method.RULE.value, Method.UNMAPPED.value]))).scalars().all()
    changed = 0
    for text in texts:
        found = by_text(text, rules)
        result = tx.conn.execute(update(return_reasons).where(
            t.source == Source.STORE.value, t.raw_reason == text,
            t.method.in_([Method.RULE.value, Method.UNMAPPED.value]),
        ).values(_classified(found, tx.now)))
        changed += result.rowcount or 0
    return changed


def _classified(found: Classification, now: datetime) -> dict[str, Any]:
    return {"reason": found.reason, "sub_reason": found.sub_reason, "method": found.method.value,
            "rule": found.rule, "rules_version": found.rules_version, "classified_at": now}


def classify_pending(engine: Engine, batch: int = BATCH,
                     rest: float | Callable[[float], float] = 0.0,
                     since: datetime | None = None) -> Counter[str]:
    """Classify every return line that has no reason yet, and again each Amazon line whose
    report now gives another reason; returns how many per source. ``rest``: seconds to pause
    after each batch per second the batch took, or a function of the seconds it took giving the
    pause (the hub's background pass, ``runner``: back to back, its batches take the CPU and the
    database time a busy ingest needs). Store lines: the queued returns'. Amazon lines: with
    ``since``, only those stored or seen to change at or after that time (an incremental pass,
    bounded by what arrived; None: all of them)."""
    total: Counter[str] = Counter()
    with reading(engine) as conn:  # nothing to do (the usual case): no write transaction at all
        changed = bool(_changed(conn, 1, since))
        if not _queued(conn, 1) and not _amazon_lines(conn, 1, since):
            if changed:
                total.update(_reclassify(engine, batch, since))
            return total
    total.update(_reclassify(engine, batch, since))
    while True:
        started = time.monotonic()
        try:
            done, keys = _batch(engine, batch, since)
        except _RulesChanged:
            continue  # published meanwhile: the same lines again, with the new rules
        if done is None:
            return total
        total.update(done)
        if len(keys) < batch and all(count < batch for source, count in done.items()
                                     if source != Source.STORE.value):
            return total
        took = time.monotonic() - started
        pause = rest(took) if callable(rest) else rest * took
        if pause > 0:
            time.sleep(pause)


class _RulesChanged(Exception):
    """New rules were published while a batch classified by the old ones (rolled back)."""


def _batch(engine: Engine, batch: int,
           since: datetime | None) -> tuple[Counter[str] | None, list[tuple[str, str]]]:
    """One batch: classified lines per source (None: nothing to do) and the returns taken.
    Found, classified and written beside the ingest; the audit tip is taken only to audit,
    and then the rules must still be those it used (a publication remaps, under the tip, only
    the lines committed before it)."""
    with writing(engine, tip_last=True) as tx:
        keys = _queued(tx.conn, batch)
        heads = _heads(tx.conn, keys)
        rows = _amazon_lines(tx.conn, batch, since)
        if not rows and not keys:
            return None, keys
        rules = active(tx.conn)
        done = _insert(tx, rows, rules)
        if heads:
            done[Source.STORE.value] += _insert_store_lines(tx, keys, heads, rules)
        _dequeue(tx.conn, keys)
        mark_taken_in(tx.conn, {  # lines that can pair: the MFN lines', the store's
            *(str(row["order_id"]) for row in rows if row["order_id"]),
            *(str(head.order_id) for head in heads
              if head.order_id and head.channel == MFN_CHANNEL)})
        done = +done  # (no store entry when none was classified)
        tx.take_tip()  # from here on, serialised with every audited writer
        if active(tx.conn).version != rules.version:  # (read committed: as of now)
            raise _RulesChanged
        if done:
            tx.audit(AuditDraft(*SYSTEM, CLASSIFIED, "return_reasons", tx.now.isoformat(), None,
                                {"lines": dict(done), "rules_version": rules.version}))
    return done, keys


def mark_taken_in(conn: Connection, orders: Iterable[str]) -> None:
    """Mark the MFN report lines of ``orders`` whose return a store took in as not counted (the
    store's line counts it: same order and SKU, a store line of channel ``amazon_mfn``). The
    pass gives the orders of the lines it just classified: whichever of an MFN line and its
    store line comes second, its batch marks the pair, through the lines' order index (over
    every MFN line, each batch walked the whole table with the audit tip held)."""
    wanted = sorted(set(orders))
    if not wanted:
        return
    counter = return_reasons.alias("counter")
    t = return_reasons.c
    taken = select(counter.c.line_key).where(
        counter.c.source == Source.STORE.value, counter.c.channel == Source.AMAZON_MFN.value,
        counter.c.order_id == t.order_id, counter.c.sku == t.sku).exists()
    for chunk in key_chunks(conn, wanted, BATCH):
        conn.execute(update(return_reasons).where(
            among(conn, t.order_id, chunk),
            t.source == Source.AMAZON_MFN.value, t.counted.is_(True), taken
        ).values(counted=False))


def _queued(conn: Connection, limit: int) -> list[tuple[str, str]]:
    """Up to ``limit`` queued returns, in the primary key's order (an index scan: the queue's
    deleted rows are never walked as a heap scan would)."""
    q = reason_queue.c
    query = select(q.store_id, q.return_id).order_by(q.store_id, q.return_id).limit(limit)
    return [(str(a), str(b)) for a, b in conn.execute(query)]


def queued_returns(conn: Connection) -> int:
    """How many returns wait for their lines' reasons (``acorn_hub_reasons_queued``)."""
    return int(conn.execute(select(func.count()).select_from(reason_queue)).scalar_one())


def _dequeue(conn: Connection, keys: Sequence[tuple[str, str]]) -> None:
    """Delete the batch's queued returns: one index probe a key (``delete_at_pairs``), not the
    join a planner that believes the queue empty makes (it hashed the whole queue, every batch:
    60-90 ms a batch at 100,000 queued, and the queue grows when the pass lags)."""
    delete_at_pairs(conn, reason_queue, ("store_id", "return_id"), keys)


def _amazon_lines(conn: Connection, limit: int, since: datetime | None) -> list[dict[str, Any]]:
    """Up to ``limit`` Amazon lines of each report that have no reason yet."""
    return [*_mfn_lines(conn, limit, since), *_fba_lines(conn, limit, since)]


def _changed(conn: Connection, limit: int,
             since: datetime | None) -> list[tuple[str, str, str]]:
    """Amazon lines whose stored raw reason is no longer the report's: (source, key, reason)."""
    c, m, f = return_reasons.c, amazon_returns.c, amazon_fba_returns.c
    mfn = (select(c.source, c.line_key, m.reason).join_from(return_reasons, amazon_returns, and_(
        c.account == m.account, c.amazon_ref == m.rma_id, c.sku == m.sku))
        .where(c.source == Source.AMAZON_MFN.value, c.raw_reason != m.reason,
               *_after(m.updated_at, since)).limit(limit))
    fba = (select(c.source, c.line_key, f.reason).join_from(return_reasons, amazon_fba_returns,
                                                           and_(c.account == f.account,
                                                                c.amazon_ref == f.row_key))
           .where(c.source == Source.AMAZON_FBA.value, c.raw_reason != f.reason,
                  *_after(f.updated_at, since)).limit(limit))
    return [(str(a), str(b), str(r)) for query in (mfn, fba) for a, b, r in conn.execute(query)]


def _after(column: Any, since: datetime | None) -> list[Any]:
    """The incremental pass's condition on ``column`` (none for a full pass)."""
    return [] if since is None else [column >= since]


def _reclassify(engine: Engine, batch: int, since: datetime | None) -> Counter[str]:
    # an Amazon report read again may give a line another reason: the line follows it, audited
    done: Counter[str] = Counter()
    while True:
        with writing(engine, tip_last=True) as tx:  # found beside the ingest, as above
            rows = _changed(tx.conn, batch, since)
            if not rows:
                return done
            tx.take_tip()
            rules = active(tx.conn)
            for source, key, raw in rows:
                found = classify(Source(source), raw, rules)
                tx.conn.execute(update(return_reasons).where(
                    return_reasons.c.source == source, return_reasons.c.line_key == key)
                    .values(raw_reason=raw[:RAW_MAX], **_classified(found, tx.now)))
            counts = Counter(source for source, _, _ in rows)
            keys: list[Json] = [str(key) for _, key, _ in rows[:50]]  # the first few: to find them
            tx.audit(AuditDraft(*SYSTEM, RECLASSIFIED, "return_reasons", tx.now.isoformat(),
                                None, {"lines": dict(counts), "keys": keys}))
        done.update(counts)
        if len(rows) < batch:
            return done


def _insert(tx: Tx, rows: Sequence[dict[str, Any]], rules: ReasonRules) -> Counter[str]:
    """Classify and store the Amazon lines ``rows``."""
    values = []
    for row in rows:
        raw = (row["raw_reason"] or "")[:RAW_MAX]
        found = classify(Source(row["source"]), raw, rules)
        at: datetime = row["occurred_at"]
        values.append({**row, "raw_reason": raw, "month": f"{at:%Y-%m}",
                       **_classified(found, tx.now)})
    insert_rows(tx.conn, return_reasons, values)
    return Counter(str(row["source"]) for row in rows)


def _heads(conn: Connection, keys: Sequence[tuple[str, str]]) -> list[Any]:
    """The queued returns' texts, channels and orders: one index probe a return
    (``rows_at_pairs``)."""
    out: list[Any] = []
    for chunk in key_chunks(conn, keys, BATCH // 4):
        found = rows_at_pairs(conn, returns, ("store_id", "return_id"), chunk).subquery()
        out.extend(conn.execute(select(found.c.reason, found.c.channel, found.c.order_id)).all())
    return out


def _insert_store_lines(tx: Tx, keys: Sequence[tuple[str, str]], heads: Sequence[Any],
                        rules: ReasonRules) -> int:
    """Classify and store the lines of the returns ``keys`` that have no reason yet; returns
    how many. The returns' distinct texts are classified here (a batch has few: the counter's
    reasons repeat); the rows are made by the database, one statement a chunk, each return's
    rows found by index probes (``STORE_LINES_PG``). Made here, a line cost 0.041 ms of the
    hub's CPU (now 0.011-0.018 ms)."""
    texts = {str(head.reason)[:RAW_MAX] for head in heads}
    mapped = [(text, *_mapping(classify(Source.STORE, text, rules))) for text in sorted(texts)]
    conn, count = tx.conn, 0
    for chunk in key_chunks(conn, keys, BATCH // 4):
        count += conn.execute(*_store_insert(conn, chunk, mapped, tx.now)).rowcount or 0
    return count


def _mapping(found: Classification) -> tuple[str, str, str, int | None, int | None]:
    return found.reason, found.sub_reason, found.method.value, found.rule, found.rules_version


_COLUMNS = ("source, line_key, store_id, return_id, line_no, channel, marketplace_id, order_id, "
            "sku, quantity, occurred_at, month, raw_reason, reason, sub_reason, method, rule, "
            "rules_version, classified_at")
_LINE_KEY = "i.store_id || '/' || i.return_id || '/' || i.line_no"
_SELECT = (f"SELECT 'store', {_LINE_KEY}, i.store_id, i.return_id, i.line_no, r.channel, "
           "r.marketplace_id, r.order_id, i.sku, i.quantity, r.received_at, {month}, m.raw, "
           "m.reason, m.sub_reason, m.method, m.rule, m.rules_version, :now")
# (OFFSET 0: a subplan probing the primary key for each line. As an anti-join, a planner that
# believed return_reasons empty (no statistics) read every store line of it for each line:
# 4 s a batch in a capacity run.)
_NEW = (f" WHERE NOT EXISTS (SELECT 1 FROM return_reasons c WHERE c.source = 'store' AND "
        f"c.line_key = {_LINE_KEY}{{offset}})")
STORE_LINES_PG = (
    f"INSERT INTO return_reasons ({_COLUMNS}) "
    + _SELECT.format(month="to_char(r.received_at AT TIME ZONE 'UTC', 'YYYY-MM')")
    + " FROM unnest(CAST(:stores AS varchar[]), CAST(:returns AS varchar[])) AS k(s, r_id)"
    " CROSS JOIN LATERAL (SELECT * FROM returns WHERE store_id = k.s AND return_id = k.r_id"
    " OFFSET 0) AS r"
    " CROSS JOIN LATERAL (SELECT * FROM return_items WHERE store_id = k.s AND return_id = k.r_id"
    " OFFSET 0) AS i"
    " JOIN unnest(CAST(:raws AS varchar[]), CAST(:reasons AS varchar[]),"
    " CAST(:subs AS varchar[]), CAST(:methods AS varchar[]), CAST(:rules AS integer[]),"
    " CAST(:versions AS integer[])) AS m(raw, reason, sub_reason, method, rule, rules_version)"
    f" ON m.raw = left(r.reason, {RAW_MAX})" + _NEW.format(offset=" OFFSET 0"))


def _store_insert(conn: Connection, keys: Sequence[tuple[str, str]],
                  mapped: Sequence[tuple[Any, ...]], now: datetime) -> tuple[Any, dict[str, Any]]:
    """The statement and parameters of ``_insert_store_lines`` for one chunk of keys."""
    stamp = bindparam("now", type_=UtcDateTime())
    if conn.dialect.name == "postgresql":
        columns = list(zip(*mapped, strict=True))
        return sql_text(STORE_LINES_PG).bindparams(stamp), {
            "now": now, "stores": [a for a, _ in keys], "returns": [b for _, b in keys],
            **{name: list(column) for name, column in zip(
                ("raws", "reasons", "subs", "methods", "rules", "versions"), columns,
                strict=True)}}
    params: dict[str, Any] = {"now": now}
    rows = []
    for n, key in enumerate(keys):
        params[f"s{n}"], params[f"r{n}"] = key
        rows.append(f"(:s{n}, :r{n})")
    texts = []
    for n, values in enumerate(mapped):
        params.update({f"m{n}_{c}": value for c, value in enumerate(values)})
        texts.append("(" + ", ".join(f":m{n}_{c}" for c in range(len(values))) + ")")
    # (the WITH inside the INSERT: Python's sqlite3 counts no rows of a statement that starts
    # with WITH)
    sql = (f"INSERT INTO return_reasons ({_COLUMNS}) WITH k(s, r_id) AS (VALUES "
           f"{', '.join(rows)}), m(raw, reason, sub_reason, method, rule, rules_version) AS "
           f"(VALUES {', '.join(texts)}) "
           + _SELECT.format(month="substr(r.received_at, 1, 7)")
           + " FROM k JOIN returns r ON r.store_id = k.s AND r.return_id = k.r_id"
           " JOIN return_items i ON i.store_id = k.s AND i.return_id = k.r_id"
           f" JOIN m ON m.raw = substr(r.reason, 1, {RAW_MAX})" + _NEW.format(offset=""))
    return sql_text(sql).bindparams(stamp), params


def _mfn_lines(conn: Connection, limit: int,
               since: datetime | None) -> Iterable[dict[str, Any]]:
    a, c = amazon_returns.c, return_reasons.c
    joined = amazon_returns.outerjoin(return_reasons, and_(
        c.source == Source.AMAZON_MFN.value, c.account == a.account, c.amazon_ref == a.rma_id,
        c.sku == a.sku))
    query = (select(a.account, a.rma_id, a.sku, a.order_id, a.marketplace_id, a.requested_at,
                    a.quantity, a.reason)
             .select_from(joined).where(c.source.is_(None), *_after(a.updated_at, since))
             .limit(limit))
    for row in conn.execute(query).mappings():
        yield _amazon(Source.AMAZON_MFN, row, row["rma_id"], f"{row['rma_id']}/{row['sku']}",
                      row["requested_at"])


def _fba_lines(conn: Connection, limit: int,
               since: datetime | None) -> Iterable[dict[str, Any]]:
    a, c = amazon_fba_returns.c, return_reasons.c
    joined = amazon_fba_returns.outerjoin(return_reasons, and_(
        c.source == Source.AMAZON_FBA.value, c.account == a.account,
        c.amazon_ref == a.row_key))
    query = (select(a.account, a.row_key, a.sku, a.order_id, a.marketplace_id, a.returned_at,
                    a.quantity, a.reason)
             .select_from(joined).where(c.source.is_(None), *_after(a.updated_at, since))
             .limit(limit))
    for row in conn.execute(query).mappings():
        yield _amazon(Source.AMAZON_FBA, row, row["row_key"], row["row_key"], row["returned_at"])


def _amazon(source: Source, row: Any, ref: str, key: str, at: datetime) -> dict[str, Any]:
    return {"source": source.value, "line_key": f"{row['account']}/{key}", "store_id": None,
            "return_id": None, "line_no": None, "account": row["account"], "amazon_ref": ref,
            "channel": source.value, "marketplace_id": row["marketplace_id"],
            "order_id": row["order_id"], "sku": row["sku"], "quantity": row["quantity"],
            "occurred_at": at, "raw_reason": row["reason"]}


def unmapped(conn: Connection, limit: int = 200) -> list[dict[str, Any]]:
    """The texts and codes nothing maps, most frequent first: for review."""
    t = return_reasons.c
    lines = func.count().label("lines")
    query = (select(t.source, t.raw_reason, lines, func.min(t.occurred_at).label("first"),
                    func.max(t.occurred_at).label("last"))
             .where(t.method == Method.UNMAPPED.value)
             .group_by(t.source, t.raw_reason).order_by(lines.desc(), t.raw_reason).limit(limit))
    return [dict(row) for row in conn.execute(query).mappings()]

"""Classification by tables: Amazon's return reason codes, the counter's reasons, POS free text
through the text rules, and what nothing maps; the rules document refused field by field; the
classification pass over a real database (SQLite and PostgreSQL): every line lands on one
pair, once, audited, and publishing new rules maps the text lines again."""

from __future__ import annotations

import re
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select

from edge_agent.web.options import REASONS as COUNTER_SUGGESTIONS
from hub.finance.reasons import store
from hub.finance.reasons.classify import Method, Source, classify
from hub.finance.reasons.rules import ReasonRulesError, default_rules_text, load_rules_yaml
from hub.finance.reasons.runner import MARGIN, ReasonClassifier
from hub.finance.reasons.taxonomy import TAXONOMY, is_known
from hub.storage import audit_log
from hub.storage.engine import reading, writing
from hub.storage.tables.amazon import amazon_returns
from hub.storage.tables.core import audit_log as audit_table
from hub.storage.tables.reasons import reason_queue, return_reasons
from protocol import utc_now
from spapi_sim.catalog import FBA_RETURN_REASONS, MFN_RETURN_REASONS
from tests.finance.reasons_seed import DE, at, mfn_return, seed, store_return, store_return_in
from tests.hub.helpers import ON_PG, ingest, received, wait_for
from tests.support.databases import statements_sent

RULES = load_rules_yaml(default_rules_text())
MFN, FBA, STORE = Source.AMAZON_MFN, Source.AMAZON_FBA, Source.STORE


@pytest.mark.parametrize(("source", "code", "reason", "sub_reason"), [
    (MFN, "DEFECTIVE", "defective", "stopped_working"),
    (FBA, "CR-DEFECTIVE", "defective", "stopped_working"),
    (MFN, "MISSING_PARTS", "defective", "missing_parts"),
    (FBA, "QUALITY_UNACCEPTABLE", "defective", "quality"),
    (MFN, "NOT_AS_DESCRIBED", "not_as_described", "description"),
    (FBA, "APPAREL_TOO_SMALL", "not_as_described", "size_fit"),
    (MFN, "damaged-by-carrier", "damaged", "in_transit"),
    (MFN, "UNWANTED_ITEM", "customer_choice", "changed_mind"),
    (MFN, "ORDERED_WRONG_ITEM", "customer_choice", "ordered_wrong"),
    (MFN, "BETTER_PRICE_AVAILABLE", "customer_choice", "better_price"),
    (FBA, "CR-SWITCHEROO", "suspected_abuse", "item_swapped"),
])
def test_amazon_codes(source: Source, code: str, reason: str, sub_reason: str) -> None:
    found = classify(source, code, RULES)
    assert (found.reason, found.sub_reason, found.method) == (reason, sub_reason,
                                                              Method.AMAZON_CODE)


@pytest.mark.parametrize("code", sorted(set(MFN_RETURN_REASONS) | set(FBA_RETURN_REASONS)))
def test_every_code_the_returns_reports_carry_is_mapped(code: str) -> None:
    # the simulator generates the reports from Amazon's codes: none of them may fall to review
    found = classify(FBA, code, RULES)
    assert found.method is Method.AMAZON_CODE and is_known(found.reason, found.sub_reason)


def test_an_unknown_amazon_code_is_unmapped_not_guessed() -> None:
    found = classify(MFN, "CR-SOMETHING_NEW", RULES)
    assert (found.reason, found.sub_reason, found.method) == ("unknown", "unmapped",
                                                              Method.UNMAPPED)
    # an Amazon code never goes through the text rules: "defective" text is not a code
    assert classify(MFN, "arrived defective", RULES).method is Method.UNMAPPED


@pytest.mark.parametrize(("text", "reason", "sub_reason"), [
    ("changed mind", "customer_choice", "changed_mind"),
    ("  Defective ", "defective", "stopped_working"),
    ("wrong item", "not_as_described", "wrong_item_sent"),
    ("damaged in TRANSIT", "damaged", "in_transit"),
    ("not as described", "not_as_described", "description"),
])
def test_counter_reasons(text: str, reason: str, sub_reason: str) -> None:
    found = classify(STORE, text, RULES)
    assert (found.reason, found.sub_reason, found.method) == (reason, sub_reason, Method.COUNTER)


def test_every_reason_the_counter_offers_is_mapped_by_the_counter_table() -> None:
    for text in COUNTER_SUGGESTIONS:
        assert classify(STORE, text, RULES).method is Method.COUNTER, text


@pytest.mark.parametrize(("text", "reason", "sub_reason"), [
    ("Stopped working after a week", "defective", "stopped_working"),
    ("Kunde sagt: Gerät kaputt", "defective", "stopped_working"),
    ("Arrived scratched", "damaged", "on_arrival"),  # damage rules come before "broken"
    ("box crushed? no: crushed box, arrived broken", "damaged", "in_transit"),
    ("charger missing? missing cable", "defective", "missing_parts"),
    ("Ordered by mistake", "customer_choice", "ordered_wrong"),
    ("Not what I expected", "not_as_described", "description"),
    ("shoes too small", "not_as_described", "size_fit"),
    ("found it cheaper elsewhere", "customer_choice", "better_price"),
    ("Gefällt nicht", "customer_choice", "changed_mind"),
])
def test_pos_text_by_the_rules(text: str, reason: str, sub_reason: str) -> None:
    found = classify(STORE, text, RULES)
    assert (found.reason, found.sub_reason, found.method) == (reason, sub_reason, Method.RULE)
    assert found.rules_version == 1 and found.rule is not None


def test_text_nothing_maps_is_unmapped_with_the_rules_version() -> None:
    found = classify(STORE, "customer left no word", RULES)
    assert (found.reason, found.sub_reason, found.method, found.rules_version) == (
        "unknown", "unmapped", Method.UNMAPPED, 1)


def test_the_first_rule_in_order_wins() -> None:
    rules = load_rules_yaml("version: 2\nname: t\nrules:\n"
                            "  - {reason: damaged, sub_reason: on_arrival, patterns: [box]}\n"
                            "  - {reason: defective, sub_reason: quality, patterns: [box]}\n")
    assert classify(STORE, "the BOX", rules).reason == "damaged"


def test_every_rule_of_the_shipped_rules_is_a_pair_of_the_taxonomy() -> None:
    assert RULES.rules and all(r.sub_reason in TAXONOMY[r.reason] for r in RULES.rules)


@pytest.mark.parametrize(("text", "path"), [
    ("version: 2\nname: t\nrules:\n  - {reason: defective, sub_reason: nope, patterns: [x]}\n",
     "rules[0].sub_reason"),
    ("version: 2\nname: t\nrules:\n  - {reason: unknown, sub_reason: unmapped, patterns: [x]}\n",
     "rules[0].sub_reason"),
    ("version: 2\nname: t\nrules:\n  - {reason: defective, sub_reason: quality, "
     "patterns: ['(unclosed']}\n", "rules[0].patterns[0]"),
    ("version: 2\nname: t\nrules:\n  - {reason: defective, sub_reason: quality, patterns: []}\n",
     "rules[0].patterns"),
    ("version: 0\nname: t\nrules: []\n", "version"),
    ("version: 2\nversion: 3\nname: t\nrules: []\n", ""),
    ("version: 2\nname: t\nrules: []\nextra: 1\n", "extra"),
    ("- a list\n", ""),
])
def test_a_bad_rules_document_is_refused_at_its_field(text: str, path: str) -> None:
    with pytest.raises(ReasonRulesError) as caught:
        load_rules_yaml(text)
    assert caught.value.path == path


def _rows(engine: Engine) -> dict[str, tuple[str, str, str]]:
    t = return_reasons.c
    with reading(engine) as conn:
        return {f"{r.source}:{r.line_key}": (r.reason, r.sub_reason, r.method)
                for r in conn.execute(select(t.source, t.line_key, t.reason, t.sub_reason,
                                             t.method))}


def test_the_pass_classifies_every_line_once_and_is_audited(engine: Engine) -> None:
    seed(engine)
    done = store.classify_pending(engine, batch=3)  # small batches: the pass loops
    assert dict(done) == {"store": 5, "amazon_mfn": 3, "amazon_fba": 1}
    rows = _rows(engine)
    assert rows == {
        "store:s1/R1/1": ("defective", "stopped_working", "counter"),
        "store:s1/R1/2": ("defective", "stopped_working", "counter"),
        "store:s2/R2/1": ("defective", "stopped_working", "rule"),
        "store:s3/R3/1": ("customer_choice", "changed_mind", "counter"),
        "store:s3/R4/1": ("unknown", "unmapped", "unmapped"),
        "amazon_mfn:acct1/rma1/SKU-A": ("not_as_described", "description", "amazon_code"),
        "amazon_mfn:acct1/rma2/SKU-B": ("defective", "stopped_working", "amazon_code"),
        "amazon_mfn:acct1/rma3/SKU-A": ("unknown", "unmapped", "unmapped"),
        "amazon_fba:acct1/f1": ("suspected_abuse", "item_swapped", "amazon_code"),
    }
    assert not store.classify_pending(engine)  # nothing left: no write, no audit
    store_return(engine, "s1", "R9", "pos", "does not work", at(3, 1), [("SKU-A", 1)])
    assert dict(store.classify_pending(engine)) == {"store": 1}
    with reading(engine) as conn:
        entries = [e for e in audit_log.entries(conn) if e.action == store.CLASSIFIED]
        review = store.unmapped(conn)
    counts = [e.after["lines"] for e in entries if isinstance(e.after, dict)]
    assert sum(int(str(n)) for c in counts if isinstance(c, dict) for n in c.values()) == 10
    assert {(r["source"], r["raw_reason"], r["lines"]) for r in review} == {
        ("store", "customer left no word", 1), ("amazon_mfn", "WEIRD_NEW_CODE", 1)}


def test_an_amazon_line_follows_its_report_when_the_reason_changes(engine: Engine) -> None:
    seed(engine)
    store.classify_pending(engine)
    with engine.begin() as conn:  # the report read again: Amazon now says the carrier damaged it
        conn.execute(amazon_returns.update().where(amazon_returns.c.rma_id == "rma3")
                     .values(reason="DAMAGED_BY_CARRIER"))
    assert dict(store.classify_pending(engine)) == {"amazon_mfn": 1}
    assert _rows(engine)["amazon_mfn:acct1/rma3/SKU-A"] == ("damaged", "in_transit",
                                                            "amazon_code")
    assert not store.classify_pending(engine)
    with reading(engine) as conn:
        (entry,) = [e for e in audit_log.entries(conn) if e.action == store.RECLASSIFIED]
    assert entry.after == {"lines": {"amazon_mfn": 1}, "keys": ["acct1/rma3/SKU-A"]}


def test_publishing_rules_maps_the_text_lines_again(engine: Engine) -> None:
    seed(engine)
    store.classify_pending(engine)
    text = default_rules_text().replace("version: 1", "version: 2") + (
        "  - reason: customer_choice\n    sub_reason: changed_mind\n"
        "    patterns: ['no word']\n")
    with writing(engine) as tx:
        rules, changed = store.publish(tx, text, "fiona", "finance")
    assert (rules.version, changed) == (2, 2)  # R4 newly mapped; R2 mapped again, the same
    rows = _rows(engine)
    assert rows["store:s3/R4/1"] == ("customer_choice", "changed_mind", "rule")
    assert rows["store:s2/R2/1"] == ("defective", "stopped_working", "rule")
    assert rows["amazon_mfn:acct1/rma3/SKU-A"] == ("unknown", "unmapped", "unmapped")
    with reading(engine) as conn:
        assert store.active(conn).version == 2
        (entry,) = audit_log.for_entity(conn, "reason_rules", "2")
    assert (entry.actor, entry.action) == ("fiona", store.PUBLISHED)
    with pytest.raises(ReasonRulesError, match="higher than the active version 2"), \
            writing(engine) as tx:
        store.publish(tx, text, "fiona", "finance")


def test_an_incremental_pass_takes_the_queued_returns_and_the_amazon_lines_stored_since(
        engine: Engine) -> None:
    seed(engine)  # stored in the spring; the store returns queued by their lines' trigger
    since = at(6, 1)
    store_return(engine, "s1", "R9", "pos", "does not work", at(6, 2), [("SKU-A", 1)])
    mfn_return(engine, "rma9", "SKU-B", DE, "DEFECTIVE", at(6, 3), None)
    assert dict(store.classify_pending(engine, since=since)) == {"store": 6, "amazon_mfn": 1}
    assert {key for key in _rows(engine) if not key.startswith("store:")} == {
        "amazon_mfn:acct1/rma9/SKU-B"}
    assert _queue(engine) == []  # what it classified left the queue
    assert not store.classify_pending(engine, since=since)
    assert dict(store.classify_pending(engine)) == {"amazon_mfn": 3, "amazon_fba": 1}
    # an Amazon line whose report changed: seen by the incremental pass when the sync stored the
    # change after the watermark (its updated_at), by a full pass in any case
    with engine.begin() as conn:
        conn.execute(amazon_returns.update().where(amazon_returns.c.rma_id == "rma3")
                     .values(reason="DAMAGED_BY_CARRIER"))  # (updated_at left in February)
    assert not store.classify_pending(engine, since=since)
    with engine.begin() as conn:
        conn.execute(amazon_returns.update().where(amazon_returns.c.rma_id == "rma3")
                     .values(updated_at=at(6, 4)))
    assert dict(store.classify_pending(engine, since=since)) == {"amazon_mfn": 1}
    assert _rows(engine)["amazon_mfn:acct1/rma3/SKU-A"][:2] == ("damaged", "in_transit")


def test_every_line_stored_queues_its_return_whoever_stores_it(engine: Engine) -> None:
    """The ingest (a ``COPY`` of a batch's lines on PostgreSQL) and a plain insert alike: the
    trigger on ``return_items`` names each return once, in the transaction that stores it."""
    result = ingest(engine, received("s1", "n1", 1, "R1"), received("s1", "n1", 2, "R2"))
    assert (result.applied, result.dead) == (2, [])
    store_return(engine, "s2", "R3", "pos", "does not work", at(3, 1),
                 [("SKU-A", 1), ("SKU-B", 2)])
    assert sorted(_queue(engine)) == [("s1", "R1"), ("s1", "R2"), ("s2", "R3")]
    with pytest.raises(RuntimeError, match="boom"), engine.begin() as conn:  # rolled back
        store_return_in(conn, "s2", "R4")
        raise RuntimeError("boom")
    assert ("s2", "R4") not in _queue(engine)
    assert dict(store.classify_pending(engine, since=utc_now())) == {"store": 4}
    assert _queue(engine) == []
    assert set(_rows(engine)) == {"store:s1/R1/1", "store:s1/R2/1", "store:s2/R3/1",
                                  "store:s2/R3/2"}


def test_a_queued_return_whose_lines_have_reasons_just_leaves_the_queue(engine: Engine) -> None:
    store_return(engine, "s1", "R1", "pos", "does not work", at(3, 1), [("SKU-A", 1)])
    assert dict(store.classify_pending(engine, since=at(3, 1))) == {"store": 1}
    with engine.begin() as conn:  # queued again (by hand, say)
        conn.execute(reason_queue.insert().values(store_id="s1", return_id="R1"))
    assert not store.classify_pending(engine, since=at(3, 1))
    assert _queue(engine) == []
    assert len(_rows(engine)) == 1  # classified once


def test_the_search_does_not_walk_the_lines_already_classified(engine: Engine) -> None:
    """What an incremental pass reads of the return tables is the queued returns' rows, by key:
    its cost follows what arrived, not every line ever classified (the anti-join it replaced
    took 0.3-0.5 s a batch at 320,000 lines on PostgreSQL)."""
    seed(engine)
    store.classify_pending(engine)
    store_return(engine, "s1", "R9", "pos", "does not work", at(6, 2), [("SKU-A", 1)])
    with statements_sent(engine) as sent:
        assert dict(store.classify_pending(engine, since=at(6, 1))) == {"store": 1}
    walks = [sql for sql in sent if STORE_TABLES.search(sql)]
    assert walks and all(_by_key(sql) for sql in walks), walks
    with statements_sent(engine) as sent:
        assert not store.classify_pending(engine, since=at(6, 1))
    assert not [sql for sql in sent if STORE_TABLES.search(sql)]


STORE_TABLES = re.compile(r"(FROM|JOIN) (returns|return_items)\b")


def _by_key(sql: str) -> bool:
    """A lookup of given (store_id, return_id) pairs (``hub.storage.bulk.rows_at_pairs``), or
    the lines' insert, joining the given pairs (PostgreSQL: arrays; SQLite: a VALUES list)."""
    return "unnest" in sql or ") IN (" in sql or "FROM k JOIN" in sql


def _queue(engine: Engine) -> list[tuple[str, str]]:
    with reading(engine) as conn:
        return [(a, b) for a, b in conn.execute(select(reason_queue.c.store_id,
                                                       reason_queue.c.return_id))]


def test_the_hubs_pass_is_incremental_between_full_ones(engine: Engine) -> None:
    """The hub's pass takes the queued store returns every time; it looks at every Amazon line
    at start and every ``full_every`` seconds, between at those the hub stored from ``MARGIN``
    before the previous pass began. An Amazon line stored with a time older than that (a
    transaction that committed that late, a worker's clock that far behind) waits for the next
    full pass: late, not lost."""
    seed(engine)
    classifier = ReasonClassifier(engine, seconds=3600)
    assert classifier.once() == 9  # the first pass: every line
    assert classifier.since is not None and classifier.since <= utc_now() - MARGIN
    late = utc_now() - MARGIN - timedelta(minutes=1)
    mfn_return(engine, "rma-late", "SKU-A", DE, "DEFECTIVE", late, None)
    store_return(engine, "s1", "R-old", "pos", "does not work", late, [("SKU-A", 1)])
    assert classifier.once() == 1  # R-old: queued, however old its time
    assert "amazon_mfn:acct1/rma-late/SKU-A" not in _rows(engine)
    classifier.full_every = 0  # the full pass is due
    assert classifier.once() == 1
    assert _rows(engine)["amazon_mfn:acct1/rma-late/SKU-A"][:2] == ("defective", "stopped_working")


def test_the_hubs_pass_rests_between_batches_only_while_the_ingest_is_busy(
        engine: Engine) -> None:
    """Resting three times its work, the pass classified a quarter as fast as it can even once
    the ingest had nothing to do: after a peak at 4,000 ev/s the reasons caught up at ~3,200
    lines a second. It rests now only while this process's ingest writer spends a quarter of
    the time or more in batches (its running total of seconds, given to the pass)."""
    for n in range(25):
        store_return(engine, "s1", f"R{n}", "pos", "does not work", at(3, 1), [("SKU-A", 1)])
    quiet = ReasonClassifier(engine, seconds=3600, batch=10)  # no ingest at all: never rests
    assert quiet.once() == 25
    assert (quiet.rests, quiet.runs) == (0, 2)  # after the two full batches; the last ends it
    for n in range(25, 50):
        store_return(engine, "s1", f"R{n}", "pos", "does not work", at(3, 1), [("SKU-A", 1)])
    # an ingest busy all the time: its writer's total grows as fast as the clock
    busy = ReasonClassifier(engine, seconds=3600, batch=10, ingest_seconds=time.monotonic)
    assert busy.once() == 25
    assert (busy.rests, busy.runs) == (2, 0)
    with reading(engine) as conn:
        assert store.queued_returns(conn) == 0


@ON_PG
def test_the_pass_finds_its_lines_before_it_waits_for_the_audit_tip(engine: Engine) -> None:
    """The pass finds, classifies and writes its lines beside the ingest: it waits for the
    audit tip only to audit. A line committed while it waits is the next pass's."""
    store_return(engine, "s1", "R1", "pos", "does not work", at(3, 1), [("SKU-A", 1)])
    done: dict[str, int] = {}
    with writing(engine):  # another writer (an ingest batch) holds the tip
        thread = threading.Thread(
            target=lambda: done.update(store.classify_pending(engine)), daemon=True)
        thread.start()
        wait_for(lambda: _waits_for_the_tip(engine), 20, "the pass waiting for the tip")
        store_return(engine, "s1", "R2", "pos", "does not work", at(3, 2), [("SKU-B", 1)])
    thread.join(20)
    assert done == {"store": 1}  # R1: what it had found before it waited
    assert dict(store.classify_pending(engine)) == {"store": 1}  # then R2


@ON_PG
def test_a_batch_classified_by_rules_published_meanwhile_is_done_again(engine: Engine) -> None:
    """The pass classifies and writes its lines beside the ingest and takes the tip only to
    audit. Rules published while it waits (their remapping sees only lines committed before)
    roll its batch back, and it classifies the lines again by the new rules."""
    store_return(engine, "s3", "R4", "pos", "customer left no word", at(3, 1), [("SKU-C", 1)])
    text = default_rules_text().replace("version: 1", "version: 2") + (
        "  - reason: customer_choice\n    sub_reason: changed_mind\n"
        "    patterns: ['no word']\n")
    done: dict[str, int] = {}
    with writing(engine) as tx:  # another writer holds the tip: here, the publication
        thread = threading.Thread(
            target=lambda: done.update(store.classify_pending(engine)), daemon=True)
        thread.start()
        wait_for(lambda: _waits_for_the_tip(engine), 20, "the pass waiting for the tip")
        store.publish(tx, text, "fiona", "finance")  # R4's line is not committed: not remapped
    thread.join(20)
    assert done == {"store": 1}
    assert _rows(engine)["store:s3/R4/1"] == ("customer_choice", "changed_mind", "rule")
    with reading(engine) as conn:
        audited = conn.execute(select(audit_table.c.after).where(
            audit_table.c.action == store.CLASSIFIED)).scalars().all()
    assert audited == [{"lines": {"store": 1}, "rules_version": 2}]  # the batch that counted


def _waits_for_the_tip(engine: Engine) -> bool:
    with reading(engine) as conn:
        return bool(conn.exec_driver_sql(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND "
            "wait_event_type = 'Lock' AND starts_with(query, 'SELECT audit_head.seq')"
        ).scalar_one())

"""Classification by tables: Amazon's return reason codes, the counter's reasons, POS free text
through the text rules, and what nothing maps; the rules document refused field by field; the
classification pass over a real database (SQLite and PostgreSQL): every line lands on one
pair, once, audited, and publishing new rules maps the text lines again."""

from __future__ import annotations

import threading
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
from hub.storage.tables.reasons import return_reasons
from protocol import utc_now
from spapi_sim.catalog import FBA_RETURN_REASONS, MFN_RETURN_REASONS
from tests.finance.reasons_seed import DE, at, mfn_return, seed, store_return
from tests.hub.helpers import ON_PG, wait_for

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


def test_an_incremental_pass_looks_only_at_what_the_hub_stored_since(engine: Engine) -> None:
    seed(engine)  # stored in the spring: older than the pass's watermark
    since = at(6, 1)
    store_return(engine, "s1", "R9", "pos", "does not work", at(6, 2), [("SKU-A", 1)])
    mfn_return(engine, "rma9", "SKU-B", DE, "DEFECTIVE", at(6, 3), None)
    assert dict(store.classify_pending(engine, since=since)) == {"store": 1, "amazon_mfn": 1}
    assert set(_rows(engine)) == {"store:s1/R9/1", "amazon_mfn:acct1/rma9/SKU-B"}
    assert not store.classify_pending(engine, since=since)
    assert dict(store.classify_pending(engine)) == {"store": 5, "amazon_mfn": 3, "amazon_fba": 1}
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


def test_the_hubs_pass_is_incremental_between_full_ones(engine: Engine) -> None:
    """The hub's pass looks at every line at start and every ``full_every`` seconds; between, at
    what the hub stored from ``MARGIN`` before the previous pass began. A return stored with a
    time older than that (a transaction that committed that late, a worker's clock that far
    behind) waits for the next full pass: late, not lost."""
    seed(engine)
    classifier = ReasonClassifier(engine, seconds=3600)
    assert classifier.once() == 9  # the first pass: every line
    assert classifier.since is not None and classifier.since <= utc_now() - MARGIN
    late = utc_now() - MARGIN - timedelta(minutes=1)
    store_return(engine, "s1", "R-late", "pos", "does not work", late, [("SKU-A", 1)])
    store_return(engine, "s1", "R-new", "pos", "does not work", utc_now(), [("SKU-B", 1)])
    assert classifier.once() == 1  # R-new only
    assert "store:s1/R-late/1" not in _rows(engine)
    classifier.full_every = 0  # the full pass is due
    assert classifier.once() == 1
    assert _rows(engine)["store:s1/R-late/1"][:2] == ("defective", "stopped_working")


@ON_PG
def test_the_pass_finds_its_lines_before_it_waits_for_the_audit_tip(engine: Engine) -> None:
    """The pass's search (an anti-join over every line classified so far, up to 0.9 s in a
    storm) runs beside the ingest: it waits for the audit tip only to write. A line committed
    while it waits is the next pass's."""
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


def _waits_for_the_tip(engine: Engine) -> bool:
    with reading(engine) as conn:
        return bool(conn.exec_driver_sql(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND "
            "wait_event_type = 'Lock' AND starts_with(query, 'SELECT audit_head.seq')"
        ).scalar_one())

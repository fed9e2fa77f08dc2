"""Buyer keys, promised delivery and Amazon claim flags, synced from the real simulator.

The orders sync keeps a keyed hash of the anonymised buyer email (never the email, the name or
anything else of the buyer) and the promised latest delivery; the MFN returns sync flags an
order with an A-to-Z claim once; ``load_order_facts`` and ``active_risk`` give the policy what
it needs. Both databases.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import stat
import threading
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, func, select

from hub.access.users import Actor
from hub.amazon.buyer_key import buyer_key, customer_key
from hub.amazon.buyer_secret import FILE_NAME, read_or_create, secret_for
from hub.amazon.files.returns import parse_mfn_returns
from hub.amazon.settings import AmazonSettings
from hub.amazon.store import hashed, upsert
from hub.amazon.sync.orders import FIELDS, order_row
from hub.errors import ConfigError
from hub.refunds.order_facts import load_order_facts
from hub.risk.flags import active_risk, clear
from hub.storage.engine import reading, writing
from hub.storage.tables import metadata
from hub.storage.tables.amazon import amazon_cursors, amazon_orders, amazon_problems
from hub.storage.tables.core import audit_log
from hub.storage.tables.risk import risk_flags
from spapi_sim.model import Order
from spapi_sim.reports import MFN_COLUMNS
from tests.amazon.conftest import Sim
from tests.amazon.helpers import TWO_ACCOUNTS, add_accounts, sync
from tests.support.databases import statements_sent

SECRET = "a test customer key secret, long enough"


def expected_key(email: str, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), email.strip().lower().encode(), hashlib.sha256).hexdigest()


def sim_orders(sim: Sim) -> dict[str, Order]:
    return {o.order_id: o for s in sim.sellers for o in sim.simulator.world.orders(s.seller_id)}


def stored_orders(engine: Engine) -> list[Any]:
    with reading(engine) as conn:
        return list(conn.execute(select(amazon_orders)).all())


def keyed(settings: AmazonSettings) -> AmazonSettings:
    """``settings`` with the customer key secret set (as ``ACORN_HUB_CUSTOMER_KEY_SECRET``)."""
    return settings.model_copy(update={"customer_key_secret": SecretStr(SECRET)})


def every_value(engine: Engine) -> str:
    """Every value of every row of every table, as text (JSON columns included)."""
    with reading(engine) as conn:
        return "\n".join(repr(tuple(row)) for table in metadata.sorted_tables
                         for row in conn.execute(select(table)))


def test_the_sync_keeps_a_keyed_buyer_hash_and_the_promised_delivery_never_the_buyer(
    engine: Engine, sim: Sim, amazon_settings: AmazonSettings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    amazon_settings = keyed(amazon_settings)
    caplog.set_level(logging.DEBUG)
    accounts = add_accounts(engine, sim, amazon_settings, TWO_ACCOUNTS)
    results = sync(engine, amazon_settings, accounts, ["orders"])
    assert all(r.ok for r in results.values()), results
    world = sim_orders(sim)
    rows = stored_orders(engine)
    assert rows
    for row in rows:
        order = world[row.order_id]
        if order.fulfilled_by == "MERCHANT":
            assert row.buyer_key == expected_key(order.buyer.email)
        else:  # Amazon gives no buyer email for FBA orders
            assert row.buyer_key is None
        promised = None if order.status == "CANCELLED" else order.deliver_by
        assert row.deliver_by == promised

    merchant = [r for r in rows if r.buyer_key]
    per_buyer = Counter(world[r.order_id].buyer.email for r in merchant)
    repeat = next(email for email, n in per_buyer.items() if n > 1)
    keys = {r.buyer_key for r in merchant if world[r.order_id].buyer.email == repeat}
    assert len(keys) == 1  # one buyer, one key, over several orders
    assert len({r.buyer_key for r in merchant}) == len(per_buyer)  # other buyers, other keys

    stored = every_value(engine).lower()
    for row in rows:
        buyer = world[row.order_id].buyer
        for personal in (buyer.email, buyer.name, buyer.line1, buyer.phone):
            assert personal.lower() not in stored
        assert buyer.email.lower() not in caplog.text.lower()
    assert SECRET.lower() not in stored and SECRET not in caplog.text


def test_a_generated_secret_is_private_and_keys_survive_a_restart(
    lite: Engine, sim: Sim, amazon_settings: AmazonSettings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    amazon_settings = amazon_settings.model_copy(  # no secret and no file configured
        update={"customer_key_secret": SecretStr(""), "customer_key_file": None})
    accounts = add_accounts(lite, sim, amazon_settings, {"na": (0, ("US",))})
    assert all(r.ok for r in sync(lite, amazon_settings, accounts, ["orders"]).values())
    first = {r.order_id: r.buyer_key for r in stored_orders(lite)}
    assert any(first.values())

    database = lite.url.database
    assert database is not None
    path = Path(database).parent / FILE_NAME  # beside the SQLite database
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    secret = path.read_text().strip()
    assert len(secret) == 64 and secret not in caplog.text and str(path) in caplog.text
    world = sim_orders(sim)
    assert all(key == expected_key(world[o].buyer.email, secret)
               for o, key in first.items() if key)

    # A restart: a new engine on the same database, the synced orders read again from scratch.
    lite.dispose()
    with writing(lite) as tx:
        tx.conn.execute(amazon_orders.delete())
        tx.conn.execute(amazon_cursors.delete())
    assert all(r.ok for r in sync(lite, amazon_settings, accounts, ["orders"]).values())
    assert {r.order_id: r.buyer_key for r in stored_orders(lite)} == first
    assert path.read_text().strip() == secret


def test_the_secret_file_is_made_once_and_refused_when_open_or_short(
    tmp_path: Path, lite: Engine, amazon_settings: AmazonSettings,
) -> None:
    path = tmp_path / "keys" / FILE_NAME
    answers: list[bytes] = []
    threads = [threading.Thread(target=lambda: answers.append(read_or_create(path)))
               for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(answers)) == 1 and len(answers) == 8  # everyone got the one secret
    assert [p.name for p in path.parent.iterdir()] == [FILE_NAME]  # no temporary left behind

    os.chmod(path, 0o644)
    with pytest.raises(ConfigError, match="accessible to others"):
        read_or_create(path)
    with pytest.raises(ConfigError, match="at least 16"):
        secret_for(lite, AmazonSettings(customer_key_secret=SecretStr("short")))
    explicit = AmazonSettings(customer_key_file=tmp_path / "elsewhere" / "k")
    assert secret_for(lite, explicit) == (tmp_path / "elsewhere" / "k").read_text().strip(
    ).encode()


def test_buyer_key_rules() -> None:
    secret = b"0123456789abcdef0123456789abcdef"
    assert buyer_key(" Buyer@Marketplace.Amazon.com\n", secret) == buyer_key(
        "buyer@marketplace.amazon.com", secret)
    assert buyer_key("a@marketplace.amazon.com", secret) != buyer_key(
        "a@marketplace.amazon.com", b"another secret of some length")
    assert buyer_key("", secret) is None and buyer_key(None, secret) is None
    assert customer_key("ab" * 32) == "buyer:" + "ab" * 32 and customer_key(None) is None
    with pytest.raises(ValueError):
        buyer_key("a@b", b"")


def test_a_problem_sample_of_an_unreadable_order_has_no_buyer(
    engine: Engine, sim: Sim, amazon_settings: AmazonSettings,
) -> None:
    from hub.amazon.context import JobContext
    from hub.amazon.sync.orders import _bad_order

    amazon_settings = keyed(amazon_settings)
    accounts = add_accounts(engine, sim, amazon_settings, {"na": (0, ("US",))})
    ctx = JobContext("orders", accounts[0], None, engine, amazon_settings)  # type: ignore[arg-type]
    order = {"orderId": "111-1", "buyer": {"buyerEmail": "x9q@marketplace.amazon.com",
                                           "buyerName": "Pat Example"},
             "recipient": {"deliveryAddress": {"name": "Pat Example"}}}
    _bad_order(ctx, order, KeyError("createdTime"))
    with reading(engine) as conn:
        sample = conn.execute(select(amazon_problems.c.sample)).scalar_one()
    assert "111-1" in sample and "x9q" not in sample and "Pat" not in sample


def _a_to_z_market(sim: Sim) -> tuple[int, str]:
    """A seeded (seller index, marketplace code) with A-to-Z claims in the last 30 days."""
    codes = {"A13V1IB3VIYZZH": "FR", "A1RKKUPIHCS9HS": "ES", "A1F83G8C2ARO7P": "UK",
             "A1VC38T7YXB528": "JP", "ATVPDKIKX0DER": "US", "A2EUQ1WTGCTBG2": "CA",
             "A1PA6795UKMFR9": "DE"}
    since = sim.simulator.now() - timedelta(days=29)
    for index, seller in enumerate(sim.sellers):
        for returned in sim.simulator.world.returns(seller.seller_id):
            if returned.a_to_z_claim and returned.requested >= since:
                return index, codes[returned.marketplace_id]
    raise AssertionError("the seeded data has no A-to-Z claim")


def test_an_a_to_z_claim_flags_its_order_once_audited_as_amazon(
    engine: Engine, sim: Sim, amazon_settings: AmazonSettings,
) -> None:
    amazon_settings = keyed(amazon_settings)
    index, code = _a_to_z_market(sim)
    accounts = add_accounts(engine, sim, amazon_settings, {"acct": (index, (code,))})
    assert all(r.ok for r in sync(engine, amazon_settings, accounts, ["returns"]).values())
    since = sim.simulator.now() - timedelta(days=amazon_settings.backfill_days)
    claimed = {r.order_id for r in sim.simulator.world.returns(sim.sellers[index].seller_id)
               if r.a_to_z_claim and r.requested >= since and r.marketplace_id in
               accounts[0].marketplace_ids}
    with reading(engine) as conn:
        flags = conn.execute(select(risk_flags)).all()
        audited = conn.execute(select(audit_log).where(audit_log.c.action == "risk.flagged")).all()
    assert claimed and {f.subject for f in flags} == claimed and len(flags) == len(claimed)
    assert all(f.kind == "order" and f.source == "amazon" and f.flagged_by == "amazon:acct"
               and "A-to-Z claim" in f.reason and f.cleared_at is None for f in flags)
    assert {(a.actor, a.role, a.entity_id) for a in audited} == {
        ("amazon:acct", "amazon", str(f.id)) for f in flags}

    # Read the same reports again (the whole window): nothing new, even for a cleared flag.
    clear(engine, flags[0].id, "claim withdrawn", Actor("finance-1", "finance"))
    again = sync(engine, amazon_settings, accounts, ["returns"], since=since)
    assert all(r.ok for r in again.values())
    with reading(engine) as conn:
        assert conn.execute(select(func.count()).select_from(risk_flags)).scalar_one() == len(
            flags)
        risk = active_risk(conn, claimed | {"000-0000000-0000000"}, set())
    assert set(risk) == claimed - {flags[0].subject}
    assert all("A-to-Z claim" in reason for reason in risk.values())


def test_a_safet_claim_in_the_report_is_read() -> None:
    row = dict.fromkeys(MFN_COLUMNS, "")
    row |= {"Order ID": "111-1234567-1234567", "Return request date": "2026-01-05T10:00:00+00:00",
            "Amazon RMA ID": "DABCDEFGRRMA", "Merchant SKU": "SKU-1", "Return quantity": "1",
            "Currency code": "USD", "A-to-Z Claim": "N", "SafeT claim id": "9876543",
            "SafeT Action reason": "Item returned damaged"}
    text = "\t".join(MFN_COLUMNS) + "\n" + "\t".join(row[c] for c in MFN_COLUMNS) + "\n"
    from hub.amazon.sync.returns import claim_flags

    parsed = parse_mfn_returns(text)
    assert not parsed.problems
    (line,) = parsed.rows
    assert (line.a_to_z_claim, line.safet_claim_id) == (False, "9876543")
    (flag,) = claim_flags("eu", parsed.rows)
    assert (flag.kind, flag.subject, flag.actor.name) == ("order", line.order_id, "amazon:eu")
    assert "SafeT claim 9876543" in flag.reason and "Item returned damaged" in flag.reason
    assert flag.source_ref == "amazon:eu:111-1234567-1234567:safet:9876543"


def test_load_order_facts_gives_the_policy_buyer_and_delivery_in_one_query_per_chunk(
    engine: Engine, sim: Sim, amazon_settings: AmazonSettings,
) -> None:
    amazon_settings = keyed(amazon_settings)
    accounts = add_accounts(engine, sim, amazon_settings, {"na": (0, ("US",))})
    assert all(r.ok for r in sync(engine, amazon_settings, accounts, ["orders"]).values())
    rows = {r.order_id: r for r in stored_orders(engine)}
    wanted = set(rows) | {f"999-0000000-{n:07d}" for n in range(1200)}
    with statements_sent(engine) as statements, reading(engine) as conn:
        facts = load_order_facts(conn, wanted)
    assert len([s for s in statements if "FROM amazon_orders" in s]) == -(-len(wanted) // 500)
    assert set(facts) == set(rows)
    for order_id, fact in facts.items():
        row = rows[order_id]
        assert (fact.order_id, fact.marketplace_id, fact.purchased_at, fact.buyer_key,
                fact.deliver_by) == (order_id, row.marketplace_id, row.purchased_at,
                                     row.buyer_key, row.deliver_by)
    assert any(f.buyer_key for f in facts.values()) and any(f.deliver_by for f in facts.values())

    # The same order under a second account: kept when the facts agree, left out when not.
    world = sim_orders(sim)
    same, other = sorted(o for o, r in rows.items() if r.buyer_key)[:2]
    secret = SECRET.encode()
    api = {o: _api_order(world[o]) for o in (same, other)}
    copies = [order_row("copy", api[same], secret),
              order_row("copy", api[other], b"another secret entirely")]
    with writing(engine) as tx:
        upsert(tx.conn, amazon_orders, ("account", "order_id"), hashed(copies, FIELDS), tx.now)
    with reading(engine) as conn:
        both = load_order_facts(conn, {same, other})
    assert set(both) == {same} and both[same] == facts[same]


def _api_order(order: Order) -> dict[str, Any]:
    from spapi_sim.orders_json import order_json

    return order_json(order, {"BUYER", "PROCEEDS", "FULFILLMENT"})

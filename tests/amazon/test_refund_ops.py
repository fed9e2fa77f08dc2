"""A person retries failed MFN refunds and resolves ambiguous feeds, against the real simulator.

Retry: a refused refund sent again is failed again with Amazon's new words; once its cause is
fixed it goes out in exactly one more feed and is confirmed; a feed Amazon could not process
(its upload was lost) is retried the same way; only a failed refund can be retried, one request
per refund. Ambiguous feeds happen for real: the hub stops around createFeed and someone else
sends adjustment feeds for the account, so ``getFeeds`` lists several candidates. The account is
blocked until a person adopts the candidate that is ours (the next run follows it, no new
createFeed) or abandons the feed (its refunds fail and can be retried). The CLI is the real
``acorn-hub`` command; the API is the hub's; the audit chain stays intact.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import closing
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import Engine, select, update
from typer.testing import CliRunner

from hub.access.permissions import Role, Scope
from hub.access.tokens import create_token
from hub.access.users import Actor
from hub.amazon.accounts import Account
from hub.amazon.client.gateway import SpApi
from hub.amazon.client.ratelimit import Limiter
from hub.amazon.errors import AmazonError
from hub.amazon.files.feed import CONTENT_TYPE, FEED_TYPE
from hub.amazon.refunds import submissions
from hub.amazon.refunds.ops import list_feeds, list_refunds, resolve_feed, retry_refund
from hub.amazon.secrets import SecretSource
from hub.amazon.settings import AmazonSettings
from hub.cli.main import app as hub_cli
from hub.errors import Conflict, InputError, NotFound, translate
from hub.storage import audit_log
from hub.storage.audit_chain import AuditDraft, verify
from hub.storage.engine import reading, writing
from hub.storage.tables.amazon import amazon_refund_retries, amazon_refund_submissions
from hub.storage.tables.core import refunds
from tests.amazon.conftest import Sim
from tests.amazon.helpers import approve, count, mfn_order, mfn_refund, refund_state, sync
from tests.amazon.test_refunds import _feeds, _ready, _told
from tests.hub.conftest import RunningHub, api_hub  # noqa: F401 - fixture

US = "ATVPDKIKX0DER"
STORE = "store-us-nyc-01"
ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
FINANCE = Actor("finance-1", "finance")


def _seller_requests(sim: Sim, operation: str) -> int:
    return sim.requests(sim.sellers[0], operation)


def _sub(engine: Engine, refund_id: str) -> Any:
    with reading(engine) as conn:
        return conn.execute(
            select(amazon_refund_submissions).where(
                amazon_refund_submissions.c.refund_id == refund_id
            )
        ).one()


def _last(engine: Engine, refund_id: str, entity: str = "refund") -> Any:
    with reading(engine) as conn:
        return audit_log.for_entity(conn, entity, f"{STORE}/{refund_id}")[-1]


def _chain_intact(engine: Engine) -> None:
    with reading(engine) as conn:
        tip = audit_log.read_tip(conn)
        with closing(audit_log.entries(conn)) as chain:
            verdict = verify(chain, tip)
    assert verdict.ok, verdict


def _confirm(engine: Engine, settings: AmazonSettings, accounts: list[Account]) -> None:
    time.sleep(1.05)  # PostedBefore has whole seconds: the event must be in a past second
    sync(engine, settings, accounts, ["refund-events"])


# --- retry ---------------------------------------------------------------------------------


def test_a_refused_refund_fails_again_until_its_cause_is_fixed_then_goes_out_once(
    engine: Engine, sim: Sim, amazon_settings: AmazonSettings
) -> None:
    accounts, order = _ready(engine, sim, amazon_settings, extra=Decimal("5000"))
    sync(engine, amazon_settings, accounts, ["refunds"])
    assert refund_state(engine, "F1") == "failed" and _seller_requests(sim, "createFeed") == 1
    first = _sub(engine, "F1")

    retry_refund(engine, FINANCE, STORE, "F1", "Amazon may have had a bad day")
    assert refund_state(engine, "F1") == "failed"  # nothing moves before the next run
    sync(engine, amazon_settings, accounts, ["refunds"])
    assert _seller_requests(sim, "createFeed") == 2
    assert refund_state(engine, "F1") == "failed"  # refused again: simply failed again
    again = _sub(engine, "F1")
    assert again.feed_key != first.feed_key and "exceeds the balance" in again.error
    new_feed = next(f for f in _feeds(engine) if f["feed_key"] == again.feed_key)
    assert f"feed {new_feed['feed_id']}" in _last(engine, "F1").reason
    resubmitted = _last(engine, "F1", "amazon_refund_submission")
    assert resubmitted.action == "amazon.refund.resubmitted"
    assert resubmitted.before["feed_key"] == first.feed_key
    assert resubmitted.before["error"] == first.error and resubmitted.actor == "amazon:na"
    assert "retry requested by finance-1: Amazon may have had a bad day" in resubmitted.reason

    _correct_amount(engine, "F1", order.items[0].principal)  # the cause: a mistyped amount
    retry_refund(engine, FINANCE, STORE, "F1", "amount corrected")
    sync(engine, amazon_settings, accounts, ["refunds"])
    assert _seller_requests(sim, "createFeed") == 3  # exactly one more
    assert refund_state(engine, "F1") == "submitted"
    sent = _sub(engine, "F1")
    assert sent.status == "accepted" and sent.items[0]["merchant_item_id"] == "F1"
    assert count(engine, amazon_refund_submissions) == 1
    assert count(engine, amazon_refund_retries) == 0
    _confirm(engine, amazon_settings, accounts)
    assert refund_state(engine, "F1") == "confirmed"
    assert [b["status"] for b in _told(engine, "F1")] == [
        "submitted", "failed", "submitted", "failed", "submitted", "confirmed"]  # fmt: skip
    _chain_intact(engine)


def _correct_amount(engine: Engine, refund_id: str, amount: Decimal) -> None:
    """Finance corrects a refund amount typed wrong (ACORN has no tool for it: done by hand)."""
    with writing(engine) as tx:
        tx.conn.execute(
            update(refunds).where(refunds.c.refund_id == refund_id).values(amount=amount)
        )
        after = {"amount": str(amount)}
        tx.audit(AuditDraft("test", "admin", "refund.corrected", "refund",
                            f"{STORE}/{refund_id}", None, after, "typo"))  # fmt: skip


class LostUploads:
    """Answers document uploads 200 without passing them on while ``lose`` is set (a proxy that
    eats request bodies): Amazon then finds no document and the feed ends FATAL."""

    def __init__(self, app: Any) -> None:
        self.app, self.lose = app, True

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if not (self.lose and scope["type"] == "http" and scope["method"] == "PUT"
                and scope.get("path", "").startswith("/documents/")):  # fmt: skip
            await self.app(scope, receive, send)
            return
        while (await receive()).get("more_body"):
            pass
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def test_a_fatal_feed_is_retried_once_the_cause_is_fixed_and_goes_on_to_confirmed(
    engine: Engine, make_sim: Callable[..., Sim], amazon_settings: AmazonSettings
) -> None:
    proxies: list[LostUploads] = []

    def wrap(app: Any, _simulator: Any) -> LostUploads:
        proxies.append(LostUploads(app))
        return proxies[-1]

    sim = make_sim(wrap=wrap)
    accounts, _order = _ready(engine, sim, amazon_settings)
    sync(engine, amazon_settings, accounts, ["refunds"])
    assert refund_state(engine, "F1") == "failed"
    assert "the feed ended FATAL" in (_sub(engine, "F1").error or "")
    with reading(engine) as conn:
        (row,) = list_refunds(conn, "failed", 10)
    assert "the feed ended FATAL" in row["failure"] and row["retry_by"] is None

    proxies[0].lose = False  # the cause is fixed
    retry_refund(engine, FINANCE, STORE, "F1", "upload proxy fixed")
    with reading(engine) as conn:
        (row,) = list_refunds(conn, "failed", 10)
    assert (row["retry_by"], row["retry_reason"]) == ("finance-1", "upload proxy fixed")
    sync(engine, amazon_settings, accounts, ["refunds"])
    assert _seller_requests(sim, "createFeed") == 2
    assert refund_state(engine, "F1") == "submitted"
    _confirm(engine, amazon_settings, accounts)
    assert refund_state(engine, "F1") == "confirmed"
    _chain_intact(engine)


def test_only_a_failed_amazon_refund_is_retried_and_twice_before_a_run_sends_one_feed(
    engine: Engine, sim: Sim, amazon_settings: AmazonSettings
) -> None:
    accounts, _order = _ready(engine, sim, amazon_settings, extra=Decimal("5000"))
    with pytest.raises(Conflict, match="is approved: only a failed refund can be retried"):
        retry_refund(engine, FINANCE, STORE, "F1", "too early")
    with pytest.raises(NotFound):
        retry_refund(engine, FINANCE, STORE, "NOPE", "no such refund")
    sync(engine, amazon_settings, accounts, ["refunds"])
    with pytest.raises(InputError) as missing:
        retry_refund(engine, FINANCE, STORE, "F1", "   ")
    assert missing.value.field == "reason"

    retry_refund(engine, FINANCE, STORE, "F1", "first ask")
    with pytest.raises(Conflict, match="already has a retry queued"):
        retry_refund(engine, Actor("admin-1", "admin"), STORE, "F1", "second ask")
    sync(engine, amazon_settings, accounts, ["refunds"])
    sync(engine, amazon_settings, accounts, ["refunds"])
    assert _seller_requests(sim, "createFeed") == 2  # one more feed, not two
    with reading(engine) as conn:
        asked = [e for e in audit_log.for_entity(conn, "refund", f"{STORE}/F1")
                 if e.action == "refund.retry_requested"]  # fmt: skip
    assert [(e.actor, e.role, e.reason) for e in asked] == [("finance-1", "finance", "first ask")]
    assert asked[0].after["retry"]["requested_by"] == "finance-1"


def test_a_refund_that_still_cannot_be_expressed_is_refused_at_once(
    engine: Engine, sim: Sim, amazon_settings: AmazonSettings
) -> None:
    accounts, order = _ready(engine, sim, amazon_settings, refund_id="F0")
    mfn_refund(engine, "F2", order, [("NOT-IN-ORDER", 1, Decimal("10.00"))], Decimal("10.00"))
    approve(engine, "F2")
    sync(engine, amazon_settings, accounts, ["refunds"])
    assert refund_state(engine, "F2") == "failed"
    with pytest.raises(Conflict, match="still cannot be refunded through Amazon: SKU NOT-IN"):
        retry_refund(engine, FINANCE, STORE, "F2", "try again")
    assert count(engine, amazon_refund_retries) == 0


# --- ambiguous feeds -----------------------------------------------------------------------


def _foreign_feed(settings: AmazonSettings, account: Account) -> str:
    """Someone else sends an adjustment feed for the account (Seller Central, another tool)."""
    creds = SecretSource(environ={}, secrets_file=settings.secrets_file).credentials(
        account.name, account.seller_id
    )
    with SpApi(account, creds, Limiter(factor=settings.rate_factor), settings) as api:
        document = api.call("createFeedDocument", US, lambda c: c.create_feed_document(
            io.BytesIO(b"<AmazonEnvelope/>"), CONTENT_TYPE))  # fmt: skip
        doc_id = str(document.payload["feedDocumentId"])
        made = api.call("createFeed", US, lambda c: c.create_feed(
            FEED_TYPE, doc_id, marketplaceIds=[US]))  # fmt: skip
    return str(made.payload["feedId"])


def _hub_dies(monkeypatch: pytest.MonkeyPatch, point: str) -> None:
    """The refunds run stops at ``point`` as a crash would (the intent and its lease stay)."""

    def died(*_args: Any, **_kwargs: Any) -> None:
        raise AmazonError("the hub died here")

    if point == "after-create":
        monkeypatch.setattr(submissions, "record_sent", died)
        return
    renew = submissions._renew

    def renew_then_die(*args: Any, **kwargs: Any) -> None:
        renew(*args, **kwargs)
        died()

    monkeypatch.setattr(submissions, "_renew", renew_then_die)


def _ambiguous(
    engine: Engine,
    settings: AmazonSettings,
    accounts: list[Account],
    monkeypatch: pytest.MonkeyPatch,
    point: str,
    foreign: int,
) -> tuple[dict[str, Any], list[str]]:
    """Make the account's feed ambiguous for real; return it and the foreign feed ids."""
    with monkeypatch.context() as patch:
        _hub_dies(patch, point)
        sync(engine, settings.model_copy(update={"feed_lease_seconds": 0.3}), accounts, ["refunds"])
    others = [_foreign_feed(settings, accounts[0]) for _ in range(foreign)]
    time.sleep(0.35)  # the dead run's lease runs out
    results = sync(engine, settings, accounts, ["refunds"])
    assert not results["na"].ok  # the ambiguity is reported as an error
    (feed,) = _feeds(engine)
    assert feed["status"] == "ambiguous"
    return feed, others


def _another_order(sim: Sim, taken: str) -> Any:
    return next(o for o in reversed(sim.simulator.world.orders(sim.sellers[0].seller_id))
                if o.marketplace_id == US and o.fulfilled_by == "MERCHANT"
                and o.status == "SHIPPED" and o.order_id != taken)  # fmt: skip


def test_an_adopted_ambiguous_feed_is_followed_to_done_without_a_new_create_feed(
    engine: Engine, sim: Sim, amazon_settings: AmazonSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    accounts, _order = _ready(engine, sim, amazon_settings)
    feed, (other,) = _ambiguous(engine, amazon_settings, accounts, monkeypatch, "after-create", 1)
    with reading(engine) as conn:
        (listed,) = list_feeds(conn, "ambiguous", 10)
    assert other in listed["candidates"] and len(listed["candidates"]) == 2
    ours = next(c for c in listed["candidates"] if c != other)
    assert refund_state(engine, "F1") == "submitted"
    _confirm(engine, amazon_settings, accounts)  # Amazon's refund event arrives meanwhile
    assert refund_state(engine, "F1") == "confirmed"

    with pytest.raises(InputError, match="not one of the candidates") as wrong:
        resolve_feed(engine, FINANCE, feed["feed_key"], "checked", "999999")
    assert wrong.value.field == "amazon_feed_id"
    creates = _seller_requests(sim, "createFeed")
    done = resolve_feed(engine, FINANCE, feed["feed_key"], "ours in Seller Central", ours)
    assert (done.status, done.feed_id, done.failed) == ("sent", ours, [])
    with pytest.raises(Conflict, match="is sent, not ambiguous"):
        resolve_feed(engine, FINANCE, feed["feed_key"], "again", None)

    assert sync(engine, amazon_settings, accounts, ["refunds"])["na"].ok
    assert _seller_requests(sim, "createFeed") == creates  # followed, not sent again
    (followed,) = _feeds(engine)
    assert (followed["status"], followed["feed_id"]) == ("done", ours)
    assert refund_state(engine, "F1") == "confirmed"  # the report does not undo the event
    sync(engine, amazon_settings, accounts, ["settlements"])
    assert refund_state(engine, "F1") == "settled" and _sub(engine, "F1").status == "settled"
    with reading(engine) as conn:
        resolved = audit_log.for_entity(conn, "amazon_feed", feed["feed_key"])[-2]
    assert (resolved.action, resolved.actor, resolved.reason) == (
        "amazon.feed.resolved", "finance-1", "ours in Seller Central")
    assert resolved.before["candidates"] == listed["candidates"]
    _chain_intact(engine)


def test_an_abandoned_feed_fails_its_refunds_and_unblocks_the_account(
    engine: Engine, sim: Sim, amazon_settings: AmazonSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    accounts, order = _ready(engine, sim, amazon_settings)
    feed, _others = _ambiguous(engine, amazon_settings, accounts, monkeypatch,
                               "before-create", 2)  # fmt: skip
    assert _seller_requests(sim, "createFeed") == 2  # both someone else's
    second = _another_order(sim, order.order_id)
    item = second.items[0]
    mfn_refund(engine, "F2", second, [(item.sku, item.quantity, item.unit_price)],
               item.principal)  # fmt: skip
    approve(engine, "F2")
    sync(engine, amazon_settings, accounts, ["refunds"])
    assert refund_state(engine, "F2") == "approved"  # the account is blocked
    assert _seller_requests(sim, "createFeed") == 2

    done = resolve_feed(engine, FINANCE, feed["feed_key"], "neither is ours", None)
    assert (done.status, done.failed) == ("abandoned", [f"{STORE}/F1"])
    assert refund_state(engine, "F1") == "failed"
    assert _last(engine, "F1").reason == "feed abandoned by finance-1: neither is ours"
    assert _told(engine, "F1")[-1]["status"] == "failed"
    (abandoned,) = _feeds(engine)
    assert abandoned["status"] == "abandoned"

    retry_refund(engine, FINANCE, STORE, "F1", "send it ourselves after all")
    assert sync(engine, amazon_settings, accounts, ["refunds"])["na"].ok
    assert _seller_requests(sim, "createFeed") == 3  # one feed: F1 again and F2
    assert (refund_state(engine, "F1"), refund_state(engine, "F2")) == ("submitted", "submitted")
    assert _sub(engine, "F1").feed_key == _sub(engine, "F2").feed_key != feed["feed_key"]
    _chain_intact(engine)


# --- the CLI and the API -------------------------------------------------------------------


def _env(engine: Engine, settings: AmazonSettings, **extra: str) -> dict[str, str]:
    db_url = engine.url.render_as_string(hide_password=False)
    return {**os.environ, "PYTHONPATH": str(ROOT), "ACORN_HUB_DATABASE_URL": db_url,
            "ACORN_HUB_AMAZON_SECRETS_FILE": str(settings.secrets_file),
            "ACORN_HUB_AMAZON_RATE_FACTOR": str(settings.rate_factor),
            "ACORN_HUB_AMAZON_REPORT_POLL_SECONDS": "0.02", "COLUMNS": "400", **extra}  # fmt: skip


def _hub(env: dict[str, str]) -> Callable[..., tuple[int, str, str]]:
    def run(*args: str) -> tuple[int, str, str]:
        done = subprocess.run([str(BIN / "acorn-hub"), *args], env=env, capture_output=True,
                              text=True, timeout=120, check=False)  # fmt: skip
        return done.returncode, done.stdout, done.stderr

    return run


def _refusals(env: dict[str, str]) -> Callable[..., tuple[int, str, str]]:
    """``acorn-hub`` run in this process (``tests/inventory/cli_helpers.py``'s way: an error
    becomes the line ``hub.cli.main.main`` prints), for the refusals: each subprocess costs a
    second of CPU, and the ones ``_hub`` runs already prove that ``main`` turns an error into
    that line and exit code 1."""
    def run(*args: str) -> tuple[int, str, str]:
        result = CliRunner().invoke(hub_cli, list(args), env=env)
        known = translate(result.exception) if result.exception else None
        if known is not None:
            where = f" ({known.field})" if known.field else ""
            return 1, result.stdout, f"acorn-hub: error{where}: {known.message}"
        return result.exit_code, result.stdout, result.stderr

    return run


def test_cli_resolves_a_feed_left_ambiguous_by_a_real_crash(
    lite: Engine, sim: Sim, amazon_settings: AmazonSettings
) -> None:
    engine = lite  # the CLI is the same on both databases; refund_ops is tested on both above
    accounts, _order = _ready(engine, sim, amazon_settings)
    env = _env(engine, amazon_settings, ACORN_HUB_AMAZON_FEED_LEASE_SECONDS="0.5")
    crashed = subprocess.run([sys.executable, str(ROOT / "tests/amazon/crashing_cli.py"),
                              "after-create"], env=env, capture_output=True, timeout=60,
                             check=False)  # fmt: skip
    assert crashed.returncode == -9, crashed.stderr.decode()[-2000:]
    other = _foreign_feed(amazon_settings, accounts[0])
    time.sleep(0.6)  # the dead process's lease runs out
    hub = _hub(env)
    code, _, _ = hub("amazon", "refunds", "submit")
    assert code == 1  # ambiguous: reported, nothing sent
    code, out, _ = hub("amazon", "feeds", "list", "--status", "ambiguous")
    (feed,) = _feeds(engine)
    assert code == 0 and feed["feed_key"] in out and other in out
    with reading(engine) as conn:
        ours = next(c for c in list_feeds(conn, None, 5)[0]["candidates"] if c != other)

    refusals = [
        (("--reason", "x"), "give exactly one of --amazon-feed-id ID or --abandon"),
        (("--abandon", "--amazon-feed-id", ours, "--reason", "x"), "give exactly one of"),
        (("--amazon-feed-id", "42", "--reason", "x"), "is not one of the candidates"),
    ]
    refuse = _refusals(env)
    for args, message in refusals:
        code, _, err = refuse("amazon", "feeds", "resolve", feed["feed_key"], *args)
        assert code == 1 and message in err and "Traceback" not in err, err
    code, out, err = hub("amazon", "feeds", "resolve", feed["feed_key"], "--amazon-feed-id",
                         ours, "--reason", "found it in Seller Central")  # fmt: skip
    assert code == 0 and f"adopted as Amazon feed {ours}" in out, err
    code, _, err = hub("amazon", "feeds", "resolve", feed["feed_key"], "--abandon", "--reason", "x")
    assert code == 1 and "is sent, not ambiguous: only an ambiguous feed can be resolved" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err

    code, _, err = hub("amazon", "refunds", "submit")
    assert code == 0, err
    assert _seller_requests(sim, "createFeed") == 2  # ours once, the other sender's once
    code, out, _ = hub("amazon", "refunds", "list", "--state", "submitted")
    assert code == 0 and f"{STORE}/F1" in out and "done" in out
    code, _, err = refuse("amazon", "refunds", "retry", STORE, "F1", "--reason", "why not")
    assert code == 1 and "is submitted: only a failed refund can be retried" in err
    code, out, _ = hub("audit", "verify")
    assert code == 0 and "audit chain intact" in out


def test_cli_lists_failed_refunds_and_queues_a_retry_once(
    lite: Engine, sim: Sim, amazon_settings: AmazonSettings
) -> None:
    engine = lite
    accounts, _order = _ready(engine, sim, amazon_settings, extra=Decimal("5000"))
    sync(engine, amazon_settings, accounts, ["refunds"])
    env = _env(engine, amazon_settings)
    hub, refuse = _hub(env), _refusals(env)
    code, out, _ = hub("amazon", "refunds", "list", "--state", "failed")
    assert code == 0 and f"{STORE}/F1" in out and "exceeds the balance" in out
    code, _, err = refuse("amazon", "refunds", "retry", STORE, "F1", "--reason", " ")
    assert code == 1 and "error (reason): a reason is required" in err
    code, _, err = refuse("amazon", "refunds", "retry", STORE, "F1")
    assert code == 2 and "--reason" in err  # a usage error
    code, out, _ = hub("amazon", "refunds", "retry", STORE, "F1", "--reason", "balance checked")
    assert code == 0 and f"refund {STORE}/F1 queued for a retry" in out
    code, _, err = hub("amazon", "refunds", "retry", STORE, "F1", "--reason", "again")
    assert code == 1 and "already has a retry queued" in err and "Traceback" not in err
    code, out, _ = hub("amazon", "refunds", "list", "--state", "failed")
    assert code == 0 and "yes, by cli:" in out and "balance checked" in out
    code, _, err = refuse("amazon", "refunds", "list", "--state", "lost")
    assert code == 1 and "--state must be one of" in err
    code, _, err = refuse("amazon", "feeds", "list", "--status", "lost")
    assert code == 1 and "--status must be one of" in err
    # the --help of `amazon refunds retry` and `amazon feeds resolve` (every command's) is read
    # in-process by tests/test_cli_help.py


@pytest.fixture
def officers(api_hub: RunningHub) -> dict[str, dict[str, str]]:  # noqa: F811 - fixture
    made = {
        name: create_token(api_hub.engine, name, role, scope=scope)
        for name, role, scope in [
            ("viewer-1", Role.VIEWER, None), ("boss-1", Role.REGIONAL_MANAGER, None),
            ("finance-far", Role.FINANCE, Scope(store="store-elsewhere")),
            ("finance-1", Role.FINANCE, None), ("admin-1", Role.ADMIN, None)]
    }  # fmt: skip
    return {name: {"Authorization": f"Bearer {token}"} for name, token in made.items()}


def test_api_retry_is_for_finance_and_admin_with_a_reason(
    api_hub: RunningHub, officers: dict[str, dict[str, str]]  # noqa: F811 - fixture
) -> None:
    order = SimpleNamespace(order_id="111-0000001-0000001", marketplace_id=US, currency="USD")
    line = [("SKU-1", 1, Decimal("20.00"))]
    mfn_refund(api_hub.engine, "F1", order, line, Decimal("20.00"), state="failed")
    mfn_refund(api_hub.engine, "F2", order, line, Decimal("20.00"), state="approved")
    client, url = api_hub.client, "/api/refunds/F1/retry"
    body, store = {"reason": "Amazon fixed the listing"}, {"store": STORE}
    for who in ("viewer-1", "boss-1", "finance-far"):
        answer = client.post(url, params=store, json=body, headers=officers[who])
        assert answer.status_code == 403, answer.text
    assert "finance and admin" in client.post(
        url, json={}, headers=officers["viewer-1"]).json()["detail"][0]["message"]
    for bad in ({}, {"reason": "  "}):
        answer = client.post(url, params=store, json=bad, headers=officers["finance-1"])
        assert answer.status_code == 422 and answer.json()["detail"][0]["field"] == "reason"
    answer = client.post("/api/refunds/F2/retry", json=body, headers=officers["finance-1"])
    assert answer.status_code == 409 and "only a failed refund" in answer.text
    assert client.post("/api/refunds/F9/retry", json=body,
                       headers=officers["admin-1"]).status_code == 404  # fmt: skip

    made = client.post(url, params=store, json=body, headers=officers["admin-1"])
    assert made.status_code == 202, made.text
    assert {k: made.json()[k] for k in ("store_id", "refund_id", "requested_by", "reason")} == {
        "store_id": STORE, "refund_id": "F1", "requested_by": "admin-1",
        "reason": "Amazon fixed the listing"}  # fmt: skip
    again = client.post(url, json=body, headers=officers["finance-1"])
    assert again.status_code == 409 and "already has a retry queued" in again.text
    with reading(api_hub.engine) as conn:
        entry = audit_log.for_entity(conn, "refund", f"{STORE}/F1")[-1]
    assert (entry.action, entry.actor, entry.role) == ("refund.retry_requested", "admin-1", "admin")
    _chain_intact(api_hub.engine)


def test_listing_without_state_shows_refunds_from_approval_on(
    engine: Engine, sim: Sim, amazon_settings: AmazonSettings
) -> None:
    _ready(engine, sim, amazon_settings)
    order = mfn_order(sim, 0, US)
    mfn_refund(engine, "F3", order, [("SKU", 1, Decimal("1.00"))], Decimal("1.00"))  # pending
    with reading(engine) as conn:
        rows = list_refunds(conn, None, 10)
        assert [r["refund_id"] for r in list_refunds(conn, "pending_approval", 10)] == ["F3"]
    assert [(r["refund_id"], r["state"], r["feed_id"]) for r in rows] == [("F1", "approved", None)]


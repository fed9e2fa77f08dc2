"""The check's signatures and recounts on both databases, through the real ingest transaction:
a node with a key on record must sign (unsigned or forged pages are refused, nothing built on
them, once per seq); a recount queues a count task to the node; the recount snapshot's answer
marks the difference recounted and reopens it for HQ; a revoked node cannot be asked."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import Engine, select

from edge_agent.stock.snapshot import Signer, pages_of
from hub.errors import Conflict
from hub.fleet.identities import mark_revoked
from hub.inventory import differences as diffs
from hub.storage.engine import reading, writing
from hub.storage.tables.core import audit_log, commands
from hub.storage.tables.fleet import node_certificates
from hub.storage.tables.inventory import stock_differences, stock_snapshot_refusals
from protocol import CountAnswer, CountTask, Envelope, SnapshotLine, make_envelope, utc_now
from tests.hub.helpers import ingest
from tests.hub.test_stock_view import S, story

KEY = ec.generate_private_key(ec.SECP256R1())


def keep_key(engine: Engine) -> None:
    """The hub's record of node s1/n1's certificate key (as enrolment writes it)."""
    from cryptography.hazmat.primitives import serialization

    pem = KEY.public_key().public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    with writing(engine) as tx:
        tx.conn.execute(node_certificates.insert().values(store_id="s1", node_id="n1",
                                                          serial="01", public_key=pem))


def page(seq: int, as_of: int, sellable: int, signer: Signer | None = Signer(KEY),
         answers: list[CountAnswer] | None = None, snapshot_id: str = "SN1") -> Envelope:
    lines = [SnapshotLine(sku="SKU-K", levels={S.SELLABLE: sellable})]
    sign = None if signer is None else (lambda d: signer.sign("s1", "n1", d))
    (body,) = pages_of(snapshot_id, "recount" if answers else "hub", as_of, utc_now(), lines,
                       answers=answers or [], sign=sign)
    return make_envelope("s1", "n1", seq, body)


def table(engine: Engine, which: Any) -> list[dict[str, Any]]:
    with reading(engine) as conn:
        return [dict(r._mapping) for r in conn.execute(select(which).order_by(which.c.id))]


def test_a_node_with_a_key_must_sign_and_nothing_is_built_on_a_refused_page(
        engine: Engine) -> None:
    keep_key(engine)
    forged = page(5, 4, 6, signer=Signer(ec.generate_private_key(ec.SECP256R1())))
    result = ingest(engine, *story(), page(6, 4, 6, signer=None), forged)
    assert result.applied == 6 and not result.dead  # refused, not dead-lettered: kept apart
    assert table(engine, stock_differences) == []
    assert [(r["seq"], r["reason"], r["status"]) for r in table(
        engine, stock_snapshot_refusals)] == [(5, "signature invalid", "open"),
                                              (6, "signature missing", "open")]
    with reading(engine) as conn:
        assert diffs.refusal_count(conn) == 2
    ingest(engine, page(7, 4, 6, snapshot_id="SN2"))
    (row,) = table(engine, stock_differences)
    assert (row["difference"], row["authentication"], row["snapshot_id"]) == (2, "signature",
                                                                             "SN2")
    with writing(engine) as tx:
        diffs.dismiss_refusal(tx, 1, "hq-anna", "admin", "known: a test")
        with pytest.raises(Conflict):
            diffs.dismiss_refusal(tx, 1, "hq-anna", "admin", None)
    with reading(engine) as conn:
        assert diffs.refusal_count(conn) == 1


def test_a_recount_sends_a_count_task_and_its_answer_reopens_the_difference(
        engine: Engine) -> None:
    ingest(engine, *story(), page(5, 4, 6, signer=None))  # a password node: broker only
    (found,) = table(engine, stock_differences)
    assert found["authentication"] == "broker"
    with writing(engine) as tx:
        asked = diffs.resolve(tx, found["id"], "recount", "hq-anna", "admin", "count it")
    with reading(engine) as conn:
        (command,) = conn.execute(select(commands)).all()
    task = CountTask.model_validate(command.body)  # what the node is sent
    assert (command.store_id, command.node_id, command.kind) == ("s1", "n1", "stock.count.task")
    assert (task.task_id, task.sku, task.state, task.difference_id, task.note) == (
        asked["count_task_id"], "SKU-K", S.SELLABLE, found["id"], "count it")
    assert table(engine, stock_differences)[0]["status"] == "recount"

    # the store counted 6 (its figure stands): a recount snapshot with the answer
    answer = CountAnswer(task_id=asked["count_task_id"], sku="SKU-K", state=S.SELLABLE,
                         count_id="recount-1", counted=6)
    ingest(engine, page(6, 4, 6, signer=None, answers=[answer], snapshot_id="SN2"))
    (row,) = table(engine, stock_differences)
    assert (row["status"], row["recount_count_id"], row["recount_counted"], row["difference"],
            row["snapshot_id"]) == ("open", "recount-1", 6, 2, "SN2")
    assert row["recounted_at"] is not None
    with reading(engine) as conn:
        done = conn.execute(select(audit_log.c.action).where(
            audit_log.c.action.like("stock.difference.re%")).order_by(audit_log.c.seq)).all()
    assert [a for (a,) in done] == ["stock.difference.recount", "stock.difference.recounted"]

    with writing(engine) as tx:  # a revoked node would never hear a task
        mark_revoked(tx.conn, "s1", "n1", tx.now, "hq-anna", "admin", "stolen")
        with pytest.raises(Conflict, match="revoked"):
            diffs.resolve(tx, row["id"], "recount", "hq-anna", "admin", None)


def test_the_cli_lists_and_dismisses_refusals_and_shows_amazon_differences(
        engine: Engine, db_url: str) -> None:
    from typer.testing import CliRunner

    from hub.cli.main import app
    from hub.storage.tables.amazon_listings import amazon_listing_changes

    env = {"ACORN_HUB_DATABASE_URL": db_url}
    keep_key(engine)
    ingest(engine, *story(), page(5, 4, 6, signer=None))
    listed = CliRunner().invoke(app, ["stock", "refusals"], env=env)
    assert listed.exit_code == 3, listed.output  # open: it alerts
    assert "1\ts1/n1\tSN1\t1\t5\tsignature missing\topen" in listed.stdout
    done = CliRunner().invoke(app, ["stock", "dismiss", "1", "--note", "old agent"], env=env)
    assert done.exit_code == 0 and "dismissed" in done.stdout
    assert CliRunner().invoke(app, ["stock", "refusals"], env=env).exit_code == 0
    twice = CliRunner().invoke(app, ["stock", "dismiss", "1"], env=env)
    assert twice.exit_code == 1 and "dismissed already" in twice.stderr

    with writing(engine) as tx:  # Amazon accepted 6 of SKU-K; the chain holds 4 sellable
        tx.conn.execute(amazon_listing_changes.insert().values(
            account="na", marketplace_id="US", sku="SKU-K", change_id=1, quantity=6,
            status="accepted", attempts=1, created_at=utc_now()))
    shown = CliRunner().invoke(app, ["stock", "amazon"], env=env)
    assert shown.exit_code == 3 and "na\tUS\tSKU-K\t6\t4\t+2\tALERT" in shown.stdout
    quiet = CliRunner().invoke(app, ["stock", "amazon"],
                               env={**env, "ACORN_HUB_STOCK_CHECK_THRESHOLD": "2"})
    assert quiet.exit_code == 0 and "+2\t-" in quiet.stdout

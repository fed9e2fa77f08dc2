"""A store database that proves itself (issue 9, "What broke" 3), with real processes and files.

Every test here breaks a real edge agent's real SQLite files the way a failing disk or a careless
restore does (bytes flipped in the WAL after a kill -9, an old copy restored, a truncated file, a
full disk) and checks that no return the counter confirmed is lost, no sequence number is reused
and the agent says what happened.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from edge_agent.storage.rebuild import LOST_REASON
from edge_agent.storage.walcheck import FRAME_HEADER, HEADER, check_wal
from edge_agent.sync.link import POSITION_WAIT_MAX
from tests.edge.hub_standin import HubStandIn
from tests.support.broker import TestBroker
from tests.support.browser import CHROMIUM, chromium_page
from tests.support.http_calls import http_post
from tests.support.procs import BIN, Proc, edge_proc, wait_for

STORE, NODE = "store-a", "n1"

# One client for every call to the agent's local API: ``httpx.get`` makes a client (and its TLS
# context, ~20 ms of CPU) per request. No connection is kept between requests, so none outlives
# the agent process it went to (the agents here are killed and started again).
LOCAL = httpx.Client(timeout=10, limits=httpx.Limits(max_keepalive_connections=0))


def a_return(n: int) -> dict[str, Any]:
    """A POS return with a refund request (two outbox events)."""
    return {"channel": "pos", "reason": f"changed mind #{n}", "request_refund": True,
            "items": [{"sku": f"SKU-{n % 7}", "quantity": 1,
                       "unit_price": {"amount": "19.99", "currency": "USD"}}]}


def record(proc: Proc, count: int, start: int = 0) -> list[str]:
    """Record ``count`` returns through the local API; their ids (each answered 201)."""
    ids = []
    for n in range(start, start + count):
        answer = LOCAL.post(f"{proc.url}/api/returns", json=a_return(n))
        assert answer.status_code == 201, answer.text
        ids.append(answer.json()["return_id"])
    return ids


def health(proc: Proc) -> dict[str, Any]:
    return dict(LOCAL.get(f"{proc.url}/api/health", timeout=5).json())


def found(proc: Proc, ids: list[str]) -> list[str]:
    """The ids the agent still knows."""
    return [rid for rid in ids
            if LOCAL.get(f"{proc.url}/api/returns/{rid}", timeout=5).status_code == 200]


def flip(path: Path, offset: int, length: int = 64) -> None:
    """Invert ``length`` bytes of a file at ``offset``, as a failing disk would."""
    with path.open("r+b") as handle:
        handle.seek(offset)
        data = handle.read(length)
        handle.seek(offset)
        handle.write(bytes(b ^ 0xFF for b in data))


def frame_offset(wal: Path, index: int) -> int:
    """Where the page data of WAL frame ``index`` starts."""
    page_size = int.from_bytes(wal.read_bytes()[8:12], "big")
    return HEADER + index * (FRAME_HEADER + page_size) + FRAME_HEADER


def frames(wal: Path) -> int:
    page_size = int.from_bytes(wal.read_bytes()[8:12], "big")
    return (wal.stat().st_size - HEADER) // (FRAME_HEADER + page_size)


@pytest.fixture
def edge(broker: TestBroker, tmp_path: Path) -> Iterator[Proc]:
    """A real ``acorn-edge run`` with its broker but no hub (the store is cut off from HQ)."""
    proc = edge_proc(tmp_path, STORE, NODE, broker.node_creds(STORE, NODE))
    try:
        yield proc
    finally:
        proc.stop()


def data_dir(proc: Proc) -> Path:
    return Path(proc.env["ACORN_EDGE_DATA_DIR"])


@pytest.mark.parametrize("where", ["middle", "last"])
def test_flipped_wal_bytes_after_kill_lose_no_confirmed_return(
        edge: Proc, broker: TestBroker, where: str) -> None:
    """Nothing recorded at a counter is lost: 64 bytes flipped in the WAL of a killed agent (a
    frame in the middle, behind which SQLite would silently drop every later commit, or the last
    frame, which only the journal can tell was committed) cost none of the 30 returns answered
    201; the agent says so in health and the events reach the hub with their own seqs."""
    edge.start()
    ids = record(edge, 1)
    # the link settles its position once it knows the hub holds no ack for it (one write, at
    # most POSITION_WAIT_MAX after it connects): let it happen now, so that the last frame of
    # the WAL is the last return's, not that write's (under a loaded suite it came after it)
    wait_for(lambda: health(edge)["subscribed"], 30, "the link's subscription")
    time.sleep(POSITION_WAIT_MAX + 0.5)
    ids += record(edge, 29, start=1)
    edge.kill()
    wal = data_dir(edge) / "edge.db-wal"
    count = frames(wal)
    assert count > 10, "the WAL must hold the commits for this test to mean anything"
    flip(wal, frame_offset(wal, count // 3 if where == "middle" else count - 1) + 200)
    assert check_wal(wal).broken == (where == "middle")

    # the hub listens from the restart on (what is sent reaches it at once, not at a resend
    # seconds later) but acks nothing yet: every event stays in the outbox for the checks below
    hub = HubStandIn(broker.hub_creds(), STORE, NODE, acking=False)
    try:
        edge.start()
        assert found(edge, ids) == ids
        now = health(edge)
        assert now["status"] == "degraded"
        # each return: return.received, stock.moved (into QC hold), refund.requested
        assert now["outbox_pending"] == 90 and now["next_seq"] == 91
        codes = {problem["code"] for problem in now["problems"]}
        assert codes == ({"quarantined"} if where == "middle" else {"lost_commits"})
        if where == "middle":
            held = list((data_dir(edge) / "quarantine").iterdir())
            assert len(held) == 1 and (held[0] / "edge.db-wal").exists()
            assert "recover" in " ".join(p["action"] for p in now["problems"])
        assert "ERROR" in edge.log_tail(20_000)

        hub.acking = True  # the node sends a window at a time: the rest follows the acks
        assert hub.wait_contiguous(90, timeout=30)
        received = {env.body.return_id for env in hub.kinds("return.received")}  # type: ignore[union-attr]
        assert received == set(ids)
    finally:
        hub.close()


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MB tmpfs to hold the agent's data directory (unmounted even when the test fails)."""
    mount = tmp_path / f"edge-{STORE}-{NODE}"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {done.stderr.strip()}")
    try:
        yield mount
    finally:
        if subprocess.run(["umount", str(mount)], check=False).returncode != 0:
            subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(directory: Path) -> Path:
    """Write a file until the disk is full; its path."""
    filler = directory / "filler"
    # unbuffered: a write the disk cannot take fails at once and nothing is left for close() to
    # flush (a buffered file raised ENOSPC again on closing when the free space was not a
    # multiple of the chunk)
    with filler.open("wb", buffering=0) as handle:
        try:
            while True:
                handle.write(b"\0" * 65536)
        except OSError:
            pass
    return filler


def test_a_full_disk_is_reported_as_such_and_loses_nothing(
        small_disk: Path, edge: Proc) -> None:
    """A full disk is reported as such: recording answers 507 "the store's disk is full" (not
    500), health and the counter's banner say "disk full", nothing recorded before is lost, and
    recording works again once space is freed."""
    edge.start()
    before = record(edge, 5)
    filler = fill(small_disk)
    refused = http_post(f"{edge.url}/api/returns", json=a_return(99), timeout=10)
    assert refused.status_code == 507, refused.text
    [problem] = refused.json()["detail"]
    assert problem["field"] is None and problem["message"].startswith("the store's disk is full")
    now = health(edge)
    assert now["status"] == "degraded"
    assert [(p["code"], p["message"][:9]) for p in now["problems"]] == [("disk_full",
                                                                         "disk full")]
    assert found(edge, before) == before

    filler.unlink()
    after = record(edge, 3, start=10)
    assert health(edge)["status"] == "ok"
    assert found(edge, before + after) == before + after
    assert health(edge)["outbox_pending"] == 24  # 8 returns x 3 events


def test_a_rolled_back_database_never_reuses_a_seq_the_hub_acked(
        edge: Proc, broker: TestBroker) -> None:
    """The sequence never moves backwards: with the whole data directory restored from an older
    copy (database and journal), a return recorded before the link is up would reuse seqs the hub
    already holds; the node learns the hub's position from its retained ack first, moves its new
    events past it (same ids), says so in health, and the hub gets every new return."""
    hub = HubStandIn(broker.hub_creds(), STORE, NODE)
    try:
        edge.start()
        record(edge, 3)  # 3 events each (the return, its stock move, its refund request)
        assert hub.wait_contiguous(9, timeout=30)
        wait_for(lambda: health(edge)["outbox_pending"] == 0, 30, "the first acks")
        edge.stop()
        backup = data_dir(edge).parent / "backup"
        shutil.copytree(data_dir(edge), backup, ignore=shutil.ignore_patterns("agent.lock"))
        edge.start()
        record(edge, 2, start=3)
        assert hub.wait_contiguous(15, timeout=30)
        wait_for(lambda: health(edge)["last_acked_seq"] == 15, 30, "the second acks")
        edge.stop()
        originals = {seq: env.id for seq, env in hub.by_seq.items()}

        shutil.rmtree(data_dir(edge))
        shutil.copytree(backup, data_dir(edge))  # the old copy: seqs 10-15 will be written again
        with sqlite3.connect(data_dir(edge) / "edge.db") as conn:
            assert conn.execute("SELECT value FROM counters WHERE name = 'next_seq'"
                                ).fetchone() == (10,)
        hub.acking = True
        broker.stop()  # the counter records before the link is up
        edge.start()
        late = record(edge, 3, start=10)
        broker.start()
        assert hub.wait_contiguous(24, timeout=60)
        wait_for(lambda: health(edge)["outbox_pending"] == 0, 30, "the acks after the rollback")
    finally:
        hub.close()
    now = health(edge)
    assert now["next_seq"] == 25 and now["status"] == "degraded"
    assert [p["code"] for p in now["problems"]] == ["seq_behind_hub"]
    assert {seq: hub.by_seq[seq].id for seq in originals} == originals  # nothing displaced
    moved = {env.body.return_id for env in hub.kinds("return.received")  # type: ignore[union-attr]
             if env.seq > 15}
    assert moved == set(late)
    assert all(env.id == hub.by_seq[env.seq].id for env in hub.deliveries), "a seq was reused"


def recover_cli(proc: Proc, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``acorn-edge recover`` as an operator would, with the agent's settings."""
    return subprocess.run([str(BIN / "acorn-edge"), "recover", *args], env=proc.env,
                          capture_output=True, text=True, timeout=120, check=False)


def test_a_truncated_database_is_quarantined_and_recover_salvages_what_the_hub_lacks(
        edge: Proc, broker: TestBroker) -> None:
    """Nothing recorded at a counter is lost, even from a truncated file: the agent quarantines
    it and keeps recording in a fresh database; ``acorn-edge recover`` salvages every readable
    return with SQLite's .recover and queues it under new seqs (same return ids); a second run
    changes nothing; the hub gets every salvaged return and no seq is used twice."""
    edge.start()
    ids = record(edge, 30)
    # Scans after the returns, so that the cut pages at the end of the file are not the
    # outbox's last leaf (which table the tail holds depends on the file's layout): here every
    # event is salvaged from the outbox; the test below cuts the outbox itself.
    for n in range(300):
        LOCAL.post(f"{edge.url}/api/scans", json={"code": f"PAD-{n:04d}-" + "X" * 50})
    edge.stop()
    db = data_dir(edge) / "edge.db"
    page = 4096
    with db.open("r+b") as handle:
        handle.truncate((db.stat().st_size // page - 3) * page)
    (data_dir(edge) / "outbox.journal").unlink()  # the second copy is gone too

    # the hub listens from the restart on (what is sent reaches it at once, not at a resend
    # seconds later) but acks nothing until the end, as if it were still catching up
    hub = HubStandIn(broker.hub_creds(), STORE, NODE, acking=False)
    try:
        edge.start()
        now = health(edge)
        assert now["status"] == "degraded"
        assert [p["code"] for p in now["problems"]] == ["quarantined"]
        [held] = (data_dir(edge) / "quarantine").iterdir()
        assert f"acorn-edge recover {held}" in now["problems"][0]["action"]
        fresh = record(edge, 1, start=100)  # the counter keeps working meanwhile

        first = recover_cli(edge)
        assert first.returncode == 0, first.stderr
        requeued = [line for line in first.stdout.splitlines() if line.startswith("re-queued")]
        assert requeued and not requeued[0].startswith("re-queued for the hub: 0 ")
        salvaged = found(edge, ids)
        assert salvaged == ids, first.stdout  # the returns table is cut, but its events are whole
        assert health(edge)["problems"] == []

        again = recover_cli(edge, str(held))
        assert again.returncode == 0, again.stderr
        assert "re-queued for the hub: 0 event(s), 0 return(s)" in again.stdout
        total = health(edge)["next_seq"] - 1

        hub.acking = True  # the node sends a window at a time: the rest follows the acks
        assert hub.wait_contiguous(total, timeout=60)
        at_hub = {env.body.return_id for env in hub.kinds("return.received")}  # type: ignore[union-attr]
    finally:
        hub.close()
    assert at_hub == set(salvaged) | set(fresh)
    assert len({env.id for env in hub.by_seq.values()}) == total


def last_leaf(db: Path, table: str) -> int:
    """The page number of ``table``'s last b-tree leaf (its newest rows), walking the file's
    own pages from the table's root along the right-most child pointers."""
    data = db.read_bytes()
    page_size = int.from_bytes(data[16:18], "big") or 65536
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        [page] = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?",
                              (table,)).fetchone()
    while True:
        start = (page - 1) * page_size + (100 if page == 1 else 0)
        if data[start] == 0x0D:  # a table leaf
            return int(page)
        assert data[start] == 0x05, f"page {page} is not a table b-tree page"
        page = int.from_bytes(data[start + 8:start + 12], "big")


def qc_hold(proc: Proc) -> dict[str, int]:
    """The units in QC hold of each SKU ``a_return`` uses."""
    return {sku: int(LOCAL.get(f"{proc.url}/api/stock/{sku}", timeout=5).json()["levels"]
                     ["qc_hold"]) for sku in (f"SKU-{k}" for k in range(7))}


@pytest.mark.parametrize("journal", ["kept", "gone"])
def test_recover_rebuilds_the_events_of_a_truncated_outbox_from_salvaged_rows(
        edge: Proc, broker: TestBroker, journal: str) -> None:
    """Nothing recorded at a counter is lost when the cut takes the outbox's newest rows: the
    file is truncated from the outbox's last leaf on. With the journal kept, the start restores
    the cut events from it (recover then finds nothing to add); with the journal gone too, those
    events exist nowhere but in the returns, refunds and stock moves salvaged beside them, and
    recover rebuilds each one from its rows (same return, refund and move ids) under a new seq.
    Either way a second run changes nothing and the hub gets every return exactly once."""
    edge.start()
    ids = record(edge, 30)
    edge.stop()
    db = data_dir(edge) / "edge.db"
    page = 4096
    assert not (data_dir(edge) / "edge.db-wal").exists() or \
        (data_dir(edge) / "edge.db-wal").stat().st_size == 0
    leaf = last_leaf(db, "outbox")
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        [(events,)] = conn.execute("SELECT count(*) FROM outbox").fetchall()
    assert events == 90  # the hub has none of them
    with db.open("r+b") as handle:
        handle.truncate(min(db.stat().st_size // page - 3, leaf - 1) * page)
    if journal == "gone":
        (data_dir(edge) / "outbox.journal").unlink()  # the second copy is gone too

    # the hub listens from the restart on (what is sent reaches it at once, not at a resend
    # seconds later) but acks nothing until the end, as if it were still catching up
    hub = HubStandIn(broker.hub_creds(), STORE, NODE, acking=False)
    try:
        edge.start()
        assert [p["code"] for p in health(edge)["problems"]] == ["quarantined"]
        fresh = record(edge, 1, start=100)

        first = recover_cli(edge)
        assert first.returncode == 0, first.stderr
        rebuilt = [line for line in first.stdout.splitlines() if line.startswith("rebuilt")]
        assert rebuilt and rebuilt[0].startswith("rebuilt from salvaged rows: 0 ") == (
            journal == "kept"), first.stdout
        if journal == "kept":
            assert "re-queued for the hub: 0 event(s), 0 return(s)" in first.stdout
        salvaged = found(edge, ids)
        assert health(edge)["problems"] == []
        held = qc_hold(edge)  # every return's unit, salvaged or booked since the damage
        assert held == {f"SKU-{k}": sum(1 for n in [*range(30), 100] if n % 7 == k)
                        for k in range(7)}, first.stdout

        again = recover_cli(edge)
        assert again.returncode == 0, again.stderr
        assert "re-queued for the hub: 0 event(s), 0 return(s)" in again.stdout
        assert qc_hold(edge) == held
        total = health(edge)["next_seq"] - 1

        hub.acking = True  # the node sends a window at a time: the rest follows the acks
        assert hub.wait_contiguous(total, timeout=60)
        received = [env.body.return_id for env in hub.kinds("return.received")]  # type: ignore[union-attr]
        reasons = {env.body.return_id: env.body.reason  # type: ignore[union-attr]
                   for env in hub.kinds("return.received")}
        refunds = [env.body.return_id for env in hub.kinds("refund.requested")]  # type: ignore[union-attr]
        moves = [env.body.return_id for env in hub.kinds("stock.moved")]  # type: ignore[union-attr]
    finally:
        hub.close()
    assert salvaged == ids, first.stdout  # every return confirmed to staff
    assert sorted(received) == sorted(ids + fresh)  # each exactly once
    assert sorted(refunds) == sorted(ids + fresh)
    assert sorted(moves) == sorted(ids + fresh)
    # a return whose own row was cut too lost its reason, and recover says which ones
    [partial] = [line for line in first.stdout.splitlines() if line.startswith("rebuilt without")]
    named = set(partial.split("return(s): ")[1].split(", ")) if "(s): " in partial else set()
    assert {rid for rid, reason in reasons.items() if reason == LOST_REASON} == named
    assert all(reasons[rid] == f"changed mind #{n}" for n, rid in enumerate(ids)
               if rid not in named)
    assert len({env.id for env in hub.by_seq.values()}) == total


def test_recover_fails_clearly_without_a_damaged_file(edge: Proc) -> None:
    """A clear error, not a traceback: recover with nothing to salvage exits 1 and says why."""
    edge.start()
    edge.stop()
    failed = recover_cli(edge, str(data_dir(edge) / "no-such-dir"))
    assert failed.returncode == 1
    assert "recover failed: no damaged database at" in failed.stderr
    assert "Traceback" not in failed.stderr


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed at "
                    "/usr/bin/chromium (apt-get install chromium)")
def test_the_counter_page_says_the_disk_is_full(small_disk: Path, edge: Proc) -> None:
    """A full disk is reported as such on the counter page: a plain banner says "disk full" and
    what to do, and goes away once recording works again."""
    edge.start()
    filler = fill(small_disk)
    assert http_post(f"{edge.url}/api/returns", json=a_return(1), timeout=10
                     ).status_code == 507
    with chromium_page() as page:
        page.goto(edge.url + "/")
        banner = page.get_by_test_id("store-alert")
        banner.wait_for(state="visible", timeout=15_000)
        assert banner.get_attribute("data-codes") == "disk_full"
        assert "disk full" in banner.inner_text() and "free space" in banner.inner_text()
        filler.unlink()
        record(edge, 1)
        banner.wait_for(state="hidden", timeout=15_000)


def test_a_damaged_outbox_row_is_never_sent_and_is_reported(
        edge: Proc, broker: TestBroker) -> None:
    """Nothing damaged reaches the hub: an outbox row and a return row changed on disk behind
    SQLite's back fail their checksums; the periodic check reports it in health, the hub gets
    the journal's intact copy of the event, and the next start quarantines the file (recover
    then finds nothing the hub lacks)."""
    edge.env["ACORN_EDGE_INTEGRITY_CHECK_SECONDS"] = "0.2"
    # the events are first sent before the damage, with no hub listening: the hub gets them from
    # a resend, after the damage (within 0.5 s of the hub's arrival, and 5 s by default)
    edge.env["ACORN_EDGE_RESEND_AFTER_SECONDS"] = "0.5"
    edge.start()
    ids = record(edge, 3)
    with sqlite3.connect(data_dir(edge) / "edge.db", timeout=10) as conn:
        body = conn.execute("SELECT body FROM outbox WHERE seq = 1").fetchone()[0]
        assert "19.99" in body
        conn.execute("UPDATE outbox SET body = ? WHERE seq = 1", (body.replace("19.99",
                                                                                "99.99"),))
        conn.execute("UPDATE returns SET total_amount = '99.99' WHERE id = ?", (ids[1],))
    wait_for(lambda: [p["code"] for p in health(edge)["problems"]] == ["damaged"], 30,
             "the periodic check")
    hub = HubStandIn(broker.hub_creds(), STORE, NODE)
    try:
        assert hub.wait_contiguous(9, timeout=30)
        first = hub.by_seq[1].body
        assert first.items[0].unit_price.amount == Decimal("19.99")  # type: ignore[union-attr]
    finally:
        hub.close()
    assert "sent the outbox journal's copy instead" in edge.log_tail(50_000)
    edge.stop()
    edge.start()
    assert [p["code"] for p in health(edge)["problems"]] == ["quarantined"]
    [held] = (data_dir(edge) / "quarantine").iterdir()
    assert "fails its checksum" in (held / "reason.txt").read_text()
    done = recover_cli(edge)
    assert done.returncode == 0, done.stderr
    assert "re-queued for the hub: 0 event(s)" in done.stdout  # the hub has every event


def test_a_flipped_wal_with_the_hub_online_never_reuses_a_seq(
        edge: Proc, broker: TestBroker) -> None:
    """The sequence never moves backwards: with the hub online and acking, a WAL frame flipped
    after a kill -9 used to roll the seq back and get the next real return dead-lettered as a
    reused seq; now the file is quarantined, the fresh one continues past every seq used, and the
    new return reaches the hub under a new seq."""
    hub = HubStandIn(broker.hub_creds(), STORE, NODE)
    try:
        edge.start()
        record(edge, 20)
        assert hub.wait_contiguous(60, timeout=30)
        wait_for(lambda: health(edge)["last_acked_seq"] == 60, 30, "the acks")
        edge.kill()
        wal = data_dir(edge) / "edge.db-wal"
        flip(wal, frame_offset(wal, frames(wal) // 3) + 200)
        edge.start()
        [late] = record(edge, 1, start=50)
        assert hub.wait_contiguous(63, timeout=30)
    finally:
        hub.close()
    assert hub.by_seq[61].body.return_id == late  # type: ignore[union-attr]
    assert all(env.id == hub.by_seq[env.seq].id for env in hub.deliveries), "a seq was reused"
    assert {p["code"] for p in health(edge)["problems"]} == {"quarantined"}

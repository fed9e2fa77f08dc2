"""The outbox journal and the WAL check, on real files (issue 9: no confirmed return can vanish)."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from edge_agent.storage.journal import Journal, JournalEvent, read_journal
from edge_agent.storage.walcheck import FRAME_HEADER, HEADER, check_wal


def event(seq: int) -> JournalEvent:
    return JournalEvent(seq, f"m-{seq}", "return.received", '{"return_id":"RT-1"}',
                        "2026-01-01T00:00:00Z")


def test_journal_keeps_events_skips_torn_and_damaged_lines(tmp_path: Path) -> None:
    """A torn last line (crash) or a damaged line never becomes an event; good lines are kept."""
    journal, state = Journal.open(tmp_path)
    assert state.max_seq == 0
    journal.append([event(1), event(2)])
    journal.note_ack(1)
    journal.append([event(3)])
    journal.close()
    path = tmp_path / "outbox.journal"
    lines = path.read_bytes().splitlines(keepends=True)
    lines[1] = lines[1].replace(b"m-2", b"m-X")  # checksum no longer holds
    path.write_bytes(b"".join(lines) + b'{"t":"e","seq":4,"id":"m-4"')  # torn write
    state = read_journal(path)
    assert sorted(state.events) == [1, 3] and state.max_seq == 3
    assert state.acked == 1 and state.bad_lines == 2


def test_compaction_keeps_unacked_events_and_the_highest_seq(tmp_path: Path) -> None:
    """The journal never forgets the highest seq (so none is reused) nor an unacked event."""
    journal, _ = Journal.open(tmp_path)
    journal.append([event(seq) for seq in range(1, 6)])
    journal.compact(keep_after=5, max_seq=5, acked=5)
    journal.append([event(6)])
    journal.close()
    state = read_journal(tmp_path / "outbox.journal")
    assert sorted(state.events) == [6] and state.max_seq == 6 and state.acked == 5


def _wal_with_commits(tmp_path: Path, commits: int) -> Path:
    tmp_path = tmp_path / f"w{len(list(tmp_path.iterdir()))}"
    tmp_path.mkdir()
    db = tmp_path / "x.db"
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA wal_autocheckpoint=0")
    conn.execute("CREATE TABLE t (v TEXT)")
    for n in range(commits):
        conn.execute("INSERT INTO t VALUES (?)", (str(n) * 500,))
    copy = tmp_path / "copy-wal"
    shutil.copy(tmp_path / "x.db-wal", copy)  # as a kill -9 leaves it
    conn.close()
    return copy


def test_wal_check_finds_a_broken_frame_with_commits_behind_it(tmp_path: Path) -> None:
    """A damaged WAL frame followed by committed frames is found (SQLite would drop them); a
    damaged last frame alone is a torn write, and an intact WAL is fine."""
    wal = _wal_with_commits(tmp_path, 20)
    assert not check_wal(wal).broken
    page_size = int.from_bytes(wal.read_bytes()[8:12], "big")
    frames = (wal.stat().st_size - HEADER) // (FRAME_HEADER + page_size)
    data = bytearray(wal.read_bytes())
    middle = HEADER + (frames // 2) * (FRAME_HEADER + page_size) + FRAME_HEADER + 10
    data[middle:middle + 64] = bytes(b ^ 0xFF for b in data[middle:middle + 64])
    wal.write_bytes(bytes(data))
    report = check_wal(wal)
    assert report.broken and "committed frames follow it" in report.reason

    wal = _wal_with_commits(tmp_path, 20)
    data = bytearray(wal.read_bytes())
    last = len(data) - 100
    data[last:last + 64] = bytes(b ^ 0xFF for b in data[last:last + 64])
    wal.write_bytes(bytes(data))
    assert not check_wal(wal).broken
    assert not check_wal(tmp_path / "missing-wal").broken

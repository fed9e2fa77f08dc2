"""``acorn-hub`` commands open the database through one helper that never creates one.

Promise: a command that reads or changes data, pointed at a database that is not there, has no
ACORN schema or an older one, exits non-zero with one line that names the database and says what
to run, and leaves the disk as it found it; ``db upgrade`` creates it, after which the same
command works. Run as real subprocesses (``python -m hub``), as an operator would.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from hub.storage.migrations import head, upgrade

ROOT = Path(__file__).resolve().parents[2]
READERS = [["audit", "verify"], ["policy", "show"], ["dead-letters", "list"]]


def acorn_hub(db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ACORN_HUB_DATABASE_URL": db_url}
    env.pop("ACORN_HUB_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "hub", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60, check=False)


def refused(done: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert done.returncode == 1, done
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
    for needle in needles:
        assert needle in done.stderr, done.stderr
    assert done.stdout == ""


def tree(path: Path) -> dict[str, int]:
    return {str(p.relative_to(path)): p.stat().st_size for p in path.rglob("*")}


@pytest.mark.parametrize("args", READERS, ids=lambda a: " ".join(a))
def test_a_database_that_does_not_exist_is_refused_and_not_created(tmp_path: Path,
                                                                  args: list[str]) -> None:
    url = f"sqlite:///{tmp_path / 'var' / 'hub' / 'hub.db'}"
    refused(acorn_hub(url, *args), url, "acorn-hub db upgrade")
    assert tree(tmp_path) == {}  # not the file, not even its directory


@pytest.mark.parametrize("args", READERS, ids=lambda a: " ".join(a))
def test_an_empty_file_is_refused_and_left_as_it_was(tmp_path: Path, args: list[str]) -> None:
    path = tmp_path / "hub.db"
    path.touch()
    url = f"sqlite:///{path}"
    refused(acorn_hub(url, *args), url, "has no ACORN schema", "acorn-hub db upgrade")
    assert tree(tmp_path) == {"hub.db": 0}  # no schema, no -wal/-shm beside it


def test_an_older_schema_is_refused_until_db_upgrade_then_the_command_works(
        tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    upgrade(url, "0009")
    refused(acorn_hub(url, "audit", "verify"), url, "revision 0009", f"needs {head()}",
            "acorn-hub db upgrade")
    made = acorn_hub(url, "db", "upgrade")
    assert (made.returncode, made.stdout.strip()) == (0, f"database at revision {head()}")
    done = acorn_hub(url, "audit", "verify")
    assert done.returncode == 0 and done.stdout.startswith("audit chain intact"), done


def test_db_upgrade_creates_a_database_that_every_reader_then_accepts(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new' / 'hub.db'}"
    assert acorn_hub(url, "db", "upgrade").returncode == 0
    for args in READERS:
        done = acorn_hub(url, *args)
        assert done.returncode == 0, done


@pytest.mark.pg
def test_a_postgresql_database_that_does_not_exist_is_named_without_its_password() -> None:
    name = f"acorn_absent_{uuid.uuid4().hex[:12]}"
    url = f"postgresql+psycopg://postgres:not-a-real-pw@127.0.0.1:5432/{name}"
    done = acorn_hub(url, "audit", "verify")
    refused(done, f"postgresql+psycopg://postgres:***@127.0.0.1:5432/{name}", "does not exist",
            "acorn-hub db upgrade")
    assert "not-a-real-pw" not in done.stderr

"""The one leak guard of the test suite: a pytest plugin, registered by ``tests/conftest.py``.

Rules:
- every test, in every folder, runs inside ``no_leaks`` (autouse): the threads and the child
  processes it started must be gone once its fixtures are torn down;
- what was already running when the test began (pytest's own threads, what session- or
  module-scoped fixtures started: pytest sets those up before any function-scoped fixture) is
  not the test's and is not counted;
- a thread or process that is winding down gets ``GRACE_SECONDS`` (a server's shutdown, an mDNS
  responder's goodbye, a SIGTERM being handled); after that the test fails naming what is left;
- a child process is one whose parent is this pytest process, told apart by pid AND start time
  (a pid can be reused); an exited child that was not reaped yet (a zombie) runs nothing and is
  not counted;
- what a test starts for the whole session (the one shared Chromium of ``tests.support.browser``)
  is started inside ``session_owned`` and is not counted then or later, nor is a thread whose
  name starts with ``SHARED_THREADS`` (the workers such a shared thing starts later);
- this guard is the only one: a folder's conftest does not define its own.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

GRACE_SECONDS = 5.0
_POLL_SECONDS = 0.02
_PROC = "/proc"

Child = tuple[int, int, str]  # pid, start time (clock ticks since boot), command name
SHARED_THREADS = "session-shared"
_SESSION_THREADS: set[threading.Thread] = set()
_SESSION_CHILDREN: set[Child] = set()


def _child(stat: str, parent: int) -> Child | None:
    """The child described by a ``/proc/<pid>/stat`` line, if it is a live child of ``parent``."""
    pid, _, rest = stat.partition(" (")
    name, _, fields = rest.rpartition(") ")
    values = fields.split()
    state, ppid, started = values[0], int(values[1]), int(values[19])
    if ppid != parent or state in {"Z", "X"}:
        return None
    return int(pid), started, name


def live_children(parent: int | None = None) -> set[Child]:
    """The processes whose parent is ``parent`` (this process by default) and that still run."""
    parent = os.getpid() if parent is None else parent
    found: set[Child] = set()
    for name in os.listdir(_PROC):  # plain os calls: pathlib's cost a file, over hundreds of
        if not name.isdigit():  # processes (Chromium's, PostgreSQL's) twice a test, was ~2 %
            continue  # of the suite's time
        try:
            with open(f"{_PROC}/{name}/stat", "rb") as stat:
                child = _child(stat.read().decode(errors="replace"), parent)
        except (OSError, ValueError, IndexError):  # it ended while we looked: not a leak
            continue
        if child is not None:
            found.add(child)
    return found


@contextmanager
def session_owned() -> Iterator[None]:
    """The threads and child processes started inside the block belong to the session: the
    guard never counts them (they are closed when the session ends)."""
    threads, children = set(threading.enumerate()), live_children()
    try:
        yield
    finally:
        _SESSION_THREADS.update(set(threading.enumerate()) - threads)
        _SESSION_CHILDREN.update(live_children() - children)


def _left(threads_before: set[threading.Thread],
          children_before: set[Child]) -> tuple[list[str], list[str]]:
    threads = [t.name for t in threading.enumerate()
               if t not in threads_before and t not in _SESSION_THREADS and t.is_alive()
               and not t.name.startswith(SHARED_THREADS)]
    children = [f"{name} (pid {pid})"
                for pid, _, name in live_children() - children_before - _SESSION_CHILDREN]
    return threads, children


@contextmanager
def guard(grace: float = GRACE_SECONDS) -> Iterator[None]:
    """AssertionError naming the threads and child processes started inside the block that are
    still running ``grace`` seconds after it ends."""
    threads_before, children_before = set(threading.enumerate()), live_children()
    yield
    deadline = time.monotonic() + grace
    while True:
        threads, children = _left(threads_before, children_before)
        if not (threads or children) or time.monotonic() > deadline:
            break
        time.sleep(_POLL_SECONDS)
    problems = ([f"threads leaked: {threads}"] if threads else []) + (
        [f"child processes leaked: {children}"] if children else [])
    assert not problems, "; ".join(problems)


@pytest.fixture(autouse=True)
def no_leaks() -> Iterator[None]:
    """Fail the test if a thread or a child process it started outlives it (see module rules)."""
    with guard():
        yield

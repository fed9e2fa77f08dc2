"""The leak guard (tests/support/leaks.py) catches what it promises to, and only that."""

from __future__ import annotations

import os
import subprocess
import threading
from pathlib import Path

import pytest

from tests.support.leaks import guard, live_children

LEAKED_SLEEP = r"child processes leaked: \['sleep \(pid \d+\)'\]"


def test_a_thread_left_running_is_named() -> None:
    stop = threading.Event()
    try:
        with (pytest.raises(AssertionError, match=r"threads leaked: \['left-behind'\]"),
              guard(grace=0.1)):
            threading.Thread(target=stop.wait, name="left-behind").start()
    finally:
        stop.set()
    with guard(grace=1.0):  # one that ends within the grace is fine
        threading.Thread(target=stop.wait, name="winding-down").start()


def test_a_child_process_left_running_is_named() -> None:
    started: list[subprocess.Popen[bytes]] = []
    try:
        with (pytest.raises(AssertionError, match=LEAKED_SLEEP), guard(grace=0.1)):
            started.append(subprocess.Popen(["sleep", "30"]))
    finally:
        for child in started:
            child.kill()
            child.wait()
    assert not {pid for pid, _, _ in live_children()} & {child.pid for child in started}


def test_a_child_that_ended_is_not_a_leak_even_before_it_is_reaped() -> None:
    with guard(grace=0.1):
        child = subprocess.Popen(["true"])
        os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)  # exited, still a zombie
    child.wait()


def test_it_is_the_only_guard_and_this_test_runs_inside_it(request: pytest.FixtureRequest) -> None:
    assert "no_leaks" in request.fixturenames  # registered from tests/conftest.py: every folder
    tests = Path(__file__).parent
    copies = [str(path.relative_to(tests)) for path in tests.rglob("*.py")
              if "threading.enumerate()" in path.read_text() and path.name != "leaks.py"
              and path != Path(__file__)]
    assert copies == []

"""``acorn-hub`` commands for run_local.py, all in one process: the hub's code is imported once
(about two seconds) instead of once per command, and while the other children start.

Rules:

- one request a line on stdin, JSON: ``{"argv": [...], "env": {...}, "unless_audited":
  ["entity", "entity id"] | null}``; one answer a line on stdout, in order: ``{"code": int,
  "out": str, "err": str, "skipped": bool}``. End of input ends the process.
- each command runs as ``acorn-hub ARGV`` run in ``env`` would (``hub.cli.main.main``: its
  settings from the environment, an error one line on stderr and a non-zero exit code), its
  output captured;
- ``unless_audited``: the command is skipped when the hub's audit trail already has an entry
  about that entity (seed data present from an earlier start); a database that cannot be read
  for that runs the command, which then says what is wrong.
"""

from __future__ import annotations

import io
import json
import os
import sys
from contextlib import redirect_stderr, redirect_stdout
from typing import Any

from hub.cli.db import database
from hub.cli.main import main as hub_main
from hub.errors import HubError
from hub.storage import audit_log
from hub.storage.engine import reading


def audited(entity: str, entity_id: str) -> bool:
    """Whether the hub's audit trail has an entry about ``entity`` ``entity_id``."""
    try:
        with database() as engine, reading(engine) as conn:
            return bool(audit_log.for_entity(conn, entity, entity_id))
    except HubError:
        return False


def run(argv: list[str]) -> tuple[int, str, str]:
    """``acorn-hub ARGV`` in this process: exit code, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    sys.argv = ["acorn-hub", *argv]
    code: object = 0
    with redirect_stdout(out), redirect_stderr(err):
        try:
            hub_main()
        except SystemExit as done:
            code = done.code
    if code is None:
        code = 0
    elif not isinstance(code, int):
        err.write(f"{code}\n")
        code = 1
    return code, out.getvalue(), err.getvalue()


def answer(request: dict[str, Any]) -> dict[str, Any]:
    """Run one request (see the module's rules) and say how it went."""
    os.environ.clear()
    os.environ.update({str(k): str(v) for k, v in request.get("env", {}).items()})
    skip = request.get("unless_audited")
    if skip and audited(str(skip[0]), str(skip[1])):
        return {"code": 0, "out": "", "err": "", "skipped": True}
    code, out, err = run([str(a) for a in request["argv"]])
    return {"code": code, "out": out, "err": err, "skipped": False}


def main() -> None:
    """Answer requests until stdin ends."""
    answers = sys.stdout
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            request = json.loads(line)
            reply = answer(request)
        except (ValueError, KeyError, TypeError) as err:
            reply = {"code": 2, "out": "", "err": f"bad request to hub_session: {err}\n",
                     "skipped": False}
        answers.write(json.dumps(reply) + "\n")
        answers.flush()


if __name__ == "__main__":
    main()

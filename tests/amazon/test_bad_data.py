"""Bad data from Amazon (a truncated report, an unknown column, a malformed amount) is reported
with the account, the report id and the line, the good rows are kept, and the other accounts
are not disturbed.

The simulator serves correct documents; ``Tamper`` (an ASGI wrapper around it, test-only)
rewrites the documents one seller downloads, as a broken Amazon would send them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import unquote

from sqlalchemy import Engine, select

from hub.amazon.accounts import AccountStatus, load_accounts
from hub.amazon.settings import AmazonSettings
from hub.storage.engine import reading
from hub.storage.tables.amazon import (
    amazon_orders,
    amazon_problems,
    amazon_returns,
    amazon_settlement_lines,
    amazon_settlement_reports,
)
from spapi_sim.simulator import Simulator
from tests.amazon.conftest import Sim
from tests.amazon.helpers import TWO_ACCOUNTS, add_accounts, count, sync

Edit = Callable[[str], str]


def break_settlement(text: str) -> str:
    """An unknown column, a malformed amount on line 3, and the last line cut in half."""
    lines = text.rstrip("\n").split("\n")
    lines = [f"{line}\tsurprise-column" if n == 0 else f"{line}\tx" for n, line in enumerate(lines)]
    fields = lines[2].split("\t")
    fields[lines[0].split("\t").index("amount")] = "12,3x"
    lines[2] = "\t".join(fields)
    lines[-1] = lines[-1][: len(lines[-1]) // 2]
    return "\n".join(lines) + "\n"


def break_returns(text: str) -> str:
    """The MFN returns report with its last line cut off half-way (a truncated download)."""
    body = text.rstrip("\n")
    return body[: len(body) - len(body.split("\n")[-1]) // 2] if "\n" in body else text


class Tamper:
    """Rewrites the documents one seller downloads (``edits`` by the header's first column)."""

    def __init__(
        self, app: Any, simulator: Simulator, seller_id: str, edits: Mapping[str, Edit]
    ) -> None:
        self.app, self.simulator, self.seller_id, self.edits = app, simulator, seller_id, edits

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        document = (
            self.simulator.documents.find(unquote(path.rsplit("/", 1)[-1]))
            if scope["type"] == "http"
            and path.startswith("/documents/")
            and scope["method"] == "GET"
            else None
        )
        if document is None or document.owner != self.seller_id:
            await self.app(scope, receive, send)
            return
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def hold(message: Any) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            else:
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, hold)
        body = self._edited(b"".join(chunks))
        headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
        await send({**start, "headers": [*headers, (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    def _edited(self, body: bytes) -> bytes:
        text = body.decode("utf-8")
        edit = self.edits.get(text.split("\t", 1)[0])
        return edit(text).encode("utf-8") if edit else body


def _problems(engine: Engine, account: str) -> list[Any]:
    with reading(engine) as conn:
        return list(
            conn.execute(select(amazon_problems).where(amazon_problems.c.account == account))
        )


def test_bad_reports_are_reported_where_they_are_and_do_not_stop_the_others(
    engine: Engine, make_sim: Callable[..., Sim], amazon_settings: AmazonSettings
) -> None:
    edits = {"settlement-id": break_settlement, "Order ID": break_returns}
    eu_seller: list[str] = []

    def wrap(app: Any, simulator: Simulator) -> Any:
        eu_seller.append(list(simulator.accounts)[1])
        return Tamper(app, simulator, eu_seller[0], edits)

    sim = make_sim(wrap=wrap, orders_per_day=6)
    accounts = add_accounts(engine, sim, amazon_settings, TWO_ACCOUNTS)
    results = sync(engine, amazon_settings, accounts, ["orders", "returns", "settlements"])

    assert results["na"].ok and not _problems(engine, "na")
    assert count(engine, amazon_settlement_lines, amazon_settlement_lines.c.account == "na") > 0
    eu = results["eu"]
    assert eu.error is None and not eu.job_errors and eu.tally.errors > 0
    assert {a.name: a.status for a in load_accounts(engine)}["eu"] is AccountStatus.OK

    problems = _problems(engine, "eu")
    reports = {r for (r,) in _rows(engine, amazon_settlement_reports.c.report_id, "eu")}
    settlement = [p for p in problems if p.report_id in reports]
    assert {p.line for p in settlement if "unknown column 'surprise-column'" in p.message} == {1}
    assert any(p.line == 3 and "malformed amount '12,3x'" in p.message for p in settlement)
    assert any("cut or malformed" in p.message for p in settlement)
    assert any("does not equal the sum of the lines" in p.message for p in settlement)
    assert all(
        p.message.startswith(f"account eu, report {p.report_id}, line {p.line}: ") for p in problems
    )
    returns = [p for p in problems if p.job == "returns"]
    assert returns and all(p.report_id and p.line and p.line > 1 for p in returns)
    assert count(engine, amazon_settlement_lines, amazon_settlement_lines.c.account == "eu") > 0
    assert count(engine, amazon_returns, amazon_returns.c.account == "eu") > 0
    assert count(engine, amazon_orders, amazon_orders.c.account == "eu") > 0


def _rows(engine: Engine, column: Any, account: str) -> list[Any]:
    with reading(engine) as conn:
        return list(conn.execute(select(column).where(column.table.c.account == account)))

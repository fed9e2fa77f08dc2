"""The simulator's pure parts, by tables: lifecycle, buckets, money, ids, data, settings."""

from __future__ import annotations

import json
import os
import stat
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from spapi_sim import (
    SimulatorMarketplace,
    client_kwargs,
    seed_accounts,
    sp_api_endpoint,
    token_client_class,
)
from spapi_sim.accounts import credentials_document, write_credentials_file
from spapi_sim.client import OverriddenByEnvironment
from spapi_sim.datagen import generate_account
from spapi_sim.jsonio import dumps
from spapi_sim.lifecycle import Job, Pace, Status, advance, cancel, complete, polled
from spapi_sim.marketplaces import BY_CODE, local_amount
from spapi_sim.ratelimit import Bucket, format_rate, take
from spapi_sim.settings import SimulatorSettings
from spapi_sim.signing import Signer
from tests.spapi_sim.conftest import FAST

T0 = datetime(2026, 3, 1, tzinfo=UTC)
PACE = Pace(step_seconds=10, step_polls=3)


def job_at(seconds: float, polls: int) -> Job:
    """A report job created at T0, observed `seconds` later after `polls` polls."""
    job = Job("1", "S", "GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA", ("M",), T0)
    for _ in range(polls):
        job = polled(job)
    return advance(job, T0 + timedelta(seconds=seconds), PACE)[0]


@pytest.mark.parametrize(("seconds", "polls", "status", "finished"), [
    (0, 0, Status.IN_QUEUE, False),
    (9.9, 2, Status.IN_QUEUE, False),
    (10, 0, Status.IN_PROGRESS, False),
    (0, 3, Status.IN_PROGRESS, False),
    (19, 5, Status.IN_PROGRESS, False),
    (20, 0, Status.IN_PROGRESS, True),
    (1, 6, Status.IN_PROGRESS, True),
])
def test_jobs_advance_by_time_or_by_polls(seconds: float, polls: int, status: Status,
                                          finished: bool) -> None:
    job = job_at(seconds, polls)
    assert job.status == status and (job.finished is not None) == finished


def test_a_finished_job_is_done_and_only_queued_jobs_cancel() -> None:
    finished = job_at(20, 0)
    assert finished.started == T0 + timedelta(seconds=10)
    assert finished.finished == T0 + timedelta(seconds=20)
    assert complete(finished, "doc").status == Status.DONE
    assert cancel(job_at(0, 0)) is not None and cancel(job_at(10, 0)) is None


@pytest.mark.parametrize(("tokens", "elapsed", "allowed", "left"), [
    (1.0, 0.0, True, 0.0),
    (0.0, 0.0, False, 0.0),
    (0.0, 1.0, True, 1.0),     # 2 tokens a second for one second, one taken
    (5.0, 100.0, True, 4.0),   # never above the burst of 5
])
def test_token_bucket(tokens: float, elapsed: float, allowed: bool, left: float) -> None:
    bucket, taken = take(Bucket(tokens, 0.0), elapsed, rate=2.0, burst=5)
    assert taken == allowed
    assert bucket.tokens == pytest.approx(left)


@pytest.mark.parametrize(("rate", "text"), [
    (Decimal("0.0167"), "0.0167"), (Decimal("0.0056") * 1000, "5.6"), (Decimal(2) * 100, "200"),
])
def test_rate_header_format(rate: Decimal, text: str) -> None:
    assert format_rate(rate) == text


@pytest.mark.parametrize(("code", "amount", "text"), [
    ("DE", Decimal("-12.345"), "-12,35"), ("FR", Decimal("95"), "95,00"),
    ("UK", Decimal("-3.5"), "-3.50"), ("JP", Decimal("1499.6"), "1500"),
    ("US", Decimal("0.005"), "0.01"),
])
def test_local_amounts(code: str, amount: Decimal, text: str) -> None:
    assert local_amount(amount, BY_CODE[code]) == text


def test_json_keeps_decimals_exact_and_refuses_floats() -> None:
    assert dumps({"a": Decimal("-0.10"), "b": [1, "é", None, True]}) == (
        '{"a":-0.10,"b":[1,"é",null,true]}'.encode())
    with pytest.raises(TypeError):
        dumps({"a": 0.1})


def test_sealed_tokens_detect_tampering() -> None:
    signer = Signer(b"k")
    token = signer.seal({"s": "A1", "o": 5})
    assert signer.unseal(token) == {"s": "A1", "o": 5}
    body, _, signature = token.partition(".")
    assert signer.unseal(body[:-2] + "AA." + signature) is None
    assert Signer(b"other").unseal(token) is None and signer.unseal("garbage") is None


def test_seeded_data_is_deterministic_and_seed_dependent() -> None:
    account = seed_accounts(7, 1)[0]
    first, again = generate_account(account, FAST), generate_account(account, FAST)
    assert first == again
    other = generate_account(account, replace(FAST, seed=8))
    assert [o.order_id for o in other.orders] != [o.order_id for o in first.orders]


def test_seeded_data_is_realistic() -> None:
    account = seed_accounts(7, 2)[1]  # EU: DE, FR, IT, ES, UK
    data = generate_account(account, FAST)
    money = [item.unit_price for order in data.orders for item in order.items]
    assert all(isinstance(m, Decimal) and m > 0 for m in money)
    assert {o.currency for o in data.orders} == {"EUR", "GBP"}
    assert {r.fulfilled_by for r in data.returns} == {"MERCHANT", "AMAZON"}
    assert any(r.store_id for r in data.returns)
    assert all(r.order_id in {o.order_id for o in data.orders} for r in data.refunds)
    assert all(o.created < FAST.anchor for o in data.orders)


def test_accounts_cover_the_marketplaces_and_hide_secrets(tmp_path: Path) -> None:
    accounts = seed_accounts(7, 3)
    served = {m for a in accounts for m in a.marketplace_ids}
    assert served == {m.marketplace_id for m in BY_CODE.values()}
    assert accounts[0].refresh_token not in repr(accounts[0])
    assert accounts[0].client_secret not in repr(accounts[0])
    path = tmp_path / "credentials.json"
    write_credentials_file(path, 7, accounts)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert json.loads(path.read_text()) == credentials_document(7, accounts)


@pytest.mark.parametrize("change", [
    {"accounts": 0}, {"rate_factor": Decimal(0)}, {"anchor": datetime(2026, 1, 1)},
    {"job_step_polls": 0}, {"lag_seconds": -1}, {"history_days": 0},
])
def test_settings_refuse_nonsense(change: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        replace(SimulatorSettings(anchor=T0), **change)


def test_client_helpers_fix_the_host_header_quirk() -> None:
    market = SimulatorMarketplace.at("http://127.0.0.1:8100", "A1PA6795UKMFR9")
    assert market.endpoint[8:] == "127.0.0.1:8100" and market.region == "EU"
    assert sp_api_endpoint("https://sellingpartnerapi-eu.amazon.com/") == (
        "https://sellingpartnerapi-eu.amazon.com")
    tokens = token_client_class("http://127.0.0.1:8100")
    assert tokens.scheme + tokens.host + tokens.path == "http://127.0.0.1:8100/auth/o2/token"


def test_client_helpers_refuse_an_overriding_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SP_API_DEFAULT_MARKETPLACE", "US")
    with pytest.raises(OverriddenByEnvironment):
        client_kwargs("http://127.0.0.1:1", seed_accounts(1, 1)[0], "ATVPDKIKX0DER")

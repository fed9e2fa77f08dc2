"""Run jobs for accounts: every account in parallel, every job of an account in parallel.

Rules:
- each account's buckets are its own and Amazon's limits are per account and operation, so
  accounts never wait for each other; the jobs of one account share its buckets through the one
  ``Limiter`` of the process;
- an account whose secrets are missing or whose credentials LWA refuses is marked ``error``
  with the message and skipped; the other accounts carry on; success marks it ``ok``;
- a job's failure is that job's (counted and reported), never another account's: the worker
  catches it at its boundary. Unexpected exceptions are logged with their traceback there too,
  because one account's surprise must not stop the others;
- every thread is joined before ``run_jobs`` returns.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine

from hub.amazon.accounts import Account, record_outcome
from hub.amazon.client.gateway import SpApi
from hub.amazon.client.ratelimit import Limiter
from hub.amazon.context import JobContext, NoProgress, Progress, utc_now
from hub.amazon.errors import CredentialError, Stopped
from hub.amazon.listings.sender import send_listings
from hub.amazon.refunds.submissions import submit_refunds
from hub.amazon.secrets import Credentials, SecretSource
from hub.amazon.settings import AmazonSettings
from hub.amazon.shipments import confirm_shipments
from hub.amazon.store import Tally
from hub.amazon.supply_sources.publish import publish_job
from hub.amazon.sync.finances import sync_refund_events
from hub.amazon.sync.orders import sync_orders
from hub.amazon.sync.returns import sync_fba_returns, sync_mfn_returns
from hub.amazon.sync.settlements import sync_settlements
from hub.amazon.sync.vat_reports import sync_vat_reports
from hub.errors import HubError

log = logging.getLogger(__name__)

JOBS: dict[str, Callable[[JobContext], None]] = {
    "orders": sync_orders,
    "returns": sync_mfn_returns,
    "fba-returns": sync_fba_returns,
    "refund-events": sync_refund_events,
    "settlements": sync_settlements,
    "refunds": submit_refunds,
    "listings": send_listings,
    "supply-sources": publish_job,
    "shipments": confirm_shipments,
    "vat-reports": sync_vat_reports,
}
SYNC_JOBS = ("orders", "returns", "fba-returns", "refund-events", "settlements")
ProgressFor = Callable[[str, str], Progress]


@dataclass
class AccountResult:
    """How the run went for one account."""

    account: str
    tally: Tally = field(default_factory=Tally)
    error: str | None = None
    job_errors: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def ok(self) -> bool:
        """No account error, no job error, no bad data."""
        return self.error is None and not self.job_errors and self.tally.errors == 0


@dataclass
class Runner:
    """What every worker of one run shares."""

    engine: Engine
    settings: AmazonSettings
    limiter: Limiter
    secrets: SecretSource
    since: datetime | None = None
    progress: ProgressFor = lambda _account, _job: NoProgress()
    stop: threading.Event = field(default_factory=threading.Event)
    clock: Callable[[], datetime] = utc_now


def run_jobs(
    runner: Runner, accounts: Sequence[Account], jobs: Sequence[str]
) -> list[AccountResult]:
    """Run ``jobs`` for ``accounts``; one result per account, in the order given."""
    results = [AccountResult(a.name) for a in accounts]
    threads = [
        threading.Thread(target=_account, args=(runner, a, jobs, r), name=f"amazon-{a.name}")
        for a, r in zip(accounts, results, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def _account(runner: Runner, account: Account, jobs: Sequence[str], result: AccountResult) -> None:
    credentials = _credentials(runner, account, result)
    if credentials is not None:
        threads = [
            threading.Thread(
                target=_job,
                args=(runner, account, credentials, job, result),
                name=f"amazon-{account.name}-{job}",
            )
            for job in jobs
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    if not runner.stop.is_set():
        record_outcome(runner.engine, account, result.error)


def _credentials(runner: Runner, account: Account, result: AccountResult) -> Credentials | None:
    try:
        credentials = runner.secrets.credentials(account.name, account.seller_id)
        with SpApi(account, credentials, runner.limiter, runner.settings, runner.stop) as api:
            api.check_credentials()
    except HubError as err:  # ConfigError, CredentialError, LWA unreachable ...
        message = err.message
    except Exception as err:  # the worker's boundary: one account's surprise stops only it
        log.exception("account %s: credentials check failed", account.name)
        message = f"unexpected {type(err).__name__}: {err}"
    else:
        return credentials
    result.error = message
    result.tally.errors += 1
    log.warning("account %s: %s", account.name, message)
    return None


def _job(
    runner: Runner, account: Account, credentials: Credentials, job: str, result: AccountResult
) -> None:
    with SpApi(account, credentials, runner.limiter, runner.settings, runner.stop) as api:
        ctx = JobContext(
            job,
            account,
            api,
            runner.engine,
            runner.settings,
            runner.since,
            runner.progress(account.name, job),
            clock=runner.clock,
        )
        try:
            JOBS[job](ctx)
        except Stopped:
            log.info("account %s: %s stopped", account.name, job)
        except CredentialError as err:
            _failed(result, ctx.tally, job, err.message, account_error=True)
        except HubError as err:
            _failed(result, ctx.tally, job, err.message)
        except Exception as err:  # the worker's boundary: one account's surprise stops only it
            log.exception("account %s: %s failed", account.name, job)
            _failed(result, ctx.tally, job, f"unexpected {type(err).__name__}: {err}")
        with result.lock:
            result.tally.add(ctx.tally)


def _failed(
    result: AccountResult, tally: Tally, job: str, message: str, account_error: bool = False
) -> None:
    log.warning("account %s: %s: %s", result.account, job, message)
    tally.errors += 1
    with result.lock:
        result.job_errors[job] = message
        if account_error:
            result.error = message

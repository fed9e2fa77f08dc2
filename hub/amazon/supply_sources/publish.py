"""Publish the stores as the account's supply sources, through python-amazon-sp-api.

    which      only accounts selling in a US marketplace that the active allocation rules mark
               ``multi_location``; others have nothing to publish
    plan       ``document.plan`` over every store the hub knows and the account's mapping
    create     createSupplySource (code, alias, address), recorded at once (so a crash after it
               leaves a mapping, never a lost id) with no fingerprint yet; then configured
    configure  updateSupplySource (hours, time zone, capabilities) and updateSupplySourceStatus
               Active, then the fingerprint recorded: a crash or refusal before that leaves the
               store to be configured again by the next run
    update     configure, when the record's documents changed
    replace    archiveSupplySource, then create (the address changed: an update cannot)
    archive    archiveSupplySource (store decommissioned, capability gone, left the US); an id
               Amazon no longer knows or has archived already is archived here too
    adopt      a create refused because the code exists (created before a crash, never
               recorded) adopts the source getSupplySources lists with that code

A refusal by Amazon (400/404) is that store's ``Problem``: the other stores carry on, and the
job counts it as an error. Throttling, credentials and network errors end the run (retried by
``SpApi.call`` first). Every request goes through ``SpApi.call``; every recorded change is
audited (``registry``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from hub.amazon.accounts import ROLE
from hub.amazon.context import JobContext
from hub.amazon.errors import AmazonApiError
from hub.amazon.supply_sources import registry
from hub.amazon.supply_sources.document import Action, Documents, Mapped, Problem, Step, plan
from hub.amazon.supply_sources.markets import US, mli_markets
from hub.inventory.allocation import store as rules_store
from hub.storage.engine import reading

log = logging.getLogger(__name__)
CODE_EXISTS = "1004"
REFUSED = frozenset({"InvalidInput", "BadRequest", "NotFound"})
PAGE_SIZE = 50


@dataclass
class Published:
    """What one publish did for one account."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    archived: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def account_mli_markets(ctx: JobContext) -> list[str]:
    """The account's marketplaces that take a quantity per supply source."""
    multi = mli_markets(rules_store.ensure_seeded(ctx.engine).compiled)
    return [m for m in ctx.account.marketplace_ids if m in multi]


def publish_supply_sources(ctx: JobContext) -> Published:
    """Make the account's supply sources match the store records."""
    done = Published()
    if not account_mli_markets(ctx):
        return done
    with reading(ctx.engine) as conn:
        stores = registry.known_stores(conn)
        mapped = registry.active(conn, ctx.account.name)
    steps, done.problems = plan(stores, mapped)
    for step in steps:
        try:
            _run(ctx, step, done)
        except AmazonApiError as err:
            if err.code not in REFUSED:
                raise
            done.problems.append(Problem(step.store_id, f"Amazon refused it: {err.message}"))
    return done


def publish_job(ctx: JobContext) -> None:
    """The ``supply-sources`` job: publish, and tally."""
    tally(ctx, publish_supply_sources(ctx))


def tally(ctx: JobContext, done: Published, *, counts: bool = True) -> None:
    """Count what a publish did (``counts`` False: only its problems, each an error named in
    the log, as the listings job does, whose own counts are quantities)."""
    for problem in done.problems:
        log.warning("account %s: store %s is not a supply source: %s", ctx.account.name,
                    problem.store_id, problem.message)
    if not counts:
        ctx.counted(0, errors=len(done.problems))
        return
    ctx.counted(len(done.created) + len(done.updated) + len(done.archived),
                new=len(done.created), updated=len(done.updated), errors=len(done.problems))


def _run(ctx: JobContext, step: Step, done: Published) -> None:
    if step.action in (Action.ARCHIVE, Action.REPLACE):
        assert step.mapped is not None
        why = ("the store's address changed: published again" if step.action is Action.REPLACE
               else "the store is decommissioned, lost ship-from-store and pickup, or left")
        _archive(ctx, step.mapped, why)
        done.archived.append(step.store_id)
    if step.action in (Action.CREATE, Action.REPLACE):
        assert step.documents is not None
        _create(ctx, step.documents)
        done.created.append(step.store_id)
    elif step.action is Action.UPDATE:
        assert step.documents is not None and step.mapped is not None
        _configure(ctx, step.mapped, step.documents)
        done.updated.append(step.store_id)


def _create(ctx: JobContext, docs: Documents) -> None:
    why = None
    try:
        answer = ctx.api.call("createSupplySource", US,
                              lambda client: client.create_supply_source(**docs.create))
        source_id = str(answer.payload["supplySourceId"])
    except AmazonApiError as err:
        found = _existing(ctx, str(docs.create["supplySourceCode"])) \
            if CODE_EXISTS in err.message or "already exists" in err.message else None
        if found is None:
            raise
        source_id, why = found, "Amazon already had the code (created before a crash): adopted"
    mapped = registry.record_created(ctx.engine, ctx.account.name, docs, source_id,
                                     ctx.account.actor, ROLE, why)
    _configure(ctx, mapped, docs)


def _configure(ctx: JobContext, mapped: Mapped, docs: Documents) -> None:
    """Send the record's configuration and capabilities, make the source Active, record it."""
    source_id = mapped.supply_source_id
    ctx.api.call("updateSupplySource", US,
                 lambda client: client.update_supply_source(source_id, **docs.update))
    ctx.api.call("updateSupplySourceStatus", US,
                 lambda client: client.update_supply_source_status(source_id, status="Active"))
    registry.record_updated(ctx.engine, ctx.account.name, docs, mapped, ctx.account.actor, ROLE)


def _archive(ctx: JobContext, mapped: Mapped, why: str) -> None:
    try:
        ctx.api.call("archiveSupplySource", US,
                     lambda client: client.archive_supply_source(mapped.supply_source_id))
    except AmazonApiError as err:
        if err.code not in ("NotFound", "InvalidInput"):  # unknown, or archived already
            raise
        why = f"{why}; Amazon answered {err.code}"
    registry.record_archived(ctx.engine, ctx.account.name, mapped, ctx.account.actor, ROLE, why)


def remote_sources(ctx: JobContext) -> Iterator[dict[str, str]]:
    """Every supply source Amazon lists for the account (getSupplySources, all pages)."""
    token: str | None = None
    while True:
        params: dict[str, object] = {"pageSize": PAGE_SIZE}
        if token:
            params["nextPageToken"] = token
        page = ctx.api.call("getSupplySources", US, _lister(params)).payload or {}
        yield from page.get("supplySources", [])
        token = page.get("nextPageToken")
        if not token:
            return


def _lister(params: dict[str, object]) -> Callable[[Any], Any]:
    return lambda client: client.get_supply_sources(**params)


def _existing(ctx: JobContext, code: str) -> str | None:
    return next((str(s["supplySourceId"]) for s in remote_sources(ctx)
                 if s.get("supplySourceCode") == code), None)

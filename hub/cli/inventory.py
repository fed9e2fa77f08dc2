"""``acorn-hub inventory …``: store records and allocation rules.

    acorn-hub inventory store-record show STORE [--json]
    acorn-hub inventory store-record set STORE [--street … --hours "mon-fri 09:00-18:00" …]
    acorn-hub inventory store-record import FILE.yaml      (many stores, with a progress bar)
    acorn-hub inventory rules show | check FILE | publish FILE | simulate FILE [--stock CSV]

``set`` changes only the fields given and validates the whole record as the API does; a bad
value names its field and exits non-zero. ``import`` reads a YAML mapping of store id to record
(the API's ``PUT`` body) and refuses the whole file before writing anything if one record is bad.
The operator running the CLI is the audit actor (``cli:<login>``, role ``operator``).
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml  # type: ignore[import-untyped]
from pydantic import ValidationError

from hub.cli.db import database
from hub.cli.people import operator
from hub.errors import InputError, NotFound
from hub.inventory import store_records
from hub.inventory.allocation import RulesError, compile_text, simulate
from hub.inventory.allocation import store as rules_store
from hub.inventory.allocation.simulation import report_json
from hub.inventory.allocation.snapshot import read_csv
from hub.inventory.stock_source import SALES_DAYS, current_stock
from hub.inventory.store_records import WEEKDAYS, StoreRecord
from hub.storage.engine import reading
from hub.strict_yaml import format_path
from protocol import utc_now

app = typer.Typer(help="Store records and inventory allocation rules.", no_args_is_help=True)
record_app = typer.Typer(help="Store records: address, coordinates, manager, opening hours, "
                              "time zone, capabilities.", no_args_is_help=True)
rules_app = typer.Typer(help="The versioned allocation rules: what each marketplace may sell.",
                        no_args_is_help=True)
app.add_typer(record_app, name="store-record")
app.add_typer(rules_app, name="rules")
MAX_FILE = 5_000_000


def _read(path: Path) -> str:
    try:
        if path.stat().st_size > MAX_FILE:
            raise InputError(f"{path} is larger than {MAX_FILE} bytes", field="file")
        return path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"cannot read {path}: {err}", field="file") from err


def validated(data: Any, where: str = "") -> StoreRecord:
    """A store record from plain data; ``InputError`` names the first bad field."""
    try:
        return StoreRecord.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        path = format_path(tuple(first["loc"]))
        field = f"{where}.{path}" if where and path else (where or path or None)
        raise InputError(str(first["msg"]).removeprefix("Value error, "), field=field) from None


def _days(spec: str) -> list[str]:
    if "-" in spec:
        first, last = spec.split("-", 1)
        if first not in WEEKDAYS or last not in WEEKDAYS:
            raise InputError(f"{spec!r}: days are mon … sun", field="hours")
        return list(WEEKDAYS[WEEKDAYS.index(first):WEEKDAYS.index(last) + 1])
    if spec not in WEEKDAYS:
        raise InputError(f"{spec!r}: days are mon … sun", field="hours")
    return [spec]


def parse_hours(specs: list[str]) -> dict[str, list[dict[str, str]]]:
    """``["mon-fri 09:00-18:00", "sat 10:00-13:00,14:00-16:00", "sun closed"]`` as hours."""
    hours: dict[str, list[dict[str, str]]] = {}
    for spec in specs:
        days, _, times = spec.strip().partition(" ")
        intervals: list[dict[str, str]] = []
        if times.strip() != "closed":
            for part in times.split(","):
                opens, sep, closes = part.strip().partition("-")
                if not sep:
                    raise InputError(f"{spec!r}: write hours as 'mon-fri 09:00-18:00'",
                                     field="hours")
                intervals.append({"opens": opens, "closes": closes})
        for day in _days(days):
            hours[day] = intervals
    return hours


def _decimal(text: str, field: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation:
        raise InputError(f"{text!r} is not a number", field=field) from None


@record_app.command("show")
def record_show(store: str, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Show a store's record and whether it is open now."""
    with database() as engine, reading(engine) as conn:
        found = store_records.get_record(conn, store)
    if found is None:
        raise NotFound(f"no store {store!r}", field="store")
    record, changed = found
    data = record.model_dump(mode="json")
    data["open_now"] = store_records.open_now(record, utc_now())
    data["updated_by"] = changed["updated_by"]
    if as_json:
        typer.echo(json.dumps(data, indent=2, sort_keys=True))
    else:
        typer.echo(yaml.safe_dump({store: data}, sort_keys=False, allow_unicode=True), nl=False)


@record_app.command("set")
def record_set(
    store: str,
    street: Annotated[str | None, typer.Option()] = None,
    postal_code: Annotated[str | None, typer.Option()] = None,
    city: Annotated[str | None, typer.Option()] = None,
    country: Annotated[str | None, typer.Option(help="ISO 3166 alpha-2, e.g. DE")] = None,
    lat: Annotated[str | None, typer.Option(help="latitude, e.g. 52.520008")] = None,
    lon: Annotated[str | None, typer.Option(help="longitude, e.g. 13.404954")] = None,
    manager: Annotated[str | None, typer.Option(help="the manager's name")] = None,
    contact: Annotated[str | None, typer.Option(help="the manager's e-mail or phone")] = None,
    time_zone: Annotated[str | None, typer.Option(help="IANA zone, e.g. Europe/Berlin")] = None,
    hours: Annotated[list[str] | None, typer.Option(
        help="repeatable: 'mon-fri 09:00-18:00', 'sat 10:00-13:00,14:00-16:00', 'sun closed'")
    ] = None,
    closed_on: Annotated[list[str] | None, typer.Option(help="repeatable: a date (YYYY-MM-DD) "
                                                             "the store is closed")] = None,
    ship_from_store: Annotated[bool | None, typer.Option("--ship-from-store/--no-ship-from-store")
                               ] = None,
    pickup: Annotated[bool | None, typer.Option("--pickup/--no-pickup")] = None,
    returns: Annotated[bool | None, typer.Option("--returns/--no-returns")] = None,
) -> None:
    """Change the given fields of a store's record (the store is created if new); audited."""
    with database() as engine:
        with reading(engine) as conn:
            found = store_records.get_record(conn, store)
        data = found[0].model_dump(mode="json") if found else {}
        _merge(data, "address", street=street, postal_code=postal_code, city=city,
               country=country)
        _merge(data, "coordinates", latitude=lat and _decimal(lat, "coordinates.latitude"),
               longitude=lon and _decimal(lon, "coordinates.longitude"))
        _merge(data, "manager", name=manager, contact=contact)
        _merge(data, "capabilities", ship_from_store=ship_from_store, pickup=pickup,
               returns=returns)
        if time_zone is not None:
            data["time_zone"] = time_zone
        if hours:
            data["hours"] = {**data.get("hours", {}), **parse_hours(hours)}
        for day in closed_on or []:
            data.setdefault("exceptions", []).append({"date": day, "closed": True})
        record = store_records.set_record(engine, store, validated(data), operator())
    typer.echo(f"store {store}: record saved (open now: "
               f"{_yes_no(store_records.open_now(record, utc_now()))})")


def _merge(data: dict[str, Any], section: str, **given: Any) -> None:
    changes = {k: v for k, v in given.items() if v is not None}
    if changes:
        data[section] = {**(data.get(section) or {}), **changes}


def _yes_no(value: bool | None) -> str:
    return "unknown (no time zone)" if value is None else ("yes" if value else "no")


@record_app.command("import")
def record_import(file: Path) -> None:
    """Set the records of many stores from a YAML mapping of store id to record."""
    try:
        data = yaml.safe_load(_read(file))
    except yaml.YAMLError as err:
        raise InputError(f"{file} is not valid YAML: {err}", field="file") from None
    if not isinstance(data, dict) or not data:
        raise InputError("the file is a YAML mapping of store id to record", field="file")
    records = {str(store): validated(body, str(store)) for store, body in data.items()}
    with database() as engine, typer.progressbar(records.items(), label="store records") as bar:
        for store, record in bar:
            store_records.set_record(engine, store, record, operator())
    typer.echo(f"{len(records)} store records saved")


@rules_app.command("show")
def rules_show() -> None:
    """Print the active allocation rules (seeding the defaults on first use)."""
    with database() as engine:
        active = rules_store.ensure_seeded(engine)
    typer.echo(f"# version {active.version}, published by {active.published_by} at "
               f"{active.published_at.isoformat()}")
    typer.echo(active.yaml, nl=not active.yaml.endswith("\n"))


@rules_app.command("check")
def rules_check(file: Path) -> None:
    """Validate a rules file; every problem is printed with its field path."""
    try:
        compiled = compile_text(_read(file))
    except RulesError as err:
        for problem in err.problems:
            typer.echo(str(problem), err=True)
        raise typer.Exit(1) from None
    typer.echo(f"{file}: valid (version {compiled.version}, "
               f"{len(compiled.marketplaces)} marketplaces)")


@rules_app.command("publish")
def rules_publish(
    file: Path,
    reason: Annotated[str | None, typer.Option(help="why (kept in the audit trail)")] = None,
) -> None:
    """Publish a rules file as the new active version (it must raise ``version``); audited."""
    with database() as engine:
        published = rules_store.publish(engine, _read(file), operator().name, "operator", reason)
    typer.echo(f"allocation rules version {published.version} published")


@rules_app.command("simulate")
def rules_simulate(
    file: Path,
    stock: Annotated[Path | None, typer.Option(
        help="CSV: sku,store,on_hand[,reserved,holds,category,sold]; without it, the hub's "
             "current stock view")] = None,
    days: Annotated[int, typer.Option(min=1, max=365, help="sales window (days) when the "
                                                            "stock view is used")] = SALES_DAYS,
    examples: Annotated[int, typer.Option(min=0, max=50)] = 3,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """What each marketplace would be offered under FILE versus the active version, over the
    CSV snapshot, or over the hub's current stock view without one."""
    draft = compile_text(_read(file))
    now = utc_now()
    with database() as engine:
        active = rules_store.ensure_seeded(engine)
        if stock is not None:
            held, sales = read_csv(_read(stock))
        else:
            with reading(engine) as conn:
                held, sales = current_stock(conn, now, days)
    report = simulate(draft, active.compiled, held, sales, now, examples)
    if as_json:
        typer.echo(json.dumps(report_json(report), indent=2))
        return
    typer.echo(f"version {report.current_version} -> {report.draft_version}: {report.skus} SKUs, "
               f"{report.changed} offers change")
    for warning in report.categories.warnings:
        typer.echo(f"  warning: {warning.path}: {warning.message}")
    for m in report.marketplaces:
        typer.echo(f"  {m.marketplace}: {m.units_before} -> {m.units_after} units, "
                   f"{m.skus_before} -> {m.skus_after} SKUs offered, "
                   f"{m.raised} raised, {m.lowered} lowered")
        for c in m.examples:
            rules = ", ".join(f"{s.rule} -{s.units}" for s in
                              (c.after_offer.steps if c.after_offer else ()))
            typer.echo(f"    {c.sku}: {c.before} -> {c.after}" + (f" ({rules})" if rules else ""))

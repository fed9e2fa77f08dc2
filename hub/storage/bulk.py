"""Many rows into one table in one statement, for the ingest's hot path.

``conn.execute(table.insert(), rows)`` spends most of its time on SQLAlchemy's per-row
parameter handling (measured with ``python -m bench ingest``: about 20 µs a row on SQLite, 70 on
PostgreSQL). ``insert_rows`` writes the same rows with that work done once per batch:

Rules:
- the same rows end up stored as with ``conn.execute(insert, rows)``: every value goes through
  its column type's own bind processing (``UtcDateTime``, ``Amount``, JSON ...) for the
  connection's dialect, and the SQL is the one SQLAlchemy compiles for that dialect;
- a ``JsonText`` value in a JSON column is JSON its maker already wrote (pydantic's
  ``model_dump_json``): it is stored as that text, not serialised again; read back, it is the
  same value;
- a column holding the same object in every row (the transaction's clock, None, False) is
  converted once: conversion is pure, so one object always gives the same parameter;
- SQLite: one ``executemany`` of tuples. PostgreSQL: a plain insert is one ``INSERT ... SELECT
  FROM unnest(%b::type[], ...)`` (each column one array in psycopg's binary format; a column
  holding one object in every row one parameter) and ``update_rows`` one ``UPDATE ... FROM
  unnest(...)``, both sent in the connection's write pipeline (``hub.storage.write_pipeline``):
  the statement goes out at once and its answer is taken at the transaction's next statement or
  commit, so an ingest batch's writes cost the writer one wait instead of one each. It replaced
  ``COPY ... FROM STDIN``, which cannot be pipelined and took two round trips (``python -m
  bench ingest``: 0.080 -> 0.062 ms of wall time an event in batches of 1,000; binary arrays
  cost the client less than COPY's rows, text arrays ten times more: every element escaped
  in Python). An insert that skips conflicts (``ignore=``) is one ``executemany``. A
  refused write is raised as SQLAlchemy's ``DBAPIError`` family when the pipeline is answered
  (at the latest at the commit), so the transaction fails as it would have at that write;
- every row has the first row's keys (a missing key is a ``KeyError``: a bug of the caller); a
  table whose omitted columns have Python-side defaults goes through ``conn.execute`` instead,
  so no default is ever skipped;
- plans (SQL, parameter order, processors) are kept per dialect, table, columns and conflict
  rule: a handful per process, since the callers' tables and columns are fixed in code;
- ``among(conn, column, values)`` is ``column IN values`` for the batch's lookups: on PostgreSQL
  ``column = ANY(:array)``, one array parameter, so the statement is the same text whatever the
  number of values (SQLAlchemy compiles it once and psycopg parses it once, instead of rendering
  and parsing an ``IN`` list of hundreds of parameters per batch); elsewhere a plain ``IN``;
- ``pairs_among(conn, (a, b), pairs)`` is ``(a, b) IN pairs``, for a lookup by a two-column key:
  on PostgreSQL ``(a, b) IN (SELECT * FROM unnest(:as, :bs))``, two array parameters zipped, so
  each pair is one probe of the key's index. Two separate ``= ANY`` conditions are NOT that:
  PostgreSQL 15 probes the index with every combination of the two arrays (measured in a
  1,000-store storm: 120 stores x 500 ids = 60,000 probes, 90-400 ms a batch). Nor is it a
  promise: with no statistics of the table (autovacuum off, or behind a storm) PostgreSQL
  underestimates a varchar-keyed table's rows and hashes the pairs against a scan of the whole
  table (measured: 14.5 ms a batch at 100,000 returns, growing with the table, with the audit
  tip held). ``rows_at_pairs(conn, table, (a, b), pairs)`` is the lookup of big tables: each
  pair a LATERAL subquery behind ``OFFSET 0``, which the planner cannot turn into that join
  (the statement is built once per table and key columns, its arrays bound per call: building
  it cost 0.7 ms of CPU, per ingest batch); ``delete_at_pairs`` deletes by such probes (each
  pair's row found through the key's index, then deleted by its ``ctid``): a ``DELETE ... WHERE
  (a, b) IN pairs`` of the reasons pass, planned for a queue believed empty, hashed the whole
  queue for every batch (60-90 ms a batch of 2,000 at 100,000 queued, growing with the queue);
- ``key_chunks(conn, keys, size)`` cuts the keys of such lookups into statements: on PostgreSQL
  one statement for all of them (they travel as arrays, and each statement is a round trip the
  ingest writer waits for with the audit tip held, 3-4 ms under load in ``python -m bench
  capacity``), elsewhere ``size`` at a time (one parameter each);
- ``select_together(conn, queries)`` runs SELECTs that do not depend on one another (named bind
  parameters) and returns each one's rows: on PostgreSQL in ONE round trip, as a psycopg
  pipeline (each statement compiled once per process), elsewhere one after the other. A round
  trip costs the ingest writer 1.5-5 ms under load, far more than the statement itself. The
  rows are plain named tuples of the driver's values (no SQLAlchemy result processing: meant
  for keys, numbers and text), except for the queries named in ``mapped``: their rows are
  dicts by column key, each value through its column type's result processing, as
  ``dict(row._mapping)`` of ``conn.execute`` gives them (the processors chosen, as SQLAlchemy
  chooses them, by the type the driver says each column has).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence, Set
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeVar

from sqlalchemy import (
    JSON,
    ColumnElement,
    Connection,
    Enum,
    String,
    Table,
    any_,
    bindparam,
    delete,
    func,
    literal_column,
    select,
    true,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import Select
from sqlalchemy.sql.dml import Delete, Insert

from hub.storage import write_pipeline
from hub.storage.upsert import insert_ignore

Processor = Callable[[Any], Any]
T = TypeVar("T")
Row = dict[str, Any]


class JsonText(str):
    """Text that is already JSON, for a JSON column (``insert_rows`` stores it as it is)."""


@dataclass(frozen=True)
class _Plan:
    sql: str
    order: tuple[str, ...]  # row keys in parameter order
    processors: tuple[Processor | None, ...]
    how: str  # "unnest" (PostgreSQL arrays), "named" (dicts) or "positional" (tuples)


_plans: dict[tuple[str, Table, tuple[str, ...], tuple[str, ...]], _Plan | None] = {}


def insert_rows(conn: Connection, table: Table, rows: Sequence[Row],
                ignore: Sequence[str] = ()) -> None:
    """Insert ``rows`` into ``table``; with ``ignore`` (key columns), skip rows whose key is
    already stored. Nothing happens when there are no rows."""
    if not rows:
        return
    names = tuple(rows[0])
    plan = _plan(conn, table, names, tuple(ignore))
    if plan is None:
        conn.execute(_statement(conn, table, tuple(ignore)), list(rows))
        return
    if plan.how == "unnest":
        _insert_unnest(conn, table, names, rows)
        return
    columns = [_converted(proc, [row[name] for row in rows])
               for name, proc in zip(plan.order, plan.processors, strict=True)]
    if plan.how == "named":
        conn.exec_driver_sql(plan.sql, [dict(zip(plan.order, values, strict=True))
                                        for values in zip(*columns, strict=True)])
    else:
        conn.exec_driver_sql(plan.sql, list(zip(*columns, strict=True)))


def among(conn: Connection, column: ColumnElement[Any],
          values: Iterable[Any]) -> ColumnElement[bool]:
    """``column IN values`` (``values`` materialised once); on PostgreSQL one array parameter."""
    wanted = list(values)
    if conn.dialect.name == "postgresql":
        return column == any_(bindparam(None, wanted, type_=ARRAY(column.type)))
    return column.in_(wanted)


def pairs_among(conn: Connection, columns: tuple[ColumnElement[Any], ColumnElement[Any]],
                pairs: Iterable[tuple[Any, Any]]) -> ColumnElement[bool]:
    """``(a, b) IN pairs`` (``pairs`` materialised once); on PostgreSQL two zipped arrays."""
    wanted = list(pairs)
    first, second = columns
    if conn.dialect.name == "postgresql":
        keys = _zipped(first, second, [a for a, _ in wanted], [b for _, b in wanted])
        return tuple_(first, second).in_(select(keys.c.a, keys.c.b))
    return tuple_(first, second).in_(wanted)


def _zipped(first: ColumnElement[Any], second: ColumnElement[Any],
            firsts: list[Any] | None = None, seconds: list[Any] | None = None) -> Any:
    """``unnest(:as, :bs) AS k(a, b)``: two array parameters, zipped (PostgreSQL): ``firsts``
    and ``seconds`` bound now, or, without them, parameters named ``pairs_a`` and ``pairs_b``
    to bind later (``at_pairs``)."""
    later = firsts is None
    return func.unnest(bindparam("pairs_a" if later else None, firsts, type_=ARRAY(first.type)),
                       bindparam("pairs_b" if later else None, seconds,
                                 type_=ARRAY(second.type))
                       ).table_valued("a", "b").render_derived("k")


def rows_at_pairs(conn: Connection, table: Table, columns: tuple[str, str],
                  pairs: Iterable[tuple[Any, Any]]) -> Select[Any]:
    """Every row of ``table`` whose (``columns``) is one of ``pairs`` (distinct). On PostgreSQL
    one index probe a pair whatever the planner believes of the table's size: each pair's rows
    are a LATERAL subquery that ``OFFSET 0`` keeps from being flattened into a join."""
    if conn.dialect.name != "postgresql":
        first, second = table.c[columns[0]], table.c[columns[1]]
        return select(table).where(tuple_(first, second).in_(list(dict.fromkeys(pairs))))
    return at_pairs(table, columns).params(**pairs_params(pairs))


def pairs_params(pairs: Iterable[tuple[Any, Any]]) -> dict[str, list[Any]]:
    """``at_pairs``'s parameters for ``pairs`` (distinct)."""
    wanted = list(dict.fromkeys(pairs))
    return {"pairs_a": [a for a, _ in wanted], "pairs_b": [b for _, b in wanted]}


@lru_cache(maxsize=64)  # the callers' tables and key columns are fixed in code: a handful
def at_pairs(table: Table, columns: tuple[str, str]) -> Select[Any]:
    """``rows_at_pairs``'s statement on PostgreSQL, its arrays left to bind (``pairs_a``,
    ``pairs_b``: ``pairs_params``; also for ``select_together``): built once, since building
    it (a column proxy per column of ``table``, twice) cost 0.7 ms, a fixed cost of every
    ingest batch; binding the values costs 2 µs."""
    first, second = table.c[columns[0]], table.c[columns[1]]
    keys = _zipped(first, second)
    each = (select(table).where(first == keys.c.a, second == keys.c.b)
            .offset(literal_column("0")).lateral("t"))
    return select(*each.c).select_from(keys).join(each, true())


def delete_at_pairs(conn: Connection, table: Table, columns: tuple[str, str],
                    pairs: Iterable[tuple[Any, Any]]) -> int:
    """Delete the rows of ``table`` whose (``columns``) is one of ``pairs``; return how many.
    On PostgreSQL one statement, each pair one index probe whatever the planner believes of the
    table's size (``rows_at_pairs``'s probes, the rows then deleted by ``ctid``: found and
    deleted in one statement, so under one snapshot); elsewhere ``(a, b) IN pairs`` in chunks."""
    wanted = list(dict.fromkeys(pairs))
    if not wanted:
        return 0
    if conn.dialect.name != "postgresql":
        first, second = table.c[columns[0]], table.c[columns[1]]
        return sum(conn.execute(delete(table).where(tuple_(first, second).in_(chunk))).rowcount
                   for chunk in key_chunks(conn, wanted, 400))
    return int(conn.execute(_delete_at_pairs(table, columns), {
        "pairs_a": [a for a, _ in wanted], "pairs_b": [b for _, b in wanted]}).rowcount)


@lru_cache(maxsize=16)  # the callers' tables and key columns are fixed in code
def _delete_at_pairs(table: Table, columns: tuple[str, str]) -> Delete:
    """``delete_at_pairs``'s statement on PostgreSQL, its arrays left to bind."""
    first, second = table.c[columns[0]], table.c[columns[1]]
    keys = _zipped(first, second)
    probe = (select(literal_column("ctid")).select_from(table)
             .where(first == keys.c.a, second == keys.c.b)
             .offset(literal_column("0")).lateral("t"))
    found = select(probe.c.ctid).select_from(keys).join(probe, true())
    return delete(table).where(literal_column("ctid") == any_(func.array(found.scalar_subquery())))


def key_chunks(conn: Connection, keys: Sequence[T], size: int) -> list[Sequence[T]]:
    """``keys`` as the lookups of ``among``/``rows_at_pairs`` should send them: all at once on
    PostgreSQL (arrays), ``size`` at a time elsewhere (parameters); none for no keys."""
    if conn.dialect.name == "postgresql":
        return [keys] if keys else []
    return [keys[start:start + size] for start in range(0, len(keys), size)]


def _statement(conn: Connection, table: Table, ignore: tuple[str, ...]) -> Insert:
    return insert_ignore(conn, table, ignore) if ignore else table.insert()


def _plan(conn: Connection, table: Table, names: tuple[str, ...],
          ignore: tuple[str, ...]) -> _Plan | None:
    key = (conn.dialect.name, table, names, ignore)
    if key not in _plans:
        _plans[key] = _make_plan(conn, table, names, ignore)
    return _plans[key]


def _make_plan(conn: Connection, table: Table, names: tuple[str, ...],
               ignore: tuple[str, ...]) -> _Plan | None:
    dialect = conn.dialect
    if any(c.default is not None and c.key not in names for c in table.columns):
        return None  # a Python-side default to apply: SQLAlchemy's own path does that
    if not set(names) <= set(table.c.keys()):
        return None  # let SQLAlchemy name the unknown column
    if dialect.name == "postgresql" and not ignore and _arrayable(dialect, table, names):
        return _Plan("", names, (), "unnest")  # made per set of once-columns: _insert_unnest
    compiled = _statement(conn, table, ignore).compile(dialect=dialect, column_keys=list(names))
    keys = {name: bind.key for name, bind in compiled.binds.items()}
    positional = compiled.positiontup is not None
    order = tuple(keys[name] for name in (compiled.positiontup or compiled.binds))
    if sorted(order) != sorted(names) or compiled.escaped_bind_names:
        return None  # a statement shape this helper does not know: let SQLAlchemy do it
    return _Plan(compiled.string, order, _processors(dialect, table, order),
                 "positional" if positional else "named")


def update_rows(conn: Connection, table: Table, keys: Sequence[str], rows: Sequence[Row]) -> None:
    """Set the other columns of each row on the stored row its ``keys`` columns find (rows with
    the same keys as the first row; nothing happens when there are none)."""
    if not rows:
        return
    names = tuple(rows[0])
    values = tuple(n for n in names if n not in keys)
    dialect = conn.dialect
    if dialect.name != "postgresql" or not _arrayable(dialect, table, names):
        stmt = update(table).where(*[table.c[k] == bindparam(f"k_{k}") for k in keys]).values(
            {n: bindparam(f"v_{n}") for n in values})
        conn.execute(stmt, [{**{f"k_{k}": r[k] for k in keys},
                             **{f"v_{n}": r[n] for n in values}} for r in rows])
        return
    once = _once(rows, values)
    arrays = tuple(n for n in names if n not in once)
    key = (dialect.name, table, names, ("update", *keys, "once", *once))
    plan = _plans.get(key)
    if plan is None:
        quote = dialect.identifier_preparer
        col = {n: quote.format_column(table.c[n]) for n in names}
        where = " AND ".join(f"{quote.format_table(table)}.{col[k]} = v.{col[k]}" for k in keys)
        sets = [f"{col[n]} = %s::{_cast(dialect, table, n)}" if n in once else
                f"{col[n]} = v.{col[n]}" for n in values]
        plan = _plans[key] = _Plan(
            f"UPDATE {quote.format_table(table)} SET {', '.join(sets)} "
            f"FROM unnest({_arrays(dialect, table, arrays)}) "
            f"AS v({', '.join(col[n] for n in arrays)}) WHERE {where}",
            (*once, *arrays), _processors(dialect, table, (*once, *arrays)), "unnest")
    write_pipeline.send(conn, plan.sql, tuple(_unnest_params(plan, rows, once)))


def _insert_unnest(conn: Connection, table: Table, names: tuple[str, ...],
                   rows: Sequence[Row]) -> None:
    """PostgreSQL: ``rows`` in one ``INSERT ... SELECT FROM unnest(%b::type[], ...)``, a column
    holding one object in every row as one parameter (as ``update_rows``)."""
    dialect = conn.dialect
    once = _once(rows, names)
    arrays = tuple(n for n in names if n not in once)
    key = (dialect.name, table, names, ("insert", "once", *once))
    plan = _plans.get(key)
    if plan is None:
        quote = dialect.identifier_preparer
        col = {n: quote.format_column(table.c[n]) for n in names}
        picked = [f"%s::{_cast(dialect, table, n)}" if n in once else
                  f"v.{col[n]}" for n in names]
        source = (f"unnest({_arrays(dialect, table, arrays)}) "
                  f"AS v({', '.join(col[n] for n in arrays)})" if arrays else
                  "generate_series(1, %s::integer)")  # every column the same in every row
        plan = _plans[key] = _Plan(
            f"INSERT INTO {quote.format_table(table)} ({', '.join(col[n] for n in names)}) "
            f"SELECT {', '.join(picked)} FROM {source}",
            (*once, *arrays), _processors(dialect, table, (*once, *arrays)), "unnest")
    params = _unnest_params(plan, rows, once)
    if not arrays:
        params.append(len(rows))
    write_pipeline.send(conn, plan.sql, tuple(params))


def _once(rows: Sequence[Row], names: Iterable[str]) -> tuple[str, ...]:
    """The columns of ``names`` holding one object in every row (the clock, False, None): each
    travels as one parameter instead of an array."""
    return tuple(n for n in names if all(r[n] is rows[0][n] for r in rows))


def _unnest_params(plan: _Plan, rows: Sequence[Row], once: tuple[str, ...]) -> list[Any]:
    """An unnest plan's parameters: one converted value for each column of ``once``, a
    converted array for each other column, in the plan's order."""
    return [_converted(proc, [rows[0][name]])[0] if name in once else
            _converted(proc, [row[name] for row in rows])
            for name, proc in zip(plan.order, plan.processors, strict=True)]


def _arrayable(dialect: Dialect, table: Table, names: tuple[str, ...]) -> bool:
    """True when every column can travel as a one-dimensional array of its own type."""
    return all(not isinstance(table.c[n].type, ARRAY) for n in names)


def _arrays(dialect: Dialect, table: Table, names: tuple[str, ...]) -> str:
    # ``%b``: each array goes in psycopg's binary format (lengths, no quoting) instead of text,
    # which escapes every quote of every element with a regex in Python: 1,000 nodes' statuses
    # (JSON) took 19 ms to send that way, 0.6 ms in binary; timestamps 3.2 against 0.3 ms
    return ", ".join(f"%b::{_cast(dialect, table, n)}[]" for n in names)


def _cast(dialect: Dialect, table: Table, name: str) -> str:
    """The type a parameter is cast to for column ``name``: the column's own, except that a
    string column's length is left out. An explicit cast to ``varchar(n)`` cuts a longer value
    to ``n`` characters without a word; left to the column's assignment, it is refused, as an
    INSERT of the value itself would be."""
    type_ = table.c[name].type
    if isinstance(type_, String) and not isinstance(type_, Enum):
        return "VARCHAR"
    return str(type_.compile(dialect=dialect))


def _processors(dialect: Dialect, table: Table,
                names: tuple[str, ...]) -> tuple[Processor | None, ...]:
    return tuple(_processor(table.c[name].type, dialect) for name in names)


def _processor(type_: Any, dialect: Dialect) -> Processor | None:
    proc: Processor | None = type_.dialect_impl(dialect).bind_processor(dialect)
    if not isinstance(type_, JSON) or proc is None:
        return proc
    serialise = proc

    def json_or_text(value: Any) -> Any:
        return str(value) if isinstance(value, JsonText) else serialise(value)
    return json_or_text


def _converted(proc: Processor | None, values: list[Any]) -> list[Any]:
    if proc is None or not values:
        return values
    first = values[0]
    if all(value is first for value in values):  # the clock, None, False: converted once
        return [proc(first)] * len(values)
    return [proc(value) for value in values]


def select_together(conn: Connection, queries: Sequence[tuple[Select[Any], dict[str, Any]]],
                    mapped: Set[int] = frozenset()) -> list[list[Any]]:
    """The rows of each (statement, parameters) of ``queries``, in order; those of the queries
    at the positions in ``mapped`` as processed dicts (see the rules)."""
    if conn.dialect.name != "postgresql":
        return [[dict(row._mapping) for row in conn.execute(statement, params)] if n in mapped
                else list(conn.execute(statement, params))
                for n, (statement, params) in enumerate(queries)]
    import psycopg  # only PostgreSQL connections get here
    from psycopg.rows import namedtuple_row

    write_pipeline.sync(conn)  # the writes before, answered (a refused one raised) first
    driver = conn.connection.driver_connection
    assert isinstance(driver, psycopg.Connection)
    sqls = [_pipelined_sql(conn.dialect, statement) for statement, _ in queries]
    cursors = [driver.cursor(row_factory=namedtuple_row) for _ in queries]
    try:
        with driver.pipeline():
            for cursor, sql, (_, params) in zip(cursors, sqls, queries, strict=True):
                cursor.execute(sql, params)
        return [_mapped(conn.dialect, statement, cursor) if n in mapped else cursor.fetchall()
                for n, (cursor, (statement, _)) in enumerate(zip(cursors, queries, strict=True))]
    except psycopg.Error as err:
        raise DBAPIError.instance(sqls[0], None, err, psycopg.Error,
                                  dialect=conn.dialect) from err
    finally:
        for cursor in cursors:
            cursor.close()


def _mapped(dialect: Dialect, statement: Select[Any], cursor: Any) -> list[dict[str, Any]]:
    """``cursor``'s rows of ``statement`` as SQLAlchemy's result processing gives them."""
    codes = tuple(column.type_code for column in cursor.description or ())
    names, procs = _result_plan(dialect, statement, codes)
    return [{name: value if proc is None else proc(value)
             for name, proc, value in zip(names, procs, row, strict=True)}
            for row in cursor.fetchall()]


@lru_cache(maxsize=64)  # per statement (module constants) and the driver's column types
def _result_plan(dialect: Dialect, statement: Select[Any], codes: tuple[int, ...]
                 ) -> tuple[tuple[str, ...], tuple[Processor | None, ...]]:
    columns = list(statement.selected_columns)
    if len(columns) != len(codes):
        raise ValueError("the driver's row does not have the statement's columns")
    return (tuple(str(column.key) for column in columns),
            tuple(column.type.dialect_impl(dialect).result_processor(dialect, code)
                  for column, code in zip(columns, codes, strict=True)))


@lru_cache(maxsize=64)  # the callers' statements are module constants: a handful
def _pipelined_sql(dialect: Dialect, statement: Select[Any]) -> str:
    return str(statement.compile(dialect=dialect))


def in_array(column: ColumnElement[Any], name: str) -> ColumnElement[bool]:
    """PostgreSQL: ``column = ANY(:name)``, the values given later as one array parameter
    ``name`` (for the statements ``select_together`` runs, which are built once)."""
    return column == any_(bindparam(name, type_=ARRAY(column.type)))

"""Opening the hub's database from ``acorn-hub``: the one helper every command uses.

Rules:
- ``database(settings)`` opens the existing ACORN database of ``settings`` and never creates
  one. It first only looks (``hub.storage.migrations.schema_of``: nothing is created, not even
  a directory) and refuses, with one line naming the database (password hidden) and what to run:
  a SQLite file that does not exist, a database without the ACORN schema, one at an older
  schema revision than this program's, or one at a revision this program does not know;
- ``migrate(settings)`` is the one way to create or upgrade the schema; only ``acorn-hub db
  upgrade`` and ``acorn-hub serve`` call it;
- the engine is disposed when the command is done; settings are built once per command (by the
  command, or here when it needs nothing else from them).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from hub.errors import ConfigError, StorageError
from hub.settings import Settings, load_settings
from hub.storage.engine import make_engine
from hub.storage.migrations import head, schema_of, upgrade

CREATE = ("run `acorn-hub db upgrade` to create it (or point ACORN_HUB_DATABASE_URL at the hub's "
          "database)")


@contextmanager
def database(settings: Settings | None = None) -> Iterator[Engine]:
    """The engine of the existing, current ACORN database (refused otherwise); disposed after."""
    settings = settings or load_settings()
    check_schema(settings.database_url)
    engine = make_engine(settings.database_url, settings.sqlite_synchronous)
    try:
        yield engine
    finally:
        engine.dispose()


def check_schema(db_url: str) -> None:
    """Refuse (ConfigError) a database that is missing or not at this program's schema."""
    try:
        shown = make_url(db_url).render_as_string(hide_password=True)
    except ArgumentError as err:
        raise ConfigError(f"ACORN_HUB_DATABASE_URL is not a database URL ({err})") from err
    try:
        schema = schema_of(db_url)
    except StorageError as err:
        new = ("; a new PostgreSQL database is made with `createdb`, then `acorn-hub db upgrade`"
               if make_url(db_url).get_backend_name() == "postgresql" else "")
        raise ConfigError(f"cannot open the hub database {shown} ({err.message}): check "
                          f"ACORN_HUB_DATABASE_URL{new}") from err
    if not schema.exists:
        raise ConfigError(f"no hub database at {shown}: {CREATE}")
    if schema.revision is None:
        raise ConfigError(f"{shown} has no ACORN schema: {CREATE}")
    if not schema.known:
        raise ConfigError(f"{shown} is at schema revision {schema.revision}, which this "
                          "acorn-hub does not know (another program's database, or a newer "
                          "hub's?)")
    if not schema.current:
        raise ConfigError(f"{shown} is at schema revision {schema.revision}, this acorn-hub "
                          f"needs {head()}: run `acorn-hub db upgrade`")


def migrate(settings: Settings, revision: str = "head") -> str | None:
    """Create or upgrade the schema to ``revision``; return the revision it is at."""
    return upgrade(settings.database_url, revision, settings.sqlite_synchronous)

"""Schema migrations (Alembic), run programmatically: ``upgrade(db_url)``.

``acorn-hub serve`` upgrades before it starts; ``acorn-hub db upgrade`` does only that; every
other command only looks (``schema_of``) and refuses a database without the current schema. Version
files in ``versions/`` are frozen snapshots: never edit one that has shipped, add a new one
(``render_as_batch`` is on, so ALTERs work on SQLite too).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from hub.storage.engine import make_engine, probe_engine, storage_error

HERE = Path(__file__).parent


def alembic_config(engine: Engine) -> Config:
    """An Alembic config that runs our scripts on ``engine`` (no alembic.ini needed)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(db_url: str, revision: str = "head", sqlite_synchronous: str = "FULL") -> str | None:
    """Bring the database at ``db_url`` to ``revision``; return the revision it is at."""
    engine = make_engine(db_url, sqlite_synchronous)
    try:
        command.upgrade(alembic_config(engine), revision)
        return current(engine)
    finally:
        engine.dispose()


def downgrade(db_url: str, revision: str) -> str | None:
    """Take the database at ``db_url`` back to ``revision`` (``base`` drops everything)."""
    engine = make_engine(db_url)
    try:
        command.downgrade(alembic_config(engine), revision)
        return current(engine)
    finally:
        engine.dispose()


def current(engine: Engine) -> str | None:
    """The revision the database is at (None before the first upgrade)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head() -> str | None:
    """The newest revision in ``versions/``."""
    return _scripts().get_current_head()


def _scripts() -> ScriptDirectory:
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    return ScriptDirectory.from_config(cfg)


@dataclass(frozen=True)
class Schema:
    """What a look at a database found: whether it exists, its revision, ours or not."""

    exists: bool
    revision: str | None = None
    known: bool = False

    @property
    def current(self) -> bool:
        """At this program's newest revision."""
        return self.revision is not None and self.revision == head()


def schema_of(db_url: str) -> Schema:
    """Look at the database at ``db_url`` without creating or changing anything.

    A SQLite file that does not exist is ``exists=False`` (and stays absent); a database without
    an Alembic revision has ``revision=None``; ``known`` says whether the revision is one of ours.
    Raises StorageError when the database cannot be opened (a PostgreSQL database that does not
    exist, a server that is down, a file that is not SQLite).
    """
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite" and not _sqlite_file_exists(url.database):
        return Schema(exists=False)
    probe = probe_engine(db_url)
    try:
        with probe.connect() as conn:
            revision = MigrationContext.configure(conn).get_current_revision()
    except SQLAlchemyError as err:
        raise storage_error(err) from err
    finally:
        probe.dispose()
    return Schema(exists=True, revision=revision, known=_known(revision))


def _sqlite_file_exists(database: str | None) -> bool:
    if not database or database == ":memory:" or database.startswith("file:"):
        return False  # nothing that outlives the process: never a database of record
    return Path(database).is_file()


def _known(revision: str | None) -> bool:
    if revision is None:
        return False
    try:
        return _scripts().get_revision(revision) is not None
    except CommandError:
        return False

"""Schema migrations (Alembic), run programmatically: ``upgrade(db_url)``.

``acorn-hub serve`` upgrades before it starts; ``acorn-hub db upgrade`` does only that. Version
files in ``versions/`` are frozen snapshots: never edit one that has shipped, add a new one
(``render_as_batch`` is on, so ALTERs work on SQLite too).
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from hub.storage.engine import make_engine

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
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    return ScriptDirectory.from_config(cfg).get_current_head()

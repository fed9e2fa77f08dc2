"""The customer key secret: the key of ``hub.amazon.buyer_key``, set or generated once and kept.

Rules:
- both settings below are part of ``AmazonSettings`` (built once per process and passed in);
- ``ACORN_HUB_CUSTOMER_KEY_SECRET`` wins (at least 16 characters, else ConfigError); set it when
  several hub processes on different machines sync Amazon, so they all key buyers alike;
- unset, the secret is read from the customer key file: ``ACORN_HUB_CUSTOMER_KEY_FILE``, else
  ``customer-key.secret`` beside the SQLite database, else beside the Amazon secrets file, else
  in ``./var/hub``; on first use it is generated there (32 random bytes, hex), mode 0600,
  atomically (a hard link of a finished file: two processes starting together agree on one);
- a file accessible to group or others is refused, as the Amazon secrets file is;
- keys are stable while the secret is: back the file up with the database. A new secret makes
  every buyer look new (earlier refunds are no longer counted for them);
- the secret never appears in logs, errors, ``repr`` or the database; only the path is logged
  when a secret is generated.
"""

from __future__ import annotations

import logging
import os
import secrets
import stat
import tempfile
from pathlib import Path

from sqlalchemy import Engine

from hub.amazon.settings import AmazonSettings
from hub.errors import ConfigError

log = logging.getLogger(__name__)

FILE_NAME = "customer-key.secret"
MIN_LENGTH = 16
ENV = "ACORN_HUB_CUSTOMER_KEY_SECRET"


def secret_for(engine: Engine, amazon: AmazonSettings) -> bytes:
    """The customer key secret for the hub whose database is ``engine``."""
    given = amazon.customer_key_secret.get_secret_value().strip()
    if given:
        if len(given) < MIN_LENGTH:
            raise ConfigError(f"{ENV} must be at least {MIN_LENGTH} characters",
                              field="customer_key_secret")
        return given.encode("utf-8")
    return read_or_create(key_file(engine, amazon))


def key_file(engine: Engine, amazon: AmazonSettings) -> Path:
    """Where the generated secret lives (see the rules)."""
    if amazon.customer_key_file is not None:
        return amazon.customer_key_file
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if database and database != ":memory:" and not database.startswith("file:"):
        return Path(database).parent / FILE_NAME
    if amazon.secrets_file is not None:
        return amazon.secrets_file.parent / FILE_NAME
    return Path("var/hub") / FILE_NAME


def read_or_create(path: Path) -> bytes:
    """The secret kept in ``path``, generated there first if the file does not exist."""
    if not path.exists():
        _create(path)
    try:
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ConfigError(f"customer key file {path} is accessible to others (mode "
                              f"{stat.S_IMODE(mode):o}); chmod 600 it", field="customer_key_file")
        text = path.read_text(encoding="utf-8").strip()
    except OSError as err:
        raise ConfigError(f"customer key file {path}: {err.strerror}",
                          field="customer_key_file") from err
    if len(text) < MIN_LENGTH:
        raise ConfigError(f"customer key file {path} holds no usable secret (at least "
                          f"{MIN_LENGTH} characters)", field="customer_key_file")
    return text.encode("utf-8")


def _create(path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".customer-key-")  # 0600
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(secrets.token_hex(32) + "\n")
                out.flush()
                os.fsync(out.fileno())
            os.link(temporary, path)
        except FileExistsError:
            return  # another process made it first: use theirs
        finally:
            os.unlink(temporary)
        _sync_directory(path.parent)
    except OSError as err:
        raise ConfigError(f"cannot create the customer key file {path}: {err.strerror}; set "
                          f"{ENV} or ACORN_HUB_CUSTOMER_KEY_FILE",
                          field="customer_key_file") from err
    log.warning("generated a new customer key secret in %s: keep it (and back it up) with the "
                "database, or set %s; without it known buyers look new", path, ENV)


def _sync_directory(directory: Path) -> None:
    handle = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)

"""Engines for the store: SQLite tuned for one writer and many readers, any other SQLAlchemy URL as is.

This is the only module that creates engines; `storage.repository` and `storage.queries` use them.
"""

from __future__ import annotations

import functools
import logging
import os
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DB_URL_ENV = "NEWSMON_DB_URL"
DEFAULT_DB_URL = f"sqlite:///{PROJECT_ROOT / 'data' / 'newsmon.db'}"
BUSY_TIMEOUT_MS = 30_000
_MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class StoreError(Exception):
    """The store cannot be opened or used; the message is one line for people."""


def db_url(override: str | None = None) -> str:
    """The store's URL: `override`, else `$NEWSMON_DB_URL`, else `data/newsmon.db` in the project."""
    return override or os.environ.get(DB_URL_ENV) or DEFAULT_DB_URL


def sqlite_path(url: str) -> Path | None:
    """The database file of a SQLite URL, or None for other databases and in-memory SQLite."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database.removeprefix("file:"))


@functools.cache
def writer_engine(url: str) -> Engine:
    """The read-write engine for `url`, with the schema migrated to the newest revision.

    Cached per URL, so the spider and the pipelines of one crawl share one engine.
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StoreError(f"not a database URL: {url!r}") from None
    path = sqlite_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        engine = create_engine(parsed, pool_pre_ping=path is None)
    except Exception as exc:  # noqa: BLE001 - a missing driver is a one-line error for people
        raise StoreError(f"cannot open {parsed.render_as_string(hide_password=True)}: {exc}") from None
    if parsed.get_backend_name() == "sqlite":
        _tune_sqlite(engine, begin="BEGIN IMMEDIATE", writable=True)
    migrate(engine)
    return engine


@functools.cache
def reader_engine(url: str) -> Engine:
    """A read-only engine for queries: SQLite opened with mode=ro, other databases as given.

    Raises:
        StoreError: when a SQLite store does not exist yet.
    """
    path = sqlite_path(url)
    if path is None:
        return writer_engine(url)
    if not path.exists():
        raise StoreError(f"no store at {path} yet: run a crawl (scrapy crawl <source>) or `newsmon demo` first")
    engine = create_engine(f"sqlite:///file:{path.resolve()}?mode=ro&uri=true")
    _tune_sqlite(engine, begin="BEGIN", writable=False)
    return engine


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision (a no-op when it is there already)."""
    # Alembic narrates every connection at INFO; a crawl's log only needs to hear about real upgrades.
    logging.getLogger("alembic.runtime.migration").setLevel(logging.WARNING)
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    with engine.connect() as connection:
        if MigrationContext.configure(connection).get_current_revision() == head:
            return
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def _tune_sqlite(engine: Engine, *, begin: str, writable: bool) -> None:
    """WAL, a busy timeout and explicit BEGIN (pysqlite's own transaction handling is turned off,
    per SQLAlchemy's SQLite dialect docs, so that writers take the lock up front with BEGIN IMMEDIATE
    instead of failing with SQLITE_BUSY when a read turns into a write)."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # noqa: ANN001 - DB-API objects
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        if writable:
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):  # noqa: ANN001
        connection.exec_driver_sql(begin)

"""Engines for the store: SQLite tuned for one writer and many readers, any other SQLAlchemy URL as is.

This is the only module that creates engines; `storage.repository` and `storage.queries` use them.

Two environment variables tune SQLite connections (read when an engine is made):
    NEWSMON_SQLITE_BUSY_TIMEOUT_MS  how long a write waits for another writer's lock (default 30000 ms)
    NEWSMON_SQLITE_MAX_PAGES        PRAGMA max_page_count of writers: a cap on the file's size in pages, so a
                                    "disk full" can be produced on purpose (tests); unset: no cap
A store that cannot be written (disk full, locked past the busy timeout) raises `StoreUnavailable`.

On a database server (PostgreSQL) each engine keeps a small pool: `NEWSMON_DB_POOL_SIZE` connections (default 2)
plus as many again at a peak. A crawl needs three at a time (its writes, the run lock's heartbeat, the run lock's
own session), so hosts x crawls stay far below the server's max_connections (docs/scheduler.md, "Several hosts").
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import URL, Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, SQLAlchemyError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DB_URL_ENV = "NEWSMON_DB_URL"
DEFAULT_DB_URL = f"sqlite:///{PROJECT_ROOT / 'data' / 'newsmon.db'}"
BUSY_TIMEOUT_MS = 30_000
BUSY_TIMEOUT_ENV = "NEWSMON_SQLITE_BUSY_TIMEOUT_MS"
MAX_PAGES_ENV = "NEWSMON_SQLITE_MAX_PAGES"
logger = logging.getLogger(__name__)
_MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# The newest revision in migrations/versions (a test checks they agree): a store already there is opened without
# loading Alembic and its scripts, a fifth of a crawl's start-up.
SCHEMA_REVISION = "0012"
MIGRATION_LOCK = "newsmon.migrate."  # with the schema's name: the PostgreSQL advisory lock of an upgrade


class StoreError(Exception):
    """The store cannot be opened or used; the message is one line for people."""


class StoreUnavailable(StoreError):
    """The store cannot take writes now: `reason` is "store_full" (disk full) or "store_locked" (another
    process held the write lock past the busy timeout). Going on would fail every write, so a crawl stops."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def db_url(override: str | None = None) -> str:
    """The store's address: `override`, else `$NEWSMON_DB_URL`, else `data/newsmon.db` in the project. A database
    URL or a SQLite file's path: everything that opens the store reads both."""
    return override or os.environ.get(DB_URL_ENV) or DEFAULT_DB_URL


def sqlite_path(url: str) -> Path | None:
    """The database file of a SQLite URL, or None for other databases and in-memory SQLite."""
    parsed = _parse(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database.removeprefix("file:"))


def remove_sqlite(path: Path) -> None:
    """Delete a SQLite store with its WAL and shared-memory files (for a fresh start; never a live store)."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    # An engine this process opened on the old file would go on reading it (its inode lives while a pooled
    # connection holds it): the next Store or query of that URL opens the new file.
    with _ENGINES_LOCK:
        urls = [url for _, url in _ENGINES if sqlite_path(url) == path]
    for url in urls:
        dispose_engines(url)


# The engines this process opened, by (kind, URL): the spider and the pipelines of one crawl share one.
_ENGINES: dict[tuple[str, str], Engine] = {}
_ENGINES_LOCK = threading.Lock()


def _cached(kind: str, url: str, make: Callable[[str], Engine]) -> Engine:
    with _ENGINES_LOCK:
        engine = _ENGINES.get((kind, url))
    if engine is not None:
        return engine
    engine = make(url)
    with _ENGINES_LOCK:
        kept = _ENGINES.setdefault((kind, url), engine)
    if kept is not engine:  # another thread opened it meanwhile
        engine.dispose()
    return kept


def dispose_engines(url: str | None = None) -> None:
    """Close every pooled connection this process holds to `url` (all URLs when None) and forget its engines:
    a server database then has no connection left from this process."""
    with _ENGINES_LOCK:
        keys = [key for key in _ENGINES if url is None or key[1] == url]
        engines = [_ENGINES.pop(key) for key in keys]
    for engine in engines:
        engine.dispose()


def writer_engine(url: str) -> Engine:
    """The read-write engine for `url`, with the schema migrated to the newest revision.

    Cached per URL, so the spider and the pipelines of one crawl share one engine (`dispose_engines` closes it).

    Raises:
        StoreError: the URL is malformed, its driver is missing, or the database cannot be reached.
    """
    return _cached("writer", url, _open_writer)


def _open_writer(url: str) -> Engine:
    parsed = _parse(url)
    path = sqlite_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    limits = _sqlite_limits() if path is not None else None
    engine = _create(parsed, pool_pre_ping=path is None)
    if limits is not None:
        _tune_sqlite(engine, begin="BEGIN IMMEDIATE", writable=True, busy_ms=limits[0], max_pages=limits[1])
    try:
        with _opening(path, limits[0] if limits else 0):
            migrate(engine)
    except SQLAlchemyError as exc:
        engine.dispose()
        raise StoreError(f"cannot open the store at {_shown(parsed)}: {_first_line(exc)}") from None
    except StoreError:  # the folder's lock was held past the busy timeout
        engine.dispose()
        raise
    return engine


@contextmanager
def _opening(path: Path | None, busy_ms: int) -> Iterator[None]:
    """Open a SQLite store one process at a time (an exclusive `flock` on its folder, waited for up to the busy
    timeout): two processes switching a new file to WAL at once deadlock, and SQLite then answers one of them
    "database is locked" without waiting. The folder, not a file beside the store: SQLite's own POSIX locks
    on the database file are dropped when any descriptor of it closes, and no lock file is left behind."""
    if path is None:
        yield
        return
    try:
        folder = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:  # an unreadable folder: open without the lock (as before)
        yield
        return
    try:
        deadline = time.monotonic() + busy_ms / 1000
        while True:
            try:
                fcntl.flock(folder, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise StoreUnavailable(
                        f"store locked: another process was opening {path} for longer than the busy timeout "
                        f"({busy_ms} ms)",
                        "store_locked",
                    ) from None
                time.sleep(0.05)
        yield
    finally:
        os.close(folder)  # releases the lock


def read_only_sqlite_url(path: Path, *, immutable: bool = False) -> URL:
    """The URL that opens the SQLite file at `path` read-only: a `file:` URI whose path is percent-encoded, so a
    `#`, `?`, `%` or space in it names this file and no other (a raw `#` would end the path there). `immutable`:
    no locks and no shared-memory file, for a store on a read-only file system or folder (nobody can write it)."""
    query = {"mode": "ro", "uri": "true", **({"immutable": "1"} if immutable else {})}
    return URL.create("sqlite", database=f"file:{quote(str(path.resolve()), safe='/')}", query=query)


def reader_engine(url: str) -> Engine:
    """A read-only engine for queries: SQLite opened with mode=ro, other databases in read-only sessions.
    Cached per URL (`dispose_engines` closes it).

    Raises:
        StoreError: there is no newsmon store at `url` (yet), or it cannot be reached.
    """
    return _cached("reader", url, _open_reader)


def _open_reader(url: str, *, upgraded: bool = False) -> Engine:
    parsed = _parse(url)
    path = sqlite_path(url)
    if path is None:
        engine = _create(parsed, pool_pre_ping=True)
        _read_only_sessions(engine)
    elif not path.exists():
        raise StoreError(f"no store at {path} yet: run a crawl (scrapy crawl <source>) or `newsmon demo` first")
    else:
        engine = _sqlite_reader(path, immutable=False)
    try:
        with engine.connect() as connection:
            revision = stored_revision(connection)
    except SQLAlchemyError as exc:
        engine.dispose()
        if path is None or os.access(path.parent, os.W_OK):
            raise StoreError(f"cannot read the store at {_shown(parsed)}: {_first_line(exc)}") from None
        engine, revision = _read_only_folder(path, _first_line(exc))
    writable = path is None or (os.access(path.parent, os.W_OK) and os.access(path, os.W_OK))
    if revision is not None and revision < SCHEMA_REVISION and writable and not upgraded:
        # a store an older newsmon made: upgraded once, as the next crawl would, then read
        engine.dispose()
        try:
            writer_engine(url)
        except StoreError as exc:  # a read-only database role, a locked file ...
            raise StoreError(
                f"{_shown(parsed)} has an older schema (revision {revision}, expected {SCHEMA_REVISION}) that could "
                f"not be upgraded: {exc}"
            ) from None
        return _open_reader(url, upgraded=True)
    if revision != SCHEMA_REVISION:
        engine.dispose()
        raise StoreError(
            f"{_shown(parsed)} is not a newsmon store at the current schema (revision {revision}, "
            f"expected {SCHEMA_REVISION}): a crawl into it creates or upgrades the schema"
        )
    return engine


def check_readable(url: str) -> None:
    """Raise StoreError (one line) unless `url` is a newsmon store this process can read."""
    reader_engine(url)


def _sqlite_reader(path: Path, *, immutable: bool) -> Engine:
    engine = _create(read_only_sqlite_url(path, immutable=immutable))
    _tune_sqlite(engine, begin="BEGIN", writable=False, busy_ms=_sqlite_limits()[0])
    return engine


def _read_only_folder(path: Path, error: str) -> tuple[Engine, str | None]:
    """A store in a folder (or file system) nobody can write: SQLite cannot make the shared-memory file WAL mode
    needs, so the file is opened `immutable` (safe: nothing can change it), unless its write-ahead log holds
    changes, which only a writable folder can fold in.

    Raises:
        StoreError: it cannot be read from there, saying why.
    """
    wal = Path(f"{path}-wal")
    if wal.exists() and wal.stat().st_size > 0:
        raise StoreError(
            f"cannot read the store at {path}: its folder is read-only and its write-ahead log ({wal.name}, "
            f"{wal.stat().st_size} bytes) holds changes SQLite can only read from a writable folder: copy the store "
            "and its -wal file somewhere writable"
        )
    engine = _sqlite_reader(path, immutable=True)
    try:
        with engine.connect() as connection:
            return engine, stored_revision(connection)
    except SQLAlchemyError as exc:
        engine.dispose()
        raise StoreError(
            f"cannot read the store at {path} (its folder is read-only): {error}; read as immutable: {_first_line(exc)}"
        ) from None


@contextmanager
def store_errors() -> Iterator[None]:
    """Database failures as one-line StoreErrors (integrity conflicts pass through, for a retry)."""
    try:
        yield
    except IntegrityError:
        raise
    except SQLAlchemyError as exc:
        raise _classified(exc) from None


def _classified(exc: SQLAlchemyError) -> StoreError:
    """A one-line StoreError; a StoreUnavailable for a full disk or a lock held past the busy timeout."""
    text = _first_line(exc)
    sqlstate = getattr(getattr(exc, "orig", None), "sqlstate", None)
    if "database or disk is full" in text or sqlstate == "53100":  # SQLITE_FULL; PostgreSQL disk_full
        return StoreUnavailable(
            f"disk full: the store cannot grow, nothing of this write was kept ({text})", "store_full"
        )
    if "database is locked" in text:  # SQLITE_BUSY after the busy timeout
        return StoreUnavailable(
            f"store locked: another process held the database's write lock past the busy timeout "
            f"({_sqlite_limits()[0]} ms), nothing of this write was kept",
            "store_locked",
        )
    return StoreError(f"store error: {text}")


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision (a no-op when it is there already).

    On PostgreSQL the upgrade runs under a transaction-scoped advisory lock of the schema, so processes on several
    hosts that start together upgrade it once: the others wait, then find it current (DDL is transactional there).
    SQLite stores are opened one process at a time already (`_opening`)."""
    # Alembic narrates every connection at INFO; a crawl's log only needs to hear about real upgrades.
    logging.getLogger("alembic.runtime.migration").setLevel(logging.WARNING)
    with engine.connect() as connection:
        if stored_revision(connection) == SCHEMA_REVISION:
            return
    if not (_MIGRATIONS / "versions").is_dir():  # an install without its scripts on disk (a zipped Scrapyd egg)
        with engine.connect() as connection:
            found = stored_revision(connection)
        if found is not None and found > SCHEMA_REVISION:
            raise StoreError(
                f"the store's schema {found} is newer than this newsmon's {SCHEMA_REVISION}: upgrade newsmon here"
            )
        raise StoreError(
            f"the store's schema is {found or 'missing'}, this newsmon's is {SCHEMA_REVISION}: upgrade it first "
            "with `newsmon migrate` (this installation cannot run migrations)"
        )
    from alembic import command

    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text(f"SELECT pg_advisory_xact_lock(hashtext({MIGRATION_LOCK!r} || current_schema()))"))
            if stored_revision(connection) == SCHEMA_REVISION:  # upgraded by whoever held the lock before us
                return
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def checkpoint(engine: Engine) -> None:
    """Fold SQLite's write-ahead log into the database file and truncate it (`wal_checkpoint(TRUNCATE)`), so
    a crawl does not leave a large `-wal` file behind. A reader still on an old snapshot makes SQLite give
    up after a second (the next crawl's checkpoint catches up). A no-op on other databases; never raises."""
    if engine.dialect.name != "sqlite":
        return
    connection = None
    try:
        connection = engine.raw_connection()
        cursor = connection.cursor()
        cursor.execute("PRAGMA busy_timeout = 1000")
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        busy, _, _ = cursor.fetchone()
        if busy:
            logger.info("The store's write-ahead log stays for now: a reader is on an older snapshot")
    except Exception as exc:  # noqa: BLE001 - housekeeping: the crawl's data is committed already
        logger.warning("No checkpoint of the store: %s", exc)
    finally:
        if connection is not None:
            connection.invalidate()  # its busy timeout was changed: not back into the pool


def upgrade_store(url: str) -> str | None:
    """Bring the store at `url` to this newsmon's schema (creating it when empty); returns the revision it had
    before (None: a new store).

    Raises:
        StoreError: it cannot be reached or upgraded (one line).
    """
    parsed = _parse(url)
    path = sqlite_path(url)
    before: str | None = None
    if path is None or path.exists():
        probe = _create(parsed)
        try:
            with probe.connect() as connection:
                before = stored_revision(connection)
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot open the store at {_shown(parsed)}: {_first_line(exc)}") from None
        finally:
            probe.dispose()
    if before is not None and before > SCHEMA_REVISION:
        raise StoreError(f"{_shown(parsed)} has schema {before}, newer than this newsmon's {SCHEMA_REVISION}")
    writer_engine(url)
    return before


def stored_revision(connection: Connection) -> str | None:
    """The schema revision stamped in the store (Alembic's version table), None for a store without one."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def alembic_config():  # noqa: ANN201 - alembic.config.Config, imported only when a migration runs
    """Alembic's configuration for the project's migrations."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    return config


def _parse(url: str) -> URL:
    """A store address as SQLAlchemy's URL: a database URL, or the path of a SQLite file (`data/newsmon.db`,
    `~/stores/news.db`), so every command and `NEWSMON_DB_URL` take either."""
    if url and "://" not in url and not url.startswith("sqlite:"):
        return URL.create("sqlite", database=str(Path(url).expanduser().resolve()))
    try:
        return make_url(url)
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number
        raise StoreError(f"not a database URL or a file path: {url!r} (e.g. data/newsmon.db)") from None


def _create(parsed: URL, **options: object) -> Engine:
    if parsed.get_backend_name() != "sqlite":
        size = _pool_size()
        options = {"pool_size": size, "max_overflow": size, **options}
    try:
        return create_engine(parsed, **options)
    except Exception as exc:  # noqa: BLE001 - a missing driver or a bad option is a one-line error for people
        raise StoreError(f"cannot open {_shown(parsed)}: {_first_line(exc)}") from None


def _shown(parsed: URL) -> str:
    return parsed.render_as_string(hide_password=True)


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _read_only_sessions(engine: Engine) -> None:
    """Make every connection of a server database refuse writes (queries never change the store)."""
    statement = {
        "postgresql": "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY",
        "mysql": "SET SESSION TRANSACTION READ ONLY",
        "mariadb": "SET SESSION TRANSACTION READ ONLY",
    }.get(engine.dialect.name)
    if statement is None:
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # noqa: ANN001 - DB-API objects
        cursor = dbapi_connection.cursor()
        cursor.execute(statement)
        cursor.close()
        dbapi_connection.commit()


def _sqlite_limits() -> tuple[int, int | None]:
    """(busy timeout in ms, max_page_count or None) from the environment (module docstring).

    Raises:
        StoreError: a value is not a whole number (0 or more; pages 1 or more).
    """
    values: list[int | None] = []
    for name, default, least in ((BUSY_TIMEOUT_ENV, BUSY_TIMEOUT_MS, 0), (MAX_PAGES_ENV, None, 1)):
        raw = os.environ.get(name, "").strip()
        if not raw:
            values.append(default)
            continue
        try:
            value = int(raw)
        except ValueError:
            value = -1
        if value < least:
            raise StoreError(f"{name} must be a whole number of at least {least}, got {raw!r}")
        values.append(value)
    busy_ms, max_pages = values
    assert busy_ms is not None
    return busy_ms, max_pages


def _tune_sqlite(
    engine: Engine, *, begin: str, writable: bool, busy_ms: int = BUSY_TIMEOUT_MS, max_pages: int | None = None
) -> None:
    """WAL, a busy timeout and explicit BEGIN (pysqlite's own transaction handling is turned off,
    per SQLAlchemy's SQLite dialect docs, so that writers take the lock up front with BEGIN IMMEDIATE
    instead of failing with SQLITE_BUSY when a read turns into a write)."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # noqa: ANN001 - DB-API objects
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_ms)}")
        cursor.execute("PRAGMA foreign_keys = ON")
        if writable:
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        if max_pages is not None:
            cursor.execute(f"PRAGMA max_page_count = {int(max_pages)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):  # noqa: ANN001
        connection.exec_driver_sql(begin)


def _pool_size() -> int:
    """Connections each engine keeps open to a database server (NEWSMON_DB_POOL_SIZE, default 2)."""
    try:
        return max(1, int(os.environ.get("NEWSMON_DB_POOL_SIZE", "2")))
    except ValueError:
        raise StoreError("NEWSMON_DB_POOL_SIZE is not a number of connections") from None

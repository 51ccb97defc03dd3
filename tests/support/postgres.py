"""PostgreSQL for the storage tests: whether a server is reachable, and a store on its own schema whose every
connection is closed when it is done with (a shared server has a connection limit)."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from storage.engine import dispose_engines

PG_URL = os.environ.get("NEWSMON_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@functools.cache
def pg_available() -> str | None:
    try:
        engine = create_engine(PG_URL, connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
    except Exception as exc:  # noqa: BLE001 - any failure means: no PostgreSQL here
        return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    return None


@contextlib.contextmanager
def pg_store() -> Iterator[str]:
    """A store URL on its own PostgreSQL schema, its connections named `application_name=<schema>`. On exit
    every connection this process opened to it is closed (a shared server has a limit) and the schema dropped."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = f"{PG_URL}?options=-csearch_path%3D{schema}&application_name={schema}"
        try:
            yield url
        finally:
            dispose_engines(url)
            with admin.begin() as connection:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        admin.dispose()


# the stores a test runs on: its PostgreSQL run is in the `postgres` set (`pytest -m postgres`, a CI step of its own)
STORE_KINDS = ("sqlite", pytest.param("postgresql", marks=pytest.mark.postgres))


@contextlib.contextmanager
def store_of(kind: str, folder: Path) -> Iterator[str]:
    """A fresh, empty store: "sqlite", a file in `folder`; "postgresql", a schema of its own on the test server
    (the test skips, with the reason, where none is reachable)."""
    if kind == "sqlite":
        folder.mkdir(parents=True, exist_ok=True)
        yield f"sqlite:///{folder / 'store.db'}"
        return
    problem = pg_available()
    if problem:
        pytest.skip(f"PostgreSQL not reachable at {PG_URL} ({problem})")
    with pg_store() as url:
        yield url


def sql_rows(url: str, query: str, **params: object) -> list[tuple]:
    """The rows of one SQL query on the store at `url`, dates as ISO strings (as SQLite gives them); the
    connection closed after."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text(query), params).fetchall()
    finally:
        engine.dispose()
    return [tuple(_as_sqlite(value) for value in row) for row in rows]


def _as_sqlite(value: object) -> object:
    return value.isoformat() if type(value) is dt.date else value

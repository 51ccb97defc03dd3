"""Several hosts sharing one PostgreSQL store (each host a local process here): the schema is upgraded once
whoever starts first. Skips with the reason where no PostgreSQL server is reachable (NEWSMON_TEST_PG_URL)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from sqlalchemy import create_engine, text

from storage import SCHEMA_REVISION
from tests.support.crawling import PROJECT_ROOT
from tests.support.postgres import pg_available, pg_store

pytestmark = pytest.mark.skipif(pg_available() is not None, reason=f"no PostgreSQL: {pg_available()}")


def test_three_hosts_starting_together_on_an_empty_schema_upgrade_it_once() -> None:
    with pg_store() as url:
        env = {key: value for key, value in os.environ.items() if key != "NEWSMON_DB_URL"}
        command = [sys.executable, "-m", "crawler.cli", "--db", url, "migrate"]
        hosts = [
            subprocess.Popen(
                command, cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
            for _ in range(3)
        ]
        done = [(host.wait(timeout=120), *host.communicate()) for host in hosts]
        assert [code for code, _, _ in done] == [0, 0, 0], [err for _, _, err in done]
        assert all(out.startswith(f"the store is at schema {SCHEMA_REVISION}") for _, out, _ in done)
        engine = create_engine(url)
        try:
            with engine.connect() as connection:
                assert connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [
                    SCHEMA_REVISION
                ]
        finally:
            engine.dispose()

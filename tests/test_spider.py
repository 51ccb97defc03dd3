"""The generic spider: its arguments and its entry-point requests."""

from __future__ import annotations

import asyncio
import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest
from scrapy.exceptions import UsageError

from crawler.seeds import DEFAULT_SEEDS_DIR, load_seeds
from crawler.spiderloader import spider_class
from pipelines.dates import today_utc

PROJECT_ROOT = Path(__file__).resolve().parent.parent
VENTUREBEAT = spider_class(load_seeds(DEFAULT_SEEDS_DIR)["venturebeat"])


def test_since_argument_and_default_window() -> None:
    assert VENTUREBEAT(since="2000-01-01").since == dt.date(2000, 1, 1)
    assert VENTUREBEAT().since == today_utc() - dt.timedelta(days=2)
    with pytest.raises(UsageError, match="YYYY-MM-DD"):
        VENTUREBEAT(since="yesterday")


def test_entry_points_are_requested_exactly_as_the_seed_writes_them() -> None:
    async def collect() -> list[str]:
        return [request.url async for request in VENTUREBEAT(since="2024-01-01").start()]

    assert asyncio.run(collect()) == ["https://venturebeat.com/robots.txt", "https://venturebeat.com/feed/"]


def test_bad_since_on_the_command_line_is_a_usage_error(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "scrapy",
            "crawl",
            "venturebeat",
            "-a",
            "since=last week",
            "-s",
            f"NEWSMON_DB_URL=sqlite:///{tmp_path / 'x.db'}",
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "error: since must be a date as YYYY-MM-DD, not 'last week'" in done.stderr
    assert not (tmp_path / "x.db").exists()

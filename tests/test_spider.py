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


@pytest.mark.parametrize("bad", ["yesterday", "", "20240501", "2024-W01-1", "2024-02-30"])
def test_since_argument(bad: str) -> None:
    assert VENTUREBEAT(since="2000-01-01").since == dt.date(2000, 1, 1)
    with pytest.raises(UsageError, match="YYYY-MM-DD"):
        VENTUREBEAT(since=bad)


def test_entry_points_are_requested_exactly_as_the_seed_writes_them() -> None:
    async def collect() -> list[str]:
        return [request.url async for request in VENTUREBEAT(since="2024-01-01").start()]

    assert asyncio.run(collect()) == ["https://venturebeat.com/robots.txt", "https://venturebeat.com/feed/"]


def _scrapy_crawl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", "venturebeat", *args],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_bad_since_on_the_command_line_is_a_usage_error(tmp_path: Path) -> None:
    done = _scrapy_crawl("-a", "since=last week", "-s", f"NEWSMON_DB_URL=sqlite:///{tmp_path / 'x.db'}")
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "error: since must be a date as YYYY-MM-DD, not 'last week'" in done.stderr
    assert not (tmp_path / "x.db").exists()


def test_without_since_a_crawl_starts_from_the_last_successful_run(tmp_path: Path) -> None:
    from scrapy.utils.test import get_crawler

    from storage import Store

    url = f"sqlite:///{tmp_path / 'runs.db'}"

    def spider() -> object:
        return VENTUREBEAT.from_crawler(get_crawler(VENTUREBEAT, {"NEWSMON_DB_URL": url}))

    assert spider().since == today_utc() - dt.timedelta(days=2)  # first run
    store = Store(url)
    run = store.runs.start_run("venturebeat", None)
    store.runs.finish_run(run, "partial", finish_reason="finished", counts={})
    assert spider().since == today_utc() - dt.timedelta(days=2)  # a partial run does not move the window
    run = store.runs.start_run("venturebeat", None)
    store.runs.finish_run(run, "ok", finish_reason="finished", counts={})
    assert spider().since == today_utc() - dt.timedelta(days=1)  # the ok run's day, with a day of overlap
    assert VENTUREBEAT.from_crawler(get_crawler(VENTUREBEAT, {"NEWSMON_DB_URL": url}), since="2020-02-02").since == (
        dt.date(2020, 2, 2)
    )


@pytest.mark.parametrize(
    ("reason", "stats", "status"),
    [
        ("finished", {"newsmon/feed/read": 1}, "ok"),
        ("finished", {"newsmon/sitemap/not_modified": 2}, "ok"),  # unchanged since the last run: an answer
        # issue 19: a run that asked for listings and read none is never ok, with no error logged either
        ("finished", {"newsmon/listing/requested": 2}, "failed"),
        ("finished", {"newsmon/listing/requested": 2, "newsmon/feed/invalid": 2}, "failed"),
        ("finished", {}, "ok"),  # a poll of a source whose only listing is a sitemap index: nothing to ask
        ("finished", {"log_count/ERROR": 2, "newsmon/feed/read": 1}, "partial"),
        ("finished", {"log_count/ERROR": 2}, "failed"),
        ("finished", {"log_count/ERROR": 1, "newsmon/feed/not_modified": 1}, "partial"),  # a 304 is an answer
        ("shutdown", {}, "interrupted"),
        ("closespider_timeout", {"newsmon/feed/read": 1}, "failed"),
        # 403 to every feed and sitemap (robots.txt may answer): the site refuses the crawler
        ("finished", {"log_count/ERROR": 2, "newsmon/listing/requested": 2, "newsmon/listing/refused": 2}, "blocked"),
        # a 403 among other failures is a failure like any other
        ("finished", {"log_count/ERROR": 3, "newsmon/listing/requested": 2, "newsmon/listing/refused": 1}, "failed"),
        # robots.txt disallows every entry point: nothing read, nothing logged as an error, not ok
        ("finished", {"newsmon/listing/requested": 2, "newsmon/listing/forbidden": 2}, "failed"),
    ],
)
def test_run_status(reason: str, stats: dict, status: str) -> None:
    from crawler.extensions import run_status

    found, error = run_status(reason, stats)
    assert found == status
    assert (error is None) is (status == "ok")


def test_unusable_store_on_the_command_line_is_a_usage_error() -> None:
    done = _scrapy_crawl("-s", "NEWSMON_DB_URL=sqlite:bogus")
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "error: not a database URL or a file path: 'sqlite:bogus'" in done.stderr


def test_an_unknown_source_is_one_error_line_with_the_closest_name(tmp_path: Path) -> None:
    """B19: `scrapy crawl venturebeet` names the source it does not know and the closest one, no traceback."""
    done = subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", "venturebeet", "-s", f"NEWSMON_DB_URL=sqlite:///{tmp_path / 'x.db'}"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "error: no source named 'venturebeet' (did you mean venturebeat?)" in done.stderr


def test_a_misspelt_spider_argument_is_one_line_naming_the_right_one(tmp_path: Path) -> None:
    """Issue 18: `-a sinse=2024-01-01` was set on the spider and read by nothing (a full default window ran)."""
    done = _scrapy_crawl("-a", "sinse=2024-01-01", "-s", f"NEWSMON_DB_URL={tmp_path / 'x.db'}")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "error: unknown spider argument -a sinse=...: did you mean since?" in done.stderr
    assert not (tmp_path / "x.db").exists()

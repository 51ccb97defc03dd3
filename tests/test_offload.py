"""A crawl's extraction and detection in worker processes (crawler/offload.py): the same store as reading every
page in the crawl's own process, and a worker that dies costs only its page."""

from __future__ import annotations

from pathlib import Path

import pytest

from storage import list_rounds
from tests.support.crawling import crawl
from tests.support.hangpipeline import dying_settings
from tests.support.postgres import sql_rows
from tests.support.sitebuilder import venturebeat_site

pytestmark = pytest.mark.slow

ARTICLES = "SELECT url, title, author, credit, content_hash, published, date_source FROM articles ORDER BY url"


def _rounds(url: str) -> list[tuple]:
    return sorted((r.company, r.amount, r.round, tuple(r.investors)) for r in list_rounds(url))


def test_pages_read_in_worker_processes_are_stored_as_pages_read_in_the_crawl(shared: Path, tmp_path: Path) -> None:
    pages, entries = venturebeat_site(shared)
    stores = {}
    for name, workers in (("inline", "0"), ("workers", "2")):
        url = f"sqlite:///{tmp_path / name}.db"
        settings = {"NEWSMON_WORKERS": workers, "NEWSMON_WORKERS_AFTER": "0"}
        done, stats = crawl(
            "venturebeat", db_url=url, pages=pages, cache_dir=tmp_path / "cache", extra_settings=settings
        )
        assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr[-2000:]
        assert ("worker processes from now on" in done.stderr) == (workers != "0")
        stores[name] = (sql_rows(url, ARTICLES), _rounds(url))
    assert len(stores["inline"][0]) == len(entries)
    assert stores["workers"] == stores["inline"]
    assert any(amount == 235e6 for _, amount, _, _ in stores["workers"][1])


def test_a_worker_that_dies_loses_its_page_and_the_crawl_goes_on(shared: Path, tmp_path: Path) -> None:
    pages, entries = venturebeat_site(shared)
    victim = sorted(entries, key=lambda e: e.url)[0].url
    url = f"sqlite:///{tmp_path / 'store.db'}"
    settings = {"NEWSMON_WORKERS": "2", "NEWSMON_WORKERS_AFTER": "0", **dying_settings(victim[-30:])}
    done, stats = crawl("venturebeat", db_url=url, pages=pages, cache_dir=tmp_path / "cache", extra_settings=settings)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "A worker process died" in done.stderr
    stored = [row[0] for row in sql_rows(url, "SELECT url FROM articles")]
    assert len(stored) == len(entries) - 1 and victim not in stored
    assert stats["newsmon/extract/extractor_error"] == 1

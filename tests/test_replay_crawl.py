"""End to end: `scrapy crawl venturebeat` replayed from real recorded pages into a temporary store, on SQLite and on
PostgreSQL where a server is reachable (NEWSMON_TEST_PG_URL)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, select
from sqlalchemy.orm import Session

from pipelines.urls import canonical_url
from storage import list_articles, list_rounds
from storage.engine import dispose_engines
from storage.models import CrawlRun
from tests.support.crawling import crawl
from tests.support.postgres import STORE_KINDS, sql_rows, store_of
from tests.support.sitebuilder import SEED_URL, venturebeat_site

pytestmark = pytest.mark.slow


def _dump(url: str) -> dict[str, list[tuple]]:
    """Every row of every table, for comparing two states of the store."""
    engine = create_engine(url)
    try:
        tables = inspect(engine).get_table_names()
    finally:
        engine.dispose()
    return {table: sorted(sql_rows(url, f'SELECT * FROM "{table}"'), key=repr) for table in tables}


def _stable(dump: dict[str, list[tuple]]) -> dict[str, list[tuple]]:
    """A dump without what every run rewrites: its own crawl_runs row, and when robots.txt was last fetched (the
    kept robots.txt itself must not change)."""
    out = {t: rows for t, rows in dump.items() if t != "crawl_runs"}
    out["robots_txt"] = [row[:-1] for row in dump.get("robots_txt", [])]
    return out


@pytest.fixture(scope="module", params=STORE_KINDS)
def replayed(
    request: pytest.FixtureRequest, shared: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, object]]:
    """One replay crawl of the recorded VentureBeat site, the same crawl again, then a nightly run (no `since`)."""
    root = tmp_path_factory.mktemp("replay")
    pages, entries = venturebeat_site(shared)
    with store_of(request.param, root) as url:
        first, first_stats = crawl("venturebeat", db_url=url, pages=pages, cache_dir=root / "cache")
        after_first = _dump(url)
        second, second_stats = crawl("venturebeat", db_url=url, pages=pages, cache_dir=root / "cache")
        after_second = _dump(url)
        nightly, nightly_stats = crawl("venturebeat", db_url=url, pages=pages, cache_dir=root / "cache", since=None)
        yield {
            "db_url": url,
            "entries": entries,
            "pages": pages,
            "runs": (first, second, nightly),
            "stats": (first_stats, second_stats, nightly_stats),
            "dumps": (after_first, after_second, _dump(url)),
        }
        dispose_engines(url)


def test_crawl_finishes_cleanly(replayed: dict) -> None:
    for run, stats in zip(replayed["runs"], replayed["stats"], strict=True):
        assert run.returncode == 0, run.stderr[-2000:]
        assert "Traceback" not in run.stderr
        assert stats["finish_reason"] == "finished"


def test_every_article_stored_once_with_title_and_date(replayed: dict) -> None:
    stored = {a.url: a for a in list_articles(replayed["db_url"])}
    entries = replayed["entries"]
    assert len(stored) == len(entries)
    by_url = dict(
        sql_rows(replayed["db_url"], "SELECT u.url, a.url FROM article_urls u JOIN articles a ON a.id = u.article_id")
    )
    for entry in entries:
        article = stored[by_url[canonical_url(entry.listed_url)]]
        assert " ".join(article.title.split()).replace("’", "'") == entry.title.replace("’", "'")
        assert abs((article.published - entry.published).days) <= 1, (entry.url, article.published)
        assert article.source == "venturebeat"
        assert article.date_source in ("jsonld", "meta", "htmldate", "visible", "feed")


def test_seed_round_found_and_nothing_else_from_it(replayed: dict) -> None:
    rounds = list_rounds(replayed["db_url"])
    hugging = [r for r in rounds if SEED_URL in r.sources]
    assert len(hugging) == 1
    found = hugging[0]
    assert (found.company, found.amount, found.currency, found.valuation) == ("Hugging Face", 235e6, "USD", 4e9)
    assert found.lead_investors == ["Salesforce Ventures"]
    assert found.announced == dt.date(2023, 8, 24)
    assert all(r.amount not in (500e6, 100e6, 160e6, 270e6) for r in rounds)


def test_one_article_recorded_at_two_urls_gives_one_round(replayed: dict) -> None:
    """Forter's 2016 VentureBeat article, recorded at its 2016 URL and at its 2025 URL."""
    forter = [r for r in list_rounds(replayed["db_url"]) if r.company == "Forter"]
    assert len(forter) == 1
    assert forter[0].amount == 32e6
    assert len(forter[0].sources) == 2 and forter[0].outlets == 1  # two captures, one outlet


def test_second_run_fetches_no_article_and_changes_nothing(replayed: dict) -> None:
    first_stats, second_stats, _ = replayed["stats"]
    assert first_stats["newsmon/links/requested"] == len(replayed["entries"])
    assert second_stats.get("newsmon/links/requested", 0) == 0
    assert second_stats["newsmon/links/already_stored"] >= len(replayed["entries"])
    first, second, _ = (_stable(dump) for dump in replayed["dumps"])
    assert first == second  # no article, URL, round, investor or link added or changed


def test_nightly_run_of_the_unchanged_site_requests_only_its_listings(replayed: dict) -> None:
    """Without `-a since` the window starts at the last good run: every listed article is older, so none is
    requested; the only requests are robots.txt (spider and robots middleware), the feed and the sitemaps."""
    stats = replayed["stats"][2]
    entries = replayed["entries"]
    assert "newsmon/links/requested" not in stats and stats["newsmon/links/too_old"] >= len(entries)
    article_urls = {url for e in entries for url in (e.url, e.listed_url)}
    listings = len(set(replayed["pages"]) - article_urls)
    assert stats["downloader/request_count"] == listings + 1
    before, after = (_stable(dump) for dump in replayed["dumps"][1:])
    assert before == after


def test_each_run_is_recorded(replayed: dict) -> None:
    """Every run adds its own crawl_runs row (the one table that grows on an identical re-run)."""
    runs = replayed["dumps"][2]["crawl_runs"]
    assert len(runs) == 3
    engine = create_engine(replayed["db_url"])
    try:
        with Session(engine) as session:
            rows = session.scalars(select(CrawlRun).order_by(CrawlRun.id)).all()
    finally:
        engine.dispose()
    assert [(r.source, r.status, r.finish_reason, str(r.since)) for r in rows] == [
        ("venturebeat", "ok", "finished", "2000-01-01")
    ] * 2 + [("venturebeat", "ok", "finished", str(rows[1].started.date() - dt.timedelta(1)))]
    assert rows[0].articles_new == len(replayed["entries"]) and rows[1].articles_new == 0
    assert rows[0].rounds_new == 2 and rows[0].rounds_merged == 1
    assert rows[0].requests > rows[1].requests > 0


def test_since_after_every_article_requests_no_article(shared: Path, tmp_path: Path) -> None:
    pages, entries = venturebeat_site(shared)
    run, stats = crawl(
        "venturebeat",
        db_url=f"sqlite:///{tmp_path / 'late.db'}",
        pages=pages,
        cache_dir=tmp_path / "cache",
        since="2030-01-01",
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert stats.get("newsmon/links/requested", 0) == 0
    assert stats["newsmon/links/too_old"] >= len(entries)
    article_urls = {url for e in entries for url in (e.url, e.listed_url)}
    listings = len(set(pages) - article_urls)  # robots.txt, feed, sitemap index, post and news sitemaps
    # robots.txt is requested twice (by the spider and by Scrapy's robots middleware); nothing else is
    assert stats["downloader/request_count"] == listings + 1
    assert not list_articles(f"sqlite:///{tmp_path / 'late.db'}")

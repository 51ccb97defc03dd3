"""Incremental crawls against a live site on 127.0.0.1: the default window, conditional requests (304 ends a
branch), an unchanged site costing only its listings, and a failed crawl recorded without harming the next. Each
on SQLite and on PostgreSQL where a server is reachable (the `db_url` fixture)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from crawler.replay import RecordedPage
from pipelines.dates import today_utc
from storage import source_health
from tests.support.crawling import crawl
from tests.support.httpsite import Page, Site, etag_of, serve
from tests.support.postgres import sql_rows
from tests.support.sitebuilder import Entry, article_page, news_sitemap, rss, sitemap_index

pytestmark = pytest.mark.slow

FAST = {"DOWNLOAD_DELAY": "0", "AUTOTHROTTLE_ENABLED": "False"}
SEED = """title = "Local News"
allowed_domains = ["127.0.0.1"]
robots_txt = "{base}/robots.txt"
feeds = ["{base}/feed.xml"]
article_url_pattern = '^http://127\\.0\\.0\\.1:\\d+/news/[a-z0-9-]+/$'
language = "en"
"""


def _entry(base: str, slug: str, published: dt.date) -> Entry:
    return Entry(f"{base}/news/{slug}/", published, slug.replace("-", " ").capitalize(), Path())


def _publish(site: Site, feed: list[Entry], sitemap: list[Entry]) -> None:
    """(Re)write the site's listings and article pages: robots.txt names a sitemap index (with an ETag) of one
    news sitemap (with a Last-Modified); the feed has an ETag."""
    base = site.base_url
    site.pages["/robots.txt"] = Page(f"User-agent: *\nSitemap: {base}/sitemap_index.xml\n".encode(), "text/plain")
    site.pages["/sitemap_index.xml"] = Page(sitemap_index([f"{base}/news-sitemap.xml"]), "application/xml", etag=True)
    site.pages["/feed.xml"] = Page(rss(feed, "Local News", base), "application/rss+xml", etag=True)
    stamp = dt.datetime.combine(max(e.published for e in sitemap), dt.time(6), dt.UTC) + dt.timedelta(
        minutes=len(sitemap)
    )
    site.pages["/news-sitemap.xml"] = Page(news_sitemap(sitemap, "Local News"), "application/xml", modified=stamp)
    for entry in {*feed, *sitemap}:
        site.pages[entry.url.removeprefix(base)] = Page(article_page(entry.url, entry.title, entry.published))


def _seeds(folder: Path, seed: str) -> Path:
    """A seeds folder holding `localnews.toml`."""
    seeds = folder / "seeds"
    seeds.mkdir()
    (seeds / "localnews.toml").write_text(seed)
    return seeds


def _nightly(db_url: str, seeds: Path, workdir: Path, since: str | None = None) -> dict[str, object]:
    """One crawl of the local site, without `-a since` as the nightly run makes it unless given; its stats."""
    done, stats = crawl("localnews", db_url=db_url, since=since, seeds_dir=seeds, extra_settings=FAST, workdir=workdir)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr[-2000:]
    return stats


def _rows(db_url: str) -> dict[str, list[tuple]]:
    return {
        table: sorted(sql_rows(db_url, f"SELECT * FROM {table}"), key=repr)
        for table in ("articles", "article_urls", "funding_rounds", "round_articles")
    }


def test_unchanged_site_costs_only_its_listings_and_a_change_fetches_only_what_is_new(
    tmp_path: Path, db_url: str
) -> None:
    today = today_utc()
    with serve(Site()) as site:
        base = site.base_url
        seeds = _seeds(tmp_path, SEED.format(base=base))
        fresh = [_entry(base, "acme-raises-20m", today), _entry(base, "beta-opens-office", today)]
        old = _entry(base, "old-story", today - dt.timedelta(days=10))
        extra = _entry(base, "gamma-raises-5m-seed", today)
        _publish(site, feed=[*fresh, old], sitemap=[fresh[0], extra])

        def run() -> dict[str, object]:
            return _nightly(db_url, seeds, tmp_path)

        first = run()  # first run: the last two days, from the listings' dates, before fetching anything
        assert first["newsmon/persist/articles_new"] == 3
        assert first["newsmon/links/too_old"] == 1 and old.url.removeprefix(base) not in site.paths_hit()
        after_first, hits_before = _rows(db_url), len(site.hits)

        second = run()  # nothing changed: conditional requests, the feed and the news sitemap answer 304
        second_hits = site.hits[hits_before:]
        listings = ["/feed.xml", "/news-sitemap.xml", "/robots.txt", "/robots.txt", "/sitemap_index.xml"]
        assert sorted(path for _, path, _ in second_hits) == listings  # robots.txt: the spider and the middleware
        by_path = {path: headers for _, path, headers in second_hits}
        assert by_path["/feed.xml"]["If-None-Match"] == etag_of(site.pages["/feed.xml"].body)
        assert "If-Modified-Since" in by_path["/news-sitemap.xml"]
        # an index is always read in full: it can stay identical while its newest child grows
        assert not {"If-None-Match", "If-Modified-Since"} & set(by_path["/sitemap_index.xml"])
        assert second["newsmon/feed/not_modified"] == 1 and second["newsmon/sitemap/not_modified"] == 1
        assert second["downloader/request_count"] == 5
        assert "newsmon/links/seen" not in second
        assert _rows(db_url) == after_first

        newer = _entry(base, "delta-raises-8m", today)
        _publish(site, feed=[newer, *fresh, old], sitemap=[fresh[0], extra])  # the feed changes, the sitemap not
        hits_before = len(site.hits)
        third = run()
        fetched = sorted(path for _, path, _ in site.hits[hits_before:] if path.startswith("/news/"))
        assert fetched == ["/news/delta-raises-8m/"]
        assert third["newsmon/sitemap/not_modified"] == 1 and third["newsmon/persist/articles_new"] == 1

    runs = sql_rows(db_url, "SELECT status, since, listings_unchanged FROM crawl_runs ORDER BY id")
    validators = dict(sql_rows(db_url, "SELECT url, coalesce(etag, last_modified) FROM listing_validators"))
    assert [(status, unchanged) for status, _, unchanged in runs] == [("ok", 0), ("ok", 2), ("ok", 1)]
    assert runs[0][1] == (today - dt.timedelta(days=2)).isoformat()
    assert runs[1][1] == (today - dt.timedelta(days=1)).isoformat()  # the last ok run's day, less one
    assert set(validators) == {f"{base}/feed.xml", f"{base}/news-sitemap.xml"}  # not the index


def test_an_article_that_could_not_be_fetched_is_retried_next_run(tmp_path: Path, db_url: str) -> None:
    """A 403 (bot protection, often temporary) or a 5xx after retries on an article is an error: the run is
    partial, so neither its window nor its listings' validators are kept, and the next run reads the listings
    in full from the last ok run and fetches the article again, even one dated the day before."""
    today = today_utc()
    yesterday = today - dt.timedelta(days=1)
    with serve(Site()) as site:
        base = site.base_url
        seeds = _seeds(tmp_path, SEED.format(base=base))
        good, flaky = _entry(base, "acme-raises-20m", today), _entry(base, "beta-raises-3m", yesterday)
        _publish(site, feed=[good, flaky], sitemap=[good])
        site.pages["/news/beta-raises-3m/"].status = 403

        def run() -> dict[str, object]:
            return _nightly(db_url, seeds, tmp_path)

        def validators() -> dict[str, tuple]:
            rows = sql_rows(db_url, "SELECT url, etag, last_modified FROM listing_validators")
            return {url: (etag, modified) for url, etag, modified in rows}

        first = run()
        assert first["newsmon/persist/articles_new"] == 1 and first["newsmon/errors/http_403"] == 1
        assert validators() == {}
        site.pages["/news/beta-raises-3m/"].status = 200
        second = run()
        assert second["newsmon/persist/articles_new"] == 1 and "newsmon/feed/not_modified" not in second
        kept = validators()
        assert set(kept) == {f"{base}/feed.xml", f"{base}/news-sitemap.xml"}

        late = _entry(base, "gamma-raises-9m", yesterday)  # listed after the last ok run, dated the day before
        _publish(site, feed=[late, good, flaky], sitemap=[good])
        site.pages["/news/gamma-raises-9m/"].status = 500  # retried, then given up
        third = run()
        assert third["newsmon/errors/http_500"] == 1 and validators() == kept
        site.pages["/news/gamma-raises-9m/"].status = 200
        fourth = run()
        assert fourth["newsmon/persist/articles_new"] == 1 and fourth["newsmon/sitemap/not_modified"] == 1
    runs = sql_rows(db_url, "SELECT status, since FROM crawl_runs ORDER BY id")
    window = str(today - dt.timedelta(days=2))
    assert runs == [("partial", window), ("ok", window), ("partial", str(yesterday)), ("ok", str(yesterday))]


def test_a_failed_crawl_is_recorded_and_the_next_run_is_unaffected(shared: Path, tmp_path: Path, db_url: str) -> None:
    from tests.support.sitebuilder import venturebeat_site

    pages, entries = venturebeat_site(shared)
    broken = {url: RecordedPage(b"Internal Server Error", "text/plain", status=500) for url in pages}
    done, stats = crawl("venturebeat", db_url=db_url, pages=broken, cache_dir=tmp_path / "broken", since=None)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr[-2000:]  # a failed run exits 1
    (health,) = [h for h in source_health(db_url, ["venturebeat"]) if h.name == "venturebeat"]
    assert health.last_status == "failed" and "no feed or sitemap could be read" in health.last_error

    # the next nightly run still takes the first-run window (a failed run never moves it) and ends ok
    done, stats = crawl("venturebeat", db_url=db_url, pages=pages, cache_dir=tmp_path / "good", since=None)
    assert done.returncode == 0, done.stderr[-2000:]
    runs = sql_rows(db_url, "SELECT status, since FROM crawl_runs ORDER BY id")
    first_window = str(today_utc() - dt.timedelta(days=2))
    assert runs == [("failed", first_window), ("ok", first_window)]

    done, stats = crawl("venturebeat", db_url=db_url, pages=pages, cache_dir=tmp_path / "good")  # a backfill
    assert done.returncode == 0, done.stderr[-2000:]
    assert stats["newsmon/persist/articles_new"] == len(entries)
    (health,) = [h for h in source_health(db_url, ["venturebeat"]) if h.name == "venturebeat"]
    last = (health.last_status, health.last_articles_new, health.runs, health.error_rate)
    assert last == ("ok", len(entries), 3, round(1 / 3, 3))
    assert json.dumps(health.as_json())  # printable as `newsmon sources --json` prints it


def test_a_stored_article_listed_as_changed_since_it_was_fetched_is_fetched_again(tmp_path: Path, db_url: str) -> None:
    """A `<lastmod>` after the day an article was last fetched (a correction) fetches it again: a changed text is
    an update (matrix row L2: upsert only when the hash changed), the same text only a new fetch date, and an
    article whose listing says nothing new is not fetched. The first crawl is moved a day back in the store."""
    from tests.support.sitebuilder import urlset

    today = today_utc()
    week_ago = today - dt.timedelta(days=7)
    with serve(Site()) as site:
        base = site.base_url
        seed = SEED.format(base=base).replace('feeds = ["', 'sitemaps = ["').replace("/feed.xml", "/sitemap.xml")
        seeds = _seeds(tmp_path, seed)
        entries = [_entry(base, slug, week_ago) for slug in ("acme-raises-20m", "beta-grows", "gamma-hires")]
        _publish(site, feed=entries, sitemap=entries)
        site.pages["/sitemap.xml"] = Page(urlset(entries), "application/xml")

        def run() -> tuple[dict[str, object], list[str]]:
            before = len(site.hits)
            stats = _nightly(db_url, seeds, tmp_path, since=str(today - dt.timedelta(days=30)))
            return stats, sorted(p for _, p, _ in site.hits[before:] if p.startswith("/news/"))

        first, fetched = run()
        assert first["newsmon/persist/articles_new"] == 3 and len(fetched) == 3
        day_back = "datetime(fetched, '-1 day')" if db_url.startswith("sqlite") else "fetched - interval '1 day'"
        engine = create_engine(db_url)
        with engine.begin() as connection:
            connection.execute(text(f"UPDATE articles SET fetched = {day_back}"))
        engine.dispose()
        acme, beta, gamma = entries
        corrected = article_page(acme.url, "Acme raises $25M, not $20M", week_ago)
        site.pages["/news/acme-raises-20m/"] = Page(corrected)
        relisted = [Entry(e.url, today, e.title, e.file) for e in (acme, beta)]  # lastmod today
        site.pages["/sitemap.xml"] = Page(urlset([*relisted, gamma]), "application/xml")

        second, fetched = run()
        assert fetched == ["/news/acme-raises-20m/", "/news/beta-grows/"]  # gamma: listed as before
        assert second["newsmon/links/changed"] == 2  # each is also in the news sitemap: seen twice, fetched once
        assert second["newsmon/persist/articles_updated"] == 1 and second.get("newsmon/persist/articles_new", 0) == 0
        third, fetched = run()  # both were fetched today, which their lastmod is not after
        assert fetched == [] and "newsmon/links/changed" not in third
    titles = [title for (title,) in sql_rows(db_url, "SELECT title FROM articles ORDER BY url")]
    runs = sql_rows(db_url, "SELECT articles_new, articles_updated FROM crawl_runs ORDER BY id")
    assert titles == ["Acme raises $25M, not $20M", "Beta grows", "Gamma hires"]
    assert runs == [(3, 0), (0, 1), (0, 0)]

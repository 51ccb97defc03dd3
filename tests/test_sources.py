"""Every source in seeds/: its entry points replayed through a real `scrapy crawl`, and the articles it picks.

Each source's site is its real entry-point URLs (robots.txt, feeds) answering with listings. Where the shared
corpus has the site's own feed (TechCrunch) or article pages (SiliconANGLE, PR Newswire, GlobeNewswire), those
recordings are served in place; otherwise the listings are small fixtures written here in the site's real URL
shapes, mixing article URLs with the section, tag, video and off-site links real feeds carry. The test asserts
that exactly the article URLs were fetched and stored, each once.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import pytest
from lxml import etree

from crawler.replay import RecordedPage
from crawler.seeds import DEFAULT_SEEDS_DIR, load_seeds
from pipelines.urls import canonical_url
from tests.conftest import SHARED, crawl
from tests.sitebuilder import Entry, article_page, corpus_entries, news_sitemap, rss, sitemap_index

pytestmark = pytest.mark.slow

SOURCES = load_seeds(DEFAULT_SEEDS_DIR)


@dataclass(frozen=True)
class SiteFixture:
    """What a source's listings hold: article URLs it must fetch, and links it must leave alone."""

    news_sitemap: str  # a sitemap robots.txt names and the seed's `sitemap_follow` admits
    ignored_sitemap: str  # one it names that the seed must not read
    articles: tuple[str, ...]
    not_articles: tuple[str, ...]
    corpus_site: str | None = None  # serve these labelled corpus pages too (they are listed in the feed)
    corpus_feed: str | None = None  # the first feed is this real recorded feed


FIXTURES: dict[str, SiteFixture] = {
    "venturebeat": SiteFixture(
        "https://venturebeat.com/news-sitemap.xml",
        "https://venturebeat.com/image-sitemap.xml",
        ("https://venturebeat.com/ai/acme-robotics-raises-40m-series-b/",),
        ("https://venturebeat.com/category/ai/", "https://venturebeat.com/author/jane-doe/"),
        corpus_site="venturebeat",
    ),
    "techcrunch": SiteFixture(
        "https://techcrunch.com/news-sitemap.xml",
        "https://techcrunch.com/category-sitemap.xml",
        ("https://techcrunch.com/2023/08/16/acme-robotics-raises-40m-series-b/",),
        ("https://techcrunch.com/category/venture/", "https://techcrunch.com/video/acme-robotics-demo/"),
        corpus_feed="feeds/techcrunch-feed-2023-08-16.xml",
    ),
    "siliconangle": SiteFixture(
        "https://siliconangle.com/news-sitemap.xml",
        "https://siliconangle.com/author-sitemap.xml",
        ("https://siliconangle.com/2024/05/14/acme-data-raises-25m-series-a/",),
        ("https://siliconangle.com/category/cloud/", "https://siliconangle.com/tag/funding/"),
        corpus_site="siliconangle",
    ),
    "geekwire": SiteFixture(
        "https://www.geekwire.com/news-sitemap.xml",
        "https://www.geekwire.com/page-sitemap.xml",
        ("https://www.geekwire.com/2024/seattle-startup-acme-raises-12m/",),
        ("https://www.geekwire.com/fundings/", "https://www.geekwire.com/events/geekwire-summit/"),
    ),
    "crunchbase_news": SiteFixture(
        "https://news.crunchbase.com/news-sitemap.xml",
        "https://news.crunchbase.com/category-sitemap.xml",
        (
            "https://news.crunchbase.com/venture/biggest-funding-rounds-week-acme/",
            "https://news.crunchbase.com/ai/acme-ai-series-c-funding/",
        ),
        ("https://news.crunchbase.com/sections/venture/", "https://news.crunchbase.com/tag/ai/"),
    ),
    "tech_eu": SiteFixture(
        "https://tech.eu/news-sitemap.xml",
        "https://tech.eu/tag-sitemap.xml",
        ("https://tech.eu/2024/05/14/berlin-based-acme-raises-eur10m/",),
        ("https://tech.eu/category/funding/", "https://tech.eu/about/"),
    ),
    "eu_startups": SiteFixture(
        "https://www.eu-startups.com/news-sitemap.xml",
        "https://www.eu-startups.com/category-sitemap.xml",
        (
            "https://www.eu-startups.com/2024/05/paris-based-acme-secures-e8-million/",
            "https://www.eu-startups.com/2024/05/eu-startups-weekly-funding-round-up/",
        ),
        ("https://www.eu-startups.com/category/fundin/", "https://www.eu-startups.com/directory/acme/"),
    ),
    "sifted": SiteFixture(
        "https://sifted.eu/news-sitemap.xml",
        "https://sifted.eu/sectors-sitemap.xml",
        ("https://sifted.eu/articles/acme-series-a-funding",),
        ("https://sifted.eu/sector/fintech", "https://sifted.eu/pro/briefings/fintech-q2"),
    ),
    "techcabal": SiteFixture(
        "https://techcabal.com/news-sitemap.xml",
        "https://techcabal.com/tag-sitemap.xml",
        (
            "https://techcabal.com/2024/05/14/nigerian-fintech-acme-raises-5m-seed/",
            "https://techcabal.com/2024/05/15/kenyan-acme-logistics-raises-2m/",
        ),
        ("https://techcabal.com/category/funding/", "https://techcabal.com/events/"),
    ),
    "inc42": SiteFixture(
        "https://inc42.com/news-sitemap.xml",
        "https://inc42.com/category-sitemap.xml",
        (
            "https://inc42.com/buzz/acme-raises-inr-100-cr-series-b/",
            "https://inc42.com/funding/funding-galore-indian-startups-this-week/",
        ),
        ("https://inc42.com/buzz/", "https://inc42.com/tag/funding/"),
    ),
    "yourstory": SiteFixture(
        "https://yourstory.com/sitemap-news.xml",
        "https://yourstory.com/sitemap-tags.xml",
        (
            "https://yourstory.com/2024/05/acme-raises-rs-50-crore-series-a",
            "https://yourstory.com/herstory/2024/05/acme-women-founders-seed-funding",
        ),
        ("https://yourstory.com/companies/acme", "https://yourstory.com/search?q=funding"),
    ),
    "prnewswire": SiteFixture(
        "https://www.prnewswire.com/sitemap-news.xml",
        "https://www.prnewswire.com/sitemap-gallery.xml",
        ("https://www.prnewswire.com/news-releases/acme-raises-30-million-series-b-302112345.html",),
        (
            "https://www.prnewswire.com/news/acme-inc/",
            "https://www.prnewswire.com/news-releases/financial-services-latest-news/venture-capital-list/",
        ),
        corpus_site="prnewswire",
    ),
    "globenewswire": SiteFixture(
        "https://www.globenewswire.com/sitemap-news.xml",
        "https://www.globenewswire.com/sitemap-organizations.xml",
        ("https://www.globenewswire.com/news-release/2024/05/14/2881234/0/en/Acme-Raises-20-Million-Series-A.html",),
        (
            "https://www.globenewswire.com/news-release/2024/05/14/2881235/0/fr/Acme-leve-20-millions.html",
            "https://www.globenewswire.com/search/organization/Acme",
        ),
        corpus_site="globenewswire",
    ),
}

LISTED = dt.date(2024, 5, 14)


def _page(url: str, title: str) -> bytes:
    return article_page(url, title, LISTED)


def _title(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1].removesuffix(".html").replace("-", " ").capitalize()


def _feed_links(body: bytes) -> list[str]:
    """The item links of a recorded RSS feed, read with lxml (not with the code under test)."""
    root = etree.fromstring(body, etree.XMLParser(resolve_entities=False, no_network=True))
    return [link.text.strip() for item in root.iter("item") for link in item.findall("link") if link.text]


def recorded_site(name: str) -> tuple[dict[str, RecordedPage], set[str]]:
    """A source's entry points and listings, and the set of article URLs a correct crawl stores."""
    source, fixture = SOURCES[name], FIXTURES[name]
    pages: dict[str, RecordedPage] = {}
    expected: set[str] = set()
    corpus = corpus_entries(SHARED, fixture.corpus_site) if fixture.corpus_site else []
    for entry in corpus:
        pages[entry.url] = RecordedPage(entry.file.read_bytes())
        expected.add(entry.url)
    made = [Entry(url, LISTED, _title(url), Path()) for url in fixture.articles]
    for entry in made:
        pages[entry.url] = RecordedPage(_page(entry.url, entry.title))
        expected.add(entry.url)
    for url in fixture.not_articles:  # served, so a crawl that wrongly fetched one would store it
        pages[url] = RecordedPage(_page(url, _title(url)))
    noise = [Entry(url, LISTED, _title(url), Path()) for url in fixture.not_articles]
    noise.append(Entry("https://elsewhere.example/2024/05/14/acme-raises-1m/", LISTED, "Off-site", Path()))

    first_feed, *other_feeds = source.feeds
    if fixture.corpus_feed:
        body = (SHARED / "corpus" / fixture.corpus_feed).read_bytes()
        pages[first_feed] = RecordedPage(body, "application/rss+xml")
        for url in _feed_links(body):
            if source.article_url_pattern.search(url):
                pages[url] = RecordedPage(_page(url, _title(url)))
                expected.add(url)
    else:
        listing = [*corpus, *(made[:1] if other_feeds else made), *noise]
        pages[first_feed] = RecordedPage(rss(listing, source.title, first_feed), "application/rss+xml")
    for feed in other_feeds:  # a category feed: the other articles, one the first feed lists too, and noise
        listing = [*made[1:], *made[:1], *noise]
        pages[feed] = RecordedPage(rss(listing, source.title, feed), "application/rss+xml")
    robots = (
        f"User-agent: *\nDisallow: /wp-admin/\n\nSitemap: {fixture.news_sitemap}\nSitemap: {fixture.ignored_sitemap}\n"
    )
    pages[source.robots_txt[0]] = RecordedPage(robots.encode(), "text/plain")
    pages[fixture.news_sitemap] = RecordedPage(news_sitemap([*made[-1:], *noise[:1]], source.title), "application/xml")
    pages[fixture.ignored_sitemap] = RecordedPage(sitemap_index([f"{fixture.news_sitemap}?page=2"]), "application/xml")
    return pages, expected


def test_every_source_has_a_replay_fixture() -> None:
    """A new seed file needs its own replay fixture here (as alltheplaces needs a test per spider)."""
    assert set(FIXTURES) == set(SOURCES)
    assert len(SOURCES) >= 11


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_fixture_urls_agree_with_the_seed(name: str) -> None:
    """The fixture's article URLs match the seed's pattern and its other links do not (checked without a crawl)."""
    source, fixture = SOURCES[name], FIXTURES[name]
    for url in fixture.articles:
        assert source.article_url_pattern.search(url), url
    for url in fixture.not_articles:
        pattern_hit = source.article_url_pattern.search(url)
        assert not pattern_hit or any(p.search(url) for p in source.exclude_url_patterns), url
    assert source.sitemap_follow is None or source.sitemap_follow.search(fixture.news_sitemap)
    assert source.sitemap_follow is not None and not source.sitemap_follow.search(fixture.ignored_sitemap)


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_replayed_entry_points_fetch_exactly_the_articles(name: str, shared: Path, tmp_path: Path) -> None:
    pages, expected = recorded_site(name)
    db_file = tmp_path / "newsmon.db"
    run, stats = crawl(name, db_url=f"sqlite:///{db_file}", pages=pages, cache_dir=tmp_path / "cache")
    assert run.returncode == 0, run.stderr[-2000:]
    assert "Traceback" not in run.stderr
    assert stats["finish_reason"] == "finished"
    with sqlite3.connect(db_file) as connection:
        listed = {url for (url,) in connection.execute("SELECT url FROM article_urls")}
        sources = {
            s
            for (s,) in connection.execute(
                "SELECT DISTINCT s.name FROM articles a JOIN sources s ON s.id = a.source_id"
            )
        }
        status = connection.execute("SELECT status FROM crawl_runs").fetchall()
    assert {canonical_url(url) for url in expected} <= listed
    assert not {canonical_url(url) for url in FIXTURES[name].not_articles} & listed
    assert stats["newsmon/persist/articles_new"] == len(expected)
    # robots.txt (twice: the spider and Scrapy's robots middleware), each feed, the news sitemap, each article once
    assert stats["downloader/request_count"] == 2 + len(SOURCES[name].feeds) + 1 + len(expected)
    assert stats.get("newsmon/sitemap/not_followed", 0) >= 1
    assert stats["newsmon/links/not_article"] >= 2
    assert sources == {name}
    assert status == [("ok",)]

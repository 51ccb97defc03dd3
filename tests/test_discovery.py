"""Discovery: sitemaps, news sitemaps and feeds read into dated links; URL and date filters."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path

import pytest

from crawler.discovery import (
    Link,
    child_sitemap_in_window,
    follows_sitemap,
    in_window,
    is_article_url,
    parse_feed,
    parse_sitemap,
    sitemap_urls_from_robots,
    url_period_end,
)
from crawler.seeds import DEFAULT_SEEDS_DIR, load_seeds

VENTUREBEAT = load_seeds(DEFAULT_SEEDS_DIR)["venturebeat"]


def _labels(shared: Path, name: str) -> list[dict]:
    return [json.loads(line) for line in (shared / "corpus" / name).read_text().splitlines()]


def _body(shared: Path, label: dict) -> bytes:
    body = (shared / "corpus" / label["file"]).read_bytes()
    return gzip.decompress(body) if body[:2] == b"\x1f\x8b" else body


def test_corpus_sitemaps_give_every_url(shared: Path) -> None:
    for label in _labels(shared, "sitemaps.jsonl"):
        sitemap = parse_sitemap(_body(shared, label))
        assert sitemap is not None, label["file"]
        assert sitemap.kind == "urlset"
        assert len(sitemap.links) == label["items"], label["file"]
        assert all(link.url.startswith("http") for link in sitemap.links)


def test_news_sitemap_publication_dates_and_titles_are_kept(shared: Path) -> None:
    label = next(x for x in _labels(shared, "sitemaps.jsonl") if "shinpaideshou" in x["file"])
    links = parse_sitemap(_body(shared, label)).links
    assert {link.published for link in links} <= {dt.date(2017, 4, 24), dt.date(2017, 4, 25)}
    assert all(link.published and link.title for link in links)


def test_lastmod_is_kept_as_modified_not_published(shared: Path) -> None:
    label = next(x for x in _labels(shared, "sitemaps.jsonl") if x["file"].endswith("sitemaps-org-sitemap-2016.xml"))
    links = parse_sitemap(_body(shared, label)).links
    assert {link.modified for link in links} == {dt.date(2016, 11, 21)}
    assert all(link.published is None for link in links)


def test_corpus_feeds_give_every_item_with_a_date(shared: Path) -> None:
    for label in _labels(shared, "feeds.jsonl"):
        links = parse_feed(_body(shared, label), label["url"] or "")
        assert len(links) == label["items"], label["file"]
        assert all(link.url.startswith("http") for link in links), label["file"]
        assert all(link.published for link in links), label["file"]


def test_feedburner_original_link_is_preferred(shared: Path) -> None:
    label = next(x for x in _labels(shared, "feeds.jsonl") if "jn-pt" in x["file"])
    links = parse_feed(_body(shared, label))
    assert all("feedproxy" not in link.url and "feeds.jn.pt" not in link.url for link in links)


def test_techcrunch_feed_links_and_dates(shared: Path) -> None:
    label = next(x for x in _labels(shared, "feeds.jsonl") if "techcrunch" in x["file"])
    links = parse_feed(_body(shared, label))
    assert all(link.url.startswith("https://techcrunch.com/2023/08/1") for link in links)
    assert {link.published for link in links} <= {dt.date(2023, 8, 15), dt.date(2023, 8, 16)}


@pytest.mark.parametrize(
    "body",
    [b"", b"not xml at all", b"<html><body>hello</body></html>", b"\x00\x01\x02", b'{"items": 5}', b"<rss>"],
)
def test_garbage_is_neither_sitemap_nor_feed(body: bytes) -> None:
    assert parse_sitemap(body) is None
    assert parse_feed(body) == []


def test_xml_entities_are_not_expanded() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
        b'<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>https://e.com/&b;&x;</loc></url>'
        b"</urlset>"
    )
    sitemap = parse_sitemap(bomb)
    assert sitemap is not None
    assert all("aaaa" not in link.url and "root:" not in link.url for link in sitemap.links)


def test_sitemap_urls_from_robots() -> None:
    robots = b"User-agent: *\nDisallow: /x\nSitemap: https://venturebeat.com/sitemap_index.xml\nsitemap: /news.xml\n"
    assert list(sitemap_urls_from_robots(robots, "https://venturebeat.com/robots.txt")) == [
        "https://venturebeat.com/sitemap_index.xml",
        "https://venturebeat.com/news.xml",
    ]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://venturebeat.com/ai/hugging-face-gets-a-235m-group-hug-led-by-salesforce/", True),
        ("http://venturebeat.com/2016/04/21/forter-raises-32-million-to-automate-retailers-battle/", True),
        ("https://venturebeat.com/category/ai/", False),
        ("https://venturebeat.com/tag/funding/", False),
        ("https://venturebeat.com/author/jane-doe/", False),
        ("https://venturebeat.com/", False),
        ("https://techcrunch.com/2023/08/15/some-story/", False),
        ("ftp://venturebeat.com/ai/some-story/", False),
        ("javascript:alert(1)", False),
        ("https://venturebeat.com/ai/" + "a" * 5000 + "/", False),
    ],
)
def test_venturebeat_article_urls(url: str, expected: bool) -> None:
    assert is_article_url(url, VENTUREBEAT) is expected


def test_venturebeat_follows_post_and_news_sitemaps_only() -> None:
    base = "https://venturebeat.com/"
    assert follows_sitemap(base + "sitemap_index.xml", VENTUREBEAT)
    assert follows_sitemap(base + "post-sitemap12.xml", VENTUREBEAT)
    assert follows_sitemap(base + "news-sitemap.xml", VENTUREBEAT)
    assert not follows_sitemap(base + "category-sitemap.xml", VENTUREBEAT)
    assert not follows_sitemap(base + "image-sitemap.xml", VENTUREBEAT)
    assert not follows_sitemap("https://evil.example/post-sitemap.xml", VENTUREBEAT)


def test_window_uses_the_newest_listed_date() -> None:
    since = dt.date(2024, 1, 10)
    assert in_window(Link("u", published=dt.date(2024, 1, 10)), since)
    assert not in_window(Link("u", published=dt.date(2024, 1, 9)), since)
    assert in_window(Link("u", published=dt.date(2023, 1, 1), modified=dt.date(2024, 2, 1)), since)
    assert not in_window(Link("u", modified=dt.date(2023, 12, 31)), since)
    assert in_window(Link("u"), since)  # undated: only the page can tell


def test_sitemap_follow_ignores_query_strings() -> None:
    """Children named by a query string (`?page=2`, `?yyyy=2024&mm=05&dd=14`) are read like their base name."""
    assert follows_sitemap("https://venturebeat.com/sitemap.xml?yyyy=2024&mm=05&dd=14", VENTUREBEAT)
    assert follows_sitemap("https://venturebeat.com/news-sitemap.xml?page=2#top", VENTUREBEAT)
    assert not follows_sitemap("https://venturebeat.com/image-sitemap.xml?page=2", VENTUREBEAT)


@pytest.mark.parametrize(
    ("url", "end"),
    [
        ("https://sitemaps.globenewswire.com/news/en/2024-05.xml", dt.date(2024, 5, 31)),
        ("https://sitemaps.globenewswire.com/news/en/2024-02.xml", dt.date(2024, 2, 29)),
        ("https://venturebeat.com/sitemap.xml?yyyy=2024&mm=05&dd=14", dt.date(2024, 5, 14)),
        ("https://venturebeat.com/sitemap.xml?yyyy=2024&mm=12", dt.date(2024, 12, 31)),
        ("https://example.com/sitemap-2023-12-31.xml", dt.date(2023, 12, 31)),
        ("https://example.com/wp-content/uploads/2019/05/sitemap-news.xml", None),  # a folder, not the period
        ("https://example.com/sitemap-posts-2024-05.xml", dt.date(2024, 5, 31)),
        # a week: the ISO week's Sunday and six days more (sites count weeks their own way)
        ("https://yourstory.com/sitemap_2024_week20.xml", dt.date(2024, 5, 25)),
        ("https://www.newswire.ca/Sitemap_Index_Feb_2024.xml.gz", dt.date(2024, 2, 29)),
        ("https://www.axios.com/sitemaps/dec-2025.xml", dt.date(2025, 12, 31)),
        ("https://www.newswire.ca/Sitemap_Index_September_2024.xml.gz", dt.date(2024, 9, 30)),
        ("https://www.geekwire.com/sitemap-54.xml", None),  # a number, not a date
        ("https://example.com/sitemap-marketing-2019.xml", None),  # a word that starts like a month
        ("https://example.com/sitemaps/decade_2010.xml", None),
        ("https://example.com/sitemap.xml?y=24&m=05", None),  # a two-digit year
        ("https://example.com/post-sitemap12.xml", None),
        ("https://sitemaps.globenewswire.com/news/en/latest.xml", None),
        ("https://example.com/sitemap-2024-13.xml", None),  # no such month
        ("https://example.com/sitemap.xml?yyyy=2024&mm=02&dd=30", None),  # no such day
    ],
)
def test_url_period_end(url: str, end: dt.date | None) -> None:
    assert url_period_end(url) == end


def test_a_child_sitemap_dated_before_the_window_is_not_read() -> None:
    since = dt.date(2024, 5, 10)
    assert child_sitemap_in_window(Link("https://x.example/news/en/2024-05.xml"), since)
    assert not child_sitemap_in_window(Link("https://x.example/news/en/2024-04.xml"), since)
    assert not child_sitemap_in_window(Link("https://x.example/sitemap.xml?yyyy=2024&mm=05&dd=09"), since)
    assert child_sitemap_in_window(Link("https://x.example/sitemap-12.xml"), since)  # undated: read
    assert not child_sitemap_in_window(Link("https://x.example/sitemap-12.xml", modified=dt.date(2024, 1, 1)), since)
    # a <lastmod> inside the window wins over an older name: the child changed (a correction)
    assert child_sitemap_in_window(Link("https://x.example/news/en/2024-04.xml", modified=dt.date(2024, 5, 15)), since)


def test_feed_idioms_that_lost_links_or_dates_keep_them(shared: Path) -> None:
    """Issue 17, class 21, on real feeds written the way other publishers write them: a bare "&" in a link
    keeps its query, RFC 822 zones beyond the US ones (CET, PT, -01:01) are not read as UTC, a date with no time
    or an extra comma keeps its day, and an Atom entry whose only URL is its id still gives that link."""
    from pipelines.dates import parse_machine_date

    techcrunch = (shared / "corpus" / "feeds" / "techcrunch-feed-2023-08-16.xml").read_bytes()
    first = b"<link>https://techcrunch.com/2023/08/15/paid-users-of-x-formerly-twitter-gets-a-new-tab-to-highlight-their-posts/</link>"
    assert first in techcrunch
    bare = techcrunch.replace(first, first.replace(b"/</link>", b"/?utm_source=rss&utm_medium=feed</link>"))
    links = parse_feed(bare, "https://techcrunch.com/feed/")
    assert len(links) == len(parse_feed(techcrunch, "https://techcrunch.com/feed/")) == 20
    paid = [link.url for link in links if "paid-users-of-x" in link.url]
    assert paid and paid[0].endswith("/?utm_source=rss&utm_medium=feed")  # not "?utm_source=rssutm_medium=feed"

    zoned = techcrunch.replace(b"Wed, 16 Aug 2023 05:41:28 +0000", b"Wed, 16 Aug 2023 00:30:00 CEST")
    zoned = zoned.replace(b"Wed, 16 Aug 2023 04:51:34 +0000", b"Wed, 16 Aug, 2023")
    dated = parse_feed(zoned, "https://techcrunch.com/feed/")
    assert [link.published for link in dated[:2]] == [dt.date(2023, 8, 16)] * 2
    cases = {
        "Wed, 16 Aug 2023 00:30:00 CEST": dt.datetime(2023, 8, 15, 22, 30, tzinfo=dt.UTC),
        "Mon, 13 Feb 2012 06:28:00 PT": dt.datetime(2012, 2, 13, 14, 28, tzinfo=dt.UTC),
        "Mon, 13 Feb 2012 06:28:00 -01:01": dt.datetime(2012, 2, 13, 7, 29, tzinfo=dt.UTC),
        "Mon, 13 Feb, 2012 06:28:00 UTC": dt.datetime(2012, 2, 13, 6, 28, tzinfo=dt.UTC),
    }
    for text, moment in cases.items():
        assert parse_machine_date(text) == (moment.date() if "CEST" not in text else dt.date(2023, 8, 16), moment)
    assert parse_machine_date("Mon, 13 Feb 2012") == (dt.date(2012, 2, 13), None)

    heise = (shared / "corpus" / "feeds" / "heise-developer-2016-02-01.atom").read_bytes()
    start = heise.index(b"<entry>")  # the first entry's only link made an enclosure: its id is its URL
    alternate = b'<link rel="alternate" type="text/html" href="'
    only_id = heise[:start] + heise[start:].replace(alternate, b'<link rel="enclosure" href="', 1)
    entries = parse_feed(only_id, "https://www.heise.de/developer/")
    assert entries[0].url == "http://heise.de/-3088438"
    assert entries[1].url == parse_feed(heise, "https://www.heise.de/developer/")[1].url  # a link still wins

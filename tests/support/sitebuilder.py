"""Test helper: build recorded sites (robots.txt, sitemaps, news sitemap, feed, pages) for replay crawls.

The pages are real recordings read in place from ../shared; only the listings around them are made here.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, replace
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

from crawler.replay import RecordedPage

SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
NEWS_NS = "http://www.google.com/schemas/sitemap-news/0.9"


@dataclass(frozen=True)
class Entry:
    """One article of a recorded site: its URL, the URL the listings give, its date and where its HTML is."""

    url: str
    published: dt.date
    title: str
    file: Path
    listed: str | None = None  # where the listings point, when that URL redirects to `url`

    @property
    def listed_url(self) -> str:
        return self.listed or self.url


def sitemap_index(urls: list[str], lastmod: dt.date | None = None) -> bytes:
    stamp = f"<lastmod>{lastmod.isoformat()}</lastmod>" if lastmod else ""
    body = "".join(f"<sitemap><loc>{escape(u)}</loc>{stamp}</sitemap>" for u in urls)
    return f'<?xml version="1.0" encoding="UTF-8"?><sitemapindex xmlns="{SITEMAP_NS}">{body}</sitemapindex>'.encode()


def urlset(entries: list[Entry]) -> bytes:
    body = "".join(
        f"<url><loc>{escape(e.listed_url)}</loc><lastmod>{e.published.isoformat()}T12:00:00+00:00</lastmod></url>"
        for e in entries
    )
    return f'<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="{SITEMAP_NS}">{body}</urlset>'.encode()


def news_sitemap(entries: list[Entry], publication: str) -> bytes:
    body = "".join(
        f"<url><loc>{escape(e.listed_url)}</loc><news:news><news:publication><news:name>{escape(publication)}"
        f"</news:name><news:language>en</news:language></news:publication>"
        f"<news:publication_date>{e.published.isoformat()}T08:00:00+00:00</news:publication_date>"
        f"<news:title>{escape(e.title)}</news:title></news:news></url>"
        for e in entries
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="{SITEMAP_NS}" xmlns:news="{NEWS_NS}">{body}</urlset>'
    ).encode()


def rss(entries: list[Entry], title: str, link: str) -> bytes:
    items = "".join(
        f"<item><title>{escape(e.title)}</title><link>{escape(e.listed_url)}</link>"
        f"<pubDate>{format_datetime(dt.datetime.combine(e.published, dt.time(9), dt.UTC))}</pubDate></item>"
        for e in entries
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>{escape(title)}</title>'
        f"<link>{escape(link)}</link>{items}</channel></rss>"
    ).encode()


def article_page(url: str, title: str, published: dt.date) -> bytes:
    """A small generated article page for a listed URL that has no recording (enough text to extract)."""
    body = "".join(
        f"<p>{escape(title)}. Paragraph {n} of this test article says what the company does, who backs it "
        f"and what it will do with the money, in enough words for the extractor to keep it.</p>"
        for n in range(1, 5)
    )
    return (
        f'<!doctype html><html lang="en"><head><title>{escape(title)}</title>'
        f'<link rel="canonical" href="{escape(url)}">'
        f'<meta property="article:published_time" content="{published.isoformat()}T09:00:00+00:00"></head>'
        f"<body><header><nav><a href='/'>Home</a></nav></header><article><h1>{escape(title)}</h1>{body}"
        f"</article><footer>Footer</footer></body></html>"
    ).encode()


def corpus_entries(shared: Path, site: str) -> list[Entry]:
    """The labelled corpus pages of one site (pages.jsonl), at the URLs the labels give."""
    entries = []
    for line in (shared / "corpus" / "pages.jsonl").read_text(encoding="utf-8").splitlines():
        label = json.loads(line)
        if label["site"] == site and label["published"]:
            entries.append(
                Entry(
                    url=label["url"],
                    published=dt.date.fromisoformat(label["published"]),
                    title=label["title"],
                    file=shared / "corpus" / label["file"],
                )
            )
    return entries


SEED_URL = "https://venturebeat.com/ai/hugging-face-gets-a-235m-group-hug-led-by-salesforce/"


def venturebeat_site(shared: Path) -> tuple[dict[str, RecordedPage], list[Entry]]:
    """VentureBeat as recorded: the corpus pages plus the seed article, behind generated listings.

    The articles are spread over the three discovery paths: the newest in the news sitemap, the
    older ones in the post sitemap (via robots.txt and a sitemap index), and the feed lists the
    newest and one more, so an article listed twice is fetched once; one listed URL redirects.
    """
    seed = Entry(
        SEED_URL,
        dt.date(2023, 8, 24),
        "Hugging Face gets a $235M group hug led by Salesforce",
        shared / "seed" / "venturebeat-hugging-face-235m.html",
    )
    entries = sorted([*corpus_entries(shared, "venturebeat"), seed], key=lambda e: e.published, reverse=True)
    # One article that only the post sitemap lists is listed at its old http:// address, which redirects.
    moved = next(i for i, e in enumerate(entries) if i >= 2 and e.url.startswith("https://"))
    entries[moved] = replace(entries[moved], listed="http://" + entries[moved].url.removeprefix("https://"))
    base = "https://venturebeat.com"
    pages = {
        f"{base}/robots.txt": RecordedPage(
            f"User-agent: *\nDisallow: /wp-admin/\n\nSitemap: {base}/sitemap_index.xml\n"
            f"Sitemap: {base}/news-sitemap.xml\nSitemap: {base}/image-sitemap.xml\n".encode(),
            "text/plain",
        ),
        f"{base}/sitemap_index.xml": RecordedPage(
            sitemap_index([f"{base}/post-sitemap.xml", f"{base}/category-sitemap.xml"]), "application/xml"
        ),
        f"{base}/post-sitemap.xml": RecordedPage(urlset(entries[1:]), "application/xml"),
        f"{base}/news-sitemap.xml": RecordedPage(news_sitemap(entries[:1], "VentureBeat"), "application/xml"),
        f"{base}/feed/": RecordedPage(rss(entries[:2], "VentureBeat", base), "application/rss+xml"),
    }
    for entry in entries:
        pages[entry.url] = RecordedPage(entry.file.read_bytes(), "text/html; charset=utf-8")
        if entry.listed:
            pages[entry.listed] = RecordedPage(b"", "text/html", status=301, headers={"Location": entry.url})
    return pages, entries

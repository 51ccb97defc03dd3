"""Pure discovery helpers: read sitemaps, news sitemaps and feeds into dated links, and filter them.

Parsing is our own (lxml with entities and network off) because Scrapy's `Sitemap` flattens nested
elements and so loses `news:publication_date`; it runs on bytes, so tests call it on recorded files.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO
from urllib.parse import urljoin

from lxml import etree

from crawler.seeds import Source
from pipelines.dates import parse_machine_date
from pipelines.urls import is_http_url, same_site

logger = logging.getLogger(__name__)

# The sitemaps protocol's own limits per file (sitemaps.org): 50,000 URLs and 50 MB (52,428,800 bytes)
# uncompressed. Past them the rest of the file is ignored, with a warning. (Downloads are capped lower still,
# at DOWNLOAD_MAXSIZE, which also stops a .gz that inflates past it.)
MAX_SITEMAP_URLS = 50_000
MAX_SITEMAP_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True)
class Link:
    """A URL found in a sitemap or feed, with what the listing says about it."""

    url: str
    published: dt.date | None = None  # a publication date (news sitemap, feed item)
    modified: dt.date | None = None  # a <lastmod>: the page changed then, so it was published no later
    title: str | None = None

    @property
    def newest_date(self) -> dt.date | None:
        """The latest date the listing gives: the article cannot be newer than this."""
        dates = [d for d in (self.published, self.modified) if d]
        return max(dates) if dates else None


@dataclass(frozen=True)
class Sitemap:
    """A parsed sitemap: `kind` is "sitemapindex" or "urlset"; `links` are its <loc> entries."""

    kind: str
    links: list[Link]


def _local(tag: object) -> str:
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _xml_root(body: bytes) -> etree._Element | None:
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, recover=True, huge_tree=False, remove_comments=True
    )
    try:
        return etree.parse(BytesIO(body), parser).getroot()
    except (etree.XMLSyntaxError, ValueError):
        return None


def _date(text: str | None) -> dt.date | None:
    parsed = parse_machine_date(text)
    return parsed[0] if parsed else None


def parse_sitemap(body: bytes) -> Sitemap | None:
    """Parse a sitemap, sitemap index or Google News sitemap; None when the body is not one.

    Only the first MAX_SITEMAP_BYTES and the first MAX_SITEMAP_URLS entries are read (a warning says so).
    """
    if len(body) > MAX_SITEMAP_BYTES:
        logger.warning(
            "A sitemap of %d bytes: only its first %d are read (the protocol's limit)", len(body), MAX_SITEMAP_BYTES
        )
        body = body[:MAX_SITEMAP_BYTES]
    root = _xml_root(body)
    if root is None or _local(root.tag) not in ("urlset", "sitemapindex"):
        return None
    links: list[Link] = []
    for entry in root:
        if _local(entry.tag) not in ("url", "sitemap"):
            continue
        fields: dict[str, str] = {}
        for element in entry.iter():
            name = _local(element.tag)
            if name in ("loc", "lastmod", "publication_date", "title") and name not in fields:
                fields[name] = (element.text or "").strip()
        if not fields.get("loc"):
            continue
        if len(links) == MAX_SITEMAP_URLS:
            logger.warning("A sitemap lists more than %d URLs (the protocol's limit): the rest are ignored", len(links))
            break
        links.append(
            Link(
                url=fields["loc"],
                published=_date(fields.get("publication_date")),
                modified=_date(fields.get("lastmod")),
                title=fields.get("title") or None,
            )
        )
    return Sitemap(kind=_local(root.tag), links=links)


def parse_feed(body: bytes, base_url: str = "") -> list[Link]:
    """Parse an RSS 2.0, Atom or JSON Feed document into links (empty when it is none of these)."""
    if body.lstrip()[:1] == b"{":
        return _parse_json_feed(body, base_url)
    root = _xml_root(body)
    if root is None:
        return []
    links: list[Link] = []
    for item in root.iter("{*}item", "{*}entry"):
        url, title, published, updated = "", None, None, None
        for element in item:
            name = _local(element.tag)
            text = (element.text or "").strip()
            if name == "origLink" and text:  # FeedBurner keeps the publisher's own URL here
                url = text
            elif name == "link" and not url:
                rel = element.get("rel", "alternate")
                url = (element.get("href") or text) if rel == "alternate" else url
            elif name == "guid" and not url and element.get("isPermaLink", "true") == "true" and text:
                url = text
            elif name == "title":
                title = text or None
            elif name in ("pubDate", "published", "date", "issued") and published is None:
                published = _date(text)
            elif name in ("updated", "modified"):
                updated = _date(text)
        url = urljoin(base_url, url.strip()) if url else ""
        if url:
            links.append(Link(url=url, published=published or updated, title=title))
    return links


def _parse_json_feed(body: bytes, base_url: str) -> list[Link]:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return []
    items = data.get("items") if isinstance(data, dict) else None
    links = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and isinstance(item.get("url"), str):
            links.append(
                Link(
                    url=urljoin(base_url, item["url"]),
                    published=_date(item.get("date_published")),
                    title=item.get("title") if isinstance(item.get("title"), str) else None,
                )
            )
    return links


def sitemap_urls_from_robots(body: bytes, base_url: str) -> Iterator[str]:
    """The `Sitemap:` URLs of a robots.txt body."""
    for line in body.splitlines()[:10_000]:
        stripped = line.strip()
        if stripped[:8].lower() == b"sitemap:":
            url = stripped[8:].strip().decode("utf-8", "replace")
            if url:
                yield urljoin(base_url, url)


def is_article_url(url: str, source: Source) -> bool:
    """True when `url` is an http(s) article URL of the source (allowed domain, pattern, no exclusion)."""
    return (
        is_http_url(url)
        and same_site(url, source.allowed_domains)
        and bool(source.article_url_pattern.search(url))
        and not any(pattern.search(url) for pattern in source.exclude_url_patterns)
    )


def follows_sitemap(url: str, source: Source) -> bool:
    """True when a sitemap URL found in robots.txt or an index should be read."""
    if not is_http_url(url) or not same_site(url, source.allowed_domains):
        return False
    return source.sitemap_follow is None or bool(source.sitemap_follow.search(url))


def in_window(link: Link, since: dt.date) -> bool:
    """False only when the listing proves the article older than `since` (undated links are kept)."""
    newest = link.newest_date
    return newest is None or newest >= since


_GZIP_MAGIC = re.compile(rb"^\x1f\x8b")


def is_gzip(body: bytes) -> bool:
    """True for a gzip body (a `.xml.gz` sitemap served without Content-Encoding)."""
    return bool(_GZIP_MAGIC.match(body))

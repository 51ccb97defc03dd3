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
from urllib.parse import parse_qs, urljoin, urlsplit

from lxml import etree

from crawler.seeds import Source
from pipelines.dates import parse_machine_date
from pipelines.urls import is_http_url, malformed, same_site

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


# An "&" that starts no entity or character reference: invalid XML that feeds write in links ("?a=1&b=2"),
# which the recovering parser would drop, silently changing the URL.
_BARE_AMPERSAND = re.compile(rb"&(?![A-Za-z_][\w.-]{0,40};|#\d{1,8};|#x[0-9A-Fa-f]{1,8};)")
_CDATA = re.compile(rb"(<!\[CDATA\[.*?(?:\]\]>|\Z))", re.DOTALL)  # an unclosed one ends at the end: linear


def _escape_bare_ampersands(body: bytes) -> bytes:
    """`body` with every bare "&" written "&amp;" (outside CDATA sections, where "&" is text already)."""
    if b"&" not in body:
        return body
    parts = _CDATA.split(body)
    return b"".join(part if part.startswith(b"<![CDATA[") else _BARE_AMPERSAND.sub(b"&amp;", part) for part in parts)


def _xml_root(body: bytes) -> etree._Element | None:
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, recover=True, huge_tree=False, remove_comments=True
    )
    try:
        return etree.parse(BytesIO(_escape_bare_ampersands(body)), parser).getroot()
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
        url, title, published, updated, entry_id = "", None, None, None, ""
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
            elif name == "id" and is_http_url(text):
                entry_id = text
            elif name == "title":
                title = text or None
            elif name in ("pubDate", "published", "date", "issued") and published is None:
                published = _date(text)
            elif name in ("updated", "modified"):
                updated = _date(text)
        url = url or entry_id  # an Atom entry whose only URL is its id
        url = _join(base_url, url.strip()) if url else ""
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
                    url=_join(base_url, item["url"]),
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
                yield _join(base_url, url)


def _join(base: str, url: str) -> str:
    """`url` resolved against `base`; a URL that does not parse is left as written (and skipped later)."""
    try:
        return urljoin(base, url)
    except ValueError:
        return url


def is_article_url(url: str, source: Source) -> bool:
    """True when `url` is an http(s) article URL of the source (allowed domain, pattern, no exclusion).

    The pattern may match the URL as listed or without its query and fragment: feeds add tracking parameters
    (`?utm_source=rss`, `?feedref=...`) to article links; an exclusion matching either form excludes it.
    """
    if not is_http_url(url) or not same_site(url, source.allowed_domains):
        return False
    forms = (url, _without_query(url))
    return any(source.article_url_pattern.search(form) for form in forms) and not any(
        pattern.search(form) for pattern in source.exclude_url_patterns for form in forms
    )


def _without_query(url: str) -> str:
    return urlsplit(url)._replace(query="", fragment="").geturl()


def follows_sitemap(url: str, source: Source) -> bool:
    """True when a sitemap URL found in robots.txt or an index should be read.

    The seed's `sitemap_follow` is searched in the URL, and in the URL without its query string and fragment: the
    children of `sitemap-news.xml` are often `sitemap-news.xml?page=2`, a day's `sitemap.xml?yyyy=2024&mm=05&dd=14`.
    """
    if not is_http_url(url) or not same_site(url, source.allowed_domains):
        return False
    if source.sitemap_follow is None:
        return True
    return any(source.sitemap_follow.search(form) for form in (url, _without_query(url)))


# the period a child sitemap's file name or query names: "2024-05.xml", "sitemap-2024-05-14.xml",
# "sitemap_2024_week20.xml", "?yyyy=2024&mm=05&dd=14" (the year first, then the month or week, then the day), or
# "Sitemap_Index_Jan_2023.xml.gz", "jan-2025.xml" (a month's name, then the year)
_URL_DAY = re.compile(r"(?<!\d)(20\d\d|19\d\d)[-_/](0[1-9]|1[0-2])(?:[-_/](0[1-9]|[12]\d|3[01]))?(?!\d)")
_URL_WEEK = re.compile(r"(?<!\d)(20\d\d|19\d\d)[-_]?w(?:ee)?k?[-_]?([1-9]|[1-4]\d|5[0-3])(?!\d)", re.IGNORECASE)
_QUERY_PARTS = {"year": ("yyyy", "year", "y"), "month": ("mm", "month", "m"), "day": ("dd", "day", "d")}
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTH_NAMES = (
    "jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|"
    "oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
)
# "Sitemap_Index_Jan_2023.xml.gz" (PR Newswire, Newswire.ca), "jan-2025.xml" (Axios); not "marketing-2019"
_URL_MONTH_NAME = re.compile(rf"(?<![a-z])({_MONTH_NAMES})[-_](20\d\d|19\d\d)(?!\d)", re.IGNORECASE)


def url_period_end(url: str) -> dt.date | None:
    """The last day of the period a sitemap's file name or query names (a day, an ISO week or a month), or None.

    A sitemap index of daily, weekly or monthly sitemaps rarely dates its children with `<lastmod>`; their
    names do, and a child that ends before the window need not be read. Folders are not read: a date there
    says where the file lives ("/uploads/2019/05/"), not what it lists.
    """
    if malformed(url):
        return None
    parts = urlsplit(url)
    query = {k.lower(): v[-1] for k, v in parse_qs(parts.query).items()}
    year = next((query[k] for k in _QUERY_PARTS["year"] if k in query), None)
    month = next((query[k] for k in _QUERY_PARTS["month"] if k in query), None)
    if year and month and len(year) == 4 and year.isdigit() and month.isdigit():
        day = next((query[k] for k in _QUERY_PARTS["day"] if k in query), None)
        return _period_end(int(year), int(month), int(day) if day and day.isdigit() else None)
    path = parts.path.rsplit("/", 1)[-1]
    week = _URL_WEEK.search(path)
    if week:  # sites number weeks in their own way: the ISO week's end, and six days of slack
        try:
            return dt.date.fromisocalendar(int(week[1]), int(week[2]), 7) + dt.timedelta(days=6)
        except ValueError:
            return None
    found = _URL_DAY.search(path)
    if found:
        return _period_end(int(found[1]), int(found[2]), int(found[3]) if found[3] else None)
    named = _URL_MONTH_NAME.search(path)
    if named:
        return _period_end(int(named[2]), _MONTHS.index(named[1][:3].lower()) + 1, None)
    return None


def child_sitemap_in_window(link: Link, since: dt.date) -> bool:
    """False when a sitemap index dates a child sitemap before `since`: by its `<lastmod>` (a child changed since
    may hold a correction), else by the period its name gives. Nothing in it can be new."""
    if link.newest_date is not None:
        return in_window(link, since)
    end = url_period_end(link.url)
    return end is None or end >= since


def _period_end(year: int, month: int, day: int | None) -> dt.date | None:
    try:
        if day is not None:
            return dt.date(year, month, day)
        next_month = dt.date(year + month // 12, month % 12 + 1, 1)
    except ValueError:
        return None
    return next_month - dt.timedelta(days=1)


def in_window(link: Link, since: dt.date) -> bool:
    """False only when the listing proves the article older than `since` (undated links are kept)."""
    newest = link.newest_date
    return newest is None or newest >= since


_GZIP_MAGIC = re.compile(rb"^\x1f\x8b")


def is_gzip(body: bytes) -> bool:
    """True for a gzip body (a `.xml.gz` sitemap served without Content-Encoding)."""
    return bool(_GZIP_MAGIC.match(body))

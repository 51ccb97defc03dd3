"""Pure article extraction: (HTML text, URL) -> Article, with trafilatura and a dated date chain.

No Scrapy, no database: tests call `extract_article` directly on recorded pages.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from htmldate import find_date
from lxml import html as lxml_html
from trafilatura.metadata import (
    examine_meta,
    examine_title_element,
    extract_author,
    extract_meta_json,
    extract_title,
)
from trafilatura.settings import Document
from trafilatura.utils import load_html

from pipelines.body import HIDDEN as _HIDDEN
from pipelines.body import MAX_TEXT_CHARS, MIN_TEXT_CHARS, json_scripts, main_text, select
from pipelines.bylines import split_byline
from pipelines.dates import parse_human_date, parse_machine_date, plausible
from pipelines.urls import canonical_url, is_http_url, outlet

logger = logging.getLogger(__name__)

# trafilatura and lxml have no time limit: bound what reaches them (reliability guide, "Reactor blocked").
MAX_HTML_CHARS = 3_000_000

_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]{0,200}\?>")

# date_source values, in the order the chain tries them ("site": the source's own selector, seeds/README.md)
DATE_SOURCES = ("site", "jsonld", "meta", "htmldate", "visible", "feed")

_META_DATE_KEYS = (
    "article:published_time",
    "og:article:published_time",
    "og:published_time",
    "datepublished",
    "publish-date",
    "publish_date",
    "pubdate",
    "parsely-pub-date",
    "sailthru.date",
    "dc.date.issued",
    "dcterms.issued",
    "dc.date",
    "date",
)
_VISIBLE_DATE_XPATH = (
    "//time[not(ancestor::aside) and not(ancestor::footer)]"
    " | //*[contains(@class, 'byline') or contains(@class, 'post-date') or contains(@class, 'entry-date')"
    " or contains(@class, 'timestamp') or contains(@class, 'dateline') or contains(@class, 'published')]"
)


class ExtractionSkipped(Exception):  # noqa: N818 - a skip with a reason, not an error
    """The page yields no article; `reason` names why (used as a stat key)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason, detail)  # both in args: the exception crosses from a worker process whole
        self.reason = reason
        self.detail = detail

    def __str__(self) -> str:
        return f"{self.reason}: {self.detail}" if self.detail else self.reason


@dataclass(frozen=True)
class Article:
    """One cleaned article, ready for detection and storage."""

    url: str
    title: str | None
    author: str | None
    text: str
    credit: str | None = None  # organisations the byline names (the site, its publisher, agencies)
    description: str | None = None
    site_name: str | None = None
    language: str | None = None
    tags: tuple[str, ...] = ()
    published: dt.date | None = None
    published_at: dt.datetime | None = None
    date_source: str | None = None
    content_hash: str = field(default="")


def repair_decoding(body: bytes, declared: str, text: str) -> str:
    """`text` (the page as decoded by its declared charset), or, when it declared UTF-8 but its bytes are not
    UTF-8 (a cp1252 body under a UTF-8 header, common on old CMSs), its cp1252 reading."""
    if "\ufffd" not in text or declared.lower().replace("-", "").replace("_", "") != "utf8":
        return text
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        fallback = body.decode("cp1252", errors="replace")
        return fallback if fallback.count("\ufffd") < text.count("\ufffd") else text
    return text  # valid UTF-8: its replacement characters are the page's own


def extract_article(
    html: str,
    url: str,
    *,
    fallback_date: dt.date | None = None,
    default_language: str | None = None,
    selectors: Mapping[str, str] | None = None,
    site_name: str | None = None,
) -> Article:
    """Extract one article from a page's decoded HTML.

    Args:
        html: the page as text (Scrapy's `response.text`, never raw bytes).
        url: the URL the page was fetched from; the page's own canonical link wins when on the same host.
        fallback_date: the date the feed or sitemap gave, last link of the date chain.
        default_language: the source's language when the page states none.
        selectors: the source's per-site fixes, field (title, author, published, text) -> XPath; a field a
            selector finds wins, trafilatura and the date chain fill in the rest.
        site_name: what the source calls itself (the seed's title): stripped from the title with the page's
            own og:site_name and host.

    Returns:
        The Article.

    Raises:
        ExtractionSkipped: for an empty, binary, oversized or text-less page.
    """
    if not isinstance(html, str) or not html.strip():
        raise ExtractionSkipped("empty")
    if "\x00" in html[:4096]:
        raise ExtractionSkipped("binary")
    if len(html) > MAX_HTML_CHARS:
        raise ExtractionSkipped("too_large", f"{len(html)} characters")
    html = _XML_DECLARATION.sub("", html, count=1)  # lxml refuses a str that declares its own encoding
    # One parse, shared: trafilatura copies a tree it is given, and its loader is the parser it would use.
    try:
        # trafilatura's loader refuses a page without "html" in its first 50 characters that parses to one
        # element: lxml's own document parser takes it, as before the parse was shared
        tree = load_html(html)
        if tree is None:
            tree = lxml_html.document_fromstring(html)
    except (ValueError, TypeError, lxml_html.etree.ParserError) as exc:
        raise ExtractionSkipped("unparsable", str(exc)) from None
    selectors = selectors or {}
    try:
        text, _ = main_text(tree, url, selectors.get("text"))
        meta = _page_metadata(tree, url)
    except Exception as exc:  # noqa: BLE001 - a third-party parser failing on one page must not stop a crawl
        raise ExtractionSkipped("extractor_error", f"{type(exc).__name__}: {exc}") from None
    if len(text) < MIN_TEXT_CHARS:
        raise ExtractionSkipped("no_text", f"{len(text)} characters of main text")
    text = text[:MAX_TEXT_CHARS]

    published, published_at, date_source = _selected_date(tree, selectors.get("published"))
    if published is None:
        published, published_at, date_source = find_published(tree, url, fallback_date)
    title = _selected_value(tree, selectors["title"]) if "title" in selectors else None
    author = _selected_value(tree, selectors["author"]) if "author" in selectors else None
    page_url = _page_url(tree, url)
    names = _site_names(page_url, meta.sitename, site_name)
    declared, organisations, holders = _byline_sources(tree)
    people, credit = split_byline(author or meta.author, [*names, *organisations], declared, holders)
    return Article(
        url=page_url,
        title=_strip_site_name(title, names) if title else _clean_title(tree, meta.title, names),
        author=people,
        credit=credit,
        text=text,
        description=meta.description or None,
        site_name=meta.sitename or None,
        language=_language(tree, meta.language, default_language),
        tags=tuple(dict.fromkeys(t for t in (meta.tags or []) + (meta.categories or []) if t)),
        published=published,
        published_at=published_at,
        date_source=date_source,
        content_hash=hashlib.sha256(text.encode("utf-8")).hexdigest(),
    )


def _selected_value(tree: lxml_html.HtmlElement, xpath: str | None) -> str | None:
    """The first non-empty text (or attribute value) a seed selector finds, whitespace collapsed."""
    for found in select(tree, xpath)[:20] if xpath else []:
        if isinstance(found, lxml_html.HtmlElement):
            value = spaced_text(found)[:500]
        else:
            value = " ".join(str(found).split())[:500] if isinstance(found, str) else ""
        if value:
            return value
    return None


def _selected_date(
    tree: lxml_html.HtmlElement, xpath: str | None
) -> tuple[dt.date | None, dt.datetime | None, str | None]:
    """The date a seed selector finds (machine or human form), dated "site"; else nothing."""
    value = _selected_value(tree, xpath)
    if not value:
        return None, None, None
    parsed = parse_machine_date(value)
    if parsed:
        return parsed[0], parsed[1], "site"
    day = parse_human_date(value)
    return (day, None, "site") if day else (None, None, None)


def _page_metadata(tree: lxml_html.HtmlElement, url: str) -> Document:
    """Title, author, description, site name, tags: what the page declares in its meta tags and JSON-LD (read by
    trafilatura's own first step), then trafilatura's headline and byline searches for a missing title or author.

    Skipped, for speed, are its other fallbacks, which search the whole tree: category and tag links, the site
    name and the licence; and htmldate, which `find_published` runs only when the page declares no date.
    Together they cost a quarter of trafilatura's time on a page.
    """
    metadata = examine_meta(tree)
    if metadata.author and " " not in metadata.author:  # trafilatura's own rule: a lone word is not a byline
        metadata.author = None
    try:
        metadata = extract_meta_json(tree, metadata)
    except Exception:  # noqa: BLE001 - trafilatura guards this call the same way (bugs in its JSON-LD code)
        logger.debug("JSON-LD metadata unreadable", exc_info=True)
    if not metadata.title:
        metadata.title = extract_title(tree)
        # trafilatura takes one side of the <title>'s first dash ("11 May 2020 – Intel picks up ..."): the whole
        # <title> is kept instead, and `_clean_title` strips only the site's own name from it
        whole, first, second = examine_title_element(tree)
        if metadata.title and metadata.title in (first, second):
            metadata.title = whole
    metadata.author = metadata.author or extract_author(tree)
    # trafilatura's site-name rules: no Twitter "@", a dotless lower-case name capitalised, else the host
    sitename = (metadata.sitename or "").lstrip("@")
    if sitename and "." not in sitename and not sitename[0].isupper():
        sitename = sitename.title()
    metadata.sitename = sitename or _host(_date_url(tree, url)) or None
    metadata.clean_and_trim()
    return metadata


def _date_url(tree: lxml_html.HtmlElement, url: str) -> str:
    """The page's own canonical link (wherever it points), else `url`: the URL whose path may carry a date."""
    for candidate in tree.xpath("//link[@rel='canonical']/@href")[:1]:
        absolute = _joined(url, candidate)
        if is_http_url(absolute):
            return absolute
    return url


def _htmldate_params() -> dict[str, object]:
    """htmldate's settings: the page's original date, no free-text search (it
    runs dateparser over every language's patterns and is most of the cost of a page), nothing after tomorrow
    (UTC: a page from a time zone ahead may be dated a day later)."""
    latest = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)
    return {"original_date": True, "extensive_search": False, "max_date": latest.isoformat()}


def find_published(
    tree: lxml_html.HtmlElement, url: str, fallback_date: dt.date | None = None
) -> tuple[dt.date | None, dt.datetime | None, str | None]:
    """The publication date by the chain JSON-LD, meta tags, htmldate, visible date, feed/sitemap date.

    Returns:
        (calendar date, UTC timestamp if known, the DATE_SOURCES entry that gave it).
    """
    for source, value in (("jsonld", _jsonld_date(tree)), ("meta", _meta_date(tree))):
        parsed = parse_machine_date(value)
        if parsed:
            return parsed[0], parsed[1], source
    try:
        found = find_date(tree, url=_date_url(tree, url), outputformat="%Y-%m-%d", **_htmldate_params())
    except Exception:  # noqa: BLE001 - htmldate promises no robustness on hostile pages
        found = None
    parsed = parse_machine_date(found)
    if parsed:
        return parsed[0], None, "htmldate"
    for element in tree.xpath(_VISIBLE_DATE_XPATH)[:10]:
        day = parse_human_date(element.text_content())
        if day:
            return day, None, "visible"
    if plausible(fallback_date):
        return fallback_date, None, "feed"
    return None, None, None


def _jsonld_objects(tree: lxml_html.HtmlElement) -> Iterator[dict]:
    """The top-level objects of the page's JSON-LD blocks (lists and `@graph`s unrolled), in page order."""
    for data in json_scripts(tree, "//script[@type='application/ld+json']"):
        stack = [data]
        while stack:
            node = stack.pop()
            if isinstance(node, list):
                stack.extend(reversed(node))
            elif isinstance(node, dict):
                yield node
                graph = node.get("@graph")
                if isinstance(graph, list):
                    stack.extend(reversed(graph))


def _jsonld_date(tree: lxml_html.HtmlElement) -> str | None:
    for node in _jsonld_objects(tree):
        value = node.get("datePublished")
        if isinstance(value, str) and value.strip():
            return value
    return None


def _names_of(value: object, *, organisations: bool) -> Iterator[str]:
    """The `name`s of JSON-LD persons or organisations (a string counts as a person's name)."""
    for entry in value if isinstance(value, list) else [value]:
        if isinstance(entry, str) and not organisations:
            yield entry
        elif isinstance(entry, dict) and isinstance(entry.get("name"), str):
            kinds = [
                str(k) for k in (entry.get("@type") if isinstance(entry.get("@type"), list) else [entry.get("@type")])
            ]
            is_organisation = any("Organization" in k for k in kinds) and "Person" not in kinds
            if is_organisation == organisations:
                yield entry["name"]


# "Copyright (c) Condé Nast 2019. All rights reserved." -> "Condé Nast": the holder, who is no byline's person.
_COPYRIGHT_NOISE = re.compile(r"(?i)copyright|\(c\)|©|all rights reserved|\b\d{4}\b|[-–,.;:]")
_META_AUTHOR_KEYS = frozenset(("author", "article:author", "dc.creator", "dc.creator.name", "dcterms.creator"))


def _byline_sources(tree: lxml_html.HtmlElement) -> tuple[list[str], list[str], list[str]]:
    """(authors as the page declares them, organisations it names: JSON-LD publishers and Organization authors,
    its copyright holders)."""
    declared = [
        meta.get("content", "")
        for meta in tree.xpath("//meta[@content]")
        if (meta.get("name") or meta.get("property") or "").strip().lower() in _META_AUTHOR_KEYS
    ]
    organisations = [str(v) for v in tree.xpath("//meta[@name='publisher' or @property='og:site_name']/@content")]
    holders = [_COPYRIGHT_NOISE.sub(" ", str(v)) for v in tree.xpath("//meta[@name='copyright']/@content")[:1]]
    for node in _jsonld_objects(tree):
        declared += _names_of(node.get("author"), organisations=False)
        holders += _names_of(node.get("copyrightHolder"), organisations=False)
        organisations += _names_of(node.get("author"), organisations=True)
        for key in ("publisher", "sourceOrganization", "copyrightHolder"):
            organisations += _names_of(node.get(key), organisations=True)
            publisher = node.get(key)
            if isinstance(publisher, dict) and isinstance(publisher.get("name"), str) and "@type" not in publisher:
                organisations.append(publisher["name"])
    return declared[:50], organisations[:50], holders[:10]


def _meta_date(tree: lxml_html.HtmlElement) -> str | None:
    found: dict[str, str] = {}
    for meta in tree.xpath("//meta[@content]"):
        key = (meta.get("property") or meta.get("name") or meta.get("itemprop") or "").strip().lower()
        if key in _META_DATE_KEYS and key not in found:
            found[key] = meta.get("content")
    for key in _META_DATE_KEYS:
        if key in found:
            return found[key]
    for element in tree.xpath("//*[@itemprop='datePublished'][@datetime]")[:1]:
        return element.get("datetime")
    return None


def _page_url(tree: lxml_html.HtmlElement, fetched_url: str) -> str:
    """The page's canonical link (or og:url) when it is on the fetched host, else the fetched URL.

    A page read from a file (a non-http URL) takes its canonical link wherever it points.
    """
    fetched_host = _host(fetched_url) if is_http_url(fetched_url) else None
    candidates = tree.xpath("//link[@rel='canonical']/@href") + tree.xpath("//meta[@property='og:url']/@content")
    for candidate in (_joined(fetched_url, c) for c in candidates[:2]):
        if is_http_url(candidate) and fetched_host in (None, _host(candidate)):
            return canonical_url(candidate)
    return canonical_url(fetched_url) if fetched_host else fetched_url


def _joined(base: str, link: str) -> str:
    """`link` made absolute against `base`; "" for a link urllib cannot read (e.g. "http://[oops/")."""
    try:
        return urljoin(base, link.strip())
    except ValueError:
        return ""


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").removeprefix("www.")


# Elements that run inside a line of text: no space at their edges ("Klima<em>schutz</em>"); any other
# element (a kicker's <span>, a <br>, a <div>) is set off by one, as a browser shows it on a line of its own.
_INLINE = frozenset(
    "a abbr b bdi bdo cite code del dfn em i ins kbd mark q ruby s samp strong sub sup u var wbr".split()
)
_UNREAD = frozenset(("rt", "rp", *_HIDDEN))


def spaced_text(element: lxml_html.HtmlElement) -> str:
    """An element's text, whitespace collapsed, with a space where one of its block elements begins or ends:
    "<h1><span>Nationale Demo</span>Der 9. Juli</h1>" reads "Nationale Demo Der 9. Juli"."""
    parts: list[str] = []

    def walk(node: lxml_html.HtmlElement) -> None:
        if not isinstance(node.tag, str) or node.tag in _UNREAD:
            return
        edge = " " if node.tag not in _INLINE else ""
        parts.extend((edge, node.text or ""))
        for child in node:
            walk(child)
            parts.append(child.tail or "")
        parts.append(edge)

    walk(element)
    return " ".join("".join(parts).split())


def _clean_title(tree: lxml_html.HtmlElement, title: str | None, site_names: Collection[str]) -> str | None:
    """The visible headline: the <h1> that matches the page's metadata title, else that title without the
    site's name (trafilatura's title comes from metadata and keeps the outlet's " | Site" part)."""
    meta_titles = [
        " ".join(t.split())
        for t in [
            title or "",
            *tree.xpath("//meta[@property='og:title']/@content"),
            *tree.xpath("//title/text()")[:1],
        ]
        if t and t.strip()
    ]
    meta_words = set().union(*(_words(t) for t in meta_titles)) if meta_titles else set()
    best, best_score = None, 0.0
    for h1 in tree.xpath("//h1[not(ancestor::header) and not(ancestor::nav) and not(ancestor::footer)]")[:5]:
        heading = spaced_text(h1)
        words = _words(heading)
        if not 10 <= len(heading) <= 300 or len(words) < 3:
            continue
        score = len(words & meta_words) / len(words)
        if score > best_score:
            best, best_score = heading, score
    if best and best_score >= 0.5:
        return best
    if not meta_titles:
        return None
    return _strip_site_name(meta_titles[0], site_names)


_TITLE_SEPARATORS = (" | ", " - ", " – ", " — ", " · ", " :: ", " » ")


def _strip_site_name(title: str, site_names: Collection[str]) -> str:
    """`title` without the site's own name where a separator sets it off at either end ("Headline | Site",
    "Site – Headline"). Only a part that names the site goes (`site_names`: its og:site_name, the seed's title,
    its host): "11 May 2020 – Intel picks up Moovit for $900m" keeps every word."""
    keys = {_name_key(name) for name in site_names} - {""}
    for separator in _TITLE_SEPARATORS:
        if separator not in title:
            continue
        head, _, tail = title.rpartition(separator)
        if head.strip() and _names_site(tail, keys):
            return _strip_site_name(head, site_names)  # "Headline - Section | Site" may name the site twice
        lead, _, rest = title.partition(separator)
        if rest.strip() and _names_site(lead, keys):
            return _strip_site_name(rest, site_names)
    return title


def _site_names(url: str, *names: str | None) -> list[str]:
    """What a site calls itself: the names given (og:site_name, the seed's title), its host and its registrable
    domain, with and without their suffix ("blog.teufel.de", "blog", "teufel.de", "teufel")."""
    host = _host(url) if is_http_url(url) else ""
    domain = outlet(url) if host else ""
    return [name for name in (*names, host, host.partition(".")[0], domain, domain.partition(".")[0]) if name]


def _names_site(part: str, keys: set[str]) -> bool:
    """True when `part` of a title is the site's name: equal to one of `keys`, or a part of at most three words
    that begins or ends with one ("Crunchbase News" for crunchbase.com; a headline is longer)."""
    key = _name_key(part)
    if not key:
        return False
    if key in keys:
        return True
    short = len(part.split()) <= 3
    return short and any(len(site) >= 4 and (key.startswith(site) or key.endswith(site)) for site in keys)


def _name_key(name: str) -> str:
    return "".join(ch for ch in name.casefold() if ch.isalnum())


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"\w+", text.casefold()) if len(w) > 2}


def _language(tree: lxml_html.HtmlElement, found: str | None, default: str | None) -> str | None:
    if found:
        return found[:2].lower()
    lang = (tree.get("lang") or "").strip()
    if re.match(r"^[A-Za-z]{2}\b", lang):
        return lang[:2].lower()
    return default

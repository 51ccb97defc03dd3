"""`newsmon sources add`: probe a site's robots.txt, sitemaps and feeds, and draft a seed file from what answers.

The probe asks a few well-known places (robots.txt and its `Sitemap:` lines, the home page's feed links, the
common feed and sitemap paths), keeps the feeds and sitemaps that parse, and derives the article pattern from the
URLs they list. The draft is validated by the seed loader and says in comments what was found where; a person
reviews it before it is committed (entry points want evidence, seeds/README.md).
"""

from __future__ import annotations

import gzip
import http.client
import io
import re
import socket
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from urllib.parse import urljoin, urlsplit

from lxml import etree
from lxml import html as lxml_html
from protego import Protego

from crawler.discovery import is_gzip, parse_feed, parse_sitemap, sitemap_urls_from_robots
from crawler.guard import AllowList, is_public, refusal
from crawler.seeds import is_source_name
from crawler.settings import USER_AGENT

MAX_BYTES = 5 * 1024 * 1024
TIMEOUT = 15.0
MAX_REDIRECTS = 3
FEED_PATHS = ("/feed/", "/feed", "/rss", "/rss.xml", "/atom.xml", "/index.xml", "/feed.xml")
SITEMAP_PATHS = ("/news-sitemap.xml", "/sitemap_index.xml", "/sitemap.xml")
MAX_CHILD_SITEMAPS = 2  # children of an index read to see their article URLs

# (name, path pattern) of the article URL shapes the draft can propose, most specific first
_SHAPES = (
    ("/YYYY/MM/DD/slug", r"/\d{4}/\d{2}/\d{2}/[a-z0-9][a-z0-9%_-]*/?"),
    ("/YYYY/MM/slug", r"/\d{4}/\d{2}/[a-z0-9][a-z0-9%_-]*/?"),
    ("/section/YYYY/MM/DD/slug", r"/[a-z-]+/\d{4}/\d{2}/\d{2}/[a-z0-9][a-z0-9%_-]*/?"),
    ("/section/slug", r"/[a-z0-9-]+/[a-z0-9]+(-[a-z0-9]+){2,}/?"),
    ("/slug", r"/[a-z0-9]+(-[a-z0-9]+){2,}/?"),
)
_NOT_ARTICLES = r"^https?://[^/]+/(category|tag|tags|author|page|feed|search|wp-content|wp-json|about)(/|$)"
Fetch = Callable[[str], tuple[int, str, bytes]]


class ProbeError(Exception):
    """The site could not be probed at all (one line for people)."""


@dataclass
class Probe:
    """What a site answered: its entry points and the article URLs they list, with where each was found."""

    base: str
    robots_txt: str | None = None
    feeds: list[str] = field(default_factory=list)
    sitemaps: list[str] = field(default_factory=list)  # named by robots.txt, or found at a common path
    robots_sitemaps: set[str] = field(default_factory=set)  # the ones robots.txt names
    article_sitemaps: list[str] = field(default_factory=list)  # the sitemaps whose entries are articles
    articles: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    language: str | None = None
    rules: Protego | None = None  # its robots.txt, which the probe and the drafted entry points obey

    @property
    def domain(self) -> str:
        """The site's host without www. (what `allowed_domains` takes)."""
        return (urlsplit(self.base).hostname or "").removeprefix("www.")

    @property
    def netloc(self) -> str:
        """The site's host and port (when it has one) without www.: what its article URLs start with."""
        return urlsplit(self.base).netloc.lower().removeprefix("www.")


def fetcher(allowed: AllowList | None = None, user_agent: str = USER_AGENT) -> Fetch:
    """GET with newsmon's User-Agent, a timeout and a size cap, under the crawl's SSRF rules: a name must resolve
    to public addresses only (or be in `NEWSMON_ALLOWED_HOSTS`), the connection goes to the address that was
    checked (a second lookup could answer otherwise), no proxy is used, and each redirect is checked the same
    way. Returns (status, content type, body)."""
    allowed = allowed or AllowList.from_settings(None)

    def fetch(url: str) -> tuple[int, str, bytes]:
        for _ in range(MAX_REDIRECTS + 1):
            address = _checked_address(url, allowed)
            status, headers, body = _get(url, address, user_agent)
            location = headers.get("Location") if status in (301, 302, 303, 307, 308) else None
            if not location:
                return status, headers.get("Content-Type", ""), body
            url = urljoin(url, location)
        raise ProbeError(f"{url}: more than {MAX_REDIRECTS} redirects")

    return fetch


class _PinnedHTTP(http.client.HTTPConnection):
    """An HTTP connection to an address checked beforehand (the Host header keeps the name)."""

    def __init__(self, host: str, port: int, address: str) -> None:
        super().__init__(host, port, timeout=TIMEOUT)
        self.address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    """An HTTPS connection to an address checked beforehand; the certificate is checked against the name."""

    def __init__(self, host: str, port: int, address: str) -> None:
        super().__init__(host, port, timeout=TIMEOUT)
        self.address = address

    def connect(self) -> None:
        sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def _get(url: str, address: str, user_agent: str) -> tuple[int, http.client.HTTPMessage, bytes]:
    parts = urlsplit(url)
    https = parts.scheme == "https"
    port = parts.port or (443 if https else 80)
    connection = (_PinnedHTTPS if https else _PinnedHTTP)(parts.hostname or "", port, address)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request("GET", target, headers={"User-Agent": user_agent, "Accept-Encoding": "identity"})
        answer = connection.getresponse()
        return answer.status, answer.headers, answer.read(MAX_BYTES)
    except (OSError, http.client.HTTPException) as exc:
        raise ProbeError(f"cannot fetch {url}: {exc}") from None
    finally:
        connection.close()


def _checked_address(url: str, allowed: AllowList) -> str:
    """The address to connect to for `url`, once it is known to be allowed."""
    why = refusal(url, allowed)
    if why:
        raise ProbeError(f"refused {url}: {why}")
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        addresses = [info[4][0] for info in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)]
    except OSError as exc:
        raise ProbeError(f"cannot resolve {host}: {exc}") from None
    if not addresses:
        raise ProbeError(f"cannot resolve {host}")
    if not allowed.allows(host, parts.port or (443 if parts.scheme == "https" else 80)):
        if not all(is_public(address) for address in addresses):
            raise ProbeError(f"refused {url}: {host} is not a public address (NEWSMON_ALLOWED_HOSTS allows it)")
    return addresses[0]


def probe(base: str, fetch: Fetch) -> Probe:
    """Probe the site at `base` (its home page URL)."""
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ProbeError(f"{base}: give the site's home page as an http(s) URL")
    root = f"{parts.scheme}://{parts.netloc}"
    found = Probe(base=root + "/")
    _read_robots(found, root, fetch)
    _read_home(found, root, fetch)
    for path in FEED_PATHS:
        if len(found.feeds) >= 2:
            break
        _try_feed(found, root + path, fetch, "a common feed path")
    for path in SITEMAP_PATHS:
        if root + path not in found.sitemaps:
            _try_sitemap(found, root + path, fetch, "a common sitemap path", depth=0)
    if not found.feeds and not found.article_sitemaps:
        raise ProbeError(f"{root}: no feed or sitemap listing articles answered; write the seed by hand")
    return found


def _optional(found: Probe, fetch: Fetch, url: str) -> bytes | None:
    """The body of a URL the draft may use: None (with a note) when robots.txt disallows it, it does not answer
    200, or it cannot be fetched; only robots.txt itself is needed."""
    if found.rules is not None and not found.rules.can_fetch(url, USER_AGENT):
        found.notes.append(f"{url}: disallowed by robots.txt, not used")
        return None
    try:
        status, _, body = fetch(url)
    except ProbeError as exc:
        found.notes.append(str(exc))
        return None
    if is_gzip(body):
        try:
            body = gzip.GzipFile(fileobj=io.BytesIO(body)).read(MAX_BYTES)
        except (OSError, EOFError, zlib.error):
            return None
    return body if 200 <= status < 300 and body else None


def _read_robots(found: Probe, root: str, fetch: Fetch) -> None:
    url = root + "/robots.txt"
    status, _, body = fetch(url)
    if status == 403:
        raise ProbeError(f"{url}: HTTP 403: the site refuses this crawler")
    if not 200 <= status < 300:
        found.notes.append(f"robots.txt answered HTTP {status}")
        return
    found.robots_txt = url
    found.rules = Protego.parse(body.decode("utf-8", "replace"))
    for sitemap in sitemap_urls_from_robots(body, url):
        found.robots_sitemaps.add(sitemap)
        _try_sitemap(found, sitemap, fetch, "robots.txt", depth=0)


def _read_home(found: Probe, root: str, fetch: Fetch) -> None:
    body = _optional(found, fetch, root + "/")
    if body is None:
        return
    try:
        page = lxml_html.fromstring(body)
    except (ValueError, etree.ParserError):
        return
    language = (page.get("lang") or "").split("-")[0].lower()
    if re.fullmatch(r"[a-z]{2}", language):
        found.language = language
    for link in page.xpath('//link[@rel="alternate"][@href]')[:5]:
        kind = (link.get("type") or "").lower()
        if "rss" in kind or "atom" in kind or "feed+json" in kind:
            _try_feed(found, urljoin(root + "/", link.get("href")), fetch, "the home page's feed link")


def _try_feed(found: Probe, url: str, fetch: Fetch, where: str) -> None:
    if url in found.feeds or urlsplit(url).hostname != urlsplit(found.base).hostname:
        return
    body = _optional(found, fetch, url)
    links = parse_feed(body, url) if body else []
    if links:
        found.feeds.append(url)
        found.articles.extend(link.url for link in links)
        found.notes.append(f"feed {url} ({where}): {len(links)} items")


def _try_sitemap(found: Probe, url: str, fetch: Fetch, where: str, depth: int) -> None:
    if url in found.sitemaps or url in found.article_sitemaps:
        return
    body = _optional(found, fetch, url)
    sitemap = parse_sitemap(body) if body else None
    if sitemap is None:
        return
    if depth == 0:
        found.sitemaps.append(url)
    if sitemap.kind == "sitemapindex":
        found.notes.append(f"sitemap index {url} ({where}): {len(sitemap.links)} sitemaps")
        children = [link.url for link in sitemap.links if _looks_like_posts(link.url)]
        for child in children[:MAX_CHILD_SITEMAPS]:
            _try_sitemap(found, child, fetch, f"index {url}", depth + 1)
        return
    urls = [link.url for link in sitemap.links if link.url.startswith(("http://", "https://"))]
    if urls:
        found.article_sitemaps.append(url)
        found.articles.extend(urls[:200])
        found.notes.append(f"sitemap {url} ({where}): {len(sitemap.links)} URLs")


def _looks_like_posts(url: str) -> bool:
    """A child sitemap of articles rather than of categories, tags, authors, pages or images."""
    name = PurePosixPath(urlsplit(url).path).name.lower()
    return not re.search(r"categor|tag|author|page|image|video|product|attachment|taxonom|people|job", name)


def article_pattern(netloc: str, urls: list[str]) -> tuple[str, str, int]:
    """The article URL pattern that most of `urls` (the listed articles of the site at `netloc`) fit: (regex,
    shape name, how many fit)."""
    host = r"^https?://(www\.)?" + re.escape(netloc)
    unique = dict.fromkeys(urls)  # a feed and a sitemap often list the same articles
    paths = [urlsplit(u).path for u in unique if urlsplit(u).netloc.lower().removeprefix("www.") == netloc]
    best = max(_SHAPES, key=lambda shape: (sum(1 for p in paths if re.fullmatch(shape[1], p)), -_SHAPES.index(shape)))
    fits = sum(1 for p in paths if re.fullmatch(best[1], p))
    return host + best[1] + "$", best[0], fits


def _sitemap_follow(urls: list[str]) -> str | None:
    """A `sitemap_follow` regex admitting these sitemaps' names, numbers generalised (post-sitemap3 -> \\d*)."""
    names = []
    for url in urls:
        stem = PurePosixPath(urlsplit(url).path).name
        stem = re.sub(r"\.xml(\.gz)?$", "", stem)
        pattern = re.sub(r"\d+", r"\\d*", re.escape(stem))
        if pattern not in names:
            names.append(pattern)
    return "(?i)/(" + "|".join(names) + r")\.xml(\.gz)?$" if names else None


def seed_text(name: str, found: Probe, title: str | None = None) -> str:
    """The draft seed file of a probed site (TOML), its findings in comments."""
    if not is_source_name(name):
        raise ProbeError(f"{name!r}: a source name is lower case letters, digits and _ (like 'venturebeat')")
    pattern, shape, fits = article_pattern(found.netloc, found.articles)
    if not fits:
        raise ProbeError(f"none of the {len(set(found.articles))} URLs the site lists fits an article shape")
    follow = _sitemap_follow(found.sitemaps + found.article_sitemaps)
    lines = [f"# {title or found.domain}: drafted by `newsmon sources add` from what the site answered; review it."]
    lines += [f"# - {note}" for note in found.notes]
    lines.append(f"# - article pattern {shape}: {fits} of {len(set(found.articles))} listed URLs fit it")
    lines.append(f"title = {_toml(title or found.domain)}")
    lines.append(f"allowed_domains = [{_toml(found.domain)}]")
    if found.robots_txt:
        lines.append(f"robots_txt = {_toml(found.robots_txt)}")
    if found.feeds:
        lines.append("feeds = [" + ", ".join(_toml(u) for u in found.feeds) + "]")
    named = [u for u in found.sitemaps if u not in found.robots_sitemaps]
    if named:
        lines.append("sitemaps = [" + ", ".join(_toml(u) for u in named) + "]")
    if follow:
        lines.append(f"sitemap_follow = {_toml(follow)}")
    lines.append(f"article_url_pattern = {_toml(pattern)}")
    lines.append(f"exclude_url_patterns = [{_toml(_NOT_ARTICLES)}]")
    lines.append(f"language = {_toml(found.language or 'en')}")
    lines.append('schedule = "0 2 * * *"')
    return "\n".join(lines) + "\n"


def _toml(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'

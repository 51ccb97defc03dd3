"""The one generic spider: discovers a source's articles through robots.txt sitemaps and feeds."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from typing import Any, ClassVar, Self

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, UsageError
from scrapy.http import Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.gz import gunzip
from twisted.python.failure import Failure

from crawler.budget import RunBudget
from crawler.discovery import (
    Link,
    child_sitemap_in_window,
    follows_sitemap,
    in_window,
    is_article_url,
    is_gzip,
    parse_feed,
    parse_sitemap,
    sitemap_urls_from_robots,
)
from crawler.guard import RefusedAddress
from crawler.items import PageItem
from crawler.seeds import Source
from pipelines.dates import parse_since, today_utc
from pipelines.extract import repair_decoding
from pipelines.form_d import daily_index_urls, document_url, form_index_entries
from pipelines.urls import canonical_url, malformed, same_site
from storage import Store

logger = logging.getLogger(__name__)

# Without `-a since` and without an earlier successful run, a crawl takes the listings of this window.
DEFAULT_WINDOW = dt.timedelta(days=2)
# A later run also re-reads the listings of the day before the last ok run started: listings date articles in
# the publisher's time zone (an article of 23:00 in San Francisco is listed a day before a 02:30 UTC run).
# Already stored URLs cost nothing: they are skipped before any fetch.
OVERLAP = dt.timedelta(days=1)


class SourceSpider(Spider):
    """Crawl one source declared by a seed file.

    Subclasses set `name` and `source` (see `crawler.spiderloader.spider_class`); nothing else.
    Spider arguments: `since=YYYY-MM-DD` takes every article published on or after that date; without it,
    what appeared since the source's last successful run started (first run: the last two days).
    `mode=poll` reads only the feeds and, of the sitemaps the seed names, those an earlier run read as lists of
    articles, conditionally (a frequent, cheap pass beside the nightly full run; no robots.txt sitemaps, no
    sitemap index); its window starts from the last successful run of either mode.
    """

    source: ClassVar[Source]

    def __init__(self, *args: Any, since: str | None = None, mode: str = "full", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if mode not in ("full", "poll"):
            raise UsageError(f"mode must be full or poll, not {mode!r}")
        self.mode = mode
        self.allowed_domains = list(self.source.allowed_domains)
        try:
            self.since: dt.date = parse_since(since) if since is not None else today_utc() - DEFAULT_WINDOW
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        self.since_given = since is not None
        self.store: Store | None = None
        # Conditional requests: the validators each listing answered the last ok run with, and this run's per
        # feed or urlset read in full (None: it sent none). Kept only if this run ends ok (crawler/extensions.py).
        self.validators: dict[str, tuple[str | None, str | None]] = {}
        self.fresh_validators: dict[str, tuple[str | None, str | None] | None] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
        """Open the store; without `-a since`, take what is new since the last successful run."""
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.store = Store(crawler.settings["NEWSMON_DB_URL"])
        spider.budget = RunBudget(crawler)
        if not spider.since_given:  # a backfill (`-a since`) re-reads every listing in full
            last = spider.store.runs.last_success(spider.name, mode=None if spider.mode == "poll" else "full")
            if last is not None:
                spider.since = last.date() - OVERLAP
            spider.validators = spider.store.runs.listing_validators(spider.name)
        return spider

    @classmethod
    def handles_request(cls, request: Request) -> bool:
        """True when the request is on one of this source's domains."""
        return same_site(request.url, cls.source.allowed_domains)

    async def start(self) -> AsyncIterator[Request]:
        """Request the seed's entry points exactly as written (replay caches are keyed on them)."""
        logger.info("%s: %s, articles published since %s", self.name, self.mode, self.since.isoformat())
        if self.mode == "full":
            for url in self.source.robots_txt:
                yield Request(url, callback=self.parse_robots, errback=self.on_error)
        if self.source.format == "sec_form_d":  # EDGAR's daily indexes of the window's business days
            for url in daily_index_urls(self.since, today_utc()):
                yield self._listing_request(url, self.parse_form_index)
        for url in self.source.feeds:
            yield self._listing_request(url, self.parse_feed)
        for url in self.source.sitemaps:
            # a poll asks only for what an earlier run read as a list of articles (an index has no validators)
            if (self.mode == "full" or url in self.validators) and self.budget.spend("sitemap", url):
                yield self._listing_request(url, self.parse_sitemap, sitemap_depth=0)

    def parse_robots(self, response: Response) -> Iterator[Request]:
        """Follow the robots.txt `Sitemap:` lines that the seed's `sitemap_follow` admits.

        robots.txt itself is never asked conditionally: an unchanged robots.txt says nothing about its sitemaps.
        """
        for url in sitemap_urls_from_robots(response.body, response.url):
            if self._malformed(url, response.url):
                continue
            if not follows_sitemap(url, self.source):
                self._count("sitemap/not_followed")
            elif self.budget.spend("sitemap", url):
                yield self._listing_request(url, self.parse_sitemap, sitemap_depth=0)

    def parse_sitemap(self, response: Response) -> Iterator[Request]:
        """Follow a sitemap index's recent children; turn a urlset's entries into article requests."""
        if self._not_modified(response, "sitemap"):
            return
        body = response.body
        if not self.budget.spend("sitemap_bytes", response.url, len(body)):
            return
        if is_gzip(body):
            try:
                body = gunzip(body, max_size=self.settings.getint("DOWNLOAD_MAXSIZE"))
                if not self.budget.spend("sitemap_bytes", response.url, len(body)):
                    return
            except Exception as exc:  # noqa: BLE001 - a broken or oversized archive is skipped, not fatal
                logger.warning("Skipped sitemap %s: cannot gunzip (%s)", response.url, exc)
                self._count("sitemap/invalid")
                return
        sitemap = parse_sitemap(body)
        if sitemap is None:
            logger.warning("Skipped %s: not a sitemap", response.url)
            self._count("sitemap/invalid")
            return
        self._count("sitemap/read")
        # An index can stay byte-identical while its current child grows: it is always read in full.
        if sitemap.kind == "sitemapindex":
            if self.mode == "poll":  # a poll reads listings of articles, not the sitemaps an index names
                self._count("sitemap/index_not_polled")
                return
            depth = response.meta.get("sitemap_depth", 0) + 1
            if depth > self.settings.getint("NEWSMON_SITEMAP_MAX_DEPTH"):
                logger.warning(
                    "Not following the %d sitemaps of %s: indexes nested too deep", len(sitemap.links), response.url
                )
                self._count("sitemap/too_deep")
                return
            for index, link in enumerate(sitemap.links):
                if self._malformed(link.url, response.url):
                    continue
                if not follows_sitemap(link.url, self.source):
                    self._count("sitemap/not_followed")
                elif not child_sitemap_in_window(link, self.since):
                    self._count("sitemap/too_old")
                elif self.budget.spend("sitemap", link.url):
                    yield self._listing_request(link.url, self.parse_sitemap, sitemap_depth=depth)
                else:  # so are the rest of the index's entries
                    self.budget.refused("sitemap", len(sitemap.links) - index - 1)
                    break
            return
        yield from self._article_requests(sitemap.links, response.url)
        self._remember_validators(response)

    def parse_feed(self, response: Response) -> Iterator[Request]:
        """Turn a feed's items into article requests."""
        if self._not_modified(response, "feed"):
            return
        links = parse_feed(response.body, response.url)
        if not links:
            logger.warning("Skipped %s: not a feed, or a feed with no items", response.url)
            self._count("feed/invalid")
            return
        self._count("feed/read")
        yield from self._article_requests(links, response.url)
        self._remember_validators(response)

    def parse_form_index(self, response: Response) -> Iterator[Request]:
        """Turn a daily EDGAR index's Form D rows into filing requests (amendments are not read)."""
        if self._not_modified(response, "feed"):
            return
        entries = form_index_entries(response.body)
        if entries is None:
            logger.warning("Skipped %s: not an EDGAR form index", response.url)
            self._count("feed/invalid")
            return
        self._count("feed/read")
        for entry in entries:
            if entry.form != "D":
                self._count("form_d/amendment_not_read")
        links = [Link(url=e.index_url, published=e.filed, title=e.company) for e in entries if e.form == "D"]
        yield from self._article_requests(links, response.url)
        self._remember_validators(response)

    def parse_article(self, response: Response) -> Iterator[PageItem]:
        """Hand a fetched article page to the item pipelines (extract, detect, persist)."""
        if self.source.format == "sec_form_d":  # a filing's XML, stored under its index page's URL
            listed = response.meta.get("listing_url", response.url)
            yield PageItem(
                source=self.name,
                source_title=self.source.title,
                url=listed,
                listing_url=listed,
                html="",
                language=self.source.language,
                listing_date=response.meta.get("listing_date"),
                since=None if response.meta.get("stored") else self.since,
                format=self.source.format,
                body=response.body,
            )
            return
        if not isinstance(response, TextResponse):
            logger.info("Skipped %s: not a text response", response.url)
            self._count("article/non_text")
            return
        yield PageItem(
            source=self.name,
            source_title=self.source.title,
            url=response.url,
            listing_url=response.meta.get("listing_url", response.url),
            html=repair_decoding(response.body, response.encoding, response.text),
            language=self.source.language,
            listing_date=response.meta.get("listing_date"),
            since=None if response.meta.get("stored") else self.since,  # a stored article is updated, however old
            selectors=dict(self.source.selectors),
        )

    def on_error(self, failure: Failure) -> None:
        """One log line and a stat for a request that failed for good (after Scrapy's retries)."""
        request = getattr(failure, "request", None)
        url = request.url if request is not None else "?"
        listing = request is not None and request.meta.get("listing")
        if failure.check(HttpError):
            status = failure.value.response.status
            self._count(f"errors/http_{status}")
            if listing and status == 403:
                self._count("listing/refused")
            if status in (403, 408, 429) or status >= 500:
                # Worth asking again: an error, so the run is partial and the next one starts from the last ok
                # run (window and listings), retrying this URL. 404 and 410 stay gone: a warning.
                logger.error("Cannot fetch %s: HTTP %s", url, status)
            else:
                logger.warning("Skipped %s: HTTP %s", url, status)
        elif failure.check(RefusedAddress):  # the SSRF guard's resolver: a name for a non-public address
            logger.warning("Refused %s: %s", url, failure.getErrorMessage())
            self.crawler.stats.inc_value("newsmon/guard/refused")
        elif failure.check(IgnoreRequest):  # robots.txt or a filter said no: asking again changes nothing
            logger.info("Not fetched %s: %s", url, failure.getErrorMessage())
            self._count("errors/ignored")
            if listing and "forbidden by robots.txt" in failure.getErrorMessage().lower():
                self._count("listing/forbidden")
        else:
            logger.error("Cannot fetch %s: %s", url, failure.getErrorMessage())
            self._count(f"errors/{failure.type.__name__}")

    def _listing_request(
        self, url: str, callback: Callable[[Response], Iterator[Request]], *, sitemap_depth: int | None = None
    ) -> Request:
        """A feed or sitemap request, conditional on what it answered the last good run with.

        The URL is requested exactly as given (replay caches are keyed on it); a 304 reaches the callback.
        """
        headers: dict[str, str] = {}
        etag, last_modified = self.validators.get(url, (None, None))
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        self._count("listing/requested")
        return Request(
            url,
            callback=callback,
            errback=self.on_error,
            headers=headers,
            meta={
                "handle_httpstatus_list": [304],
                "listing": True,
                **({} if sitemap_depth is None else {"sitemap_depth": sitemap_depth}),
            },
        )

    def _not_modified(self, response: Response, kind: str) -> bool:
        """True for a 304: that branch ends here, counted."""
        if response.status != 304:
            return False
        logger.info("Unchanged since the last run: %s", response.url)
        self._count(f"{kind}/not_modified")
        return True

    def _remember_validators(self, response: Response) -> None:
        """Keep what a feed or urlset read in full answered with, for the next run's conditional request."""
        etag = response.headers.get("ETag")
        last_modified = response.headers.get("Last-Modified")
        self.fresh_validators[_listing_key(response)] = (
            (etag.decode("latin-1") if etag else None, last_modified.decode("latin-1") if last_modified else None)
            if etag or last_modified
            else None
        )

    def _article_requests(self, links: Iterable[Link], listing: str) -> Iterator[Request]:
        """Requests for the listed articles that are in scope, in the window and not yet stored, or stored but
        listed as changed since they were fetched (a `<lastmod>` after the day of the fetch: a correction).

        Requests use each URL exactly as the listing gives it; only the store lookup is canonicalised.
        """
        candidates: list[Link] = []
        for link in links:
            self._count("links/seen")
            if self._malformed(link.url, listing):
                continue
            if not is_article_url(link.url, self.source):
                self._count("links/not_article")
            elif not in_window(link, self.since):
                self._count("links/too_old")
            else:
                candidates.append(link)
        fetched = self.store.last_fetched(canonical_url(link.url) for link in candidates) if self.store else {}
        for link in candidates:
            last = fetched.get(canonical_url(link.url))
            if last is not None and not self._changed_since(link, last):
                self._count("links/already_stored")
                continue
            target = link.url
            if self.source.format == "sec_form_d":  # the filing's XML beside its index page
                target = document_url(link.url)
                if target is None:
                    self._count("links/not_article")
                    continue
            if not self.budget.spend("article", target):
                continue
            self._count("links/requested")
            yield Request(
                target,
                callback=self.parse_article,
                errback=self.on_error,
                meta={"listing_date": link.published, "listing_url": link.url, "stored": last is not None},
            )

    def _changed_since(self, link: Link, fetched: dt.datetime) -> bool:
        """True when the listing dates a change after the day `fetched` (UTC), within this run's allowance
        (`NEWSMON_REFETCH_MAX`: a site that stamps every entry with today's date must not cost a full re-crawl)."""
        if link.modified is None or link.modified <= fetched.date():
            return False
        if self.crawler.stats.get_value("newsmon/links/changed", 0) >= self.settings.getint("NEWSMON_REFETCH_MAX"):
            self._count("links/changed_not_fetched")
            return False
        self._count("links/changed")
        return True

    def _malformed(self, url: str, listing: str) -> bool:
        """True (with a warning and a stat) for a listed URL that does not parse: that entry is skipped, the rest of
        its listing is read."""
        why = malformed(url)
        if why is None:
            return False
        logger.warning("Skipped a malformed URL listed in %s: %.200r (%s)", listing, url, why)
        self._count("links/malformed")
        return True

    def _count(self, key: str) -> None:
        crawler = getattr(self, "crawler", None)  # a spider built without a crawler (a unit test) counts nothing
        if crawler is not None:
            crawler.stats.inc_value(f"newsmon/{key}")


def _listing_key(response: Response) -> str:
    """The URL a listing was requested at (before redirects): the key of its stored validators."""
    return (response.meta.get("redirect_urls") or [response.url])[0]

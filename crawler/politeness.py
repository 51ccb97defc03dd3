"""What Scrapy leaves to the project about being a polite crawler (reliability guide, F2 and B15):

- `RobotsTxtMiddleware`: robots.txt that answers 5xx or 429, or cannot be fetched at all (timeout, refused),
  means no request to that host this run (RFC 9309 section 2.3.1.4; Scrapy allows everything then). A 4xx
  still means "no rules". A replay cache miss is not a failure. `Crawl-delay` is honoured, up to
  `NEWSMON_CRAWL_DELAY_MAX` seconds. Every robots.txt answered (2xx or 4xx) is kept in the store; a poll
  (`-a mode=poll`, every few minutes) reuses one fetched less than `NEWSMON_ROBOTS_MAX_AGE_SECS` ago (a day:
  RFC 9309 section 2.4) instead of asking again.
- `RetryAfterMiddleware`: a 429 or 503 puts its host on hold for its `Retry-After` (seconds or an HTTP date;
  `NEWSMON_BACKOFF_SECS` when absent, doubling on each repeat). Requests to a host on hold wait, when the hold
  ends within `NEWSMON_RETRY_AFTER_MAX` seconds, or are dropped for this run (logged at ERROR, so the run is
  `partial` and the next run tries again).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import logging
import time
from typing import TYPE_CHECKING, Self

from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware as ScrapyRobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request, Response
from scrapy.http.request import NO_CALLBACK
from scrapy.robotstxt import RobotParser
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import Deferred

from crawler.guard import RefusedAddress
from storage import Store, StoreError

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)


class DisallowAll(RobotParser):
    """The rules of a host whose robots.txt could not be read: nothing may be fetched."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    @classmethod
    def from_crawler(cls, crawler: Crawler, robotstxt_body: bytes) -> Self:  # pragma: no cover - not loaded by name
        return cls("")

    def allowed(self, url: str | bytes, user_agent: str | bytes) -> bool:
        return False

    def crawl_delay(self, user_agent: str | bytes) -> float | None:
        return None


class RobotsTxtMiddleware(ScrapyRobotsTxtMiddleware):
    """Scrapy's robots.txt middleware, failing closed and honouring Crawl-delay."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.max_crawl_delay = crawler.settings.getfloat("NEWSMON_CRAWL_DELAY_MAX", 30.0)
        self.max_age = crawler.settings.getfloat("NEWSMON_ROBOTS_MAX_AGE_SECS", 86400.0)
        self.crawl_delays: dict[str, float] = {}

    async def robot_parser(self, request: Request) -> RobotParser | None:
        # Scrapy's, without the traceback it logs when robots.txt cannot be fetched: that is a one-line error.
        netloc = urlparse_cached(request).netloc
        if netloc not in self._parsers:
            self._parsers[netloc] = Deferred()
            scheme = urlparse_cached(request).scheme
            robots = Request(
                f"{scheme}://{netloc}/robots.txt",
                priority=self.DOWNLOAD_PRIORITY,
                meta={"dont_obey_robotstxt": True, "dont_retry": True},  # one answer decides: 5xx closes the host
                callback=NO_CALLBACK,
            )
            kept = self._kept(robots.url)
            if kept is not None:  # a poll: the robots.txt a recent run fetched
                self._stats.inc_value("newsmon/robots/reused")
                await self._parse_robots(Response(robots.url, status=kept[0], body=kept[1]), netloc, request)
            else:
                try:
                    response = await self.crawler.engine.download_async(robots)
                    self._keep(response)
                    await self._parse_robots(response, netloc, request)
                except Exception as exc:  # noqa: BLE001 - any failure to fetch robots.txt closes the host
                    self._robots_error(exc, netloc)
                self._stats.inc_value("robotstxt/request_count")
        parser = self._parsers[netloc]
        if isinstance(parser, Deferred):
            # Awaiting hands the result to the first waiter only (the others would get None, "allow all"):
            # every waiter reads the parser stored when the Deferred fired.
            await maybe_deferred_to_future(parser)
        return self._parsers[netloc]

    def _store(self) -> Store | None:
        spider = getattr(self.crawler, "spider", None)
        return getattr(spider, "store", None)

    def _kept(self, url: str) -> tuple[int, bytes] | None:
        """The robots.txt kept from a recent run, for a poll (a full run always asks the site)."""
        store = self._store()
        if store is None or getattr(self.crawler.spider, "mode", "full") != "poll":
            return None
        try:
            return store.robots_txt(url, dt.timedelta(seconds=self.max_age))
        except StoreError as exc:
            logger.warning("Cannot read the kept robots.txt of %s: %s", url, exc)
            return None

    def _keep(self, response: Response) -> None:
        """Keep a robots.txt that answered (2xx, or a 4xx: no rules) for later polls."""
        store = self._store()
        if store is None or not 200 <= response.status < 500 or response.status == 429:
            return
        try:
            store.save_robots_txt(response.url, response.status, response.body)
        except StoreError as exc:
            logger.warning("Cannot keep the robots.txt of %s: %s", response.url, exc)

    async def _parse_robots(self, response: Response, netloc: str, request: Request) -> None:
        if response.status >= 500 or response.status == 429:
            self._close_host(netloc, f"its robots.txt answered HTTP {response.status}")
            return
        if 400 <= response.status < 500:  # no robots.txt: no rules (a 4xx body is not rules either)
            response = response.replace(body=b"")
        await super()._parse_robots(response, netloc, request)
        parser = self._parsers.get(netloc)
        if isinstance(parser, RobotParser):
            delay = parser.crawl_delay(self._robotstxt_useragent or self._default_useragent)
            if delay:
                self.crawl_delays[netloc] = min(float(delay), self.max_crawl_delay)
                logger.info("%s asks for Crawl-delay %s s: waiting %s s", netloc, delay, self.crawl_delays[netloc])

    def _robots_error(self, exc: Exception, netloc: str) -> None:
        if isinstance(exc, IgnoreRequest | RefusedAddress):  # a replay cache miss, or our guard: not a failure
            super()._robots_error(exc, netloc)
            return
        self._stats.inc_value(f"robotstxt/exception_count/{type(exc)}")
        why = " ".join(str(exc).split())[:200] or type(exc).__name__
        self._close_host(netloc, f"its robots.txt could not be fetched: {why}")

    def _close_host(self, netloc: str, reason: str) -> None:
        logger.error("No requests to %s this run: %s (RFC 9309)", netloc, reason)
        self._stats.inc_value("newsmon/robots/host_closed")
        waiting = self._parsers[netloc]
        self._parsers[netloc] = DisallowAll(reason)
        if not isinstance(waiting, RobotParser) and waiting is not None:
            waiting.callback(self._parsers[netloc])

    def process_request_2(self, rp: RobotParser | None, request: Request) -> None:
        if isinstance(rp, DisallowAll):
            self._stats.inc_value("robotstxt/forbidden")
            raise IgnoreRequest(f"robots.txt unavailable: {rp.reason}")
        super().process_request_2(rp, request)
        delay = self.crawl_delays.get(urlparse_cached(request).netloc)
        if delay:
            self._hold_slot(request, delay)

    def _hold_slot(self, request: Request, delay: float) -> None:
        """Make the request's download slot wait `delay` between requests (AutoThrottle may not lower it)."""
        request.meta["autothrottle_dont_adjust_delay"] = True
        downloader = self.crawler.engine.downloader if self.crawler.engine else None
        if downloader is None:
            return
        _, slot = downloader._get_slot(request)  # noqa: SLF001 - Scrapy has no public way to set one slot's delay
        slot.delay = max(slot.delay, delay)
        if hasattr(slot, "jitter"):  # Scrapy's random 0.5x-1.5x spread would go under the asked delay
            slot.jitter = 0


class RetryAfterMiddleware:
    """Per-host backoff on 429 and 503, honouring `Retry-After`."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.max_wait = crawler.settings.getfloat("NEWSMON_RETRY_AFTER_MAX", 60.0)
        self.backoff = crawler.settings.getfloat("NEWSMON_BACKOFF_SECS", 30.0)
        self.hold_until: dict[str, float] = {}
        self.strikes: dict[str, int] = {}
        self.reported: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    async def process_request(self, request: Request) -> None:
        host = urlparse_cached(request).netloc
        wait = self.hold_until.get(host, 0.0) - time.monotonic()
        if wait <= 0:
            return
        if wait > self.max_wait:
            self.crawler.stats.inc_value("newsmon/backoff/dropped")
            if host not in self.reported:
                self.reported.add(host)
                logger.error("%s asked to wait %.0f s (429/503): its requests wait for the next run", host, wait)
            raise IgnoreRequest(f"{host} is on hold for {wait:.0f} s")
        self.crawler.stats.inc_value("newsmon/backoff/waited")
        await asyncio.sleep(wait)

    def process_response(self, request: Request, response: Response) -> Response:
        if response.status not in (429, 503):
            return response
        host = urlparse_cached(request).netloc
        self.strikes[host] = self.strikes.get(host, 0) + 1
        wait = retry_after(response.headers.get(b"Retry-After"))
        if wait is None:
            wait = self.backoff * 2 ** (self.strikes[host] - 1)
        self.hold_until[host] = max(self.hold_until.get(host, 0.0), time.monotonic() + wait)
        return response


def retry_after(value: bytes | None, now: float | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` value: delta-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    text = value.decode("latin-1").strip()
    if text.isascii() and text.isdigit():
        return float(min(int(text), 86_400))
    try:
        moment = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        return None
    return max(0.0, moment.timestamp() - (now if now is not None else time.time()))

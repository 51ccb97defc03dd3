"""Thin Scrapy item pipelines: Extract -> Detect -> Persist. The work is in pipelines/ (pure) and storage/.

Settings are read in `from_crawler`; the constructors take plain values (tests build them directly).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Self

from scrapy.exceptions import DropItem
from scrapy.utils.defer import deferred_from_coro

from crawler.items import PageItem
from crawler.offload import PageWork, WorkerDied
from pipelines.extract import ExtractionSkipped, extract_article
from pipelines.form_d import filing_article, filing_round, parse_form_d
from pipelines.funding import detect_rounds
from pipelines.urls import canonical_url
from storage import Store, StoreError, StoreUnavailable

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

logger = logging.getLogger(__name__)


class _StatsPipeline:
    """Base: counts into the crawl's stats (`newsmon/<area>/<what>` keys)."""

    area = ""

    def __init__(self, stats: StatsCollector) -> None:
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler.stats)

    def count(self, what: str, by: int = 1) -> None:
        self.stats.inc_value(f"newsmon/{self.area}/{what}", by)


class _PageWorkPipeline(_StatsPipeline):
    """Base of the CPU-bound stages: their work runs through the crawl's PageWork (worker processes)."""

    def __init__(self, stats: StatsCollector, work: PageWork | None = None) -> None:
        super().__init__(stats)
        self.work = work or PageWork(0, 0)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler.stats, PageWork.of(crawler))


class ExtractPipeline(_PageWorkPipeline):
    """Clean the page with trafilatura; drop pages with no article text or outside the `since` window."""

    area = "extract"

    async def process_item(self, item: PageItem) -> PageItem:
        self.count("pages")  # every article page fetched: what is not stored new or updated was skipped
        try:
            if item.format == "sec_form_d":
                item.filing = parse_form_d(item.body)
                article = filing_article(item.filing, item.url, item.listing_date)
                item.body = b""
            else:
                self.work.page_read()
                article = await self.work.run(
                    extract_article,
                    item.html,
                    item.url,
                    fallback_date=item.listing_date,
                    default_language=item.language,
                    selectors=item.selectors,
                    site_name=item.source_title,
                )
        except ExtractionSkipped as exc:
            self.count(exc.reason)
            raise DropItem(f"no article at {item.url}: {exc}", log_level="INFO") from None
        except WorkerDied as exc:
            self.count("extractor_error")
            raise DropItem(f"no article at {item.url}: {exc}") from None
        item.html = ""  # the text is all later stages need
        if item.since and article.published and article.published < item.since:
            self.count("too_old")
            raise DropItem(f"{item.url} was published {article.published}, before {item.since}", log_level="INFO")
        self.count("ok")
        self.count(f"date_source/{article.date_source}")
        item.article = article
        return item


class DetectPipeline(_PageWorkPipeline):
    """Find the funding rounds the article announces."""

    area = "detect"

    async def process_item(self, item: PageItem) -> PageItem:
        article = item.article
        assert article is not None, "ExtractPipeline runs first"
        if item.filing is not None:  # a filing states its round: nothing to detect
            item.rounds = [filing_round(item.filing, article)]
        else:
            try:
                item.rounds = await self.work.run(
                    detect_rounds, article.text, title=article.title, published=article.published
                )
            except WorkerDied as exc:
                self.count("errors")
                raise DropItem(f"not read for rounds: {item.url}: {exc}") from None
        self.count("rounds", len(item.rounds))
        for found in item.rounds:
            self.count(f"rounds/{found['status']}")
        self.count("funding_articles" if item.rounds else "articles_without_round")
        return item


class PersistPipeline(_StatsPipeline):
    """Upsert the article and its rounds into the store (`NEWSMON_DB_URL`)."""

    area = "persist"

    def __init__(self, stats: StatsCollector, db_url: str, stop_crawl: Callable[[str], object]) -> None:
        super().__init__(stats)
        self.db_url = db_url
        self.stop_crawl = stop_crawl  # called with a reason when the store stops taking writes
        self.unavailable: str | None = None  # set when the store stopped taking writes (the crawl stops)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        def stop_crawl(reason: str) -> object:
            assert crawler.engine is not None
            return deferred_from_coro(crawler.engine.close_spider_async(reason=reason))

        return cls(crawler.stats, crawler.settings["NEWSMON_DB_URL"], stop_crawl)

    def open_spider(self) -> None:
        self.store = Store(self.db_url)

    def process_item(self, item: PageItem) -> PageItem:
        assert item.article is not None, "ExtractPipeline runs first"
        if self.unavailable:  # the crawl is stopping: the items still in flight are left for the next run
            raise DropItem(f"not stored: {item.url} ({self.unavailable})", log_level="INFO")
        try:
            result = self.store.save_article(
                item.article,
                item.rounds,
                source=item.source,
                listed_url=canonical_url(item.listing_url or item.url),
                source_title=item.source_title,
                fetched_url=canonical_url(item.url),
            )
        except StoreUnavailable as exc:  # disk full, or locked by someone else: every write would fail
            self.count("errors")
            self.unavailable = exc.reason
            logger.error("Not stored: %s: %s; stopping the crawl", item.url, exc)
            self.stop_crawl(exc.reason)
            raise DropItem(f"not stored: {item.url}", log_level="INFO") from None
        except StoreError as exc:
            self.count("errors")
            logger.error("Not stored: %s: %s", item.url, exc)
            raise DropItem(f"not stored: {item.url}") from None
        if result.refused_canonical:
            self.count("canonical_conflicts")
            logger.warning(
                "Stored %s under its own URL: its canonical link names %s, stored with other text",
                item.url,
                result.refused_canonical,
            )
        self.count(f"articles_{result.outcome}")
        self.count("rounds_new", result.rounds_new)
        self.count("rounds_merged", result.rounds_merged)
        return item

"""Test-only extraction stages. Matrix row F13: one that never returns for one URL, like trafilatura stuck on a
pathological page. It blocks the reactor, so Scrapy cannot even act on SIGTERM; only the scheduler's SIGKILL
ends the crawl. A crawl uses it with `-s ITEM_PIPELINES=<json naming it>` and `-s NEWSMON_TEST_HANG_AT=<URL end>`.
And one whose worker process dies on one URL (`dying_settings`).
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import TYPE_CHECKING, Self

from scrapy.exceptions import DropItem

from crawler.items import PageItem
from crawler.offload import PageWork, WorkerDied
from crawler.pipelines import ExtractPipeline

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

PIPELINES = {
    "tests.support.hangpipeline.HangingExtractPipeline": 100,
    "crawler.pipelines.DetectPipeline": 200,
    "crawler.pipelines.PersistPipeline": 300,
}


def settings(hang_at: str) -> dict[str, str]:
    """The `-s` settings that make extraction hang on the URL ending with `hang_at`."""
    return {"ITEM_PIPELINES": json.dumps(PIPELINES), "NEWSMON_TEST_HANG_AT": hang_at}


class HangingExtractPipeline(ExtractPipeline):
    """ExtractPipeline, except that the page whose URL ends with NEWSMON_TEST_HANG_AT never finishes."""

    def __init__(self, stats: StatsCollector, hang_at: str | None) -> None:
        super().__init__(stats)
        self.hang_at = hang_at

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler.stats, crawler.settings.get("NEWSMON_TEST_HANG_AT"))

    async def process_item(self, item: PageItem) -> PageItem:
        if self.hang_at and item.url.endswith(self.hang_at):
            sys.stderr.write(f"test hook: extraction of {item.url} hangs\n")
            sys.stderr.flush()
            while True:
                time.sleep(3600)
        return await super().process_item(item)


DYING_PIPELINES = {
    "tests.support.hangpipeline.DyingExtractPipeline": 100,
    "crawler.pipelines.DetectPipeline": 200,
    "crawler.pipelines.PersistPipeline": 300,
}


def dying_settings(die_at: str) -> dict[str, str]:
    """The `-s` settings that make the worker process reading the page whose URL ends with `die_at` die."""
    return {"ITEM_PIPELINES": json.dumps(DYING_PIPELINES), "NEWSMON_TEST_DIE_AT": die_at}


class DyingExtractPipeline(ExtractPipeline):
    """ExtractPipeline, except that the worker process given the page whose URL ends with NEWSMON_TEST_DIE_AT
    exits at once (as one killed by the OOM killer or a crash in a C extension would)."""

    def __init__(self, stats: StatsCollector, work: PageWork, die_at: str | None) -> None:
        super().__init__(stats, work)
        self.die_at = die_at

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler.stats, PageWork.of(crawler), crawler.settings.get("NEWSMON_TEST_DIE_AT"))

    async def process_item(self, item: PageItem) -> PageItem:
        if self.die_at and item.url.endswith(self.die_at):
            self.count("pages")
            self.work.page_read()
            assert await self.work.started(), "the test needs worker processes"
            try:
                await self.work.run(os._exit, 3)
            except WorkerDied as exc:
                self.count("extractor_error")
                raise DropItem(f"no article at {item.url}: {exc}") from None
        return await super().process_item(item)

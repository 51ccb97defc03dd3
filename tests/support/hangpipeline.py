"""Test only (matrix row F13): an extraction stage that never returns for one URL, like trafilatura stuck on a
pathological page. It blocks the reactor, so Scrapy cannot even act on SIGTERM; only the scheduler's SIGKILL
ends the crawl. A crawl uses it with `-s ITEM_PIPELINES=<json naming it>` and `-s NEWSMON_TEST_HANG_AT=<URL end>`.
"""

from __future__ import annotations

import json
import sys
import time
from typing import TYPE_CHECKING, Self

from crawler.items import PageItem
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

    def process_item(self, item: PageItem) -> PageItem:
        if self.hang_at and item.url.endswith(self.hang_at):
            sys.stderr.write(f"test hook: extraction of {item.url} hangs\n")
            sys.stderr.flush()
            while True:
                time.sleep(3600)
        return super().process_item(item)

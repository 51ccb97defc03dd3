"""Test only (matrix row F13): an extraction stage that never returns for one URL, like trafilatura stuck on a
pathological page. It blocks the reactor, so Scrapy cannot even act on SIGTERM; only the scheduler's SIGKILL
ends the crawl. A crawl uses it with `-s ITEM_PIPELINES=<json naming it>` and `-s NEWSMON_TEST_HANG_AT=<URL end>`.
"""

from __future__ import annotations

import json
import sys
import time

from crawler.items import PageItem
from crawler.pipelines import ExtractPipeline

PIPELINES = {
    "tests.hangpipeline.HangingExtractPipeline": 100,
    "crawler.pipelines.DetectPipeline": 200,
    "crawler.pipelines.PersistPipeline": 300,
}


def settings(hang_at: str) -> dict[str, str]:
    """The `-s` settings that make extraction hang on the URL ending with `hang_at`."""
    return {"ITEM_PIPELINES": json.dumps(PIPELINES), "NEWSMON_TEST_HANG_AT": hang_at}


class HangingExtractPipeline(ExtractPipeline):
    """ExtractPipeline, except that the page whose URL ends with NEWSMON_TEST_HANG_AT never finishes."""

    def process_item(self, item: PageItem) -> PageItem:
        hang_at = self.crawler.settings.get("NEWSMON_TEST_HANG_AT")
        if hang_at and item.url.endswith(hang_at):
            sys.stderr.write(f"test hook: extraction of {item.url} hangs\n")
            sys.stderr.flush()
            while True:
                time.sleep(3600)
        return super().process_item(item)

"""Scrapy extensions of newsmon."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Self

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

logger = logging.getLogger(__name__)


class StatsFile:
    """Write the crawl's final stats and finish reason as JSON to `NEWSMON_STATS_FILE`, when set.

    This is how a caller (tests, the scheduler) reads a crawl's counts without parsing its log.
    """

    def __init__(self, crawler: Crawler, path: Path) -> None:
        self.crawler = crawler
        self.path = path

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        path = crawler.settings.get("NEWSMON_STATS_FILE")
        if not path:
            raise NotConfigured
        extension = cls(crawler, Path(path))
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    def spider_closed(self, reason: str) -> None:
        stats = {key: _plain(value) for key, value in self.crawler.stats.get_stats().items()}
        stats["finish_reason"] = reason
        try:
            self.path.write_text(json.dumps(stats, indent=1, sort_keys=True), encoding="utf-8")
        except OSError as exc:
            logger.error("Cannot write stats to %s: %s", self.path, exc)


def _plain(value: object) -> object:
    return value if isinstance(value, int | float | str | bool) or value is None else str(value)

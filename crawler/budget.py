"""Per-run budgets that bound what a hostile or runaway site can make one crawl do (sitemap bombs: an index that
lists itself, a chain of indexes, an index of 50,000 indexes; a listing of millions of articles).

The first refusal of a budget is one line. Over the article budget it is an error, so the run is `partial` and
the next run, reading the same window, fetches the articles left over (the stored ones are skipped). Over a
sitemap budget it is a warning: the next run would read the same sitemaps in the same order and stop at the
same place, so a partial run would only stop the window from moving; the line names the setting a backfill
over years of sitemaps raises. Later refusals are a stat.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Self

from scrapy.exceptions import IgnoreRequest

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

# What each budget counts, and the setting that sizes it.
BUDGETS = {
    "sitemap": "NEWSMON_SITEMAPS_PER_RUN",  # sitemap requests
    "sitemap_bytes": "NEWSMON_SITEMAP_BYTES_PER_RUN",  # sitemap XML parsed (gzip: packed and unpacked)
    "article": "NEWSMON_ARTICLES_PER_RUN",  # article requests
}


class RunBudget:
    """What one crawl has spent of each budget in `BUDGETS`."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.used: dict[str, int] = {}
        self.exhausted: set[str] = set()

    def spend(self, kind: str, url: str, amount: int = 1) -> bool:
        """True (and `amount` is spent) while the budget of `kind` has room for it; else False, logged and counted."""
        setting = BUDGETS[kind]
        limit = self.crawler.settings.getint(setting)
        used = self.used.get(kind, 0)
        if used + amount <= limit:
            self.used[kind] = used + amount
            return True
        if kind not in self.exhausted:
            self.exhausted.add(kind)
            if kind == "article":
                logger.error(
                    "Over this run's article budget (%s = %d) at %s: the rest is left for the next run",
                    setting,
                    limit,
                    url,
                )
            else:
                logger.warning(
                    "Over this run's %s budget (%s = %d) at %s: the rest is not read (raise it for a backfill)",
                    kind,
                    setting,
                    limit,
                    url,
                )
        self.refused(kind)
        return False

    def refused(self, kind: str, count: int = 1) -> None:
        """Count `count` things refused for want of budget `kind` (the caller knows they would be)."""
        self.crawler.stats.inc_value(f"newsmon/budget/{kind}_over", count)


class SitemapBudgetMiddleware:
    """Drops the sitemap requests still queued once the run may parse no more sitemap bytes: they are not
    downloaded (an index of 50,000 indexes queues hundreds before the first of them is read)."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        budget: RunBudget | None = getattr(self.crawler.spider, "budget", None)
        if budget is not None and "sitemap_bytes" in budget.exhausted and "sitemap_depth" in request.meta:
            self.crawler.stats.inc_value("newsmon/budget/sitemap_not_fetched")
            raise IgnoreRequest("this run's sitemap budget is spent")

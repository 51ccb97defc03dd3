"""`scrapy crawl` that checks newsmon's spider arguments before any crawl starts.

Scrapy builds spiders asynchronously, so an error raised there surfaces as an asyncio traceback; checked
here, a bad `-a since=...` or an unusable `NEWSMON_DB_URL` is one clear line and exit status 2.
"""

from __future__ import annotations

import argparse

from scrapy.commands.crawl import Command as ScrapyCrawlCommand
from scrapy.exceptions import UsageError

from pipelines.dates import parse_since
from storage import Store, StoreError


class Command(ScrapyCrawlCommand):
    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        super().process_options(args, opts)
        since = opts.spargs.get("since")
        if since is not None:
            try:
                parse_since(since)
            except ValueError as exc:
                raise UsageError(str(exc), print_help=False) from None
        try:
            Store(self.settings["NEWSMON_DB_URL"])  # opens (and migrates) the store before any request
        except StoreError as exc:
            raise UsageError(str(exc), print_help=False) from None

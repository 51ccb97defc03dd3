"""`scrapy crawl` that checks newsmon's spider arguments before any crawl starts.

Scrapy builds spiders asynchronously, so an argument error raised there surfaces as an asyncio traceback;
checked here, a bad `-a since=...` is a usage error with one clear line and exit status 2.
"""

from __future__ import annotations

import argparse

from scrapy.commands.crawl import Command as ScrapyCrawlCommand
from scrapy.exceptions import UsageError

from pipelines.dates import parse_since


class Command(ScrapyCrawlCommand):
    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        super().process_options(args, opts)
        since = opts.spargs.get("since")
        if since is not None:
            try:
                parse_since(since)
            except ValueError as exc:
                raise UsageError(str(exc), print_help=False) from None

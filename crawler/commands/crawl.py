"""`scrapy crawl` that checks newsmon's spider arguments and holds the source's run lock.

Scrapy builds spiders asynchronously, so an error raised there surfaces as an asyncio traceback; checked
here, a bad `-a since=...` or an unusable `NEWSMON_DB_URL` is one clear line and exit status 2.

Two crawls of one source never run at once, whoever starts them (the scheduler, a second scheduler, a person):
the crawl takes the source's lock in the store before it starts, a thread keeps it fresh (a reactor busy with
extraction cannot), and a crawl that finds it held says who holds it in one line and exits with status 3.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import socket
import sys
import threading
import uuid

from scrapy.commands.crawl import Command as ScrapyCrawlCommand
from scrapy.exceptions import UsageError

from pipelines.dates import parse_since
from storage import Store, StoreError
from storage.runs import RunBook

LOCKED_EXIT = 3  # the source is being crawled by someone else


class Command(ScrapyCrawlCommand):
    def _check_options(self, args: list[str], opts: argparse.Namespace) -> None:
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

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        """Crawl under the source's run lock (see the module docstring)."""
        if len(args) != 1 or args[0] not in self.crawler_process.spider_loader.list():
            super().run(args, opts)  # Scrapy's own one-line usage errors
            return
        source, token = args[0], self.settings["NEWSMON_RUN_TOKEN"]
        book = RunBook(Store(self.settings["NEWSMON_DB_URL"]))
        stale = dt.timedelta(seconds=self.settings.getfloat("NEWSMON_LOCK_STALE_SECS"))
        held_by = book.acquire(source, token, f"{socket.gethostname()} pid {os.getpid()}", stale)
        if held_by is not None:
            sys.stderr.write(f"newsmon: {source} is being crawled already ({held_by}); not starting\n")
            self.exitcode = LOCKED_EXIT
            return
        stop = threading.Event()
        beat = threading.Thread(
            target=_heartbeat,
            args=(book, source, token, self.settings.getfloat("NEWSMON_HEARTBEAT_SECS"), stop),
            daemon=True,
        )
        beat.start()
        try:
            super().run(args, opts)
        finally:
            stop.set()
            beat.join(timeout=5)
            try:
                book.release(source, token)
            except StoreError as exc:  # the lock goes stale on its own
                sys.stderr.write(f"newsmon: could not release the run lock of {source}: {exc}\n")

    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        self._check_options(args, opts)
        if not self.settings.get("NEWSMON_RUN_TOKEN"):
            self.settings.set("NEWSMON_RUN_TOKEN", uuid.uuid4().hex, priority="cmdline")


def _heartbeat(book: RunBook, source: str, token: str, every: float, stop: threading.Event) -> None:
    while not stop.wait(every):
        try:
            book.heartbeat(source, token)
        except StoreError:  # a busy store: the next beat tries again
            continue

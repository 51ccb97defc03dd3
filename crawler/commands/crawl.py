"""`scrapy crawl` that checks newsmon's spider arguments and holds the source's run lock.

Scrapy builds spiders asynchronously, so an error raised there surfaces as an asyncio traceback; checked
here, a bad `-a since=...` or an unusable `NEWSMON_DB_URL` is one clear line and exit status 2.

Two crawls of one source never run at once, whoever starts them (the scheduler, a second scheduler, a person):
the crawl takes the source's lock in the store before it starts, a thread keeps it fresh (a reactor busy with
extraction cannot), and a crawl that finds it held says who holds it in one line and exits with status 3.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import difflib
import os
import signal
import sys
import threading
import time
import uuid

from scrapy import Spider
from scrapy.commands.crawl import Command as ScrapyCrawlCommand
from scrapy.crawler import Crawler
from scrapy.exceptions import UsageError

from pipelines.dates import parse_since
from storage import RunBook, Store, StoreError, checkpoint, lock_holder

LOCKED_EXIT = 3  # the source is being crawled by someone else
# the `-a NAME=VALUE` a newsmon spider reads; `_job` is the job id Scrapyd passes, recorded with the run
SPIDER_ARGUMENTS = ("since", "mode", "_job")
STORE_UNAVAILABLE = ("store_full", "store_locked")  # finish reasons of a crawl stopped by its store: exit 1


class Command(ScrapyCrawlCommand):
    def _check_options(self, args: list[str], opts: argparse.Namespace) -> None:
        super().process_options(args, opts)
        for name in opts.spargs:
            if name not in SPIDER_ARGUMENTS:  # Scrapy would set it on the spider, and nothing would read it
                close = difflib.get_close_matches(name, SPIDER_ARGUMENTS, n=1)
                hint = f"did you mean {close[0]}?" if close else f"newsmon's are {', '.join(SPIDER_ARGUMENTS)}"
                raise UsageError(f"unknown spider argument -a {name}=...: {hint}", print_help=False)
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
        known = self.crawler_process.spider_loader.list()
        broken: dict[str, str] = getattr(self.crawler_process.spider_loader, "broken", {})
        if len(args) == 1 and args[0] in broken:
            self._record_broken_seed(args[0], broken[args[0]])
            return
        if len(args) == 1 and args[0] not in known:  # Scrapy would print a KeyError traceback
            close = difflib.get_close_matches(args[0], known, n=1)
            hint = f" (did you mean {close[0]}?)" if close else f"; `scrapy list` shows the {len(known)} sources"
            raise UsageError(f"no source named {args[0]!r}{hint}", print_help=False)
        if len(args) != 1:
            super().run(args, opts)  # Scrapy's own one-line usage errors
            return
        source, token = args[0], self.settings["NEWSMON_RUN_TOKEN"]
        stale = dt.timedelta(seconds=self.settings.getfloat("NEWSMON_LOCK_STALE_SECS"))
        try:
            book = Store(self.settings["NEWSMON_DB_URL"]).runs
            held_by = book.acquire(source, token, lock_holder(), stale)
            if held_by is None:
                book.abandon_orphans(source, token)  # runs of crawls that died without recording their end
        except StoreError as exc:
            raise UsageError(f"cannot take the run lock of {source}: {exc}", print_help=False) from None
        if held_by is not None:
            sys.stderr.write(f"newsmon: {source} is being crawled already ({held_by}); not starting\n")
            self.exitcode = LOCKED_EXIT
            return
        watch = _Watch(
            book,
            source,
            token,
            every=self.settings.getfloat("NEWSMON_HEARTBEAT_SECS"),
            deadline=self.settings.getfloat("NEWSMON_DEADLINE") or None,
            grace=self.settings.getfloat("NEWSMON_DEADLINE_GRACE"),
            parent=self.settings.getint("NEWSMON_PARENT_PID") or None,
        )
        watch.start()
        try:
            super().run(args, opts)
            if self._crawler.stats.get_value("finish_reason") in STORE_UNAVAILABLE:
                self.exitcode = 1
            self._report_failure(book, source, token)
        finally:
            watch.stop.set()
            watch.join(timeout=5)
            try:
                book.release(source, token)
            except StoreError as exc:  # the lock goes stale on its own
                sys.stderr.write(f"newsmon: could not release the run lock of {source}: {exc}\n")
            checkpoint(book.engine)  # the crawl's last write is done: fold the write-ahead log back in

    def _record_broken_seed(self, source: str, error: str) -> None:
        """A source whose seed file is broken: one error line, a `failed` run recorded, exit status 1."""
        sys.stderr.write(f"newsmon: {error}\n")
        self.exitcode = 1
        try:
            book = Store(self.settings["NEWSMON_DB_URL"]).runs
            now = dt.datetime.now(dt.UTC)
            book.settle(self.settings["NEWSMON_RUN_TOKEN"], source, "failed", started=now, error=error, log_tail=None)
        except StoreError as exc:
            sys.stderr.write(f"newsmon: cannot record the failed run of {source}: {exc}\n")

    def _report_failure(self, book: RunBook, source: str, token: str) -> None:
        """Exit status 1, and the recorded cause in one line, for a run recorded `failed` or `blocked`."""
        try:
            recorded = book.by_token(token)
        except StoreError:
            return
        if recorded is not None and recorded.status in ("failed", "blocked"):
            sys.stderr.write(f"newsmon: {source}: {recorded.status}: {recorded.error or 'see the log above'}\n")
            self.exitcode = 1

    def _create_crawler(self, spidercls: type[Spider] | str) -> Crawler:
        self._crawler = super()._create_crawler(spidercls)  # kept for its finish reason
        return self._crawler

    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        self._check_options(args, opts)
        if not self.settings.get("NEWSMON_RUN_TOKEN"):
            self.settings.set("NEWSMON_RUN_TOKEN", uuid.uuid4().hex, priority="cmdline")


class _Watch(threading.Thread):
    """Keeps the run lock fresh while the crawl lives, and ends a crawl that outlives its deadline.

    A thread, so a reactor busy with extraction does not stop the heartbeat; and the crawl's own deadline, so a
    crawl whose scheduler died (it runs in its own process group) still ends: SIGTERM at the deadline, then
    a hard exit after the grace period. A crawl that finds its lock taken over stops too. A worker's crawl
    (`parent` set) exits at once when its worker is gone, as it would with the worker's host: the worker's job
    is retried elsewhere and must not find the source held by a crawl nobody watches.
    """

    def __init__(
        self,
        book: RunBook,
        source: str,
        token: str,
        *,
        every: float,
        deadline: float | None,
        grace: float,
        parent: int | None = None,
    ) -> None:
        super().__init__(daemon=True, name="newsmon-watch")
        self.book, self.source, self.token = book, source, token
        self.every, self.deadline, self.grace, self.parent = every, deadline, grace, parent
        self.stop = threading.Event()
        self._last_beat = time.time()

    def run(self) -> None:
        terminated = False
        while not self.stop.wait(min(self.every, 1.0) if self.deadline or self.parent else self.every):
            now = time.time()
            if self.parent and os.getppid() != self.parent:
                sys.stderr.write(f"newsmon: {self.source}: its worker (pid {self.parent}) is gone; exiting\n")
                with contextlib.suppress(StoreError):
                    self.book.release(self.source, self.token)
                os._exit(1)  # its run row stays `running`: the job's retry marks it abandoned
            if self.deadline and now > self.deadline + self.grace:
                sys.stderr.write(f"newsmon: {self.source}: past its deadline and grace period; exiting\n")
                with contextlib.suppress(StoreError):
                    self.book.release(self.source, self.token)
                os._exit(1)  # its run row stays `running`: the next crawl of the source marks it abandoned
            if self.deadline and now > self.deadline and not terminated:
                terminated = True
                os.kill(os.getpid(), signal.SIGTERM)  # Scrapy closes gracefully
            if now - self._last_beat < self.every:
                continue
            self._last_beat = now
            try:
                kept = self.book.heartbeat(self.source, self.token)
            except StoreError:  # a busy store: the next beat tries again
                continue
            if not kept and not terminated:  # the lock was taken over (we looked dead): stop
                sys.stderr.write(f"newsmon: {self.source}: the run lock was taken over; stopping\n")
                terminated = True
                os.kill(os.getpid(), signal.SIGTERM)

"""A crawl's CPU work (extraction, detection) in worker processes, off the reactor.

A crawl with more than `NEWSMON_WORKERS_AFTER` article pages to read (asked for, or read in its own process)
starts `NEWSMON_WORKERS` worker processes (forked from a server that has imported the pipelines once) and
sends its pages to them: the reactor keeps fetching and storing while the pages are read, and a crawl uses
every core. A small crawl (a nightly increment, a test site) never starts them. A worker that dies takes only
its page with it.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar
from weakref import WeakKeyDictionary

from scrapy import signals

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)
T = TypeVar("T")
_PRELOAD = ["pipelines.page"]  # imported once by the fork server: each worker starts warm
_MAX_WORKERS = 8  # "one per core" stops here: each worker holds the pipelines' memory
_RESTARTS = 3  # worker pools started again after one dies, per crawl; then the work stays in-process


class WorkerDied(Exception):
    """The worker process running this page's work died (a crash, the OOM killer)."""


class PageWork:
    """Runs a function on a page's data in-process, or in the worker pool once the crawl is big enough."""

    def __init__(self, workers: int, after: int, queued: Callable[[], int] | None = None) -> None:
        self.workers = max(0, workers)
        self.after = max(0, after)
        self.queued = queued or (lambda: 0)  # article pages the crawl has asked for so far
        self.pages = 0
        self.in_workers = 0
        self._executor: ProcessPoolExecutor | None = None
        self._ready: Future[None] | None = None
        self._restarts = 0
        self._alone_slots = asyncio.Semaphore(max(1, self.workers))

    @classmethod
    def of(cls, crawler: Crawler) -> PageWork:
        """The crawl's one PageWork (shared by its stages), shut down when the spider closes."""
        work = _BY_CRAWLER.get(crawler)
        if work is None:
            workers = crawler.settings.getint("NEWSMON_WORKERS", -1)
            cores = min(len(os.sched_getaffinity(0)), _MAX_WORKERS)  # the cores this process may run on
            work = cls(
                cores if workers < 0 else workers,
                crawler.settings.getint("NEWSMON_WORKERS_AFTER", 30),  # a crawler without newsmon's settings
                lambda: int(crawler.stats.get_value("newsmon/links/requested", 0)),
            )
            _BY_CRAWLER[crawler] = work
            crawler.signals.connect(work.close, signal=signals.spider_closed)
        return work

    def page_read(self) -> None:
        """Count a page the crawl reads (its Extract stage calls this once per page)."""
        self.pages += 1

    async def run(self, function: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """`function(*args, **kwargs)`, in a worker when the pool is up (module-level functions only).

        Raises:
            WorkerDied: the worker reading it died, and so did the worker of its own it was tried again in.
        """
        big = self.pages > self.after or self.queued() > self.after
        if not (self.workers and big and self._start()):
            return function(*args, **kwargs)
        self.in_workers += 1
        task = partial(function, *args, **kwargs)
        executor = self._executor
        try:
            return await asyncio.wrap_future(executor.submit(task))
        except BrokenProcessPool:
            self._lost(executor)
        # every page in flight in the broken pool is tried again, each in a worker of its own: only the page
        # that kills its worker again is lost
        async with self._alone_slots:
            alone = _pool(1)
            try:
                return await asyncio.wrap_future(alone.submit(task))
            except BrokenProcessPool:
                raise WorkerDied("the worker process reading it died") from None
            finally:
                alone.shutdown(wait=False)

    def _start(self) -> bool:
        """Whether the pool is ready to take work; starts it when there is none (starting holds the reactor
        while the fork server imports the pipelines, about a second, once per crawl; the workers themselves
        start in the background, and until they run the crawl's own process reads the pages)."""
        if self._executor is None:
            if self._restarts > _RESTARTS:
                return False
            self._executor = _pool(self.workers)
            self._ready = self._executor.submit(_warm)
            logger.info("Reading pages in %d worker processes from now on", self.workers)
        # until the workers have started, the reactor's process keeps reading pages itself
        return self._ready is not None and self._ready.done() and self._ready.exception() is None

    async def started(self) -> bool:
        """Wait until the workers run (False when there are none): for work that must not run in the crawl's
        own process (a test that kills its worker)."""
        if not self.workers or not (self._start() or self._ready is not None):
            return False
        try:
            await asyncio.wrap_future(self._ready)
        except BrokenProcessPool:
            return False
        return True

    def _lost(self, executor: ProcessPoolExecutor) -> None:
        """A worker of `executor` died: the pool is broken; a new one starts (a few times per crawl)."""
        if executor is not self._executor:
            return  # another page's failure has dealt with it
        logger.error("A worker process died; starting new ones")
        self._restarts += 1
        self.close()

    def close(self) -> None:
        """Stop the workers without waiting on them (a worker stuck on a page must not hold the reactor): idle
        ones exit at once, the others when the crawl's process is gone."""
        if self._executor is not None:
            executor, self._executor, self._ready = self._executor, None, None
            executor.shutdown(wait=False, cancel_futures=True)


_BY_CRAWLER: WeakKeyDictionary[Any, PageWork] = WeakKeyDictionary()


def _pool(workers: int) -> ProcessPoolExecutor:
    """Workers forked from a server process that imported the pipelines once (not from the crawl's process,
    whose threads and reactor a fork would copy), each ending when the crawl's process does."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(_PRELOAD)
    return ProcessPoolExecutor(workers, mp_context=context, initializer=_follow, initargs=(os.getpid(),))


def _follow(crawl_pid: int) -> None:
    """In a worker: leave Ctrl-C and SIGTERM to the crawl (it stops its workers; a signal to the process group
    must not fail the pages in flight), log warnings to stderr as the crawl does, and exit when the crawl's
    process is gone (killed with SIGKILL, its workers would live on)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s [%(name)s] %(levelname)s: %(message)s")

    def watch() -> None:
        while True:
            time.sleep(1)
            try:
                os.kill(crawl_pid, 0)
            except ProcessLookupError:
                os._exit(0)
            except PermissionError:  # the pid is someone else's now
                os._exit(0)

    threading.Thread(target=watch, name="newsmon-follow-crawl", daemon=True).start()


def _warm() -> None:
    """The first task of a pool: done once a worker runs (its imports come from the fork server)."""

"""Nightly crawls of every source: APScheduler 3.x jobs declared from the seed files, catch-up after missed
runs, and bounded parallel runs (`scheduler.py` is the command line over this).

Jobs are declared in code at every start with stable ids (`crawl:<source>`), in memory: nothing pickled can
go stale on a rename. What survives a restart is the store: `crawl_runs` says which scheduled run was missed
(a catch-up), and `run_locks` keeps two schedulers, or a person, from crawling one source at once.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, JobSubmissionEvent
from apscheduler.executors.pool import ThreadPoolExecutor as JobThreadPool
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger

from crawler.runner import RunResult, run_crawl
from crawler.seeds import Source
from storage import Store, StoreError

logger = logging.getLogger("newsmon.scheduler")

# A run delayed (busy workers, a suspended machine) still runs. APScheduler checks the grace when a queued
# run starts, so it is at least long enough for every other source to take its whole time limit first.
MISFIRE_GRACE = dt.timedelta(hours=6)
# Polls (a source's feeds, every few minutes) run on their own worker beside the nightly crawls, each within
# this time, and a poll that could not start within POLL_MISFIRE_GRACE is dropped: the next one is minutes away.
POLL_TIME_LIMIT = 600.0
POLL_MISFIRE_GRACE = dt.timedelta(minutes=5)
LOOKBACK = dt.timedelta(days=32)  # how far back the latest scheduled time of a source is looked for

Runner = Callable[..., RunResult]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def trigger_of(source: Source) -> CronTrigger:
    """The source's cron schedule, in UTC."""
    return CronTrigger.from_crontab(source.schedule, timezone=dt.UTC)


def poll_trigger_of(source: Source) -> CronTrigger | None:
    """The source's poll schedule, in UTC, or None when it is not polled."""
    return CronTrigger.from_crontab(source.poll, timezone=dt.UTC) if source.poll else None


def latest_fire_time(trigger: CronTrigger, now: dt.datetime) -> dt.datetime | None:
    """The last time at or before `now` the schedule fired (None when not within LOOKBACK)."""
    latest = None
    fire = trigger.get_next_fire_time(None, now - LOOKBACK)
    steps = 0
    while fire is not None and fire <= now and steps < 100_000:
        latest = fire
        fire = trigger.get_next_fire_time(fire, fire + dt.timedelta(microseconds=1))
        steps += 1
    return latest


def overrun_warning(event: JobSubmissionEvent) -> None:
    """One warning line when a scheduled run is skipped because the source's previous crawl still runs
    (`max_instances=1`): the crawl overran its interval. The running crawl's own crawl_runs row covers the
    night, so nothing is recorded for the skipped fire time (a row would count as the night's attempt)."""
    source = event.job_id.partition(":")[2] or event.job_id
    times = ", ".join(f"{when:%Y-%m-%d %H:%M:%S} UTC" for when in event.scheduled_run_times)
    logger.warning("%s: scheduled run at %s skipped: the previous crawl is still running", source, times)


@dataclass
class CrawlScheduler:
    """Runs crawls of `sources`: on their schedules (`serve`), at once (`run_now`), or as catch-ups."""

    sources: Mapping[str, Source]
    db_url: str
    broken: Mapping[str, str] = field(default_factory=dict)  # sources whose seed file is broken -> its error
    settings: Mapping[str, str] = field(default_factory=dict)  # `-s` for every crawl
    spider_args: Mapping[str, str] = field(default_factory=dict)  # `-a` for every crawl
    max_parallel: int = 1
    time_limit: float = 4 * 3600.0
    grace: float = 30.0
    clock: Callable[[], dt.datetime] = utc_now
    runner: Runner = run_crawl
    stop: threading.Event = field(default_factory=threading.Event)
    _active: int = 0
    _idle: threading.Condition = field(default_factory=threading.Condition)

    def catch_up_due(self) -> list[str]:
        """Sources that missed their latest scheduled run: no run started since that time (a failed or killed
        run counts as the attempt, so restarts never add more than one catch-up per missed time)."""
        return list(self.missed_runs())

    def missed_runs(self) -> dict[str, dt.datetime | None]:
        """The sources of `catch_up_due`, each with the scheduled time it missed (None: never run, and no
        scheduled time within LOOKBACK)."""
        book = Store(self.db_url).runs
        now = self.clock()
        due = {}
        for name, source in sorted(self.sources.items()):
            latest = latest_fire_time(trigger_of(source), now)
            attempted = book.last_attempt(name)
            if latest is None:
                missed = attempted is None
            else:
                missed = attempted is None or attempted < latest
            if missed:
                due[name] = latest
        return due

    def run_one(self, name: str, mode: str = "full") -> RunResult:
        """Crawl one source now (`mode` "poll": its feeds only), with a log line at its start and one at its
        end."""
        with self._idle:
            self._active += 1
        started = self.clock()
        try:
            return self._run_one(name, mode)
        except StoreError as exc:  # the store is full or locked by someone else: the scheduler stays up
            logger.error("%s: failed: %s", name, exc)
            return RunResult(name, "failed", (self.clock() - started).total_seconds(), error=str(exc))
        finally:
            with self._idle:
                self._active -= 1
                self._idle.notify_all()

    def poll_one(self, name: str) -> RunResult:
        """Poll one source now: its feeds, asked conditionally (`-a mode=poll`)."""
        return self.run_one(name, "poll")

    def _run_one(self, name: str, mode: str) -> RunResult:
        if self.stop.is_set():
            return RunResult(name, "interrupted", 0.0, error="the scheduler is stopping")
        if name in self.broken:  # recorded, so `newsmon sources` shows the source failing and why
            error = self.broken[name]
            Store(self.db_url).runs.settle(
                uuid.uuid4().hex, name, "failed", started=self.clock(), error=error, log_tail=None, mode=mode
            )
            logger.error("%s: failed: %s", name, error)
            return RunResult(name, "failed", 0.0, error=error)
        poll = mode == "poll"
        quiet = logging.DEBUG if poll else logging.INFO  # polls come every few minutes: only news is logged
        stale = dt.timedelta(seconds=float(self.settings.get("NEWSMON_LOCK_STALE_SECS", 900)))
        holder = Store(self.db_url).runs.holder(name, stale)
        if holder is not None:
            logger.log(quiet, "%s: %sskipped, being crawled already (%s)", name, "poll " if poll else "", holder)
            return RunResult(name, "skipped", 0.0, error=f"being crawled already ({holder})")
        logger.log(quiet, "%s: %s started", name, "poll" if poll else "crawl")
        args = dict(self.spider_args)
        if poll:  # a poll takes what is new since the last run, whatever backfill window the nightly runs have
            args.pop("since", None)
            args["mode"] = "poll"
        result = self.runner(
            name,
            db_url=self.db_url,
            settings=self.settings,
            spider_args=args,
            time_limit=min(self.time_limit, POLL_TIME_LIMIT) if poll else self.time_limit,
            grace=self.grace,
            stop=self.stop,
        )
        news = result.articles_new or result.rounds_new or result.status not in ("ok", "skipped")
        level = logging.INFO if news or not poll else logging.DEBUG
        if result.summary:  # the line the crawl itself ended with, from its crawl_runs row
            logger.log(level, "%s", result.summary)
        else:
            error = f" ({result.error})" if result.error else ""
            logger.log(
                level, "%s: %s%s in %.0f s%s", name, "poll " if poll else "", result.status, result.seconds, error
            )
        return result

    def wait_idle(self) -> None:
        """Wait until no crawl is running (after `stop` is set, each ends within its grace period)."""
        with self._idle:
            while self._active:
                self._idle.wait(timeout=0.5)  # short waits: the main thread stays free to handle signals

    def run_now(self, names: list[str]) -> list[RunResult]:
        """Crawl `names` at once, at most `max_parallel` at a time; results in the order given."""
        with ThreadPoolExecutor(max_workers=self.max_parallel, thread_name_prefix="crawl") as pool:
            return list(pool.map(self.run_one, names))

    def build(self, kind: type[BaseScheduler] = BlockingScheduler) -> BaseScheduler:
        """The APScheduler scheduler: one cron job per source, a poll job per polled source (on a worker of its
        own: a long nightly crawl does not hold the polls up), and a catch-up job for each that missed a run."""
        scheduler = kind(
            timezone=dt.UTC,
            executors={"default": JobThreadPool(max_workers=self.max_parallel), "polls": JobThreadPool(max_workers=1)},
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": int(self.misfire_grace().total_seconds()),
            },
        )
        for name, source in sorted(self.sources.items()):
            scheduler.add_job(
                self.run_one, trigger_of(source), args=[name], id=f"crawl:{name}", name=name, replace_existing=True
            )
        for name, source in sorted(self.sources.items()):
            poll = poll_trigger_of(source)
            if poll is not None:
                scheduler.add_job(
                    self.poll_one,
                    poll,
                    args=[name],
                    id=f"poll:{name}",
                    name=f"{name} (poll)",
                    executor="polls",
                    misfire_grace_time=int(POLL_MISFIRE_GRACE.total_seconds()),
                    replace_existing=True,
                )
        for name in sorted(self.broken):  # once per start: its run records why it cannot be scheduled
            scheduler.add_job(self.run_one, "date", args=[name], id=f"broken:{name}", name=f"{name} (broken seed)")
        for name in self.catch_up_due():
            logger.info("%s: missed its last scheduled run; one catch-up run now", name)
            scheduler.add_job(self.run_one, "date", args=[name], id=f"catch-up:{name}", name=f"{name} (catch-up)")
        scheduler.add_listener(overrun_warning, EVENT_JOB_MAX_INSTANCES)
        return scheduler

    def misfire_grace(self) -> dt.timedelta:
        """How late a scheduled run may start: hours, or as long as a queue of every other source's crawls."""
        queue = dt.timedelta(seconds=self.time_limit + self.grace) * len(self.sources) / self.max_parallel
        return max(MISFIRE_GRACE, queue + dt.timedelta(hours=1))

    def next_runs(self) -> list[tuple[str, dt.datetime | None]]:
        """Each source with its next scheduled run time."""
        now = self.clock()
        return [
            (name, trigger_of(source).get_next_fire_time(None, now)) for name, source in sorted(self.sources.items())
        ]

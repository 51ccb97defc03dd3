"""Scrapy extensions of newsmon: the stats file, the run record and its summary line, progress lines on a terminal,
and alert delivery at the crawl's end."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Self

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.extensions.memusage import MemoryUsage
from scrapy.utils.asyncio import create_looping_call

from crawler.alerts import AlertConfig, AlertConfigError, alerts_path, load_alerts, run_alerts, start_watching
from storage import StoreError

logger = logging.getLogger(__name__)


class OwnMemoryUsage(MemoryUsage):
    """Scrapy's memory warning and limit (`MEMUSAGE_WARNING_MB`, `MEMUSAGE_LIMIT_MB`) on the crawl's own resident
    memory (VmRSS). Scrapy reads `ru_maxrss`, which Linux carries across exec: a crawl started by a process that
    once grew past the limit would be closed at its first check."""

    def get_virtual_size(self) -> int:
        with contextlib.suppress(OSError, ValueError, IndexError):
            for line in Path("/proc/self/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        return super().get_virtual_size()


class PeakMemory:
    """Record the crawl's own peak RSS (`newsmon/peak_rss_bytes`, from /proc/self/status on Linux).

    Scrapy's `memusage/max` is `ru_maxrss`, which Linux carries across exec: a crawl started by a large process
    reports that process's peak, not its own. `VmHWM` belongs to the crawl's own address space.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if not Path("/proc/self/status").exists():
            raise NotConfigured
        extension = cls(crawler)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    def spider_closed(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            for line in Path("/proc/self/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    self.crawler.stats.set_value("newsmon/peak_rss_bytes", int(line.split()[1]) * 1024)


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


class CrawlRecorder:
    """Record every crawl in the store's `crawl_runs`: a `running` row at the start, its outcome and counts
    at the end. The last `ok` run of a source is where its next crawl's default window starts."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.run_id: int | None = None
        self.first_errors = _FirstErrors()  # what the run's error names as its cause

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if not crawler.settings.getbool("NEWSMON_RECORD_RUNS", True):
            raise NotConfigured
        extension = cls(crawler)
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    def spider_opened(self, spider: Spider) -> None:
        store = getattr(spider, "store", None)
        if store is not None:
            token = self.crawler.settings.get("NEWSMON_RUN_TOKEN")
            mode = getattr(spider, "mode", "full")
            # the job that launched it: a worker's (NEWSMON_JOB_ID), or Scrapyd's (its `_job` spider argument)
            job = self.crawler.settings.get("NEWSMON_JOB_ID") or getattr(spider, "_job", None)
            source = getattr(spider, "source", None)
            self.run_id = store.runs.start_run(
                spider.name,
                getattr(spider, "since", None),
                token=token,
                mode=mode,
                job_id=str(job) if job else None,
                seed_version=getattr(source, "version", None) or None,
            )
            logging.getLogger().addHandler(self.first_errors)

    def spider_closed(self, spider: Spider, reason: str) -> None:
        if self.run_id is None:
            return
        logging.getLogger().removeHandler(self.first_errors)
        stats = self.crawler.stats.get_stats()
        counts = run_counts(stats)
        status, error = run_status(reason, stats, self.first_errors.messages)
        # Only a run that processed everything it listed may let the next run skip unchanged listings.
        validators = getattr(spider, "fresh_validators", None) if status == "ok" else None
        try:
            spider.store.runs.finish_run(
                self.run_id, status, finish_reason=reason, counts=counts, error=error, validators=validators
            )
        except StoreError as exc:
            logger.error("Cannot record the end of this run: %s", exc)
            return
        try:
            recorded = spider.store.runs.by_id(self.run_id)
        except StoreError as exc:
            logger.error("Cannot read this run's record back: %s", exc)
            return
        if recorded is not None:  # what the run found, in one line, read back from crawl_runs (on stderr, with the
            # log: stdout may be a feed export, `scrapy crawl x -o -`)
            sys.stderr.write(recorded.summary() + "\n")
            sys.stderr.flush()


def run_counts(stats: dict[str, object]) -> dict[str, int]:
    """A run's crawl_runs counts from its Scrapy stats."""

    def get(key: str) -> int:
        return int(stats.get(key, 0) or 0)  # type: ignore[call-overload]

    unchanged = get("newsmon/feed/not_modified") + get("newsmon/sitemap/not_modified")
    stored = get("newsmon/persist/articles_new") + get("newsmon/persist/articles_updated")
    return {
        "requests": get("downloader/request_count"),
        "articles_new": get("newsmon/persist/articles_new"),
        "articles_updated": get("newsmon/persist/articles_updated"),
        "articles_skipped": max(0, get("newsmon/extract/pages") - stored),
        "rounds_new": get("newsmon/persist/rounds_new"),
        "rounds_merged": get("newsmon/persist/rounds_merged"),
        "errors": get("log_count/ERROR"),
        "listings_read": get("newsmon/feed/read") + get("newsmon/sitemap/read") + unchanged,
        "listings_unchanged": unchanged,
    }


class CrawlProgress:
    """A progress line on stderr every `NEWSMON_PROGRESS_INTERVAL` seconds while a crawl runs, when stderr is a
    terminal (`NEWSMON_PROGRESS`: auto; always; never), so a long crawl is not silent at the default log level."""

    def __init__(self, crawler: Crawler, interval: float) -> None:
        self.crawler = crawler
        self.interval = interval
        self.started = time.monotonic()
        self.task: object | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        mode = str(crawler.settings.get("NEWSMON_PROGRESS", "auto")).lower()
        interval = crawler.settings.getfloat("NEWSMON_PROGRESS_INTERVAL", 30.0)
        if mode == "never" or interval <= 0 or (mode != "always" and not sys.stderr.isatty()):
            raise NotConfigured
        extension = cls(crawler, interval)
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    def spider_opened(self, spider: Spider) -> None:
        self.started = time.monotonic()
        self.task = create_looping_call(self.report, spider.name)
        self.task.start(self.interval, now=False)  # type: ignore[attr-defined]

    def spider_closed(self) -> None:
        if self.task is not None and self.task.running:  # type: ignore[attr-defined]
            self.task.stop()  # type: ignore[attr-defined]

    def report(self, name: str) -> None:
        counts = run_counts(self.crawler.stats.get_stats())
        sys.stderr.write(
            f"{name}: running for {time.monotonic() - self.started:.0f} s; listings {counts['listings_read']} read;"
            f" {counts['requests']} requests; articles {counts['articles_new']} new, {counts['articles_updated']}"
            f" updated, {counts['articles_skipped']} skipped; rounds {counts['rounds_new']} new;"
            f" {counts['errors']} error{'' if counts['errors'] == 1 else 's'}\n"
        )
        sys.stderr.flush()


class AlertDelivery:
    """Deliver the alerts of the alerts file (`NEWSMON_ALERTS`) once the crawl has ended and its run is recorded.

    New rules start watching when the crawl opens, so the rounds this crawl stores can alert them. Delivery is
    bounded by `NEWSMON_ALERTS_TIME_LIMIT` and ends before the scheduler's time limit (`NEWSMON_DEADLINE`), so a
    receiver that answers slowly cannot turn a crawl into a timeout. Nothing here can fail the crawl: a bad
    alerts file, an unreachable store or a dead receiver is a warning, and an undelivered alert is retried by
    the next crawl or `newsmon alerts run`.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.config: AlertConfig | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        setting = crawler.settings.get("NEWSMON_ALERTS")
        path = alerts_path(setting)
        if path is None:
            raise NotConfigured
        if not path.exists():
            if setting is not None or os.environ.get("NEWSMON_ALERTS"):
                logger.warning("No alerts: the alerts file %s does not exist", path)
            raise NotConfigured
        extension = cls(crawler)
        # Connected after CrawlRecorder (a higher EXTENSIONS number): the run is recorded before alerts go out.
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    def spider_opened(self) -> None:
        path = alerts_path(self.crawler.settings.get("NEWSMON_ALERTS"))
        assert path is not None
        try:
            config = load_alerts(path)
            start_watching(self.crawler.settings["NEWSMON_DB_URL"], config)
        except (AlertConfigError, StoreError) as exc:
            logger.warning("No alerts in this crawl: %s", exc)
            return
        except Exception:  # alerts are an extra: nothing in them may stop the crawl
            logger.warning("No alerts in this crawl", exc_info=True)
            return
        self.config = config

    def spider_closed(self) -> None:
        if self.config is None:
            return
        time_limit = self.time_limit()
        if time_limit <= 0:
            logger.warning("Alerts not delivered: the crawl is at its time limit (the next run delivers them)")
            return
        try:
            report = run_alerts(self.crawler.settings["NEWSMON_DB_URL"], self.config, time_limit=time_limit)
        except StoreError as exc:
            logger.warning("Alerts not delivered (the next run will): %s", exc)
            return
        except Exception:  # a crawl's data is stored by now; an alerting bug must not turn it into a failure
            logger.warning("Alerts not delivered (the next run will retry)", exc_info=True)
            return
        for outcome in report.outcomes:
            self.crawler.stats.inc_value(f"newsmon/alerts/{outcome.status}")
            if outcome.status == "sent":
                logger.info("Alert sent: %s -> %s: %s", outcome.rule, outcome.channel, outcome.summary)
            else:
                logger.warning(
                    "Alert %s: %s -> %s: %s (%s)",
                    outcome.status,
                    outcome.rule,
                    outcome.channel,
                    outcome.summary,
                    outcome.error,
                )
        logger.info("%s", report.line())

    def time_limit(self) -> float:
        """Seconds the alerts may take: `NEWSMON_ALERTS_TIME_LIMIT`, ending 5 s before the scheduler stops the
        crawl (`NEWSMON_DEADLINE` less its grace) when it set one."""
        settings = self.crawler.settings
        limit = settings.getfloat("NEWSMON_ALERTS_TIME_LIMIT")
        deadline = settings.getfloat("NEWSMON_DEADLINE")
        if deadline:
            limit = min(limit, deadline - settings.getfloat("NEWSMON_DEADLINE_GRACE") - time.time() - 5)
        return limit


class _FirstErrors(logging.Handler):
    """Keeps the first few distinct ERROR messages of a crawl: the cause its recorded error names."""

    KEEP = 3

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if len(self.messages) < self.KEEP:
            with contextlib.suppress(Exception):  # a message that cannot be formatted is not a cause worth failing on
                message = " ".join(record.getMessage().split())[:300]
                if message not in self.messages:
                    self.messages.append(message)


def run_status(reason: str, stats: dict[str, object], causes: Sequence[str] = ()) -> tuple[str, str | None]:
    """A run's status from Scrapy's finish reason and stats: ok, partial, failed, blocked or interrupted.
    `causes`: the run's first error messages; the recorded error names the first.

    A run that asked for feeds or sitemaps and read none (none answered, none parsed) is `failed`, never `ok` (a
    poll with nothing to ask, its sitemaps being indexes, is `ok`).
    `blocked`: the site answered every feed and sitemap request with 403 (it refuses this crawler; retrying changes
    nothing until it lets the User-Agent in), told apart from a run that failed for any other reason. A run whose
    every feed and sitemap robots.txt disallows read nothing: `failed`, whatever it logged.

    Returns:
        (status, a one-line error for people or None).
    """
    errors = int(stats.get("log_count/ERROR", 0) or 0)
    requested = int(stats.get("newsmon/listing/requested", 0) or 0)
    refused = int(stats.get("newsmon/listing/refused", 0) or 0)
    forbidden = int(stats.get("newsmon/listing/forbidden", 0) or 0)
    listings_read = sum(
        int(stats.get(f"newsmon/{what}/{how}", 0) or 0)
        for what in ("feed", "sitemap")
        for how in ("read", "not_modified")
    )
    if reason == "shutdown":
        return "interrupted", "stopped before the end (signal)"
    if reason != "finished":
        return "failed", f"closed early: {reason}"
    if listings_read == 0 and requested and forbidden == requested:
        return "failed", f"robots.txt disallows every feed and sitemap of the seed ({requested})"
    if listings_read == 0 and requested and refused == requested:
        return (
            "blocked",
            f"the site answered all {requested} feed and sitemap requests with HTTP 403: it refuses this crawler",
        )
    first = f"; the first: {causes[0]}" if causes else ""
    if listings_read == 0 and (requested or errors):  # it asked and read nothing: never ok, whatever it logged
        why = f"{errors} errors{first}" if errors else "every one was empty, not a feed or sitemap, or not answered"
        return "failed", f"no feed or sitemap could be read ({why})"
    if errors == 0:
        return "ok", None
    return "partial", f"{errors} errors{first}"


def _plain(value: object) -> object:
    return value if isinstance(value, int | float | str | bool) or value is None else str(value)

"""Nightly scheduled crawls: `python scheduler.py` runs every source on its schedule until stopped.

    python scheduler.py                          run forever (one log line per crawl start and end)
    python scheduler.py --list                   every source with its next run time and last outcome
    python scheduler.py --run-now [SOURCE ...]   crawl now (all sources by default); exit 1 if any failed,
                                                 3 if one was being crawled elsewhere (skipped)
    options: --max-parallel N, --time-limit SECONDS, --grace SECONDS, --db URL,
             -s NAME=VALUE (Scrapy settings for every crawl), -a NAME=VALUE (spider arguments)

SIGTERM or SIGINT stops it cleanly: running crawls are stopped and recorded `interrupted`.
The work is in crawler/scheduling.py (jobs, catch-up) and crawler/runner.py (one crawl subprocess).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType

from apscheduler.schedulers import SchedulerNotRunningError

from crawler.replay import setting_pairs
from crawler.scheduling import CrawlScheduler
from crawler.seeds import SeedError, read_seeds
from storage import StoreError, db_url, source_health


def _pairs(values: list[str], flag: str) -> dict[str, str]:
    try:
        return setting_pairs(values)
    except ValueError as exc:
        raise SystemExit(f"scheduler.py: {flag} {exc}") from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scheduler.py",
        description="Crawl every source on its schedule (the cron of its seed file, UTC).",
        epilog="Example: python scheduler.py --run-now venturebeat -a since=2024-05-01",
    )
    parser.add_argument("--list", action="store_true", help="print every source with its next run and last outcome")
    parser.add_argument("--run-now", nargs="*", metavar="SOURCE", help="crawl these sources (default: all) now")
    parser.add_argument("--max-parallel", type=int, default=1, metavar="N", help="crawls at once (default 1)")
    parser.add_argument(
        "--time-limit", type=float, default=4 * 3600, metavar="SECONDS", help="per crawl, then SIGTERM (default 4 h)"
    )
    parser.add_argument(
        "--grace", type=float, default=30, metavar="SECONDS", help="after SIGTERM, before SIGKILL (default 30)"
    )
    parser.add_argument("--db", metavar="URL", help="SQLAlchemy URL of the store (default: $NEWSMON_DB_URL)")
    parser.add_argument("-s", dest="settings", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("-a", dest="spider_args", action="append", default=[], metavar="NAME=VALUE")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the scheduler command line; returns the exit status."""
    args = _parser().parse_args(argv)
    if args.max_parallel < 1 or args.time_limit <= 0 or args.grace < 0:
        print("scheduler.py: --max-parallel must be 1 or more, --time-limit and --grace positive", file=sys.stderr)
        return 2
    settings = _pairs(args.settings, "-s")
    url = db_url(args.db or settings.pop("NEWSMON_DB_URL", None))
    try:
        seeds = read_seeds(settings.get("NEWSMON_SEEDS_DIR"))
    except SeedError as exc:
        print(f"scheduler.py: {exc}", file=sys.stderr)
        return 2
    for error in seeds.broken.values():  # the other sources run; each broken one records a failed run
        print(f"scheduler.py: {error}", file=sys.stderr)
    scheduler = CrawlScheduler(
        seeds.sources,
        broken=seeds.broken,
        db_url=url,
        settings=settings,
        spider_args=_pairs(args.spider_args, "-a"),
        max_parallel=args.max_parallel,
        time_limit=args.time_limit,
        grace=args.grace,
    )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s: %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    try:
        if args.list:
            return _list(scheduler)
        if args.run_now is not None:
            return _run_now(scheduler, args.run_now)
        return _serve(scheduler)
    except StoreError as exc:
        print(f"scheduler.py: {exc}", file=sys.stderr)
        return 1


def _list(scheduler: CrawlScheduler) -> int:
    try:
        health = {h.name: h for h in source_health(scheduler.db_url, list(scheduler.sources))}
    except StoreError:  # no store yet: nothing has run
        health = {}
    print(f"{'SOURCE':<18} {'SCHEDULE':<14} {'NEXT RUN (UTC)':<17} {'LAST RUN (UTC)':<17} LAST STATUS")
    for name, next_time in scheduler.next_runs():
        last = health.get(name)
        started = f"{last.last_started:%Y-%m-%d %H:%M}" if last and last.last_started else "-"
        print(
            f"{name:<18} {scheduler.sources[name].schedule:<14} "
            f"{f'{next_time:%Y-%m-%d %H:%M}' if next_time else '-':<17} {started:<17} "
            f"{(last.last_status if last and last.last_status else 'never run')}"
        )
    for name in sorted(scheduler.broken):
        print(f"{name:<18} {'-':<14} {'-':<17} {'-':<17} broken seed file (not scheduled)")
    return 0


def _on_signals(scheduler: CrawlScheduler, then: Callable[[], None] | None = None) -> None:
    """SIGTERM/SIGINT: stop the running crawls (recorded interrupted) and then `then`; a second signal is
    only logged. The work runs in a thread: a signal handler must not take locks the main thread may hold."""
    log = logging.getLogger("newsmon.scheduler")

    def stop(signum: int, _frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if scheduler.stop.is_set():
            log.info("%s: already stopping (crawls get their grace period)", name)
            return
        log.info("%s: stopping the running crawls", name)
        scheduler.stop.set()
        if then is not None:
            threading.Thread(target=then, name="newsmon-stop", daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)


def _run_now(scheduler: CrawlScheduler, names: list[str]) -> int:
    unknown = [name for name in names if name not in scheduler.sources and name not in scheduler.broken]
    if unknown:
        print(f"scheduler.py: no such source: {', '.join(unknown)} (see --list)", file=sys.stderr)
        return 2
    _on_signals(scheduler)
    results = scheduler.run_now(names or sorted([*scheduler.sources, *scheduler.broken]))
    if any(result.failed for result in results):
        return 1
    return 3 if any(result.status == "skipped" for result in results) else 0  # 3: crawled elsewhere


def _serve(scheduler: CrawlScheduler) -> int:
    jobs = scheduler.build()

    def shut_down() -> None:
        with contextlib.suppress(SchedulerNotRunningError):  # a signal before it started: start() sees stop
            jobs.shutdown(wait=False)

    _on_signals(scheduler, then=shut_down)
    if scheduler.stop.is_set():
        return 0
    logging.getLogger("newsmon.scheduler").info(
        "scheduler started: %d sources, up to %d crawls at once", len(scheduler.sources), scheduler.max_parallel
    )
    jobs.start()  # returns once a signal has shut it down
    scheduler.wait_idle()
    logging.getLogger("newsmon.scheduler").info("scheduler stopped")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:  # `python scheduler.py --list | head`
        sys.stdout = None  # type: ignore[assignment] - nothing more can be written
        sys.exit(0)

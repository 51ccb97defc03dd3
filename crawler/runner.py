"""Run one `scrapy crawl <source>` in its own process under a wall-clock limit, and record how it ended.

A Twisted reactor cannot be restarted in one process, so every crawl is a subprocess in its own process group.
At its time limit (or when asked to stop) it gets SIGTERM, which Scrapy answers with a graceful close, then
SIGKILL after a grace period. The crawl records its own run; this settles the row when the crawl could not.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from crawler.commands.crawl import LOCKED_EXIT
from crawler.replay import settings_args
from crawler.seeds import PROJECT_ROOT
from storage import RunBook, RunRecord, Store

LOG_TAIL_LINES = 20


@dataclass(frozen=True)
class RunResult:
    """How one launched crawl ended. `status` is a crawl_runs status, or "skipped" (crawled elsewhere)."""

    source: str
    status: str
    seconds: float
    articles_new: int = 0
    rounds_new: int = 0
    error: str | None = None
    summary: str | None = None  # the crawl_runs row in one line (RunRecord.summary), for a run that was recorded

    @property
    def failed(self) -> bool:
        """True for a run that did not do its job (a partial run did most of it)."""
        return self.status in ("failed", "blocked", "timeout", "interrupted")


def run_crawl(
    source: str,
    *,
    db_url: str,
    settings: Mapping[str, str] | None = None,
    spider_args: Mapping[str, str] | None = None,
    time_limit: float,
    grace: float = 30.0,
    stop: threading.Event | None = None,
    die_with_parent: bool = False,
) -> RunResult:
    """Crawl `source` in a subprocess and return how it ended (recorded in crawl_runs either way).

    Args:
        settings: extra `-s NAME=VALUE` settings (replay, seeds folder).
        spider_args: `-a NAME=VALUE` spider arguments (e.g. since).
        time_limit: seconds before the crawl gets SIGTERM; `grace` seconds later, SIGKILL.
        stop: set it to stop the crawl early (the run is recorded `interrupted`).
        die_with_parent: the crawl exits, unrecorded, when this process dies (a worker's crawl: its job is
            retried on another worker, and the next crawl of the source records this run `abandoned`).
    """
    token = uuid.uuid4().hex
    started = dt.datetime.now(dt.UTC)
    clock = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="newsmon-run-") as scratch:
        log_path = Path(scratch) / "crawl.log"
        command = [
            sys.executable,
            "-m",
            "scrapy",
            "crawl",
            source,
            *settings_args(
                {
                    "LOG_LEVEL": "INFO",  # the crawl's log file (its tail is kept when a run goes wrong) tells all
                    **(settings or {}),
                    "NEWSMON_DB_URL": db_url,
                    "NEWSMON_RUN_TOKEN": token,
                    # the crawl's own deadline, later than ours: it only matters if this process is gone
                    "NEWSMON_DEADLINE": f"{time.time() + time_limit + grace + 10:.0f}",
                    "NEWSMON_DEADLINE_GRACE": f"{grace + 10:.0f}",
                    **({"NEWSMON_PARENT_PID": str(os.getpid())} if die_with_parent else {}),
                }
            ),
            *[arg for name, value in (spider_args or {}).items() for arg in ("-a", f"{name}={value}")],
        ]
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                command,
                cwd=PROJECT_ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own process group: SIGTERM/SIGKILL reach every child it makes
                env={k: v for k, v in os.environ.items() if k != "NEWSMON_DB_URL"},
            )
            stopped_for = _wait(process, clock + time_limit, grace, stop)
        tail = _tail(log_path)
    book = Store(db_url).runs
    seconds = time.monotonic() - clock
    if process.returncode == LOCKED_EXIT and stopped_for is None:
        return RunResult(source, "skipped", seconds, error=tail.strip().splitlines()[-1] if tail.strip() else None)
    try:
        recorded = book.by_token(token)
        mode = (spider_args or {}).get("mode", "full")
        state = _settle(book, token, source, started, recorded, stopped_for, process.returncode, time_limit, tail, mode)
    finally:
        book.release(source, token)  # a killed crawl could not
    return RunResult(
        source, state.status, seconds, state.articles_new, state.rounds_new, state.error, summary=state.summary()
    )


def _settle(
    book: RunBook,
    token: str,
    source: str,
    started: dt.datetime,
    recorded: RunRecord | None,
    stopped_for: str | None,
    returncode: int | None,
    time_limit: float,
    tail: str,
    mode: str = "full",
) -> RunRecord:
    """The run's final record: what the crawl wrote, corrected where it was killed or died."""
    if stopped_for and recorded is not None and recorded.status not in ("running", "interrupted"):
        stopped_for = None  # it had recorded its end already (it was exiting when the stop came)
    if stopped_for == "timeout":
        error = f"killed at its time limit of {time_limit:g} s"
        return book.settle(token, source, "timeout", started=started, error=error, log_tail=tail, mode=mode)
    if stopped_for == "interrupted":
        error = "stopped by the scheduler (signal)"
        return book.settle(token, source, "interrupted", started=started, error=error, log_tail=tail, mode=mode)
    if recorded is None or recorded.status == "running":
        last = tail.strip().splitlines()[-1] if tail.strip() else "no output"
        error = f"the crawl exited with status {returncode} before recording its end: {last}"[:500]
        return book.settle(token, source, "failed", started=started, error=error, log_tail=tail, mode=mode)
    if recorded.status in ("failed", "blocked", "partial"):
        return book.settle(token, source, recorded.status, started=started, error=None, log_tail=tail, mode=mode)
    return recorded


def _wait(process: subprocess.Popen[bytes], deadline: float, grace: float, stop: threading.Event | None) -> str | None:
    """Wait for the crawl; stop it at the deadline or when asked. Returns why it was stopped, or None."""
    while True:
        try:
            process.wait(timeout=0.2)
            return None
        except subprocess.TimeoutExpired:
            pass
        reason = (
            "interrupted" if stop is not None and stop.is_set() else "timeout" if time.monotonic() > deadline else None
        )
        if reason:
            terminate(process, grace)
            return reason


def terminate(process: subprocess.Popen[bytes], grace: float) -> None:
    """SIGTERM to the crawl's process group (Scrapy closes gracefully), SIGKILL after `grace` seconds."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue
    if process.poll() is None:
        process.wait()


def _tail(path: Path) -> str:
    """The last lines of a crawl's log."""
    try:
        with path.open("rb") as log:
            log.seek(0, os.SEEK_END)
            log.seek(max(0, log.tell() - 16_384))
            text = log.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-LOG_TAIL_LINES:])

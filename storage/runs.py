"""Crawl runs as the scheduler sees them: per-source run locks, and settling how a launched crawl ended.

A crawl process records its own run (crawler/extensions.py); the scheduler that launched it settles the row
afterwards when the process could not: killed at its time limit, stopped, or dead before it wrote anything.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.engine import store_errors
from storage.models import CrawlRun, RunLock
from storage.repository import Store

# A lock whose heartbeat is older than this belongs to a crawl that died without releasing it.
DEFAULT_STALE_AFTER = dt.timedelta(minutes=15)


@dataclass(frozen=True)
class RunState:
    """A recorded run, as the scheduler needs it."""

    id: int
    source: str
    status: str
    started: dt.datetime
    finished: dt.datetime | None
    articles_new: int
    rounds_new: int
    error: str | None


class RunBook:
    """Run locks and run records of one store."""

    def __init__(self, store: Store) -> None:
        self.engine = store.engine

    def acquire(
        self, source: str, owner: str, holder: str, stale_after: dt.timedelta = DEFAULT_STALE_AFTER
    ) -> str | None:
        """Take the source's run lock for `owner`. Returns None when taken, else who holds it (one line)."""
        now = dt.datetime.now(dt.UTC)
        try:
            with store_errors(), Session(self.engine) as session, session.begin():
                lock = session.get(RunLock, source, with_for_update=True)
                alive = lock is not None and lock.heartbeat > now - stale_after and not died_here(lock.holder)
                if lock is not None and lock.owner != owner and alive:
                    return f"{lock.holder or lock.owner}, since {lock.acquired:%Y-%m-%d %H:%M:%S} UTC"
                if lock is None:
                    session.add(RunLock(source=source, owner=owner, acquired=now, heartbeat=now, holder=holder))
                else:  # free, stale (its crawl died), or already ours
                    lock.owner, lock.acquired, lock.heartbeat, lock.holder = owner, now, now, holder
        except IntegrityError:  # another process inserted the row first (PostgreSQL)
            return "another crawl that started at the same moment"
        return None

    def heartbeat(self, source: str, owner: str) -> bool:
        """Say the lock's crawl is alive. False when `owner` no longer holds the lock."""
        with store_errors(), Session(self.engine) as session, session.begin():
            done = session.execute(
                update(RunLock)
                .where(RunLock.source == source, RunLock.owner == owner)
                .values(heartbeat=dt.datetime.now(dt.UTC))
            )
            return bool(done.rowcount)

    def abandon_orphans(self, source: str, owner: str) -> int:
        """Mark `abandoned` the source's runs still `running` that are not `owner`'s: whoever holds the lock is
        the only live crawl of the source, so they died without recording their end. Returns how many."""
        with store_errors(), Session(self.engine) as session, session.begin():
            done = session.execute(
                update(CrawlRun)
                .where(CrawlRun.source == source, CrawlRun.status == "running")
                .where((CrawlRun.run_token.is_(None)) | (CrawlRun.run_token != owner))
                .values(
                    status="abandoned",
                    finished=dt.datetime.now(dt.UTC),
                    error="the crawl died without recording its end",
                )
            )
            return done.rowcount

    def release(self, source: str, owner: str) -> None:
        """Give the lock back (only `owner` can)."""
        with store_errors(), Session(self.engine) as session, session.begin():
            session.execute(delete(RunLock).where(RunLock.source == source, RunLock.owner == owner))

    def holder(self, source: str, stale_after: dt.timedelta = DEFAULT_STALE_AFTER) -> str | None:
        """Who crawls the source now, or None."""
        with store_errors(), Session(self.engine) as session:
            lock = session.get(RunLock, source)
            if lock is None or lock.heartbeat <= dt.datetime.now(dt.UTC) - stale_after or died_here(lock.holder):
                return None
            return f"{lock.holder or lock.owner}, since {lock.acquired:%Y-%m-%d %H:%M:%S} UTC"

    def by_token(self, token: str) -> RunState | None:
        """The run a crawl recorded under `token`, or None."""
        with store_errors(), Session(self.engine) as session:
            run = session.scalars(select(CrawlRun).where(CrawlRun.run_token == token)).first()
            return _state(run) if run is not None else None

    def settle(
        self,
        token: str,
        source: str,
        status: str,
        *,
        started: dt.datetime,
        error: str | None,
        log_tail: str | None,
        mode: str = "full",
    ) -> RunState:
        """Record how a launched crawl ended: on the row it wrote (under `token`), or on a new row (of `mode`)
        when it wrote none. The status given wins; the counts the crawl recorded are kept."""
        now = dt.datetime.now(dt.UTC)
        with store_errors(), Session(self.engine) as session, session.begin():
            run = session.scalars(select(CrawlRun).where(CrawlRun.run_token == token)).first()
            if run is None:
                run = CrawlRun(source=source, mode=mode, run_token=token, started=started, requests=0, articles_new=0)
                run.articles_updated = run.rounds_new = run.rounds_merged = run.errors = run.listings_unchanged = 0
                session.add(run)
            run.status = status
            run.finished = run.finished or now
            run.error = error if error is not None else run.error
            run.log_tail = log_tail
            session.flush()
            return _state(run)

    def last_attempt(self, source: str) -> dt.datetime | None:
        """When the source's last full run started that counts as an attempt: any outcome but `interrupted` or
        `abandoned` (stopped by a shutdown or a crash, not by the site: the run did not get its chance). Polls
        read the feeds only: they never stand for a night's run."""
        with store_errors(), Session(self.engine) as session:
            return session.scalars(
                select(CrawlRun.started)
                .where(CrawlRun.source == source, CrawlRun.mode == "full")
                .where(CrawlRun.status.not_in(("interrupted", "abandoned")))
                .order_by(CrawlRun.started.desc())
                .limit(1)
            ).first()


def lock_holder() -> str:
    """Who this process is, for a run lock: "<host> pid <n> pidns <id>". A pid means something only in its own
    PID namespace: a crawl in a container that shares the host name has pids the host does not see."""
    return f"{socket.gethostname()} pid {os.getpid()} pidns {_pid_namespace() or 'unknown'}"


def died_here(holder: str | None) -> bool:
    """True when a lock's holder ("<host> pid <n> pidns <id>") is a process of this host and PID namespace that
    no longer exists: a crawl killed with SIGKILL, whose lock need not wait for its heartbeat to go stale. A
    holder in another namespace, or one that did not record its namespace, is left to the heartbeat (a reused
    pid errs on the safe side too: the lock waits)."""
    host, _, rest = (holder or "").partition(" pid ")
    pid, _, namespace = rest.partition(" pidns ")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    ours = _pid_namespace()
    if ours is None or namespace != ours:
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, someone else's
        return False
    return _zombie(int(pid))


def _pid_namespace() -> str | None:
    """This process's PID namespace ("pid:[4026531836]" on Linux), or None where it cannot be known."""
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return None


def _zombie(pid: int) -> bool:
    """A killed child its parent has not reaped yet is dead too."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z")
    except (OSError, IndexError):
        return False


def _state(run: CrawlRun) -> RunState:
    return RunState(
        id=run.id,
        source=run.source,
        status=run.status,
        started=run.started,
        finished=run.finished,
        articles_new=run.articles_new or 0,
        rounds_new=run.rounds_new or 0,
        error=run.error,
    )

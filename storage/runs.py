"""Everything about crawl runs, reached as `Store(url).runs`: their records (one type, `RunRecord`), per-source
run locks, listing validators, and settling how a launched crawl ended.

A crawl process records its own run (crawler/extensions.py); the scheduler that launched it settles the row
afterwards when the process could not: killed at its time limit, stopped, or dead before it wrote anything.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, Engine, delete, func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.engine import StoreError, store_errors
from storage.models import CrawlRun, ListingValidator, RunLock

# A lock whose heartbeat is older than this belongs to a crawl that died without releasing it.
DEFAULT_STALE_AFTER = dt.timedelta(minutes=15)


@dataclass(frozen=True)
class RunRecord:
    """One crawl run as `newsmon runs` shows it."""

    id: int
    source: str
    status: str
    started: dt.datetime
    finished: dt.datetime | None
    since: dt.date | None
    requests: int
    articles_new: int
    articles_updated: int
    rounds_new: int
    rounds_merged: int
    errors: int
    listings_unchanged: int
    finish_reason: str | None
    error: str | None
    log_tail: str | None
    mode: str = "full"  # full (the nightly run) or poll (the feeds only)
    listings_read: int = 0  # feeds and sitemaps read, the unchanged ones (304) included
    articles_skipped: int = 0  # article pages fetched but not stored new or updated
    host: str | None = None  # the machine the crawl ran on
    job_id: str | None = None  # the job that launched it (a worker's, Scrapyd's)
    seed_version: str | None = None  # SHA-256 prefix of the seed file it read

    def summary(self) -> str:
        """The run in one line, as a crawl ends with it and the scheduler logs it: source, status, listings read and
        unchanged, articles new/updated/skipped, rounds new/merged, errors, seconds (and the error, if any)."""
        seconds = (self.finished - self.started).total_seconds() if self.finished else 0.0
        mode = "poll " if self.mode == "poll" else ""
        line = (
            f"{self.source}: {mode}{self.status} in {seconds:.0f} s; listings {self.listings_read} read,"
            f" {self.listings_unchanged} unchanged; articles {self.articles_new} new, {self.articles_updated} updated,"
            f" {self.articles_skipped} skipped; rounds {self.rounds_new} new, {self.rounds_merged} merged;"
            f" {self.errors} error{'' if self.errors == 1 else 's'}"
        )
        return line + (f" ({self.error})" if self.error else "")

    def as_json(self) -> dict[str, object]:
        """Every field; timestamps in ISO 8601 (UTC), `seconds` the run's duration."""
        seconds = (self.finished - self.started).total_seconds() if self.finished else None
        return {
            "id": self.id,
            "source": self.source,
            "mode": self.mode,
            "status": self.status,
            "started": self.started.isoformat(),
            "finished": self.finished.isoformat() if self.finished else None,
            "seconds": round(seconds, 1) if seconds is not None else None,
            "since": self.since.isoformat() if self.since else None,
            "requests": self.requests,
            "articles_new": self.articles_new,
            "articles_updated": self.articles_updated,
            "rounds_new": self.rounds_new,
            "rounds_merged": self.rounds_merged,
            "errors": self.errors,
            "listings_read": self.listings_read,
            "listings_unchanged": self.listings_unchanged,
            "articles_skipped": self.articles_skipped,
            "host": self.host,
            "job_id": self.job_id,
            "seed_version": self.seed_version,
            "finish_reason": self.finish_reason,
            "error": self.error,
            "log_tail": self.log_tail,
        }


class RunBook:
    """Run locks and run records of one store.

    On PostgreSQL (several crawl hosts sharing one store) a run lock is also a session advisory lock, held on a
    connection of its own for the crawl's lifetime: the database frees it when the crawl's process dies, on any
    host, so a crawl killed elsewhere never holds its source until its heartbeat goes stale; heartbeats are then
    stamped and compared on the database's clock, not each host's."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # source -> (owner, the connection holding its advisory lock) (PostgreSQL)
        self._held: dict[str, tuple[str, Connection]] = {}

    @property
    def _shared(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def _now(self, session: Session) -> dt.datetime:
        """The time locks are stamped and compared with: the database's where hosts share it, else this host's."""
        if self._shared:
            return session.scalar(select(func.now()))  # type: ignore[return-value]
        return dt.datetime.now(dt.UTC)

    def _take_session_lock(self, source: str, owner: str) -> bool | None:
        """PostgreSQL: try the source's advisory lock for `owner` on a connection kept open (True taken, False held
        by a live session: elsewhere, or here for another owner); None on other databases."""
        if not self._shared:
            return None
        if source in self._held:
            return self._held[source][0] == owner
        connection = self.engine.connect()
        try:
            key = f"newsmon.run.{source}"
            taken = connection.scalar(
                text("SELECT pg_try_advisory_lock(hashtext(:key || current_schema()))"), {"key": key}
            )
            connection.commit()  # the lock is the session's: it outlives this transaction
        except Exception:
            connection.invalidate()  # whatever it may hold goes with the session
            connection.close()
            raise
        if not taken:
            connection.close()
            return False
        self._held[source] = (owner, connection)
        return True

    def _drop_session_lock(self, source: str, owner: str) -> None:
        held = self._held.get(source)
        if held is None or held[0] != owner:
            return
        del self._held[source]
        held[1].invalidate()  # the session ends (not back to the pool), and its advisory lock with it
        held[1].close()

    def start_run(
        self,
        source: str,
        since: dt.date | None,
        *,
        token: str | None = None,
        started: dt.datetime | None = None,
        mode: str = "full",
        job_id: str | None = None,
        seed_version: str | None = None,
    ) -> int:
        """Record that a crawl of `source` starts now (or at `started`) on this host; returns the run's id.
        `token` names the run to whoever launched the crawl (the scheduler); `mode` is "full" or "poll" (feeds
        only); `job_id` the job that launched it (a worker's, Scrapyd's); `seed_version` the seed file's."""
        with store_errors(), Session(self.engine) as session, session.begin():
            run = CrawlRun(
                source=source,
                mode=mode,
                run_token=token,
                started=started or dt.datetime.now(dt.UTC),
                status="running",
                since=since,
                requests=0,
                articles_new=0,
                articles_updated=0,
                rounds_new=0,
                rounds_merged=0,
                errors=0,
                listings_unchanged=0,
                listings_read=0,
                articles_skipped=0,
                host=socket.gethostname()[:255],
                job_id=job_id[:128] if job_id else None,
                seed_version=seed_version,
            )
            session.add(run)
            session.flush()
            return run.id

    def finish_run(
        self,
        run_id: int,
        status: str,
        *,
        finish_reason: str | None,
        counts: dict[str, int],
        error: str | None = None,
        validators: Mapping[str, tuple[str | None, str | None] | None] | None = None,
    ) -> None:
        """Record how a run ended and what it counted (keys: the CrawlRun count columns).

        `validators` (listing URL -> (ETag, Last-Modified), or None to forget a listing's) are kept in the same
        transaction, for the next run's conditional requests; pass them only for a run that ended ok.
        """
        with store_errors(), Session(self.engine) as session, session.begin():
            run = session.get(CrawlRun, run_id)
            if run is None:
                raise StoreError(f"no crawl run {run_id}")
            for url, pair in (validators or {}).items():
                row = session.scalars(select(ListingValidator).where(ListingValidator.url == url)).one_or_none()
                if pair is None:  # forget: the next run reads this listing in full
                    if row is not None:
                        session.delete(row)
                    continue
                if row is None:
                    row = ListingValidator(url=url)
                    session.add(row)
                row.source, (row.etag, row.last_modified) = run.source, pair
                row.checked = dt.datetime.now(dt.UTC)
            run.finished = dt.datetime.now(dt.UTC)
            run.status = status
            run.finish_reason = finish_reason
            run.error = error
            for name in _RUN_COUNTS:
                setattr(run, name, int(counts.get(name, 0)))

    def listing_validators(self, source: str) -> dict[str, tuple[str | None, str | None]]:
        """The (ETag, Last-Modified) each of the source's feeds and sitemaps last answered a good run with."""
        with store_errors(), Session(self.engine) as session:
            rows = session.scalars(select(ListingValidator).where(ListingValidator.source == source))
            return {row.url: (row.etag, row.last_modified) for row in rows}

    def last_success(self, source: str, mode: str | None = "full") -> dt.datetime | None:
        """When the source's last successful (status ok) run of `mode` started (of any mode: None), or None.

        A full run's window starts from the last full run: a poll reads the feeds only, not the sitemaps."""
        query = select(CrawlRun.started).where(CrawlRun.source == source, CrawlRun.status == "ok")
        if mode is not None:
            query = query.where(CrawlRun.mode == mode)
        with store_errors(), Session(self.engine) as session:
            return session.scalars(query.order_by(CrawlRun.started.desc()).limit(1)).first()

    def acquire(
        self, source: str, owner: str, holder: str, stale_after: dt.timedelta = DEFAULT_STALE_AFTER
    ) -> str | None:
        """Take the source's run lock for `owner`. Returns None when taken, else who holds it (one line)."""
        with store_errors():
            session_lock = self._take_session_lock(source, owner)
        if session_lock is False:  # a live crawl holds it, on whichever host
            return self.holder(source, stale_after) or "a crawl on another host"
        try:
            with store_errors(), Session(self.engine) as session, session.begin():
                now = self._now(session)
                lock = session.get(RunLock, source, with_for_update=True)
                # with the advisory lock ours, whoever the row names is dead, however fresh its heartbeat
                alive = (
                    lock is not None
                    and session_lock is None
                    and lock.heartbeat > now - stale_after
                    and not died_here(lock.holder)
                )
                if lock is not None and lock.owner != owner and alive:
                    return f"{lock.holder or lock.owner}, since {lock.acquired:%Y-%m-%d %H:%M:%S} UTC"
                if lock is None:
                    session.add(RunLock(source=source, owner=owner, acquired=now, heartbeat=now, holder=holder))
                else:  # free, stale (its crawl died), or already ours
                    lock.owner, lock.acquired, lock.heartbeat, lock.holder = owner, now, now, holder
        except IntegrityError:  # another process inserted the row first (PostgreSQL)
            self._drop_session_lock(source, owner)
            return "another crawl that started at the same moment"
        except StoreError:
            self._drop_session_lock(source, owner)
            raise
        return None

    def heartbeat(self, source: str, owner: str) -> bool:
        """Say the lock's crawl is alive. False when `owner` no longer holds the lock."""
        with store_errors(), Session(self.engine) as session, session.begin():
            done = session.execute(
                update(RunLock)
                .where(RunLock.source == source, RunLock.owner == owner)
                .values(heartbeat=self._now(session))
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
        try:
            with store_errors(), Session(self.engine) as session, session.begin():
                session.execute(delete(RunLock).where(RunLock.source == source, RunLock.owner == owner))
        finally:
            self._drop_session_lock(source, owner)

    def holder(self, source: str, stale_after: dt.timedelta = DEFAULT_STALE_AFTER) -> str | None:
        """Who crawls the source now, or None."""
        with store_errors(), Session(self.engine) as session:
            lock = session.get(RunLock, source)
            if lock is None or lock.heartbeat <= self._now(session) - stale_after or died_here(lock.holder):
                return None
            return f"{lock.holder or lock.owner}, since {lock.acquired:%Y-%m-%d %H:%M:%S} UTC"

    def by_id(self, run_id: int) -> RunRecord | None:
        """The crawl_runs row `run_id`, or None."""
        with store_errors(), Session(self.engine) as session:
            run = session.get(CrawlRun, run_id)
            return run_record(run) if run is not None else None

    def by_token(self, token: str) -> RunRecord | None:
        """The run a crawl recorded under `token`, or None."""
        with store_errors(), Session(self.engine) as session:
            run = session.scalars(select(CrawlRun).where(CrawlRun.run_token == token)).first()
            return run_record(run) if run is not None else None

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
    ) -> RunRecord:
        """Record how a launched crawl ended: on the row it wrote (under `token`), or on a new row (of `mode`)
        when it wrote none. The status given wins; the counts the crawl recorded are kept."""
        now = dt.datetime.now(dt.UTC)
        with store_errors(), Session(self.engine) as session, session.begin():
            run = session.scalars(select(CrawlRun).where(CrawlRun.run_token == token)).first()
            if run is None:
                run = CrawlRun(source=source, mode=mode, run_token=token, started=started, requests=0, articles_new=0)
                run.host = socket.gethostname()[:255]
                run.articles_updated = run.rounds_new = run.rounds_merged = run.errors = run.listings_unchanged = 0
                run.listings_read = run.articles_skipped = 0
                session.add(run)
            run.status = status
            run.finished = run.finished or now
            run.error = error if error is not None else run.error
            run.log_tail = log_tail
            session.flush()
            return run_record(run)

    def last_attempt(self, source: str, *, mode: str | None = "full", running: bool = True) -> dt.datetime | None:
        """When the source's last run of `mode` (None: any; default full runs) started that counts as an attempt:
        any outcome but `interrupted` or `abandoned` (stopped by a shutdown or a crash, not by the site: the run
        did not get its chance), and `running` unless `running` is False. Polls read the feeds only: they never
        stand for a night's run."""
        skipped = ("interrupted", "abandoned") if running else ("interrupted", "abandoned", "running")
        query = select(CrawlRun.started).where(CrawlRun.source == source, CrawlRun.status.not_in(skipped))
        if mode is not None:
            query = query.where(CrawlRun.mode == mode)
        with store_errors(), Session(self.engine) as session:
            return session.scalars(query.order_by(CrawlRun.started.desc()).limit(1)).first()


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


def run_record(run: CrawlRun) -> RunRecord:
    """The record of one crawl_runs row."""
    return RunRecord(
        id=run.id,
        source=run.source,
        status=run.status,
        started=run.started,
        finished=run.finished,
        since=run.since,
        requests=run.requests or 0,
        articles_new=run.articles_new or 0,
        articles_updated=run.articles_updated or 0,
        rounds_new=run.rounds_new or 0,
        rounds_merged=run.rounds_merged or 0,
        errors=run.errors or 0,
        listings_unchanged=run.listings_unchanged or 0,
        finish_reason=run.finish_reason,
        error=run.error,
        log_tail=run.log_tail,
        mode=run.mode or "full",
        listings_read=run.listings_read or 0,
        articles_skipped=run.articles_skipped or 0,
        host=run.host,
        job_id=run.job_id,
        seed_version=run.seed_version,
    )


_RUN_COUNTS = (
    "requests",
    "articles_new",
    "articles_updated",
    "rounds_new",
    "rounds_merged",
    "errors",
    "listings_unchanged",
    "listings_read",
    "articles_skipped",
)

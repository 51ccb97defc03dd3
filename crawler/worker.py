"""Crawl workers on several hosts: whole crawls ("crawl source X", as crawler/runner.py runs one) as jobs of a queue
in the PostgreSQL store, on procrastinate (jobs, cron-style periodic tasks, queueing locks, worker heartbeats).

- One periodic task per seed, on the seed's cron (UTC), and one for its feed-only polls: every worker defers
  them, procrastinate keeps one job per tick, the queueing lock (the source's name; its polls have their own)
  keeps a source from being queued twice, and the job lock (the source's name) from running twice at once.
- A job carries the scheduled time it is for, and a run of the source that another job (or a person) started
  since that time stands for it: the job ends without crawling. So a tick deferred twice, or a catch-up and the
  tick it catches up, crawl once.
- At start a worker queues one catch-up run for each source that missed its latest scheduled time (from
  crawl_runs, as `python scheduler.py` does).
- Jobs of a worker that stopped sending heartbeats (killed, its host down) are retried by another worker's
  check every ten seconds; a crawl dies with its worker (as it would with its host), and the run lock keeps a
  retry from overlapping a crawl that is still alive.
- Alerts leave the crawls: the crawls a worker launches deliver none, and one periodic job a minute (one per
  tick, however many workers) delivers what is due; the delivery ledger's claims keep each alert once.

`python scheduler.py` stays the one-host way, with SQLite.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import signal
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy.engine import make_url

from crawler.runner import run_crawl
from crawler.scheduling import POLL_MISFIRE_GRACE, POLL_TIME_LIMIT, CrawlScheduler
from crawler.seeds import Source

logger = logging.getLogger("newsmon.worker")
QUEUE = "crawls"
# the checks, pruning and alerts: a queue of their own, served beside the crawls, so hours-long crawls in every
# crawl slot never hold up a dead worker's retry or the morning's alerts
UPKEEP_QUEUE = "newsmon-upkeep"
CRAWL_TASK = "newsmon.crawl"
STALLED_CHECK = "newsmon.retry_stalled"
ALERTS_TASK = "newsmon.alerts"
PRUNE_TASK = "newsmon.prune_jobs"
JOB_HISTORY_HOURS = 7 * 24  # finished jobs kept this long in the queue's tables
DEFAULT_TIME_LIMIT = 4 * 3600.0
HEARTBEAT_SECONDS = 5.0
# a worker whose heartbeat is older than this is dead: its running jobs are retried
STALLED_WORKER_SECONDS = 30
# the rows of workers dead this long are removed (a live worker whose row is removed stops: only the dead go)
PRUNE_WORKERS_SECONDS = 600
STALLED_CHECK_CRON = "* * * * * */10"  # every ten seconds (croniter's sixth field)
FETCH_POLL_SECONDS = 2.0  # a retried job sends no notification: idle workers look for one this often
QUEUE_POOL_SIZE = 4  # connections a worker's queue may open at once, besides the one that listens for jobs
ALERTS_TIME_LIMIT = 50.0  # seconds for one minute's alert delivery


class WorkerError(Exception):
    """The queue cannot be used as asked; the message is one line for people."""


def require_postgres(db_url: str) -> None:
    """Workers share the store's PostgreSQL database as their queue: anything else is one line.

    Raises:
        WorkerError: the store is not on PostgreSQL, or procrastinate is not installed.
    """
    try:
        dialect = make_url(db_url).get_backend_name()
    except Exception:  # noqa: BLE001 - a path or a malformed URL: not PostgreSQL either way
        dialect = "sqlite"
    if dialect != "postgresql":
        raise WorkerError(
            "crawl workers share a PostgreSQL store (--db postgresql+psycopg://...); for one host with SQLite run "
            "`python scheduler.py`"
        )
    try:
        import procrastinate  # noqa: F401 - only checks the optional extra is there
    except ImportError:
        raise WorkerError('crawl workers need procrastinate: pip install -e ".[workers]"') from None


def conninfo(db_url: str) -> str:
    """The libpq URI of the store's SQLAlchemy URL (its options, search_path included, kept)."""
    return make_url(db_url).set(drivername="postgresql").render_as_string(hide_password=False)


def build_app(
    db_url: str,
    sources: Mapping[str, Source],
    *,
    settings: Mapping[str, str] | None = None,
    time_limit: float = DEFAULT_TIME_LIMIT,
) -> Any:
    """The procrastinate app: the crawl task with each source's runs and polls as periodic jobs, and the upkeep
    jobs (the stalled-job check every ten seconds, alerts every minute, pruning every hour)."""
    import procrastinate

    # the queue's own pool: one connection at rest, a few at once (the jobs' crawls have theirs, storage.engine)
    connector = procrastinate.PsycopgConnector(conninfo=conninfo(db_url), min_size=1, max_size=QUEUE_POOL_SIZE)
    app = procrastinate.App(connector=connector)

    @app.task(name=CRAWL_TASK, queue=QUEUE, pass_context=True)
    async def crawl(context: Any, timestamp: int | None = None, *, source: str, mode: str = "full") -> str:
        job_id, poll = str(context.job.id), mode == "poll"
        if poll and timestamp is not None and _utc(timestamp) < dt.datetime.now(dt.UTC) - POLL_MISFIRE_GRACE:
            logger.debug("%s: poll due at %s dropped, too late (the next one is minutes away)", source, _utc(timestamp))
            return "late"
        if timestamp is not None:
            ran = await asyncio.to_thread(ran_since, db_url, source, timestamp, None if poll else "full")
            if ran is not None:
                due = f"{_utc(timestamp):%Y-%m-%d %H:%M} UTC"
                logger.log(
                    _quiet(poll),
                    "%s: the %s due at %s is done (a run started at %s)",
                    source,
                    "poll" if poll else "run",
                    due,
                    ran,
                )
                return "done already"
        # the alerts job below delivers: a crawl on each host would race to send the same rounds
        job_settings = {**(settings or {}), "NEWSMON_JOB_ID": job_id, "NEWSMON_ALERTS": "off"}
        result = await asyncio.to_thread(
            run_crawl,
            source,
            db_url=db_url,
            settings=job_settings,
            spider_args={"mode": "poll"} if poll else None,
            time_limit=min(time_limit, POLL_TIME_LIMIT) if poll else time_limit,
            die_with_parent=True,
        )
        news = result.articles_new or result.rounds_new or result.status not in ("ok", "skipped")
        logger.log(logging.INFO if news else _quiet(poll), "%s", result.summary or f"{source}: {result.status}")
        return result.status

    # a source's runs never overlap (job lock: its name); a queued poll never keeps its night's run out of the
    # queue (queueing locks of their own); every name is prefixed, so no source can share the upkeep's locks
    for name, source in sorted(sources.items()):
        app.periodic(
            cron=source.schedule,
            periodic_id=name,
            task_kwargs={"source": name},
            queueing_lock=f"crawl:{name}",
            lock=f"source:{name}",
        )(crawl)
        if source.poll:
            app.periodic(
                cron=source.poll,
                periodic_id=f"{name}.poll",
                task_kwargs={"source": name, "mode": "poll"},
                queueing_lock=f"poll:{name}",
                lock=f"source:{name}",
            )(crawl)

    @app.periodic(cron=STALLED_CHECK_CRON, periodic_id="retry-stalled")
    @app.task(name=STALLED_CHECK, queue=UPKEEP_QUEUE, queueing_lock="upkeep:retry-stalled")
    async def retry_stalled(timestamp: int) -> int:
        retried = 0
        try:
            for job in await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=STALLED_WORKER_SECONDS):
                if await _retry(app, job):
                    retried += 1
        finally:
            await app.job_manager.prune_stalled_workers(PRUNE_WORKERS_SECONDS)
        return retried

    # the check above adds a finished job every ten seconds: the queue keeps a week of history
    @app.periodic(cron="17 * * * *", periodic_id="prune-jobs")
    @app.task(name=PRUNE_TASK, queue=UPKEEP_QUEUE, queueing_lock="upkeep:prune-jobs")
    async def prune_jobs(timestamp: int) -> None:
        for queue in (QUEUE, UPKEEP_QUEUE):
            await app.job_manager.delete_old_jobs(nb_hours=JOB_HISTORY_HOURS, queue=queue, include_failed=True)

    @app.periodic(cron="* * * * *", periodic_id="alerts")
    @app.task(name=ALERTS_TASK, queue=UPKEEP_QUEUE, queueing_lock="upkeep:alerts", lock="upkeep:alerts")
    async def alerts(timestamp: int) -> str:
        return await asyncio.to_thread(deliver_alerts, db_url)

    return app


async def _retry(app: Any, job: Any) -> bool:
    """Queue a dead worker's job again (True). When a run of its source is queued already, that run stands for
    it: the job is failed, since left `doing` its lock would hold the queued run back for ever. A job another
    check retried or failed meanwhile is left as it is."""
    from procrastinate.exceptions import ConnectorException, UniqueViolation

    source = job.task_kwargs.get("source", job.task_name)
    try:
        await app.job_manager.retry_job(job)
    except ConnectorException as exc:
        if not isinstance(exc, UniqueViolation):
            return False  # no longer `doing`: another worker's check got to it first
        await app.connector.execute_query_async(
            "UPDATE procrastinate_jobs SET status = 'failed' WHERE id = %(job_id)s AND status = 'doing'",
            job_id=job.id,
        )
        logger.warning("job %s (%s) of a dead worker: failed, a run of it is queued already", job.id, source)
        return False
    logger.warning("job %s (%s) of a dead worker: retried", job.id, source)
    return True


def ran_since(db_url: str, source: str, timestamp: int, mode: str | None = "full") -> str | None:
    """When a run of `source` (of `mode`; None: any) started at or after `timestamp` and ended, whatever its
    outcome but interrupted or abandoned, or None. A run still `running` does not count: with jobs of a source
    run one at a time it is a crawl started by hand (this job's crawl will be refused beside it) or a dead one."""
    from storage import Store

    started = Store(db_url).runs.last_attempt(source, mode=mode, running=False)
    if started is None or started < _utc(timestamp):
        return None
    return f"{started:%Y-%m-%d %H:%M:%S} UTC"


def _quiet(poll: bool) -> int:
    """Polls come every few minutes: only their news is logged."""
    return logging.DEBUG if poll else logging.INFO


def _utc(timestamp: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(timestamp, dt.UTC)


def deliver_alerts(db_url: str) -> str:
    """Deliver the alerts due under the alerts file (NEWSMON_ALERTS), in one line; nothing when there is none."""
    from crawler.alerts import AlertConfigError, alerts_path, load_alerts, run_alerts

    path = alerts_path()
    if path is None or not path.exists():
        return "no alerts file"
    try:
        report = run_alerts(db_url, load_alerts(path), time_limit=ALERTS_TIME_LIMIT)
    except AlertConfigError as exc:
        logger.warning("alerts not delivered: %s", exc)
        return str(exc)
    line = report.line()
    logger.info("%s", line)
    return line


def watch_alert_rules(db_url: str) -> None:
    """Let the alerts file's new rules watch from now (rounds stored before a rule is seen never alert it)."""
    from crawler.alerts import AlertConfigError, alerts_path, load_alerts, start_watching

    path = alerts_path()
    if path is None or not path.exists():
        return
    try:
        for name in start_watching(db_url, load_alerts(path)):
            logger.info("alerts: rule %s watches from now on", name)
    except AlertConfigError as exc:
        logger.warning("alerts not watched: %s", exc)


def ensure_queue_schema(app: Any, db_url: str) -> None:
    """Create procrastinate's tables in the store's schema once (under the same advisory lock as migrations)."""
    from sqlalchemy import create_engine, inspect, text

    from storage.engine import MIGRATION_LOCK

    engine = create_engine(db_url)
    try:
        with engine.begin() as connection:
            connection.execute(text(f"SELECT pg_advisory_xact_lock(hashtext({MIGRATION_LOCK!r} || current_schema()))"))
            if inspect(connection).has_table("procrastinate_jobs"):
                return
            schema = app.schema_manager.get_schema()
            connection.exec_driver_sql(schema.replace("%", "%%"))
    finally:
        engine.dispose()


def enqueue(app: Any, names: Iterable[str], missed: Mapping[str, dt.datetime] | None = None) -> dict[str, str]:
    """Queue a crawl of each source now; returns source -> "queued" or "already queued". A source in `missed`
    is queued for that scheduled time: a run started since then stands for it."""
    from procrastinate.exceptions import AlreadyEnqueued

    outcome = {}
    with app.open():
        for name in names:
            scheduled = (missed or {}).get(name)
            task_kwargs: dict[str, Any] = {"source": name}
            if scheduled is not None:
                task_kwargs["timestamp"] = int(scheduled.timestamp())
            try:
                app.configure_task(CRAWL_TASK, queue=QUEUE, queueing_lock=f"crawl:{name}", lock=f"source:{name}").defer(
                    **task_kwargs
                )
                outcome[name] = "queued"
            except AlreadyEnqueued:
                outcome[name] = "already queued"
    return outcome


def catch_up(app: Any, db_url: str, sources: Mapping[str, Source], now: dt.datetime | None = None) -> dict[str, str]:
    """Queue one run of each source that missed its latest scheduled time and has no job waiting or running
    (another worker's, whose crawl may not have recorded its start yet): idempotent across workers."""
    when = now or dt.datetime.now(dt.UTC)
    scheduler = CrawlScheduler(sources=sources, db_url=db_url, clock=lambda: when)
    busy = queued_or_running(db_url)
    due = {name: missed or when for name, missed in scheduler.missed_runs().items() if name not in busy}
    return enqueue(app, list(due), due) if due else {}


def queued_or_running(db_url: str) -> set[str]:
    """The sources with a crawl job waiting or running in the queue."""
    from sqlalchemy import create_engine, text

    engine = create_engine(db_url)
    try:
        with engine.connect() as connection:
            found = connection.execute(
                text(
                    "SELECT DISTINCT args->>'source' FROM procrastinate_jobs"
                    " WHERE task_name = :task AND status IN ('todo', 'doing')"
                    " AND coalesce(args->>'mode', 'full') = 'full'"
                ),
                {"task": CRAWL_TASK},
            )
            return {source for (source,) in found if source}
    finally:
        engine.dispose()


def run_worker(app: Any, db_url: str, sources: Mapping[str, Source], concurrency: int) -> None:
    """Serve crawl jobs (`concurrency` at once) and upkeep jobs (one at a time, beside them) until SIGTERM or
    SIGINT, running crawls ending first; one log line per crawl."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s: %(message)s")
    logging.getLogger("procrastinate").setLevel(logging.WARNING)
    watch_alert_rules(db_url)
    for name, state in catch_up(app, db_url, sources).items():
        logger.info("%s: missed its last scheduled run; catch-up %s", name, state)
    asyncio.run(_serve(app, concurrency))


async def _serve(app: Any, concurrency: int) -> None:
    """Two procrastinate workers in this process, the crawls' and the upkeep's; a signal stops both gracefully,
    and so does either one stopping on its own (its error logged by procrastinate).

    Raises:
        WorkerError: one of them stopped on its own.
    """
    options = {
        "wait": True,
        "install_signal_handlers": False,
        "update_heartbeat_interval": HEARTBEAT_SECONDS,
        "stalled_worker_timeout": PRUNE_WORKERS_SECONDS,  # what a starting worker prunes: the long dead only
    }
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with app.open_async():
        workers = [
            asyncio.create_task(
                app.run_worker_async(
                    queues=[QUEUE], concurrency=concurrency, fetch_job_polling_interval=FETCH_POLL_SECONDS, **options
                )
            ),
            asyncio.create_task(app.run_worker_async(queues=[UPKEEP_QUEUE], concurrency=1, **options)),
        ]
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait([stopping, *workers], return_when=asyncio.FIRST_COMPLETED)
        asked = stopping.done()
        for task in (stopping, *workers):
            task.cancel()
        ended = await asyncio.gather(*workers, return_exceptions=True)
    if not asked:
        errors = [str(e).splitlines()[0] for e in ended if isinstance(e, Exception) and str(e).strip()]
        raise WorkerError(f"the worker stopped on its own{': ' + errors[0] if errors else ''} (see the log above)")

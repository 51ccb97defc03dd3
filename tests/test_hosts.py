"""Several hosts sharing one PostgreSQL store (each host a local process here): the schema is upgraded once
whoever starts first, and crawls store and re-crawl as on SQLite. Skips with the reason where no PostgreSQL
server is reachable (NEWSMON_TEST_PG_URL). And what an installation on other hosts needs: the seeds from a
zipped egg, and a clear line when it cannot migrate."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from crawler.replay import settings_args
from crawler.worker import QUEUE_POOL_SIZE
from pipelines.dates import today_utc
from storage import SCHEMA_REVISION, RunBook, Store, StoreError, list_articles, list_rounds, list_runs, lock_holder
from storage.engine import dispose_engines
from tests.support.crawling import PROJECT_ROOT
from tests.support.httpsite import Page, Site, serve
from tests.support.postgres import pg_available, pg_store, sql_rows
from tests.support.seeds import local_site, write_local_seed
from tests.support.sitebuilder import Entry, article_page, rss

# the seeds of the workers' tests: the nights' runs only (a worker also runs a seed's feed-only polls)
NO_POLLS = 'poll = "off"\n'
_no_server = pytest.mark.skipif(pg_available() is not None, reason=f"no PostgreSQL: {pg_available()}")


def needs_postgres(test: Callable[..., None]) -> Callable[..., None]:
    """A test of the `postgres` set (`pytest -m postgres`), skipped where no server answers."""
    return pytest.mark.postgres(_no_server(test))


@needs_postgres
def test_three_hosts_starting_together_on_an_empty_schema_upgrade_it_once() -> None:
    with pg_store() as url:
        env = {key: value for key, value in os.environ.items() if key != "NEWSMON_DB_URL"}
        command = [sys.executable, "-m", "crawler.cli", "--db", url, "migrate"]
        hosts = [
            subprocess.Popen(
                command, cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
            for _ in range(3)
        ]
        done = [(host.wait(timeout=120), *host.communicate()) for host in hosts]
        assert [code for code, _, _ in done] == [0, 0, 0], [err for _, _, err in done]
        assert all(out.startswith(f"the store is at schema {SCHEMA_REVISION}") for _, out, _ in done)
        engine = create_engine(url)
        try:
            with engine.connect() as connection:
                assert connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [
                    SCHEMA_REVISION
                ]
        finally:
            engine.dispose()


@needs_postgres
@pytest.mark.slow
def test_three_workers_starting_together_on_an_empty_schema_all_serve(tmp_path: Path) -> None:
    """Acceptance 8 of issue 19: three `newsmon worker` processes started at once on an empty schema: it reaches
    the current revision with the queue's tables, all three serve (two procrastinate workers each: crawls and
    upkeep), and all stop cleanly on SIGTERM."""
    with pg_store() as url:
        write_local_seed(tmp_path / "seeds", "idle", "http://127.0.0.1:9", NO_POLLS)  # its catch-up fails at once
        workers = _start_workers(url, _worker_env(tmp_path), count=3)
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and _registered(url) < 6:
                assert all(w.poll() is None for w in workers), [w.communicate()[1][-2000:] for w in workers]
                time.sleep(0.5)
            registered = _registered(url)
        finally:
            logs = _stop_workers(workers)
        revision = sql_rows(url, "SELECT version_num FROM alembic_version")
        dispose_engines(url)
    assert registered == 6, logs
    assert [worker.returncode for worker in workers] == [0, 0, 0], logs
    assert revision == [(SCHEMA_REVISION,)]


def _registered(url: str) -> int:
    """How many procrastinate workers are registered in the store's queue (0 before its tables exist)."""
    try:
        return sql_rows(url, "SELECT count(*) FROM procrastinate_workers")[0][0]
    except Exception:  # noqa: BLE001 - the schema is being made
        return 0


@needs_postgres
@pytest.mark.slow
def test_a_crawl_of_200_pages_into_postgresql_then_a_recrawl_that_fetches_no_article(tmp_path: Path) -> None:
    """Acceptance 1 of issue 19: the crawl path (spider, pipelines, run record, validators) on PostgreSQL."""
    with pg_store() as url, serve(Site()) as site:
        local_site(site, 200)
        site.pages["/feed.xml"].etag = True
        write_local_seed(tmp_path / "seeds", "local", site.base_url)
        dispose_engines(url)  # from here on, the store's connections are the crawl's
        with _peak_connections(url) as peak:
            first = _crawl(tmp_path, url)
        fetched = [path for path in site.paths_hit() if path.startswith("/news/")]
        site.hits.clear()
        again = _crawl(tmp_path, url)
        runs = list(reversed(list_runs(url)))
        stored = len(list_articles(url))
        dispose_engines(url)
    assert first.returncode == 0 and again.returncode == 0, (first.stderr[-2000:], again.stderr[-2000:])
    assert len(fetched) == len(set(fetched)) == 200 and stored == 200
    assert [(run.status, run.articles_new) for run in runs] == [("ok", 200), ("ok", 0)]
    assert [path for path in site.paths_hit() if path.startswith("/news/")] == []  # no article requested again
    assert (runs[1].listings_read, runs[1].listings_unchanged) == (1, 1)  # the feed answered 304
    assert 1 <= peak[0] <= 3, peak  # a small pool per crawl: its writes, the run lock's heartbeat and session


@contextlib.contextmanager
def _peak_connections(url: str) -> Iterator[list[int]]:
    """The most connections to the store's schema (its application_name) seen at once, sampled every 50 ms
    until the block ends, this sampler's own connection left out."""
    import threading

    peak, done = [0], threading.Event()
    engine = create_engine(url)
    query = text(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE application_name = current_setting('application_name') AND pid <> pg_backend_pid()"
    )

    def sample() -> None:
        with engine.connect() as connection:
            while not done.wait(0.05):
                peak[0] = max(peak[0], connection.execute(query).scalar())
                connection.rollback()  # pg_stat_activity is a snapshot per transaction

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield peak
    finally:
        done.set()
        sampler.join(timeout=10)
        engine.dispose()


def _crawl(folder: Path, url: str) -> subprocess.CompletedProcess[str]:
    settings = {
        "DOWNLOAD_DELAY": "0.01",
        "AUTOTHROTTLE_ENABLED": "False",
        "NEWSMON_SEEDS_DIR": str(folder / "seeds"),
        "NEWSMON_DB_URL": url,
        "NEWSMON_ALERTS": "off",
    }
    return subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", "local", *settings_args(settings)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


@needs_postgres
def test_a_run_lock_is_freed_when_its_holders_session_dies_on_any_host() -> None:
    """Host A holds the source; host B is refused. A dies (its database session ends) without releasing the
    row, whose heartbeat is still fresh: B takes the source over at once instead of waiting 15 minutes."""
    with pg_store() as url:
        Store(url)  # the schema
        host_a, host_b = RunBook(create_engine(url)), RunBook(create_engine(url))
        try:
            elsewhere = "crawler-a.example pid 4242 pidns 4026531836"  # not this host: only the lock can tell
            assert host_a.acquire("techcrunch", "token-a", elsewhere) is None
            assert host_b.acquire("techcrunch", "token-b", lock_holder()) == host_a.holder("techcrunch")
            host_a._held.pop("techcrunch")[1].invalidate()  # A's process is gone: its session, its advisory lock
            assert host_b.holder("techcrunch", dt.timedelta(minutes=15)) is not None  # the row still looks alive
            deadline = time.monotonic() + 10  # the server ends that session on its own time
            while (taken := host_b.acquire("techcrunch", "token-b", lock_holder())) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert taken is None
            assert host_a.acquire("techcrunch", "token-a", elsewhere) is not None  # now B's
            assert host_b.heartbeat("techcrunch", "token-b")
        finally:
            for book, owner in ((host_a, "token-a"), (host_b, "token-b")):
                book.release("techcrunch", owner)
                book.engine.dispose()
        dispose_engines(url)


@needs_postgres
@pytest.mark.slow
def test_a_source_crawled_by_hand_while_it_is_queued_three_times_never_runs_twice_at_once(tmp_path: Path) -> None:
    """Acceptance 3 of issue 19: while a manual `scrapy crawl` of a source runs, two more manual crawls start
    (refused in one line, exit 3) and `newsmon enqueue` queues it three times (queued once) for a worker: there
    are never two `running` rows for it, and every run recorded is `ok`."""
    with pg_store() as url, serve(Site()) as site:
        Store(url)  # the schema, for the polls below
        local_site(site, 20, delay=0.5)  # ten seconds: the other crawls start while it runs, even on a busy host
        write_local_seed(tmp_path / "seeds", "local", site.base_url, NO_POLLS)
        env = _worker_env(tmp_path)
        first = _start(tmp_path, url)
        deadline = time.monotonic() + 60
        while not _running(url) and time.monotonic() < deadline:
            time.sleep(0.1)
        others = [_start(tmp_path, url) for _ in range(2)]
        queued = [_newsmon(url, env, "enqueue", "local").stdout.strip() for _ in range(3)]
        workers = _start_workers(url, env, "-s", "DOWNLOAD_DELAY=0.01", count=1)
        running = []
        try:
            while (first.poll() is None or not _jobs_done(url, "newsmon.crawl")) and time.monotonic() < deadline + 60:
                running.append(_running(url))
                time.sleep(0.1)
        finally:
            logs = _stop_workers(workers)
        results = [(process.wait(timeout=120), process.communicate()[1]) for process in (first, *others)]
        runs = list_runs(url)
        jobs = _jobs_done(url, "newsmon.crawl")
        dispose_engines(url)
    assert jobs == 1  # the one queued run, done by the worker
    assert queued == ["local: queued", "local: already queued", "local: already queued"]
    assert [code for code, _ in results] == [0, 3, 3], [err[-1000:] for _, err in results]
    assert all("is being crawled already" in err for _, err in results[1:])
    assert max(running) == 1 and {run.status for run in runs} == {"ok"}, logs  # the queued run: after, or refused


def _start(folder: Path, url: str) -> subprocess.Popen[str]:
    settings = {
        "DOWNLOAD_DELAY": "0.01",
        "AUTOTHROTTLE_ENABLED": "False",
        "NEWSMON_SEEDS_DIR": str(folder / "seeds"),
        "NEWSMON_DB_URL": url,
        "NEWSMON_ALERTS": "off",
    }
    command = [sys.executable, "-m", "scrapy", "crawl", "local", *settings_args(settings)]
    return subprocess.Popen(command, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _running(url: str) -> int:
    return sum(1 for run in list_runs(url) if run.status == "running")


def test_the_shipped_seeds_are_read_from_a_zipped_egg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Scrapyd runs newsmon from a zipped egg: its seeds are package data, copied out once to be read."""
    import importlib
    import zipfile

    import crawler.seeds as seeds_module

    egg = tmp_path / "newsmon.egg"
    with zipfile.ZipFile(egg, "w") as archive:
        archive.writestr("seeds/__init__.py", "")
        for path in sorted((PROJECT_ROOT / "seeds").glob("*.toml"))[:3]:
            archive.write(path, f"seeds/{path.name}")
    monkeypatch.setattr(seeds_module, "DEFAULT_SEEDS_DIR", tmp_path / "no-checkout")
    monkeypatch.delenv("NEWSMON_SEEDS_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.syspath_prepend(str(egg))
    monkeypatch.delitem(sys.modules, "seeds", raising=False)
    importlib.invalidate_caches()
    folder = seeds_module.seeds_dir()
    assert folder.is_dir() and folder.parent == tmp_path / "cache" / "newsmon"
    expected = [path.stem for path in sorted((PROJECT_ROOT / "seeds").glob("*.toml"))[:3]]
    assert sorted(seeds_module.read_seeds().sources) == expected
    assert seeds_module.seeds_dir() == folder  # written once per content
    (folder / "planted.toml").write_text('title = "not ours"\n')  # a folder that no longer holds exactly them
    assert seeds_module.seeds_dir() != folder and "planted" not in seeds_module.read_seeds().sources


def test_an_install_without_migration_scripts_asks_for_newsmon_migrate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crawl from an egg against an older (here: empty) store fails in one line and writes nothing."""
    import storage.engine

    monkeypatch.setattr(storage.engine, "_MIGRATIONS", tmp_path / "inside-the-egg")
    url = f"sqlite:///{tmp_path / 'newsmon.db'}"
    with pytest.raises(StoreError) as error:
        Store(url)
    assert "upgrade it first with `newsmon migrate`" in str(error.value) and "\n" not in str(error.value)
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM sqlite_master WHERE type = 'table'")).scalar() == 0
    finally:
        engine.dispose()


@needs_postgres
@pytest.mark.slow
@pytest.mark.parametrize("queued_by", ["enqueue", "catch-up"])
def test_two_workers_share_four_queued_sources_and_fetch_every_article_once(tmp_path: Path, queued_by: str) -> None:
    """Acceptance 2 of issue 19: `newsmon enqueue` queues four sources, two `newsmon worker --concurrency 1`
    run them: four `ok` runs, both workers used, every article requested and stored exactly once. Acceptance 6:
    with nothing queued, two workers started after the sources' scheduled time (never run) catch each up once."""
    names = ["alpha", "bravo", "charlie", "delta"]
    with pg_store() as url, contextlib.ExitStack() as stack:
        sites = {name: stack.enter_context(serve(Site())) for name in names}
        for name, site in sites.items():
            local_site(site, 8, delay=0.2)
            write_local_seed(tmp_path / "seeds", name, site.base_url, NO_POLLS)
        env = {
            **{key: value for key, value in os.environ.items() if key != "NEWSMON_DB_URL"},
            "NEWSMON_SEEDS_DIR": str(tmp_path / "seeds"),
            "NEWSMON_ALERTS": "off",
        }
        cli = [sys.executable, "-m", "crawler.cli", "--db", url]
        Store(url)  # the schema, for the polls below (the workers would create it too)
        if queued_by == "enqueue":
            queued = subprocess.run(
                [*cli, "enqueue", *names], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True
            )
            assert queued.returncode == 0 and queued.stdout.count(": queued") == 4, queued.stderr
        dispose_engines(url)  # from here on, the store's connections are the workers' and their crawls'
        with _peak_connections(url) as peak:
            workers = _start_workers(url, env, "--concurrency", "1")
            try:
                deadline = time.monotonic() + 180
                while time.monotonic() < deadline and sum(run.status == "ok" for run in list_runs(url)) < 4:
                    assert all(w.poll() is None for w in workers), [w.communicate()[1][-2000:] for w in workers]
                    time.sleep(0.5)
                    dispose_engines(url)
            finally:
                logs = _stop_workers(workers)
        runs = list_runs(url)
        stored = len(list_articles(url))
        dispose_engines(url)
    assert sorted((run.source, run.status) for run in runs) == [(name, "ok") for name in names], logs
    assert all(run.job_id for run in runs)
    assert all(any(f"{name}: ok in" in log for name in names) for log in logs), logs  # both workers crawled
    for site in sites.values():
        articles = [path for path in site.paths_hit() if path.startswith("/news/")]
        assert len(articles) == len(set(articles)) == 8
    assert stored == 32
    # per worker process: its two listeners and queue pool, its own store engine's pool, one crawl's
    assert peak[0] <= 2 * (2 + QUEUE_POOL_SIZE + 4 + 3), peak


@needs_postgres
@pytest.mark.slow
def test_two_outlets_crawled_on_two_workers_alert_a_watched_round_once(tmp_path: Path) -> None:
    """Acceptance 7 of issue 19: one round reported by two outlets, crawled on two workers, reaches a webhook on
    127.0.0.1 exactly once (one `sent` row), delivered by the workers' one-a-minute alerts job, not by the crawls."""
    from tests.support.receivers import recording

    title = "Acme Robotics raises $20 million Series A led by Sequoia Capital"
    with pg_store() as url, contextlib.ExitStack() as stack:
        receiver = stack.enter_context(recording())
        for name in ("outlet_a", "outlet_b"):
            site = stack.enter_context(serve(Site()))
            entry = Entry(f"{site.base_url}/news/acme-robotics-series-a/", today_utc(), title, Path())
            site.pages["/robots.txt"] = Page(b"User-agent: *\nAllow: /\n", "text/plain")
            site.pages["/feed.xml"] = Page(rss([entry], name, site.base_url), "application/rss+xml")
            site.pages["/news/acme-robotics-series-a/"] = Page(article_page(entry.url, title, entry.published))
            write_local_seed(tmp_path / "seeds", name, site.base_url, NO_POLLS)
        alerts = tmp_path / "alerts.toml"
        alerts.write_text(
            f'[channels.hook]\ntype = "webhook"\nurl = "http://127.0.0.1:{receiver.port}/hook"\n\n'
            '[rules.sequoia]\ninvestors = ["Sequoia"]\nchannels = ["hook"]\n',
            encoding="utf-8",
        )
        env = {
            **{key: value for key, value in os.environ.items() if key != "NEWSMON_DB_URL"},
            "NEWSMON_SEEDS_DIR": str(tmp_path / "seeds"),
            "NEWSMON_ALERTS": str(alerts),
            "NEWSMON_ALLOWED_HOSTS": f"{os.environ.get('NEWSMON_ALLOWED_HOSTS', '')},127.0.0.1:{receiver.port}",
        }
        Store(url)
        workers = _start_workers(url, env)
        try:
            deadline = time.monotonic() + 240
            while time.monotonic() < deadline and not receiver.requests:
                time.sleep(0.5)
            delivered = _alert_jobs(url)
            while time.monotonic() < deadline and _alert_jobs(url) <= delivered:  # one more minute's job ran
                time.sleep(0.5)
        finally:
            logs = _stop_workers(workers)
        runs = list_runs(url)
        found = list_rounds(url)
        engine = create_engine(url)
        try:
            with engine.connect() as connection:
                sent = connection.execute(text("SELECT count(*) FROM alert_deliveries WHERE status = 'sent'")).scalar()
        finally:
            engine.dispose()
        dispose_engines(url)
    assert sorted((run.source, run.status) for run in runs) == [("outlet_a", "ok"), ("outlet_b", "ok")], logs
    assert [(r.company, len(r.sources)) for r in found] == [("Acme Robotics", 2)]
    assert len(receiver.requests) == 1 and sent == 1, logs
    assert "Acme Robotics" in receiver.requests[0].body.decode()
    assert sum("alerts: 1 sent" in log for log in logs) == 1  # by a worker's alerts job (crawls send none)


def _start_workers(url: str, env: dict[str, str], *options: str, count: int = 2) -> list[subprocess.Popen[str]]:
    """`count` processes of `newsmon worker` on the store at `url`, each in a session of its own."""
    command = [sys.executable, "-m", "crawler.cli", "--db", url, "worker", *options]
    return [
        subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        for _ in range(count)
    ]


def _stop_workers(workers: list[subprocess.Popen[str]]) -> list[str]:
    """SIGTERM to each worker's process group (its crawls end first), SIGKILL to one still there after two
    minutes; their logs."""
    for worker in workers:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(worker.pid, signal.SIGTERM)
    logs = []
    for worker in workers:
        try:
            logs.append(worker.communicate(timeout=120)[1])
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(worker.pid, signal.SIGKILL)
            logs.append(worker.communicate()[1])
    return logs


def _alert_jobs(url: str) -> int:
    """How many of the workers' alert jobs have run to their end."""
    return _jobs_done(url, "newsmon.alerts")


def _jobs_done(url: str, task: str) -> int:
    """How many jobs of `task` have run to their end."""
    query = "SELECT count(*) FROM procrastinate_jobs WHERE task_name = :task AND status = 'succeeded'"
    return sql_rows(url, query, task=task)[0][0]


@needs_postgres
@pytest.mark.slow
def test_a_crawl_whose_worker_is_killed_is_finished_by_another_worker_within_a_minute(
    tmp_path: Path, record_property: Callable[[str, object], None]
) -> None:
    """Acceptance 4 of issue 19: worker A is SIGKILLed with its crawl at half the site; its crawl dies with it (as
    with its host), and worker B retries the job and finishes the site within 60 s: every article stored once,
    article requests at most N + CONCURRENT_REQUESTS, A's run `abandoned`."""
    from crawler.settings import CONCURRENT_REQUESTS

    count = 40
    with pg_store() as url, serve(Site()) as site:
        local_site(site, count, delay=0.25)
        write_local_seed(tmp_path / "seeds", "local", site.base_url, NO_POLLS)
        env = _worker_env(tmp_path)
        Store(url)
        queued = _newsmon(url, env, "enqueue", "local")
        assert queued.returncode == 0 and "local: queued" in queued.stdout, queued.stderr
        fast = ("-s", "DOWNLOAD_DELAY=0.01", "-s", "AUTOTHROTTLE_ENABLED=False")
        (worker_a,) = _start_workers(url, env, *fast, count=1)
        workers = [worker_a]
        try:
            deadline = time.monotonic() + 120
            while not _running(url) and time.monotonic() < deadline:
                assert worker_a.poll() is None, worker_a.communicate()[1][-2000:]
                time.sleep(0.2)
            workers += _start_workers(url, env, *fast, count=1)  # B, idle: A holds the only job
            while _stored(url) < count // 2 and time.monotonic() < deadline:
                time.sleep(0.1)
            os.kill(worker_a.pid, signal.SIGKILL)  # the worker only: its crawl must follow it
            killed_at, stored_then = time.monotonic(), _stored(url)
            while time.monotonic() < killed_at + 90 and not any(run.status == "ok" for run in list_runs(url)):
                time.sleep(0.2)
            finished_in = time.monotonic() - killed_at
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.kill(worker_a.pid, signal.SIGKILL)  # in case the test failed before it did
            logs = [worker_a.communicate(timeout=30)[1], *_stop_workers(workers[1:])]
        runs = list(reversed(list_runs(url)))
        stored = len(list_articles(url))
        dispose_engines(url)
    requested = [path for path in site.paths_hit() if path.startswith("/news/")]
    record_property("stored_at_kill", stored_then)  # figures for --junitxml -o junit_family=legacy
    record_property("seconds_to_finish", round(finished_in, 1))
    record_property("article_requests", len(requested))
    assert count // 2 <= stored_then < count, stored_then  # killed with the crawl half done
    assert [run.status for run in runs] == ["abandoned", "ok"], logs
    assert runs[0].job_id == runs[1].job_id  # one job, retried on B
    assert finished_in <= 60, (finished_in, logs)
    assert "retried" in logs[1]
    assert stored == count and len(set(requested)) == count
    assert len(requested) <= count + CONCURRENT_REQUESTS, len(requested)


@needs_postgres
@pytest.mark.slow
def test_a_source_due_every_minute_runs_once_a_minute_on_two_workers(tmp_path: Path) -> None:
    """Acceptance 5 of issue 19: a seed on `* * * * *` and two workers for three minutes: three runs, one per
    minute (the first the catch-up of the minute the workers started in, which both workers' schedulers and
    catch-ups also queue), none overlapping."""
    with pg_store() as url, serve(Site()) as site:
        local_site(site, 3)
        write_local_seed(tmp_path / "seeds", "minutely", site.base_url, 'schedule = "* * * * *"\n' + NO_POLLS)
        env = _worker_env(tmp_path)
        Store(url)
        now = dt.datetime.now(dt.UTC)
        if now.second > 45:  # start early enough in a minute for the catch-up run to start within it
            time.sleep(61 - now.second - now.microsecond / 1e6)
        first_minute = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
        workers = _start_workers(url, env, "-s", "DOWNLOAD_DELAY=0.01")
        try:
            stop_at = first_minute + dt.timedelta(minutes=2, seconds=55)
            while dt.datetime.now(dt.UTC) < stop_at:
                assert all(worker.poll() is None for worker in workers), [w.communicate()[1][-2000:] for w in workers]
                time.sleep(1)
        finally:
            logs = _stop_workers(workers)
        runs = list(reversed(list_runs(url)))
        dispose_engines(url)
    assert [run.status for run in runs] == ["ok"] * 3, logs
    assert [run.started.replace(second=0, microsecond=0) for run in runs] == [
        first_minute + dt.timedelta(minutes=n) for n in range(3)
    ]
    assert all(earlier.finished <= later.started for earlier, later in zip(runs, runs[1:], strict=False))


def _worker_env(folder: Path) -> dict[str, str]:
    return {
        **{key: value for key, value in os.environ.items() if key != "NEWSMON_DB_URL"},
        "NEWSMON_SEEDS_DIR": str(folder / "seeds"),
        "NEWSMON_ALERTS": "off",
    }


def _newsmon(url: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "crawler.cli", "--db", url, *args]
    return subprocess.run(command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120)


def _stored(url: str) -> int:
    return sql_rows(url, "SELECT count(*) FROM articles")[0][0]


@needs_postgres
def test_a_dead_workers_job_is_retried_unless_a_run_of_its_source_is_queued_already() -> None:
    """The stalled-job check: a job of a worker that stopped sending heartbeats goes back to the queue; if a run of
    the same source is queued already, that run stands for it and the dead job is failed (left `doing`, its job
    lock would hold the queued run back for ever). Finished jobs leave the queue's tables after a week."""
    import asyncio

    from crawler.worker import PRUNE_TASK, STALLED_CHECK, build_app, enqueue, ensure_queue_schema

    async def stall(app: object, url: str) -> tuple[int, int]:
        """Two crawl jobs taken by a worker that then dies; returns their ids."""
        async with app.open_async():
            worker = await app.job_manager.register_worker()
            first = await app.job_manager.fetch_job(queues=None, worker_id=worker)
            second = await app.job_manager.fetch_job(queues=None, worker_id=worker)
        query = "UPDATE procrastinate_workers SET last_heartbeat = now() - interval '5 minutes' WHERE id = :id"
        engine = create_engine(url)
        with engine.begin() as connection:
            connection.execute(text(query), {"id": worker})
        engine.dispose()
        return first.id, second.id

    async def check(app: object) -> int:
        async with app.open_async():
            return await app.tasks[STALLED_CHECK](timestamp=0)

    async def prune(app: object) -> None:
        async with app.open_async():
            await app.tasks[PRUNE_TASK](timestamp=0)

    with pg_store() as url:
        Store(url)
        app = build_app(url, {})
        ensure_queue_schema(app, url)
        assert enqueue(app, ["alpha", "bravo"]) == {"alpha": "queued", "bravo": "queued"}
        ids = asyncio.run(stall(app, url))
        assert enqueue(app, ["bravo"]) == {"bravo": "queued"}  # a run of bravo queued while its job looked alive
        retried = asyncio.run(check(app))
        states = sql_rows(url, "SELECT args->>'source', status FROM procrastinate_jobs ORDER BY id")
        # a week and a day later: the failed job goes from the queue's tables, the waiting ones stay
        back = "UPDATE procrastinate_events SET at = at - interval '8 days' WHERE job_id = :id"
        engine = create_engine(url)
        with engine.begin() as connection:
            connection.execute(text(back), {"id": ids[1]})
        engine.dispose()
        asyncio.run(prune(app))
        left = sql_rows(url, "SELECT args->>'source', status FROM procrastinate_jobs ORDER BY id")
        dispose_engines(url)
    assert len(ids) == 2 and retried == 1
    assert states == [("alpha", "todo"), ("bravo", "failed"), ("bravo", "todo")]
    assert left == [("alpha", "todo"), ("bravo", "todo")]


@needs_postgres
@pytest.mark.slow
def test_a_worker_polls_a_sources_feed_on_its_poll_schedule(tmp_path: Path) -> None:
    """Workers run a seed's feed-only polls as `python scheduler.py` does: after the catch-up of the night's run
    (never run), an article added to the feed is stored by a poll within its minute, and no poll overlaps a run."""
    with pg_store() as url, serve(Site()) as site:
        local_site(site, 3)
        write_local_seed(tmp_path / "seeds", "polled", site.base_url, 'poll = "* * * * *"\n')
        env = _worker_env(tmp_path)
        Store(url)
        workers = _start_workers(url, env, "-s", "DOWNLOAD_DELAY=0.01", count=1)
        try:
            deadline = time.monotonic() + 60
            while not any(run.status == "ok" for run in list_runs(url)) and time.monotonic() < deadline:
                assert workers[0].poll() is None, workers[0].communicate()[1][-2000:]
                time.sleep(0.5)
            local_site(site, 4)  # a fourth story in the feed
            deadline = time.monotonic() + 130
            while time.monotonic() < deadline and not any(r.articles_new for r in list_runs(url) if r.mode == "poll"):
                time.sleep(0.5)
        finally:
            logs = _stop_workers(workers)
        runs = list(reversed(list_runs(url)))
        stored = len(list_articles(url))
        dispose_engines(url)
    assert [(run.mode, run.status, run.articles_new) for run in runs[:1]] == [("full", "ok", 3)], logs
    polls = [run for run in runs[1:] if run.mode == "poll"]
    assert polls and {run.status for run in polls} == {"ok"} and [r.articles_new for r in polls][-1] == 1, logs
    assert stored == 4 and all(a.finished <= b.started for a, b in zip(runs, runs[1:], strict=False))

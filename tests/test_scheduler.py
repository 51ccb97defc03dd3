"""`python scheduler.py`: listing, run-now on replayed and live sites, catch-up with an injected clock,
time limits, no two crawls of one source at once, and a clean stop on SIGTERM."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import RowMapping, create_engine, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from crawler.replay import RecordedPage, replay_settings, settings_args, write_cache
from crawler.runner import RunResult
from crawler.scheduling import CrawlScheduler, latest_fire_time, trigger_of
from crawler.seeds import DEFAULT_SEEDS_DIR, load_seeds
from pipelines.dates import today_utc
from storage import Store
from storage.engine import dispose_engines
from tests.support.crawling import PROJECT_ROOT
from tests.support.httpsite import Page, Site, serve
from tests.support.postgres import sql_rows
from tests.support.seeds import local_site, write_local_seed
from tests.support.sitebuilder import Entry, article_page, rss, venturebeat_site

# a small delay, not 0: Scrapy 2.19 starts every queued request of a slot at once when DOWNLOAD_DELAY is 0
FAST = {"DOWNLOAD_DELAY": "0.01", "AUTOTHROTTLE_ENABLED": "False"}


def _url(db: Path | str) -> str:
    """A store URL: `db` itself, or the SQLite file at the path `db`."""
    return db if isinstance(db, str) else f"sqlite:///{db}"


def scheduler(*args: str, db: Path | str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NEWSMON_DB_URL", "NEWSMON_SEEDS_DIR")}
    return subprocess.run(
        [sys.executable, "scheduler.py", "--db", _url(db), *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def runs(db: Path | str) -> list[RowMapping]:
    """The crawl_runs rows of the store `db` (a SQLite file's path or a URL), oldest first."""
    engine = create_engine(_url(db))
    try:
        with engine.connect() as connection:
            return list(connection.execute(text("SELECT * FROM crawl_runs ORDER BY id")).mappings())
    finally:
        engine.dispose()


@pytest.mark.slow
def test_list_shows_every_source_with_its_next_run(tmp_path: Path) -> None:
    done = scheduler("--list", db=tmp_path / "none.db")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()[1:]
    assert sorted(line.split()[0] for line in lines) == sorted(load_seeds(DEFAULT_SEEDS_DIR))
    for line in lines:
        next_day, next_time = line.split()[6:8]  # the next run time, after the five cron fields
        assert dt.date.fromisoformat(next_day) > dt.date(2026, 1, 1) and dt.time.fromisoformat(next_time)
        assert line.endswith("never run")


@pytest.mark.slow
def test_run_now_replays_a_source_and_a_failing_one_does_not_stop_the_others(shared: Path, tmp_path: Path) -> None:
    """A source whose site fails and one whose seed file is half written each record a `failed` run naming the
    cause (issue 17, classes 8 and 17); the others run. `scrapy crawl` of either is one line and exit status 1."""
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    shutil.copy(DEFAULT_SEEDS_DIR / "venturebeat.toml", seeds)
    (seeds / "broken.toml").write_text(
        'title = "Broken"\nallowed_domains = ["broken.example"]\nrobots_txt = "https://broken.example/robots.txt"\n'
        "feeds = [\"https://broken.example/feed/\"]\narticle_url_pattern = '^https://broken\\.example/\\d{4}/'\n"
        'language = "en"\n'
    )
    cache = tmp_path / "cache"
    pages, entries = venturebeat_site(shared)
    write_cache(cache, "venturebeat", pages)
    error = RecordedPage(b"Internal Server Error", "text/plain", status=500)
    write_cache(cache, "broken", {"https://broken.example/robots.txt": error, "https://broken.example/feed/": error})
    gamma = seeds / "gamma.toml"
    gamma.write_text('title = "Gamma"\nallowed_domains = ["gamma.exa')  # a save cut short
    db = tmp_path / "newsmon.db"
    replay = settings_args({**replay_settings(cache), "NEWSMON_SEEDS_DIR": str(seeds)})
    done = scheduler("--run-now", "-a", "since=2000-01-01", *replay, db=db)
    assert done.returncode == 1, done.stderr[-3000:]  # two sources failed
    assert "Traceback" not in done.stderr
    assert f"scheduler.py: {gamma}: not valid TOML" in done.stderr
    by_source = {row["source"]: row for row in runs(db)}
    assert by_source["broken"]["status"] == "failed" and "no feed or sitemap" in by_source["broken"]["error"]
    assert "robots.txt answered HTTP 500" in by_source["broken"]["error"]  # the cause, not only the effect
    assert by_source["broken"]["log_tail"]
    assert by_source["gamma"]["status"] == "failed" and by_source["gamma"]["error"].startswith(f"{gamma}: not valid")
    for source, line in (
        ("gamma", f"newsmon: {gamma}: not valid TOML"),
        ("broken", "newsmon: broken: failed: no feed"),
    ):
        crawled = subprocess.run(
            [sys.executable, "-m", "scrapy", "crawl", source, *replay, "-s", f"NEWSMON_DB_URL=sqlite:///{db}"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert crawled.returncode == 1 and "Traceback" not in crawled.stderr, crawled.stderr[-3000:]
        assert [error for error in crawled.stderr.splitlines() if error.startswith("newsmon:")][0].startswith(line)
    assert [row["status"] for row in runs(db)].count("failed") == 4
    good = by_source["venturebeat"]
    assert (good["status"], good["articles_new"], good["rounds_new"]) == ("ok", len(entries), 2)
    assert "venturebeat: ok in" in done.stderr and "broken: failed in" in done.stderr


def _fake_runner(db_url: str, clock: list[dt.datetime], calls: list[str]):
    def run(name: str, **_: object) -> RunResult:
        calls.append(name)
        store = Store(db_url)
        run_id = store.runs.start_run(name, None, started=clock[0])
        store.runs.finish_run(run_id, "ok", finish_reason="finished", counts={"articles_new": 1})
        return RunResult(name, "ok", 0.1, 1)

    return run


def test_catch_up_runs_once_however_many_nights_were_missed_and_restarts(tmp_path: Path) -> None:
    """Last success three days ago: one catch-up run; two restarts right after add none. A source that ran
    after its latest scheduled time needs none."""
    sources = {name: load_seeds(DEFAULT_SEEDS_DIR)[name] for name in ("venturebeat", "techcrunch")}
    db_url = f"sqlite:///{tmp_path / 'newsmon.db'}"
    now = [dt.datetime(2026, 11, 26, 11, 0, tzinfo=dt.UTC)]
    store = Store(db_url)
    old = store.runs.start_run("venturebeat", None, started=now[0] - dt.timedelta(days=3))
    store.runs.finish_run(old, "ok", finish_reason="finished", counts={})
    fresh = store.runs.start_run(
        "techcrunch", None, started=latest_fire_time(trigger_of(sources["techcrunch"]), now[0])
    )
    store.runs.finish_run(fresh, "ok", finish_reason="finished", counts={})
    calls: list[str] = []

    def start() -> CrawlScheduler:  # what `python scheduler.py` does at each start, with the clock injected
        made = CrawlScheduler(sources, db_url=db_url, clock=lambda: now[0], runner=_fake_runner(db_url, now, calls))
        made.run_now(made.catch_up_due())
        return made

    start()
    assert calls == ["venturebeat"]
    now[0] += dt.timedelta(minutes=1)
    start()
    now[0] += dt.timedelta(minutes=1)
    start()
    assert calls == ["venturebeat"]
    now[0] = dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC)  # a night later, with the scheduler down
    start()
    assert calls == ["venturebeat", "techcrunch", "venturebeat"]


def test_a_run_cut_short_by_a_shutdown_does_not_count_as_the_nights_attempt(tmp_path: Path) -> None:
    """A reboot during the nightly crawl (interrupted) leaves the night to catch up; a run that failed on the
    site's side was the night's attempt (the next scheduled time tries again)."""
    sources = {"venturebeat": load_seeds(DEFAULT_SEEDS_DIR)["venturebeat"]}
    db_url = f"sqlite:///{tmp_path / 'newsmon.db'}"
    now = dt.datetime(2026, 11, 26, 11, 0, tzinfo=dt.UTC)
    fired = latest_fire_time(trigger_of(sources["venturebeat"]), now)
    store = Store(db_url)
    store.runs.finish_run(
        store.runs.start_run("venturebeat", None, started=now - dt.timedelta(days=3)),
        "ok",
        finish_reason="finished",
        counts={},
    )
    store.runs.finish_run(
        store.runs.start_run("venturebeat", None, started=fired + dt.timedelta(minutes=5)),
        "interrupted",
        finish_reason="shutdown",
        counts={},
    )
    planned = CrawlScheduler(sources, db_url=db_url, clock=lambda: now)
    assert planned.catch_up_due() == ["venturebeat"]
    store.runs.finish_run(
        store.runs.start_run("venturebeat", None, started=fired + dt.timedelta(minutes=30)),
        "failed",
        finish_reason="finished",
        counts={},
    )
    assert planned.catch_up_due() == []


def test_a_crawl_that_died_is_marked_abandoned_by_the_next_one_and_its_stale_lock_is_taken(db_url: str) -> None:
    """A crawl dies holding the lock (a process that exits without releasing it). On SQLite its fresh heartbeat
    keeps the source until the lock is stale; on PostgreSQL its advisory lock ended with its session, so the
    next crawl takes the source at once. Either way the dead run is marked `abandoned`."""
    dies = (
        "import os, sys\n"
        "from storage import Store\n"
        "book = Store(sys.argv[1]).runs\n"
        "book.start_run('venturebeat', None, token='dead')\n"
        "assert book.acquire('venturebeat', 'dead', 'crawler-a.example pid 1') is None\n"
        "os._exit(0)\n"
    )
    died = subprocess.run([sys.executable, "-c", dies, db_url], cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert died.returncode == 0, died.stderr[-2000:]
    book = Store(db_url).runs
    taken = book.acquire("venturebeat", "next", "host pid 2")
    if db_url.startswith("sqlite"):
        assert taken is not None  # fresh: held
        assert book.acquire("venturebeat", "next", "host pid 2", stale_after=dt.timedelta(0)) is None  # stale: taken
    else:  # its session, and the advisory lock, end with it (the server notices on its own time)
        deadline = time.monotonic() + 10
        while taken is not None and time.monotonic() < deadline:
            time.sleep(0.1)
            taken = book.acquire("venturebeat", "next", "host pid 2")
        assert taken is None
    assert not book.heartbeat("venturebeat", "dead") and book.heartbeat("venturebeat", "next")
    assert book.abandon_orphans("venturebeat", "next") == 1
    assert [(r.status, r.error) for r in (book.by_token("dead"),)] == [
        ("abandoned", "the crawl died without recording its end")
    ]
    book.release("venturebeat", "next")
    dispose_engines(db_url)


def test_misfire_grace_covers_a_queue_of_every_source(tmp_path: Path) -> None:
    sources = load_seeds(DEFAULT_SEEDS_DIR)
    planned = CrawlScheduler(sources, db_url=f"sqlite:///{tmp_path / 'n.db'}", time_limit=4 * 3600)
    assert planned.misfire_grace() >= len(sources) * dt.timedelta(hours=4)
    assert CrawlScheduler({}, db_url="sqlite://").misfire_grace() == dt.timedelta(hours=6)


@pytest.mark.slow
def test_an_orphaned_crawl_ends_itself_at_its_own_deadline(tmp_path: Path) -> None:
    """A crawl whose scheduler died (it runs in its own process group) stops at the deadline it was given,
    releases its lock, and the next crawl of the source runs."""
    with serve(Site()) as site:
        local_site(site, 2)
        site.pages["/robots.txt"].delay = 120
        seeds = tmp_path / "seeds"
        write_local_seed(seeds, "orphan", site.base_url)
        db = tmp_path / "newsmon.db"
        settings = {**FAST, "NEWSMON_SEEDS_DIR": str(seeds), "NEWSMON_DB_URL": f"sqlite:///{db}"}
        deadline = {"NEWSMON_DEADLINE": f"{time.time() + 3:.0f}", "NEWSMON_DEADLINE_GRACE": "2"}
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "scrapy", "crawl", "orphan", *settings_args({**settings, **deadline})],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert time.monotonic() - started < 30
        assert "Traceback" not in done.stderr, done.stderr[-3000:]
        site.pages["/robots.txt"].delay = 0
        done = scheduler("--run-now", "orphan", *settings_args({**FAST, "NEWSMON_SEEDS_DIR": str(seeds)}), db=db)
        assert done.returncode == 0, done.stderr[-3000:]
    statuses = [row["status"] for row in runs(db)]
    assert statuses[-1] == "ok" and statuses[0] in ("interrupted", "abandoned")


def test_catch_up_jobs_are_added_to_the_schedule(tmp_path: Path) -> None:
    sources = {"venturebeat": load_seeds(DEFAULT_SEEDS_DIR)["venturebeat"]}
    planned = CrawlScheduler(sources, db_url=f"sqlite:///{tmp_path / 'n.db'}").build(BackgroundScheduler)
    planned.start(paused=True)  # jobs get their defaults when the scheduler starts; paused, nothing runs
    try:
        ids = sorted(job.id for job in planned.get_jobs())
        assert ids == ["catch-up:venturebeat", "crawl:venturebeat", "poll:venturebeat"]  # never run: caught up
        poll = planned.get_job("poll:venturebeat")
        assert (poll.executor, poll.misfire_grace_time, str(poll.trigger)) == (
            "polls",
            300,
            "cron[month='*', day='*', day_of_week='*', hour='*', minute='*/20']",
        )
        cron = planned.get_job("crawl:venturebeat")
        assert (cron.coalesce, cron.max_instances, cron.misfire_grace_time) == (True, 1, 6 * 3600)
        assert str(cron.trigger) == str(trigger_of(sources["venturebeat"]))
    finally:
        planned.shutdown(wait=False)


@pytest.mark.slow
def test_a_hanging_crawl_is_killed_at_its_limit_and_the_next_source_still_runs(tmp_path: Path) -> None:
    with serve(Site()) as hanging, serve(Site()) as fine:
        local_site(hanging, 1)
        hanging.pages["/robots.txt"].delay = 120  # never answers in time
        local_site(fine, 2)
        seeds = tmp_path / "seeds"
        write_local_seed(seeds, "hanging", hanging.base_url)
        write_local_seed(seeds, "fine", fine.base_url)
        db = tmp_path / "newsmon.db"
        settings = settings_args({**FAST, "NEWSMON_SEEDS_DIR": str(seeds)})
        started = time.monotonic()
        done = scheduler("--run-now", "hanging", "fine", "--time-limit", "4", "--grace", "2", *settings, db=db)
        assert time.monotonic() - started < 60
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr[-3000:]
    by_source = {row["source"]: row for row in runs(db)}
    assert by_source["hanging"]["status"] == "timeout" and "time limit of 4 s" in by_source["hanging"]["error"]
    assert (by_source["fine"]["status"], by_source["fine"]["articles_new"]) == ("ok", 2)
    with sqlite3.connect(db) as connection:
        assert connection.execute("SELECT count(*) FROM run_locks").fetchone() == (0,)


def _wait_for_running(db: Path | str, source: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    query = "SELECT count(*) FROM crawl_runs WHERE source = :source AND status = 'running'"
    while time.monotonic() < deadline:
        if isinstance(db, str) or db.exists():
            try:
                running = sql_rows(_url(db), query, source=source)[0][0]
                stored = sql_rows(_url(db), "SELECT count(*) FROM articles")[0][0]
                if running and stored:
                    return
            except SQLAlchemyError:  # the schema is being created
                pass
        time.sleep(0.2)
    raise AssertionError(f"no running crawl of {source} with a stored article after {timeout} s")


def _popen_scheduler(*args: str, db: Path | str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NEWSMON_DB_URL", "NEWSMON_SEEDS_DIR")}
    return subprocess.Popen(
        [sys.executable, "scheduler.py", "--db", _url(db), *args],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
def test_two_schedulers_and_a_manual_crawl_never_crawl_one_source_at_once(tmp_path: Path) -> None:
    with serve(Site()) as site:
        local_site(site, 24, delay=0.5)  # 12 s of crawling: the others start well within it
        seeds = tmp_path / "seeds"
        write_local_seed(seeds, "slow", site.base_url)
        db = tmp_path / "newsmon.db"
        settings = settings_args({**FAST, "NEWSMON_SEEDS_DIR": str(seeds)})
        first = _popen_scheduler("--run-now", "slow", *settings, db=db)
        _wait_for_running(db, "slow")
        second = _popen_scheduler("--run-now", "slow", *settings, db=db)
        manual = subprocess.run(
            [sys.executable, "-m", "scrapy", "crawl", "slow", *settings, "-s", f"NEWSMON_DB_URL=sqlite:///{db}"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        outputs = [process.communicate(timeout=120) for process in (first, second)]
    assert manual.returncode == 3 and "Traceback" not in manual.stderr
    assert manual.stderr.strip().splitlines()[-1].startswith("newsmon: slow is being crawled already (")
    assert "slow: skipped, being crawled already" in outputs[1][1]
    recorded = runs(db)
    assert [row["status"] for row in recorded] == ["ok"]
    with sqlite3.connect(db) as connection:
        assert connection.execute("SELECT count(*), count(DISTINCT url) FROM articles").fetchone() == (24, 24)
        assert connection.execute("SELECT count(*) FROM run_locks").fetchone() == (0,)


@pytest.mark.slow
def test_sigterm_stops_the_crawl_cleanly_and_a_later_run_completes_it(tmp_path: Path, db_url: str) -> None:
    """On SQLite and on PostgreSQL where a server is reachable."""
    with serve(Site()) as site:
        local_site(site, 30, delay=0.3)  # Scrapy drains at most 16 in-flight requests on SIGTERM
        seeds = tmp_path / "seeds"
        write_local_seed(seeds, "slow", site.base_url)
        db = db_url
        settings = settings_args({**FAST, "NEWSMON_SEEDS_DIR": str(seeds)})
        running = _popen_scheduler("--run-now", "slow", "--grace", "20", *settings, db=db)
        _wait_for_running(db, "slow")
        running.send_signal(signal.SIGTERM)
        _, stderr = running.communicate(timeout=60)
        assert running.returncode == 1 and "Traceback" not in stderr, stderr[-3000:]
        (stopped,) = runs(db)
        assert stopped["status"] == "interrupted"
        _check_integrity(db)
        partly = sql_rows(db, "SELECT count(*) FROM articles")[0][0]
        assert 0 < partly < 30
        done = scheduler("--run-now", "slow", *settings, db=db)
        assert done.returncode == 0, done.stderr[-3000:]
    statuses = [row["status"] for row in runs(db)]
    assert statuses == ["interrupted", "ok"]
    assert sql_rows(db, "SELECT count(*), count(DISTINCT url) FROM articles") == [(30, 30)]
    _check_integrity(db)
    dispose_engines(db)


def _check_integrity(url: str) -> None:
    """`PRAGMA integrity_check` of a SQLite store (a server keeps its own)."""
    if url.startswith("sqlite:///"):
        with contextlib.closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as connection:
            assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)


@pytest.mark.slow
def test_serving_catches_up_a_never_run_source_logs_it_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    """`python scheduler.py` itself: a source that never ran gets its catch-up at once (one log line at the
    start, one at the end with counts); a second, slow one is running when SIGTERM comes and is recorded
    interrupted; the scheduler exits 0 with nothing left running or locked."""
    with serve(Site()) as quick, serve(Site()) as slow:
        local_site(quick, 2)
        local_site(slow, 60, delay=0.3)  # 18 s: still running whatever the machine's load
        seeds = tmp_path / "seeds"
        write_local_seed(seeds, "quick", quick.base_url)
        write_local_seed(seeds, "slow", slow.base_url)
        db = tmp_path / "newsmon.db"
        settings = settings_args({**FAST, "NEWSMON_SEEDS_DIR": str(seeds)})
        serving = _popen_scheduler("--max-parallel", "2", "--grace", "20", *settings, db=db)
        _wait_for_running(db, "slow")
        deadline = time.monotonic() + 60
        while not [r for r in runs(db) if r["source"] == "quick" and r["status"] == "ok"]:
            assert time.monotonic() < deadline, "the quick source was not caught up"
            time.sleep(0.2)
        serving.send_signal(signal.SIGTERM)
        time.sleep(0.05)
        serving.send_signal(signal.SIGTERM)  # impatient: a second signal is only logged
        _, stderr = serving.communicate(timeout=60)
    assert serving.returncode == 0 and "Traceback" not in stderr, stderr[-3000:]
    for line in ("scheduler started: 2 sources", "SIGTERM: already stopping", "scheduler stopped"):
        assert line in stderr, stderr[-3000:]
    for line in ("quick: crawl started", "quick: ok in", "; articles 2 new,"):
        assert line in stderr, stderr[-3000:]
    recorded = sorted((r["source"], r["status"]) for r in runs(db))
    assert recorded == [("quick", "ok"), ("slow", "interrupted")], stderr[-3000:]
    with sqlite3.connect(db) as connection:
        assert connection.execute("SELECT count(*) FROM run_locks").fetchone() == (0,)
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)


# `python scheduler.py` with every source's cron replaced by a short interval: the real command line, jobs,
# executor and runner; only the trigger differs (cron cannot fire more often than once a minute).
FAST_SCHEDULE = """
import runpy, sys
from apscheduler.triggers.interval import IntervalTrigger
import crawler.scheduling
crawler.scheduling.trigger_of = lambda source: IntervalTrigger(seconds={seconds}, timezone="UTC")
sys.argv = ["scheduler.py", *sys.argv[1:]]
runpy.run_path("scheduler.py", run_name="__main__")
"""


def _children(pid: int) -> dict[int, str]:
    """The child processes of `pid`, with their state letter (Z: a zombie, not reaped yet)."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):  # it ended while being read
            continue
        if int(fields[1]) == pid:
            found[int(stat.parent.name)] = fields[0]
    return found


def _processes_naming(text: str) -> list[int]:
    """The processes whose command line contains `text`."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if text.encode() in cmdline.read_bytes():
                found.append(int(cmdline.parent.name))
        except OSError:
            continue
    return found


def _footprint(pid: int) -> tuple[int, int]:
    """(resident memory in kB, open file descriptors) of a process."""
    status = Path(f"/proc/{pid}/status").read_text()
    rss_kb = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")))
    return rss_kb, len(list(Path(f"/proc/{pid}/fd").iterdir()))


@pytest.mark.slow
@pytest.mark.soak
@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="reads process state from /proc (Linux)")
def test_thirty_nights_keep_the_scheduler_flat(tmp_path: Path) -> None:
    """L5: one scheduler runs 30 crawls of a small local source, one a second: 30 ok crawl_runs rows; no child
    left a zombie; the scheduler's memory and open files after crawl 30 are those after crawl 5 (measured
    between crawls, when no crawl is running)."""
    with serve(Site()) as site:
        local_site(site, 2)
        seeds = tmp_path / "seeds"
        write_local_seed(seeds, "nightly", site.base_url)
        db = tmp_path / "newsmon.db"
        env = {k: v for k, v in os.environ.items() if k not in ("NEWSMON_DB_URL", "NEWSMON_SEEDS_DIR")}
        settings = settings_args({**FAST, "NEWSMON_SEEDS_DIR": str(seeds), "NEWSMON_ALERTS": "off"})
        with (tmp_path / "scheduler.log").open("w") as log:
            serving = subprocess.Popen(
                [sys.executable, "-c", FAST_SCHEDULE.format(seconds=1), "--db", f"sqlite:///{db}", *settings],
                cwd=PROJECT_ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                text=True,
            )
        footprints: dict[int, tuple[int, int]] = {}
        zombie_since: dict[int, float] = {}
        deadline = time.monotonic() + 150
        try:
            while len(footprints) < 2:
                assert serving.poll() is None, (tmp_path / "scheduler.log").read_text()[-3000:]
                assert time.monotonic() < deadline, f"only {len(footprints)} samples: {_finished(db)} runs"
                children = _children(serving.pid)
                now = time.monotonic()
                zombie_since = {pid: zombie_since.get(pid, now) for pid, state in children.items() if state == "Z"}
                assert all(now - since < 2 for since in zombie_since.values()), f"zombies: {children}"
                finished = _finished(db)
                for after in (5, 30):
                    if finished >= after and after not in footprints and not children:  # between two crawls
                        footprints[after] = _footprint(serving.pid)
                time.sleep(0.05)
        finally:
            serving.send_signal(signal.SIGTERM)
            serving.wait(timeout=60)
        output = (tmp_path / "scheduler.log").read_text()
    assert serving.returncode == 0 and "Traceback" not in output, output[-3000:]
    statuses = [row["status"] for row in runs(db)]
    # the stop may catch a 31st crawl as it starts: it is recorded interrupted, never half-done
    assert statuses[:30] == ["ok"] * 30 and statuses[30:] in ([], ["interrupted"]), statuses
    (rss_5, fds_5), (rss_30, fds_30) = footprints[5], footprints[30]
    assert rss_30 - rss_5 < 8 * 1024, f"scheduler RSS grew from {rss_5} kB to {rss_30} kB"
    assert fds_30 <= fds_5, f"scheduler open fds grew from {fds_5} to {fds_30}"
    assert not _processes_naming(str(seeds)), "a crawl outlived the scheduler"
    with sqlite3.connect(db) as connection:
        assert connection.execute("SELECT count(*), count(DISTINCT url) FROM articles").fetchone() == (2, 2)
        assert connection.execute("SELECT count(*) FROM run_locks").fetchone() == (0,)


def _finished(db: Path) -> int:
    """How many crawl runs have ended."""
    try:
        with sqlite3.connect(db) as connection:
            return connection.execute("SELECT count(*) FROM crawl_runs WHERE status != 'running'").fetchone()[0]
    except sqlite3.OperationalError:  # no store or no schema yet
        return 0


def _publish(site: Site, count: int) -> None:
    """The local site's feed lists `count` stories (with an ETag, so polls can ask conditionally)."""
    base = site.base_url
    entries = [
        Entry(f"{base}/news/story-{n}/", today_utc(), f"Story {n} about a company", Path()) for n in range(count)
    ]
    site.pages["/feed.xml"] = Page(rss(entries, "Local", base), "application/rss+xml", etag=True)
    for entry in entries:
        site.pages[entry.url.removeprefix(base)] = Page(article_page(entry.url, entry.title, entry.published))


def _wait_for_runs(db: Path, count: int, timeout: float) -> list[sqlite3.Row]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [run for run in runs(db) if run["status"] != "running"]
        if len(found) >= count:
            return found
        time.sleep(0.5)
    raise AssertionError(f"fewer than {count} finished runs after {timeout} s: {[dict(r) for r in runs(db)]}")


@pytest.mark.slow
def test_a_polled_feed_item_is_stored_within_one_poll_and_an_unchanged_feed_costs_one_304(tmp_path: Path) -> None:
    """After the nightly run, the scheduler polls the source every minute: a story its feed gains is stored by the
    next poll; a poll of the unchanged site makes one conditional request (answered 304), no robots.txt request
    (the night's is reused) and writes nothing but its run record."""
    db = tmp_path / "n.db"
    seeds = tmp_path / "seeds"
    with serve(Site()) as site:
        site.pages["/robots.txt"] = Page(b"User-agent: *\nAllow: /\n", "text/plain")
        _publish(site, 1)
        write_local_seed(seeds, "local", site.base_url)
        with (seeds / "local.toml").open("a") as seed:
            seed.write('poll = "* * * * *"\n')
        sources = load_seeds(seeds)
        planner = CrawlScheduler(sources, db_url=f"sqlite:///{db}", settings={**FAST, "NEWSMON_SEEDS_DIR": str(seeds)})
        [night] = planner.run_now(["local"])
        assert night.status == "ok" and night.articles_new == 1

        scheduler = planner.build(BackgroundScheduler)
        assert sorted(job.id for job in scheduler.get_jobs()) == ["crawl:local", "poll:local"]  # no catch-up due
        scheduler.start()
        try:
            _publish(site, 2)  # story-1 appears
            published = time.monotonic()
            first = _wait_for_runs(db, 2, timeout=120)[-1]
            stored_after = time.monotonic() - published
            hits_before = len(site.hits)
            second = _wait_for_runs(db, 3, timeout=120)[-1]
            polled = site.hits[hits_before:]
        finally:
            scheduler.shutdown(wait=True)

    assert (first["mode"], first["status"], first["articles_new"]) == ("poll", "ok", 1)
    assert stored_after < 60 + 30  # the next minute's poll, and the crawl's own seconds
    with sqlite3.connect(db) as connection:
        assert connection.execute("SELECT count(*) FROM articles").fetchone() == (2,)
    assert (second["mode"], second["status"], second["articles_new"], second["listings_unchanged"]) == (
        "poll",
        "ok",
        0,
        1,
    )
    assert [(method, path) for method, path, _ in polled] == [("GET", "/feed.xml")]
    assert all("If-None-Match" in headers for _, _, headers in polled)


def test_a_lock_held_from_another_pid_namespace_waits_for_its_heartbeat(tmp_path: Path) -> None:
    """Issue 17, class 9: a crawl in a container that shares the host name holds the lock under a pid this
    namespace does not have; that is not a dead crawl. Only a holder of this namespace whose pid is gone is
    (a crawl killed with SIGKILL); one from another namespace, or an old holder without one, waits to go stale."""
    import socket

    from storage.runs import lock_holder

    book = Store(f"sqlite:///{tmp_path / 'newsmon.db'}").runs
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # a pid that no longer exists here
    host = socket.gethostname()
    ours = lock_holder().partition(" pidns ")[2]
    assert ours.startswith("pid:[")
    for holder, taken in [
        (f"{host} pid {gone.pid} pidns pid:[4026599999]", False),  # another namespace: alive for all we know
        (f"{host} pid {gone.pid}", False),  # recorded before namespaces were: left to the heartbeat
        (f"{host} pid {gone.pid} pidns {ours}", True),  # ours and gone: dead
    ]:
        with Session(book.engine) as session, session.begin():
            session.execute(text("DELETE FROM run_locks"))
        assert book.acquire("src", "holder", holder) is None
        assert (book.acquire("src", "next", lock_holder()) is None) == taken, holder

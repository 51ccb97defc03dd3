"""Load benchmark for the reliability matrix rows L1–L4 (../shared/guides/reliability.md, section 4).

Usage: python benchmarks/load.py [--pages N] [--out FILE.json]      (N defaults to 5000; 200 is a quick run)

A site on 127.0.0.1 (a stdlib server in a thread) lists N article pages through robots.txt → a sitemap index →
5 sitemaps. Each page is one of the real pages in ../shared/corpus/bench (20–200 KB, read in place) with a
canonical link and one sentence of its own added inside its longest paragraph, so every page is a distinct
article; every tenth sentence announces a funding round. Real `scrapy crawl` subprocesses store them in a
temporary SQLite file:

  L1  one crawl: every page stored exactly once; wall time, pages/s, peak RSS against MEMUSAGE_WARNING_MB.
  L2  the crawl again: nothing new or updated. 50 pages change (with a newer sitemap <lastmod>) and the crawl
      runs again: it fetches again exactly the articles listed as changed since their last fetch (the first
      crawl is dated back to the listings' day in the store, as if it had run then): exactly 50 updated, the
      same rows, no duplicated rounds.
  L3  4 reader processes loop `newsmon rounds --json` (in-process, 0.1 s apart) during a crawl into a fresh
      store: no "database is locked", the counts each sees only grow; the queries' p95 latency.
  L4  a reader holds one read transaction open for a whole crawl into a fresh store: the crawl is not
      blocked; afterwards `wal_checkpoint(TRUNCATE)` brings the -wal file under 1 MB; the WAL's peak size.

Prints a table and writes the figures as JSON with --out. Exit status 1 on a correctness failure (never on
speed), 2 when ../shared/corpus/bench is absent.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from crawler import settings as project_settings  # noqa: E402 - needs ROOT on sys.path
from crawler.guard import ALLOWED_HOSTS_ENV  # noqa: E402
from crawler.replay import settings_args  # noqa: E402

BENCH_DIR = ROOT.parent / "shared" / "corpus" / "bench"
SOURCE = "loadbench"
SINCE = "2000-01-01"  # a backfill window: every listed page is in it
LISTED = dt.date(2024, 6, 1)  # the sitemaps' <lastmod>
RELISTED = dt.date(2024, 7, 1)  # the newer <lastmod> of a changed page
SITEMAPS = 5
CHANGED = 50
READERS = 4
READER_PAUSE = 0.1  # seconds between one reader's queries
ROUND_EVERY = 10  # every tenth page announces a funding round
WAL_LIMIT_BYTES = 1 << 20
# a small delay, not 0: Scrapy 2.19 starts every queued request of a slot at once when DOWNLOAD_DELAY is 0
FAST = {"DOWNLOAD_DELAY": "0.01", "AUTOTHROTTLE_ENABLED": "False", "NEWSMON_ALERTS": "off"}
SYLLABLES = "ba ke lo mi nu ra se ti vo za de fi go hu ja pe qui ro su ty".split()
NEWSMON = Path(sys.executable).with_name("newsmon")


# --- the site ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Base:
    """A corpus page and where to add a page's own canonical link (`head`) and sentence (`para`)."""

    body: bytes
    head: int
    para: int


def company(i: int) -> str:
    """A made-up company name, distinct for each page and not a prefix of another."""
    width = max(3, next(w for w in range(1, 10) if len(SYLLABLES) ** w > i))
    return "".join(SYLLABLES[i // len(SYLLABLES) ** k % len(SYLLABLES)] for k in range(width)).capitalize()


def sentence(i: int, revised: bool) -> str:
    """Page i's own sentence; a revised page says something else (another text, the same round)."""
    lead = "Update: " if revised else ""
    if i % ROUND_EVERY == 0:
        amount = 2 + (i // ROUND_EVERY) % 90
        return f" {lead}{company(i)} has raised ${amount} million in a seed round led by Northwind Ventures."
    return f" {lead}Load-test note {i}: {company(i)} is article {i} of this benchmark{' (revised)' if revised else ''}."


def prepare(body: bytes) -> Base | None:
    """Where page text goes in a corpus page: inside its longest paragraph; None when it has none."""
    if re.search(rb"http-equiv=[\"']?refresh", body, re.I):
        return None  # a meta refresh would send the crawl elsewhere
    head = re.search(rb"<head[^>]*>", body, re.I)
    paras = list(re.finditer(rb"<p[ >].{0,20000}?</p>", body, re.I | re.S))
    if not paras:
        return None
    longest = max(paras, key=lambda m: len(re.sub(rb"<[^>]*>", b"", m.group())))
    base = Base(body, head.end() if head else 0, longest.end() - len(b"</p>"))
    return base if base.head <= base.para else None


def page_bytes(base: Base, url: str, text: str) -> bytes:
    """The corpus page with `url` as its canonical link and `text` at the end of its longest paragraph."""
    canonical = f'<link rel="canonical" href="{escape(url)}">'.encode()
    b = base.body
    return b[: base.head] + canonical + b[base.head : base.para] + text.encode() + b[base.para :]


def usable_bases(folder: Path) -> list[Base]:
    """The corpus pages of 20–200 KB whose added sentence survives extraction (decoded as Scrapy does) and whose
    date is inside the window: each of them makes a distinct stored article."""
    from w3lib.encoding import html_to_unicode

    from pipelines.extract import ExtractionSkipped, extract_article

    usable = []
    for path in sorted(folder.glob("*.html")):
        body = path.read_bytes()
        base = prepare(body) if 20_000 <= len(body) <= 200_000 else None
        if base is None:
            continue
        probe = "zqxprobeq"
        _, html = html_to_unicode("text/html", page_bytes(base, "http://127.0.0.1/news/a-0/", f" {probe} ok."))
        try:
            article = extract_article(html, "http://127.0.0.1/news/a-0/")
        except ExtractionSkipped:
            continue
        if probe in article.text and (article.published is None or article.published.isoformat() >= SINCE):
            usable.append(base)
    return usable


@dataclass
class LoadSite:
    """N article pages behind robots.txt → sitemap index → 5 sitemaps; `revised` pages serve new text."""

    bases: list[Base]
    pages: int
    revised: set[int] = field(default_factory=set)
    base_url: str = ""

    def url(self, i: int) -> str:
        return f"{self.base_url}/news/a-{i}/"

    def urls(self) -> list[str]:
        return [self.url(i) for i in range(self.pages)]

    def article(self, i: int) -> bytes:
        return page_bytes(self.bases[i % len(self.bases)], self.url(i), sentence(i, i in self.revised))

    def sitemap(self, k: int) -> bytes:
        rows = "".join(
            f"<url><loc>{self.url(i)}</loc><lastmod>{RELISTED if i in self.revised else LISTED}</lastmod></url>"
            for i in range(k, self.pages, SITEMAPS)
        )
        return f'<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="{_NS}">{rows}</urlset>'.encode()

    def resource(self, path: str) -> tuple[bytes, str] | None:
        """The body and type served at `path`, or None (404)."""
        if path == "/robots.txt":
            return f"User-agent: *\nAllow: /\nSitemap: {self.base_url}/sitemap_index.xml\n".encode(), "text/plain"
        if path == "/sitemap_index.xml":
            rows = "".join(f"<sitemap><loc>{self.base_url}/sitemap-{k}.xml</loc></sitemap>" for k in range(SITEMAPS))
            return f'<?xml version="1.0"?><sitemapindex xmlns="{_NS}">{rows}</sitemapindex>'.encode(), _XML
        if m := re.fullmatch(r"/sitemap-(\d+)\.xml", path):
            return (self.sitemap(int(m[1])), _XML) if int(m[1]) < SITEMAPS else None
        if (m := re.fullmatch(r"/news/a-(\d+)/", path)) and int(m[1]) < self.pages:
            return self.article(int(m[1])), "text/html"  # no charset: Scrapy reads it from the page
        return None


_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
_XML = "application/xml"


@contextmanager
def serve(site: LoadSite) -> Iterator[LoadSite]:
    """Serve `site` on 127.0.0.1 at a free port, allowed through the crawl's SSRF guard, until the block ends."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            found = site.resource(self.path)
            body, kind = found or (b"not found", "text/plain")
            self.send_response(200 if found else 404)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the stdlib's signature
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    host, port = server.server_address[:2]
    site.base_url = f"http://{host}:{port}"
    os.environ[ALLOWED_HOSTS_ENV] = f"{host}:{port}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()


# --- crawls and the store -----------------------------------------------------------------------------------


@dataclass
class Crawl:
    """One finished `scrapy crawl`: how it exited, how long and how big it got, and its final stats."""

    returncode: int
    seconds: float
    peak_rss_mb: float
    wal_peak_mb: float
    log: str
    stats: dict[str, object]


def write_seed(folder: Path, base_url: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{SOURCE}.toml").write_text(
        f'title = "Load benchmark"\nallowed_domains = ["127.0.0.1"]\nrobots_txt = "{base_url}/robots.txt"\n'
        f"article_url_pattern = '^http://127\\.0\\.0\\.1:\\d+/news/a-\\d+/$'\nlanguage = \"en\"\n"
    )
    return folder


def crawl(db: Path, seeds: Path, work: Path, limit: float) -> Crawl:
    """Run `scrapy crawl` into `db` (a backfill of the whole site), sampling the WAL's size while it runs; its
    peak RSS is the kernel's figure for that one child (wait4)."""
    stats_file = work / f"stats-{time.monotonic_ns()}.json"
    log_file = stats_file.with_suffix(".log")
    settings = {**FAST, "NEWSMON_DB_URL": f"sqlite:///{db}", "NEWSMON_SEEDS_DIR": str(seeds)}
    settings["NEWSMON_STATS_FILE"] = str(stats_file)
    command = [sys.executable, "-m", "scrapy", "crawl", SOURCE, *settings_args(settings), "-a", f"since={SINCE}"]
    wal, wal_peak = Path(f"{db}-wal"), 0
    started = time.monotonic()
    with log_file.open("wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        wal_peak = max(wal_peak, wal.stat().st_size if wal.exists() else 0)
        if pid:
            break
        if time.monotonic() - started > limit:
            process.send_signal(signal.SIGKILL)
        time.sleep(0.1)
    process.returncode = os.waitstatus_to_exitcode(status)  # reaped here, so Popen must not wait for it
    stats = json.loads(stats_file.read_text()) if stats_file.exists() else {}
    return Crawl(
        process.returncode,
        time.monotonic() - started,
        usage.ru_maxrss / 1024,
        wal_peak / 2**20,
        log_file.read_text(errors="replace"),
        stats,
    )


def create_store(db: Path) -> None:
    """Create the schema (what a crawl does first), so readers can start before the crawl."""
    from storage.engine import writer_engine

    writer_engine(f"sqlite:///{db}").dispose()


def query(db: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as connection:
        return connection.execute(sql).fetchall()


@dataclass(frozen=True)
class Snapshot:
    """What a check compares between runs."""

    urls: list[str]  # every stored article URL (a list: a duplicate shows twice)
    hashes: dict[str, tuple[str, str]]  # url -> (content_hash, updated_at)
    rounds: int
    round_links: int
    duplicate_rounds: int
    last_run: dict[str, object]


def snapshot(db: Path) -> Snapshot:
    """The stored articles, rounds and the last crawl run of `db` (read-only)."""
    rows = query(db, "SELECT url, content_hash, updated_at FROM articles")
    (rounds, links, duplicates), *_ = query(
        db,
        "SELECT (SELECT count(*) FROM funding_rounds), (SELECT count(*) FROM round_articles), (SELECT count(*) FROM "
        "(SELECT 1 FROM funding_rounds GROUP BY company_key, amount, round, announced HAVING count(*) > 1))",
    )
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as connection:
        connection.row_factory = sqlite3.Row
        run = connection.execute("SELECT * FROM crawl_runs ORDER BY id DESC LIMIT 1").fetchone()
    return Snapshot(
        sorted(url for url, _, _ in rows),
        {url: (digest, updated) for url, digest, updated in rows},
        rounds,
        links,
        duplicates,
        dict(run) if run else {},
    )


# --- the rows -------------------------------------------------------------------------------------------------


@dataclass
class Report:
    """The figures to print and write, and every failed check (a failure makes the exit status 1)."""

    figures: dict[str, object] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    def check(self, ok: bool, what: str) -> None:
        if not ok:
            self.failures.append(what)
            print(f"  FAILED: {what}", file=sys.stderr)

    def crawl_ok(self, row: str, done: Crawl, site: LoadSite, db: Path) -> Snapshot:
        """The checks every crawl must pass: exit 0, run ok, no lock error, every page stored exactly once."""
        snap = snapshot(db)
        self.check(done.returncode == 0, f"{row}: scrapy crawl exited {done.returncode}: {done.log[-1500:]}")
        self.check(snap.last_run.get("status") == "ok", f"{row}: crawl run {snap.last_run.get('status')}")
        self.check("database is locked" not in done.log, f"{row}: 'database is locked' in the crawl's log")
        self.check("Traceback" not in done.log, f"{row}: a traceback in the crawl's log")
        self.check(snap.urls == sorted(site.urls()), f"{row}: {len(snap.urls)} stored rows for {site.pages} pages")
        self.check(snap.duplicate_rounds == 0, f"{row}: {snap.duplicate_rounds} duplicated funding rounds")
        return snap


def l1_l2(report: Report, site: LoadSite, work: Path, seeds: Path, limit: float) -> None:
    db = work / "l1.db"
    first = crawl(db, seeds, work, limit)
    snap = report.crawl_ok("L1", first, site, db)
    budget = project_settings.MEMUSAGE_WARNING_MB
    report.check(first.peak_rss_mb <= budget, f"L1: peak RSS {first.peak_rss_mb:.0f} MB over {budget} MB")
    report.figures["L1"] = {
        "pages": site.pages,
        "wall_s": round(first.seconds, 1),
        "pages_per_s": round(site.pages / first.seconds, 1),
        "peak_rss_mb": round(first.peak_rss_mb, 1),
        "memusage_warning_mb": budget,
        "wal_peak_mb": round(first.wal_peak_mb, 1),
        "rounds": snap.rounds,
        "db_mb": round(db.stat().st_size / 2**20, 1),
    }

    again = crawl(db, seeds, work, limit)
    unchanged = report.crawl_ok("L2 re-crawl", again, site, db)
    report.check(unchanged.hashes == snap.hashes, "L2 re-crawl: stored articles changed")
    report.check((unchanged.rounds, unchanged.round_links) == (snap.rounds, snap.round_links), "L2: rounds changed")
    site.revised = set(range(0, site.pages, site.pages // CHANGED)[:CHANGED])
    with sqlite3.connect(db) as connection:  # the first crawl ran on the listings' day
        connection.execute("UPDATE articles SET fetched = ?", (f"{LISTED} 12:00:00+00:00",))
    after_change = crawl(db, seeds, work, limit)
    refreshed = report.crawl_ok("L2 crawl after the change", after_change, site, db)
    changed = {url for url, value in refreshed.hashes.items() if value != snap.hashes.get(url)}
    revised = {site.url(i) for i in site.revised}
    counts = _counts(refreshed.last_run, after_change.stats)
    report.check(counts["articles_updated"] == CHANGED and counts["articles_new"] == 0, f"L2: counted {counts}")
    report.check(after_change.stats.get("newsmon/links/changed") == CHANGED, "L2: not exactly the 50 re-fetched")
    report.check(changed == revised, f"L2: {len(changed)} articles changed, {len(changed ^ revised)} not the 50")
    report.check(refreshed.urls == snap.urls, "L2: the change altered the stored rows")
    same_rounds = (refreshed.rounds, refreshed.round_links, refreshed.duplicate_rounds) == (
        snap.rounds,
        snap.round_links,
        0,
    )
    report.check(same_rounds, "L2: the change altered or duplicated rounds")
    report.figures["L2"] = {
        "rows": len(refreshed.urls),
        "recrawl_s": round(again.seconds, 1),
        "recrawl": _counts(unchanged.last_run, again.stats),
        "crawl_after_change": counts,
        "articles_changed": len(changed),
        "rounds": refreshed.rounds,
        "round_links": refreshed.round_links,
    }


def _counts(run: dict[str, object], stats: dict[str, object]) -> dict[str, object]:
    keys = ("articles_new", "articles_updated", "rounds_new", "rounds_merged")
    return {**{key: run.get(key) for key in keys}, "already_stored": stats.get("newsmon/links/already_stored", 0)}


def reader_loop(url: str, stop: Path) -> int:
    """One L3 reader process: `newsmon rounds --json` in a loop, in this process (as a dashboard queries), until
    `stop` exists; one JSON line per query: [seconds, rounds seen], or [seconds, -1, error]."""
    from crawler.cli import cli

    while not stop.exists():
        out = io.StringIO()
        started = time.perf_counter()
        try:
            with redirect_stdout(out), redirect_stderr(out):
                cli.main(["--db", url, "rounds", "--json"], standalone_mode=False)
            line: list[object] = [time.perf_counter() - started, len(json.loads(out.getvalue()))]
        except Exception as exc:  # noqa: BLE001 - every failure is a finding, reported by the parent
            line = [time.perf_counter() - started, -1, f"{type(exc).__name__}: {exc} {out.getvalue()[-200:]}"]
        print(json.dumps(line), flush=True)
        time.sleep(READER_PAUSE)
    return 0


def l3(report: Report, site: LoadSite, work: Path, seeds: Path, limit: float) -> None:
    db = work / "l3.db"
    create_store(db)
    stop = work / "l3.stop"
    logs = [work / f"reader-{k}.jsonl" for k in range(READERS)]
    command = [sys.executable, __file__, "--reader", f"sqlite:///{db}", "--stop", str(stop)]
    readers = []
    for log in logs:
        with log.open("wb") as out:
            readers.append(subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL))
    done = crawl(db, seeds, work, limit)
    stop.touch()
    for process in readers:
        process.wait(timeout=120)
    report.crawl_ok("L3", done, site, db)
    lines = [[json.loads(line) for line in log.read_text().splitlines()] for log in logs]
    errors = [line[2] for mine in lines for line in mine if line[1] < 0]
    counts = [[line[1] for line in mine if line[1] >= 0] for mine in lines]
    latencies = [line[0] for mine in lines for line in mine]
    report.check(all(process.returncode == 0 for process in readers), "L3: a reader process failed")
    report.check(not errors, f"L3: {len(errors)} failed queries, e.g. {errors[:1]}")
    report.check(all(seen == sorted(seen) for seen in counts), "L3: a reader saw the rounds count shrink")
    report.check(all(counts), "L3: a reader made no query")
    report.figures["L3"] = {
        "crawl_s": round(done.seconds, 1),
        "pages_per_s": round(site.pages / done.seconds, 1),
        "queries": len(latencies),
        "failed_queries": len(errors),
        "query_p50_ms": round(1000 * percentile(latencies, 50), 1),
        "query_p95_ms": round(1000 * percentile(latencies, 95), 1),
        "query_max_ms": round(1000 * max(latencies, default=0.0), 1),
        "rounds_seen_last": max((seen[-1] for seen in counts if seen), default=0),
    }


def l4(report: Report, site: LoadSite, work: Path, seeds: Path, limit: float) -> None:
    db = work / "l4.db"
    create_store(db)
    reader = sqlite3.connect(f"file:{db}?mode=ro", uri=True, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM articles").fetchone()  # the snapshot is taken here, and kept
    done = crawl(db, seeds, work, limit)
    report.crawl_ok("L4", done, site, db)
    held = reader.execute("SELECT count(*) FROM articles").fetchone()[0]
    report.check(held == 0, f"L4: the long reader's snapshot moved ({held} articles)")
    wal = Path(f"{db}-wal")
    checkpointer = sqlite3.connect(db, isolation_level=None)  # opened first: the reader is not the last to close
    checkpointer.execute("SELECT 1 FROM crawl_runs LIMIT 1").fetchall()
    wal_before = wal.stat().st_size if wal.exists() else 0
    reader.close()
    busy, _, _ = checkpointer.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    wal_after = wal.stat().st_size if wal.exists() else 0
    checkpointer.close()
    report.check(busy == 0 and wal_after < WAL_LIMIT_BYTES, f"L4: -wal {wal_after} bytes after TRUNCATE (busy={busy})")
    report.figures["L4"] = {
        "crawl_s": round(done.seconds, 1),
        "pages_per_s": round(site.pages / done.seconds, 1),
        "wal_peak_mb": round(done.wal_peak_mb, 1),
        "wal_before_checkpoint_mb": round(wal_before / 2**20, 1),
        "wal_after_checkpoint_bytes": wal_after,
        "db_mb": round(db.stat().st_size / 2**20, 1),
    }


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); 0 for no values."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))] if ordered else 0.0


def print_table(figures: dict[str, object]) -> None:
    print("  ".join(f"{key}={value}" for key, value in figures.items() if not isinstance(value, dict | list)))
    for row, values in figures.items():
        if isinstance(values, dict):
            print(f"{row:<4}" + "  ".join(f"{key}={value}" for key, value in values.items()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=5000, help="article pages on the site (default: 5000)")
    parser.add_argument("--out", type=Path, help="also write the figures to this JSON file")
    parser.add_argument("--reader", metavar="DB_URL", help=argparse.SUPPRESS)  # an L3 reader process
    parser.add_argument("--stop", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.reader:
        return reader_loop(args.reader, args.stop)
    if args.pages < 2 * CHANGED:
        parser.error(f"--pages must be at least {2 * CHANGED}")
    if not BENCH_DIR.is_dir():
        print(f"load benchmark: the benchmark pages are not at {BENCH_DIR}", file=sys.stderr)
        return 2
    started = time.monotonic()
    bases = usable_bases(BENCH_DIR)
    report = Report({"pages": args.pages, "corpus_pages_used": len(bases), "cpus": os.cpu_count()})
    limit = 120 + args.pages  # seconds per crawl, far above any expected time: only a hang reaches it
    with tempfile.TemporaryDirectory(prefix="newsmon-load-") as scratch, serve(LoadSite(bases, args.pages)) as site:
        work = Path(scratch)
        seeds = write_seed(work / "seeds", site.base_url)
        for row in (l1_l2, l3, l4):
            row(report, site, work, seeds, limit)
            site.revised = set()
    report.figures["total_s"] = round(time.monotonic() - started, 1)
    report.figures["failures"] = report.failures
    print_table(report.figures)
    print(f"total {report.figures['total_s']} s; " + (f"{len(report.failures)} FAILED" if report.failures else "ok"))
    if args.out:
        args.out.write_text(json.dumps(report.figures, indent=2) + "\n", encoding="utf-8")
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())

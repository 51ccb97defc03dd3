"""Throughput and memory of a real crawl, against bare trafilatura on the same pages in the same run.

Usage: python benchmarks/run.py [--quick] [--out FILE.json] [--bench DIR]

The 400 real pages of ../shared/corpus/bench/ (read in place) are served on 127.0.0.1 under made-up article URLs,
listed by two generated sitemaps (halves A and B, each also its own source). Measured, in this order:
1. bare: `trafilatura.bare_extraction(text, with_metadata=True)` over every page in this process (after the
   imports; the first calls' warm-up included, as in a crawl);
2. one process: `scrapy crawl bench` over both halves into a fresh SQLite file. Two times are kept: the crawl's
   (Scrapy's own span, engine start to close: `e2e_pages_per_s`, comparable with bare, which excludes its
   imports too) and the process's (start to exit, interpreter start-up and imports included: `*_process_*`);
3. re-crawl: the same crawl again on the unchanged site (it reads the listings and skips every stored URL
   without fetching it);
4. both cores: `bench_a` and `bench_b` crawled at once (as `scheduler.py --max-parallel 2` runs sources) into
   another fresh file; the speed-up is its pages/s over the one-process figure;
5. `detect_rounds` over the stored texts, and the date code over every date string the pages carry;
6. seeded sites: the corpus pages of every seed with a text recipe, extracted in this process through the
   recipes (`seeded_vs_bare`), without them, and by bare trafilatura, interleaved; and the recipes' text F1.
Peak RSS is the crawl process's own (VmHWM), its worker processes' peaks are added up apart; CPU counts both.
First article is process start to the first stored row.
`--quick` uses 40 pages and a single pass; it fails (exit 1) only on errors, never on speed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import trafilatura  # noqa: E402 - needs ROOT on sys.path for the project imports below
from lxml import html as lxml_html  # noqa: E402

from crawler.replay import settings_args  # noqa: E402
from pipelines.dates import parse_human_date, parse_machine_date  # noqa: E402
from pipelines.funding import detect_rounds  # noqa: E402
from tests.support.httpsite import Page, Site, etag_of, serve  # noqa: E402

DEFAULT_BENCH = ROOT.parent / "shared" / "corpus" / "bench"
QUICK_PAGES = 40
CRAWL_TIMEOUT = 900
SINCE = "1995-01-01"  # the pages' own dates span 2009-2024: take every one
# Politeness lifted for our own loopback server: two requests in flight, so the next page is already there
# when one is done. Not 0: with no delay Scrapy 2.19 starts every queued request at once (docs/design.md, design notes).
FAST = {
    "DOWNLOAD_DELAY": "0.005",
    "AUTOTHROTTLE_ENABLED": "False",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "2",
    "NEWSMON_ALERTS": "off",
    "LOG_LEVEL": "INFO",
}
SEED = """title = "Benchmark {half}"
allowed_domains = ["127.0.0.1"]
sitemaps = [{sitemaps}]
article_url_pattern = '^http://127\\.0\\.0\\.1:\\d+/news/[ab]/\\d+-[a-z0-9-]+/$'
language = "en"
"""
DATE_XPATH = (
    "//meta[contains(@property, 'time') or contains(@name, 'date') or contains(@itemprop, 'date')]/@content"
    " | //time/@datetime | //time//text()"
)


class BenchmarkError(Exception):
    """A crawl that failed or stored the wrong thing; the message is one line."""


@dataclass
class CrawlResult:
    """One crawl (or crawls run at once): `wall_s` from process start to exit, `crawl_s` Scrapy's own span
    from the (first) engine start to the (last) close, as its stats record it."""

    wall_s: float
    crawl_s: float
    cpu_s: float
    peak_rss_mb: float
    workers_rss_mb: float  # the peaks of its worker processes (and their fork server), added up
    first_article_s: float | None
    stored: int


def load_pages(bench: Path, limit: int | None) -> list[tuple[str, str]]:
    """(file stem, decoded text) of the benchmark pages, in name order."""
    files = sorted(bench.glob("*.html"))[:limit]
    if not files:
        raise BenchmarkError(f"no benchmark pages in {bench}")
    return [(f.stem, f.read_bytes().decode("utf-8", "replace")) for f in files]


def bare_extraction(bench: Path, limit: int | None) -> tuple[float, float]:
    """(pages/s, CPU s per page) of trafilatura alone, with metadata, over the pages (read and decoded first,
    as a crawl gets them; imports done, the first calls' warm-up included, as in a crawl)."""
    pages = load_pages(bench, limit)
    wall, cpu = time.perf_counter(), time.process_time()
    for stem, text in pages:
        trafilatura.bare_extraction(text, url=f"http://127.0.0.1/news/{stem}/", with_metadata=True)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return len(pages) / wall, cpu / len(pages)


def bare_in_a_fresh_process(bench: Path, limit: int | None) -> tuple[float, float]:
    """`bare_extraction` in a new interpreter, so it starts as cold as a crawl process does."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(bare_extraction, (bench, limit))


def build_site(pages: list[tuple[str, str]]) -> tuple[Site, dict[str, list[str]]]:
    """The site: each page at /news/<half>/<n>-<slug>/, a sitemap per half (with ETags, lastmod today)."""
    site = Site()
    paths: dict[str, list[str]] = {"a": [], "b": []}
    for number, (stem, text) in enumerate(pages):
        half = "ab"[number % 2]
        slug = "".join(c if c.isalnum() else "-" for c in stem.lower()).strip("-")[:60]
        path = f"/news/{half}/{number}-{slug}/"
        paths[half].append(path)
        site.pages[path] = Page(text.encode("utf-8"))
    return site, paths


def add_sitemaps(site: Site, paths: dict[str, list[str]]) -> None:
    """One urlset per half, absolute URLs (the server's port is known once it serves)."""
    today = dt.datetime.now(dt.UTC).date().isoformat()
    for half, listed in paths.items():
        urls = "".join(f"<url><loc>{site.base_url}{p}</loc><lastmod>{today}</lastmod></url>" for p in listed)
        body = f'<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'
        site.pages[f"/sitemap-{half}.xml"] = Page(body.encode(), content_type="application/xml", etag=True)
    assert etag_of(b"")  # the server answers If-None-Match with 304 for unchanged sitemaps


def write_seeds(folder: Path, base: str) -> None:
    """`bench` (both sitemaps), `bench_a` and `bench_b` (one each)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, halves in (("bench", "ab"), ("bench_a", "a"), ("bench_b", "b")):
        sitemaps = ", ".join(f'"{base}/sitemap-{h}.xml"' for h in halves)
        (folder / f"{name}.toml").write_text(SEED.format(half=halves, sitemaps=sitemaps))


def count_articles(db: Path) -> int:
    """Stored articles (0 while the store does not exist yet)."""
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as con:
            return con.execute("SELECT count(*) FROM articles").fetchone()[0]
    except sqlite3.Error:
        return 0


def run_crawls(names: list[str], db: Path, seeds: Path, logs: Path, profile: Path | None = None) -> CrawlResult:
    """Start one `scrapy crawl` per name at once and wait for all; their figures combined.

    With `profile`, the (single) crawl runs under cProfile, which writes its statistics there.
    """
    settings = {**FAST, "NEWSMON_DB_URL": f"sqlite:///{db}", "NEWSMON_SEEDS_DIR": str(seeds)}
    started = time.perf_counter()
    processes, stats_files = [], []
    for name in names:
        stem = logs / f"{name}-{time.time_ns()}"
        log = open(f"{stem}.log", "w")  # noqa: SIM115 - closed after the wait
        stats_files.append(Path(f"{stem}.json"))
        profiler = ["-m", "cProfile", "-o", str(profile)] if profile else []
        command = [sys.executable, *profiler, "-m", "scrapy", "crawl", name]
        command += [*settings_args({**settings, "NEWSMON_STATS_FILE": str(stats_files[-1])}), "-a", f"since={SINCE}"]
        processes.append((subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT), log))
    watch = Watch(db, started, [process.pid for process, _ in processes])
    watcher = threading.Thread(target=watch.run, daemon=True)
    watcher.start()
    cpu = 0.0
    try:
        for process, log in processes:
            _, status, usage = os.wait4(process.pid, 0)
            process.returncode = os.waitstatus_to_exitcode(status)
            cpu += usage.ru_utime + usage.ru_stime
            if process.returncode != 0:
                tail = Path(log.name).read_text(errors="replace").strip().splitlines()[-1:]
                raise BenchmarkError(f"crawl exited {process.returncode}: {' '.join(tail)}")
    finally:
        watch.done = True
        for process, log in processes:
            if process.returncode is None:  # a sibling failed: stop this one too
                process.kill()
                process.wait()
            log.close()
    wall = time.perf_counter() - started
    watcher.join(timeout=1)
    spans = [json.loads(path.read_text()) for path in stats_files]
    begin = min(dt.datetime.fromisoformat(span["start_time"]) for span in spans)
    end = max(dt.datetime.fromisoformat(span["finish_time"]) for span in spans)
    crawl = (end - begin).total_seconds()
    cpu += sum(watch.worker_cpu_s.values())  # not in wait4's figure: the crawl never waits for its fork server
    workers_mb = sum(watch.worker_peak_mb.values())
    return CrawlResult(wall, crawl, cpu, watch.peak_rss_mb, workers_mb, watch.first_article_s, count_articles(db))


@dataclass
class Watch:
    """Polls running crawls: when the first article is stored, and each process's peak RSS.

    The peak is the kernel's VmHWM of the process (its own high-water mark), not wait4's ru_maxrss: Linux carries
    ru_maxrss over fork and exec, so a crawl started from this (large) process would report our size.
    """

    db: Path
    started: float
    pids: list[int]
    done: bool = False
    first_article_s: float | None = None
    peak_rss_mb: float = 0.0
    worker_cpu_s: dict[int, float] = field(default_factory=dict)  # worker processes: CPU s last seen
    worker_peak_mb: dict[int, float] = field(default_factory=dict)  # and their own peak RSS

    def run(self) -> None:
        while not self.done:
            for pid in self.pids:
                self.peak_rss_mb = max(self.peak_rss_mb, _high_water_mb(pid))
                for child in _descendants(pid):
                    self.worker_cpu_s[child] = _cpu_s(child) or self.worker_cpu_s.get(child, 0.0)
                    self.worker_peak_mb[child] = max(self.worker_peak_mb.get(child, 0.0), _high_water_mb(child))
            if self.first_article_s is None and count_articles(self.db):
                self.first_article_s = time.perf_counter() - self.started
            time.sleep(0.02)


def _descendants(pid: int) -> list[int]:
    """The process's children, theirs, and so on (a crawl's worker processes and their fork server)."""
    found, stack = [], [pid]
    while stack:
        parent = stack.pop()
        try:
            children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
        except OSError:
            continue
        found += [int(c) for c in children]
        stack += [int(c) for c in children]
    return found


def _cpu_s(pid: int) -> float:
    """User and system CPU seconds of a live process (0 once it has gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _high_water_mb(pid: int) -> float:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:  # exited (or no /proc): the last reading stands
        return 0.0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def check_store(db: Path, expected: int) -> None:
    """Every served page stored once (a few pages hold too little text to be an article: none twice)."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
        if con.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            raise BenchmarkError(f"integrity_check failed on {db}")
        urls = [row[0] for row in con.execute("SELECT url FROM articles")]
    if len(urls) != len(set(urls)) or not 0.9 * expected <= len(urls) <= expected:
        raise BenchmarkError(f"{len(urls)} articles ({len(set(urls))} distinct) stored for {expected} pages")


@dataclass
class SeededPage:
    """A recorded page of a seeded source, with the source's recipes."""

    name: str
    url: str
    html: str
    selectors: dict[str, str]
    site_name: str
    gold: str | None


def seeded_pages(corpus: Path) -> list[SeededPage]:
    """The corpus pages of every seeded source that has an `extract.text` recipe (matched on the seed's domains)."""
    from crawler.seeds import load_seeds
    from pipelines.urls import same_site

    seeds = [seed for seed in load_seeds().values() if dict(seed.selectors).get("text")]
    gold_file = corpus / "text" / "zyte-ground-truth-subset.json"
    gold = {key.removeprefix("html/"): entry["articleBody"] for key, entry in json.loads(gold_file.read_text()).items()}
    pages = []
    for line in (corpus / "pages.jsonl").read_text().splitlines():
        label = json.loads(line)
        seed = next((seed for seed in seeds if same_site(label["url"], seed.allowed_domains)), None)
        if seed is not None:
            html = (corpus / label["file"]).read_bytes().decode("utf-8", "replace")
            name = label["file"].removeprefix("pages/")
            pages.append(SeededPage(name, label["url"], html, dict(seed.selectors), seed.title, gold.get(name)))
    return pages


def seeded_extraction(corpus: Path, passes: int) -> dict[str, object]:
    """Pages of seeded sites in one process: the pipeline's extraction through the sites' recipes, the same
    without recipes (the generic search) and bare trafilatura with metadata, interleaved `passes` times
    (medians); text F1 of the recipes' text against the generic text and, where the corpus has it, the gold."""
    from pipelines.evaluation import text_f1
    from pipelines.extract import extract_article

    pages = seeded_pages(corpus)
    if not pages:
        raise BenchmarkError(f"no pages of seeded sites with recipes in {corpus}")

    def timed(run: Callable[[SeededPage], object]) -> float:
        started = time.perf_counter()
        for page in pages:
            run(page)
        return len(pages) / (time.perf_counter() - started)

    def recipe(page: SeededPage) -> str:
        return extract_article(page.html, page.url, selectors=page.selectors, site_name=page.site_name).text

    def generic(page: SeededPage) -> str:
        return extract_article(page.html, page.url, site_name=page.site_name).text

    def bare(page: SeededPage) -> object:
        return trafilatura.bare_extraction(page.html, url=page.url, with_metadata=True)

    rates: dict[str, list[float]] = {"recipe": [], "generic": [], "bare": []}
    for _ in range(passes):
        for name, run in (("bare", bare), ("recipe", recipe), ("generic", generic)):
            rates[name].append(timed(run))
    versus_generic = [text_f1(generic(page), recipe(page)) for page in pages]
    golden = [page for page in pages if page.gold]
    return {
        "seeded_pages": len(pages),
        "seeded_pages_per_s": round(statistics.median(rates["recipe"]), 1),
        "seeded_generic_pages_per_s": round(statistics.median(rates["generic"]), 1),
        "seeded_bare_pages_per_s": round(statistics.median(rates["bare"]), 1),
        "seeded_vs_bare": round(
            statistics.median(r / b for r, b in zip(rates["recipe"], rates["bare"], strict=True)), 3
        ),
        "seeded_generic_vs_bare": round(
            statistics.median(g / b for g, b in zip(rates["generic"], rates["bare"], strict=True)), 3
        ),
        "seeded_text_f1_vs_generic_mean": round(statistics.mean(versus_generic), 3),
        "seeded_text_f1_vs_generic_min": round(min(versus_generic), 3),
        "seeded_gold_pages": len(golden),
        "seeded_gold_f1_recipe": round(statistics.mean(text_f1(p.gold, recipe(p)) for p in golden), 3)
        if golden
        else None,
        "seeded_gold_f1_generic": round(statistics.mean(text_f1(p.gold, generic(p)) for p in golden), 3)
        if golden
        else None,
    }


def detection_speed(db: Path) -> float:
    """`detect_rounds` articles/s over the stored texts (one warm-up pass)."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
        articles = con.execute("SELECT text, title, published FROM articles").fetchall()
    for text, title, _ in articles[:20]:
        detect_rounds(text, title=title)
    started = time.perf_counter()
    for text, title, published in articles:
        detect_rounds(text, title=title, published=dt.date.fromisoformat(published[:10]) if published else None)
    return len(articles) / (time.perf_counter() - started)


def date_parse_p95_ms(pages: list[tuple[str, str]]) -> tuple[float, int]:
    """p95 ms of the date code (machine form first, then the visible-date parser) per date string found."""
    strings = []
    for _, text in pages:
        try:
            tree = lxml_html.document_fromstring(text)
        except (ValueError, lxml_html.etree.ParserError):
            continue
        strings += [" ".join(str(s).split()) for s in tree.xpath(DATE_XPATH)[:20]]
    strings = [s for s in strings if s]
    timings = []
    for value in strings:
        started = time.perf_counter()
        if parse_machine_date(value) is None:
            parse_human_date(value)
        timings.append((time.perf_counter() - started) * 1000)
    return (statistics.quantiles(timings, n=20)[-1] if len(timings) > 1 else 0.0), len(timings)


@dataclass
class Repetition:
    """One round of the interleaved measurements: bare trafilatura, one crawl process, two at once."""

    bare_pages_per_s: float
    bare_cpu_s: float
    one: CrawlResult
    two: CrawlResult


def measure(bench: Path, quick: bool, work: Path, repeat: int, profile: Path | None = None) -> dict[str, object]:
    """Every figure; throughput figures are medians over `repeat` rounds, each of bare, one crawl, two crawls
    back to back (so a slow spell of a shared machine hits both sides of a ratio)."""
    limit = QUICK_PAGES if quick else None
    pages = load_pages(bench, limit)
    site, paths = build_site(pages)
    seeds = work / "seeds"
    rounds: list[Repetition] = []
    with serve(site, keep_alive=True):
        add_sitemaps(site, paths)
        write_seeds(seeds, site.base_url)
        for n in range(repeat):
            bare_rate, bare_cpu = bare_in_a_fresh_process(bench, limit)
            one_db, two_db = work / f"one-process-{n}.db", work / f"two-processes-{n}.db"
            one = run_crawls(["bench"], one_db, seeds, work)
            check_store(one_db, len(pages))
            two = run_crawls(["bench_a", "bench_b"], two_db, seeds, work)
            check_store(two_db, len(pages))
            rounds.append(Repetition(bare_rate, bare_cpu, one, two))
        first = rounds[0].one
        recrawl = run_crawls(["bench"], work / "one-process-0.db", seeds, work)
        if profile:  # extra runs: cProfile slows a crawl, so none of these feeds a figure
            profiled = work / "profiled.db"
            run_crawls(["bench"], profiled, seeds, work, profile / "first.prof")
            run_crawls(["bench"], profiled, seeds, work, profile / "recrawl.prof")
    if recrawl.stored != first.stored:
        raise BenchmarkError(f"the re-crawl changed the article count: {first.stored} -> {recrawl.stored}")

    def median(figure: Callable[[Repetition], float], digits: int = 3) -> float:
        return round(statistics.median(figure(r) for r in rounds), digits)

    p95, dates = date_parse_p95_ms(pages)
    seeded = seeded_extraction(bench.parent, 3 if quick else 15)
    return {
        "pages": len(pages),
        "articles_stored": first.stored,
        "cores": os.cpu_count(),
        "repeat": repeat,
        "e2e_pages_per_s": median(lambda r: len(pages) / r.one.crawl_s, 2),
        "e2e_process_cpu_s_per_page": median(lambda r: r.one.cpu_s / len(pages), 4),
        "bare_extract_pages_per_s": median(lambda r: r.bare_pages_per_s, 2),
        "bare_cpu_s_per_page": median(lambda r: r.bare_cpu_s, 4),
        "e2e_vs_bare": median(lambda r: len(pages) / r.one.crawl_s / r.bare_pages_per_s),
        "e2e_process_pages_per_s": median(lambda r: len(pages) / r.one.wall_s, 2),
        "e2e_process_vs_bare": median(lambda r: len(pages) / r.one.wall_s / r.bare_pages_per_s),
        "two_core_pages_per_s": median(lambda r: len(pages) / r.two.crawl_s, 2),
        "two_core_speedup": median(lambda r: r.one.crawl_s / r.two.crawl_s),
        "two_core_process_speedup": median(lambda r: r.one.wall_s / r.two.wall_s),
        "first_crawl_s": median(lambda r: r.one.crawl_s, 2),
        "first_crawl_process_s": median(lambda r: r.one.wall_s, 2),
        "recrawl_s": round(recrawl.crawl_s, 3),
        "recrawl_process_s": round(recrawl.wall_s, 2),
        "recrawl_vs_first": median(lambda r: recrawl.crawl_s / r.one.crawl_s, 4),
        "recrawl_process_vs_first": median(lambda r: recrawl.wall_s / r.one.wall_s),
        "peak_rss_mb": round(max(max(r.one.peak_rss_mb, r.two.peak_rss_mb) for r in rounds), 1),
        "workers_peak_rss_mb": round(max(r.one.workers_rss_mb for r in rounds), 1),
        "first_article_s": median(lambda r: r.one.first_article_s or float("nan"), 2),
        "detect_articles_per_s": round(detection_speed(work / "one-process-0.db"), 1),
        "date_parse_p95_ms": round(p95, 3),
        "date_strings": dates,
        **seeded,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_PAGES} pages: a check that it runs (CI)")
    parser.add_argument("--out", type=Path, help="write the figures as JSON here")
    parser.add_argument("--bench", type=Path, default=DEFAULT_BENCH, help="the folder of benchmark pages")
    parser.add_argument("--repeat", type=int, help="rounds of bare / one crawl / two crawls (default 3, quick 1)")
    parser.add_argument("--workdir", type=Path, help="keep the stores, seeds and crawl logs here (default: a temp dir)")
    parser.add_argument(
        "--profile", type=Path, help="a folder: a first crawl and a re-crawl, extra, run under cProfile, stats there"
    )
    args = parser.parse_args(argv)
    if not args.bench.is_dir():
        print(f"benchmark pages not found: {args.bench} (needs ../shared beside the project)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="newsmon-bench-") as temporary:
        work = args.workdir or Path(temporary)
        work.mkdir(parents=True, exist_ok=True)
        try:
            figures = measure(args.bench, args.quick, work, args.repeat or (1 if args.quick else 3), args.profile)
        except BenchmarkError as exc:
            print(f"benchmark failed: {exc}", file=sys.stderr)
            return 1
    figures |= {"machine": f"{platform.machine()}, Python {platform.python_version()}", "quick": args.quick}
    for key, value in figures.items():
        print(f"{key:28} {value}")
    if args.out:
        args.out.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

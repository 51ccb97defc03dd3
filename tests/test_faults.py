"""The reliability matrix (../shared/guides/reliability.md, section 4), row by row: real `scrapy crawl` runs
against the fault-injecting server (tests/faultserver.py, its own process on 127.0.0.1) serving real corpus
pages. A canary listener counts every request the crawl was tricked into sending it: it must stay at zero.

"Nothing lost" is checked after every crawl: `PRAGMA integrity_check` is ok and every article served is stored
exactly once (by its URL).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest

from crawler.replay import settings_args
from storage import list_runs
from tests.conftest import PROJECT_ROOT, crawl

pytestmark = pytest.mark.slow

FAST = {"DOWNLOAD_DELAY": "0.01", "AUTOTHROTTLE_ENABLED": "False", "DOWNLOAD_TIMEOUT": "5"}


@dataclass
class FaultServer:
    base: str
    canary: str
    process: subprocess.Popen[str]

    @property
    def port(self) -> int:
        return int(self.base.rsplit(":", 1)[1])

    def canary_hits(self) -> int:
        with urllib.request.urlopen(f"{self.base}/_canary", timeout=5) as answer:
            return json.load(answer)["hits"]

    def feed(self, *links: str) -> str:
        return f"{self.base}/feed.xml?links=" + ",".join(quote(link, safe="") for link in links)


@pytest.fixture
def fault_server(shared: Path) -> Iterator[Callable[..., FaultServer]]:
    """Start the fault server (in its own process) with the given robots.txt behaviour."""
    started: list[FaultServer] = []

    def start(robots: str = "ok") -> FaultServer:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.faultserver", "--robots", robots, "--corpus", str(shared / "corpus")],
            cwd=PROJECT_ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert process.stdout is not None
        base, canary = process.stdout.readline().split()
        server = FaultServer(base, canary, process)
        started.append(server)
        return server

    yield start
    for server in started:
        server.process.kill()
        server.process.wait(timeout=10)
        if server.process.stdout is not None:
            server.process.stdout.close()


def write_seed(folder: Path, feeds: list[str]) -> Path:
    """A seeds folder with one source, `faults`, whose feeds are `feeds` on the fault server."""
    seeds = folder / "seeds"
    seeds.mkdir(parents=True, exist_ok=True)
    (seeds / "faults.toml").write_text(
        f"""
title = "Fault server"
# every target of the redirects below is named, so it is the SSRF guard that stops them, not the offsite filter
allowed_domains = ["127.0.0.1", "10.0.0.1", "169.254.169.254", "nx.invalid"]
robots_txt = []
feeds = {json.dumps(feeds)}
article_url_pattern = "^http"
language = "en"
""",
        encoding="utf-8",
    )
    return seeds


def run_faults(
    tmp_path: Path, server: FaultServer, feeds: list[str], settings: dict[str, str] | None = None
) -> tuple[subprocess.CompletedProcess[str], dict, str]:
    """Crawl a source whose feeds are `feeds` on the fault server; returns the process, its stats, the DB URL."""
    seeds = write_seed(tmp_path, feeds)
    url = f"sqlite:///{tmp_path / 'faults.db'}"
    allowed = {"NEWSMON_ALLOWED_HOSTS": f"127.0.0.1:{server.port}"}
    done, stats = crawl(
        "faults", db_url=url, seeds_dir=seeds, workdir=tmp_path, extra_settings={**FAST, **allowed, **(settings or {})}
    )
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    return done, stats, url


def stored_urls(url: str) -> list[str]:
    """Every stored article URL (a list: a duplicate would show twice), after checking the file's integrity."""
    with sqlite3.connect(url.removeprefix("sqlite:///")) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        return sorted(row[0] for row in connection.execute("SELECT url FROM articles"))


def test_ssrf_redirects_refreshes_and_private_links_never_reach_the_canary(
    tmp_path: Path, fault_server: Callable[..., FaultServer]
) -> None:
    """B10 and B11: redirects, a meta refresh and feed links to loopback, private, link-local and non-http
    targets are refused before any connection; the one real article is stored."""
    server = fault_server()
    canary_port = server.canary.rsplit(":", 1)[1]
    targets = [
        f"{server.canary}/direct",
        f"http://localhost:{canary_port}/by-name",  # seeds cannot name localhost: the offsite filter drops it
        f"http://[::1]:{canary_port}/v6",
        "http://10.0.0.1/private",
        "http://169.254.169.254/latest/meta-data/",
        "file:///etc/passwd",
        "ftp://127.0.0.1/x",
    ]
    links = [f"/redirect?to={quote(t, safe='')}" for t in targets]
    links += [f"/refresh?to={quote(server.canary + '/refresh', safe='')}", server.canary + "/listed", "/a/0"]
    done, stats, url = run_faults(tmp_path, server, [server.feed(*links)])
    assert done.returncode == 0
    assert server.canary_hits() == 0
    assert stats["newsmon/guard/refused"] >= 5  # the IP literals, redirected and listed
    assert stored_urls(url) == [f"{server.base}/a/0"]


@pytest.mark.parametrize(
    ("robots", "expect_stored"),
    [("ok", True), ("404", True), ("503", False), ("timeout", False)],
)
def test_robots_txt_that_cannot_be_read_closes_the_host_for_the_run(
    tmp_path: Path, fault_server: Callable[..., FaultServer], robots: str, expect_stored: bool
) -> None:
    """B15: robots.txt 404 means no rules; 503 or a timeout means no request to that host this run (RFC 9309)."""
    server = fault_server(robots)
    done, stats, url = run_faults(tmp_path, server, [server.feed("/a/0", "/a/1")], {"DOWNLOAD_TIMEOUT": "2"})
    assert done.returncode == 0
    assert stored_urls(url) == ([f"{server.base}/a/0", f"{server.base}/a/1"] if expect_stored else [])
    if not expect_stored:
        assert "No requests to 127.0.0.1" in done.stderr and stats["newsmon/robots/host_closed"] == 1
        assert stats.get("downloader/request_count", 0) == 1  # robots.txt once (not retried), nothing else
        assert list_runs(url, limit=1)[0].status in ("partial", "failed")


def test_requests_waiting_for_robots_txt_all_obey_its_outcome(
    tmp_path: Path, fault_server: Callable[..., FaultServer]
) -> None:
    """B15: three feeds queued while robots.txt is still answering (late, then 503): none of them is fetched."""
    server = fault_server("slow503")
    feeds = [server.feed("/a/0"), server.feed("/a/1"), server.feed("/a/2")]
    done, stats, url = run_faults(tmp_path, server, feeds)
    assert done.returncode == 0 and stored_urls(url) == []
    assert stats["downloader/request_count"] == 1 and stats["robotstxt/forbidden"] == 3


def test_crawl_delay_is_honoured(tmp_path: Path, fault_server: Callable[..., FaultServer]) -> None:
    """B15: `Crawl-delay: 2` spaces the requests to the host by 2 s (up to NEWSMON_CRAWL_DELAY_MAX)."""
    server = fault_server("delay:2")
    done, stats, url = run_faults(tmp_path, server, [server.feed("/a/0", "/a/1", "/a/2")])
    assert done.returncode == 0 and len(stored_urls(url)) == 3
    assert stats["elapsed_time_seconds"] >= 2 * 3  # feed and three articles after robots.txt, 2 s apart


def test_retry_after_puts_the_host_on_hold(tmp_path: Path, fault_server: Callable[..., FaultServer]) -> None:
    """F2: a 429 with `Retry-After: 120` (longer than NEWSMON_RETRY_AFTER_MAX) holds the host: one request, no
    immediate retries, the rest left for the next run (run `partial`); a short Retry-After is waited out."""
    server = fault_server()
    done, stats, url = run_faults(tmp_path, server, [server.feed("/status/429?retry_after=120", "/a/0")])
    assert done.returncode == 0
    assert stats["downloader/response_status_count/429"] == 1
    assert "asked to wait 120 s" in done.stderr and list_runs(url, limit=1)[0].status == "partial"

    short, stats, _ = run_faults(tmp_path / "short", server, [server.feed("/status/503?retry_after=1")])
    assert stats["downloader/response_status_count/503"] == 3  # Scrapy's 3 attempts, each after the hold
    assert stats["newsmon/backoff/waited"] == 2 and stats["elapsed_time_seconds"] >= 2


def test_broken_answers_never_store_a_page_and_never_stop_the_crawl(
    tmp_path: Path, fault_server: Callable[..., FaultServer]
) -> None:
    """F1 (500), F4 (reset, truncated), B3 (gzip bomb), B5 (50 MB, with Content-Length and chunked), B6 (binary
    at an .html URL), B9 (redirect loop, a chain of 25): none is stored, and the real articles around them are,
    once each."""
    server = fault_server()
    links = ["/a/0", "/status/500", "/drop", "/partial", "/gzipbomb", "/big?mb=50", "/big?mb=50&chunked=1"]
    links += ["/bin/page.html", "/loop/a", "/chain/25", "/chain/3", "/a/1"]
    done, stats, url = run_faults(tmp_path, server, [server.feed(*links)])
    assert done.returncode == 0
    assert stored_urls(url) == [f"{server.base}/a/0", f"{server.base}/a/1"]  # /chain/3 ends at /a/0: stored once
    assert stats["downloader/response_status_count/500"] == 3  # F1: 3 attempts
    assert stats.get("newsmon/article/non_text", 0) + stats.get("newsmon/extract/binary", 0) == 1  # B6, skipped
    assert stats.get("downloader/response_bytes", 0) < 64 * 1024 * 1024  # B3/B5 cancelled at DOWNLOAD_MAXSIZE
    assert "memusage/max" not in stats or stats["memusage/max"] < 600 * 1024 * 1024
    assert list_runs(url, limit=1)[0].status == "partial"  # the 500s and resets are worth a retry next run
    assert server.canary_hits() == 0


def test_xml_bombs_and_external_entities_in_feeds_stay_inert(
    tmp_path: Path, fault_server: Callable[..., FaultServer]
) -> None:
    """B7: a billion-laughs feed and a feed with external entities (a file, the canary, an external DTD): no
    expansion, no file read, no request to the canary."""
    server = fault_server()
    done, stats, url = run_faults(tmp_path, server, [f"{server.base}/xml/bomb", f"{server.base}/xml/xxe"])
    assert done.returncode == 0
    assert server.canary_hits() == 0
    assert stored_urls(url) == []
    assert "root:" not in done.stderr
    assert stats["elapsed_time_seconds"] < 30


def test_the_resolver_refuses_names_of_non_public_addresses() -> None:
    """B10, the name half: a public-looking name that resolves to a loopback, private or link-local address
    is refused at resolution (the crawl test above cannot name one: seeds only take real domains)."""
    from twisted.internet.error import DNSLookupError

    from crawler.guard import AllowList, GuardedResolver, is_public, refusal

    for address in ("127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1"):
        assert not is_public(address)
        with pytest.raises(DNSLookupError, match="not a public address"):
            GuardedResolver._public_only(address, "innocent.example")
    for address in ("::1", "fd00::1", "fe80::1", "::ffff:127.0.0.1"):
        assert not is_public(address)
    assert GuardedResolver._public_only("93.184.216.34", "example.com") == "93.184.216.34"
    allowed = AllowList(["127.0.0.1:8080", "intranet.example"])
    assert allowed.allows("127.0.0.1", 8080) and not allowed.allows("127.0.0.1", 8081)
    assert allowed.allows_name("intranet.example") and allowed.allows_name("127.0.0.1")
    assert refusal("http://127.0.0.1:8081/", allowed) and refusal("http://127.0.0.1:8080/", allowed) is None
    ports = AllowList(["localhost:8080"])
    assert (
        refusal("http://localhost:9999/", ports) == "localhost is allowed on other ports only (NEWSMON_ALLOWED_HOSTS)"
    )

    # The installed resolver itself, on a running reactor: "localhost" is a name for 127.0.0.1.
    script = (
        "from twisted.internet import reactor\n"
        "from crawler.guard import GuardedResolver\n"
        "out = []\n"
        "for name in ('localhost', '2130706433'):\n"
        "    d = GuardedResolver(reactor, 100, 5).getHostByName(name)\n"
        "    d.addCallbacks(out.append, lambda f: out.append(type(f.value).__name__))\n"
        "reactor.callLater(3, reactor.stop)\n"
        "reactor.run()\n"
        "print(out)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "['RefusedAddress', 'RefusedAddress']", done.stderr[-2000:]


def test_hardening_settings_are_loaded() -> None:
    """S5: the settings every crawl runs with (crawler/settings.py, through Scrapy's own loader)."""
    from scrapy.utils.project import get_project_settings

    settings = get_project_settings()
    handlers = settings.getdict("DOWNLOAD_HANDLERS")
    assert all(handlers.get(scheme, "on") is None for scheme in ("file", "data", "ftp", "s3"))
    assert settings.getbool("TELNETCONSOLE_ENABLED") is False and settings.getbool("ROBOTSTXT_OBEY") is True
    assert 0 < settings.getint("DOWNLOAD_MAXSIZE") <= 16 * 1024 * 1024
    assert 0 < settings.getint("DOWNLOAD_WARNSIZE") < settings.getint("DOWNLOAD_MAXSIZE")
    assert settings.getint("REDIRECT_MAX_TIMES") <= 10 and settings.getint("DOWNLOAD_TIMEOUT") <= 30
    middlewares = settings.getdict("DOWNLOADER_MIDDLEWARES")
    assert middlewares["scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware"] is None
    assert {"crawler.guard.TargetGuardMiddleware", "crawler.politeness.RobotsTxtMiddleware"} <= set(middlewares)
    assert middlewares["crawler.politeness.RetryAfterMiddleware"] > 550  # sees a 429 before Scrapy retries it
    assert settings.get("TWISTED_DNS_RESOLVER") == "crawler.guard.GuardedResolver"
    assert settings.getbool("HTTPPROXY_ENABLED") is False  # a proxy would resolve names past the guard


def test_sigkill_at_20_random_points_then_a_rerun_loses_and_duplicates_nothing(
    tmp_path: Path, fault_server: Callable[..., FaultServer], shared: Path
) -> None:
    """F6 (acceptance 2): a crawl of 12 real pages killed with SIGKILL at a random point (from start-up to the
    last article, mid-transaction included), then run again: integrity ok, every article stored exactly once,
    the same rounds as an uninterrupted crawl, none twice; the killed run is marked `abandoned`."""
    server = fault_server()
    feeds = [server.feed(*(f"/delay/0.15/a/{index}" for index in range(12)))]  # slow enough to kill mid-way
    _, _, reference = run_faults(tmp_path / "reference", server, feeds)
    expected_urls, expected_rounds = stored_urls(reference), stored_rounds(reference)
    assert len(expected_urls) == 12 and expected_rounds
    chance = random.Random(20261126)
    killed = 0
    for attempt in range(20):
        folder = tmp_path / f"kill-{attempt}"
        killed += start_and_kill(folder, server, feeds, articles=chance.randint(0, 11), extra=chance.uniform(0, 0.3))
        done, _, url = run_faults(folder, server, feeds)
        assert done.returncode == 0, done.stderr[-2000:]
        assert stored_urls(url) == expected_urls, attempt
        assert stored_rounds(url) == expected_rounds, attempt
        statuses = [run.status for run in list_runs(url)]
        assert statuses[0] == "ok" and set(statuses[1:]) <= {"abandoned"}, statuses  # the killed run, if it began
    assert killed == 20  # every kill landed while the crawl ran


def start_and_kill(folder: Path, server: FaultServer, feeds: list[str], articles: int, extra: float) -> bool:
    """Start the crawl of `feeds`, SIGKILL its process group once `articles` articles are stored (then `extra`
    seconds more); True when the kill landed before the crawl ended by itself."""
    seeds = write_seed(folder, feeds)
    settings = {
        **FAST,
        "NEWSMON_DB_URL": f"sqlite:///{folder / 'faults.db'}",
        "NEWSMON_SEEDS_DIR": str(seeds),
        "NEWSMON_ALERTS": "off",
    }
    settings["NEWSMON_ALLOWED_HOSTS"] = f"127.0.0.1:{server.port}"
    command = [sys.executable, "-m", "scrapy", "crawl", "faults", *settings_args(settings), "-a", "since=2000-01-01"]
    process = subprocess.Popen(
        command, cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.monotonic() + 60
    while process.poll() is None and time.monotonic() < deadline and article_count(folder / "faults.db") < articles:
        time.sleep(0.02)
    time.sleep(extra)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    return process.returncode == -signal.SIGKILL


def article_count(path: Path) -> int:
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=0.1)) as connection:
            return connection.execute("SELECT COUNT(*) FROM articles").fetchone()[0]
    except sqlite3.Error:  # not created or not migrated yet, or busy
        return 0


def stored_rounds(url: str) -> list[tuple]:
    """Every stored round as (company, amount, currency, round, status): a duplicate would show twice."""
    with contextlib.closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as connection:
        query = "SELECT company, amount, currency, round, status FROM funding_rounds"
        return sorted(connection.execute(query).fetchall(), key=repr)


def test_bad_html_and_wrong_charsets_are_extracted_or_skipped_with_a_reason(
    tmp_path: Path, fault_server: Callable[..., FaultServer], shared: Path
) -> None:
    """B1 (NUL bytes, random bytes, a page cut short), B2 (a cp1252 body under a UTF-8 header, a charset named
    only in <meta>, UTF-16 with a BOM), B4 (gzip bytes served as text/html without Content-Encoding)."""
    from pipelines.extract import extract_article

    server = fault_server()
    pages = [json.loads(line) for line in (shared / "corpus" / "pages.jsonl").read_text().splitlines()]

    def golden(index: int) -> str:
        html = (shared / "corpus" / pages[index]["file"]).read_text(encoding="utf-8")
        return extract_article(html, f"{server.base}/a/{index}").text

    encodings = {3: "header-utf8-body-cp1252", 4: "meta-latin1", 5: "utf16-bom"}
    links = ["/html/nul/0", "/html/random", "/html/unclosed/1", "/gzip-raw/2"]
    links += [f"/enc/{mode}/{index}" for index, mode in encodings.items()]
    done, stats, url = run_faults(tmp_path, server, [server.feed(*links)])
    assert done.returncode == 0
    with contextlib.closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as connection:
        texts = dict(connection.execute("SELECT url, text FROM articles"))
    for index, mode in encodings.items():
        text = texts[f"{server.base}/enc/{mode}/{index}"]
        assert "\ufffd" not in text and text == golden(index), mode
    assert f"{server.base}/html/nul/0" in texts and "\x00" not in texts[f"{server.base}/html/nul/0"]
    assert f"{server.base}/html/unclosed/1" in texts
    assert f"{server.base}/html/random" not in texts and f"{server.base}/gzip-raw/2" not in texts
    assert stats["newsmon/extract/binary"] == 2  # skipped, with the reason logged
    assert "no article at " + f"{server.base}/gzip-raw/2: binary" in done.stderr


def test_bad_links_slow_servers_and_unknown_hosts(tmp_path: Path, fault_server: Callable[..., FaultServer]) -> None:
    """B16 (javascript:, mailto:, a 5,000-character URL, utm_* variants of one article), F3 (a server slower than
    DOWNLOAD_TIMEOUT), F5 (an entry point whose host does not resolve): each is dropped or recorded, the other
    entry points are crawled, one row per article."""
    server = fault_server()
    links = ["javascript:alert(1)", "mailto:deals@example.com", "/a/7"]
    links += ["/a/8?utm_source=feed", "/a/8?utm_medium=email&utm_source=x", "/delay/10/a/9"]
    feeds = ["http://nx.invalid/feed.xml", server.feed(*links) + "&long=5000"]
    settings = {"DOWNLOAD_TIMEOUT": "2", "RETRY_TIMES": "1", "DNS_TIMEOUT": "3"}
    done, stats, url = run_faults(tmp_path, server, feeds, settings)
    assert done.returncode == 0
    assert stored_urls(url) == [f"{server.base}/a/7", f"{server.base}/a/8"]  # utm_* stripped: one row
    assert "No requests to nx.invalid this run: its robots.txt could not be fetched" in done.stderr  # F5
    assert stats["newsmon/links/seen"] == 7 and stats["newsmon/links/requested"] <= 4  # the bad ones dropped
    assert stats["downloader/exception_type_count/scrapy.exceptions.DownloadTimeoutError"] == 2  # F3: tried twice
    assert stats["elapsed_time_seconds"] < 30
    assert list_runs(url, limit=1)[0].status == "partial"


def test_deep_nesting_huge_nodes_and_huge_colspans_are_bounded(
    tmp_path: Path, fault_server: Callable[..., FaultServer]
) -> None:
    """B13: 100,000 nested <div>s, a 12 MB text node (a 20 MB one never gets past DOWNLOAD_MAXSIZE, as B5
    shows), colspan=999999999: no crash, no RecursionError, bounded time; the oversized page is skipped with
    its reason logged."""
    server = fault_server()
    done, stats, url = run_faults(tmp_path, server, [server.feed("/html/deep", "/html/hugenode", "/html/colspan/2")])
    assert done.returncode == 0
    assert "RecursionError" not in done.stderr and stats["elapsed_time_seconds"] < 60
    stored = stored_urls(url)
    assert f"{server.base}/html/colspan/2" in stored and f"{server.base}/html/hugenode" not in stored
    assert f"no article at {server.base}/html/hugenode: too_large" in done.stderr
    # the deep page is either extracted or skipped with a reason, never a crash
    assert f"{server.base}/html/deep" in stored or f"no article at {server.base}/html/deep" in done.stderr

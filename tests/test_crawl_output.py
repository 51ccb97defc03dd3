"""What a person sees when a crawl runs: no Scrapy log by default, a progress line every so often on a terminal, and
one summary line at the end that says what crawl_runs recorded."""

from __future__ import annotations

import hashlib
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from crawler.replay import settings_args
from storage import Store, list_runs
from tests.support.crawling import PROJECT_ROOT
from tests.support.httpsite import Site, serve
from tests.support.seeds import local_site, write_local_seed

pytestmark = pytest.mark.slow
FAST = {"DOWNLOAD_DELAY": "0.01", "AUTOTHROTTLE_ENABLED": "False"}
SUMMARY = re.compile(
    r"^local: (?P<status>\w+) in \d+ s; listings (?P<listings_read>\d+) read, (?P<listings_unchanged>\d+) unchanged;"
    r" articles (?P<articles_new>\d+) new, (?P<articles_updated>\d+) updated, (?P<articles_skipped>\d+) skipped;"
    r" rounds (?P<rounds_new>\d+) new, (?P<rounds_merged>\d+) merged; (?P<errors>\d+) errors?$"
)


def scrapy_crawl(tmp_path: Path, url: str, *extra: str) -> subprocess.CompletedProcess[str]:
    settings = {**FAST, "NEWSMON_SEEDS_DIR": str(tmp_path / "seeds"), "NEWSMON_DB_URL": url, "NEWSMON_ALERTS": "off"}
    return subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", "local", *settings_args(settings), *extra],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_a_crawl_ends_with_one_line_that_matches_its_crawl_runs_row(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'newsmon.db'}"
    with serve(Site()) as site:
        local_site(site, 6)
        site.pages["/feed.xml"].etag = True  # the second crawl finds it unchanged
        site.pages["/news/story-5/"].body = b"<html><body>\xff</body></html>"  # no article in it: skipped
        write_local_seed(tmp_path / "seeds", "local", site.base_url)
        first = scrapy_crawl(tmp_path, url)
        second = scrapy_crawl(tmp_path, url)
    runs = list(reversed(list_runs(url)))
    assert len(runs) == 2
    for done, run in zip((first, second), runs, strict=True):
        assert done.returncode == 0, done.stderr[-2000:]
        # stderr is the summary line, and nothing else; stdout stays free for a feed export (-o -)
        assert (done.stderr.splitlines(), done.stdout) == ([run.summary()], "")
        line = SUMMARY.match(done.stderr.strip())
        assert line, done.stderr
        # the figures read back from the row are the ones crawl_runs holds
        assert {name: value for name, value in line.groupdict().items() if name != "status"} == {
            name: str(getattr(run, name)) for name in SUMMARY.groupindex if name != "status"
        }
        assert line["status"] == run.status == "ok"
        # Scrapy's INFO log is off by default: no "Spider opened", no stats dump
        assert " INFO: " not in done.stderr and "Dumping Scrapy stats" not in done.stderr
    assert (runs[0].articles_new, runs[0].articles_skipped, runs[0].listings_read) == (5, 1, 1)
    assert (runs[1].listings_read, runs[1].listings_unchanged, runs[1].articles_new) == (1, 1, 0)


def test_scrapys_log_comes_back_with_log_level_info_and_progress_lines_come_on_a_terminal(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'newsmon.db'}"
    Store(url)
    with serve(Site()) as site:
        local_site(site, 8, delay=0.3)
        write_local_seed(tmp_path / "seeds", "local", site.base_url)
        # a pipe is not a terminal: `always` stands in for one, at a short interval
        options = ("LOG_LEVEL=INFO", "NEWSMON_PROGRESS=always", "NEWSMON_PROGRESS_INTERVAL=0.5")
        done = scrapy_crawl(tmp_path, url, *(part for option in options for part in ("-s", option)))
    assert done.returncode == 0, done.stderr[-2000:]
    assert "[scrapy.core.engine] INFO: Spider opened" in done.stderr and "Dumping Scrapy stats" in done.stderr
    progress = [line for line in done.stderr.splitlines() if line.startswith("local: running for ")]
    assert len(progress) >= 2, done.stderr[-3000:]
    assert re.fullmatch(
        r"local: running for \d+ s; listings \d+ read; \d+ requests; articles \d+ new, \d+ updated, \d+ skipped;"
        r" rounds \d+ new; \d+ errors?",
        progress[-1],
    )
    assert list_runs(url)[0].summary() in done.stderr.splitlines()


def test_a_run_records_its_host_job_and_seed_version_and_one_that_read_no_listing_failed(tmp_path: Path) -> None:
    """Issue 19: in a store several hosts share, each run says where it ran, which job launched it (Scrapyd's
    `_job` argument here) and which seed file it read; a run that read no feed or sitemap is never `ok`."""
    url = f"sqlite:///{tmp_path / 'newsmon.db'}"
    with serve(Site()) as site:
        local_site(site, 2)
        seed = write_local_seed(tmp_path / "seeds", "local", site.base_url)
        done = scrapy_crawl(tmp_path, url, "-a", "_job=6487ec79947edab326d6db28a2d86511")
        site.pages["/feed.xml"].body = b"<html><body>no feed here any more</body></html>"
        empty = scrapy_crawl(tmp_path, url)
    first, second = reversed(list_runs(url))
    assert done.returncode == 0 and first.status == "ok", done.stderr[-2000:]
    assert (first.host, first.job_id) == (socket.gethostname(), "6487ec79947edab326d6db28a2d86511")
    assert first.seed_version == hashlib.sha256(seed.read_bytes()).hexdigest()[:12]
    assert (second.status, second.listings_read, second.errors, second.job_id) == ("failed", 0, 0, None)
    assert empty.returncode == 1 and "no feed or sitemap could be read" in empty.stderr

"""Seed files for tests: one writer, and the seeds of the local sites the tests serve (tests/support/httpsite.py,
the fault server) and their pages."""

from __future__ import annotations

import json
from pathlib import Path

from pipelines.dates import today_utc
from tests.support.httpsite import Page, Site
from tests.support.sitebuilder import Entry, article_page, rss

# A source on a local site: robots.txt, one feed, articles under /news/.
LOCAL_SEED = """title = "{title}"
allowed_domains = ["127.0.0.1"]
robots_txt = "{base}/robots.txt"
feeds = ["{base}/feed.xml"]
article_url_pattern = '^http://127\\.0\\.0\\.1:\\d+/news/[a-z0-9-]+/$'
language = "en"
"""


def write_seed(folder: Path, text: str, name: str = "example") -> Path:
    """Write `<folder>/<name>.toml` (the folder made if needed); returns its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def write_local_seed(folder: Path, name: str, base: str, extra: str = "") -> Path:
    """A seed for the local site at `base` (LOCAL_SEED), with the TOML lines `extra` added."""
    return write_seed(folder, LOCAL_SEED.format(title=name, base=base) + extra, name)


def write_fault_seed(folder: Path, feeds: list[str], sitemaps: list[str] | None = None) -> Path:
    """A seeds folder with one source, `faults`, whose feeds (and sitemaps) are on the fault server."""
    seeds = folder / "seeds"
    write_seed(
        seeds,
        f"""
title = "Fault server"
# every target of the redirects below is named, so it is the SSRF guard that stops them, not the offsite filter
allowed_domains = ["127.0.0.1", "10.0.0.1", "169.254.169.254", "nx.invalid"]
robots_txt = []
feeds = {json.dumps(feeds)}
sitemaps = {json.dumps(sitemaps or [])}
article_url_pattern = "^http"
language = "en"
""",
        "faults",
    )
    return seeds


def local_site(site: Site, count: int, delay: float = 0.0) -> None:
    """Fill `site` (on 127.0.0.1) with robots.txt, a feed of `count` articles dated today, each answering after
    `delay` seconds."""
    base = site.base_url
    entries = [
        Entry(f"{base}/news/story-{n}/", today_utc(), f"Story {n} about a company", Path()) for n in range(count)
    ]
    site.pages["/robots.txt"] = Page(b"User-agent: *\nAllow: /\n", "text/plain")
    site.pages["/feed.xml"] = Page(rss(entries, "Local", base), "application/rss+xml")
    for entry in entries:
        site.pages[entry.url.removeprefix(base)] = Page(
            article_page(entry.url, entry.title, entry.published), delay=delay
        )

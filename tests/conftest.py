"""Shared fixtures: the ../shared corpus (read in place), temporary stores, and crawl runners."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from crawler.replay import RecordedPage, replay_settings, settings_args, write_cache

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHARED = PROJECT_ROOT.parent / "shared"
CRAWL_TIMEOUT = 180


@pytest.fixture(scope="session")
def shared() -> Path:
    """../shared beside the repository; tests that need it skip where it is absent."""
    if not (SHARED / "corpus" / "pages.jsonl").is_file():
        pytest.skip(f"needs the shared corpus at {SHARED} (not present on this machine)")
    return SHARED


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh file SQLite store (a crawl subprocess cannot see an in-memory one)."""
    return f"sqlite:///{tmp_path / 'newsmon.db'}"


def crawl(
    spider: str,
    *,
    db_url: str,
    pages: dict[str, RecordedPage],
    cache_dir: Path,
    since: str | None = "2000-01-01",
    seeds_dir: Path | None = None,
    extra_settings: dict[str, str] | None = None,
) -> tuple[subprocess.CompletedProcess[str], dict[str, object]]:
    """Replay `pages` through a real `scrapy crawl` subprocess; returns the process and its final stats."""
    if not cache_dir.exists():
        write_cache(cache_dir, spider, pages)
    stats_file = cache_dir.parent / f"stats-{len(list(cache_dir.parent.glob('stats-*')))}.json"
    settings = {**replay_settings(cache_dir), "NEWSMON_DB_URL": db_url, "NEWSMON_STATS_FILE": str(stats_file)}
    if seeds_dir:
        settings["NEWSMON_SEEDS_DIR"] = str(seeds_dir)
    settings.update(extra_settings or {})
    command = [sys.executable, "-m", "scrapy", "crawl", spider, *settings_args(settings)]
    if since:
        command += ["-a", f"since={since}"]
    env = {k: v for k, v in os.environ.items() if k not in ("NEWSMON_DB_URL", "NEWSMON_SEEDS_DIR")}
    done = subprocess.run(
        command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=CRAWL_TIMEOUT, check=False
    )
    stats = json.loads(stats_file.read_text()) if stats_file.exists() else {}
    return done, stats

"""The crawl launcher: a real `scrapy crawl` subprocess, replayed from Scrapy's HTTP cache or against a local
server, with its final stats read back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from crawler.replay import RecordedPage, replay_settings, settings_args, write_cache

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SHARED = PROJECT_ROOT.parent / "shared"
CRAWL_TIMEOUT = 180


def crawl(
    spider: str,
    *,
    db_url: str,
    pages: dict[str, RecordedPage] | None = None,
    cache_dir: Path | None = None,
    since: str | None = "2000-01-01",
    seeds_dir: Path | None = None,
    extra_settings: dict[str, str] | None = None,
    workdir: Path | None = None,
) -> tuple[subprocess.CompletedProcess[str], dict[str, object]]:
    """Run a real `scrapy crawl` subprocess; returns the process and its final stats.

    With `pages` and `cache_dir` it replays the pages from Scrapy's HTTP cache (DESIGN "Replay"); without,
    it fetches for real (tests point it at a server on 127.0.0.1). `workdir` holds the stats file
    (default: beside the cache).
    """
    # alert tests turn alerts on; tests read Scrapy's INFO log
    settings: dict[str, str] = {"NEWSMON_DB_URL": db_url, "NEWSMON_ALERTS": "off", "LOG_LEVEL": "INFO"}
    if cache_dir is not None:
        if not cache_dir.exists():
            write_cache(cache_dir, spider, pages or {})
        settings.update(replay_settings(cache_dir))
    folder = workdir or (cache_dir.parent if cache_dir is not None else None)
    if folder is None:
        raise ValueError("crawl() needs a cache_dir or a workdir")
    stats_file = folder / f"stats-{len(list(folder.glob('stats-*')))}.json"
    settings["NEWSMON_STATS_FILE"] = str(stats_file)
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

"""Scrapy settings of newsmon: polite, hardened defaults (reliability guide, section 5).

Every value can be overridden with `scrapy crawl ... -s NAME=VALUE`.
"""

from __future__ import annotations

import os

from storage import db_url

BOT_NAME = "newsmon"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"
COMMANDS_MODULE = "crawler.commands"
# One spider per seeds/<name>.toml, built from data (crawler/spiderloader.py).
SPIDER_LOADER_CLASS = "crawler.spiderloader.SeedSpiderLoader"
NEWSMON_SEEDS_DIR = None  # None: $NEWSMON_SEEDS_DIR, else seeds/ in the project
NEWSMON_DB_URL = db_url()

# Politeness: obey robots.txt, say who we are, one request at a time per site, adaptive delay.
ROBOTSTXT_OBEY = True
# $NEWSMON_CONTACT (an e-mail address or URL of whoever runs this crawler) is added when set: some sites (SEC
# EDGAR's fair-access rules) require a User-Agent that says how to reach the operator.
_CONTACT = "".join(c for c in os.environ.get("NEWSMON_CONTACT", "") if c.isprintable()).strip()[:200]
USER_AGENT = "newsmon/0.1 (+https://github.com/newsmon/newsmon; news-monitoring crawler{})".format(
    f"; {_CONTACT}" if _CONTACT else ""
)
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 1
DOWNLOAD_DELAY = 1.0
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0

# Bounded work per request and per run.
DOWNLOAD_TIMEOUT = 30
DNS_TIMEOUT = 10
DOWNLOAD_MAXSIZE = 16 * 1024 * 1024
DOWNLOAD_WARNSIZE = 4 * 1024 * 1024
DOWNLOAD_FAIL_ON_DATALOSS = True
REDIRECT_MAX_TIMES = 10
URLLENGTH_LIMIT = 2083
RETRY_TIMES = 2
MEMUSAGE_WARNING_MB = 1024
MEMUSAGE_LIMIT_MB = 2048  # the crawl closes itself (a failed run) rather than take the machine down

# What Scrapy does not do (reliability guide, section 5): refuse non-public targets and non-http(s) schemes
# (crawler/guard.py), fail closed when robots.txt cannot be read and honour Crawl-delay, back off on 429/503
# with Retry-After (crawler/politeness.py).
DOWNLOADER_MIDDLEWARES = {
    "crawler.guard.TargetGuardMiddleware": 50,
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "crawler.politeness.RobotsTxtMiddleware": 100,
    "crawler.politeness.RetryAfterMiddleware": 555,  # sees a 429/503 before RetryMiddleware (550) retries it
    "crawler.budget.SitemapBudgetMiddleware": 40,  # drops a sitemap before anything else is done for it
}
TWISTED_DNS_RESOLVER = "crawler.guard.GuardedResolver"
HTTPPROXY_ENABLED = False  # through a proxy, names would be resolved where the guard cannot check them
NEWSMON_ALLOWED_HOSTS = None  # host or host:port targets allowed though not public (else $NEWSMON_ALLOWED_HOSTS)
NEWSMON_CRAWL_DELAY_MAX = 30.0  # the longest robots.txt Crawl-delay honoured (seconds)
NEWSMON_REFETCH_MAX = 500  # stored articles fetched again per run because their listing dates a change
# Per-run budgets (crawler/budget.py): sitemap bombs (an index that lists itself, a chain of indexes, an index of
# 50,000 indexes) end in bounded time and memory. Over a budget, what is left is an error (a partial run).
NEWSMON_SITEMAP_MAX_DEPTH = 3  # indexes nested deeper than this (the seed's sitemap is depth 0) are not followed
NEWSMON_SITEMAPS_PER_RUN = 500  # sitemaps requested per run (a backfill over years may need more)
NEWSMON_SITEMAP_BYTES_PER_RUN = 100 * 1024 * 1024  # sitemap XML parsed per run (gzip: counted packed and unpacked)
NEWSMON_ARTICLES_PER_RUN = 50_000  # article requests queued per run
NEWSMON_RETRY_AFTER_MAX = 60.0  # a host on hold longer than this is left for the next run
NEWSMON_BACKOFF_SECS = 30.0  # the hold after a 429/503 without Retry-After (doubling on each repeat)

# Local surface: no telnet console, no remote control, only http(s) downloads.
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False
DOWNLOAD_HANDLERS = {"file": None, "data": None, "ftp": None, "s3": None}

EXTENSIONS = {
    "scrapy.extensions.memusage.MemoryUsage": None,
    "crawler.extensions.OwnMemoryUsage": 0,  # the limit on the crawl's own memory, not its parent's peak
    "crawler.extensions.CrawlRecorder": 800,
    "crawler.extensions.CrawlProgress": 810,
    "crawler.extensions.AlertDelivery": 850,  # after the run is recorded
    "crawler.extensions.PeakMemory": 890,
    "crawler.extensions.StatsFile": 900,
}
NEWSMON_STATS_FILE = None  # a path: the final stats are written there as JSON
NEWSMON_RECORD_RUNS = True  # write each run to the store's crawl_runs (and end with its summary line)
NEWSMON_PROGRESS = "auto"  # a progress line on stderr while crawling: auto (on a terminal), always, never
NEWSMON_PROGRESS_INTERVAL = 30  # seconds between progress lines
NEWSMON_RUN_TOKEN = None  # names this run in crawl_runs and run_locks (set by the scheduler; else generated)
NEWSMON_JOB_ID = None  # the job that launched this crawl (a worker's), recorded in crawl_runs.job_id
NEWSMON_LOCK_STALE_SECS = 900  # a run lock not refreshed for this long belongs to a dead crawl
NEWSMON_HEARTBEAT_SECS = 30
NEWSMON_DEADLINE = 0  # epoch seconds (set by the scheduler): the crawl stops itself then, even if orphaned
NEWSMON_DEADLINE_GRACE = 60  # after the deadline's SIGTERM, before a hard exit
NEWSMON_PARENT_PID = 0  # set by a crawl worker: the crawl exits when that process is gone (as with its host)

# Extraction and detection in worker processes (crawler/offload.py) once a crawl has more article pages than
# this to read; -1: one worker per usable core (at most 8); 0: never.
NEWSMON_WORKERS = -1
NEWSMON_WORKERS_AFTER = 30
ITEM_PIPELINES = {
    "crawler.pipelines.ExtractPipeline": 100,
    "crawler.pipelines.DetectPipeline": 200,
    "crawler.pipelines.PersistPipeline": 300,
}
# The alerts file: None means $NEWSMON_ALERTS, else alerts.toml in the project (if it exists); "off": no alerts.
NEWSMON_ALERTS = None
NEWSMON_ALERTS_TIME_LIMIT = 120  # seconds for the alerts at a crawl's end (each delivery: its channel's timeout)

# Keep Scrapy's default request fingerprinter: replay caches are keyed on it (DESIGN "Replay").
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
FEED_EXPORT_ENCODING = "utf-8"
# Scrapy's own log is for diagnosis (-s LOG_LEVEL=INFO); by default a crawl shows its warnings, errors, progress
# lines on a terminal and the summary line it ends with. The scheduler keeps INFO in each crawl's log file.
LOG_LEVEL = "WARNING"

"""Nightly scheduled crawls: `python scheduler.py`.

A placeholder until the scheduler issue lands (APScheduler, one job per seed, runs recorded in the store).
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    """Say that the scheduler is not built yet, and how to crawl by hand; exit status 2."""
    print(
        "scheduler.py: not built yet (the scheduler issue is open). Crawl by hand: scrapy crawl <source>",
        file=sys.stderr,
    )
    return 2


if __name__ == "__main__":
    sys.exit(main())

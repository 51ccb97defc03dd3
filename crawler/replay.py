"""Replay (DESIGN "Replay"): write recorded pages into Scrapy's HTTP cache, and the settings that read it.

A crawl with `replay_settings(cache_dir)` runs offline on real URLs: each response comes from the cache,
keyed by Scrapy's default request fingerprint, exactly as if it had been recorded by a live crawl.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

from scrapy import Request
from scrapy.extensions.httpcache import FilesystemCacheStorage
from scrapy.http import Response
from scrapy.settings import Settings
from scrapy.utils.request import RequestFingerprinter

_TYPES = {
    ".xml": "application/xml",
    ".rss": "application/rss+xml",
    ".atom": "application/atom+xml",
    ".txt": "text/plain",
    ".json": "application/json",
    ".gz": "application/x-gzip",
}


@dataclass(frozen=True)
class RecordedPage:
    """One recorded response."""

    body: bytes
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)  # more response headers, e.g. Location


def replay_settings(cache_dir: Path | str) -> dict[str, str]:
    """The Scrapy settings of an offline crawl from the cache in `cache_dir` (as `-s` pairs)."""
    return {
        "HTTPCACHE_ENABLED": "True",
        "HTTPCACHE_DIR": str(Path(cache_dir).resolve()),
        "HTTPCACHE_IGNORE_MISSING": "True",
        "HTTPCACHE_POLICY": "scrapy.extensions.httpcache.DummyPolicy",
        "HTTPCACHE_EXPIRATION_SECS": "0",
        "HTTPCACHE_STORAGE": "scrapy.extensions.httpcache.FilesystemCacheStorage",
    }


def setting_pairs(values: Iterable[str]) -> dict[str, str]:
    """`NAME=VALUE` command-line values as a dict (the inverse of `settings_args`).

    Raises:
        ValueError: a value without `=` or without a name, in one line.
    """
    pairs = {}
    for value in values:
        name, sep, setting = value.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"expects NAME=VALUE, got {value!r}")
        pairs[name.strip()] = setting
    return pairs


def settings_args(settings: Mapping[str, str]) -> list[str]:
    """`-s NAME=VALUE` command-line arguments for `scrapy crawl`."""
    return [arg for name, value in settings.items() for arg in ("-s", f"{name}={value}")]


def content_type_for(path: Path) -> str:
    """The Content-Type a web server would send for a file."""
    if path.suffix in _TYPES:
        return _TYPES[path.suffix]
    guessed = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"{guessed}; charset=utf-8" if guessed.startswith("text/") else guessed


def site_from_folder(folder: Path, base_url: str) -> dict[str, RecordedPage]:
    """Map a folder to URLs: `a/b.xml` is `<base_url>a/b.xml`, `a/index.html` is `<base_url>a/`."""
    pages: dict[str, RecordedPage] = {}
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or path.name.lower() == "readme.md":
            continue
        relative = path.relative_to(folder).as_posix()
        if path.name == "index.html":
            relative = relative[: -len("index.html")]
        pages[base_url.rstrip("/") + "/" + relative] = RecordedPage(path.read_bytes(), content_type_for(path))
    return pages


def write_cache(cache_dir: Path | str, spider_name: str, pages: Mapping[str, RecordedPage]) -> int:
    """Store `pages` (URL -> response) in Scrapy's filesystem HTTP cache for `spider_name`.

    Returns:
        The number of responses written.
    """
    storage = FilesystemCacheStorage(Settings({"HTTPCACHE_DIR": str(Path(cache_dir).resolve())}))
    fingerprinter = RequestFingerprinter()
    spider = SimpleNamespace(name=spider_name, crawler=SimpleNamespace(request_fingerprinter=fingerprinter))
    storage.open_spider(spider)  # type: ignore[arg-type] - only .name and .crawler are read
    for url, page in pages.items():
        request = Request(url)
        response = Response(
            url=url, status=page.status, headers={"Content-Type": page.content_type, **page.headers}, body=page.body
        )
        storage.store_response(spider, request, response)  # type: ignore[arg-type]
    return len(pages)

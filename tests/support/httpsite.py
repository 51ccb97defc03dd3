"""Test helper: a small web site on 127.0.0.1 (stdlib HTTP server in a thread) that honours conditional
requests, answers with any status, and records every request it gets."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from crawler.guard import ALLOWED_HOSTS_ENV


@dataclass
class Page:
    """One resource: its body and type; `etag` / `modified` switch on validators; `status` forces an answer."""

    body: bytes
    content_type: str = "text/html; charset=utf-8"
    etag: bool = False
    modified: dt.datetime | None = None
    status: int = 200
    delay: float = 0.0  # seconds before answering (a slow or hanging site)


@dataclass
class Site:
    """The pages by path, and a log of (method, path, request headers) for every request served."""

    pages: dict[str, Page] = field(default_factory=dict)
    hits: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    base_url: str = ""

    def paths_hit(self) -> list[str]:
        return [path for _, path, _ in self.hits]


def etag_of(body: bytes) -> str:
    """The ETag the site sends for a body."""
    return '"' + hashlib.sha256(body).hexdigest()[:16] + '"'


def _handler(site: Site, keep_alive: bool) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1" if keep_alive else "HTTP/1.0"

        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            site.hits.append(("GET", self.path, dict(self.headers.items())))
            page = site.pages.get(self.path)
            if page is not None and page.delay:
                time.sleep(page.delay)
            if page is None:
                self._answer(404, b"not found", "text/plain")
                return
            headers: dict[str, str] = {}
            if page.etag:
                headers["ETag"] = etag_of(page.body)
            if page.modified:
                headers["Last-Modified"] = format_datetime(page.modified, usegmt=True)
            if page.status == 200 and self._unchanged(page, headers):
                self._answer(304, b"", None, headers)
                return
            self._answer(page.status, page.body, page.content_type, headers)

        def _unchanged(self, page: Page, headers: dict[str, str]) -> bool:
            if "If-None-Match" in self.headers:
                return "ETag" in headers and self.headers["If-None-Match"] == headers["ETag"]
            since = self.headers.get("If-Modified-Since")
            if since and page.modified:
                try:
                    return page.modified.replace(microsecond=0) <= parsedate_to_datetime(since)
                except (TypeError, ValueError):
                    return False
            return False

        def _answer(self, status: int, body: bytes, content_type: str | None, headers: dict[str, str] | None = None):
            self.send_response(status)
            if content_type:
                self.send_header("Content-Type", content_type)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if status != 304:
                self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the stdlib's signature
            pass

    return Handler


@contextmanager
def serve(site: Site, *, keep_alive: bool = False) -> Iterator[Site]:
    """Serve `site` on 127.0.0.1 at a free port (its `base_url` is set) until the block ends; `keep_alive`
    answers in HTTP/1.1 and keeps connections open (the benchmarks: no connection set up per page)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(site, keep_alive))
    server.daemon_threads = True  # a handler still sleeping does not hold up the shutdown
    site.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    with allow_target(f"127.0.0.1:{server.server_address[1]}"):
        try:
            yield site
        finally:
            server.shutdown()
            server.server_close()


@contextmanager
def allow_target(target: str) -> Iterator[None]:
    """Let crawls started in the block reach `target` (host:port on loopback), which the SSRF guard refuses
    otherwise (`NEWSMON_ALLOWED_HOSTS`, inherited by crawl subprocesses)."""
    before = os.environ.get(ALLOWED_HOSTS_ENV)
    os.environ[ALLOWED_HOSTS_ENV] = ",".join(filter(None, [before, target]))
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(ALLOWED_HOSTS_ENV, None)
        else:
            os.environ[ALLOWED_HOSTS_ENV] = before

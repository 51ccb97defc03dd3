"""Test helper: `newsmon serve` in a subprocess on a free port of 127.0.0.1, until it answers, stopped on exit."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from tests.support.crawling import PROJECT_ROOT


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def newsmon_serving(
    command: Sequence[str] | None = None,
    *,
    db: str | None = None,
    port: int | None = None,
    cwd: Path = PROJECT_ROOT,
    env: dict[str, str] | None = None,
) -> Iterator[str]:
    """Start `newsmon --db DB serve --port PORT` (or `command`, as written, listening on `port`), wait until
    Datasette answers, yield its base URL; terminate it on exit."""
    port = port or free_port()
    if command is None:
        command = [sys.executable, "-m", "crawler.cli", "--db", str(db), "serve", "--port", str(port)]
    server = subprocess.Popen(list(command), cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/-/versions.json", timeout=5).close()
                break
            except (urllib.error.URLError, ConnectionError):
                assert time.monotonic() < deadline and server.poll() is None, "newsmon serve did not come up"
                time.sleep(0.3)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)

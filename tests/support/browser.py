"""Test helpers for the web view: headless Chromium driven by Selenium (Debian's `chromium` and `chromedriver`), the
demo site over HTTPS on 127.0.0.1 under its own name (so an article link opens the real page), and a look at a
screenshot."""

from __future__ import annotations

import functools
import http.server
import io
import shutil
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.support.tls import self_signed


def browser_missing() -> str | None:
    """Why no browser test can run here, or None (the skip reason names what to install)."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return 'selenium is not installed: pip install -e ".[test]"'
    for program in ("chromium", "chromedriver"):
        if shutil.which(program) is None:
            return f"no {program} on PATH: apt-get install chromium chromium-driver (.ci/run does)"
    return None


@contextmanager
def chromium(resolve: dict[str, int], size: tuple[int, int] = (1400, 1000)) -> Iterator[Any]:
    """A headless Chromium whose host names in `resolve` reach 127.0.0.1 at the given port, certificates
    not checked (the local HTTPS site's is self-signed)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    options.add_argument(f"--window-size={size[0]},{size[1]}")
    options.add_argument("--ignore-certificate-errors")
    rules = ", ".join(f"MAP {host} 127.0.0.1:{port}" for host, port in resolve.items())
    options.add_argument(f"--host-resolver-rules={rules}")
    driver = webdriver.Chrome(options=options, service=Service(shutil.which("chromedriver") or "chromedriver"))
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


@contextmanager
def https_folder(folder: Path, host: str, work: Path) -> Iterator[int]:
    """Serve `folder` over HTTPS on 127.0.0.1 (a certificate for `host`, made here); yields the port."""
    certificate, key = self_signed(host, work)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate, key)
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the stdlib's name
        pass


def png_colours(data: bytes) -> int:
    """How many distinct colours a PNG screenshot has (1 for a blank page)."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        found = image.convert("RGB").getcolors(maxcolors=1 << 24)
    return len(found or [])

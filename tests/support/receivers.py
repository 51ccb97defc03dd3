"""Test helper: an HTTP(S) server on 127.0.0.1 that records every request and answers as a chat or push service
would, and a way to make a service's own host name reach it (the services' URLs name fixed hosts)."""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.support.tls import self_signed


@dataclass
class Request:
    method: str
    host: str  # the Host header: which service the client meant
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> object:
        return json.loads(self.body)


@dataclass
class Recorder:
    """Every request received; `answer(request)` gives (status, content type, body)."""

    port: int = 0
    requests: list[Request] = field(default_factory=list)
    answer: Callable[[Request], tuple[int, str, bytes]] = lambda request: (200, "text/plain", b"ok")


@contextmanager
def recording(tls_for: str | None = None, work: Path | None = None) -> Iterator[Recorder]:
    """A recording server on 127.0.0.1; with `tls_for`, over HTTPS with a certificate for that host (made in
    `work`)."""
    recorder = Recorder()

    class Handler(BaseHTTPRequestHandler):
        def _record(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0) or 0))
            request = Request(self.command, self.headers.get("Host", ""), self.path, dict(self.headers), body)
            recorder.requests.append(request)
            status, content_type, answer = recorder.answer(request)
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        do_POST = do_GET = do_PUT = _record  # noqa: N815 - the stdlib's names

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the stdlib's signature
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if tls_for is not None:
        assert work is not None
        certificate, key = self_signed(tls_for, work)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(certificate, key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    recorder.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield recorder
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def hosts_reach(port: int, *hosts: str) -> Iterator[None]:
    """Connections this process opens through urllib3 (requests, so Apprise) to `hosts`, on any port, reach
    127.0.0.1:`port` instead: a service's fixed host stands for the local receiver, nothing leaves the machine."""
    from urllib3.util import connection

    original = connection.create_connection

    def create_connection(address: tuple[str, int], *args: object, **kwargs: object):  # noqa: ANN202
        host, target = address
        return original(("127.0.0.1", port) if host in hosts else (host, target), *args, **kwargs)  # type: ignore[arg-type]

    connection.create_connection = create_connection  # type: ignore[assignment]
    try:
        yield
    finally:
        connection.create_connection = original  # type: ignore[assignment]

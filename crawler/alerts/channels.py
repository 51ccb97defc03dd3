"""Sending alerts: a webhook POST, an email over SMTP, an Atom file written in place, a message to any service
Apprise knows (Slack, Teams, Discord, Telegram, ntfy, email, JSON ...). Each failure is a DeliveryError with a
one-line reason; nothing here retries (the next alert run does)."""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import http.client
import json
import os
import smtplib
import socket
import ssl
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from crawler.alerts.rules import apprise_url_problem, http_url_problem
from crawler.output import replacing

USER_AGENT = "newsmon-alerts/0.1"
MAX_RESPONSE_BYTES = 64 * 1024


class DeliveryError(Exception):
    """An alert could not be delivered; the message is one line for people."""


class Watchdog:
    """A delivery's total deadline. Socket timeouts bound each read, not a receiver that answers one byte every
    few seconds: when the time is up, the watched connection is shut down, so the blocked read returns at once.
    It watches the TCP connection itself (a duplicate of its descriptor), from before any TLS handshake or SMTP
    greeting, and goes on watching it once TLS wraps it."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.ends = time.monotonic() + seconds
        self.fired = False
        self._timer: threading.Timer | None = None
        self._watched: socket.socket | None = None

    def left(self) -> float:
        """Seconds left (at least a millisecond: a socket timeout of 0 would mean non-blocking)."""
        return max(self.ends - time.monotonic(), 0.001)

    def watch(self, sock: socket.socket) -> None:
        """Shut the connection of `sock` down when the deadline passes (unless `cancel` comes first)."""
        self._watched = socket.socket(fileno=os.dup(sock.fileno()))  # outlives TLS detaching `sock`

        def fire() -> None:
            self.fired = True
            with suppress(OSError):
                self._watched.shutdown(socket.SHUT_RDWR)

        self._timer = threading.Timer(self.left(), fire)
        self._timer.daemon = True
        self._timer.start()

    def connect(self, host: str, port: int) -> socket.socket:
        """A TCP connection to `host:port` (within the time left), watched from now on."""
        sock = socket.create_connection((host, port), timeout=self.left())
        self.watch(sock)
        return sock

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self._watched is not None:
            self._watched.close()
            self._watched = None


class _WatchedHTTPConnection(http.client.HTTPSConnection):
    """HTTP(S) whose TCP connection the watchdog watches before the TLS handshake."""

    def __init__(self, host: str, port: int | None, watchdog: Watchdog, tls: bool) -> None:
        super().__init__(
            host, port or (443 if tls else 80), timeout=watchdog.left(), context=ssl.create_default_context()
        )
        self.watchdog, self.tls = watchdog, tls

    def connect(self) -> None:
        sock = self.watchdog.connect(self.host, self.port)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host) if self.tls else sock


class _WatchedSMTP(smtplib.SMTP):
    """SMTP whose TCP connection the watchdog watches before the greeting (and through STARTTLS)."""

    watchdog: Watchdog

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        return self.watchdog.connect(host, port)


class _WatchedSMTPS(smtplib.SMTP_SSL):
    """SMTP over TLS whose TCP connection the watchdog watches before the handshake."""

    watchdog: Watchdog

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        return self.context.wrap_socket(self.watchdog.connect(host, port), server_hostname=self._host)


def post_webhook(
    options: Mapping[str, Any],
    payload: Mapping[str, object],
    environ: Mapping[str, str],
    *,
    deadline: float | None = None,
) -> None:
    """POST `payload` as JSON to the channel's URL; any answer but 2xx (a redirect included) is a failure.

    The whole exchange (connect, send, the answer) takes at most the channel's `timeout` seconds, or `deadline`
    when that is sooner. With `secret_env`, the body is signed: `X-Newsmon-Signature: sha256=<hex HMAC-SHA256
    of the body>`.
    """
    url = options.get("url") or _from_env(options["url_env"], environ)
    problem = http_url_problem(url)
    if problem:
        raise DeliveryError(f"webhook URL {problem}")
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT}
    if options.get("secret_env"):
        secret = _from_env(options["secret_env"], environ).encode("utf-8")
        headers["X-Newsmon-Signature"] = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    watchdog = Watchdog(min(options.get("timeout", 10), deadline if deadline is not None else float("inf")))
    connection = _WatchedHTTPConnection(parts.hostname or "", parts.port, watchdog, tls=parts.scheme == "https")
    try:
        connection.request("POST", target, body=body, headers=headers)
        response = connection.getresponse()
        response.read(MAX_RESPONSE_BYTES)
    except (OSError, ValueError, http.client.HTTPException) as exc:
        if watchdog.fired or isinstance(exc, TimeoutError):
            raise DeliveryError(f"the webhook did not answer in {_seconds(watchdog.seconds)} s") from None
        if isinstance(exc, OSError) and not isinstance(exc, ssl.SSLError):
            raise DeliveryError(f"cannot reach the webhook: {_one_line(exc)}") from None
        raise DeliveryError(f"webhook failed: {type(exc).__name__}: {_one_line(exc)}") from None  # not HTTP
    finally:
        watchdog.cancel()
        connection.close()
    if not 200 <= response.status < 300:
        raise DeliveryError(f"the webhook answered HTTP {response.status} {_one_line(response.reason)}")


def send_apprise(
    options: Mapping[str, Any], title: str, body: str, environ: Mapping[str, str], *, deadline: float | None = None
) -> None:
    """Send one message through Apprise to the channel's URL (`url`, or the one in `url_env`).

    Apprise retries nothing (`retry=0`) and each of its connections and reads gets the channel's `timeout`; the
    whole delivery is given that long (or `deadline`, when sooner), after which it counts as failed (a message
    that still arrives late is sent again by the retry: delivery is at least once)."""
    import apprise

    url = options.get("url") or _from_env(options["url_env"], environ)
    problem = apprise_url_problem(url)
    if problem:
        raise DeliveryError(f"Apprise URL {problem}")
    seconds = min(options.get("timeout", 10), deadline if deadline is not None else float("inf"))
    notifier = apprise.Apprise()
    notifier.add(_with_timeouts(url, seconds))
    with apprise.LogCapture(level=apprise.logging.WARNING) as log:
        result: list[bool] = []
        worker = threading.Thread(target=lambda: result.append(notifier.notify(title=title, body=body)), daemon=True)
        worker.start()
        worker.join(seconds + 1)  # Apprise's own timeouts come first; this bounds the rest (slow drips, DNS)
        said = [line.split(" - ", 2)[-1] for line in log.getvalue().splitlines() if line.strip()]
    if worker.is_alive():
        raise DeliveryError(f"the service did not answer in {_seconds(seconds)} s")
    if not result or not result[0]:
        why = _one_line(Exception(said[-1])) if said else "no reason given"
        raise DeliveryError(f"the service refused or could not be reached: {why}")


def _with_timeouts(url: str, seconds: float) -> str:
    """`url` with Apprise's connect and read timeouts (`cto`, `rto`) and no retries, unless it sets them. The
    query is split off at the first `?` as Apprise does: a `#` before it names a channel (`slack://T/B/X/#deals`),
    not a fragment."""
    base, _, query = url.partition("?")
    given = {pair.partition("=")[0] for pair in query.split("&") if pair}
    defaults = (("cto", seconds), ("rto", seconds), ("retry", 0))
    extra = [f"{name}={value}" for name, value in defaults if name not in given]
    return base + "?" + "&".join(filter(None, [query, *extra]))


@dataclass(frozen=True)
class SmtpSettings:
    """Where email alerts are sent from, read from the environment (never from the alerts file)."""

    host: str
    port: int
    security: str  # off | starttls | ssl
    user: str | None
    password: str | None
    sender: str
    timeout: float = 20.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> SmtpSettings:
        """`NEWSMON_SMTP_HOST` (localhost), `_PORT` (25, 587 with starttls, 465 with ssl), `_SECURITY`
        (off, starttls, ssl; starttls when a user is set), `_USER`, `_PASSWORD`, `_FROM`.

        Raises:
            DeliveryError: a setting is malformed, or a password would cross the network in clear.
        """
        host = environ.get("NEWSMON_SMTP_HOST", "localhost").strip() or "localhost"
        user = environ.get("NEWSMON_SMTP_USER") or None
        security = (environ.get("NEWSMON_SMTP_SECURITY") or ("starttls" if user else "off")).strip().lower()
        if security not in ("off", "starttls", "ssl"):
            raise DeliveryError(f"NEWSMON_SMTP_SECURITY must be off, starttls or ssl, not {security!r}")
        default_port = {"off": 25, "starttls": 587, "ssl": 465}[security]
        try:
            port = int(environ.get("NEWSMON_SMTP_PORT") or default_port)
            if not 0 < port < 65536:
                raise ValueError
        except ValueError:
            raise DeliveryError(f"NEWSMON_SMTP_PORT is not a port number: {environ['NEWSMON_SMTP_PORT']!r}") from None
        if user and security == "off" and host not in ("localhost", "127.0.0.1", "::1"):
            raise DeliveryError(f"refusing to send the SMTP password to {host} in clear: set NEWSMON_SMTP_SECURITY")
        sender = environ.get("NEWSMON_SMTP_FROM") or f"newsmon@{socket.getfqdn() or 'localhost'}"
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in sender + host):
            raise DeliveryError("NEWSMON_SMTP_FROM and NEWSMON_SMTP_HOST must be one line without control characters")
        return cls(host, port, security, user, environ.get("NEWSMON_SMTP_PASSWORD"), sender)


def send_email(settings: SmtpSettings, message: EmailMessage, *, deadline: float | None = None) -> None:
    """Send one message through the SMTP server of `settings`, in at most `settings.timeout` seconds in all (or
    `deadline`, when sooner)."""
    context = ssl.create_default_context()
    watchdog = Watchdog(min(settings.timeout, deadline if deadline is not None else float("inf")))
    try:
        client: smtplib.SMTP
        if settings.security == "ssl":
            client = _WatchedSMTPS(timeout=watchdog.left(), context=context)
        else:
            client = _WatchedSMTP(timeout=watchdog.left())
        client.watchdog = watchdog
        code, greeting = client.connect(settings.host, settings.port)
        if code != 220:  # what smtplib checks when it connects in its constructor
            client.close()
            raise smtplib.SMTPConnectError(code, greeting)
        with client:
            if settings.security == "starttls":
                client.starttls(context=context)  # the watchdog watches the connection under the TLS
            if settings.user:
                client.login(settings.user, settings.password or "")
            client.send_message(message)
    except (smtplib.SMTPException, OSError, ValueError) as exc:
        raise DeliveryError(_email_failure(settings, exc, watchdog)) from None
    finally:
        watchdog.cancel()


def _email_failure(settings: SmtpSettings, exc: Exception, watchdog: Watchdog) -> str:
    where = f"SMTP {settings.host}:{settings.port}"
    if watchdog.fired or isinstance(exc, TimeoutError):
        return f"{where} did not finish in {_seconds(watchdog.seconds)} s"
    if isinstance(exc, smtplib.SMTPException):
        return f"{where} refused the email: {_one_line(exc)}"
    if isinstance(exc, OSError):
        return f"cannot reach {where}: {_one_line(exc)}"
    return f"cannot send the email: {_one_line(exc)}"  # a host name IDNA cannot encode, a header email refuses


def write_atom(path: Path, document: bytes) -> None:
    """Replace the Atom file at `path` at once (readers never see half a feed)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with replacing(path, "wb", permissions=0o644) as stream:
            stream.write(document)
    except (OSError, ValueError) as exc:
        raise DeliveryError(f"cannot write {path}: {getattr(exc, 'strerror', None) or exc}") from None


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on `<path>.lock` (so two alert runs never write one feed file at once).

    Raises:
        DeliveryError: the lock file cannot be opened.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(f"{path}.lock", "a")  # noqa: SIM115 - held open for the lock's lifetime
    except (OSError, ValueError) as exc:
        raise DeliveryError(f"cannot lock {path}: {getattr(exc, 'strerror', None) or exc}") from None
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _from_env(name: str, environ: Mapping[str, str]) -> str:
    value = environ.get(name, "").strip()
    if not value:
        raise DeliveryError(f"${name} is not set")
    return value


def _seconds(value: float) -> str:
    """`value` to a tenth, without trailing zeros: 5.99 -> "6", 0.5 -> "0.5"."""
    return f"{value:.1f}".removesuffix(".0")


def _one_line(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return " ".join(text.split())[:300]

"""Sending alerts: a webhook POST, an email over SMTP, an Atom file written in place. Each failure is a
DeliveryError with a one-line reason; nothing here retries (the next alert run does)."""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import http.client
import json
import smtplib
import socket
import ssl
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from crawler.alerts.rules import http_url_problem
from crawler.output import replacing

USER_AGENT = "newsmon-alerts/0.1"
MAX_RESPONSE_BYTES = 64 * 1024


class DeliveryError(Exception):
    """An alert could not be delivered; the message is one line for people."""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A webhook that redirects is misconfigured: report it instead of re-sending the POST as a GET."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def post_webhook(options: Mapping[str, Any], payload: Mapping[str, object], environ: Mapping[str, str]) -> None:
    """POST `payload` as JSON to the channel's URL; any answer but 2xx is a failure.

    With `secret_env`, the body is signed: `X-Newsmon-Signature: sha256=<hex HMAC-SHA256 of the body>`.
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
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with _opener.open(request, timeout=options.get("timeout", 10)) as response:
            response.read(MAX_RESPONSE_BYTES)
    except urllib.error.HTTPError as exc:
        raise DeliveryError(f"the webhook answered HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        raise DeliveryError(f"cannot reach the webhook: {exc.reason}") from None
    except TimeoutError:
        raise DeliveryError(f"the webhook did not answer in {options.get('timeout', 10):g} s") from None
    except (OSError, ValueError, http.client.HTTPException) as exc:  # e.g. a server that does not speak HTTP
        raise DeliveryError(f"webhook failed: {type(exc).__name__}: {_one_line(exc)}") from None


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


def send_email(settings: SmtpSettings, message: EmailMessage) -> None:
    """Send one message through the SMTP server of `settings`."""
    context = ssl.create_default_context()
    try:
        if settings.security == "ssl":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                settings.host, settings.port, timeout=settings.timeout, context=context
            )
        else:
            client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        with client:
            if settings.security == "starttls":
                client.starttls(context=context)
            if settings.user:
                client.login(settings.user, settings.password or "")
            client.send_message(message)
    except smtplib.SMTPException as exc:
        raise DeliveryError(f"SMTP {settings.host}:{settings.port} refused the email: {_one_line(exc)}") from None
    except (OSError, ssl.SSLError) as exc:
        raise DeliveryError(f"cannot reach SMTP {settings.host}:{settings.port}: {_one_line(exc)}") from None
    except ValueError as exc:  # a host name IDNA cannot encode, a header email refuses
        raise DeliveryError(f"cannot send the email: {_one_line(exc)}") from None


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


def _one_line(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return " ".join(text.split())[:300]

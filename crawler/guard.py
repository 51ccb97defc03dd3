"""Keep crawls on the public web (reliability guide, B10/B11): no request, redirect or meta refresh may reach a
loopback, private, link-local, CGNAT, unique-local or otherwise non-public address, and only http(s) is fetched.

Two checks, because neither is enough alone: `TargetGuardMiddleware` refuses other schemes and IP-literal
hosts before anything is sent (redirects and meta refreshes come back through it as new requests), and
`GuardedResolver` refuses a host *name* whose address is not public, at resolution time, so a public-looking
name pointing at 127.0.0.1 is refused too.

`NEWSMON_ALLOWED_HOSTS` (a setting, or the environment variable, comma-separated) lists `host` or `host:port`
targets allowed anyway: tests allow their own server on 127.0.0.1 this way, and a site on an intranet can be
allowed by name.
"""

from __future__ import annotations

import ipaddress
import logging
import os
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import urlsplit

from scrapy.exceptions import IgnoreRequest
from scrapy.resolver import CachingThreadedResolver
from twisted.internet.error import DNSLookupError

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler
    from twisted.internet.base import ReactorBase
    from twisted.internet.defer import Deferred

logger = logging.getLogger(__name__)
ALLOWED_HOSTS_ENV = "NEWSMON_ALLOWED_HOSTS"
_DEFAULT_PORTS = {"http": 80, "https": 443}


def is_public(address: str) -> bool:
    """True for a globally routable unicast address ("93.184.216.34"), False for loopback, private,
    link-local, CGNAT, unique-local, multicast, reserved and IPv4-mapped non-public ones."""
    ip = ipaddress.ip_address(address.strip("[]").split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def ip_literal(host: str) -> bool:
    """Is `host` an IP address rather than a name?"""
    try:
        ipaddress.ip_address(host.strip("[]").split("%")[0])
    except ValueError:
        return False
    return True


class RefusedAddress(DNSLookupError):
    """A host name that resolves to a non-public address: refused, not a lookup that may work next time."""


class AllowList:
    """`host` and `host:port` targets that may be private anyway (case-insensitive)."""

    def __init__(self, entries: Iterable[str]) -> None:
        self.hosts: set[str] = set()
        self.targets: set[tuple[str, int]] = set()
        for entry in entries:
            entry = entry.strip().lower()
            if not entry:
                continue
            host, _, port = entry.rpartition(":") if entry.count(":") == 1 or entry.startswith("[") else ("", "", "")
            if host and port.isdigit():
                self.targets.add((host.strip("[]"), int(port)))
            else:
                self.hosts.add(entry.strip("[]"))

    @classmethod
    def from_settings(cls, value: str | Sequence[str] | None) -> Self:
        """From a setting (a list, or a comma-separated string), else `$NEWSMON_ALLOWED_HOSTS`."""
        if value is None:
            value = os.environ.get(ALLOWED_HOSTS_ENV, "")
        if isinstance(value, str):
            value = value.split(",")
        return cls(value)

    def allows(self, host: str, port: int | None = None) -> bool:
        """Is this host (on this port) allowed whatever its address?"""
        host = host.lower().strip("[]")
        return host in self.hosts or (port is not None and (host, port) in self.targets)

    def allows_name(self, host: str) -> bool:
        """Is this host name allowed on some port (the resolver does not see ports)?"""
        host = host.lower().strip("[]")
        return host in self.hosts or any(allowed == host for allowed, _ in self.targets)


def refusal(url: str, allowed: AllowList) -> str | None:
    """Why a request to `url` must not be sent (one line), or None. Host names are left to the resolver."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "malformed URL"
    if parts.scheme not in _DEFAULT_PORTS:
        return f"the {parts.scheme or 'missing'} scheme is not crawled (http and https only)"
    host = parts.hostname or ""
    if not host:
        return "no host"
    port = port or _DEFAULT_PORTS[parts.scheme]
    if allowed.allows(host, port):
        return None
    if allowed.allows_name(host):  # allowed on another port only: the resolver would let this one through
        return f"{host} is allowed on other ports only (NEWSMON_ALLOWED_HOSTS)"
    if ip_literal(host) and not is_public(host):
        return f"{host} is not a public address"
    return None


class TargetGuardMiddleware:
    """Downloader middleware: refuse non-http(s) URLs and non-public IP literals, redirects included."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.allowed = AllowList.from_settings(crawler.settings.get("NEWSMON_ALLOWED_HOSTS"))

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        reason = refusal(request.url, self.allowed)
        if reason is None and request.meta.get("proxy"):  # the proxy would resolve the name, unchecked
            reason = "requests through a proxy are not crawled (the address check needs the name resolved here)"
        if reason is None:
            return
        self.crawler.stats.inc_value("newsmon/guard/refused")
        logger.warning("Refused %s: %s", request.url[:300], reason)
        raise IgnoreRequest(f"refused: {reason}")


class GuardedResolver(CachingThreadedResolver):
    """Scrapy's caching resolver, refusing names that resolve to a non-public address (not allow-listed)."""

    allowed = AllowList(())

    @classmethod
    def from_crawler(cls, crawler: Crawler, reactor: ReactorBase) -> Self:
        resolver = super().from_crawler(crawler, reactor)
        resolver.allowed = AllowList.from_settings(crawler.settings.get("NEWSMON_ALLOWED_HOSTS"))
        return resolver

    def getHostByName(self, name: str, timeout: Sequence[int] = ()) -> Deferred[str]:  # noqa: N802 - Twisted's name
        resolved = super().getHostByName(name, timeout)
        if self.allowed.allows_name(name):
            return resolved
        return resolved.addCallback(self._public_only, name)

    @staticmethod
    def _public_only(address: Any, name: str) -> Any:
        if isinstance(address, str) and ip_literal(address) and not is_public(address):
            logger.warning("Refused %s: it resolves to %s, not a public address", name, address)
            raise RefusedAddress(f"{name} resolves to {address}, not a public address (refused)")
        return address

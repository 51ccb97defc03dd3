"""Pure URL helpers: the canonical form under which an article is stored."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from courlan import extract_domain
from w3lib.url import canonicalize_url

_TRACKING_PARAM = re.compile(r"^(utm_[a-z]+|fbclid|gclid|mc_cid|mc_eid|wt_mc|ncid|ocid|cmpid|guccounter)$", re.I)
MAX_URL_LENGTH = 2083


def canonical_url(url: str) -> str:
    """The store's key for a URL: w3lib-canonicalised, without fragment and tracking parameters.

    The scheme and host are lower-cased; the path is kept as the site writes it. A URL that does not parse is its
    own key, stripped.
    """
    if malformed(url.strip()):
        return url.strip()
    parts = urlsplit(url.strip())
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING_PARAM.match(k)]
    cleaned = urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", urlencode(query), ""))
    return canonicalize_url(cleaned, keep_fragments=False)


def malformed(url: str) -> str | None:
    """Why `url` cannot even be parsed ("Invalid IPv6 URL", "Port out of range 0-65535"), or None. Every URL helper
    here answers for such a URL (False, or the URL itself) instead of raising."""
    try:
        urlsplit(url).port  # noqa: B018 - reading the port is what checks it
    except ValueError as exc:
        return str(exc)
    return None


def is_http_url(url: str) -> bool:
    """True for an absolute http(s) URL of a sane length that parses."""
    if not url or len(url) > MAX_URL_LENGTH or malformed(url):
        return False
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def same_site(url: str, domains: tuple[str, ...] | list[str]) -> bool:
    """True when the URL's host is one of `domains` or a subdomain of one."""
    if malformed(url):
        return False
    host = (urlsplit(url).hostname or "").lower()
    return any(host == d or host.endswith("." + d) for d in domains)


def outlet(url: str) -> str:
    """The outlet a URL belongs to: its registrable domain (`uk.reuters.com` -> `reuters.com`), else its host.

    Two captures of one outlet's article under different URLs or subdomains share it, so they count once.
    """
    if malformed(url):
        return url
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    try:
        domain = extract_domain(url)
    except (ValueError, TypeError):
        domain = None
    return domain or host

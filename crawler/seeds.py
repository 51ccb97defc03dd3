"""Sources as data: load and validate `seeds/<name>.toml`, one crawl source per file."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit

from apscheduler.triggers.cron import CronTrigger
from cssselect import HTMLTranslator, SelectorError
from lxml import etree

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SEEDS_DIR = PROJECT_ROOT / "seeds"
SEEDS_DIR_ENV = "NEWSMON_SEEDS_DIR"

_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")


def is_source_name(name: str) -> bool:
    """A valid source name (a seed file's stem): lower case letters, digits and _, like 'venturebeat'."""
    return bool(_NAME_RE.match(name))


class SeedError(ValueError):
    """A seed file is malformed; the message is one line naming the file and the key."""


@dataclass(frozen=True)
class Source:
    """One crawl source, as declared by a seed file."""

    name: str
    title: str
    allowed_domains: tuple[str, ...]
    robots_txt: tuple[str, ...]
    feeds: tuple[str, ...]
    sitemaps: tuple[str, ...]
    article_url_pattern: re.Pattern[str]
    exclude_url_patterns: tuple[re.Pattern[str], ...]
    sitemap_follow: re.Pattern[str] | None
    language: str
    schedule: str
    path: Path
    # Per-site extraction fixes: field (title, author, published, text) -> XPath, tried before trafilatura.
    selectors: tuple[tuple[str, str], ...] = ()
    # What the listed pages are: "articles" (cleaned and read by the detector) or "sec_form_d" (EDGAR filings)
    format: str = "articles"
    # The feed-only pass's five-field cron in UTC, or None for none
    poll: str | None = None
    # The seed file's version: the first 12 hex digits of its SHA-256 (recorded with each run)
    version: str = ""

    @property
    def entry_points(self) -> tuple[str, ...]:
        """Every URL a crawl of this source starts from, in request order."""
        return self.robots_txt + self.feeds + self.sitemaps


# key -> (required, kind)
_KEYS: dict[str, tuple[bool, str]] = {
    "title": (True, "str"),
    "allowed_domains": (True, "domains"),
    "robots_txt": (False, "urls"),
    "feeds": (False, "urls"),
    "sitemaps": (False, "urls"),
    "article_url_pattern": (True, "regex"),
    "exclude_url_patterns": (False, "regexes"),
    "sitemap_follow": (False, "regex"),
    "language": (True, "language"),
    "schedule": (False, "cron"),
    "extract": (False, "selectors"),
    "format": (False, "format"),
    "poll": (False, "poll"),
}
FORMATS = ("articles", "sec_form_d")
SELECTOR_FIELDS = ("title", "author", "published", "text")
DEFAULT_SCHEDULE = "0 2 * * *"
# a source with feeds or sitemaps of its own is polled this often unless its seed says `poll = "off"`
DEFAULT_POLL = "*/20 * * * *"


def seeds_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """The seeds folder: `override`, else `$NEWSMON_SEEDS_DIR`, else the shipped seeds (`seeds/` in the project)."""
    chosen = override or os.environ.get(SEEDS_DIR_ENV)
    return Path(chosen) if chosen else shipped_seeds()


def shipped_seeds() -> Path:
    """The folder of the seeds shipped with newsmon: `seeds/` in a checkout or an installed package; from a zipped
    egg (as Scrapyd runs it) a copy written once per content in the user's cache folder, used only while it holds
    exactly those files."""
    if DEFAULT_SEEDS_DIR.is_dir():
        return DEFAULT_SEEDS_DIR
    files = resources.files("seeds")
    if isinstance(files, Path):
        return files
    seeds = sorted((entry for entry in files.iterdir() if entry.name.endswith(".toml")), key=lambda e: e.name)
    texts = {entry.name: entry.read_bytes() for entry in seeds}
    digest = _digest(texts)
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "newsmon"
    target = cache / f"seeds-{digest}"
    if target.is_dir() and _digest({path.name: path.read_bytes() for path in target.glob("*.toml")}) == digest:
        return target
    cache.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="seeds-", dir=cache))
    for name, text in texts.items():
        (scratch / name).write_bytes(text)
    try:
        scratch.rename(target)  # whole, or not at all: another process may have written it meanwhile
    except OSError:
        return scratch  # a copy of our own (the other one is checked next time)
    return target


def _digest(texts: dict[str, bytes]) -> str:
    return hashlib.sha256(b"".join(name.encode() + text for name, text in sorted(texts.items()))).hexdigest()[:12]


@dataclass(frozen=True)
class SeedFolder:
    """The seeds folder, each file loaded on its own: the valid sources, and the broken files' errors."""

    sources: dict[str, Source]
    broken: dict[str, str]  # source name (the file stem) -> the one-line error naming its file and key


def read_seeds(directory: str | os.PathLike[str] | None = None) -> SeedFolder:
    """Load every `*.toml` in the seeds folder on its own: a broken file (half written, invalid) breaks only its
    own source, which is listed in `broken` with its error.

    Raises:
        SeedError: the folder itself cannot be read.
    """
    folder = seeds_dir(directory)
    if not folder.is_dir():
        raise SeedError(f"{folder}: seeds folder not found")
    sources: dict[str, Source] = {}
    broken: dict[str, str] = {}
    for path in sorted(folder.glob("*.toml")):
        try:
            source = load_seed(path)
        except SeedError as exc:
            broken[path.stem] = str(exc)
            continue
        sources[source.name] = source
    return SeedFolder(sources, broken)


def load_seeds(directory: str | os.PathLike[str] | None = None) -> dict[str, Source]:
    """Load every `*.toml` in the seeds folder, keyed by source name (the file stem).

    Raises:
        SeedError: on the first invalid file, with a one-line message naming the file and key.
    """
    folder = seeds_dir(directory)
    if not folder.is_dir():
        raise SeedError(f"{folder}: seeds folder not found")
    sources: dict[str, Source] = {}
    for path in sorted(folder.glob("*.toml")):
        source = load_seed(path)
        sources[source.name] = source
    return sources


def load_seed(path: Path) -> Source:
    """Parse and validate one seed file."""
    name = path.stem
    if not _NAME_RE.match(name):
        raise SeedError(f"{path}: file name must be a source name like 'venturebeat' ([a-z][a-z0-9_]+)")
    try:
        text = path.read_text(encoding="utf-8")
        raw = tomllib.loads(text)
    except (OSError, UnicodeDecodeError) as exc:
        raise SeedError(f"{path}: cannot read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SeedError(f"{path}: not valid TOML: {exc}") from None
    for key in raw:
        if key not in _KEYS:
            raise SeedError(f"{path}: unknown key {key!r}")
    values = {key: _check(path, key, kind, raw[key]) for key, (_, kind) in _KEYS.items() if key in raw}
    for key, (required, _) in _KEYS.items():
        if required and key not in values:
            raise SeedError(f"{path}: missing key {key!r}")
    if not (values.get("robots_txt") or values.get("feeds") or values.get("sitemaps")):
        raise SeedError(f"{path}: key 'robots_txt', 'feeds' or 'sitemaps' must name at least one URL")
    domains = values["allowed_domains"]
    for key in ("robots_txt", "feeds", "sitemaps"):
        for url in values.get(key, ()):
            host = urlsplit(url).hostname or ""
            if not any(host == d or host.endswith("." + d) for d in domains):
                raise SeedError(f"{path}: key {key!r}: {url} is outside allowed_domains")
    return Source(
        name=name,
        title=values["title"],
        allowed_domains=domains,
        robots_txt=values.get("robots_txt", ()),
        feeds=values.get("feeds", ()),
        sitemaps=values.get("sitemaps", ()),
        article_url_pattern=values["article_url_pattern"],
        exclude_url_patterns=values.get("exclude_url_patterns", ()),
        sitemap_follow=values.get("sitemap_follow"),
        language=values["language"],
        schedule=values.get("schedule", DEFAULT_SCHEDULE),
        path=path,
        selectors=values.get("extract", ()),
        format=values.get("format", "articles"),
        poll=_poll(values.get("poll"), bool(values.get("feeds") or values.get("sitemaps"))),
        version=hashlib.sha256(text.encode("utf-8")).hexdigest()[:12],
    )


def _poll(value: object, listings: bool) -> str | None:
    """The poll schedule: the seed's, the default for a source with listings of its own, or None ("off")."""
    if value == "off":
        return None
    if value is None:
        return DEFAULT_POLL if listings else None
    return str(value)


def _check(path: Path, key: str, kind: str, value: object) -> object:
    """Validate one value by its kind; return it in its typed form."""

    def bad(why: str) -> SeedError:
        return SeedError(f"{path}: key {key!r}: {why}")

    if kind == "str":
        if not isinstance(value, str) or not value.strip():
            raise bad("must be a non-empty string")
        return value.strip()
    if kind == "language":
        if not isinstance(value, str) or not re.fullmatch(r"[a-z]{2}", value):
            raise bad("must be a two-letter ISO 639-1 code such as 'en'")
        return value
    if kind in ("urls", "domains", "regexes"):
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(v, str) and v for v in items):
            raise bad("must be a string or a list of non-empty strings")
        if kind == "urls":
            return tuple(_check_url(bad, v) for v in items)
        if kind == "domains":
            for domain in items:
                if not re.fullmatch(r"(?:[a-z0-9-]+\.)+[a-z0-9-]+", domain):
                    raise bad(f"{domain!r} is not a bare domain name such as 'venturebeat.com'")
            return tuple(items)
        return tuple(_compile(bad, v) for v in items)
    if kind == "regex":
        if not isinstance(value, str):
            raise bad("must be a regular expression string")
        return _compile(bad, value)
    if kind == "poll" and value == "off":
        return value
    if kind in ("cron", "poll"):
        if not isinstance(value, str) or len(value.split()) != 5:
            example = "'*/20 * * * *' or 'off'" if kind == "poll" else "'0 2 * * *'"
            raise bad(f"must be a five-field cron expression in UTC, such as {example}")
        try:
            CronTrigger.from_crontab(value, timezone="UTC")
        except ValueError as exc:
            raise bad(f"invalid cron expression: {exc}") from None
        return value
    if kind == "format":
        if value not in FORMATS:
            raise bad(f"must be one of {', '.join(FORMATS)}")
        return value
    if kind == "selectors":
        if not isinstance(value, dict):
            raise bad('must be a table such as { published = "css:span.date" }')
        selectors = []
        for name, selector in value.items():
            if name not in SELECTOR_FIELDS:
                raise SeedError(f"{path}: key 'extract.{name}': unknown field (use {', '.join(SELECTOR_FIELDS)})")
            try:
                selectors.append((name, selector_xpath(selector)))
            except ValueError as exc:
                raise SeedError(f"{path}: key 'extract.{name}': {exc}") from None
        return tuple(selectors)
    raise AssertionError(kind)


def selector_xpath(selector: object) -> str:
    """The XPath of a seed selector, written "css:SELECTOR" or "xpath:EXPRESSION".

    Raises:
        ValueError: the selector is malformed (one line).
    """
    if not isinstance(selector, str) or ":" not in selector:
        raise ValueError('must be a string "css:SELECTOR" or "xpath:EXPRESSION"')
    kind, _, expression = selector.partition(":")
    expression = expression.strip()
    if kind == "css":
        try:
            xpath = HTMLTranslator().css_to_xpath(expression)
        except SelectorError as exc:
            raise ValueError(f"invalid CSS selector: {exc}") from None
    elif kind == "xpath":
        xpath = expression
    else:
        raise ValueError('must start with "css:" or "xpath:"')
    try:
        etree.XPath(xpath)
    except etree.XPathSyntaxError as exc:
        raise ValueError(f"invalid XPath: {exc}") from None
    return xpath


def _check_url(bad, url: str) -> str:  # noqa: ANN001 - a local error factory
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise bad(f"{url!r} is not an http(s) URL")
    if parts.username or parts.password:
        raise bad(f"{url!r} must not carry credentials")
    return url


def _compile(bad, pattern: str) -> re.Pattern[str]:  # noqa: ANN001 - a local error factory
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise bad(f"invalid regular expression: {exc}") from None

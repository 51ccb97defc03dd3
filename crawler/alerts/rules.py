"""Alert rules as data: load and validate the alerts TOML file, and decide whether a stored round matches a rule.

Pure: no Scrapy, no store. The file has `[channels.NAME]` tables (webhook, email, atom) and `[rules.NAME]`
tables; `alerts.example.toml` in the project root is the annotated reference.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from crawler.formatting import parse_amount
from pipelines.funding import ROUND_TYPES
from pipelines.names import name_key, same_company
from storage import RoundRecord

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent
ALERTS_ENV = "NEWSMON_ALERTS"
DEFAULT_ALERTS_FILE = PROJECT_ROOT / "alerts.toml"
OFF = ("", "off", "none")

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
_STATUSES = ("announced", "rumored")
_CHANNEL_KEYS: dict[str, frozenset[str]] = {
    "webhook": frozenset({"type", "url", "url_env", "secret_env", "timeout", "payload"}),
    "email": frozenset({"type", "to", "subject_prefix"}),
    "atom": frozenset({"type", "path", "title", "max_entries"}),
    "apprise": frozenset({"type", "url", "url_env", "timeout"}),
}
_RULE_KEYS = frozenset(
    {"investors", "lead", "companies", "keywords", "min_amount_usd", "round_types", "statuses", "max_age_days"}
    | {"channels", "enabled"}
)


class AlertConfigError(ValueError):
    """The alerts file is malformed; the message is one line naming the file and the key."""


@dataclass(frozen=True)
class Channel:
    """Where a rule's alerts go. `options` holds the checked keys of its type (see alerts.example.toml)."""

    name: str
    type: str  # webhook | email | atom
    options: dict[str, Any]


@dataclass(frozen=True)
class Rule:
    """Which rounds alert, and to which channels. Every criterion given must hold; in a list, any item will do."""

    name: str
    channels: tuple[str, ...]
    investors: tuple[str, ...] = ()
    lead: bool = False  # with `investors`: only when one of them led the round
    companies: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    min_amount_usd: float | None = None
    round_types: frozenset[str] = frozenset()
    statuses: frozenset[str] = frozenset({"announced"})
    max_age_days: int | None = None  # announced no longer ago than this (keeps a backfill from alerting)
    _keyword_res: tuple[re.Pattern[str], ...] = field(default=(), repr=False, compare=False)

    @property
    def needs_text(self) -> bool:
        """True when matching reads the articles' texts (the rule has keywords)."""
        return bool(self.keywords)

    def matches(
        self, record: RoundRecord, text: str = "", today: dt.date | None = None, *, by_age: bool = True
    ) -> bool:
        """Does the stored round `record` (reported in articles whose titles and texts are `text`) match?
        `by_age=False` leaves out `max_age_days` (a retry of an alert that matched when it was due)."""
        if record.status not in self.statuses:
            return False
        if self.investors:
            names = record.lead_investors if self.lead else record.investors
            if not any(same_company(wanted, name) for wanted in self.investors for name in names):
                return False
        if self.companies and not any(same_company(wanted, record.company) for wanted in self.companies):
            return False
        if self.min_amount_usd is not None and (record.amount_usd is None or record.amount_usd < self.min_amount_usd):
            return False
        if self.round_types and record.round not in self.round_types:
            return False
        if by_age and self.max_age_days is not None and record.announced is not None:
            if record.announced < (today or dt.datetime.now(dt.UTC).date()) - dt.timedelta(days=self.max_age_days):
                return False
        return not self._keyword_res or any(pattern.search(text) for pattern in self._keyword_res)


@dataclass(frozen=True)
class AlertConfig:
    """The rules and channels of one alerts file."""

    path: Path
    channels: dict[str, Channel]
    rules: tuple[Rule, ...]


def alerts_path(override: str | os.PathLike[str] | None = None) -> Path | None:
    """The alerts file: `override`, else `$NEWSMON_ALERTS`, else `alerts.toml` in the project; None when set
    to `off` (or empty)."""
    chosen = os.fspath(override) if override is not None else os.environ.get(ALERTS_ENV)
    if chosen is None:
        return DEFAULT_ALERTS_FILE
    return None if chosen.strip().lower() in OFF else Path(chosen)


def load_alerts(path: Path) -> AlertConfig:
    """Read and check an alerts file.

    Raises:
        AlertConfigError: unreadable, not TOML, or a table or key that is unknown, missing or of the wrong kind.
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise AlertConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise AlertConfigError(f"{path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise AlertConfigError(f"{path}: not valid TOML: {exc}") from None
    unknown = set(data) - {"channels", "rules"}
    if unknown:
        raise AlertConfigError(f"{path}: unknown table {sorted(unknown)[0]!r} (use [channels.NAME] and [rules.NAME])")
    channels = {name: _channel(path, name, table) for name, table in _tables(path, data, "channels").items()}
    rules = tuple(_rule(path, name, table, channels) for name, table in _tables(path, data, "rules").items())
    return AlertConfig(path=path, channels=channels, rules=tuple(rule for rule in rules if rule is not None))


def fingerprint(record: RoundRecord) -> str:
    """What makes an update worth a new alert: the amount, the leads and the valuation (3 significant digits)."""

    def number(value: float | None) -> str:
        return "-" if value is None else f"{value:.3g}"

    leads = sorted({name_key(name) for name in record.lead_investors})
    basis = "|".join([number(record.amount), record.currency or "-", ",".join(leads), number(record.valuation)])
    return hashlib.sha256(basis.encode("utf-8")).hexdigest()


def _tables(path: Path, data: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    tables = data.get(kind, {})
    if not isinstance(tables, dict):
        raise AlertConfigError(f"{path}: {kind}: must be tables, [{kind}.NAME]")
    for name, table in tables.items():
        if not _NAME_RE.match(name):
            raise AlertConfigError(f"{path}: {kind}.{name}: a name is letters, digits, '_', '.' or '-' (100 at most)")
        if not isinstance(table, dict):
            raise AlertConfigError(f"{path}: {kind}.{name}: must be a table, [{kind}.{name}]")
    return tables


def _channel(path: Path, name: str, table: dict[str, Any]) -> Channel:
    where = f"{path}: channels.{name}"
    kind = table.get("type")
    if kind not in _CHANNEL_KEYS:
        raise AlertConfigError(f"{where}.type: must be one of {', '.join(_CHANNEL_KEYS)}, not {kind!r}")
    unknown = set(table) - _CHANNEL_KEYS[kind]
    if unknown:
        raise AlertConfigError(f"{where}.{sorted(unknown)[0]}: unknown key for a {kind} channel")
    options: dict[str, Any] = {}
    if kind == "webhook":
        if ("url" in table) == ("url_env" in table):
            raise AlertConfigError(f"{where}: give exactly one of url and url_env")
        if "url" in table:
            options["url"] = _http_url(f"{where}.url", table["url"])
        if "url_env" in table:
            options["url_env"] = _text(f"{where}.url_env", table["url_env"])
        if "secret_env" in table:
            options["secret_env"] = _text(f"{where}.secret_env", table["secret_env"])
        options["timeout"] = _number(f"{where}.timeout", table.get("timeout", 10), low=0.1, high=120)
        options["payload"] = _choice(f"{where}.payload", table.get("payload", "full"), ("full", "text"))
    elif kind == "apprise":
        missing = apprise_missing()
        if missing:
            raise AlertConfigError(f"{where}: {missing}")
        if ("url" in table) == ("url_env" in table):
            raise AlertConfigError(f"{where}: give exactly one of url and url_env")
        if "url" in table:
            url = _text(f"{where}.url", table["url"])
            problem = apprise_url_problem(url)
            if problem:
                raise AlertConfigError(f"{where}.url: {problem}")
            options["url"] = url
        if "url_env" in table:
            options["url_env"] = _text(f"{where}.url_env", table["url_env"])
        options["timeout"] = _number(f"{where}.timeout", table.get("timeout", 10), low=0.1, high=120)
    elif kind == "email":
        to = table.get("to")
        addresses = [to] if isinstance(to, str) else to
        if not isinstance(addresses, list) or not addresses or not all(_is_address(a) for a in addresses):
            raise AlertConfigError(f"{where}.to: must be one or more email addresses")
        options["to"] = tuple(addresses)
        prefix = _text(f"{where}.subject_prefix", table.get("subject_prefix", "[newsmon]"), empty=True)
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in prefix):
            raise AlertConfigError(f"{where}.subject_prefix: must be one line without control characters")
        options["subject_prefix"] = prefix
    else:
        text = _text(f"{where}.path", table.get("path"))
        if "\0" in text:
            raise AlertConfigError(f"{where}.path: must not contain a NUL character")
        file = Path(text)
        options["path"] = file if file.is_absolute() else path.resolve().parent / file
        options["title"] = _text(f"{where}.title", table.get("title", f"newsmon alerts: {name}"))
        options["max_entries"] = int(_number(f"{where}.max_entries", table.get("max_entries", 200), low=1, high=10_000))
    return Channel(name=name, type=kind, options=options)


def _rule(path: Path, name: str, table: dict[str, Any], channels: dict[str, Channel]) -> Rule | None:
    where = f"{path}: rules.{name}"
    unknown = set(table) - _RULE_KEYS
    if unknown:
        raise AlertConfigError(f"{where}.{sorted(unknown)[0]}: unknown key")
    targets = _texts(f"{where}.channels", table.get("channels"))
    if not targets:
        raise AlertConfigError(f"{where}.channels: name at least one channel")
    for target in targets:
        if target not in channels:
            raise AlertConfigError(f"{where}.channels: no channel {target!r} (define [channels.{target}])")
    lead = _bool(f"{where}.lead", table.get("lead", False))
    investors = _texts(f"{where}.investors", table.get("investors", []))
    if lead and not investors:
        raise AlertConfigError(f"{where}.lead: needs investors")
    keywords = _texts(f"{where}.keywords", table.get("keywords", []))
    round_types = frozenset(_texts(f"{where}.round_types", table.get("round_types", [])))
    for unknown_type in sorted(round_types - ROUND_TYPES):
        raise AlertConfigError(
            f"{where}.round_types: {unknown_type!r} is not a round type ({', '.join(sorted(ROUND_TYPES))})"
        )
    statuses = frozenset(_texts(f"{where}.statuses", table.get("statuses", ["announced"])))
    if not statuses or not statuses <= set(_STATUSES):
        raise AlertConfigError(f"{where}.statuses: use announced and/or rumored")
    minimum = table.get("min_amount_usd")
    max_age = table.get("max_age_days")
    if not _bool(f"{where}.enabled", table.get("enabled", True)):
        return None
    return Rule(
        name=name,
        channels=tuple(dict.fromkeys(targets)),
        investors=tuple(investors),
        lead=lead,
        companies=tuple(_texts(f"{where}.companies", table.get("companies", []))),
        keywords=tuple(keywords),
        min_amount_usd=None if minimum is None else _amount(f"{where}.min_amount_usd", minimum),
        round_types=round_types,
        statuses=statuses,
        max_age_days=None if max_age is None else int(_number(f"{where}.max_age_days", max_age, low=0, high=36_500)),
        _keyword_res=tuple(_keyword_pattern(keyword) for keyword in keywords),
    )


def _keyword_pattern(keyword: str) -> re.Pattern[str]:
    """A keyword or phrase as whole words, any case, any run of spaces between its words."""
    words = [re.escape(word) for word in keyword.split()]
    return re.compile(r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)", re.IGNORECASE)


def _text(where: str, value: Any, *, empty: bool = False) -> str:
    if not isinstance(value, str) or (not empty and not value.strip()):
        raise AlertConfigError(f"{where}: must be {'a' if empty else 'a non-empty'} string")
    return value.strip()


def _texts(where: str, value: Any) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, str) and item.strip() for item in value):
        raise AlertConfigError(f"{where}: must be a list of non-empty strings")
    return [item.strip() for item in value]


def _bool(where: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise AlertConfigError(f"{where}: must be true or false")
    return value


def _number(where: str, value: Any, *, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise AlertConfigError(f"{where}: must be a number from {low:g} to {high:g}")
    return float(value)


def _choice(where: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise AlertConfigError(f"{where}: must be one of {', '.join(choices)}")
    return str(value)


def _amount(where: str, value: Any) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return float(value)
    try:
        return parse_amount(value if isinstance(value, str) else "")
    except ValueError:
        raise AlertConfigError(f'{where}: must be an amount in USD: 20000000, "20M" or "1.5B"') from None


def _http_url(where: str, value: Any) -> str:
    url = _text(where, value)
    problem = http_url_problem(url)
    if problem:
        raise AlertConfigError(f"{where}: {problem}")
    return url


def apprise_missing() -> str | None:
    """Why Apprise cannot be used here (it is not installed), or None."""
    try:
        import apprise  # noqa: F401 - only checks the optional extra is there
    except ImportError:
        return 'an apprise channel needs the apprise package: pip install -e ".[alerts]"'
    return None


def apprise_url_problem(url: str) -> str | None:
    """Why `url` is not an Apprise URL of a service Apprise knows, or None. The URL itself never appears in the
    message (it holds tokens)."""
    missing = apprise_missing()
    if missing:
        return missing
    import apprise

    scheme = url.partition("://")[0].lower() if "://" in url else ""
    if apprise.Apprise.instantiate(url) is None:
        return f"not an Apprise URL of a known service (scheme {scheme or 'missing'}; see https://appriseit.com)"
    return None


def http_url_problem(url: str) -> str | None:
    """Why `url` cannot be a webhook (one line), or None for a well-formed http(s) URL."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError as exc:
        return f"not a valid URL ({exc})"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "must be an http(s) URL"
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        return "must not contain spaces or control characters"
    return None


def _is_address(value: Any) -> bool:
    return isinstance(value, str) and re.fullmatch(r"[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+", value.strip()) is not None

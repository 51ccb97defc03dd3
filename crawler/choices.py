"""Values people type for a fixed set (round types, currencies, statuses): written as they write them, and anything
else one line naming the nearest valid value (a usage error, exit 2)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any

import click


class Nearest(click.ParamType):
    """A value from a fixed set, written as people write it; anything else is one line naming the nearest."""

    def __init__(self, name: str, values: Iterable[str], aliases: Mapping[str, str] | None = None) -> None:
        self.name = name
        self.values = sorted(values)
        self.aliases = {self.key(k): v for k, v in (aliases or {}).items()}

    @staticmethod
    def key(text: str) -> str:
        return "_".join(text.casefold().replace("-", " ").split())

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        key = self.key(str(value))
        keyed = {self.key(v): v for v in self.values}
        found = keyed.get(key) or self.aliases.get(key)
        if found is None:
            close = difflib.get_close_matches(key, list(keyed), n=1)
            hint = f"did you mean {keyed[close[0]]}?" if close else f"one of {', '.join(self.values)}"
            self.fail(f"no {self.name} {value!r}: {hint}", param, ctx)
        return found

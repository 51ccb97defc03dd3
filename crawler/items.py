"""The item that travels through the pipelines: a fetched page, then its article and rounds."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from pipelines.extract import Article
from pipelines.form_d import FormD


@dataclass
class PageItem:
    """A fetched article page; `ExtractPipeline` fills `article`, `DetectPipeline` fills `rounds`."""

    source: str
    source_title: str
    url: str  # where the page came from, after redirects
    html: str = field(repr=False)
    listing_url: str = ""  # the URL as the feed or sitemap listed it (what the next crawl looks up)
    language: str | None = None
    listing_date: dt.date | None = None
    since: dt.date | None = None
    selectors: dict[str, str] = field(default_factory=dict)  # the source's per-site extraction fixes
    format: str = "articles"  # the seed's `format`: "articles", or "sec_form_d" (`body` is the filing's XML)
    body: bytes = field(default=b"", repr=False)
    filing: FormD | None = field(default=None, repr=False)  # the parsed filing (ExtractPipeline), for DetectPipeline
    article: Article | None = field(default=None, repr=False)
    rounds: list[dict[str, Any]] = field(default_factory=list)

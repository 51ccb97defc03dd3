"""One article path, pure: a page's HTML to its article and the funding rounds it announces, and a saved page
read from disk. `newsmon extract` and `newsmon ingest` go through `process_page`, `newsmon eval` through
`read_saved_page`; the crawl runs the same two steps as its Extract and Detect stages (crawler/pipelines.py,
which keep a stage's stats and drop a page outside the window before detection), and a test holds the two
paths to the same article and rounds."""

from __future__ import annotations

import datetime as dt
import re
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from w3lib.encoding import html_to_unicode

from pipelines.extract import Article, extract_article
from pipelines.funding import detect_rounds

MAX_PAGE_BYTES = 16 * 1024 * 1024  # a crawl's DOWNLOAD_MAXSIZE: no web page is larger
# Any of these near the start makes a file a web page (a saved page may lack <html>, never all of them).
_HTML_MARKUP = re.compile(r"<(?:!doctype\s+html|html|head|body|meta|title|article|p|div)[\s>/]", re.IGNORECASE)


class UnreadablePage(Exception):
    """A saved page that cannot be read as a web page; the message is one line and names the file."""


def process_page(
    html: str,
    url: str,
    *,
    fallback_date: dt.date | None = None,
    default_language: str | None = None,
    selectors: Mapping[str, str] | None = None,
    site_name: str | None = None,
) -> tuple[Article, list[dict[str, Any]]]:
    """The article of a page (`extract_article`, whose arguments these are) and the rounds it announces.

    Raises:
        ExtractionSkipped: the page has no article (empty, binary, oversized, no main text).
    """
    article = extract_article(
        html,
        url,
        fallback_date=fallback_date,
        default_language=default_language,
        selectors=selectors,
        site_name=site_name,
    )
    return article, detect_rounds(article.text, title=article.title, published=article.published)


def read_saved_page(path: Path) -> str:
    """A saved page as text, its charset sniffed as browsers do.

    Raises:
        UnreadablePage: it is no regular file, too large, empty, binary, or has no HTML markup.
    """
    try:
        if not path.is_file():
            raise UnreadablePage(f"{path}: {not_a_file(path)}")
        if path.stat().st_size > MAX_PAGE_BYTES:
            raise UnreadablePage(f"{path}: larger than {MAX_PAGE_BYTES // 2**20} MiB, not a web page")
        body = path.read_bytes()
    except OSError as exc:
        raise UnreadablePage(f"{path}: cannot read ({exc.strerror})") from None
    if not body.strip():
        raise UnreadablePage(f"{path}: the file is empty")
    if b"\x00" in body[:8192] and not body.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise UnreadablePage(f"{path}: a binary file, not an HTML page")
    text = html_to_unicode(None, body)[1]
    if not _HTML_MARKUP.search(text[:65_536]):
        raise UnreadablePage(f"{path}: not an HTML page (no HTML markup in it)")
    return text


def not_a_file(path: Path) -> str:
    """What a path that is not a regular file is, for a one-line error."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return "no such file"
    except OSError as exc:
        return f"cannot read ({exc.strerror})"
    kinds = (
        (stat.S_ISDIR, "a directory, not a saved page"),
        (stat.S_ISFIFO, "a named pipe, not a saved page"),
        (stat.S_ISCHR, "a character device, not a saved page"),
        (stat.S_ISBLK, "a block device, not a saved page"),
        (stat.S_ISSOCK, "a socket, not a saved page"),
    )
    return next((what for test, what in kinds if test(mode)), "not a regular file")

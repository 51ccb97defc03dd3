"""Writes to the store: idempotent upserts of an article and its funding rounds, in one transaction."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pipelines.urls import outlet
from storage.engine import StoreError, checkpoint, store_errors, writer_engine
from storage.models import (
    Article,
    ArticleUrl,
    RobotsTxt,
    Source,
)
from storage.rounds import link_rounds, lock_companies, unlink_article
from storage.runs import RunBook

if TYPE_CHECKING:
    from pipelines.extract import Article as ExtractedArticle

SaveOutcome = Literal["new", "updated", "unchanged"]


@dataclass(frozen=True)
class SaveResult:
    """What `Store.save_article` did: the article's outcome and the rounds it created or joined."""

    outcome: SaveOutcome
    rounds_new: int = 0
    rounds_merged: int = 0
    refused_canonical: str | None = None  # the page's canonical link, not trusted: stored under its own URL


class Store:
    """The read-write store at one SQLAlchemy URL (schema migrated on open)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = writer_engine(url)

    @functools.cached_property
    def runs(self) -> RunBook:
        """The store's crawl runs, run locks and listing validators (storage/runs.py)."""
        return RunBook(self.engine)

    def known_urls(self, urls: Iterable[str]) -> set[str]:
        """The subset of canonical `urls` that lead to a stored article (its own URL or a listed one)."""
        return set(self.last_fetched(urls))

    def last_fetched(self, urls: Iterable[str]) -> dict[str, dt.datetime]:
        """For each of the canonical `urls` that leads to a stored article: when that article was last fetched
        (stores written before that was recorded: when it last changed)."""
        wanted = list(dict.fromkeys(urls))
        found: dict[str, dt.datetime] = {}
        when = func.coalesce(Article.fetched, Article.updated_at)
        with store_errors(), Session(self.engine) as session:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                query = select(ArticleUrl.url, when).join(Article).where(ArticleUrl.url.in_(chunk))
                found.update((url, moment) for url, moment in session.execute(query))
        return found

    def save_article(
        self,
        article: ExtractedArticle,
        rounds: Sequence[dict[str, Any]],
        *,
        source: str | None,
        listed_url: str,
        source_title: str | None = None,
        fetched_url: str | None = None,
    ) -> SaveResult:
        """Upsert one article (keyed on its canonical URL) and its rounds, all or nothing.

        `listed_url` is the canonical form of the URL the feed or sitemap gave (before redirects); it is
        kept as one of the article's URLs, so the next crawl does not fetch a moved article again.
        `fetched_url` is the canonical form of the URL the page came from (after redirects), when known.
        A page whose canonical link (`article.url`) names another URL does not speak for that URL: it
        replaces a stored article there only when their texts agree, or when it has spoken for it before and
        the canonical page was never fetched itself. Otherwise it is stored under `fetched_url` (which leads
        to it from then on) and the result names the refused link. A canonical URL that no listing gave
        leads to the article (the next crawl skips it) only once its page has been fetched from it.
        An article whose text hash is unchanged keeps its rounds. A changed article has its round links
        rebuilt; rounds no article reports any more are removed.

        Raises:
            StoreError: the write failed; nothing of it was kept.
        """
        for attempt in (1, 2):
            try:
                with store_errors(), Session(self.engine) as session, session.begin():
                    return self._save(session, article, rounds, source, listed_url, source_title, fetched_url)
            except IntegrityError as exc:
                # Another writer inserted the same article, source or investor first (PostgreSQL, where
                # writers do not queue as on SQLite): the second attempt finds those rows and updates them.
                if attempt == 2:
                    raise StoreError(f"cannot write {article.url}: {exc.orig}") from None
        raise AssertionError("unreachable")

    def _save(
        self,
        session: Session,
        article: ExtractedArticle,
        rounds: Sequence[dict[str, Any]],
        source: str | None,
        listed_url: str,
        source_title: str | None,
        fetched_url: str | None,
    ) -> SaveResult:
        now = dt.datetime.now(dt.UTC)
        fetched_url = fetched_url or article.url
        row = _article_at(session, article.url)
        refused: str | None = None
        if row is not None and fetched_url != article.url and row.content_hash != article.content_hash:
            speaks_for_it = _leads_to(session, fetched_url) == row.id
            if not speaks_for_it or _fetched_itself(session, row):
                refused = article.url  # stored under its own URL, which leads to it from now on
                article = dataclasses.replace(article, url=fetched_url)
                row = _article_at(session, fetched_url)
        if row is not None and row.content_hash == article.content_hash:
            row.fetched = now
            _add_urls(session, row, listed_url, fetched=fetched_url)
            return SaveResult("unchanged", refused_canonical=refused)
        outcome: SaveOutcome = "updated" if row is not None else "new"
        source_row = _source(session, source, source_title) if source else None
        if row is None:
            row = Article(url=article.url, first_seen=now)
        row.source = source_row
        row.outlet = outlet(article.url)
        for name in ("title", "author", "credit", "description", "site_name", "language", "text", "content_hash"):
            setattr(row, name, getattr(article, name))
        row.tags = list(article.tags)
        row.published = article.published
        row.published_at = article.published_at
        row.date_source = article.date_source
        row.updated_at = row.fetched = now
        session.add(row)
        session.flush()
        if refused:  # the fetched URL leads to the page stored under it, not to the article it claimed to be
            session.execute(delete(ArticleUrl).where(ArticleUrl.url == fetched_url, ArticleUrl.article_id != row.id))
        _add_urls(session, row, listed_url, fetched=fetched_url)
        lock_companies(session, row.id if outcome == "updated" else None, rounds)
        if outcome == "updated":
            unlink_article(session, row.id, now)
        created, merged = link_rounds(session, row, rounds, article.published or now.date(), now)
        return SaveResult(outcome, created, merged, refused)

    def checkpoint(self) -> None:
        """Fold SQLite's write-ahead log back into the database file (`storage.engine.checkpoint`)."""
        checkpoint(self.engine)

    def robots_txt(self, url: str, max_age: dt.timedelta) -> tuple[int, bytes] | None:
        """A robots.txt fetched at most `max_age` ago: (status, body), or None."""
        with store_errors(), Session(self.engine) as session:
            row = session.scalars(select(RobotsTxt).where(RobotsTxt.url == url)).one_or_none()
            if row is None or row.fetched < dt.datetime.now(dt.UTC) - max_age:
                return None
            return row.status, row.body

    def save_robots_txt(self, url: str, status: int, body: bytes) -> None:
        """Keep a robots.txt as just fetched (its status and body) for later polls."""
        with store_errors(), Session(self.engine) as session, session.begin():
            row = session.scalars(select(RobotsTxt).where(RobotsTxt.url == url)).one_or_none()
            if row is None:
                row = RobotsTxt(url=url)
                session.add(row)
            row.status, row.body, row.fetched = status, body, dt.datetime.now(dt.UTC)


def _article_at(session: Session, url: str) -> Article | None:
    return session.scalars(select(Article).where(Article.url == url)).one_or_none()


def _leads_to(session: Session, url: str) -> int | None:
    """The id of the article that `url` leads to, if any."""
    return session.scalars(select(ArticleUrl.article_id).where(ArticleUrl.url == url)).first()


def _fetched_itself(session: Session, article: Article) -> bool:
    """True when the article's page was once fetched from its own (canonical) URL: it speaks for itself then."""
    query = select(ArticleUrl.id).where(ArticleUrl.url == article.url, ArticleUrl.article_id == article.id)
    return session.scalars(query.where(ArticleUrl.fetched.is_(True))).first() is not None


def _add_urls(session: Session, article: Article, *listed: str, fetched: str) -> None:
    """Record the URLs that lead to `article`: the one its page was `fetched` from (marked so) and the ones a
    listing gave. Each URL leads to one article, the first it led to (a fetched URL is marked on it, if so)."""
    for url in dict.fromkeys((fetched, *listed)):
        if not url:
            continue
        row = session.scalars(select(ArticleUrl).where(ArticleUrl.url == url)).first()
        if row is None:
            session.add(ArticleUrl(url=url, article=article, fetched=url == fetched or None))
        elif url == fetched and row.article_id == article.id and not row.fetched:
            row.fetched = True


def _source(session: Session, name: str, title: str | None) -> Source:
    row = session.scalars(select(Source).where(Source.name == name)).one_or_none()
    if row is None:
        row = Source(name=name, title=title)
        session.add(row)
    elif title and row.title != title:
        row.title = title
    return row

"""Stored rounds: link each article's reports to the round they belong to; rows are recomputed from their reports.

The rules are pure (`storage/merging.py`); this module applies them in one session: find the round a report
belongs to, fold the round's reports into its fields, fold rounds together that have come to match, and link
rumours to the announcements that confirm them.
"""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Sequence
from typing import Any

from sqlalchemy import or_, select, text, update
from sqlalchemy.orm import Session, selectinload

from pipelines.names import name_key, name_tokens, same_company
from storage.merging import (
    MERGE_WINDOW_DAYS,
    RUMOUR_LATE_DAYS,
    RUMOUR_WINDOW_DAYS,
    combine,
    confirms,
    make_report,
    same_round,
    view,
)
from storage.models import Article, FundingRound, Investor, RoundArticle, RoundInvestor


def link_rounds(
    session: Session, article: Article, rounds: Sequence[dict[str, Any]], announced: dt.date, now: dt.datetime
) -> tuple[int, int]:
    """Record the article's reports of `rounds`, each on the stored round it belongs to or on a new one.

    Returns:
        (rounds created, reports merged into a stored round).
    """
    created = merged = 0
    for found in rounds:
        report = make_report(found, announced, article.url)
        _lock_company(session, found["company"])
        target = _matching_round(session, [report])
        if target is None:
            target = FundingRound(created_at=now)
            _apply(target, combine([report]), now)
            session.add(target)
            created += 1
        else:
            merged += 1
        link = next((link for link in target.articles if link.article_id == article.id), None)
        if link is None:
            link = RoundArticle(funding_round=target, article_id=article.id, reports=[])
            session.add(link)
        link.reports = [*(link.reports or []), report]  # a new list: JSON columns track assignment only
        session.flush()
        _settle(session, target, now)
    return created, merged


def unlink_article(session: Session, article_id: int, now: dt.datetime) -> None:
    """Drop an article's reports: rounds no other article reports are removed, the others recomputed."""
    links = session.scalars(select(RoundArticle).where(RoundArticle.article_id == article_id)).all()
    affected = {link.round_id for link in links}
    for link in links:
        session.delete(link)
    session.flush()
    for round_id in sorted(affected):
        row = session.get(FundingRound, round_id)
        if row is None:
            continue
        session.refresh(row)
        if row.articles:
            _settle(session, row, now)
            continue
        company, day = row.company, row.announced
        session.execute(update(FundingRound).where(FundingRound.confirmed_by == row.id).values(confirmed_by=None))
        session.delete(row)
        session.flush()
        _relink_rumours(session, company, day)


def reports_of(row: FundingRound) -> list[dict[str, Any]]:
    """Every report linked to a round."""
    return [report for link in row.articles for report in (link.reports or [])]


def _settle(session: Session, row: FundingRound, now: dt.datetime) -> None:
    """Recompute a round from its reports, fold in stored rounds that now match it, relink rumours."""
    _refresh(session, row, now)
    while (other := _matching_round(session, reports_of(row), exclude=row.id)) is not None:
        _absorb(session, row, other)
        _refresh(session, row, now)
    _relink_rumours(session, row.company, row.announced)


def _apply(row: FundingRound, fields: dict[str, Any], now: dt.datetime) -> None:
    """Set a round's own columns from combined fields."""
    for name in ("company", "amount", "currency", "amount_usd", "round", "valuation", "status", "confidence"):
        setattr(row, name, fields[name])
    row.company_key = name_key(fields["company"])
    row.announced = fields["announced"]
    row.evidence = fields["evidence"]
    row.updated_at = now


def _refresh(session: Session, row: FundingRound, now: dt.datetime) -> None:
    """Set a round's fields and investors from its reports."""
    fields = combine(reports_of(row))
    _apply(row, fields, now)
    leads = {name_key(name) for name in fields["lead_investors"]}
    wanted = [
        (name_key(name), name, "lead" if name_key(name) in leads else "participant") for name in fields["investors"]
    ]
    current = [(link.investor.key, link.role) for link in sorted(row.investors, key=lambda link: link.position)]
    if current == [(key, role) for key, _, role in wanted]:
        return
    row.investors.clear()
    session.flush()  # the old links go before new ones with the same keys come
    for position, (key, name, role) in enumerate(wanted):
        investor = session.scalars(select(Investor).where(Investor.key == key)).one_or_none()
        if investor is None:
            investor = Investor(name=name.strip(), key=key)
            session.add(investor)
        row.investors.append(RoundInvestor(investor=investor, role=role, position=position))
    session.flush()


def _absorb(session: Session, keep: FundingRound, other: FundingRound) -> None:
    """Move every report of `other` onto `keep` and remove `other`."""
    for link in list(other.articles):
        mine = next((m for m in keep.articles if m.article_id == link.article_id), None)
        if mine is not None:
            mine.reports = [*(mine.reports or []), *(link.reports or [])]
            session.delete(link)
        else:
            link.funding_round = keep
    session.flush()
    session.execute(update(FundingRound).where(FundingRound.confirmed_by == other.id).values(confirmed_by=None))
    session.delete(other)
    session.flush()
    session.refresh(keep)


def _matching_round(
    session: Session, reports: Sequence[dict[str, Any]], exclude: int | None = None
) -> FundingRound | None:
    """The first stored round (by id) that `reports` are a report of, or None."""
    wanted = view(reports)
    for candidate in _rounds_of(session, wanted.company, wanted.announced, MERGE_WINDOW_DAYS):
        if candidate.id != exclude and reports_of(candidate) and same_round(view(reports_of(candidate)), wanted):
            return candidate
    return None


def _relink_rumours(session: Session, company: str, around: dt.date) -> None:
    """Point each rumour of the company near `around` at the announced round that confirms it (the closest in
    time), or at nothing; a function of the stored rounds, so the order they arrived in does not matter."""
    reach = RUMOUR_WINDOW_DAYS + RUMOUR_LATE_DAYS
    rows = [r for r in _rounds_of(session, company, around, 2 * reach) if reports_of(r)]
    views = {r.id: view(reports_of(r)) for r in rows}
    for rumour in rows:
        if rumour.status != "rumored" or abs((rumour.announced - around).days) > reach:
            continue
        confirmations = [r for r in rows if confirms(views[r.id], views[rumour.id])]
        best = min(confirmations, key=lambda r: (abs((r.announced - rumour.announced).days), r.id), default=None)
        rumour.confirmed_by = best.id if best is not None else None
    session.flush()


def _rounds_of(session: Session, company: str, around: dt.date, days: int) -> list[FundingRound]:
    """Stored rounds announced within `days` of `around` whose company is `company` (same key, or a name that
    extends it: "Mistral" ~ "Mistral AI")."""
    key = name_key(company)
    tokens = name_tokens(company)
    # Names that extend one another share their first token; a stored key may keep a leading "the".
    prefixes = {tokens[0], "the" + tokens[0]} if tokens else {key}
    window = dt.timedelta(days=days)
    rows = session.scalars(
        select(FundingRound)
        .where(FundingRound.announced.between(around - window, around + window))
        .where(or_(*(FundingRound.company_key.like(_escape_like(p) + "%", escape="\\") for p in prefixes)))
        .options(
            selectinload(FundingRound.articles),
            selectinload(FundingRound.investors).selectinload(RoundInvestor.investor),
        )
        .order_by(FundingRound.id)
    ).all()
    return [
        row
        for row in rows
        if key in {name_key(r["company"]) for r in reports_of(row)} or same_company(row.company, company)
    ]


def _lock_company(session: Session, company: str) -> None:
    """On PostgreSQL, serialise merges of rounds of one company (by the first token of its name, which every
    name that may merge with it shares) across concurrent writers; SQLite's BEGIN IMMEDIATE serialises all."""
    if session.get_bind().dialect.name == "postgresql":
        tokens = name_tokens(company)
        key = tokens[0] if tokens else name_key(company)
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": zlib.crc32(key.encode())})


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")

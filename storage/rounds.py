"""Stored rounds: each article's reports linked to the round they belong to; rows recomputed from their reports.

The rules are pure (`storage/merging.py`). A round is a connected group of reports that match pairwise, so
adding a report joins every stored round it matches, and withdrawing one may split a round in two; either
way the rows are the same for any order the reports arrived in. Rumours point at the announced round that
confirms them, recomputed whenever a round of that company changes.
"""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import or_, select, text
from sqlalchemy.orm import Session, selectinload

from pipelines.names import name_key
from storage.merging import (
    FILING_WINDOW_DAYS,
    MERGE_WINDOW_DAYS,
    RUMOUR_LATE_DAYS,
    RUMOUR_WINDOW_DAYS,
    combine,
    confirms,
    documents,
    group_reports,
    make_report,
    name_stem,
    report_view,
    same_round,
    view,
)
from storage.models import Article, FundingRound, Investor, RoundArticle, RoundInvestor


def lock_companies(session: Session, article_id: int | None, rounds: Sequence[dict[str, Any]]) -> None:
    """On PostgreSQL, before an article's rounds change, take the per-company locks of every round it reports
    now or reported before, in one sorted pass (no deadlock between writers). SQLite's BEGIN IMMEDIATE already
    serialises all writers."""
    if session.get_bind().dialect.name != "postgresql":
        return
    stems = {name_stem(found["company"]) for found in rounds}
    if article_id is not None:
        stems.update(
            session.scalars(
                select(FundingRound.name_stem)
                .join(RoundArticle, RoundArticle.round_id == FundingRound.id)
                .where(RoundArticle.article_id == article_id)
            )
        )
    for stem in sorted(stems):
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": zlib.crc32(stem.encode())})


def link_rounds(
    session: Session, article: Article, rounds: Sequence[dict[str, Any]], announced: dt.date, now: dt.datetime
) -> tuple[int, int]:
    """Record the article's reports of `rounds`, each joining every stored round it matches, or a new one.

    Returns:
        (rounds created, reports that joined a stored round).
    """
    created = merged = 0
    for found in rounds:
        report = make_report(found, announced, article.url)
        mine = report_view(report)
        connected = [
            row
            for row in _candidates(session, report["company"], mine.announced, mine.announced)
            if any(same_round(mine, report_view(other)) for other in reports_of(row))
        ]
        if connected:
            row = connected[0]
            for other in connected[1:]:
                _absorb(session, row, other, now)
            merged += 1
        else:
            row = FundingRound(created_at=now)
            _apply(row, combine([report]), now)
            session.add(row)
            created += 1
        link = next((link for link in row.articles if link.article_id == article.id), None)
        if link is None:
            row.articles.append(RoundArticle(article_id=article.id, reports=[report]))
        else:
            link.reports = [*(link.reports or []), report]  # a new list: JSON columns track assignment only
        session.flush()
        _refresh(session, row, now)
        _relink_around(session, row)
    return created, merged


def unlink_article(session: Session, article_id: int, now: dt.datetime) -> None:
    """Withdraw an article's reports: rounds no other article reports are removed; the others are recomputed
    (and split when the withdrawn report was what joined them)."""
    links = session.scalars(select(RoundArticle).where(RoundArticle.article_id == article_id)).all()
    rows = sorted({link.funding_round for link in links}, key=lambda row: row.id)
    for link in links:
        link.funding_round.articles.remove(link)  # delete-orphan: the link row goes
    session.flush()
    for row in rows:
        if not row.articles:
            _delete(session, row)
            continue
        for changed in _regroup(session, row, now):
            _relink_around(session, changed)


def reports_of(row: FundingRound) -> list[dict[str, Any]]:
    """Every report linked to a round."""
    return [report for link in row.articles for report in (link.reports or [])]


def _apply(row: FundingRound, fields: dict[str, Any], now: dt.datetime) -> None:
    """Set a round's own columns from combined fields."""
    for name in ("company", "amount", "currency", "amount_usd", "round", "valuation", "status", "confidence"):
        setattr(row, name, fields[name])
    row.company_key = name_key(fields["company"])
    row.name_stem = name_stem(fields["company"])
    row.announced = fields["announced"]
    row.last_reported = fields["last_reported"]
    row.evidence = fields["evidence"]
    row.filing = fields["filing"]
    row.updated_at = now


def _refresh(session: Session, row: FundingRound, now: dt.datetime) -> None:
    """Set a round's fields and investors from its reports."""
    fields = combine(reports_of(row))
    _apply(row, fields, now)
    leads = {name_key(name) for name in fields["lead_investors"]}
    wanted = [(name_key(n), n, "lead" if name_key(n) in leads else "participant") for n in fields["investors"]]
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


def _absorb(session: Session, keep: FundingRound, other: FundingRound, now: dt.datetime) -> None:
    """Move every report of `other` onto `keep` and remove `other`."""
    for link in list(other.articles):
        mine = next((m for m in keep.articles if m.article_id == link.article_id), None)
        if mine is not None:
            mine.reports = [*(mine.reports or []), *(link.reports or [])]
            other.articles.remove(link)
        else:
            link.funding_round = keep
    session.flush()
    _delete(session, other)


def _regroup(session: Session, row: FundingRound, now: dt.datetime) -> list[FundingRound]:
    """Recompute a round whose reports changed; split it when they no longer form one connected group.

    Returns:
        The round and any round split from it.
    """
    groups = group_reports(reports_of(row))
    out = [row]
    for group in groups[1:]:  # the earliest group stays in `row`
        moving = {id(report) for report in group}
        split = FundingRound(created_at=now)
        _apply(split, combine(group), now)
        session.add(split)
        for link in list(row.articles):
            gone = [r for r in link.reports or [] if id(r) in moving]
            if not gone:
                continue
            kept = [r for r in link.reports or [] if id(r) not in moving]
            if kept:
                link.reports = kept
                split.articles.append(RoundArticle(article_id=link.article_id, reports=gone))
            else:
                link.funding_round = split
        session.flush()
        _refresh(session, split, now)
        out.append(split)
    _refresh(session, row, now)
    return out


def _delete(session: Session, row: FundingRound) -> None:
    """Remove a round; rumours it confirmed and filings that documented it are relinked (to another round, or
    to none)."""
    orphans = list(session.scalars(select(FundingRound).where(FundingRound.confirmed_by == row.id)))
    for rumour in orphans:
        rumour.confirmed_by = None
    filings = list(session.scalars(select(FundingRound).where(FundingRound.filed_for == row.id)))
    for filing in filings:
        filing.filed_for = None
    session.delete(row)
    session.flush()
    for rumour in orphans:
        _relink(session, rumour)
    for filing in filings:
        _link_filing(session, filing)


def _relink_around(session: Session, row: FundingRound) -> None:
    """Relink the rumours a changed round may confirm or confirmed, or the round itself if it is a rumour; and
    the filings that may document it, or the round itself if it is a filing."""
    _relink_filings(session, row)
    if row.filing:  # a filing confirms no rumour: the press round it documents does
        return
    if row.status == "rumored":
        _relink(session, row)
        return
    late = dt.timedelta(days=RUMOUR_LATE_DAYS)
    rumours = session.scalars(
        select(FundingRound)
        .where(FundingRound.status == "rumored")
        .where(
            or_(
                FundingRound.confirmed_by == row.id,
                (FundingRound.name_stem == row.name_stem)
                & FundingRound.announced.between(
                    row.announced - dt.timedelta(days=RUMOUR_WINDOW_DAYS), row.last_reported + late
                ),
            )
        )
        .options(selectinload(FundingRound.articles))
    ).all()
    mine = view(reports_of(row))
    for rumour in rumours:
        if rumour.confirmed_by == row.id:  # the round changed: it may no longer be the best, or confirm at all
            _relink(session, rumour)
            continue
        if not confirms(mine, view(reports_of(rumour))):
            continue
        current = session.get(FundingRound, rumour.confirmed_by) if rumour.confirmed_by else None
        if current is None or _closeness(row, rumour) < _closeness(current, rumour):
            rumour.confirmed_by = row.id
    session.flush()


def _near(row: FundingRound, days: int) -> Any:
    """Rounds of names that may be `row`'s, announced within `days` of its first and last report."""
    span = dt.timedelta(days=days)
    return (FundingRound.name_stem == row.name_stem) & FundingRound.announced.between(
        row.announced - span, row.last_reported + span
    )


def _relink_filings(session: Session, row: FundingRound) -> None:
    """A filing's round: point it at the press round it documents. A press round: take the filings that
    document it better than their current round, and relink those that pointed at it."""
    if row.filing:
        _link_filing(session, row)
        return
    filings = session.scalars(
        select(FundingRound)
        .where(FundingRound.filing.is_(True))
        .where(or_(FundingRound.filed_for == row.id, _near(row, FILING_WINDOW_DAYS)))
        .options(selectinload(FundingRound.articles))
    ).all()
    mine = view(reports_of(row))
    for filing in filings:
        if filing.filed_for == row.id:
            _link_filing(session, filing)
        elif documents(view(reports_of(filing)), mine):
            current = session.get(FundingRound, filing.filed_for) if filing.filed_for else None
            if current is None or _closeness(row, filing) < _closeness(current, filing):
                filing.filed_for = row.id
    session.flush()


def _link_filing(session: Session, filing: FundingRound) -> None:
    """Point a filing's round at the announced press round it documents (the closest in time), or at none."""
    candidates = session.scalars(
        select(FundingRound)
        .where(FundingRound.filing.is_(False), FundingRound.status == "announced")
        .where(_near(filing, FILING_WINDOW_DAYS))
        .options(selectinload(FundingRound.articles))
        .order_by(FundingRound.id)
    ).all()
    wanted = view(reports_of(filing))
    matching = [row for row in candidates if reports_of(row) and documents(wanted, view(reports_of(row)))]
    best = min(matching, key=lambda row: _closeness(row, filing), default=None)
    filing.filed_for = best.id if best is not None else None
    session.flush()


def _closeness(confirmation: FundingRound, rumour: FundingRound) -> tuple[int, int]:
    """How well an announced round fits a rumour it confirms: the closest in time, then the first stored."""
    return abs((confirmation.announced - rumour.announced).days), confirmation.id


def _relink(session: Session, rumour: FundingRound) -> None:
    """Point a rumour at the announced round that confirms it (the closest in time), or at none."""
    candidates = session.scalars(
        select(FundingRound)
        .where(FundingRound.status == "announced", FundingRound.name_stem == rumour.name_stem)
        .where(FundingRound.filing.is_(False))
        .where(
            FundingRound.announced.between(
                rumour.announced - dt.timedelta(days=RUMOUR_LATE_DAYS),
                rumour.announced + dt.timedelta(days=RUMOUR_WINDOW_DAYS),
            )
        )
        .options(selectinload(FundingRound.articles))
        .order_by(FundingRound.id)
    ).all()
    wanted = view(reports_of(rumour))
    confirming = [row for row in candidates if reports_of(row) and confirms(view(reports_of(row)), wanted)]
    best = min(confirming, key=lambda row: _closeness(row, rumour), default=None)
    rumour.confirmed_by = best.id if best is not None else None
    session.flush()


def _candidates(session: Session, company: str, first: dt.date, last: dt.date) -> Iterable[FundingRound]:
    """Stored rounds of names that may merge with `company` whose reports come within the merge window of
    [first, last]."""
    window = dt.timedelta(days=MERGE_WINDOW_DAYS)
    return session.scalars(
        select(FundingRound)
        .where(FundingRound.name_stem == name_stem(company))
        .where(FundingRound.announced <= last + window, FundingRound.last_reported >= first - window)
        .options(selectinload(FundingRound.articles))
        .order_by(FundingRound.id)
    ).all()

"""The alert ledger: which rules watch since when, which rounds changed, and every delivery's state.

A delivery is claimed (inserted, or moved from `failed` to `sending`) before it is sent, under a unique
(rule, channel, round, version) key, so two processes running alerts at once never both send it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.engine import store_errors
from storage.models import AlertDelivery, AlertRule, FundingRound
from storage.repository import Store

# A `sending` row older than this belongs to a run that died mid-send: it is retried.
STALE_SENDING = dt.timedelta(minutes=15)
# A round written by a transaction still open when a check started is seen by the next check.
CHECK_OVERLAP = dt.timedelta(minutes=10)


@dataclass(frozen=True)
class Watch:
    """A rule as the ledger knows it: watching since `first_seen`; last checked at `checked`."""

    name: str
    first_seen: dt.datetime
    checked: dt.datetime | None


@dataclass(frozen=True)
class Delivery:
    """One recorded delivery."""

    id: int
    rule: str
    channel: str
    round_id: int
    version: int
    kind: str
    fingerprint: str
    summary: str
    status: str
    attempts: int
    error: str | None
    created: dt.datetime
    last_attempt: dt.datetime | None
    sent: dt.datetime | None

    def as_json(self) -> dict[str, object]:
        """The delivery as a JSON-ready dict (timestamps in ISO 8601)."""
        return {
            name: value.isoformat() if isinstance(value, dt.datetime) else value
            for name, value in self.__dict__.items()
        }


class AlertLedger:
    """Alert rules and deliveries of one store."""

    def __init__(self, store: Store) -> None:
        self.engine = store.engine

    def watch(self, names: Iterable[str], now: dt.datetime, *, register: bool = True) -> dict[str, Watch]:
        """Every named rule's watch; rules not seen before watch from `now` (recorded unless `register` is
        false). Two processes registering one rule at once keep the first one's time."""
        wanted = list(dict.fromkeys(names))
        try:
            return self._watch(wanted, now, register)
        except IntegrityError:  # another process registered one of them first
            return self._watch(wanted, now, register)

    def _watch(self, wanted: list[str], now: dt.datetime, register: bool) -> dict[str, Watch]:
        with store_errors(), Session(self.engine) as session, session.begin():
            known = {row.name: row for row in session.scalars(select(AlertRule).where(AlertRule.name.in_(wanted)))}
            watches = {name: Watch(name, row.first_seen, row.checked) for name, row in known.items()}
            for name in wanted:
                if name not in known:
                    watches[name] = Watch(name, now, None)
                    if register:
                        session.add(AlertRule(name=name, first_seen=now))
            return {name: watches[name] for name in wanted}

    def mark_checked(self, names: Iterable[str], started: dt.datetime) -> None:
        """Record that these rules saw every round changed before `started`."""
        with store_errors(), Session(self.engine) as session, session.begin():
            session.execute(update(AlertRule).where(AlertRule.name.in_(list(names))).values(checked=started))

    def changed_rounds(self, created_since: dt.datetime, changed_since: dt.datetime | None) -> dict[int, dt.datetime]:
        """When each round was created, for the rounds created at or after `created_since` and changed at or
        after `changed_since` (less the check overlap)."""
        query = select(FundingRound.id, FundingRound.created_at).where(FundingRound.created_at >= created_since)
        if changed_since is not None:
            query = query.where(FundingRound.updated_at >= changed_since - CHECK_OVERLAP)
        with store_errors(), Session(self.engine) as session:
            return {round_id: created for round_id, created in session.execute(query.order_by(FundingRound.id))}

    def open_deliveries(self, now: dt.datetime) -> list[Delivery]:
        """Deliveries to retry: failed ones, and `sending` ones a dead run left behind."""
        stale = now - STALE_SENDING
        query = select(AlertDelivery).where(
            or_(
                AlertDelivery.status == "failed",
                (AlertDelivery.status == "sending") & (AlertDelivery.last_attempt < stale),
            )
        )
        with store_errors(), Session(self.engine) as session:
            return [_delivery(row) for row in session.scalars(query.order_by(AlertDelivery.id))]

    def latest(self, round_ids: Iterable[int]) -> dict[tuple[str, str, int], Delivery]:
        """The newest version delivered (or being delivered) per (rule, channel, round)."""
        wanted = sorted(set(round_ids))
        found: dict[tuple[str, str, int], Delivery] = {}
        with store_errors(), Session(self.engine) as session:
            for start in range(0, len(wanted), 500):
                query = select(AlertDelivery).where(AlertDelivery.round_id.in_(wanted[start : start + 500]))
                for row in session.scalars(query.order_by(AlertDelivery.version)):
                    found[(row.rule, row.channel, row.round_id)] = _delivery(row)
        return found

    def created_times(self, round_ids: Iterable[int]) -> dict[int, dt.datetime]:
        """When each stored round was created. A delivery older than its round was for an earlier round that
        had the same id (SQLite reuses the highest id after a delete)."""
        wanted = sorted(set(round_ids))
        found: dict[int, dt.datetime] = {}
        with store_errors(), Session(self.engine) as session:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                query = select(FundingRound.id, FundingRound.created_at).where(FundingRound.id.in_(chunk))
                found.update((round_id, created) for round_id, created in session.execute(query))
        return found

    def ever_sent(self, rule: str, channel: str, round_id: int, since: dt.datetime) -> bool:
        """Has any version of this round (created at `since`) been sent for this rule to this channel?"""
        query = select(func.count(AlertDelivery.id)).where(
            AlertDelivery.rule == rule,
            AlertDelivery.channel == channel,
            AlertDelivery.round_id == round_id,
            AlertDelivery.status == "sent",
            AlertDelivery.created >= since,
        )
        with store_errors(), Session(self.engine) as session:
            return bool(session.scalar(query))

    def claim_new(
        self,
        *,
        rule: str,
        channel: str,
        round_id: int,
        version: int,
        kind: str,
        fingerprint: str,
        summary: str,
        now: dt.datetime,
    ) -> int | None:
        """Insert a delivery as `sending`; its id, or None when another run claimed it first."""
        row = AlertDelivery(
            rule=rule,
            channel=channel,
            round_id=round_id,
            version=version,
            kind=kind,
            fingerprint=fingerprint,
            summary=summary,
            status="sending",
            attempts=1,
            created=now,
            last_attempt=now,
        )
        try:
            with store_errors(), Session(self.engine) as session, session.begin():
                session.add(row)
                session.flush()
                claimed = row.id
            return claimed
        except IntegrityError:
            return None

    def claim_retry(self, delivery: Delivery, *, fingerprint: str, summary: str, now: dt.datetime) -> bool:
        """Move a delivery to `sending` for another attempt (with the round as it is now); False when another
        run took it first."""
        with store_errors(), Session(self.engine) as session, session.begin():
            result = session.execute(
                update(AlertDelivery)
                .where(
                    AlertDelivery.id == delivery.id,
                    AlertDelivery.status == delivery.status,
                    AlertDelivery.attempts == delivery.attempts,
                )
                .values(
                    status="sending",
                    attempts=delivery.attempts + 1,
                    last_attempt=now,
                    fingerprint=fingerprint,
                    summary=summary,
                )
            )
            return result.rowcount == 1

    def finish(self, delivery_id: int, attempts: int, now: dt.datetime, error: str | None = None) -> None:
        """Record how a claimed delivery ended: `sent`, or `failed` with `error`. Only the run that holds the
        claim (the attempt it made) can finish it."""
        values: dict[str, object] = {"status": "failed" if error else "sent", "error": error}
        if error is None:
            values["sent"] = now
        self._move(delivery_id, "sending", attempts, values)

    def drop(self, delivery: Delivery, reason: str) -> None:
        """Stop retrying a failed (or abandoned) delivery, with the reason, unless another run took it."""
        self._move(delivery.id, delivery.status, delivery.attempts, {"status": "dropped", "error": reason})

    def _move(self, delivery_id: int, status: str, attempts: int, values: dict[str, object]) -> None:
        with store_errors(), Session(self.engine) as session, session.begin():
            session.execute(
                update(AlertDelivery)
                .where(
                    AlertDelivery.id == delivery_id,
                    AlertDelivery.status == status,
                    AlertDelivery.attempts == attempts,
                )
                .values(**values)
            )

    def sent_to(self, channel: str, limit: int) -> list[Delivery]:
        """The newest deliveries sent to `channel` (what its Atom file lists)."""
        query = (
            select(AlertDelivery)
            .where(AlertDelivery.channel == channel, AlertDelivery.status == "sent")
            .order_by(AlertDelivery.sent.desc(), AlertDelivery.id.desc())
            .limit(limit)
        )
        with store_errors(), Session(self.engine) as session:
            return [_delivery(row) for row in session.scalars(query)]

    def history(
        self, *, rule: str | None = None, status: str | None = None, limit: int | None = None
    ) -> list[Delivery]:
        """Recorded deliveries, newest first."""
        query = select(AlertDelivery).order_by(AlertDelivery.id.desc())
        if rule:
            query = query.where(AlertDelivery.rule == rule)
        if status:
            query = query.where(AlertDelivery.status == status)
        if limit:
            query = query.limit(limit)
        with store_errors(), Session(self.engine) as session:
            return [_delivery(row) for row in session.scalars(query)]


def _delivery(row: AlertDelivery) -> Delivery:
    return Delivery(
        id=row.id,
        rule=row.rule,
        channel=row.channel,
        round_id=row.round_id,
        version=row.version,
        kind=row.kind,
        fingerprint=row.fingerprint,
        summary=row.summary,
        status=row.status,
        attempts=row.attempts,
        error=row.error,
        created=row.created,
        last_attempt=row.last_attempt,
        sent=row.sent,
    )

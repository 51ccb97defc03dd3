"""One alert run: find the rounds each rule has not delivered yet (new, updated, or failed before), claim each
delivery in the ledger, send it, and record how it went.

A rule watches from the moment it is first seen (`start_watching`, called when a crawl opens): the rounds
already stored then never alert it. A failure is recorded and retried by the next run, for up to `GIVE_UP`.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from crawler.alerts.channels import DeliveryError, SmtpSettings, post_webhook, send_email, write_atom
from crawler.alerts.messages import Alert, alert_title, atom_feed, email_message, webhook_payload
from crawler.alerts.rules import AlertConfig, Channel, Rule, fingerprint
from storage import RoundRecord, Store
from storage.alerts import AlertLedger, Delivery
from storage.queries import round_texts, rounds_by_id

GIVE_UP = dt.timedelta(days=7)


@dataclass(frozen=True)
class Outcome:
    """What happened to one delivery in this run: sent, failed (retried next run), dropped, or due (dry run)."""

    rule: str
    channel: str
    kind: str
    summary: str
    status: str
    error: str | None = None


@dataclass
class AlertRunReport:
    """Every delivery an alert run handled, and the rules it began watching."""

    outcomes: list[Outcome] = field(default_factory=list)
    started_watching: list[str] = field(default_factory=list)

    def count(self, status: str) -> int:
        """How many deliveries ended with `status`."""
        return sum(outcome.status == status for outcome in self.outcomes)

    def line(self) -> str:
        """The run in one line, for logs."""
        parts = [f"{self.count(status)} {status}" for status in ("sent", "failed", "dropped", "due")]
        return (
            "alerts: " + ", ".join(part for part in parts if not part.startswith("0 "))
            if self.outcomes
            else ("alerts: nothing new")
        )


@dataclass
class _Job:
    rule: Rule
    channel: Channel
    record: RoundRecord
    kind: str
    version: int
    retry: Delivery | None = None  # a failed delivery being tried again
    delivery_id: int | None = None

    def alert(self, at: dt.datetime) -> Alert:
        return Alert(rule=self.rule.name, kind=self.kind, record=self.record, at=at, version=self.version)


def start_watching(url: str, config: AlertConfig, now: dt.datetime | None = None) -> list[str]:
    """Register the rules of `config` not seen before; returns their names. Rounds stored before a rule is
    first seen never alert it."""
    now = now or dt.datetime.now(dt.UTC)
    watches = AlertLedger(Store(url)).watch([rule.name for rule in config.rules], now)
    return [name for name, watch in watches.items() if watch.first_seen == now]


def run_alerts(
    url: str,
    config: AlertConfig,
    *,
    now: dt.datetime | None = None,
    dry_run: bool = False,
    environ: Mapping[str, str] | None = None,
) -> AlertRunReport:
    """Deliver every alert due under `config`: new matching rounds, material updates of delivered ones, and
    retries of failed ones. With `dry_run`, list them without sending or recording anything.

    Raises:
        StoreError: the store cannot be read or written (nothing is lost: the next run sees the same rounds).
    """
    now = now or dt.datetime.now(dt.UTC)
    environ = os.environ if environ is None else environ
    report = AlertRunReport()
    if not config.rules:
        return report
    ledger = AlertLedger(Store(url))
    watches = ledger.watch([rule.name for rule in config.rules], now, register=not dry_run)
    report.started_watching = [name for name, watch in watches.items() if watch.first_seen == now]
    checked = [watch.checked for watch in watches.values()]
    changed_since = None if any(stamp is None for stamp in checked) else min(stamp for stamp in checked if stamp)
    created = ledger.changed_rounds(min(watch.first_seen for watch in watches.values()), changed_since)
    rules = {rule.name: rule for rule in config.rules}
    retries = [d for d in ledger.open_deliveries(now) if d.rule in rules and d.channel in rules[d.rule].channels]
    ids = set(created) | {delivery.round_id for delivery in retries}
    records = rounds_by_id(url, ids)
    texts = round_texts(url, records) if any(rule.needs_text for rule in config.rules) else {}
    latest = ledger.latest(records)
    for rule in config.rules:
        for channel_name in rule.channels:
            channel = config.channels[channel_name]
            jobs = _retry_jobs(ledger, rule, channel, retries, records, texts, now, report, dry_run)
            for round_id, record in records.items():
                first_stored = created.get(round_id)
                if first_stored is None or first_stored < watches[rule.name].first_seen:
                    continue
                if not rule.matches(record, texts.get(round_id, ""), now.date()):
                    continue
                job = _new_job(ledger, rule, channel, record, latest.get((rule.name, channel.name, round_id)))
                if job is not None:
                    jobs.append(job)
            if dry_run:
                report.outcomes.extend(_outcome(job, now, "due") for job in jobs)
            elif jobs:
                _deliver(ledger, url, channel, jobs, now, environ, report)
    if not dry_run:
        ledger.mark_checked(rules, now)
    return report


def _retry_jobs(
    ledger: AlertLedger,
    rule: Rule,
    channel: Channel,
    retries: Sequence[Delivery],
    records: Mapping[int, RoundRecord],
    texts: Mapping[int, str],
    now: dt.datetime,
    report: AlertRunReport,
    dry_run: bool,
) -> list[_Job]:
    jobs = []
    for delivery in retries:
        if delivery.rule != rule.name or delivery.channel != channel.name:
            continue
        record = records.get(delivery.round_id)
        reason = None
        if record is None:
            reason = "the round is no longer stored (merged into another, or its article withdrawn)"
        elif not rule.matches(record, texts.get(delivery.round_id, ""), now.date()):
            reason = "the round no longer matches the rule"
        elif now - delivery.created > GIVE_UP:
            reason = f"gave up after {delivery.attempts} attempts since {delivery.created:%Y-%m-%d}: {delivery.error}"
        if reason is None:
            assert record is not None
            jobs.append(_Job(rule, channel, record, delivery.kind, delivery.version, retry=delivery))
            continue
        if not dry_run:
            ledger.finish([delivery.id], now, error=reason, status="dropped")
        report.outcomes.append(Outcome(rule.name, channel.name, delivery.kind, delivery.summary, "dropped", reason))
    return jobs


def _new_job(
    ledger: AlertLedger, rule: Rule, channel: Channel, record: RoundRecord, last: Delivery | None
) -> _Job | None:
    """A new delivery for a matching round: its first, or an update of what was sent; None when nothing is due."""
    if last is None:
        return _Job(rule, channel, record, "new", 1)
    if last.status == "sent" and last.fingerprint != fingerprint(record):
        return _Job(rule, channel, record, "update", last.version + 1)
    if last.status == "dropped":  # never delivered (gave up, or stopped matching): try again now it changed
        kind = "update" if ledger.ever_sent(rule.name, channel.name, record.id or 0) else "new"
        return _Job(rule, channel, record, kind, last.version + 1)
    return None  # sending now, or failed and retried through the open deliveries


def _claim(ledger: AlertLedger, job: _Job, now: dt.datetime) -> bool:
    summary = alert_title(job.alert(now))
    if job.retry is not None:
        job.delivery_id = job.retry.id
        return ledger.claim_retry(job.retry, fingerprint=fingerprint(job.record), summary=summary, now=now)
    job.delivery_id = ledger.claim_new(
        rule=job.rule.name,
        channel=job.channel.name,
        round_id=job.record.id or 0,
        version=job.version,
        kind=job.kind,
        fingerprint=fingerprint(job.record),
        summary=summary,
        now=now,
    )
    return job.delivery_id is not None


def _deliver(
    ledger: AlertLedger,
    url: str,
    channel: Channel,
    jobs: list[_Job],
    now: dt.datetime,
    environ: Mapping[str, str],
    report: AlertRunReport,
) -> None:
    claimed = [job for job in jobs if _claim(ledger, job, now)]
    if not claimed:
        return
    if channel.type == "webhook":
        _deliver_one_by_one(ledger, channel, claimed, now, environ, report)
        return
    try:
        if channel.type == "email":
            _send_email(channel, claimed, now, environ)
        else:
            _write_feed(ledger, url, channel, claimed, now)
    except DeliveryError as exc:
        _settle(ledger, claimed, now, report, error=str(exc))
    else:
        _settle(ledger, claimed, now, report)


def _deliver_one_by_one(
    ledger: AlertLedger,
    channel: Channel,
    jobs: list[_Job],
    now: dt.datetime,
    environ: Mapping[str, str],
    report: AlertRunReport,
) -> None:
    """One POST per round; after a failure the channel's other alerts wait for the next run (one slow or dead
    receiver costs one timeout per run, not one per round)."""
    for index, job in enumerate(jobs):
        try:
            post_webhook(channel.options, webhook_payload(job.alert(now), channel.options["payload"]), environ)
        except DeliveryError as exc:
            _settle(ledger, [job], now, report, error=str(exc))
            rest = jobs[index + 1 :]
            _settle(ledger, rest, now, report, error=f"not tried: an earlier alert to this channel failed ({exc})")
            return
        _settle(ledger, [job], now, report)


def _send_email(channel: Channel, jobs: Sequence[_Job], now: dt.datetime, environ: Mapping[str, str]) -> None:
    settings = SmtpSettings.from_env(environ)
    alerts = [job.alert(now) for job in jobs]
    message = email_message(
        alerts, sender=settings.sender, to=channel.options["to"], prefix=channel.options["subject_prefix"]
    )
    send_email(settings, message)


def _write_feed(ledger: AlertLedger, url: str, channel: Channel, jobs: Sequence[_Job], now: dt.datetime) -> None:
    """Rewrite the channel's Atom file: these alerts and the newest ones sent to it before."""
    limit = channel.options["max_entries"]
    earlier = [d for d in ledger.sent_to(channel.name, limit) if d.id not in {job.delivery_id for job in jobs}]
    records = rounds_by_id(url, [delivery.round_id for delivery in earlier])
    alerts = [job.alert(now) for job in jobs]
    for delivery in earlier:
        record = records.get(delivery.round_id)
        if record is not None and delivery.sent is not None:
            alerts.append(Alert(delivery.rule, delivery.kind, record, delivery.sent, delivery.version))
    alerts = sorted(alerts, key=lambda alert: alert.at, reverse=True)[:limit]
    feed_id = f"urn:newsmon:alerts:{channel.name}"
    write_atom(channel.options["path"], atom_feed(alerts, title=channel.options["title"], feed_id=feed_id, now=now))


def _settle(
    ledger: AlertLedger,
    jobs: Sequence[_Job],
    now: dt.datetime,
    report: AlertRunReport,
    error: str | None = None,
) -> None:
    if not jobs:
        return
    ledger.finish([job.delivery_id for job in jobs if job.delivery_id is not None], now, error=error)
    report.outcomes.extend(_outcome(job, now, "failed" if error else "sent", error) for job in jobs)


def _outcome(job: _Job, now: dt.datetime, status: str, error: str | None = None) -> Outcome:
    return Outcome(job.rule.name, job.channel.name, job.kind, alert_title(job.alert(now)), status, error)

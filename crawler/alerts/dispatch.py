"""One alert run: find the rounds each rule has not delivered yet (new, updated, or failed before), claim each
delivery in the ledger just before sending it, send it, and record how it went.

A rule watches from the moment it is first seen (`start_watching`, called when a crawl opens): the rounds
already stored then never alert it. A failed delivery is retried by later runs until it has failed
`MAX_ATTEMPTS` times over at least `GIVE_UP`. A channel that fails is not tried again in the same run: its
other alerts wait for the next run, and the rules they belong to keep their last check time, so the next run
looks at the same rounds again.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from crawler.alerts.channels import (
    DeliveryError,
    SmtpSettings,
    file_lock,
    post_webhook,
    send_apprise,
    send_email,
    write_atom,
)
from crawler.alerts.messages import Alert, alert_title, atom_feed, email_message, plain_body, webhook_payload
from crawler.alerts.rules import AlertConfig, Channel, Rule, fingerprint
from storage import RoundRecord, Store, round_texts, rounds_by_id
from storage.alerts import AlertLedger, Delivery

MAX_ATTEMPTS = 10
OUT_OF_TIME = "not tried: the alert run reached its time limit"
GIVE_UP = dt.timedelta(days=7)


@dataclass(frozen=True)
class Outcome:
    """What happened to one delivery in this run: sent, failed (retried next run), waiting (its channel failed
    earlier in this run; tried next run), dropped (no longer retried), or due (a dry run)."""

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
        counts = [f"{self.count(s)} {s}" for s in ("sent", "failed", "waiting", "dropped", "due") if self.count(s)]
        return "alerts: " + (", ".join(counts) or "nothing new")


@dataclass
class _Job:
    rule: Rule
    channel: Channel
    record: RoundRecord
    kind: str
    version: int
    retry: Delivery | None = None  # a failed delivery being tried again
    delivery_id: int | None = None
    attempts: int = 0  # the attempt this run claimed

    def alert(self, at: dt.datetime) -> Alert:
        return Alert(rule=self.rule.name, kind=self.kind, record=self.record, at=at, version=self.version)

    def outcome(self, status: str, error: str | None = None) -> Outcome:
        summary = alert_title(self.alert(_now()))
        return Outcome(self.rule.name, self.channel.name, self.kind, summary, status, error)


def start_watching(url: str, config: AlertConfig, now: dt.datetime | None = None) -> list[str]:
    """Register the rules of `config` not seen before; returns their names. Rounds stored before a rule is
    first seen never alert it."""
    now = now or _now()
    watches = AlertLedger(Store(url)).watch([rule.name for rule in config.rules], now)
    return [name for name, watch in watches.items() if watch.first_seen == now]


def run_alerts(
    url: str,
    config: AlertConfig,
    *,
    now: dt.datetime | None = None,
    dry_run: bool = False,
    environ: Mapping[str, str] | None = None,
    time_limit: float | None = None,
) -> AlertRunReport:
    """Deliver every alert due under `config`: new matching rounds, material updates of delivered ones, and
    retries of failed ones. With `dry_run`, list them without sending or recording anything.

    With `time_limit` (seconds), no delivery starts after it and none runs past it (a receiver that answers
    slowly fails at the limit): what is left waits for the next run.

    Raises:
        StoreError: the store cannot be read or written (nothing is lost: the next run sees the same rounds).
    """
    now = now or _now()
    run = _Run(AlertLedger(Store(url)), url, now, dry_run, os.environ if environ is None else environ)
    if time_limit is not None:
        run.ends = time.monotonic() + time_limit
    if not config.rules:
        return run.report
    ledger = run.ledger
    watches = ledger.watch([rule.name for rule in config.rules], now, register=not dry_run)
    run.report.started_watching = [name for name, watch in watches.items() if watch.first_seen == now]
    checked = [watch.checked for watch in watches.values()]
    changed_since = None if None in checked else min(stamp for stamp in checked if stamp is not None)
    candidates = ledger.changed_rounds(min(watch.first_seen for watch in watches.values()), changed_since)
    rules = {rule.name: rule for rule in config.rules}
    retries = [d for d in ledger.open_deliveries(now) if d.rule in rules and d.channel in rules[d.rule].channels]
    born = {**ledger.created_times(d.round_id for d in retries if d.round_id not in candidates), **candidates}
    records = rounds_by_id(url, born)
    texts = round_texts(url, records) if any(rule.needs_text for rule in config.rules) else {}
    latest = ledger.latest(records)
    unfinished: set[str] = set()
    for rule in config.rules:
        for channel_name in rule.channels:
            channel = config.channels[channel_name]
            jobs = run.retry_jobs(rule, channel, retries, records, born, texts)
            for round_id, record in records.items():
                created = candidates.get(round_id)
                if created is None or created < watches[rule.name].first_seen:
                    continue
                if record.filing and record.filed_for is not None:  # its press round tells of that raise
                    continue
                if not rule.matches(record, texts.get(round_id, ""), now.date()):
                    continue
                job = run.new_job(rule, channel, record, latest.get((rule.name, channel.name, round_id)), created)
                if job is not None:
                    jobs.append(job)
            if not run.deliver(channel, jobs):
                unfinished.add(rule.name)
    if not dry_run:
        ledger.mark_checked([name for name in rules if name not in unfinished], now)
    return run.report


class _Run:
    """The state of one alert run: its ledger, its report, and the channels that failed in it."""

    def __init__(
        self, ledger: AlertLedger, url: str, now: dt.datetime, dry_run: bool, environ: Mapping[str, str]
    ) -> None:
        self.ledger = ledger
        self.url = url
        self.now = now
        self.dry_run = dry_run
        self.environ = environ
        self.report = AlertRunReport()
        self.dead: dict[str, str] = {}  # channel -> why it failed in this run
        self.ends: float | None = None  # time.monotonic() when the run's time limit passes

    def time_left(self) -> float | None:
        """Seconds before the run's time limit (None: no limit); 0 once it has passed."""
        return None if self.ends is None else max(self.ends - time.monotonic(), 0.0)

    def retry_jobs(
        self,
        rule: Rule,
        channel: Channel,
        retries: Sequence[Delivery],
        records: Mapping[int, RoundRecord],
        born: Mapping[int, dt.datetime],
        texts: Mapping[int, str],
    ) -> list[_Job]:
        """The failed deliveries of this rule and channel to try again (the others are dropped, with why)."""
        jobs = []
        for delivery in retries:
            if delivery.rule != rule.name or delivery.channel != channel.name:
                continue
            record = records.get(delivery.round_id)
            reason = None
            if record is None or delivery.created < born[delivery.round_id]:
                reason = "the round is no longer stored (merged into another, or its article withdrawn)"
            elif not rule.matches(record, texts.get(delivery.round_id, ""), by_age=False):
                reason = "the round no longer matches the rule"
            elif delivery.attempts >= MAX_ATTEMPTS and self.now - delivery.created > GIVE_UP:
                reason = (
                    f"gave up after {delivery.attempts} attempts since {delivery.created:%Y-%m-%d}: {delivery.error}"
                )
            if reason is None:
                assert record is not None
                jobs.append(_Job(rule, channel, record, delivery.kind, delivery.version, retry=delivery))
                continue
            if not self.dry_run:
                self.ledger.drop(delivery, reason)
            self.report.outcomes.append(
                Outcome(rule.name, channel.name, delivery.kind, delivery.summary, "dropped", reason)
            )
        return jobs

    def new_job(
        self, rule: Rule, channel: Channel, record: RoundRecord, last: Delivery | None, created: dt.datetime
    ) -> _Job | None:
        """A new delivery for a matching round: its first, or an update of what was sent; None when nothing is
        due (being sent now, failed and retried as such, or sent as it is)."""
        if last is None:
            return _Job(rule, channel, record, "new", 1)
        if last.created < created:  # the deliveries were for an earlier round that had this id
            return _Job(rule, channel, record, "new", last.version + 1)
        if last.status in ("sent", "dropped") and last.fingerprint != fingerprint(record):
            sent = last.status == "sent" or self.ledger.ever_sent(rule.name, channel.name, record.id or 0, created)
            return _Job(rule, channel, record, "update" if sent else "new", last.version + 1)
        return None

    def deliver(self, channel: Channel, jobs: list[_Job]) -> bool:
        """Send `jobs` to `channel`; False when some had to wait for the next run (the channel failed)."""
        if self.dry_run:
            self.report.outcomes.extend(job.outcome("due") for job in jobs)
            return True
        if not jobs:
            return True
        if channel.name in self.dead:
            self._wait(jobs, self.dead[channel.name])
            return False
        if self.time_left() == 0:
            self._wait(jobs, OUT_OF_TIME)
            return False
        if channel.type in ("webhook", "apprise"):
            return self._one_by_one(channel, jobs)
        claimed = [job for job in jobs if self._claim(job)]
        if not claimed:
            return True
        try:
            if channel.type == "email":
                settings = SmtpSettings.from_env(self.environ)
                alerts = [job.alert(self.now) for job in claimed]
                to, prefix = channel.options["to"], channel.options["subject_prefix"]
                message = email_message(alerts, sender=settings.sender, to=to, prefix=prefix)
                send_email(settings, message, deadline=self.time_left())
                self._settle(claimed)
            else:
                with file_lock(channel.options["path"]):  # the feed lists what other runs sent, too
                    self._write_feed(channel, claimed)
                    self._settle(claimed)
        except Exception as exc:  # noqa: BLE001 - any failure of a channel is recorded and retried, never raised
            self._fail(channel, claimed, exc)
        return True

    def _one_by_one(self, channel: Channel, jobs: list[_Job]) -> bool:
        """One message per round (a webhook POST, an Apprise notification), each claimed just before it is sent."""
        for index, job in enumerate(jobs):
            if self.time_left() == 0:
                self._wait(jobs[index:], OUT_OF_TIME)
                return False
            if not self._claim(job):
                continue
            try:
                alert = job.alert(self.now)
                if channel.type == "apprise":
                    send_apprise(
                        channel.options, alert_title(alert), plain_body(alert), self.environ, deadline=self.time_left()
                    )
                else:
                    payload = webhook_payload(alert, channel.options["payload"])
                    post_webhook(channel.options, payload, self.environ, deadline=self.time_left())
            except Exception as exc:  # noqa: BLE001 - recorded and retried, never raised
                self._fail(channel, [job], exc)
                self._wait(jobs[index + 1 :], self.dead[channel.name])
                return index + 1 == len(jobs)
            self._settle([job])
        return True

    def _write_feed(self, channel: Channel, jobs: Sequence[_Job]) -> None:
        """Rewrite the channel's Atom file: these alerts and the newest ones sent to it before."""
        limit = channel.options["max_entries"]
        mine = {job.delivery_id for job in jobs}
        earlier = [d for d in self.ledger.sent_to(channel.name, limit) if d.id not in mine and d.sent is not None]
        records = rounds_by_id(self.url, [delivery.round_id for delivery in earlier])
        born = self.ledger.created_times(records)
        alerts = [job.alert(self.now) for job in jobs]
        for delivery in earlier:
            record = records.get(delivery.round_id)
            if record is not None and delivery.created >= born[delivery.round_id] and delivery.sent is not None:
                alerts.append(Alert(delivery.rule, delivery.kind, record, delivery.sent, delivery.version))
        alerts = sorted(alerts, key=lambda alert: alert.at, reverse=True)[:limit]
        feed = atom_feed(
            alerts, title=channel.options["title"], feed_id=f"urn:newsmon:alerts:{channel.name}", now=self.now
        )
        write_atom(channel.options["path"], feed)

    def _claim(self, job: _Job) -> bool:
        now = _now()
        summary = alert_title(job.alert(self.now))
        if job.retry is not None:
            job.delivery_id, job.attempts = job.retry.id, job.retry.attempts + 1
            return self.ledger.claim_retry(job.retry, fingerprint=fingerprint(job.record), summary=summary, now=now)
        job.delivery_id, job.attempts = (
            self.ledger.claim_new(
                rule=job.rule.name,
                channel=job.channel.name,
                round_id=job.record.id or 0,
                version=job.version,
                kind=job.kind,
                fingerprint=fingerprint(job.record),
                summary=summary,
                now=now,
            ),
            1,
        )
        return job.delivery_id is not None

    def _settle(self, jobs: Sequence[_Job], error: str | None = None) -> None:
        for job in jobs:
            if job.delivery_id is not None:
                self.ledger.finish(job.delivery_id, job.attempts, _now(), error=error)
            self.report.outcomes.append(job.outcome("failed" if error else "sent", error))

    def _fail(self, channel: Channel, jobs: Sequence[_Job], exc: Exception) -> None:
        error = str(exc) if isinstance(exc, DeliveryError) else f"{type(exc).__name__}: {exc}"
        self.dead[channel.name] = error
        self._settle(jobs, error=error)

    def _wait(self, jobs: Sequence[_Job], why: str) -> None:
        self.report.outcomes.extend(
            job.outcome("waiting", why if why == OUT_OF_TIME else f"not tried: the channel failed earlier ({why})")
            for job in jobs
        )


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)

"""Alerts end to end, with real receivers on 127.0.0.1: a webhook server, an SMTP server (aiosmtpd) and an Atom
file read back with feedparser; rules matched against rounds found in real corpus pages."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import json
import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import feedparser
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from crawler.alerts import AlertConfigError, load_alerts, run_alerts
from crawler.alerts.channels import DeliveryError, SmtpSettings, post_webhook
from crawler.alerts.dispatch import MAX_ATTEMPTS
from crawler.alerts.messages import Alert, atom_feed, headline, slack_text
from crawler.cli import main
from crawler.replay import replay_settings, settings_args, write_cache
from storage import RoundFilters, RoundRecord, list_rounds, list_runs
from storage.models import FundingRound
from tests.support.crawling import PROJECT_ROOT, crawl
from tests.support.sitebuilder import venturebeat_site

SEED_URL = "https://venturebeat.com/ai/hugging-face-gets-a-235m-group-hug-led-by-salesforce/"


class Receiver:
    """A webhook receiver on 127.0.0.1 that records every POST and answers `status` (changeable)."""

    def __init__(self) -> None:
        self.posts: list[dict] = []
        self.bodies: list[bytes] = []
        self.headers: list[dict[str, str]] = []
        self.status = 200
        self.drip: float | None = None  # set: the answer comes one byte every `drip` seconds
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.bodies.append(body)
                receiver.posts.append(json.loads(body))
                receiver.headers.append(dict(self.headers))
                if receiver.drip:
                    with contextlib.suppress(OSError):  # the client hangs up at its deadline
                        for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok" * 100:
                            self.wfile.write(bytes([byte]))
                            self.wfile.flush()
                            time.sleep(receiver.drip)
                    return
                self.send_response(receiver.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the stdlib's signature
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Mailbox:
    """An aiosmtpd handler keeping every message it receives."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: ANN001, N802 - aiosmtpd's hook
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


def mailbox_port() -> int:
    """The port of the `mailbox` fixture's SMTP server."""
    return int(os.environ["NEWSMON_SMTP_PORT"])


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def mailbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[Mailbox]:
    """A real SMTP server on 127.0.0.1; the NEWSMON_SMTP_* variables (inherited by crawls) point at it."""
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=_free_port())
    controller.start()
    monkeypatch.setenv("NEWSMON_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("NEWSMON_SMTP_PORT", str(controller.port))
    monkeypatch.setenv("NEWSMON_SMTP_FROM", "newsmon@test.example")
    for name in ("NEWSMON_SMTP_USER", "NEWSMON_SMTP_PASSWORD", "NEWSMON_SMTP_SECURITY"):
        monkeypatch.delenv(name, raising=False)
    yield box
    controller.stop()


def write_alerts(folder: Path, hook_url: str) -> Path:
    """Rounds of $20M or more go to the webhook and the Atom file; rounds Salesforce led go by email."""
    path = folder / "alerts.toml"
    path.write_text(
        f"""
[channels.hook]
type = "webhook"
url = "{hook_url}"
timeout = 5

[channels.mail]
type = "email"
to = ["deals@example.com"]

[channels.feed]
type = "atom"
path = "alerts.atom"
title = "Big rounds"

[rules.big]
min_amount_usd = "20M"
channels = ["hook", "feed"]

[rules.salesforce-led]
investors = ["Salesforce"]
lead = true
channels = ["mail"]
""",
        encoding="utf-8",
    )
    return path


def big_rounds(url: str) -> dict[int, RoundRecord]:
    """The rule `big`, asked of the store through `newsmon rounds`' own filters (SQL, not the rule's code)."""
    found = list_rounds(url, RoundFilters(min_amount=20e6, status="announced"))
    return {record.id: record for record in found if record.amount_usd is not None}


def alert_crawl(shared: Path, root: Path, url: str, alerts: Path) -> None:
    pages, _ = venturebeat_site(shared)
    done, stats = crawl(
        "venturebeat", db_url=url, pages=pages, cache_dir=root / "cache", extra_settings={"NEWSMON_ALERTS": str(alerts)}
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert stats["finish_reason"] == "finished"


@pytest.mark.slow
def test_replay_crawl_alerts_each_matching_round_once(
    shared: Path, tmp_path: Path, receiver: Receiver, mailbox: Mailbox
) -> None:
    url = f"sqlite:///{tmp_path / 'newsmon.db'}"
    alerts = write_alerts(tmp_path, receiver.url)
    alert_crawl(shared, tmp_path, url, alerts)

    expected = big_rounds(url)
    assert len(expected) >= 2
    assert sorted(post["round"]["id"] for post in receiver.posts) == sorted(expected)  # one POST per round
    for post in receiver.posts:
        record = expected[post["round"]["id"]]
        assert post["event"] == "round.new" and post["rule"] == "big" and post["version"] == 1
        assert post["text"].startswith("*New round* (rule `big`)") and record.company in post["text"]
        assert post["round"] == record.as_json()

    assert len(mailbox.messages) == 1  # Hugging Face: the one round here that Salesforce led
    mail = mailbox.messages[0]
    assert mail["To"] == "deals@example.com" and mail["From"] == "newsmon@test.example"
    assert "Hugging Face raised $235M led by Salesforce Ventures, at a $4B valuation" in mail["Subject"]
    assert SEED_URL in mail.get_content()

    feed = feedparser.parse(tmp_path / "alerts.atom")
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.feed.title == "Big rounds"
    assert sorted(entry.title for entry in feed.entries) == sorted(headline(r) for r in expected.values())
    assert {entry.link for entry in feed.entries} == {record.sources[0] for record in expected.values()}

    assert list_runs(url, limit=1)[0].status == "ok"
    alert_crawl(shared, tmp_path, url, alerts)  # the same pages again: nothing new, nothing sent
    assert len(receiver.posts) == len(expected) and len(mailbox.messages) == 1
    assert len(feedparser.parse(tmp_path / "alerts.atom").entries) == len(expected)


@pytest.mark.slow
def test_a_receiver_failing_with_500_gets_every_alert_on_the_next_run(
    shared: Path, tmp_path: Path, receiver: Receiver, mailbox: Mailbox
) -> None:
    url = f"sqlite:///{tmp_path / 'newsmon.db'}"
    alerts = write_alerts(tmp_path, receiver.url)
    receiver.status = 500
    alert_crawl(shared, tmp_path, url, alerts)
    assert len(receiver.posts) == 1  # the first 500 stops this channel for this run: one timeout, not one per round
    assert list_runs(url, limit=1)[0].status == "ok"  # the crawl itself is not failed by its alerts
    expected = big_rounds(url)
    with sqlite3.connect(tmp_path / "newsmon.db") as connection:
        statuses = connection.execute("SELECT channel, status, COUNT(*) FROM alert_deliveries GROUP BY 1, 2")
        n = len(expected)
        # the others wait unclaimed: rule big keeps its last check time, so the next run sees their rounds again
        assert sorted(statuses.fetchall()) == [("feed", "sent", n), ("hook", "failed", 1), ("mail", "sent", 1)]

    receiver.status = 200
    receiver.posts.clear()
    alert_crawl(shared, tmp_path, url, alerts)  # nothing new is crawled; the failed alerts are retried
    assert sorted(post["round"]["id"] for post in receiver.posts) == sorted(expected)
    assert len(mailbox.messages) == 1
    alert_crawl(shared, tmp_path, url, alerts)
    assert len(receiver.posts) == len(expected)


def _ingested_store(
    tmp_path: Path, shared: Path, capsys: pytest.CaptureFixture[str], alerts: Path, url: str | None = None
) -> str:
    """A store whose rules were seen before any round was stored, then the seed article and two corpus pages."""
    url = url or f"sqlite:///{tmp_path / 'newsmon.db'}"
    assert main(["--db", url, "alerts", "run", "--file", str(alerts)]) == 0
    assert "rule big: watching from now on" in capsys.readouterr().out
    pages = [json.loads(line) for line in (shared / "corpus" / "pages.jsonl").read_text().splitlines()]
    manifest = tmp_path / "pages.tsv"
    chosen = [p for p in pages if "forter" in p["url"] or "circleci" in p["url"]][:3]
    lines = [f"{SEED_URL}\t{shared / 'seed' / 'venturebeat-hugging-face-235m.html'}"]
    lines += [f"{p['url']}\t{shared / 'corpus' / p['file']}" for p in chosen]
    manifest.write_text("\n".join(lines) + "\n")
    assert main(["--db", url, "ingest", "--manifest", str(manifest), "--allow-outside"]) == 0
    capsys.readouterr()
    return url


def test_alerts_run_retries_after_a_dead_receiver_and_sends_updates(
    shared: Path, tmp_path: Path, receiver: Receiver, capsys: pytest.CaptureFixture[str], db_url: str
) -> None:
    dead = f"http://127.0.0.1:{_free_port()}/hook"  # nothing listens there
    alerts = write_alerts(tmp_path, dead)
    alerts.write_text(alerts.read_text().replace('channels = ["mail"]', 'channels = ["feed"]'))
    url = _ingested_store(tmp_path, shared, capsys, alerts, db_url)
    expected = big_rounds(url)
    assert len(expected) >= 2

    assert main(["--db", url, "alerts", "run", "--dry-run", "--file", str(alerts)]) == 0
    out = capsys.readouterr().out
    assert out.count("due     big -> hook") == len(expected)
    assert main(["--db", url, "alerts", "run", "--file", str(alerts)]) == 1
    out, err = capsys.readouterr()
    assert out.count("failed  big -> hook") == 1 and "cannot reach the webhook" in out
    assert out.count("waiting big -> hook") == len(expected) - 1 and "not tried: the channel failed earlier" in out
    assert err.strip() == f"newsmon: {len(expected)} alert(s) not delivered; the next run retries them"

    alerts.write_text(alerts.read_text().replace(dead, receiver.url))
    assert main(["--db", url, "alerts", "run", "--file", str(alerts)]) == 0
    assert sorted(post["round"]["id"] for post in receiver.posts) == sorted(expected)
    assert main(["--db", url, "alerts", "run", "--file", str(alerts)]) == 0
    assert len(receiver.posts) == len(expected)

    # A later article corrects the amount and names another lead: one update, marked as such.
    hugging = next(r for r in expected.values() if r.company == "Hugging Face")
    other = next(r for r in expected.values() if r.company != "Hugging Face")
    engine = create_engine(url)
    with Session(engine) as session, session.begin():
        now = dt.datetime.now(dt.UTC)
        corrected = session.get(FundingRound, hugging.id)
        corrected.amount, corrected.amount_usd, corrected.updated_at = 250e6, 250e6, now
        session.get(FundingRound, other.id).confidence = 0.5  # not material: no alert
        session.get(FundingRound, other.id).updated_at = now
    engine.dispose()
    receiver.posts.clear()
    assert main(["--db", url, "alerts", "run", "--file", str(alerts)]) == 0
    assert [(p["event"], p["round"]["id"], p["version"]) for p in receiver.posts] == [("round.update", hugging.id, 2)]
    assert receiver.posts[0]["text"].startswith("*Updated round*") and "$250M" in receiver.posts[0]["text"]
    feed = feedparser.parse(tmp_path / "alerts.atom")
    assert feed.entries[0].title.startswith("Update: Hugging Face raised $250M")
    by_rule = [entry.tags[0].term for entry in feed.entries]
    assert by_rule.count("big") == len(expected) + 1 and by_rule.count("salesforce-led") == 2

    capsys.readouterr()
    assert main(["--db", url, "alerts", "log", "--json", "--status", "sent"]) == 0
    log = json.loads(capsys.readouterr().out)
    assert len([d for d in log if d["channel"] == "hook"]) == len(expected) + 1


def test_a_new_rule_never_alerts_rounds_stored_before_it(
    shared: Path, tmp_path: Path, receiver: Receiver, mailbox: Mailbox, capsys: pytest.CaptureFixture[str]
) -> None:
    alerts = write_alerts(tmp_path, receiver.url)
    url = _ingested_store(tmp_path, shared, capsys, alerts)
    late = tmp_path / "late.toml"
    late.write_text(alerts.read_text().replace("[rules.big]", "[rules.big-too]"))
    assert main(["--db", url, "alerts", "run", "--file", str(late)]) == 0
    out = capsys.readouterr().out
    assert "rule big-too: watching from now on" in out
    assert receiver.posts == []  # big-too is new: the rounds stored before it never alert it
    assert len(mailbox.messages) == 1  # salesforce-led watched before the ingest: Hugging Face alerts it
    assert main(["--db", url, "alerts", "run", "--file", str(alerts)]) == 0
    assert [post["rule"] for post in receiver.posts] == ["big"] * len(big_rounds(url))


def test_rules_match_the_seed_round(shared: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    alerts = write_alerts(tmp_path, "http://127.0.0.1:9/hook")
    url = _ingested_store(tmp_path, shared, capsys, alerts)
    record = next(r for r in list_rounds(url) if r.company == "Hugging Face")
    text = (shared / "seed" / "venturebeat-hugging-face-235m.txt").read_text()

    def rule(body: str):  # noqa: ANN202 - a Rule
        path = tmp_path / "rule.toml"
        path.write_text(f'[channels.c]\ntype = "atom"\npath = "x.atom"\n[rules.r]\nchannels = ["c"]\n{body}\n')
        return load_alerts(path).rules[0]

    today = dt.date(2023, 8, 30)
    assert rule('investors = ["Salesforce"]\nlead = true').matches(record, text, today)
    assert not rule('investors = ["Google"]\nlead = true').matches(record, text, today)
    assert rule('investors = ["google", "Sequoia"]').matches(record, text, today)
    assert not rule('investors = ["Ventures"]').matches(record, text, today)  # a generic word names no one
    assert rule('companies = ["hugging face, inc."]').matches(record, text, today)
    assert not rule('companies = ["Face"]').matches(record, text, today)  # a name matches from its start
    assert rule('min_amount_usd = "235M"').matches(record, text, today)
    assert not rule("min_amount_usd = 235_000_001").matches(record, text, today)
    assert not rule('round_types = ["series_d"]').matches(record, text, today)  # the article names no series
    forter = next(r for r in list_rounds(url) if r.company == "Forter")
    assert rule('round_types = ["series_b", "series_c"]').matches(forter, "", today)
    assert not rule('round_types = ["seed"]').matches(forter, "", today)
    assert rule('keywords = ["GROUP  hug"]').matches(record, text, today)
    assert not rule('keywords = ["hugs"]').matches(record, text, today)  # whole words only
    assert not rule('statuses = ["rumored"]').matches(record, text, today)
    assert rule("max_age_days = 30").matches(record, text, record.announced + dt.timedelta(days=30))
    assert not rule("max_age_days = 30").matches(record, text, record.announced + dt.timedelta(days=31))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("[rules.r]\nchannels = []", "rules.r.channels: name at least one channel"),
        ('[rules.r]\nchannels = ["nowhere"]', "rules.r.channels: no channel 'nowhere'"),
        ('[rules.r]\nchannels = ["c"]\ninvestor = ["x"]', "rules.r.investor: unknown key"),
        ('[rules.r]\nchannels = ["c"]\nlead = true', "rules.r.lead: needs investors"),
        ('[rules.r]\nchannels = ["c"]\nround_types = ["series_z"]', "rules.r.round_types: 'series_z' is not"),
        ('[rules.r]\nchannels = ["c"]\nmin_amount_usd = "lots"', "rules.r.min_amount_usd: must be an amount"),
        ('[rules.r]\nchannels = ["c"]\nstatuses = ["leaked"]', "rules.r.statuses: use announced and/or rumored"),
        ('[channels.h]\ntype = "webhook"\nurl = "file:///etc/passwd"', "channels.h.url: must be an http(s) URL"),
        ('[channels.h]\ntype = "webhook"', "channels.h: give exactly one of url and url_env"),
        ('[channels.h]\ntype = "webhook"\nurl = "http://[::1/hook"', "channels.h.url: not a valid URL"),
        ('[channels.h]\ntype = "webhook"\nurl = "http://example.com:abc/"', "channels.h.url: not a valid URL"),
        ('[channels.m]\ntype = "email"\nto = "a@b.example"\nsubject_prefix = "x\\nBcc: c@d.example"', "one line"),
        ('[channels.f]\ntype = "atom"\npath = "a\\u0000b.atom"', "channels.f.path: must not contain a NUL"),
        ('[channels.m]\ntype = "email"\nto = ["not an address"]', "channels.m.to: must be one or more email"),
        ('[channels.s]\ntype = "sms"', "channels.s.type: must be one of webhook, email, atom"),
        ("[rule.r]", "unknown table 'rule'"),
        ("[rules\n", "not valid TOML"),
        ('[rules."bad name"]\nchannels = ["c"]', "rules.bad name: a name is letters"),
    ],
)
def test_a_malformed_alerts_file_is_one_line_naming_the_key(
    tmp_path: Path, body: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "alerts.toml"
    path.write_text('[channels.c]\ntype = "atom"\npath = "a.atom"\n' + body + "\n")
    with pytest.raises(AlertConfigError) as raised:
        load_alerts(path)
    assert str(raised.value).startswith(f"{path}: ") and message in str(raised.value)
    assert main(["alerts", "check", "--file", str(path)]) == 1
    _, err = capsys.readouterr()
    assert err.count("\n") == 1 and message in err and "Traceback" not in err


def test_the_shipped_example_is_valid(capsys: pytest.CaptureFixture[str]) -> None:
    config = load_alerts(PROJECT_ROOT / "alerts.example.toml")
    assert [rule.name for rule in config.rules] == ["salesforce-leads", "big-ai-rounds", "watchlist"]
    assert main(["alerts", "check", "--file", str(PROJECT_ROOT / "alerts.example.toml")]) == 0
    assert "salesforce-leads" in capsys.readouterr().out


def test_a_bad_alerts_file_does_not_fail_the_crawl(shared: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'newsmon.db'}"
    broken = tmp_path / "alerts.toml"
    broken.write_text("[rules.r]\nchannels = 3\n")
    pages, _ = venturebeat_site(shared)
    done, _ = crawl(
        "venturebeat",
        db_url=url,
        pages=pages,
        cache_dir=tmp_path / "cache",
        extra_settings={"NEWSMON_ALERTS": str(broken)},
    )
    assert done.returncode == 0 and "Traceback" not in done.stderr
    assert "No alerts in this crawl: " in done.stderr and "rules.r.channels: must be a list" in done.stderr
    assert list_runs(url, limit=1)[0].status == "ok" and list_rounds(url)


def test_channel_failures_of_any_kind_are_recorded_and_other_channels_still_deliver(
    shared: Path, tmp_path: Path, mailbox: Mailbox, capsys: pytest.CaptureFixture[str]
) -> None:
    """The webhook URL points at an SMTP server (no HTTP answer), and two rules share it: one failure, one
    timeout's worth of waiting, and the Atom feed and the email still go out."""
    smtp_port = mailbox_port()
    alerts = write_alerts(tmp_path, f"http://127.0.0.1:{smtp_port}/hook")
    text = alerts.read_text() + '\n[rules.also-big]\nmin_amount_usd = "30M"\nchannels = ["hook"]\n'
    alerts.write_text(text)
    url = _ingested_store(tmp_path, shared, capsys, alerts)
    report = run_alerts(url, load_alerts(alerts))
    hook = [o for o in report.outcomes if o.channel == "hook"]
    assert [o.status for o in hook].count("failed") == 1
    assert all(o.status == "waiting" for o in hook if o.status != "failed")
    assert "webhook failed: BadStatusLine" in next(o.error for o in hook if o.status == "failed")
    assert len(feedparser.parse(tmp_path / "alerts.atom").entries) == len(big_rounds(url))
    assert len(mailbox.messages) == 1


def test_a_failing_alert_is_retried_past_a_week_until_it_has_failed_often(
    shared: Path, tmp_path: Path, receiver: Receiver, capsys: pytest.CaptureFixture[str]
) -> None:
    alerts = write_alerts(tmp_path, receiver.url)
    alerts.write_text(alerts.read_text().replace('channels = ["mail"]', 'channels = ["hook"]'))
    url = _ingested_store(tmp_path, shared, capsys, alerts)
    config = load_alerts(alerts)
    receiver.status = 503
    start = dt.datetime.now(dt.UTC)
    assert run_alerts(url, config, now=start).count("failed") == 1
    receiver.status = 200
    receiver.posts.clear()
    later = run_alerts(url, config, now=start + dt.timedelta(days=8))  # one failed attempt: not given up
    assert later.count("sent") == len(big_rounds(url)) + 1 and later.count("dropped") == 0
    assert sorted(p["rule"] for p in receiver.posts) == ["big"] * len(big_rounds(url)) + ["salesforce-led"]

    receiver.status = 503
    gone = next(iter(big_rounds(url)))
    engine = create_engine(url)
    with Session(engine) as session, session.begin():
        session.get(FundingRound, gone).amount_usd = 9e9  # a material change: an update is due
        session.get(FundingRound, gone).amount = 9e9
        session.get(FundingRound, gone).updated_at = start + dt.timedelta(days=8, hours=1)  # on this test's clock
    engine.dispose()
    moment = start + dt.timedelta(days=8, hours=1)
    for _ in range(MAX_ATTEMPTS):
        moment += dt.timedelta(days=1)
        assert run_alerts(url, config, now=moment).count("failed") >= 1
    final = run_alerts(url, config, now=moment + dt.timedelta(days=1))
    big = [o for o in final.outcomes if o.rule == "big"]
    assert [o.status for o in big] == ["dropped"] and big[0].error.startswith(f"gave up after {MAX_ATTEMPTS} attempts")


def test_a_round_that_reuses_a_deleted_rounds_id_alerts_as_new(
    shared: Path, tmp_path: Path, receiver: Receiver, mailbox: Mailbox, capsys: pytest.CaptureFixture[str]
) -> None:
    """SQLite gives the highest id again after that round is deleted; its deliveries must not pass as ours."""
    alerts = write_alerts(tmp_path, receiver.url)
    url = _ingested_store(tmp_path, shared, capsys, alerts)
    assert run_alerts(url, load_alerts(alerts)).count("sent") > 0
    newest = max(big_rounds(url))
    engine = create_engine(url)
    with Session(engine) as session, session.begin():
        old = session.get(FundingRound, newest)
        session.delete(old)
        session.flush()
        now = dt.datetime.now(dt.UTC)
        session.add(
            FundingRound(
                id=newest,
                company="Newco",
                company_key="newco",
                amount=40e6,
                currency="USD",
                amount_usd=40e6,
                status="announced",
                created_at=now,
                updated_at=now,
                evidence={},
            )
        )
    engine.dispose()
    receiver.posts.clear()
    report = run_alerts(url, load_alerts(alerts))
    assert [(p["event"], p["round"]["company"], p["round"]["id"]) for p in receiver.posts] == [
        ("round.new", "Newco", newest)
    ]
    assert report.count("failed") == 0


def test_scraped_text_cannot_ping_a_channel_or_break_the_feed() -> None:
    record = RoundRecord(
        company="<!channel> Evil\x07Corp",
        amount=5e6,
        currency="USD",
        amount_usd=5e6,
        round="seed",
        lead_investors=["A & B <Capital>"],
        investors=["A & B <Capital>"],
        valuation=None,
        status="announced",
        confidence=0.9,
        announced=dt.date(2024, 5, 1),
        sources=["https://example.com/a?x=1&y=2"],
        id=7,
    )
    alert = Alert(rule="r", kind="new", record=record, at=dt.datetime(2024, 5, 2, tzinfo=dt.UTC))
    text = slack_text(alert)
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text and "<https://example.com/a?x=1&amp;y=2|" in text
    feed = feedparser.parse(atom_feed([alert], title="t", feed_id="urn:x", now=alert.at))
    assert not feed.bozo and feed.entries[0].title.startswith("<!channel> EvilCorp raised $5M (Seed)")


def test_smtp_settings_refuse_a_password_in_clear_to_another_host() -> None:
    with pytest.raises(DeliveryError, match="refusing to send the SMTP password to mail.example.com in clear"):
        SmtpSettings.from_env(
            {"NEWSMON_SMTP_HOST": "mail.example.com", "NEWSMON_SMTP_USER": "u", "NEWSMON_SMTP_SECURITY": "off"}
        )
    settings = SmtpSettings.from_env({"NEWSMON_SMTP_HOST": "mail.example.com", "NEWSMON_SMTP_USER": "u"})
    assert (settings.security, settings.port) == ("starttls", 587)
    with pytest.raises(DeliveryError, match="NEWSMON_SMTP_PORT is not a port number"):
        SmtpSettings.from_env({"NEWSMON_SMTP_PORT": "smtp"})
    with pytest.raises(DeliveryError, match="NEWSMON_SMTP_PORT is not a port number: '70000'"):
        SmtpSettings.from_env({"NEWSMON_SMTP_PORT": "70000"})
    with pytest.raises(DeliveryError, match="must be one line"):
        SmtpSettings.from_env({"NEWSMON_SMTP_FROM": "a@b.example\nBcc: c@d.example"})


def test_webhook_body_is_signed_when_a_secret_is_set(receiver: Receiver) -> None:
    post_webhook(
        {"url": receiver.url, "secret_env": "HOOK_SECRET", "timeout": 5}, {"text": "hi"}, {"HOOK_SECRET": "s3cret"}
    )
    signature = "sha256=" + hmac.new(b"s3cret", receiver.bodies[0], hashlib.sha256).hexdigest()
    assert receiver.headers[0]["X-Newsmon-Signature"] == signature
    with pytest.raises(DeliveryError, match=r"\$MISSING is not set"):
        post_webhook({"url_env": "MISSING", "timeout": 5}, {"text": "hi"}, {})
    for bad in ("file:///etc/hostname", "data:,hello", "ftp://127.0.0.1/x"):
        with pytest.raises(DeliveryError, match="webhook URL must be an http"):
            post_webhook({"url_env": "HOOK", "timeout": 5}, {"text": "hi"}, {"HOOK": bad})


def test_run_alerts_without_rules_does_nothing(tmp_path: Path) -> None:
    path = tmp_path / "alerts.toml"
    path.write_text('[channels.c]\ntype = "atom"\npath = "a.atom"\n[rules.off]\nchannels = ["c"]\nenabled = false\n')
    report = run_alerts(f"sqlite:///{tmp_path / 's.db'}", load_alerts(path))
    assert report.outcomes == [] and report.line() == "alerts: nothing new"


def test_two_alert_runs_at_once_send_each_alert_once(
    shared: Path, tmp_path: Path, receiver: Receiver, mailbox: Mailbox, capsys: pytest.CaptureFixture[str], db_url: str
) -> None:
    alerts = write_alerts(tmp_path, receiver.url)
    url = _ingested_store(tmp_path, shared, capsys, alerts, db_url)
    config = load_alerts(alerts)
    start = threading.Barrier(2)
    reports = []

    def one_run() -> None:
        start.wait()
        reports.append(run_alerts(url, config))

    threads = [threading.Thread(target=one_run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(post["round"]["id"] for post in receiver.posts) == sorted(big_rounds(url))
    assert len(mailbox.messages) == 1
    assert sum(report.count("sent") for report in reports) == 2 * len(big_rounds(url)) + 1  # hook + feed, and mail
    assert sum(report.count("failed") for report in reports) == 0
    assert len(feedparser.parse(tmp_path / "alerts.atom").entries) == len(big_rounds(url))  # neither run's lost


@pytest.mark.slow
def test_a_webhook_that_drips_cannot_stall_a_scheduled_crawl(shared: Path, tmp_path: Path, receiver: Receiver) -> None:
    """A receiver that answers one byte every 2 s: `scheduler.py --run-now` records the crawl `ok` well within
    its time limit, and the delivery ends `failed` (retried next run), not `sending`. The channel allows 60 s
    per delivery; the alert run's own limit (NEWSMON_ALERTS_TIME_LIMIT, 6 s) is what stops it (issue 17,
    class 7)."""
    receiver.drip = 2.0
    alerts = write_alerts(tmp_path, receiver.url)
    alerts.write_text(alerts.read_text().replace("timeout = 5", "timeout = 60"))
    cache = tmp_path / "cache"
    write_cache(cache, "venturebeat", venturebeat_site(shared)[0])
    db = tmp_path / "newsmon.db"
    settings = {**replay_settings(cache), "NEWSMON_ALERTS": str(alerts), "NEWSMON_ALERTS_TIME_LIMIT": "6"}
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "scheduler.py", "--db", f"sqlite:///{db}", "--run-now", "venturebeat", "--time-limit", "120"]
        + ["-a", "since=2000-01-01", *settings_args(settings)],
        cwd=PROJECT_ROOT,
        env={k: v for k, v in os.environ.items() if not k.startswith("NEWSMON_")},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert time.monotonic() - started < 120
    [run] = list_runs(f"sqlite:///{db}")
    assert run.status == "ok" and run.articles_new > 0
    with sqlite3.connect(db) as connection:
        deliveries = connection.execute("SELECT channel, status, error FROM alert_deliveries").fetchall()
    hooks = [(status, error) for channel, status, error in deliveries if channel == "hook"]
    assert hooks == [("failed", "the webhook did not answer in 6 s")], deliveries
    assert len(receiver.posts) == 1


def test_a_deadline_covers_the_smtp_greeting_and_the_tls_handshake() -> None:
    """A server that greets, or answers a TLS hello, one byte every half second: `send_email` and
    `post_webhook` give up at their deadline (2 s here), not when the server does (issue 17, class 7)."""
    from email.message import EmailMessage

    from crawler.alerts.channels import send_email

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    stop = threading.Event()

    def drip() -> None:
        while not stop.is_set():
            try:
                listener.settimeout(0.2)
                peer, _ = listener.accept()
            except OSError:
                continue
            with contextlib.suppress(OSError), peer:
                for byte in b"220 slow.example ESMTP " * 40:
                    if stop.is_set():
                        break
                    peer.sendall(bytes([byte]))
                    time.sleep(0.5)

    thread = threading.Thread(target=drip, daemon=True)
    thread.start()
    port = listener.getsockname()[1]
    try:
        settings = SmtpSettings("127.0.0.1", port, "off", None, None, "newsmon@test.example", timeout=2)
        started = time.monotonic()
        with pytest.raises(DeliveryError, match="did not finish in 2 s"):
            send_email(settings, EmailMessage())
        started_hook = time.monotonic()
        with pytest.raises(DeliveryError, match="did not answer in 2 s"):
            post_webhook({"url": f"https://127.0.0.1:{port}/hook", "timeout": 2}, {"text": "hi"}, {})
        assert time.monotonic() - started_hook < 10 and started_hook - started < 10
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()


@pytest.mark.slow
def test_the_demo_delivers_no_alert_unless_asked(
    tmp_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 18: with an alerts file configured (`$NEWSMON_ALERTS`), `newsmon demo` sends nothing to its
    channels (a webhook got six POSTs about 2023 demo rounds); `--alerts` delivers them."""
    monkeypatch.setenv("NEWSMON_ALERTS", str(write_alerts(tmp_path, receiver.url)))
    monkeypatch.chdir(tmp_path)  # the Atom channel's file is relative
    assert main(["demo", "--db", str(tmp_path / "quiet.db"), "--json"]) == 0
    assert receiver.posts == []
    assert main(["demo", "--db", str(tmp_path / "loud.db"), "--json", "--alerts"]) == 0
    capsys.readouterr()
    assert len(receiver.posts) >= 4  # the demo's rounds of $20M or more


def test_ingest_delivers_alerts_as_a_crawl_does(
    shared: Path,
    tmp_path: Path,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Issue 18: `newsmon ingest` works "as a crawl would", alerts included: a rule seen for the first time
    watches from before the pages are stored, and the seed's $235M round reaches the webhook once."""
    alerts = write_alerts(tmp_path, receiver.url)
    alerts.write_text(alerts.read_text().replace('channels = ["mail"]', 'channels = ["feed"]'))  # no SMTP here
    monkeypatch.setenv("NEWSMON_ALERTS", str(alerts))
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'newsmon.db'}"
    seed = str(shared / "seed" / "venturebeat-hugging-face-235m.html")
    assert main(["--db", url, "ingest", seed, "--url", SEED_URL]) == 0
    assert "alerts: 3 sent" in capsys.readouterr().err  # the webhook, and the feed for each of the two rules
    assert [post["round"]["company"] for post in receiver.posts] == ["Hugging Face"]
    assert main(["--db", url, "ingest", seed, "--url", SEED_URL]) == 0  # unchanged: nothing new to say
    assert len(receiver.posts) == 1 and "alerts: nothing new" in capsys.readouterr().err

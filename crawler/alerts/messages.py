"""What an alert says: one headline per round, a Slack-compatible webhook payload, an email, an Atom feed.

Pure: builds text and bytes, sends nothing.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from xml.etree import ElementTree as ET

from crawler.formatting import money
from pipelines.urls import outlet
from storage import RoundRecord, main_evidence

ATOM_NS = "http://www.w3.org/2005/Atom"
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass(frozen=True)
class Alert:
    """One round to deliver for one rule: a new round, or a material update of one already delivered."""

    rule: str
    kind: str  # new | update
    record: RoundRecord
    at: dt.datetime  # when it was (or is being) delivered
    version: int = 1


def headline(record: RoundRecord) -> str:
    """One line: "Hugging Face raised $235M (Series D) led by Salesforce Ventures, at a $4B valuation"."""
    amount = money(record.amount, record.currency) if record.amount is not None else "an undisclosed amount"
    verb = "is reported to be raising" if record.status == "rumored" else "raised"
    line = f"{record.company} {verb} {amount}"
    if record.round:
        line += f" ({round_label(record.round)})"
    if record.lead_investors:
        line += f" led by {_names(record.lead_investors)}"
    if record.valuation is not None:
        line += f", at a {money(record.valuation, record.currency)} valuation"
    return line


def round_label(round_type: str) -> str:
    """`series_d` -> `Series D`; `pre_seed` -> `Pre-seed`; `convertible_note` -> `Convertible note`."""
    if round_type.startswith("series_"):
        return "Series " + round_type.removeprefix("series_").upper()
    return round_type.replace("pre_seed", "pre-seed").replace("_", " ").capitalize()


def alert_title(alert: Alert) -> str:
    """The headline, marked when it updates an earlier alert."""
    return ("Update: " if alert.kind == "update" else "") + headline(alert.record)


def slack_text(alert: Alert) -> str:
    """The alert as Slack mrkdwn (also plain enough for any chat webhook)."""
    record = alert.record
    # Scraped names are escaped, so a company called "<!channel>" cannot ping a whole Slack channel.
    lines = [
        f"*{'Updated round' if alert.kind == 'update' else 'New round'}* (rule `{alert.rule}`)",
        _slack_escape(headline(record)),
    ]
    others = [name for name in record.investors if name not in record.lead_investors]
    if others:
        lines.append(_slack_escape(f"With {_names(others)}"))
    if record.announced:
        lines.append(f"Announced {record.announced:%Y-%m-%d}")
    if record.sources:
        first = record.sources[0]
        more = f" and {len(record.sources) - 1} more" if len(record.sources) > 1 else ""
        lines.append(f"<{_slack_escape(first)}|{_slack_escape(outlet(first))}>{more}")
    return "\n".join(lines)


def plain_body(alert: Alert) -> str:
    """The alert as plain text under its title (Apprise's services: chat, push, email): the investors, the date,
    the sentence it was read from and every article's link."""
    record = alert.record
    lines = [f"{'Updated round' if alert.kind == 'update' else 'New round'} (rule {alert.rule})"]
    if record.investors:
        lines.append(f"Investors: {_names(record.investors)}")
    if record.announced:
        lines.append(f"Announced {record.announced:%Y-%m-%d}")
    if said := main_evidence(record.evidence):
        lines.append(f"“{said}”")
    lines.extend(record.sources)
    return _NOT_XML.sub(" ", "\n".join(lines))


def webhook_payload(alert: Alert, style: str = "full") -> dict[str, object]:
    """The JSON body of a webhook POST: Slack's `text`, plus (style `full`) the event, the rule and the round."""
    if style == "text":
        return {"text": slack_text(alert)}
    return {
        "text": slack_text(alert),
        "event": f"round.{alert.kind}",
        "rule": alert.rule,
        "version": alert.version,
        "round": alert.record.as_json(),
    }


def email_message(alerts: Sequence[Alert], *, sender: str, to: Sequence[str], prefix: str) -> EmailMessage:
    """One plain-text email listing `alerts` (all of one rule)."""
    rule = alerts[0].rule
    subject = alert_title(alerts[0]) if len(alerts) == 1 else f"{len(alerts)} funding rounds for rule {rule}"
    message = EmailMessage()
    message["Subject"] = " ".join(_NOT_XML.sub(" ", f"{prefix} {subject}").split())  # one line, whatever was scraped
    message["From"] = sender
    message["To"] = ", ".join(to)
    message["Date"] = format_datetime(alerts[0].at)
    message["Message-ID"] = make_msgid(domain="newsmon.local")
    blocks = []
    for alert in alerts:
        record = alert.record
        lines = [alert_title(alert)]
        if record.investors:
            lines.append(f"  Investors: {_names(record.investors)}")
        if record.announced:
            lines.append(f"  Announced: {record.announced:%Y-%m-%d}")
        lines.extend(f"  {url}" for url in record.sources)
        blocks.append("\n".join(lines))
    message.set_content(f"Rule {rule} matched:\n\n" + "\n\n".join(blocks) + "\n\n-- newsmon\n")
    return message


def atom_feed(alerts: Sequence[Alert], *, title: str, feed_id: str, now: dt.datetime) -> bytes:
    """An Atom 1.0 document with one entry per alert, newest first."""
    ET.register_namespace("", ATOM_NS)
    feed = ET.Element(f"{{{ATOM_NS}}}feed")
    _child(feed, "title", title)
    _child(feed, "id", feed_id)
    _child(feed, "updated", _stamp(max((alert.at for alert in alerts), default=now)))
    author = ET.SubElement(feed, f"{{{ATOM_NS}}}author")
    _child(author, "name", "newsmon")
    ET.SubElement(feed, f"{{{ATOM_NS}}}generator").text = "newsmon"
    for alert in sorted(alerts, key=lambda alert: alert.at, reverse=True):
        record = alert.record
        entry = ET.SubElement(feed, f"{{{ATOM_NS}}}entry")
        _child(entry, "title", alert_title(alert))
        _child(entry, "id", f"urn:newsmon:alert:{alert.rule}:round-{record.id}:v{alert.version}")
        _child(entry, "updated", _stamp(alert.at))
        if record.announced:
            published = dt.datetime.combine(record.announced, dt.time(), tzinfo=dt.UTC)
            _child(entry, "published", _stamp(published))
        for url in record.sources:
            relation = "alternate" if url == record.sources[0] else "related"
            ET.SubElement(entry, f"{{{ATOM_NS}}}link", rel=relation, href=url)
        ET.SubElement(entry, f"{{{ATOM_NS}}}category", term=alert.rule)
        summary = headline(record)
        if record.investors:
            summary += f". Investors: {_names(record.investors)}."
        _child(entry, "summary", summary)
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


def _child(parent: ET.Element, tag: str, text: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM_NS}}}{tag}")
    element.text = _xml_safe(text)
    return element


def _xml_safe(text: str) -> str:
    """Drop the characters XML 1.0 cannot hold (control characters from scraped text)."""
    return _NOT_XML.sub("", text)


def _stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _names(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

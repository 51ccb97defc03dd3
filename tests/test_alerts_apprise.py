"""Alerts through Apprise, each channel against a real receiver on 127.0.0.1: generic JSON and ntfy over HTTP, email
over SMTP (aiosmtpd), Teams (Power Automate workflows) over HTTPS, and Slack, Discord and Telegram over HTTPS with
their fixed host names reaching the local receiver. The delivery ledger keeps its once-per-round guarantee."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from crawler.alerts import AlertConfigError, load_alerts
from crawler.cli import main
from tests.support.receivers import Request, hosts_reach, recording
from tests.test_alerts import SEED_URL, Mailbox

pytest.importorskip("apprise")
# the channels whose service has a fixed host name, and that name
SERVICE_HOSTS = {"slack": "hooks.slack.com", "discord": "discord.com", "telegram": "api.telegram.org"}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _as_a_service_would(request: Request) -> tuple[int, str, bytes]:
    """Each service's answer to a message it took."""
    if request.host.startswith("api.telegram.org"):
        return 200, "application/json", json.dumps({"ok": True, "result": {"message_id": 1}}).encode()
    if request.host.startswith("discord.com"):
        return 204, "text/plain", b""
    if request.host.startswith("hooks.slack.com"):
        return 200, "text/plain", b"ok"
    return 200, "application/json", b"{}"


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield box, controller.port
    controller.stop()


def write_channels(folder: Path, http_port: int, https_port: int, smtp_port: int) -> Path:
    """One rule (rounds of $100M or more) sent to seven Apprise channels. `verify=no`: the local HTTPS receiver's
    certificate is self-signed."""
    channels = {
        "json": f"json://127.0.0.1:{http_port}/hook",
        "ntfy": f"ntfy://127.0.0.1:{http_port}/newsmon-deals",
        "mail": f"mailto://127.0.0.1:{smtp_port}?from=newsmon@example.com&to=deals@example.com&mode=insecure",
        "teams": f"workflows://127.0.0.1:{https_port}/workflow1/signature1/?verify=no",
        "slack": "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ/#deals?verify=no",
        "discord": "discord://4174216298/JHMHI8qBe7bk2ZwO5U711o3dV_js/?verify=no",
        "telegram": "tgram://123456789:abcdefg_hijklmnop/12315544/?verify=no",
    }
    text = "".join(
        f'[channels.{name}]\ntype = "apprise"\nurl = "{url}"\ntimeout = 5\n\n' for name, url in channels.items()
    )
    text += f'[rules.big]\nmin_amount_usd = "100M"\nchannels = {json.dumps(list(channels))}\n'
    path = folder / "alerts.toml"
    path.write_text(text, encoding="utf-8")
    return path


# the local HTTPS receiver's certificate is self-signed (`verify=no`): urllib3 warns about each request
@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_each_apprise_channel_reaches_its_receiver_once_per_round(
    shared: Path,
    tmp_path: Path,
    smtp: tuple[Mailbox, int],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    mailbox, smtp_port = smtp
    with (
        recording() as plain,
        recording(tls_for="receiver.test", work=tmp_path) as secure,
        hosts_reach(secure.port, *SERVICE_HOSTS.values()),
    ):
        plain.answer = secure.answer = _as_a_service_would
        alerts = write_channels(tmp_path, plain.port, secure.port, smtp_port)
        monkeypatch.setenv("NEWSMON_ALERTS", str(alerts))
        url = f"sqlite:///{tmp_path / 'newsmon.db'}"
        seed = str(shared / "seed" / "venturebeat-hugging-face-235m.html")
        assert main(["--db", url, "ingest", seed, "--url", SEED_URL]) == 0
        err = capsys.readouterr().err
        if "alerts: 7 sent" not in err:  # say why each failed
            main(["--db", url, "alerts", "log", "--status", "failed", "--json"])
            pytest.fail(f"{err} {capsys.readouterr().out}")
        # a second run has nothing new to say: the ledger sent each round once per channel
        assert main(["--db", url, "alerts", "run", "--file", str(alerts)]) == 0
        assert "nothing" in capsys.readouterr().out
        requests = {"plain": list(plain.requests), "secure": list(secure.requests)}

    by_service = {
        "json": [r for r in requests["plain"] if r.path == "/hook"],
        "ntfy": [r for r in requests["plain"] if r.path != "/hook"],
        "teams": [r for r in requests["secure"] if r.host.startswith("127.0.0.1")],
        **{name: [r for r in requests["secure"] if r.host.startswith(host)] for name, host in SERVICE_HOSTS.items()},
    }
    assert {name: len(found) for name, found in by_service.items()} == {name: 1 for name in by_service}
    assert len(mailbox.messages) == 1
    for name, (request,) in by_service.items():
        assert request.method == "POST"
        text = request.body.decode("utf-8")
        assert "Hugging Face" in text and "$235M" in text, name  # the title names the round
        assert "Salesforce Ventures" in text, name  # the body: investors, the sentence, the link
    message = mailbox.messages[0]
    assert message["To"] == "deals@example.com" and "Hugging Face" in message["Subject"]
    assert SEED_URL in message.get_body(("plain",)).get_content()
    assert by_service["slack"][0].path == "/services/T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ"
    assert json.loads(by_service["slack"][0].body)["channel"] == "#deals"  # the URL's channel, kept
    assert json.loads(by_service["json"][0].body)["title"].startswith("Hugging Face raised $235M")

    assert main(["--db", url, "alerts", "log", "--json"]) == 0
    log = json.loads(capsys.readouterr().out)
    assert sorted(row["channel"] for row in log) == sorted([*by_service, "mail"])
    assert {row["status"] for row in log} == {"sent"}


def test_a_service_that_refuses_is_recorded_failed_and_retried(
    shared: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with recording() as receiver:
        receiver.answer = lambda request: (500, "text/plain", b"down")
        alerts = tmp_path / "alerts.toml"
        alerts.write_text(
            f'[channels.json]\ntype = "apprise"\nurl = "json://127.0.0.1:{receiver.port}/hook"\n\n'
            '[rules.big]\nmin_amount_usd = "100M"\nchannels = ["json"]\n',
            encoding="utf-8",
        )
        monkeypatch.setenv("NEWSMON_ALERTS", str(alerts))
        url = f"sqlite:///{tmp_path / 'newsmon.db'}"
        seed = str(shared / "seed" / "venturebeat-hugging-face-235m.html")
        assert main(["--db", url, "ingest", seed, "--url", SEED_URL]) == 0  # an alert failing never fails ingest
        assert "1 failed" in capsys.readouterr().err
        assert main(["--db", url, "alerts", "log", "--status", "failed", "--json"]) == 0
        (failed,) = json.loads(capsys.readouterr().out)
        assert "500" in failed["error"] and "127.0.0.1" not in failed["error"].replace(str(receiver.port), "")
        receiver.answer = lambda request: (200, "application/json", b"{}")
        assert main(["--db", url, "alerts", "run", "--file", str(alerts)]) == 0
        capsys.readouterr()
        assert len(receiver.requests) == 2  # the failed attempt, then the retry that got through
    assert main(["--db", url, "alerts", "log", "--status", "sent", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 1


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("bogus://token", "not an Apprise URL of a known service (scheme bogus"),
        ("hooks.slack.com/services/x", "not an Apprise URL of a known service (scheme missing"),
    ],
)
def test_an_apprise_url_apprise_cannot_use_is_one_line_naming_the_key(tmp_path: Path, url: str, problem: str) -> None:
    alerts = tmp_path / "alerts.toml"
    alerts.write_text(f'[channels.chat]\ntype = "apprise"\nurl = "{url}"\n', encoding="utf-8")
    with pytest.raises(AlertConfigError) as error:
        load_alerts(alerts)
    message = str(error.value)
    assert "channels.chat.url" in message and problem in message and "\n" not in message
    assert url not in message  # a URL holds tokens: it is never echoed


def test_alerts_check_shows_an_apprise_channel_with_its_tokens_masked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    alerts = write_channels(tmp_path, 1, 2, 3)
    assert main(["alerts", "check", "--file", str(alerts)]) == 0
    out = capsys.readouterr().out
    assert "slack://" in out and "tgram://" in out and "apprise" in out
    assert not any(token in out for token in ("TIiajkdnlazkcOXrIdevi7FQ", "JHMHI8qBe7bk2ZwO5U711o3dV_js", "hijklmnop"))

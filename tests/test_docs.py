"""The docs say what the code does: every `newsmon` command and option is in docs/cli.md, every page the README
links to exists, and every command of the README's tour runs as written, on the demo's store."""

from __future__ import annotations

import os
import re
import shlex
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from crawler.cli import cli, main
from tests.support.crawling import PROJECT_ROOT
from tests.support.serving import newsmon_serving

README = PROJECT_ROOT / "README.md"
CLI_DOC = PROJECT_ROOT / "docs" / "cli.md"
BIN = Path(sys.executable).parent


def commands(command: click.Command, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    yield path, command
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            yield from commands(sub, (*path, name))


def test_every_command_and_option_is_in_the_cli_page() -> None:
    """Each command is named (`newsmon alerts log`), and each of its options appears in a section that names it."""
    text = CLI_DOC.read_text(encoding="utf-8")
    sections = re.split(r"(?m)^## ", text)
    missing = []
    for path, command in commands(cli):
        name = " ".join(("newsmon", *path))
        mine = [section for section in sections if re.search(rf"{re.escape(name)}(?![\w-])", section)]
        if not mine:
            missing.append(name)
        for param in command.params:
            if isinstance(param, click.Option):
                options = [option for option in param.opts if option.startswith("--")]
                if not any(
                    re.search(rf"{re.escape(option)}(?![\w-])", section) for section in mine for option in options
                ):
                    missing.append(f"{name} {'/'.join(param.opts)}")
    assert missing == []


def test_every_page_the_readme_and_the_docs_link_to_exists() -> None:
    broken, count = [], 0
    for page in [README, *sorted((PROJECT_ROOT / "docs").glob("*.md"))]:
        for link in re.findall(r"\]\(([^)#\s]+)(?:#[^)\s]*)?\)", page.read_text(encoding="utf-8")):
            if "://" not in link:
                count += 1
                if not (page.parent / link).exists():
                    broken.append(f"{page.name}: {link}")
    assert broken == [] and count >= 15


def test_the_readme_is_what_a_newcomer_needs() -> None:
    """What newsmon is, the two commands, the tour and links: design, detector and performance notes live in docs/."""
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 100
    assert text.index("pip install") < text.index("## A five-minute tour") < text.index("## Documentation")
    assert not any(heading in text for heading in ("## Design notes", "## Performance", "## The funding detector"))


def tour() -> list[str]:
    """The commands of the README's tour, as written (comments after them dropped)."""
    text = README.read_text(encoding="utf-8")
    block = re.search(r"## A five-minute tour\n.*?```bash\n(.*?)```", text, re.S)
    assert block, "the README has no tour"
    return [re.sub(r"\s{2,}#.*$", "", line).strip() for line in block[1].splitlines() if line.strip()]


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@pytest.mark.slow
def test_every_command_of_the_readme_tour_runs_as_written(tmp_path: Path) -> None:
    """In a folder holding data/demo.db as the README's first command leaves it (here in a temporary folder rather
    than the project's), each line runs with the venv's programs; `newsmon serve` until it answers."""
    assert main(["demo", "--db", str(tmp_path / "data" / "demo.db"), "--json"]) == 0
    env = {key: value for key, value in os.environ.items() if key != "NEWSMON_DB_URL"}
    ran = []
    for line in tour():
        words = shlex.split(line)
        if words[0] == "source":  # activating the venv: the test runs its programs by path
            continue
        if words[0] == "export":
            name, _, value = words[1].partition("=")
            env[name] = value
            continue
        program = str(BIN / words[0])
        if words[:2] == ["newsmon", "serve"]:
            ran.append(_serve(program, words, tmp_path, env))
            continue
        cwd = PROJECT_ROOT if words[0] == "scrapy" else tmp_path  # scrapy reads the project's scrapy.cfg
        done = subprocess.run([program, *words[1:]], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0 and done.stdout.strip(), (line, done.stderr[-2000:])
        ran.append(line)
        if words[:2] == ["newsmon", "company"]:
            assert "Hugging Face: 1 round(s), $235M disclosed" in " ".join(done.stdout.split())
        if words[:2] == ["newsmon", "rounds"] and "--wide" in words:
            assert "Cohere" in done.stdout and "Anthropic" in done.stdout and "Hugging Face" not in done.stdout
    assert len(ran) >= 8


def _serve(program: str, words: list[str], folder: Path, env: dict[str, str]) -> str:
    """Run `newsmon serve` as written (on another port only if 8001 is taken here) until its front page answers."""
    port = 8001
    if not _free(port):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        words = [*words, "--port", str(port)]
    with newsmon_serving([program, *words[1:]], port=port, cwd=folder, env=env) as base:
        with urllib.request.urlopen(f"{base}/", timeout=5) as reply:
            assert "funding_rounds_view" in reply.url and b"Hugging Face" in reply.read()
    return " ".join(words)

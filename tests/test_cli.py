"""The `newsmon` command: JSON shapes, the seed article, one-line errors, and the offline demo."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shlex
import sqlite3
import sys
from pathlib import Path

import pytest

from crawler.cli import main
from crawler.formatting import money, parse_amount, safe_text
from pipelines.extract import extract_article
from pipelines.funding import ROUND_KEYS as FUNDING_ROUND_KEYS
from pipelines.urls import canonical_url
from storage import Store
from tests.support.rounds import assert_valid_rounds
from tests.support.sitebuilder import SEED_URL
from tests.test_storage import article, round_

ROUND_KEYS = set(FUNDING_ROUND_KEYS)  # the ROUND of DESIGN.md; JSON adds sources, announced, evidence


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_extract_seed_article_gives_exactly_the_expected_round(shared: Path, capsys) -> None:
    code, out, _ = run(capsys, "extract", str(shared / "seed" / "venturebeat-hugging-face-235m.html"), "--json")
    assert code == 0
    data = json.loads(out)
    assert set(data) == {"article", "funding_rounds"}
    assert set(data["article"]) == {"url", "title", "author", "published", "language", "text"}
    assert data["article"]["published"] == "2023-08-24"
    assert data["article"]["url"] == "https://venturebeat.com/ai/hugging-face-gets-a-235m-group-hug-led-by-salesforce/"
    expected = json.loads((shared / "seed" / "expected.json").read_text())["rounds"]
    assert len(data["funding_rounds"]) == len(expected) == 1
    assert_valid_rounds(data["funding_rounds"])
    found, want = data["funding_rounds"][0], expected[0]
    for key, value in want.items():
        assert found[key] == value, key
    assert found["amount_usd"] == 235_000_000
    assert 0 < found["confidence"] <= 1


def test_extract_table_output(shared: Path, capsys) -> None:
    code, out, _ = run(capsys, "extract", str(shared / "seed" / "venturebeat-hugging-face-235m.html"))
    assert code == 0
    assert "Hugging Face" in out and "$235M" in out and "$4B" in out and "Salesforce Ventures" in out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        (b"", "the file is empty"),
        (b"  \n\t ", "the file is empty"),
        (b"\x7fELF\x02\x01\x01\x00\x00\x00" * 50, "a binary file"),
        (b"<html><body><p>Too short.</p></body></html>", "no article found"),
    ],
)
def test_extract_bad_input_is_one_line(tmp_path: Path, capsys, content: bytes | None, message: str) -> None:
    path = tmp_path / "page.html"
    if content is not None:
        path.write_bytes(content)
    code, out, err = run(capsys, "extract", str(path), "--json")
    assert code != 0
    assert out == ""
    assert err.count("\n") == 1 and message in err and err.startswith("newsmon: ")


def test_extract_a_directory_is_one_line(tmp_path: Path, capsys) -> None:
    code, _, err = run(capsys, "extract", str(tmp_path))
    assert code != 0 and err.count("\n") == 1


def test_extract_says_what_a_path_that_is_no_page_is_and_a_huge_limit_is_one_line(
    tmp_path: Path, sqlite_url: str, capsys
) -> None:
    """B18: a directory, a named pipe or a device is named as such (not "no such file"); --limit past 2^63 is a
    usage error, not an overflow traceback from the database."""
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    for path, what in ((tmp_path, "a directory"), (pipe, "a named pipe"), (Path("/dev/null"), "a character device")):
        code, _, err = run(capsys, "extract", str(path))
        assert code == 1 and what in err and err.count("\n") == 1, err
    Store(sqlite_url)
    for command in (["rounds"], ["articles"], ["runs"], ["search", "acme"]):
        code, _, err = run(capsys, "--db", sqlite_url, *command, "--limit", str(2**64))
        assert code == 2 and "is not in the range" in err and "Traceback" not in err and err.count("\n") == 1


@pytest.fixture
def filled_store(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    store = Store(url)
    store.save_article(article("https://a.example/acme/"), [round_()], source="venturebeat", listed_url="a")
    store.save_article(
        article("https://a.example/other/", text_body="Nothing raised."), [], source="venturebeat", listed_url="b"
    )
    return url


def test_rounds_json(filled_store: str, capsys) -> None:
    code, out, _ = run(capsys, "--db", filled_store, "rounds", "--json", "--min-amount", "5M", "--investor", "accel")
    assert code == 0
    data = json.loads(out)
    assert len(data) == 1
    assert set(data[0]) == ROUND_KEYS | {
        "sources",
        "announced",
        "id",
        "outlets",
        "confirmed_by",
        "rumor_sources",
        "evidence",
        "filing",
        "filed_for",
        "filings",
    }
    assert data[0]["evidence"]["company"] == "Acme has raised $20M in a Series A round."
    assert data[0]["sources"] == ["https://a.example/acme/"]
    assert data[0]["announced"] == "2024-05-01"
    code, out, _ = run(capsys, "--db", filled_store, "rounds", "--json", "--min-amount", "1.2B")
    assert json.loads(out) == []


def test_articles_json(filled_store: str, capsys, monkeypatch) -> None:
    monkeypatch.setenv("NEWSMON_DB_URL", filled_store)
    code, out, _ = run(capsys, "articles", "--json", "--since", "2024-01-01", "--source", "venturebeat")
    assert code == 0
    data = json.loads(out)
    assert [set(a) for a in data] == [
        {"url", "source", "title", "author", "published", "date_source", "language", "rounds"}
    ] * 2
    assert sorted(a["rounds"] for a in data) == [0, 1]


def test_tables(filled_store: str, capsys) -> None:
    code, out, _ = run(capsys, "--db", filled_store, "rounds")
    assert code == 0 and "Acme" in out and "$20M" in out and "Sequoia Capital" in out
    code, out, _ = run(capsys, "--db", filled_store, "articles")
    assert code == 0 and "Acme raises $20M" in out


@pytest.mark.parametrize(
    "argv",
    [
        ["rounds", "--bogus"],
        ["rounds", "--since", "the day the music died"],
        ["rounds", "--since", "2024-02-30"],
        ["rounds", "--lead-only"],
        ["rounds", "--format", "xml"],
        ["export", "rounds"],
        ["rounds", "--min-amount", "lots"],
        ["rounds", "--round", "series_z"],
        ["rounds", "--limit", "0"],
        ["nonsense"],
    ],
)
def test_bad_flags_are_one_line(filled_store: str, capsys, argv: list[str]) -> None:
    code, out, err = run(capsys, "--db", filled_store, *argv)
    assert code == 2
    assert err.startswith("newsmon: ") and err.count("\n") == 1


def test_missing_store_is_one_line(tmp_path: Path, capsys) -> None:
    code, _, err = run(capsys, "--db", f"sqlite:///{tmp_path / 'none.db'}", "rounds", "--json")
    assert code == 1 and "no store at" in err and err.count("\n") == 1


@pytest.mark.slow
def test_demo_finds_the_demo_rounds_offline(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("NEWSMON_SEEDS_DIR", "/nonexistent")  # the demo must not depend on the caller's setup
    code, out, err = run(capsys, "demo", "--db", str(tmp_path / "demo.db"), "--json")
    assert code == 0, err
    rounds = {r["company"]: r for r in json.loads(out)}
    hugging = rounds["Hugging Face"]
    assert (hugging["amount"], hugging["currency"], hugging["lead_investors"]) == (
        235_000_000,
        "USD",
        ["Salesforce Ventures"],
    )
    assert hugging["valuation"] == 4_000_000_000
    assert rounds["Anthropic"]["amount"] == 450_000_000
    assert rounds["Mistral AI"]["currency"] == "EUR"
    # the fund close, the acquisition, the IPO, the earnings report and the product launch are not rounds
    assert set(rounds) == {"Hugging Face", "Anthropic", "Mistral AI", "Cohere", "Runway"}


def test_help_ends_with_an_example(capsys) -> None:
    code, out, _ = run(capsys, "rounds", "--help")
    assert code == 0
    assert out.rstrip().rpartition("\n\n")[2].lstrip().startswith("Example: newsmon rounds")


@pytest.mark.parametrize(
    ("value", "currency", "shown"),
    [
        (235e6, "USD", "$235M"),
        (4e9, "USD", "$4B"),
        (1.25e9, "EUR", "€1.25B"),
        (15e6, "CHF", "CHF 15M"),
        (None, "USD", "undisclosed"),
        (950, "GBP", "£950"),
    ],
)
def test_money(value: float | None, currency: str, shown: str) -> None:
    assert money(value, currency) == shown


@pytest.mark.parametrize(("text", "value"), [("5000000", 5e6), ("5M", 5e6), ("1.2B", 1.2e9), ("500k", 5e5)])
def test_parse_amount(text: str, value: float) -> None:
    assert parse_amount(text) == value


def test_control_characters_are_stripped() -> None:
    assert safe_text("Acme\x1b]0;pwned\x07 raises\x9b") == "Acme]0;pwned raises"


def test_console_script_is_declared() -> None:
    import tomllib

    project = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text())["project"]
    assert project["scripts"]["newsmon"] == "crawler.cli:main"
    assert sys.executable


@pytest.mark.parametrize(
    ("db", "message"),
    [
        ("sqlite:bogus", "not a database URL"),
        ("postgresql://host:port/db", "not a database URL"),
        ("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2", "cannot read the store"),
    ],
)
def test_bad_store_urls_are_one_line(capsys, db: str, message: str) -> None:
    code, out, err = run(capsys, "--db", db, "rounds")
    assert code == 1 and out == ""
    assert err.startswith("newsmon: ") and message in err and err.count("\n") == 1


def test_a_sqlite_file_that_is_not_a_store_is_one_line(tmp_path: Path, capsys) -> None:
    import sqlite3

    sqlite3.connect(tmp_path / "notes.db").execute("CREATE TABLE notes (x)").connection.close()
    code, _, err = run(capsys, "--db", f"sqlite:///{tmp_path / 'notes.db'}", "articles")
    assert code == 1 and "not a newsmon store" in err and err.count("\n") == 1


def test_titles_with_markup_or_control_characters_print_as_written(tmp_path: Path, capsys) -> None:
    url = f"sqlite:///{tmp_path / 'markup.db'}"
    Store(url).save_article(
        article(title="[/] [bold]Acme[/bold] raises\x1b]0;x\x07 $5M [updated]"), [], source="s", listed_url="u"
    )
    code, out, err = run(capsys, "--db", url, "articles")
    assert code == 0, err
    assert "[/] [bold]Acme[/bold] raises]0;x $5M [updated]" in out
    assert "\x1b" not in out


@pytest.mark.slow
def test_demo_prints_the_hugging_face_round_in_a_table(tmp_path: Path, capsys) -> None:
    code, out, err = run(capsys, "demo", "--db", str(tmp_path / "demo.db"))
    assert code == 0, err
    line = next(line for line in out.splitlines() if "Hugging Face" in line)
    for cell in ("2023-08-24", "$235M", "series d", "Salesforce Ventures"):
        assert cell in line, cell
    # under the table: the valuation, the other investors, the sentence it was read from and the article's link
    said = " ".join(out[out.index("Hugging Face, valued at $4B") :].split()[:60])
    for part in (
        "with Google, Amazon, Nvidia, Intel, AMD, Qualcomm, IBM, Sound Ventures",
        "has raised $235 million in a Series D funding round led by Salesforce Ventures",
        "https://demo.newsmon.example/2023/08/24/hugging-face-raises-235-million/",
    ):
        assert part in said, part
    assert "5 funding round(s) in 10 articles" in out
    assert not any(name in out for name in ("Arm ", "MosaicML", "Databricks"))
    # the command it ends with, run as printed, reads the demo's store
    command = shlex.split(re.search(r"Query it: (newsmon --db .+? rounds)", out)[1])
    code, listed, err = run(capsys, *command[1:], "--json")
    assert code == 0 and [r["company"] for r in json.loads(listed)][:2] == ["Mistral AI", "Hugging Face"], err


def test_demo_refuses_the_stores_db_option(tmp_path: Path, capsys) -> None:
    store = tmp_path / "precious.db"
    code, _, err = run(capsys, "--db", f"sqlite:///{store}", "demo")
    assert code == 2 and "newsmon demo --db PATH" in err
    assert not store.exists()


@pytest.mark.slow
def test_demo_never_replaces_a_real_store_and_takes_a_url(
    shared: Path, tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 17, class 3: `--db` naming the configured store, or any existing file that is not a demo store, is
    refused in one line unless --force; a sqlite:/// URL is the file it names (not a folder named "sqlite:")."""
    real = tmp_path / "newsmon.db"
    Store(f"sqlite:///{real}").save_article(
        extract_article((shared / "seed" / "venturebeat-hugging-face-235m.html").read_text(), SEED_URL),
        [],
        source="venturebeat",
        listed_url=SEED_URL,
    )
    before = real.read_bytes()
    ingested = tmp_path / "ingested.db"  # `newsmon ingest` without --source: no source, no run, real articles
    Store(f"sqlite:///{ingested}").save_article(article(), [round_()], source=None, listed_url="u")
    notes = tmp_path / "notes.txt"
    notes.write_text("not a store")
    monkeypatch.setenv("NEWSMON_DB_URL", f"sqlite:///{real}")
    for target in (str(real), f"sqlite:///{real}", str(notes), str(ingested)):
        code, _, err = run(capsys, "demo", "--db", target)
        assert code == 1 and "the demo will not replace it (--force does)" in err, err
        assert len(err.strip().splitlines()) == 1
    assert real.read_bytes() == before and notes.read_text() == "not a store"
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "demo", "--db", "sqlite:///demo-store.db", "--json")
    assert code == 0, err
    assert (tmp_path / "demo-store.db").is_file() and not (tmp_path / "sqlite:").exists()
    code, out, err = run(capsys, "demo", "--db", f"sqlite:///{tmp_path / 'demo-store.db'}", "--json")
    assert code == 0 and len(json.loads(out)) == 5, err  # a demo store is replaced
    code, out, err = run(capsys, "--db", "demo-store.db", "rounds", "--json")  # a path, as the demo took it
    assert code == 0 and len(json.loads(out)) == 5, err  # issue 18: one store address everywhere
    code, out, err = run(capsys, "demo", "--db", str(notes), "--force", "--json")
    assert code == 0 and len(json.loads(out)) == 5, err
    code, _, err = run(capsys, "demo", "--db", "postgresql://localhost/newsmon")
    assert code == 2 and "give a path or a sqlite:/// URL" in err
    code, _, err = run(capsys, "demo", "--db", str(tmp_path), "--force")
    assert code == 1 and "a directory, not a saved page: the demo writes a SQLite file" in err


def _agari_manifest(shared: Path, folder: Path) -> Path:
    """A manifest of the three corpus pages that report Agari's Series D (paths into ../shared, never copied)."""
    pages = [json.loads(line) for line in (shared / "corpus" / "pages.jsonl").read_text().splitlines()]
    chosen = [p for p in pages if "agari-raises-22m" in p["file"]]
    manifest = folder / "pages.tsv"
    lines = ["# URL<TAB>PATH"] + [f"{p['url']}\t{shared / 'corpus' / p['file']}" for p in chosen]
    manifest.write_text("\n".join(lines) + "\n")
    return manifest


def test_ingest_stores_saved_pages_as_a_crawl_would(shared: Path, sqlite_url: str, tmp_path: Path, capsys) -> None:
    manifest = _agari_manifest(shared, tmp_path)
    code, out, err = run(
        capsys, "--db", sqlite_url, "ingest", "--manifest", str(manifest), "--allow-outside", "--source", "corpus"
    )
    assert code == 0, err
    assert "3 page(s): 3 new" in out and "1 round(s) new, 2 merged" in out
    code, out, _ = run(capsys, "--db", sqlite_url, "rounds", "--json")
    (agari,) = json.loads(out)
    assert (agari["company"], agari["amount"], agari["round"]) == ("Agari", 22_000_000, "series_d")
    assert len(agari["sources"]) == 3

    code, out, _ = run(capsys, "--db", sqlite_url, "ingest", "--manifest", str(manifest), "--allow-outside")
    assert code == 0 and "3 unchanged" in out and "0 round(s) new" in out
    _, out, _ = run(capsys, "--db", sqlite_url, "rounds", "--json")
    assert len(json.loads(out)) == 1  # a second ingest adds nothing


def test_ingest_of_every_corpus_page_keeps_one_row_per_raise(
    shared: Path, sqlite_url: str, tmp_path: Path, capsys
) -> None:
    """pages.jsonl's 23 labelled rounds are 15 raises: a round several outlets report is one row linked to each
    page; CircleCI's Series A and B stay apart; VentureBeat's two captures of one article are one outlet."""
    labels = [json.loads(line) for line in (shared / "corpus" / "pages.jsonl").read_text().splitlines()]
    manifest = tmp_path / "all.tsv"
    manifest.write_text("".join(f"{p['url']}\t{shared / 'corpus' / p['file']}\n" for p in labels))
    code, out, err = run(capsys, "--db", sqlite_url, "ingest", "--manifest", str(manifest), "--allow-outside")
    assert code == 0, err
    _, out, _ = run(capsys, "--db", sqlite_url, "rounds", "--json")
    found = json.loads(out)
    assert len(found) == 15  # the corpus README: "23 labelled rounds, 15 distinct raises"
    with sqlite3.connect(sqlite_url.removeprefix("sqlite:///")) as connection:
        stored_as = dict(
            connection.execute("SELECT u.url, a.url FROM article_urls u JOIN articles a ON a.id = u.article_id")
        )

    def reporting(company: str, amount: int) -> set[str]:
        pages = [p for p in labels if any((r["company"], r["amount"]) == (company, amount) for r in p["rounds"])]
        return {stored_as[canonical_url(p["url"])] for p in pages}

    for company, amount, round_type, outlets in [
        ("Forter", 32_000_000, "series_c", 3),
        ("CircleCI", 18_000_000, "series_b", 4),
        ("Agari", 22_000_000, "series_d", 3),
        ("CircleCI", 6_000_000, "series_a", 1),
    ]:
        (row,) = [r for r in found if (r["company"], r["amount"]) == (company, amount)]
        assert row["round"] == round_type
        assert set(row["sources"]) == reporting(company, amount), company
        assert row["outlets"] == outlets, company
    forter = next(r for r in found if r["company"] == "Forter")
    assert len(forter["sources"]) == 4  # VentureBeat's 2016 page and its 2025 re-capture are both linked
    assert forter["announced"] == "2016-04-21"


def test_ingest_applies_the_per_site_fixes_of_the_pages_source(shared: Path, sqlite_url: str, capsys) -> None:
    """The PR Newswire seed's dateline selector dates the release, as a crawl of prnewswire would."""
    page = shared / "corpus" / "pages/prnewswire/atlantic-merchant-capital-lead-investment-social-quant-2015.html"
    code, _, err = run(capsys, "--db", sqlite_url, "ingest", str(page), "--source", "prnewswire")
    assert code == 0, err
    _, out, _ = run(capsys, "--db", sqlite_url, "articles", "--json")
    (stored,) = json.loads(out)
    assert (stored["published"], stored["date_source"], stored["source"]) == ("2015-04-29", "site", "prnewswire")


def test_rounds_lists_a_confirmed_rumour_only_when_asked(sqlite_url: str, capsys) -> None:
    store = Store(sqlite_url)
    rumour = round_("Acme", 20e6, round=None, status="rumored")
    store.save_article(
        article("https://a.example/talks/"), [rumour], source=None, listed_url="https://a.example/talks/"
    )
    store.save_article(
        article("https://b.example/raises/", published=dt.date(2024, 5, 20)),
        [round_("Acme", 21e6)],
        source=None,
        listed_url="https://b.example/raises/",
    )
    _, out, _ = run(capsys, "--db", sqlite_url, "rounds", "--json")
    (announced,) = json.loads(out)
    assert announced["rumor_sources"] == ["https://a.example/talks/"] and announced["announced"] == "2024-05-20"
    _, out, _ = run(capsys, "--db", sqlite_url, "rounds", "--json", "--with-confirmed-rumors")
    both = json.loads(out)
    assert [(r["status"], r["confirmed_by"]) for r in both] == [("announced", None), ("rumored", announced["id"])]


def test_ingest_reports_bad_pages_and_manifests_in_one_line(sqlite_url: str, tmp_path: Path, capsys) -> None:
    empty = tmp_path / "empty.html"
    empty.write_text("")
    code, _, err = run(capsys, "--db", sqlite_url, "ingest", str(empty), str(tmp_path / "missing.html"))
    assert code == 1
    assert err.count("skipped ") == 2 and "no page could be ingested" in err and "Traceback" not in err

    bad = tmp_path / "bad.tsv"
    bad.write_text("https://example.com/a\tpage.html\nnot-a-url\tpage.html\n")
    code, _, err = run(capsys, "--db", sqlite_url, "ingest", "--manifest", str(bad))
    assert code == 1 and f"{bad}:2: expected URL<TAB>PATH" in err and len(err.strip().splitlines()) == 1

    code, _, err = run(capsys, "--db", sqlite_url, "ingest")
    assert code == 2 and "give FILE arguments or --manifest TSV" in err


def test_a_manifest_reads_only_html_files_in_its_own_folder(
    shared: Path, sqlite_url: str, tmp_path: Path, capsys
) -> None:
    """Issue 17, class 10: an absolute path, a `../` path or a link leading out of the manifest's folder is a
    one-line refusal (nothing stored) unless --allow-outside; a file that is not HTML is skipped, saying so."""
    seed = shared / "seed" / "venturebeat-hugging-face-235m.html"
    folder = tmp_path / "saved"
    folder.mkdir()
    (folder / "page.html").write_bytes(seed.read_bytes())
    (folder / "out.html").symlink_to(seed)
    (folder / "notes.txt").write_text("Acme raised $5M in a seed round led by Example Ventures.\n" * 20)
    outside = {"absolute": str(seed), "parent": f"../{seed.name}", "link": "out.html"}
    (tmp_path / seed.name).write_bytes(seed.read_bytes())
    for kind, path in outside.items():
        manifest = folder / f"{kind}.tsv"
        manifest.write_text(f"https://venturebeat.com/a/\tpage.html\nhttps://venturebeat.com/b/\t{path}\n")
        code, _, err = run(capsys, "--db", sqlite_url, "ingest", "--manifest", str(manifest))
        assert code == 1 and f"{manifest}:2: {path} is outside the manifest's folder" in err, err
        assert len(err.strip().splitlines()) == 1
    assert not Path(sqlite_url.removeprefix("sqlite:///")).exists()  # refused before anything was stored
    code, out, err = run(
        capsys, "--db", sqlite_url, "ingest", "--manifest", str(folder / "link.tsv"), "--allow-outside"
    )
    assert code == 0 and "2 page(s): 1 new, 0 updated, 1 unchanged" in out, err  # one article, twice
    text = folder / "text.tsv"
    text.write_text("https://venturebeat.com/c/\tnotes.txt\nhttps://venturebeat.com/a/\tpage.html\n")
    code, out, err = run(capsys, "--db", sqlite_url, "ingest", "--manifest", str(text))
    assert code == 0 and f"skipped {folder / 'notes.txt'}: not an HTML page" in err and "1 skipped" in out


def test_sources_shows_last_runs_and_flags_failing_or_empty_sources(sqlite_url: str, capsys) -> None:
    store = Store(sqlite_url)
    for _ in range(3):  # a site that keeps failing
        store.runs.finish_run(
            store.runs.start_run("alpha", None), "failed", finish_reason="finished", counts={}, error="HTTP 500"
        )
    for _ in range(3):  # a site whose crawls keep finding nothing
        store.runs.finish_run(
            store.runs.start_run("beta", None), "ok", finish_reason="finished", counts={"requests": 2}
        )
    store.runs.finish_run(
        store.runs.start_run("alpha", None), "ok", finish_reason="finished", counts={"articles_new": 4}
    )
    store.runs.finish_run(
        store.runs.start_run("venturebeat", None),
        "ok",
        finish_reason="finished",
        counts={"articles_new": 6, "rounds_new": 2},
    )

    code, out, err = run(capsys, "--db", sqlite_url, "sources", "--json")
    assert code == 0, err
    by_name = {record["source"]: record for record in json.loads(out)}
    assert by_name["venturebeat"]["last_status"] == "ok" and by_name["venturebeat"]["last_rounds_new"] == 2
    assert by_name["alpha"]["flag"] is None  # its last run worked again
    assert by_name["alpha"]["error_rate"] == 0.75 and by_name["alpha"]["runs"] == 4
    assert by_name["beta"]["flag"] == "finding nothing"

    store.runs.finish_run(
        store.runs.start_run("alpha", None), "failed", finish_reason="finished", counts={}, error="DNS"
    )
    store.runs.finish_run(
        store.runs.start_run("alpha", None), "failed", finish_reason="finished", counts={}, error="DNS"
    )
    store.runs.finish_run(
        store.runs.start_run("alpha", None), "failed", finish_reason="finished", counts={}, error="DNS"
    )
    _, out, _ = run(capsys, "--db", sqlite_url, "sources")
    assert "failing" in out and "finding nothing" in out and "venturebeat" in out
    _, out, _ = run(capsys, "--db", sqlite_url, "sources", "--json")
    by_name = {record["source"]: record for record in json.loads(out)}
    assert by_name["alpha"]["flag"] == "failing" and "DNS" in by_name["alpha"]["reason"]
    assert "no new article" in by_name["beta"]["reason"]
    assert by_name["beta"]["median_delay_hours"] is None and by_name["beta"]["delay_articles"] == 0


def test_sources_shows_the_median_delay_from_publication_to_storage(sqlite_url: str, capsys) -> None:
    """Over the articles of the source's recent runs; one published weeks before it was stored is a backfill."""
    store = Store(sqlite_url)
    run_id = store.runs.start_run("venturebeat", None)
    now = dt.datetime.now(dt.UTC)
    for n, age in enumerate(
        (dt.timedelta(hours=2), dt.timedelta(hours=3), dt.timedelta(hours=10), dt.timedelta(days=40))
    ):
        published = now - age
        page = article(
            f"https://venturebeat.com/ai/story-{n}/", f"Story {n}.", published=published.date(), published_at=published
        )
        store.save_article(page, [], source="venturebeat", listed_url=page.url)
    store.runs.finish_run(run_id, "ok", finish_reason="finished", counts={"articles_new": 4})

    code, out, err = run(capsys, "--db", sqlite_url, "sources", "--json")
    assert code == 0, err
    record = next(r for r in json.loads(out) if r["source"] == "venturebeat")
    assert record["delay_articles"] == 3 and record["median_delay_hours"] == pytest.approx(3.0, abs=0.1)
    _, out, _ = run(capsys, "--db", sqlite_url, "sources")
    assert "3 h" in out


def test_runs_lists_crawl_runs_newest_first(sqlite_url: str, capsys) -> None:
    store = Store(sqlite_url)
    first = store.runs.start_run("venturebeat", None, started=dt.datetime(2026, 11, 24, 2, 30, tzinfo=dt.UTC))
    store.runs.finish_run(first, "ok", finish_reason="finished", counts={"articles_new": 5, "rounds_new": 2})
    second = store.runs.start_run("techcrunch", None, started=dt.datetime(2026, 11, 25, 3, 0, tzinfo=dt.UTC))
    store.runs.finish_run(
        second, "failed", finish_reason="finished", counts={}, error="no feed or sitemap could be read"
    )
    code, out, _ = run(capsys, "--db", sqlite_url, "runs", "--json")
    assert code == 0
    found = json.loads(out)
    assert [(r["source"], r["status"], r["articles_new"], r["rounds_new"]) for r in found] == [
        ("techcrunch", "failed", 0, 0),
        ("venturebeat", "ok", 5, 2),
    ]
    assert found[0]["error"] == "no feed or sitemap could be read" and found[1]["started"].startswith(
        "2026-11-24T02:30"
    )
    assert {"source", "status", "started", "finished", "articles_new", "rounds_new", "error"} <= set(found[0])
    _, out, _ = run(capsys, "--db", sqlite_url, "runs", "--source", "venturebeat", "--json")
    assert [r["source"] for r in json.loads(out)] == ["venturebeat"]
    code, out, _ = run(capsys, "--db", sqlite_url, "runs")
    assert code == 0 and "techcrunch" in out and "failed" in out


def test_text_from_the_network_loses_controls_and_bidi_overrides_before_a_terminal() -> None:
    """B22: escape sequences, C1 controls and the bidirectional overrides (U+202E shows "gpj.exe" as "exe.jpg")
    never reach the terminal; rich markup is escaped in tables."""
    from crawler.formatting import plain_text

    hostile = "Acme\x1b[2J\u202egpj.exe\u2066x\u2069\u200f\u061c\x85 [bold]raises[/bold]"
    assert plain_text(hostile) == "Acme[2Jgpj.exex [bold]raises[/bold]"
    assert safe_text(hostile) == "Acme[2Jgpj.exex \\[bold]raises\\[/bold]"
    assert plain_text("Zürich — 北京 $5M\ttab") == "Zürich — 北京 $5M\ttab"  # letters, symbols and tabs stay


def test_serve_says_in_one_line_why_it_cannot_start(tmp_path: Path, capsys) -> None:
    """Issue 17, class 12: a port another server holds, or a store that is not one, is exit status 1 and one
    line, before Datasette starts (it used to print a traceback of its own and exit 0 or hang)."""
    import socket

    store = f"sqlite:///{tmp_path / 'newsmon.db'}"
    Store(store).save_article(article(), [round_()], source="venturebeat", listed_url="u")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, _, err = run(capsys, "--db", store, "serve", "--port", str(port))
    assert code == 1 and f"cannot listen on 127.0.0.1:{port}" in err and len(err.strip().splitlines()) == 1
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not a database file at all " * 100)
    code, _, err = run(capsys, "--db", f"sqlite:///{garbage}", "serve", "--port", "0")
    assert code == 1 and "cannot read the store" in err and len(err.strip().splitlines()) == 1


def test_filters_take_values_as_people_write_them_and_name_the_nearest_for_a_typo(
    sqlite_url: str, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 18: `--round "Series D"` and `--currency euro` are understood; `--source venturebeet`,
    `--currency eur0` and `--round serie_d` are one line naming the nearest valid value, exit 2 (they used to
    return nothing with status 0, or be refused while the table printed `series d`)."""
    store = Store(sqlite_url)
    store.save_article(article(), [round_(round="series_d")], source="venturebeat", listed_url="u")
    store.save_article(
        article("https://a.example/eu/", "Acme EU raised money."),
        [round_("Acme EU", 5e6, currency="EUR", round="seed")],
        source="venturebeat",
        listed_url="e",
    )
    for argv, companies in [
        (["--round", "Series D"], ["Acme"]),
        (["--round", "series-d"], ["Acme"]),
        (["--currency", "euro"], ["Acme EU"]),
        (["--currency", "eur"], ["Acme EU"]),
        (["--source", "venturebeat"], ["Acme", "Acme EU"]),
        (["--status", "Announced"], ["Acme", "Acme EU"]),
        (["--status", "rumoured"], []),
    ]:
        code, out, err = run(capsys, "--db", sqlite_url, "rounds", "--json", *argv)
        assert code == 0, (argv, err)
        assert sorted(r["company"] for r in json.loads(out)) == companies, argv
    for argv, hint in [
        (["--source", "venturebeet"], "no source named 'venturebeet': did you mean venturebeat?"),
        (["--currency", "eur0"], "no currency 'eur0': did you mean EUR?"),
        (["--round", "serie_d"], "no round type 'serie_d': did you mean series_d?"),
        (["--status", "anounced"], "no status 'anounced': did you mean announced?"),
    ]:
        code, out, err = run(capsys, "--db", sqlite_url, "rounds", *argv)
        assert code == 2 and hint in err and out == "", (argv, err)

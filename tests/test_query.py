"""`newsmon rounds` filters, sorts and formats, and `newsmon export`, on a store built from the real corpus pages."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import json
import os
import stat
from pathlib import Path

import pytest

from crawler.cli import main, money
from crawler.output import csv_cell
from pipelines.dates import parse_query_date, today_utc
from storage import Store, main_evidence
from tests.test_storage import article, round_


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def corpus_store(shared: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """Every corpus page ingested once (15 rounds), shared by the tests of this module (read only)."""
    folder = tmp_path_factory.mktemp("query")
    labels = [json.loads(line) for line in (shared / "corpus" / "pages.jsonl").read_text().splitlines()]
    manifest = folder / "all.tsv"
    manifest.write_text("".join(f"{p['url']}\t{shared / 'corpus' / p['file']}\n" for p in labels))
    url = f"sqlite:///{folder / 'corpus.db'}"
    assert main(["--db", url, "ingest", "--manifest", str(manifest), "--allow-outside"]) == 0
    return url


def rounds(capsys: pytest.CaptureFixture[str], url: str, *argv: str) -> list[dict]:
    code, out, err = run(capsys, "--db", url, "rounds", "--json", *argv)
    assert code == 0, err
    return json.loads(out)


def names(found: list[dict]) -> list[str]:
    return [f"{r['company']} {r['amount']}" for r in found]


def test_each_filter_returns_exactly_the_matching_rounds(corpus_store: str, capsys) -> None:
    everything = rounds(capsys, corpus_store)
    assert len(everything) == 15

    def expect(rule) -> list[str]:  # noqa: ANN001 - the rule, applied to the full listing in Python
        return names([r for r in everything if rule(r)])

    big = rounds(capsys, corpus_store, "--min-amount", "30M")
    assert names(big) == expect(lambda r: (r["amount_usd"] or 0) >= 30e6) and len(big) == 7
    assert rounds(capsys, corpus_store, "--min-amount", "5M") == rounds(capsys, corpus_store, "--min-amount", "5000000")
    assert names(rounds(capsys, corpus_store, "--round", "series_c")) == expect(lambda r: r["round"] == "series_c")
    window = rounds(capsys, corpus_store, "--since", "2016-04-22", "--until", "2016-05-20")
    assert names(window) == expect(lambda r: "2016-04-22" <= r["announced"] <= "2016-05-20") and window
    scale = rounds(capsys, corpus_store, "--investor", "scale venture")
    led = rounds(capsys, corpus_store, "--investor", "scale venture", "--lead-only")
    assert names(scale) == expect(lambda r: "Scale Venture Partners" in r["investors"])
    assert names(led) == expect(lambda r: "Scale Venture Partners" in r["lead_investors"])
    assert len(led) == 2 and len(scale) > len(led)  # Forter and CircleCI's B led; JFrog and Agari only joined
    assert names(rounds(capsys, corpus_store, "--company", "circle")) == ["CircleCI 6000000", "CircleCI 18000000"]
    assert len(rounds(capsys, corpus_store, "--currency", "usd")) == len(expect(lambda r: r["currency"] == "USD"))
    assert rounds(capsys, corpus_store, "--status", "rumored") == []
    assert names(rounds(capsys, corpus_store, "--limit", "3")) == names(everything[:3])


def test_sorts(corpus_store: str, capsys) -> None:
    by_date = rounds(capsys, corpus_store)
    assert [r["announced"] for r in by_date] == sorted((r["announced"] for r in by_date), reverse=True)
    by_amount = rounds(capsys, corpus_store, "--sort", "amount")
    amounts = [r["amount_usd"] for r in by_amount]
    stated = [a for a in amounts if a is not None]
    assert stated == sorted(stated, reverse=True) and amounts[: len(stated)] == stated  # undisclosed last
    assert by_amount[0]["company"] == "Cabify"


def test_formats_carry_the_same_rounds(corpus_store: str, capsys) -> None:
    as_json = rounds(capsys, corpus_store, "--round", "series_c")
    _, out, _ = run(capsys, "--db", corpus_store, "rounds", "--round", "series_c", "--format", "jsonl")
    assert [json.loads(line) for line in out.splitlines()] == as_json
    _, out, _ = run(capsys, "--db", corpus_store, "rounds", "--round", "series_c", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(r["company"], float(r["amount"]), r["round"]) for r in rows] == [
        (r["company"], r["amount"], r["round"]) for r in as_json
    ]
    assert [r["investors"].split("; ") for r in rows] == [r["investors"] for r in as_json]
    _, out, _ = run(capsys, "--db", corpus_store, "rounds", "--round", "series_c")
    assert as_json and "series c" in out
    assert all(money(r["amount"], r["currency"]) in out for r in as_json)


def test_export_reads_back_escapes_formulas_and_never_overwrites(tmp_path: Path, capsys) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    store = Store(url)
    store.save_article(
        article("https://a.example/x/", title='=HYPERLINK("http://evil")'), [], source=None, listed_url="u"
    )
    store.save_article(
        article("https://a.example/y/", text_body="other", title="Acme raises $20M"), [], source=None, listed_url="v"
    )
    out = tmp_path / "articles.csv"
    code, said, err = run(capsys, "--db", url, "export", "articles", "--format", "csv", "--out", str(out))
    assert code == 0 and "2 articles written" in said, err
    with out.open(newline="", encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    assert sorted(r["title"] for r in rows) == ['\'=HYPERLINK("http://evil")', "Acme raises $20M"]
    assert sorted(r["url"] for r in rows) == ["https://a.example/x/", "https://a.example/y/"]
    before = out.read_bytes()
    code, _, err = run(capsys, "--db", url, "export", "articles", "--out", str(out))
    assert code == 1 and "exists: use --force" in err and out.read_bytes() == before
    code, _, _ = run(capsys, "--db", url, "export", "articles", "--format", "json", "--out", str(out), "--force")
    assert code == 0 and len(json.loads(out.read_text())) == 2


def test_export_never_writes_through_or_over_a_link_and_titles_are_only_cells(tmp_path: Path, capsys) -> None:
    """S2: --out naming a symlink (dangling or not) is refused, with --force too (only a regular file is ever
    replaced), and the file it points at is untouched; a file that appears while the export is written is not
    overwritten; a title holding `../` and a NUL is a CSV cell, not a path; an --out in a missing folder is a
    one-line error."""
    from crawler.output import replacing

    url = f"sqlite:///{tmp_path / 'store.db'}"
    Store(url).save_article(
        article("https://a.example/x/", title="../../etc/passwd\x00 raises $5M"), [], source=None, listed_url="u"
    )
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "kept.csv").write_text("precious")
    dangling, existing = tmp_path / "dangling.csv", tmp_path / "existing.csv"
    dangling.symlink_to(outside / "created-through-link.csv")
    existing.symlink_to(outside / "kept.csv")
    for link in (dangling, existing):
        code, _, err = run(capsys, "--db", url, "export", "articles", "--out", str(link))
        assert code == 1 and "exists: use --force" in err
    assert not (outside / "created-through-link.csv").exists()
    code, _, err = run(capsys, "--db", url, "export", "articles", "--out", str(existing), "--force")
    assert code == 1 and "not a regular file" in err
    assert existing.is_symlink() and (outside / "kept.csv").read_text() == "precious"
    existing.unlink()
    code, _, _ = run(capsys, "--db", url, "export", "articles", "--out", str(existing))
    with existing.open(newline="", encoding="utf-8") as stream:
        assert [r["title"] for r in csv.DictReader(stream)] == ["../../etc/passwd\x00 raises $5M"]
    written = sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("store.db"))
    assert written == ["dangling.csv", "elsewhere", "existing.csv"]  # no stray temporary file
    late = tmp_path / "late.csv"
    with pytest.raises(FileExistsError), replacing(late, overwrite=False) as stream:
        stream.write("ours")
        late.write_text("theirs")  # another process creates the name while the export is written
    assert late.read_text() == "theirs" and len(list(tmp_path.glob(".late.csv.*"))) == 0
    code, _, err = run(capsys, "--db", url, "export", "articles", "--out", str(tmp_path / "no" / "such.csv"))
    assert code == 1 and len(err.strip().splitlines()) == 1 and "cannot write" in err


def test_export_rounds_as_json_lines(corpus_store: str, tmp_path: Path, capsys) -> None:
    out = tmp_path / "rounds.jsonl"
    code, _, err = run(
        capsys, "--db", corpus_store, "export", "rounds", "--format", "jsonl", "--out", str(out), "--min-amount", "20M"
    )
    assert code == 0, err
    exported = [json.loads(line) for line in out.read_text().splitlines()]
    assert exported == rounds(capsys, corpus_store, "--min-amount", "20M")


@pytest.mark.parametrize(
    ("value", "escaped"),
    [
        ("=1+1", "'=1+1"),
        ("+49 30", "'+49 30"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("Acme", "Acme"),
    ],
)
def test_csv_cells_a_spreadsheet_would_run_are_escaped(value: str, escaped: str) -> None:
    assert csv_cell("title", value) == escaped
    assert csv_cell("amount", 5e6) == 5e6 and csv_cell("investors", ["A", "=B"]) == "A; =B"


def test_query_dates() -> None:
    today = dt.date(2026, 11, 26)
    assert parse_query_date("2024-05-01", today) == dt.date(2024, 5, 1)
    assert parse_query_date("7d", today) == dt.date(2026, 11, 19)
    assert parse_query_date("2w", today) == dt.date(2026, 11, 12)
    assert parse_query_date("yesterday", today) == dt.date(2026, 11, 25)
    assert parse_query_date("3 days ago", today) == dt.date(2026, 11, 23)
    for bad in ("", "soon-ish", "2024-02-30"):
        with pytest.raises(ValueError, match="not a date"):
            parse_query_date(bad, today)


def test_search_ranks_an_article_with_the_phrase_first(corpus_store: str, capsys) -> None:
    code, out, err = run(capsys, "--db", corpus_store, "search", "email security", "--json")
    assert code == 0, err
    hits = json.loads(out)
    assert len(hits) >= 2
    top = hits[0]
    assert "email security" in (top["title"] + " " + top["snippet"].replace("**", "")).casefold()
    assert "**" in top["snippet"]  # the matched words are marked
    code, out, _ = run(capsys, "--db", corpus_store, "search", '"email security"', "--json")
    phrase = json.loads(out)
    assert phrase and all("email security" in (h["title"] + h["snippet"].replace("**", "")).casefold() for h in phrase)
    assert {h["url"] for h in phrase} <= {h["url"] for h in hits}
    code, out, _ = run(capsys, "--db", corpus_store, "search", "email security", "--since", "2016-05-24", "--json")
    recent = json.loads(out)
    assert recent and all(h["published"] >= "2016-05-24" for h in recent)
    assert len(recent) == len([h for h in hits if h["published"] and h["published"] >= "2016-05-24"])
    code, out, _ = run(capsys, "--db", corpus_store, "search", "email security")
    assert code == 0 and "article(s) for email security" in out


@pytest.mark.parametrize("query", ["   ", '""', "( )", "... ;;"])
def test_a_search_with_nothing_to_search_for_is_one_line(corpus_store: str, capsys, query: str) -> None:
    code, out, err = run(capsys, "--db", corpus_store, "search", query)
    assert code == 1 and out == "" and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_searches_as_people_type_them_find_what_they_name(tmp_path: Path, capsys) -> None:
    """B20: punctuation inside a word ("e-commerce", "U.S.", "salesforce.com", "AI/ML", "Face's", "$235M"), a stray
    operator or quote reads as text; phrases, OR, NOT and prefix* keep their meaning."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    body = (
        "Hugging Face's e-commerce tools for the U.S. market raised $235M in a Series-D round led by "
        "salesforce.com, for AI/ML work."
    )
    Store(url).save_article(article("https://a.example/hf/", body), [], source="s", listed_url="x")
    Store(url).save_article(article("https://a.example/other/", "Nothing to see."), [], source="s", listed_url="y")
    queries = [
        "e-commerce", "series-d", "U.S.", "salesforce.com", "AI/ML", "Hugging Face's", "$235M",
        '"hugging face" OR zebra', "commerce NOT nothing", "salesf*", '"hugging face', "hugging AND", "OR face",
    ]  # fmt: skip
    for query in queries:
        code, out, err = run(capsys, "--db", url, "search", query, "--json")
        assert code == 0, (query, err)
        assert [hit["url"] for hit in json.loads(out)] == ["https://a.example/hf/"], query


def test_the_search_index_follows_article_updates(tmp_path: Path, capsys) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    store = Store(url)
    store.save_article(
        article("https://a.example/x/", text_body="Humanoid robots learn to walk."), [], source=None, listed_url="u"
    )
    _, out, _ = run(capsys, "--db", url, "search", "humanoid", "--json")
    assert [h["url"] for h in json.loads(out)] == ["https://a.example/x/"]
    store.save_article(
        article("https://a.example/x/", text_body="Quadruped machines learn to run."), [], source=None, listed_url="u"
    )
    _, out, _ = run(capsys, "--db", url, "search", "humanoid", "--json")
    assert json.loads(out) == []
    _, out, _ = run(capsys, "--db", url, "search", "quadruped", "--json")
    assert [h["url"] for h in json.loads(out)] == ["https://a.example/x/"]


def test_stats_add_up_to_the_rounds(corpus_store: str, capsys) -> None:
    everything = rounds(capsys, corpus_store)
    code, out, err = run(capsys, "--db", corpus_store, "stats", "--format", "json")
    assert code == 0, err
    figures = json.loads(out)
    assert figures["rounds"] == len(everything) == sum(week["rounds"] for week in figures["by_week"])
    disclosed = sum(r["amount_usd"] or 0 for r in everything)
    assert figures["usd"] == disclosed == pytest.approx(sum(week["usd"] for week in figures["by_week"]))
    assert figures["undisclosed"] == sum(1 for r in everything if r["amount"] is None)
    by_round = {row["round"]: row["rounds"] for row in figures["by_round"]}
    assert by_round["series_c"] == sum(1 for r in everything if r["round"] == "series_c")
    # the leads ranked by rounds led, then by the money of those rounds, as the full listing gives them
    led: dict[str, list[dict]] = {}
    for r in everything:
        for name in r["lead_investors"]:
            led.setdefault(name, []).append(r)
    top = max(led, key=lambda n: (len(led[n]), sum(r["amount_usd"] or 0 for r in led[n])))
    assert figures["top_leads"][0]["investor"] == top
    assert figures["top_leads"][0]["rounds"] == len(led[top]) >= 2
    assert sum(row["articles"] for row in figures["busiest_sources"]) == 104  # every stored corpus page
    code, out, _ = run(capsys, "--db", corpus_store, "stats", "--since", "2016-05-01")
    recent = [r for r in everything if r["announced"] >= "2016-05-01"]
    assert code == 0 and f"{len(recent)} round(s)" in out and "█" in out


def test_digest_lists_the_rounds_since_a_date_with_totals(corpus_store: str, capsys) -> None:
    code, out, err = run(capsys, "--db", corpus_store, "digest", "--since", "2016-05-16")
    assert code == 0, err
    assert out.startswith("# Funding rounds since 2016-05-16") and "3 round(s), $46M disclosed in total" in out
    assert out.count("\n| 20") == 3
    agari = next(r for r in rounds(capsys, corpus_store, "--company", "Agari"))
    row = next(line for line in out.splitlines() if "[Agari](" in line)
    # the company links to its first article; the row says why (its sentence) and links every article
    assert row.startswith(f"| {agari['announced']} | [Agari](<{agari['sources'][0]}>) | $22M | series d |")
    assert main_evidence(agari["evidence"]) in row.replace("\\", "") and "Norwest Venture Partners" in row
    assert [f"[{n}](<{url}>)" in row for n, url in enumerate(agari["sources"], 1)] == [True] * 3
    _, page, _ = run(capsys, "--db", corpus_store, "digest", "--since", "2016-05-16", "--format", "html")
    assert f'<a href="{html.escape(agari["sources"][0])}">Agari</a>' in page
    assert html.escape(main_evidence(agari["evidence"])) in page


def test_the_rounds_table_fits_80_columns_and_shows_each_rounds_sentence_and_links(
    corpus_store: str, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    everything = rounds(capsys, corpus_store)
    monkeypatch.setenv("COLUMNS", "80")
    code, out, err = run(capsys, "--db", corpus_store, "rounds")
    assert code == 0, err
    lines = out.splitlines()
    urls = {url for r in everything for url in r["sources"]}
    # only a link may run past 80 columns (it is never broken, so the terminal still opens it)
    assert [line for line in lines if len(line) > 80 and line.strip() not in urls] == []
    words = " ".join(out.split())
    for found in everything:
        assert f" {found['company']} " in words  # never cut to "Huggi… Face"
        assert " ".join(main_evidence(found["evidence"]).split()) in words
        assert all(f"    {url}" in lines for url in found["sources"])
    monkeypatch.setenv("COLUMNS", "200")
    code, wide, _ = run(capsys, "--db", corpus_store, "rounds", "--wide")
    header = " ".join(wide.split())
    assert code == 0 and all(name in header for name in ("Valuation", "Other investors", "Evidence", "Sources"))


def test_csv_gives_each_round_its_sentence(corpus_store: str, capsys) -> None:
    everything = rounds(capsys, corpus_store)
    code, out, _ = run(capsys, "--db", corpus_store, "rounds", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and len(rows) == len(everything)
    assert [row["evidence"] for row in rows] == [csv_cell("evidence", main_evidence(r["evidence"])) for r in everything]
    assert all(row["evidence"] for row in rows)  # every detected round says where it was read


def test_the_lead_investor_bars_measure_the_money_they_led(corpus_store: str, capsys) -> None:
    code, out, _ = run(capsys, "--db", corpus_store, "stats")
    section = out[out.index("Top lead investors") : out.index("Busiest sources")]
    bars = [line.count("█") for line in section.splitlines() if "█" in line]
    assert code == 0 and len(bars) >= 5 and len(set(bars)) > 1 and max(bars) == 30


def test_html_digest_escapes_what_pages_said(tmp_path: Path, capsys) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    store = Store(url)
    found = {
        "company": "<script>alert(1)</script> Labs",
        "amount": 5e6,
        "currency": "USD",
        "amount_usd": 5e6,
        "round": "seed",
        "lead_investors": ["A|B Capital"],
        "investors": ["A|B Capital"],
        "valuation": None,
        "status": "announced",
        "confidence": 0.9,
    }
    store.save_article(article("https://a.example/x/", published=today_utc()), [found], source=None, listed_url="u")
    _, page, _ = run(capsys, "--db", url, "digest", "--format", "html", "--since", "7d")
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; Labs" in page and "<table>" in page
    _, markdown, _ = run(capsys, "--db", url, "digest", "--since", "7d")
    assert "A\\|B Capital" in markdown  # a pipe in a cell does not split the Markdown table


@pytest.mark.slow
def test_queries_in_a_loop_never_see_a_locked_database_while_a_crawl_writes(tmp_path: Path) -> None:
    """A reader (rounds, articles, search, stats' source counts) polling while a crawl stores 20 articles."""
    import subprocess
    import sys

    from crawler.replay import settings_args
    from storage import articles_per_source, list_articles, list_rounds, search_articles
    from tests.support.crawling import PROJECT_ROOT
    from tests.support.httpsite import Site, serve
    from tests.support.seeds import local_site, write_local_seed
    from tests.test_scheduler import FAST

    url = f"sqlite:///{tmp_path / 'newsmon.db'}"
    Store(url)  # the schema exists before the reader starts
    with serve(Site()) as site:
        local_site(site, 20, delay=0.1)
        write_local_seed(tmp_path / "seeds", "busy", site.base_url)
        settings = {**FAST, "NEWSMON_SEEDS_DIR": str(tmp_path / "seeds"), "NEWSMON_DB_URL": url}
        crawl = subprocess.Popen(
            [sys.executable, "-m", "scrapy", "crawl", "busy", *settings_args(settings)],
            cwd=PROJECT_ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        reads, seen = 0, 0
        while crawl.poll() is None:
            seen = len(list_articles(url))
            list_rounds(url)
            search_articles(url, "company")
            articles_per_source(url)
            reads += 1
        _, stderr = crawl.communicate(timeout=60)
    assert crawl.returncode == 0 and "locked" not in stderr, stderr[-2000:]
    assert reads > 10 and len(list_articles(url)) == 20 and seen <= 20


@pytest.mark.slow
def test_serve_shows_the_rounds_view_read_only_over_http(tmp_path: Path) -> None:
    import urllib.error
    import urllib.request

    from tests.support.serving import newsmon_serving

    db = tmp_path / "newsmon.db"
    Store(f"sqlite:///{db}").save_article(article(), [round_("Acme Robotics", 40e6)], source=None, listed_url="u")
    with newsmon_serving(db=f"sqlite:///{db}") as base:
        with urllib.request.urlopen(f"{base}/newsmon/funding_rounds_view.json?_shape=array", timeout=5) as reply:
            rows = json.load(reply)
        assert [(r["company"], r["amount"], json.loads(r["leads"])) for r in rows] == [
            ("Acme Robotics", 40e6, ["Sequoia Capital"])
        ]
        with urllib.request.urlopen(f"{base}/", timeout=5) as reply:  # the front page is the view
            assert "/newsmon/funding_rounds_view?" in reply.url
        with urllib.request.urlopen(f"{base}/-/metadata.json", timeout=5) as reply:  # columns are described
            columns = json.load(reply)["databases"]["newsmon"]["tables"]["funding_rounds_view"]["columns"]
        assert columns["outlet_count"] == "How many outlets reported it."
        request = urllib.request.Request(
            f"{base}/newsmon.json?sql=" + urllib.request.quote("DELETE FROM articles"), method="GET"
        )
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(request, timeout=5)
    with pytest.raises(urllib.error.URLError):  # Datasette went with it (no server left holding the port)
        urllib.request.urlopen(f"{base}/", timeout=5)
    from storage import list_articles

    assert len(list_articles(f"sqlite:///{db}")) == 1  # the DELETE was refused: the store is read-only


def test_no_clobber_export_works_without_hard_links(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On a file system without hard links (vfat, exFAT) the name is claimed with O_EXCL, then replaced."""
    import os

    from crawler.output import replacing

    def no_links(*args: object, **kwargs: object) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    out = tmp_path / "out.csv"
    with replacing(out, overwrite=False) as stream:
        stream.write("first")
    assert out.read_text() == "first"
    with pytest.raises(FileExistsError), replacing(out, overwrite=False) as stream:
        stream.write("second")
    assert out.read_text() == "first" and [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_exports_get_the_umask_mode_and_a_forced_export_keeps_the_replaced_files_mode(tmp_path: Path, capsys) -> None:
    """B21: a new export is 0644 under umask 022 (not the temporary file's 0600); --force over a regular file keeps
    its mode; --force over a folder or a link is refused in one line (test above: links)."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    Store(url).save_article(article("https://a.example/x/"), [round_()], source=None, listed_url="u")
    old_umask = os.umask(0o022)
    try:
        fresh = tmp_path / "fresh.csv"
        assert run(capsys, "--db", url, "export", "rounds", "--out", str(fresh))[0] == 0
        assert stat.S_IMODE(fresh.stat().st_mode) == 0o644
        fresh.chmod(0o640)
        assert run(capsys, "--db", url, "export", "rounds", "--out", str(fresh), "--force")[0] == 0
        assert stat.S_IMODE(fresh.stat().st_mode) == 0o640
        folder = tmp_path / "folder.csv"
        folder.mkdir()
        code, _, err = run(capsys, "--db", url, "export", "rounds", "--out", str(folder), "--force")
        assert code == 2 and "is a directory" in err and len(err.strip().splitlines()) == 1 and folder.is_dir()
    finally:
        os.umask(old_umask)


@pytest.mark.parametrize("typed", ["circleci", "CircleCI, Inc.", "Círcle-CI", "\u0421ircle\u0421I"])  # Cyrillic С
def test_a_company_is_found_however_its_name_is_typed(corpus_store: str, capsys, typed: str) -> None:
    expected = [r for r in rounds(capsys, corpus_store) if r["company"] == "CircleCI"]
    code, out, err = run(capsys, "--db", corpus_store, "company", typed, "--json")
    assert code == 0, err
    assert json.loads(out) == expected and len(expected) == 2  # both rounds, newest first, as `rounds` gives them
    code, out, _ = run(capsys, "--db", corpus_store, "company", typed)
    words = " ".join(out.split())
    assert code == 0 and "CircleCI: 2 round(s), $24M disclosed" in words
    assert all(url in out for r in expected for url in r["sources"])


def test_a_company_view_tells_a_story_with_the_rumour_before_it(tmp_path: Path, capsys) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    store = Store(url)
    rumour = round_("Zeta Robotics", 50e6, status="rumored", evidence={"status": "Zeta is reportedly raising $50M."})
    store.save_article(
        article("https://a.example/r/", published=dt.date(2024, 5, 1)), [rumour], source="s", listed_url="1"
    )
    store.save_article(
        article("https://b.example/a/", "Zeta raised.", published=dt.date(2024, 5, 20)),
        [round_("Zeta Robotics Inc.", 52e6)],
        source="s",
        listed_url="2",
    )
    code, out, err = run(capsys, "--db", url, "company", "zeta", "--json")
    story = json.loads(out)
    assert code == 0, err
    assert [(r["status"], r["sources"]) for r in story] == [
        ("announced", ["https://b.example/a/"]),
        ("rumored", ["https://a.example/r/"]),
    ]
    assert story[1]["confirmed_by"] == story[0]["id"]


def test_an_investor_shows_rounds_led_and_joined_with_totals(corpus_store: str, capsys) -> None:
    everything = rounds(capsys, corpus_store)
    code, out, err = run(capsys, "--db", corpus_store, "investor", "scale venture partners", "--json")
    assert code == 0, err
    found = json.loads(out)
    led = [r for r in everything if "Scale Venture Partners" in r["lead_investors"]]
    joined = [r for r in everything if "Scale Venture Partners" in r["investors"] and r not in led]
    assert [r["id"] for r in found] == [r["id"] for r in everything if r in led or r in joined]  # newest first
    assert {r["id"]: r["role"] for r in found} == {
        **{r["id"]: "lead" for r in led},
        **{r["id"]: "participant" for r in joined},
    }
    code, out, _ = run(capsys, "--db", corpus_store, "investor", "SCALE VENTURE PARTNERS")
    led_usd = money(sum(r["amount_usd"] for r in led), "USD")
    assert code == 0 and f"Scale Venture Partners: led {len(led)} round(s), {led_usd} disclosed" in " ".join(
        out.split()
    )
    # an alias names the same investor
    code, out, _ = run(capsys, "--db", corpus_store, "investor", "a16z", "--json")
    assert (
        {r["company"] for r in json.loads(out)}
        == {r["company"] for r in everything if "Andreessen Horowitz" in r["investors"]}
        != set()
    )


@pytest.mark.parametrize(
    ("command", "typed", "nearest"),
    [("company", "Circle CY", "CircleCI"), ("investor", "Sequoya Capital", "Sequoia Capital")],
)
def test_a_name_nobody_reported_is_one_line_naming_the_nearest(
    corpus_store: str, capsys, command: str, typed: str, nearest: str
) -> None:
    code, out, err = run(capsys, "--db", corpus_store, command, typed)
    assert (code, out) == (1, "")
    assert err.startswith(f"newsmon: no {command} named {typed!r} in the store; nearest: {nearest}")
    assert err.count("\n") == 1


def test_a_name_shorter_than_a_stem_finds_the_company_it_begins(tmp_path: Path, capsys) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    Store(url).save_article(article(), [round_("1X Technologies", 100e6)], source="s", listed_url="u")
    for typed in ("1x", "1X Technologies AS"):
        code, out, err = run(capsys, "--db", url, "company", typed, "--json")
        assert code == 0 and [r["company"] for r in json.loads(out)] == ["1X Technologies"], (typed, err)


def test_a_digest_links_only_web_urls(tmp_path: Path, capsys) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    Store(url).save_article(
        article("javascript:alert(1)//x", published=today_utc()), [round_("Evil", 5e6)], source=None, listed_url="u"
    )
    for fmt in ("html", "md"):
        code, page, _ = run(capsys, "--db", url, "digest", "--since", "7d", "--format", fmt)
        assert code == 0 and "Evil" in page and "javascript:" not in page, fmt

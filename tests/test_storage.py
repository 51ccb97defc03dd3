"""The store: idempotent upserts, round merging, the plain-SQL view, queries; on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from pipelines.extract import Article
from pipelines.names import name_key
from storage import RoundFilters, Store, StoreError, list_articles, list_rounds, list_runs
from storage.engine import migrate
from storage.models import Base, not_managed


def article(url: str = "https://venturebeat.com/ai/acme/", text_body: str = "Acme raised money.", **kw) -> Article:
    import hashlib

    fields = {
        "url": url,
        "title": "Acme raises $20M",
        "author": "Jane Doe",
        "text": text_body,
        "language": "en",
        "published": dt.date(2024, 5, 1),
        "date_source": "jsonld",
        "content_hash": hashlib.sha256(text_body.encode()).hexdigest(),
    }
    fields.update(kw)
    return Article(**fields)


def round_(company: str = "Acme", amount: float | None = 20e6, **kw) -> dict:
    found = {
        "company": company,
        "amount": amount,
        "currency": "USD",
        "amount_usd": amount,
        "round": "series_a",
        "lead_investors": ["Sequoia Capital"],
        "investors": ["Sequoia Capital", "Accel"],
        "valuation": None,
        "status": "announced",
        "confidence": 0.9,
        "evidence": {"company": "Acme has raised $20M in a Series A round.", "amount": "Acme raises $20M"},
    }
    found.update(kw)
    return found


def test_save_is_idempotent(db_url: str) -> None:
    store = Store(db_url)
    first = store.save_article(article(), [round_()], source="venturebeat", listed_url="https://venturebeat.com/x")
    again = store.save_article(article(), [round_()], source="venturebeat", listed_url="https://venturebeat.com/x")
    assert (first.outcome, first.rounds_new) == ("new", 1)
    assert again.outcome == "unchanged"
    rounds = list_rounds(db_url)
    assert len(rounds) == 1
    assert rounds[0].as_json() == {
        "id": rounds[0].id,
        "company": "Acme",
        "amount": 20000000,
        "currency": "USD",
        "amount_usd": 20000000,
        "round": "series_a",
        "lead_investors": ["Sequoia Capital"],
        "investors": ["Sequoia Capital", "Accel"],
        "valuation": None,
        "status": "announced",
        "confidence": 0.9,
        "sources": ["https://venturebeat.com/ai/acme/"],
        "announced": "2024-05-01",
        "outlets": 1,
        "confirmed_by": None,
        "rumor_sources": [],
        "evidence": {"company": "Acme has raised $20M in a Series A round.", "amount": "Acme raises $20M"},
        "filing": False,
        "filed_for": None,
        "filings": [],
    }
    with store.engine.connect() as connection:  # plain SQL shows the same sentences
        row = connection.execute(
            text("SELECT company_evidence, amount_evidence, investors_evidence FROM funding_rounds_view")
        ).one()
    assert tuple(row) == ("Acme has raised $20M in a Series A round.", "Acme raises $20M", None)
    assert [a.as_json() for a in list_articles(db_url)] == [
        {
            "url": "https://venturebeat.com/ai/acme/",
            "source": "venturebeat",
            "title": "Acme raises $20M",
            "author": "Jane Doe",
            "published": "2024-05-01",
            "date_source": "jsonld",
            "language": "en",
            "rounds": 1,
        }
    ]


def test_changed_article_replaces_its_rounds(db_url: str) -> None:
    store = Store(db_url)
    store.save_article(article(), [round_()], source="venturebeat", listed_url="u")
    result = store.save_article(
        article(text_body="Corrected: Acme raised $25M."),
        [round_(amount=25e6, round="series_b")],
        source="venturebeat",
        listed_url="u",
    )
    assert result.outcome == "updated"
    rounds = list_rounds(db_url)
    assert [(r.amount, r.round) for r in rounds] == [(25e6, "series_b")]
    assert len(list_articles(db_url)) == 1


def test_article_that_loses_its_round(db_url: str) -> None:
    store = Store(db_url)
    store.save_article(article(), [round_()], source="venturebeat", listed_url="u")
    store.save_article(article(text_body="Acme denies raising money."), [], source="venturebeat", listed_url="u")
    assert list_rounds(db_url) == []
    assert list_articles(db_url)[0].rounds == 0


def test_two_outlets_one_round(db_url: str) -> None:
    store = Store(db_url)
    store.save_article(
        article("https://a.example/acme/"),
        [round_(round=None, investors=["Sequoia Capital"])],
        source="venturebeat",
        listed_url="a",
    )
    store.save_article(
        article("https://b.example/acme/", published=dt.date(2024, 5, 3)),
        [round_("Acme Inc.", amount=20.5e6, valuation=100e6, lead_investors=[], investors=["Accel", "GV"])],
        source="other",
        listed_url="b",
    )
    rounds = list_rounds(db_url)
    assert len(rounds) == 1
    merged = rounds[0]
    assert merged.sources == ["https://a.example/acme/", "https://b.example/acme/"]
    assert merged.announced == dt.date(2024, 5, 1)
    assert merged.round == "series_a"
    assert merged.valuation == 100e6
    assert merged.lead_investors == ["Sequoia Capital"]
    assert merged.investors == ["Sequoia Capital", "Accel", "GV"]


def test_different_rounds_stay_apart(db_url: str) -> None:
    store = Store(db_url)
    store.save_article(article("https://a.example/1/"), [round_()], source="s", listed_url="1")
    store.save_article(
        article("https://a.example/2/"), [round_(amount=60e6, round="series_b")], source="s", listed_url="2"
    )
    store.save_article(
        article("https://a.example/3/", published=dt.date(2024, 9, 1)), [round_()], source="s", listed_url="3"
    )
    assert len(list_rounds(db_url)) == 3


def test_filters_use_literal_matching(db_url: str) -> None:
    store = Store(db_url)
    store.save_article(article("https://a.example/1/"), [round_("Acme_Robotics")], source="venturebeat", listed_url="1")
    store.save_article(
        article("https://a.example/2/", published=dt.date(2024, 6, 1)),
        [round_("Beta 100% AI", amount=5e6, round="seed", lead_investors=["a16z"], investors=[])],
        source="techcrunch",
        listed_url="2",
    )

    def companies(**filters: object) -> list[str]:
        return [r.company for r in list_rounds(db_url, RoundFilters(**filters))]

    assert companies() == ["Beta 100% AI", "Acme_Robotics"]
    assert companies(company="100%") == ["Beta 100% AI"]
    assert companies(company="e_R") == ["Acme_Robotics"]
    assert companies(company="%") == ["Beta 100% AI"]
    assert companies(company="' OR 1=1 --") == []
    assert companies(investor="sequoia") == ["Acme_Robotics"]
    assert companies(min_amount=10e6) == ["Acme_Robotics"]
    assert companies(round="seed") == ["Beta 100% AI"]
    assert companies(source="techcrunch") == ["Beta 100% AI"]
    assert companies(since=dt.date(2024, 5, 15)) == ["Beta 100% AI"]
    assert companies(until=dt.date(2024, 5, 15)) == ["Acme_Robotics"]
    assert companies(limit=1) == ["Beta 100% AI"]
    assert [a.url for a in list_articles(db_url, source="venturebeat")] == ["https://a.example/1/"]
    assert [a.url for a in list_articles(db_url, since=dt.date(2024, 5, 15))] == ["https://a.example/2/"]


def test_view_gives_one_row_per_round(db_url: str) -> None:
    store = Store(db_url)
    store.save_article(article("https://a.example/1/"), [round_()], source="s", listed_url="1")
    store.save_article(article("https://b.example/1/"), [round_()], source="s", listed_url="2")
    with store.engine.connect() as connection:
        rows = connection.execute(text("SELECT * FROM funding_rounds_view")).mappings().all()
    assert len(rows) == 1
    row = rows[0]
    arrays = [row[name] if isinstance(row[name], list) else json.loads(row[name]) for name in ARRAYS]
    # one JSON array value per investor, source and outlet: SQL (json_each) and Datasette's facets count them
    assert (row["company"], *arrays) == (
        "Acme",
        ["Sequoia Capital"],
        ["Sequoia Capital", "Accel"],
        ["https://a.example/1/", "https://b.example/1/"],
        ["a.example", "b.example"],
    )
    assert (row["source_count"], row["outlet_count"]) == (2, 2)
    assert row["evidence"] == "Acme raises $20M"  # the sentence with the money
    assert row["company_evidence"] == "Acme has raised $20M in a Series A round."


ARRAYS = ("leads", "investors", "sources", "outlets")


def test_the_view_gives_a_round_without_investors_or_evidence_empty_arrays(db_url: str) -> None:
    store = Store(db_url)
    store.save_article(article(), [round_(lead_investors=[], investors=[], evidence={})], source="s", listed_url="1")
    with store.engine.connect() as connection:
        row = connection.execute(text("SELECT * FROM funding_rounds_view")).mappings().one()
    assert [row[name] if isinstance(row[name], list) else json.loads(row[name]) for name in ARRAYS[:2]] == [[], []]
    assert row["evidence"] is None


def test_known_urls_matches_article_and_fetched_urls(db_url: str) -> None:
    store = Store(db_url)
    store.save_article(
        article("https://a.example/canonical/"), [], source="s", listed_url="https://a.example/feed-url/"
    )
    assert store.known_urls(
        ["https://a.example/canonical/", "https://a.example/feed-url/", "https://a.example/new/"]
    ) == {
        "https://a.example/canonical/",
        "https://a.example/feed-url/",
    }


def test_migrations_match_the_models(db_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    store = Store(db_url)
    with store.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"include_name": not_managed})
        differences = compare_metadata(context, Base.metadata)
        assert differences == []
        assert "funding_rounds_view" in inspect(connection).get_view_names()
    migrate(store.engine)  # a second run is a no-op


def test_the_schema_revision_constant_is_the_newest_migration() -> None:
    """Stores are opened without Alembic when stamped SCHEMA_REVISION: it must be the scripts' head."""
    from alembic.script import ScriptDirectory

    from storage.engine import SCHEMA_REVISION, alembic_config

    assert ScriptDirectory.from_config(alembic_config()).get_current_head() == SCHEMA_REVISION


def test_upgrade_from_the_first_schema_keeps_data_and_fills_what_is_new(db_url: str) -> None:
    """A store written at revision 0001 (a rumour and the announcement that confirms it, two outlets' articles)
    upgrades with outlets, reports, name stems and the rumour's link filled in, and keeps merging afterwards."""
    from alembic import command

    from storage.engine import alembic_config

    engine = create_engine(db_url)
    with engine.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
        ids = {}
        for n, url in enumerate(["https://www.venturebeat.com/a/", "https://uk.reuters.com/b/"], 1):
            ids[f"article{n}"] = connection.execute(
                text(
                    "INSERT INTO articles (url, tags, text, content_hash, first_seen, updated_at) VALUES "
                    "(:url, '[]', 'x', :hash, '2024-05-01 00:00:00+00', '2024-05-01 00:00:00+00') RETURNING id"
                ),
                {"url": url, "hash": f"h{n}"},
            ).scalar_one()
        for n, status, amount, day in [(1, "rumored", 20e6, "2024-04-01"), (2, "announced", 21e6, "2024-05-01")]:
            ids[f"round{n}"] = connection.execute(
                text(
                    "INSERT INTO funding_rounds (company, company_key, amount, currency, amount_usd, status,"
                    " announced, evidence, created_at, updated_at) VALUES ('Acme Inc.', 'acme', :amount, 'USD',"
                    " :amount, :status, :day, '{}', '2024-05-01 00:00:00+00', '2024-05-01 00:00:00+00') RETURNING id"
                ),
                {"amount": amount, "status": status, "day": day},
            ).scalar_one()
            connection.execute(
                text("INSERT INTO round_articles (round_id, article_id) VALUES (:round, :article)"),
                {"round": ids[f"round{n}"], "article": ids[f"article{n}"]},
            )
        investor = connection.execute(
            text("INSERT INTO investors (name, key) VALUES ('Sequoia Capital', 'sequoiacapital') RETURNING id")
        ).scalar_one()
        connection.execute(
            text("INSERT INTO round_investors (round_id, investor_id, role, position) VALUES (:round, :id, 'lead', 0)"),
            {"round": ids["round2"], "id": investor},
        )
    engine.dispose()
    store = Store(db_url)  # migrates to the newest revision
    with store.engine.connect() as connection:
        assert sorted(connection.execute(text("SELECT url, outlet FROM articles")).all()) == [
            ("https://uk.reuters.com/b/", "reuters.com"),
            ("https://www.venturebeat.com/a/", "venturebeat.com"),
        ]
        rows = connection.execute(text("SELECT id, confirmed_by, name_stem FROM funding_rounds ORDER BY id")).all()
        assert rows == [(ids["round1"], ids["round2"], "acm"), (ids["round2"], None, "acm")]
    (announced,) = list_rounds(db_url)
    assert announced.rumor_sources == ["https://www.venturebeat.com/a/"]
    assert announced.lead_investors == ["Sequoia Capital"]
    store.save_article(  # a third report joins the upgraded round
        article("https://techcrunch.com/c/", published=dt.date(2024, 5, 2)),
        [round_("Acme", 21e6)],
        source=None,
        listed_url="https://techcrunch.com/c/",
    )
    (announced,) = list_rounds(db_url)
    assert len(announced.sources) == 2 and announced.announced == dt.date(2024, 5, 1)


def test_checkpoint_truncates_the_write_ahead_log_unless_a_reader_holds_an_old_snapshot(tmp_path: Path) -> None:
    """A crawl ends with `Store.checkpoint()`: the -wal file goes back to 0 bytes; while a reader keeps a read
    transaction open it stays (after about a second, not the 30 s busy timeout), and the next checkpoint
    empties it once the reader is gone (reliability guide: matrix row L4)."""
    import sqlite3
    import time

    path = tmp_path / "ckpt.db"
    store = Store(f"sqlite:///{path}")
    wal = Path(f"{path}-wal")
    for n in range(30):
        store.save_article(
            article(f"https://c.example/{n}/", text_body=f"body {n} " * 200), [], source="s", listed_url=""
        )
    reader = sqlite3.connect(path)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM articles").fetchone()  # holds this snapshot
    store.save_article(article("https://c.example/late/", text_body="late " * 300), [], source="s", listed_url="")
    started = time.monotonic()
    store.checkpoint()
    assert time.monotonic() - started < 5 and wal.stat().st_size > 0
    reader.rollback()
    reader.close()
    store.checkpoint()
    assert not wal.exists() or wal.stat().st_size == 0  # the last connection to close removes it
    assert len(store.known_urls(f"https://c.example/{n}/" for n in range(30))) == 30


def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'wal.db'}")
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_queries_are_read_only_and_need_a_store(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no store at"):
        list_rounds(f"sqlite:///{tmp_path / 'missing.db'}")
    url = f"sqlite:///{tmp_path / 'ro.db'}"
    Store(url).save_article(article(), [round_()], source="s", listed_url="u")
    from storage.engine import reader_engine

    with reader_engine(url).connect() as connection, pytest.raises(Exception, match="readonly"):
        connection.exec_driver_sql("DELETE FROM funding_rounds")


def test_failed_write_leaves_nothing_half_written(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'atomic.db'}"
    store = Store(url)
    bad = round_(lead_investors=["x" * 10], investors=None)
    bad["company"] = None  # violates NOT NULL after the article row was written in the same transaction
    with pytest.raises(Exception):  # noqa: B017 - any database error; the point is what is left behind
        store.save_article(article(), [bad], source="s", listed_url="u")
    assert list_articles(url) == []


def test_bad_url_is_one_line() -> None:
    with pytest.raises(StoreError, match="not a database URL"):
        Store("sqlite:not a url")
    with pytest.raises(StoreError, match="not a database URL"):
        Store("postgresql://host:port/db")


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("Hugging Face, Inc.", "huggingface"),
        ("Mistral AI", "mistralai"),
        ("Écoute SAS", "ecoute"),
        ("dbt Labs", "dbtlabs"),
    ],
)
def test_name_keys(name: str, key: str) -> None:
    assert name_key(name) == key


def test_long_free_text_is_stored_on_every_database(db_url: str) -> None:
    store = Store(db_url)
    long_url = "https://a.example/" + "x" * 3000
    store.save_article(
        article(long_url, author="A" * 5000, site_name="S" * 1000), [round_("C" * 2000)], source="s", listed_url="u"
    )
    assert list_articles(db_url)[0].author == "A" * 5000
    assert list_rounds(db_url)[0].company == "C" * 2000


def test_concurrent_writers_store_one_article_and_one_round(db_url: str) -> None:
    """Several crawls saving the same report at once (writers queue on SQLite, race on PostgreSQL)."""
    from concurrent.futures import ThreadPoolExecutor

    store = Store(db_url)

    def save(i: int) -> str:
        found = round_(investors=["Sequoia Capital", "Accel", f"Angel {i}"])
        return store.save_article(article(), [found], source="venturebeat", listed_url=f"https://l.example/{i}").outcome

    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = list(pool.map(save, range(8)))
    assert outcomes.count("new") == 1 and outcomes.count("unchanged") == 7
    assert len(list_articles(db_url)) == 1
    assert len(list_rounds(db_url)) == 1
    assert store.known_urls(f"https://l.example/{i}" for i in range(8)) == {f"https://l.example/{i}" for i in range(8)}


def test_crawl_runs_and_last_success(db_url: str) -> None:
    store = Store(db_url)
    assert store.runs.last_success("venturebeat") is None
    failed = store.runs.start_run("venturebeat", dt.date(2024, 1, 1))
    store.runs.finish_run(failed, "failed", finish_reason="finished", counts={"errors": 3}, error="no feed")
    assert store.runs.last_success("venturebeat") is None
    ok = store.runs.start_run("venturebeat", None)
    store.runs.finish_run(ok, "ok", finish_reason="finished", counts={"requests": 12, "articles_new": 5})
    last = store.runs.last_success("venturebeat")
    assert last is not None and last.tzinfo is not None
    assert dt.datetime.now(dt.UTC) - last < dt.timedelta(minutes=5)
    assert store.runs.last_success("techcrunch") is None


def test_store_that_is_not_newsmons_is_one_line(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "other.db"
    sqlite3.connect(path).execute("CREATE TABLE notes (x)").connection.close()
    with pytest.raises(StoreError, match="not a newsmon store"):
        list_rounds(f"sqlite:///{path}")


def test_unreachable_server_is_one_line() -> None:
    with pytest.raises(StoreError, match="cannot open the store at postgresql"):
        Store("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")
    with pytest.raises(StoreError, match="cannot read the store"):
        list_rounds("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")


def test_server_queries_are_read_only(db_url: str) -> None:
    if db_url.startswith("sqlite"):
        pytest.skip("SQLite read-only mode is covered by test_queries_are_read_only_and_need_a_store")
    Store(db_url).save_article(article(), [round_()], source="s", listed_url="u")
    from storage.engine import reader_engine

    with reader_engine(db_url).connect() as connection, pytest.raises(Exception, match="read-only"):
        connection.exec_driver_sql("DELETE FROM funding_rounds")


def test_concurrent_reports_of_one_round_give_one_row(db_url: str) -> None:
    """Outlets' articles about one round saved at once by parallel crawls still merge into one round."""
    from concurrent.futures import ThreadPoolExecutor

    store = Store(db_url)
    # the source and investors exist already, so the only contended write is the round itself
    store.save_article(article("https://a.example/other/"), [round_("Other Co")], source="s", listed_url="o")

    def save(i: int) -> str:
        return store.save_article(
            article(f"https://outlet{i}.example/acme/"), [round_()], source="s", listed_url=f"l{i}"
        ).outcome

    with ThreadPoolExecutor(max_workers=6) as pool:
        assert list(pool.map(save, range(12))) == ["new"] * 12
    rounds = list_rounds(db_url, RoundFilters(company="Acme"))
    assert len(rounds) == 1
    assert len(rounds[0].sources) == 12


def test_one_article_reporting_a_round_twice_links_it_once(db_url: str) -> None:
    store = Store(db_url)
    result = store.save_article(article(), [round_(), round_(amount=20.2e6)], source="s", listed_url="u")
    assert (result.rounds_new, result.rounds_merged) == (1, 1)
    assert [len(r.sources) for r in list_rounds(db_url)] == [1]


def test_the_filing_and_poll_migrations_go_down_and_up_again_keeping_data(db_url: str) -> None:
    """0006 (filings, with the view) and 0007 (polls) downgrade with rounds and runs stored, on both dialects,
    and upgrade again: the rows stay, the view has the filing columns."""
    from alembic import command

    from storage.engine import alembic_config

    store = Store(db_url)
    store.save_article(article(), [round_()], source="venturebeat", listed_url="https://venturebeat.com/x")
    store.runs.finish_run(
        store.runs.start_run("venturebeat", None, mode="poll"), "ok", finish_reason="finished", counts={}
    )
    store.engine.dispose()
    engine = create_engine(db_url)
    for target in ("0005", "head"):
        with engine.begin() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            (command.downgrade if target == "0005" else command.upgrade)(config, target)
    with engine.connect() as connection:
        view = {column["name"] for column in inspect(connection).get_columns("funding_rounds_view")}
        assert {"filing", "filed_for", "company_evidence"} <= view
        assert connection.execute(text("SELECT company, filing, filed_for FROM funding_rounds_view")).all() == [
            ("Acme", False, None)
        ]
        assert connection.execute(text("SELECT mode FROM crawl_runs")).all() == [("full",)]  # 0007 forgot polls
    engine.dispose()
    assert [r.company for r in list_rounds(db_url)] == ["Acme"]


def test_a_store_path_with_hash_question_mark_percent_or_space_is_read_from_that_file(tmp_path: Path) -> None:
    """F16: queries open the store read-only through a `file:` URI; a `#`, `?`, `%` or space in its path must name
    that file (a raw `#` ended the path: the query opened another file, read-write)."""
    from sqlalchemy import URL

    for name in ("a#b", "c?d", "e%f", "g h"):
        folder = tmp_path / name
        folder.mkdir()
        url = URL.create("sqlite", database=str(folder / "n.db")).render_as_string()
        Store(url).save_article(
            article(f"https://a.example/{len(name)}/"), [round_(f"Acme {name}")], source="s", listed_url="x"
        )
        assert [r.company for r in list_rounds(url)] == [f"Acme {name}"]
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.db")) == [
        "a#b/n.db",
        "c?d/n.db",
        "e%f/n.db",
        "g h/n.db",
    ]


def test_a_canonical_link_speaks_for_its_url_only_until_that_page_is_fetched_itself(db_url: str) -> None:
    """An AMP copy whose canonical was never fetched itself updates it (so does a page reached through a
    redirect from the listed canonical URL); once the canonical page has been fetched from its own URL, a copy
    or a stranger with other text is stored under its own URL and the canonical article is left as it is
    (issue 17, class 1; the crawl itself is B23)."""
    store = Store(db_url)
    canonical, amp, stranger = (f"https://a.example/{path}" for path in ("acme/", "amp/acme/", "wire/other/"))

    first = store.save_article(article(canonical), [round_()], source="s", listed_url=amp, fetched_url=amp)
    assert (first.outcome, first.refused_canonical) == ("new", None)
    assert store.known_urls([canonical, amp]) == {amp}  # the canonical page itself is still to be fetched
    edited = store.save_article(
        article(canonical, "Acme raised more money."), [round_()], source="s", listed_url=amp, fetched_url=amp
    )
    assert (edited.outcome, edited.refused_canonical) == ("updated", None)

    own = store.save_article(
        article(canonical, "Acme, in its own words."), [round_()], source="s", listed_url=canonical
    )
    assert (own.outcome, store.known_urls([canonical])) == ("updated", {canonical})
    copy = store.save_article(
        article(canonical, "Acme raised even more."), [round_()], source="s", listed_url=amp, fetched_url=amp
    )
    assert (copy.outcome, copy.refused_canonical) == ("new", canonical)
    claim = store.save_article(
        article(canonical, "Other Co raised money."),
        [round_("Other Co")],
        source="s",
        listed_url=stranger,
        fetched_url=stranger,
    )
    assert (claim.outcome, claim.refused_canonical) == ("new", canonical)
    with store.engine.connect() as connection:
        texts = dict(connection.execute(text("SELECT url, text FROM articles")).all())
    assert texts[canonical] == "Acme, in its own words." and sorted(texts) == sorted([canonical, amp, stranger])
    assert store.last_fetched([amp]).keys() == {amp}  # the copy's URL now leads to the copy

    moved, final = "https://a.example/2024/acme/", "https://a.example/acme-robotics/"
    listed = store.save_article(article(final), [], source="s", listed_url=moved, fetched_url=final)
    assert listed.outcome == "new"  # the listed URL redirected to the page (fetched_url), its canonical
    corrected = store.save_article(article(final, "A correction."), [], source="s", listed_url=moved, fetched_url=final)
    assert corrected.outcome == "updated" and corrected.refused_canonical is None
    redirected = f"https://a.example/r/{final.rsplit('/', 2)[1]}/"
    store.save_article(article(canonical + "x/"), [], source="s", listed_url=canonical + "x/", fetched_url=redirected)
    again = store.save_article(
        article(canonical + "x/", "Corrected."), [], source="s", listed_url=canonical + "x/", fetched_url=redirected
    )
    assert (again.outcome, again.refused_canonical) == ("updated", None)  # listed, never fetched from itself


def test_processes_opening_a_new_sqlite_store_at_once_wait_for_each_other(tmp_path: Path) -> None:
    """Issue 17, class 20: opening a store (the switch to WAL and the migration) is serialised across processes
    by a lock on its folder, waited for up to the busy timeout, so crawls started together on a new store never
    fail with "database is locked". A process finds the lock held and waits; then six at once all open."""
    import fcntl
    import os
    import subprocess
    import sys
    import time

    opener = (
        "import sys, time\nfrom storage import Store\ngo = float(sys.argv[2])\nwhile time.time() < go: pass\n"
        "Store(sys.argv[1]).runs.start_run('s', None)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    held = tmp_path / "held"
    held.mkdir()
    folder = os.open(held, os.O_RDONLY | os.O_DIRECTORY)
    fcntl.flock(folder, fcntl.LOCK_EX)
    waiting = subprocess.Popen([sys.executable, "-c", opener, f"sqlite:///{held / 's.db'}", "0"], env=env)
    time.sleep(3)
    assert waiting.poll() is None and not (held / "s.db").exists()  # it waits for the lock before opening
    os.close(folder)
    assert waiting.wait(timeout=60) == 0

    for trial in range(3):
        url = f"sqlite:///{tmp_path / f'new-{trial}.db'}"
        go = time.time() + 3  # every process past its imports, then all at once
        crowd = [subprocess.Popen([sys.executable, "-c", opener, url, str(go)], env=env) for _ in range(6)]
        assert [process.wait(timeout=120) for process in crowd] == [0] * 6
        assert len(list_runs(url)) == 6


def test_a_postgresql_store_leaves_no_connection_behind() -> None:
    """Issue 17, class 19: after a test's store is cleaned up, the server has no connection left from it
    (a shared server refuses with "too many clients" when every test leaves its pools open)."""
    from tests.support.postgres import PG_URL, pg_available, pg_store

    problem = pg_available()
    if problem:
        pytest.skip(f"PostgreSQL not reachable at {PG_URL} ({problem})")
    admin = create_engine(PG_URL)
    try:
        with pg_store() as url:
            schema = url.rsplit("application_name=", 1)[1]
            Store(url).save_article(article(), [round_()], source="s", listed_url="u")
            assert list_rounds(url) and list_articles(url)

            def open_connections() -> int:
                with admin.connect() as connection:
                    query = text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :name")
                    return connection.execute(query, {"name": schema}).scalar_one()

            assert open_connections() >= 2  # the writer's pool and the reader's
        assert open_connections() == 0
    finally:
        admin.dispose()


def test_a_store_on_a_read_only_file_system_is_read_or_says_why_not(tmp_path: Path) -> None:
    """Issue 17, class 11: SQLite cannot make WAL's shared-memory file in a read-only folder; the store is then
    read as immutable. One whose write-ahead log still holds changes cannot be read from there, and the error
    says why. (A read-only tmpfs mounted for the test: root can write to any folder, not to such a mount.)"""
    import shutil
    import subprocess

    from storage.engine import checkpoint, dispose_engines

    written = tmp_path / "written"
    written.mkdir()
    url = f"sqlite:///{written / 'store.db'}"
    store = Store(url)
    store.save_article(article(), [round_()], source="venturebeat", listed_url="u")
    checkpoint(store.engine)
    mount = tmp_path / "ro"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(mount)], capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root in a namespace that allows mounts)")
    try:
        shutil.copy(written / "store.db", mount / "clean.db")
        store.save_article(article("https://a.example/late/"), [], source="s", listed_url="late")  # stays in the WAL
        for name in ("store.db", "store.db-wal"):
            shutil.copy(written / name, mount / name.replace("store", "pending"))
        subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True)
        clean = f"sqlite:///{mount / 'clean.db'}"
        assert [r.company for r in list_rounds(clean)] == ["Acme"]
        with pytest.raises(StoreError, match="its folder is read-only and its write-ahead log"):
            list_rounds(f"sqlite:///{mount / 'pending.db'}")
    finally:
        for name in ("clean.db", "pending.db"):  # their connections hold the mount busy
            dispose_engines(f"sqlite:///{mount / name}")
        subprocess.run(["umount", str(mount)], check=False)


def test_search_ranks_every_match_in_the_database_before_the_limit(db_url: str) -> None:
    """Issue 17, class 5: with 2,500 articles that mention a word, the one about it (the word in its title and
    all through its text) comes first, though it was stored last; PostgreSQL ranked only the first 2,000 rows
    it happened to read. Typed queries work there too."""
    from storage import search_articles

    store = Store(db_url)
    store.save_article(article("https://a.example/first/"), [], source="s", listed_url="first")
    now = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
    with store.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO articles (url, title, text, tags, content_hash, first_seen, updated_at, published)"
                " VALUES (:url, :title, :text, '[]', :hash, :now, :now, :day)"
            ),
            [
                {
                    "url": f"https://a.example/{n}/",
                    "title": f"Quarterly report {n}",
                    "text": f"Report {n} on logistics; one robot is mentioned in passing.",
                    "hash": f"h{n}",
                    "now": now,
                    "day": dt.date(2024, 5, 1),
                }
                for n in range(2_500)
            ]
            + [
                {
                    "url": "https://a.example/robots/",
                    "title": "Robot makers raise $50M as robot sales double",
                    "text": "Robot makers say robot sales doubled; robot fleets grow. " * 5,
                    "hash": "best",
                    "now": now,
                    "day": dt.date(2024, 5, 2),
                }
            ],
        )
    hits = search_articles(db_url, "robot", limit=5)
    assert len(hits) == 5 and hits[0].url == "https://a.example/robots/"
    from sqlalchemy.orm import Session

    from storage.engine import reader_engine
    from storage.queries import _like_search  # what other databases (MySQL) search with

    with Session(reader_engine(db_url)) as session:
        assert _like_search(session, "robot", None, None, 5)[0].url == "https://a.example/robots/"
    assert [hit.url for hit in search_articles(db_url, '"robot makers"')] == ["https://a.example/robots/"]
    assert [hit.url for hit in search_articles(db_url, "Acme raised")] == ["https://a.example/first/"]

"""SEC Form D filings beside the press: read from EDGAR's Atom feed and each filing's XML, stored once each as a
round with its amount sold and date, linked to the press round of the same company reported within 30 days."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path

import pytest

from crawler.cli import main
from crawler.replay import RecordedPage
from crawler.seeds import DEFAULT_SEEDS_DIR, load_seeds
from pipelines.extract import ExtractionSkipped
from pipelines.form_d import document_url, filing_article, filing_round, issuer_name, parse_form_d
from storage import Store
from storage.merging import documents, report_view
from tests.conftest import crawl
from tests.test_storage import article, round_

DATA = Path(__file__).parent / "data" / "form_d"
SOURCE = load_seeds(DEFAULT_SEEDS_DIR)["sec_form_d"]
FEED = SOURCE.feeds[0]
INDEX = "https://www.sec.gov/Archives/edgar/data/{cik}/{acc_digits}/{acc}-index.htm"
FILINGS = {  # accession -> (cik, recorded primary_doc.xml)
    "0001999001-24-000001": ("1999001", "acme-robotics.xml"),
    "0001999002-24-000003": ("1999002", "zeta-biologics.xml"),
    "0001999003-24-000001": ("1999003", "gamma-growth-fund.xml"),
    "0001999004-24-000002": ("1999004", "delta-mobility-amendment.xml"),
}


def index_url(accession: str) -> str:
    cik, _ = FILINGS[accession]
    return INDEX.format(cik=cik, acc_digits=accession.replace("-", ""), acc=accession)


def test_a_filing_is_read_from_its_xml() -> None:
    filing = parse_form_d((DATA / "acme-robotics.xml").read_bytes())
    assert (filing.issuer, filing.cik, filing.submission_type) == ("ACME ROBOTICS, INC.", "0001999001", "D")
    assert (filing.amount_sold, filing.offering_amount, filing.first_sale) == (38.5e6, 40e6, dt.date(2024, 4, 30))
    assert filing.equity and not filing.debt and not filing.pooled_fund and not filing.amendment
    zeta = parse_form_d((DATA / "zeta-biologics.xml").read_bytes())
    assert zeta.offering_amount is None and zeta.amount_sold == 6.25e6  # an indefinite offering
    assert parse_form_d((DATA / "gamma-growth-fund.xml").read_bytes()).pooled_fund
    assert parse_form_d((DATA / "delta-mobility-amendment.xml").read_bytes()).amendment


def test_a_filing_becomes_one_round_of_its_amount_sold() -> None:
    filing = parse_form_d((DATA / "acme-robotics.xml").read_bytes())
    url = index_url("0001999001-24-000001")
    page = filing_article(filing, url, dt.date(2024, 5, 14))
    assert page.url == url and page.published == dt.date(2024, 5, 14) and page.title.startswith("Form D: Acme")
    found = filing_round(filing, page)
    assert found["company"] == "Acme Robotics, Inc." and found["amount"] == 38.5e6 and found["currency"] == "USD"
    assert found["status"] == "announced" and found["round"] is None and found["filing"] is True
    assert "38,500,000" in found["evidence"]["amount"] and "2024-04-30" in found["evidence"]["amount"]


@pytest.mark.parametrize(
    ("name", "reason"),
    [("gamma-growth-fund.xml", "pooled_fund"), ("delta-mobility-amendment.xml", "amendment")],
)
def test_funds_and_amendments_are_not_rounds(name: str, reason: str) -> None:
    filing = parse_form_d((DATA / name).read_bytes())
    with pytest.raises(ExtractionSkipped) as skipped:
        filing_article(filing, "https://www.sec.gov/x", dt.date(2024, 5, 14))
    assert skipped.value.reason == reason


@pytest.mark.parametrize(
    "body", [b"", b"<html><body>Not found</body></html>", b"<edgarSubmission/>", b"<?xml version='1.0'?><a>"]
)
def test_what_is_not_a_form_d_is_skipped_with_a_reason(body: bytes) -> None:
    with pytest.raises(ExtractionSkipped) as skipped:
        parse_form_d(body)
    assert skipped.value.reason == "not_form_d"


def test_names_and_urls() -> None:
    assert issuer_name("ACME ROBOTICS, INC.") == "Acme Robotics, Inc."
    assert issuer_name("OPEN AI LLC") == "Open AI LLC"
    assert issuer_name("Zeta Biologics Corp") == "Zeta Biologics Corp"  # filed in mixed case: kept
    assert document_url(index_url("0001999001-24-000001")) == (
        "https://www.sec.gov/Archives/edgar/data/1999001/000199900124000001/primary_doc.xml"
    )
    assert document_url("https://www.sec.gov/cgi-bin/browse-edgar?action=getcompany") is None


def _report(company: str, amount: float | None, day: str, *, filing: bool = False) -> dict:
    found = {"company": company, "amount": amount, "currency": "USD", "amount_usd": amount, "status": "announced"}
    return {**found, "announced": day, "url": "u", "filing": filing, "lead_investors": [], "investors": []}


def test_a_filing_documents_a_press_round_of_its_company_within_30_days() -> None:
    filing = report_view(_report("Acme Robotics, Inc.", 38.5e6, "2024-05-14", filing=True))
    assert documents(filing, report_view(_report("Acme Robotics", 40e6, "2024-05-02")))
    assert documents(filing, report_view(_report("Acme Robotics", None, "2024-06-10")))  # amount undisclosed
    assert not documents(filing, report_view(_report("Acme Robotics", 40e6, "2024-06-20")))  # 37 days
    assert not documents(filing, report_view(_report("Acme", 90e6, "2024-05-02")))  # a prefix, far apart
    assert documents(filing, report_view(_report("Acme", 40e6, "2024-05-02")))  # a prefix, amounts agree
    assert not documents(filing, report_view(_report("Acme Robotics", 38.5e6, "2024-05-14", filing=True)))


def recorded_edgar() -> dict[str, RecordedPage]:
    """EDGAR as the crawl sees it: robots.txt, the Atom feed, and each listed filing's XML."""
    pages = {
        SOURCE.robots_txt[0]: RecordedPage(b"User-agent: *\nDisallow: /cgi-bin/srch-edgar\n", "text/plain"),
        FEED: RecordedPage((DATA / "getcurrent-D.atom").read_bytes(), "application/atom+xml"),
    }
    for accession, (_, name) in FILINGS.items():
        document = document_url(index_url(accession))
        assert document is not None
        pages[document] = RecordedPage((DATA / name).read_bytes(), "application/xml")
    return pages


@pytest.mark.slow
def test_a_replayed_form_d_feed_stores_each_filing_once_linked_to_the_press_round(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = f"sqlite:///{tmp_path / 'newsmon.db'}"
    store = Store(db)
    press = article(
        "https://techcrunch.com/2024/05/02/acme-robotics-raises-40m/",
        "Acme Robotics raised $40 million.",
        published=dt.date(2024, 5, 2),
    )
    store.save_article(
        press, [round_("Acme Robotics", 40e6, round="series_b")], source="techcrunch", listed_url=press.url
    )

    for attempt in range(2):  # the second run finds every filing stored and adds nothing
        run, stats = crawl("sec_form_d", db_url=db, pages=recorded_edgar(), cache_dir=tmp_path / "cache")
        assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr[-2000:]
        if attempt == 0:
            assert stats["newsmon/persist/rounds_new"] == 2
            assert stats["newsmon/extract/pooled_fund"] == 1 and stats["newsmon/extract/amendment"] == 1
        else:
            assert stats.get("newsmon/persist/rounds_new", 0) == 0
            assert stats["newsmon/links/already_stored"] == 2

    assert main(["--db", db, "rounds", "--source", "sec_form_d", "--since", "2000-01-01", "--json"]) == 0
    filed = {r["company"]: r for r in json.loads(capsys.readouterr().out)}
    assert set(filed) == {"Acme Robotics, Inc.", "Zeta Biologics Corp"}
    acme, zeta = filed["Acme Robotics, Inc."], filed["Zeta Biologics Corp"]
    assert (acme["amount"], acme["currency"], acme["announced"], acme["filing"]) == (
        38500000,
        "USD",
        "2024-05-14",
        True,
    )
    assert acme["sources"] == [index_url("0001999001-24-000001")]
    assert zeta["amount"] == 6250000 and zeta["filed_for"] is None

    assert main(["--db", db, "rounds", "--company", "acme robotics", "--since", "2000-01-01", "--json"]) == 0
    both = {r["id"]: r for r in json.loads(capsys.readouterr().out)}
    press_round = next(r for r in both.values() if not r["filing"])
    assert acme["filed_for"] == press_round["id"] and press_round["amount"] == 40000000  # both amounts, side by side
    assert press_round["filings"] == [
        {
            "id": acme["id"],
            "url": index_url("0001999001-24-000001"),
            "amount": 38500000,
            "currency": "USD",
            "announced": "2024-05-14",
        }
    ]
    assert main(["--db", db, "rounds", "--company", "acme robotics", "--since", "2000-01-01"]) == 0
    table = capsys.readouterr().out
    assert "Form D: $38.5M" in table and "(Form D)" in table
    with sqlite3.connect(tmp_path / "newsmon.db") as connection:
        assert connection.execute("SELECT count(*) FROM funding_rounds").fetchone() == (3,)
        assert connection.execute("SELECT count(*) FROM funding_rounds WHERE filing").fetchone() == (2,)

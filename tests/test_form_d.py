"""SEC Form D filings beside the press: read from EDGAR's daily form-type indexes and each filing's XML, stored
once each as a round with its amount sold and date, linked to the press round of the same company reported
within 30 days."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path

import pytest

from crawler.cli import main
from crawler.replay import RecordedPage
from crawler.seeds import DEFAULT_SEEDS_DIR, load_seeds
from pipelines.dates import today_utc
from pipelines.extract import ExtractionSkipped
from pipelines.form_d import (
    daily_index_urls,
    document_url,
    filing_article,
    filing_round,
    form_index_entries,
    issuer_name,
    parse_form_d,
)
from storage import RoundFilters, Store, list_rounds
from storage.merging import documents, report_view
from tests.support.crawling import crawl
from tests.test_storage import article, round_

DATA = Path(__file__).parent / "data" / "form_d"
SOURCE = load_seeds(DEFAULT_SEEDS_DIR)["sec_form_d"]
INDEX = "https://www.sec.gov/Archives/edgar/data/{cik}/{acc_digits}/{acc}-index.htm"
FILINGS = {  # accession -> (cik, form type, issuer as indexed, recorded primary_doc.xml)
    "0001999001-24-000001": ("1999001", "D", "ACME ROBOTICS, INC.", "acme-robotics.xml"),
    "0001999002-24-000003": ("1999002", "D", "Zeta Biologics Corp", "zeta-biologics.xml"),
    "0001999003-24-000001": ("1999003", "D", "Gamma Growth Fund I, L.P.", "gamma-growth-fund.xml"),
    "0001999004-24-000002": ("1999004", "D/A", "Delta Mobility LLC", "delta-mobility-amendment.xml"),
}


def form_index(day: dt.date) -> bytes:
    """A daily form-type index, in EDGAR's fixed-width layout, listing the filings above and another form's."""
    rows = [("10-K", "SOME LISTED CO", "123", "0000000123-24-000009")]
    rows += [(form, name, cik, accession) for accession, (cik, form, name, _) in FILINGS.items()]
    lines = [
        "Description:           Daily Index of EDGAR Dissemination Feed by Form Type",
        f"Last Data Received:    {day:%B %d, %Y}",
        "Comments:              webmaster@sec.gov",
        "Anonymous FTP:         ftp://ftp.sec.gov/edgar/",
        " ",
        " ",
        f"{'Form Type':<12}{'Company Name':<62}{'CIK':<12}{'Date Filed':<12}File Name",
        "-" * 141,
    ]
    for form, name, cik, accession in rows:
        lines.append(f"{form:<12}{name:<62}{cik:<12}{day:%Y%m%d}    edgar/data/{cik}/{accession}.txt")
    return ("\n".join(lines) + "\n").encode("latin-1")


def index_url(accession: str) -> str:
    cik = FILINGS[accession][0]
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


def test_a_daily_index_lists_the_form_d_filings_of_its_day() -> None:
    day = dt.date(2024, 5, 14)
    entries = form_index_entries(form_index(day))
    assert entries is not None
    assert [(e.form, e.company, e.cik, e.filed) for e in entries] == [
        (form, name, cik, day) for cik, form, name, _ in FILINGS.values()
    ]
    assert entries[0].index_url == index_url("0001999001-24-000001")
    assert form_index_entries(b"<html><body>Not found</body></html>") is None
    # the business days of a window, Friday to Tuesday: no index is asked for a weekend
    assert [u.rsplit(".", 2)[-2] for u in daily_index_urls(dt.date(2024, 5, 10), dt.date(2024, 5, 14))] == [
        "20240510",
        "20240513",
        "20240514",
    ]
    assert daily_index_urls(dt.date(2024, 5, 14), dt.date(2024, 5, 14))[0].endswith("/2024/QTR2/form.20240514.idx")


def test_names_and_urls() -> None:
    assert issuer_name("ACME ROBOTICS, INC.") == "Acme Robotics, Inc."
    assert issuer_name("OPEN AI LLC") == "Open AI LLC"
    assert issuer_name("Zeta Biologics Corp") == "Zeta Biologics Corp"  # filed in mixed case: kept
    assert issuer_name("ACME HOLDINGS, L.P.") == "Acme Holdings, L.P."
    assert issuer_name("BETA-GAMMA LABS (US) L.L.C.") == "Beta-Gamma Labs (US) LLC"
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


def recorded_edgar(day: dt.date) -> dict[str, RecordedPage]:
    """EDGAR as the crawl sees it: its robots.txt (the /cgi-bin/ feeds disallowed, the archives allowed), the
    daily index of `day`, and each listed filing's XML."""
    robots = b"User-agent: *\nAllow: /Archives/edgar/data\nDisallow: /cgi-bin\n"
    [daily] = daily_index_urls(day, day)
    pages = {
        SOURCE.robots_txt[0]: RecordedPage(robots, "text/plain"),
        daily: RecordedPage(form_index(day), "text/plain"),
    }
    for accession, (*_, name) in FILINGS.items():
        document = document_url(index_url(accession))
        assert document is not None
        pages[document] = RecordedPage((DATA / name).read_bytes(), "application/xml")
    return pages


@pytest.mark.slow
def test_a_replayed_form_d_feed_stores_each_filing_once_linked_to_the_press_round(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = f"sqlite:///{tmp_path / 'newsmon.db'}"
    # the crawl's first window is the last two days: the filings are of its last business day
    day = max(d for d in (today_utc() - dt.timedelta(days=n) for n in range(3)) if d.weekday() < 5)
    store = Store(db)
    press = article(
        "https://techcrunch.com/2024/05/02/acme-robotics-raises-40m/",
        "Acme Robotics raised $40 million.",
        published=day - dt.timedelta(days=12),
    )
    store.save_article(
        press, [round_("Acme Robotics", 40e6, round="series_b")], source="techcrunch", listed_url=press.url
    )

    for attempt in range(2):  # the second run finds every filing stored and adds nothing
        run, stats = crawl("sec_form_d", db_url=db, pages=recorded_edgar(day), cache_dir=tmp_path / "cache", since=None)
        assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr[-2000:]
        if attempt == 0:
            assert stats["newsmon/persist/rounds_new"] == 2
            assert stats["newsmon/extract/pooled_fund"] == 1 and stats["newsmon/form_d/amendment_not_read"] == 1
            assert stats.get("robotstxt/forbidden", 0) == 0
        else:
            assert stats.get("newsmon/persist/rounds_new", 0) == 0
            assert stats["newsmon/links/already_stored"] == 2  # the fund's filing is read again: nothing tells

    assert main(["--db", db, "rounds", "--source", "sec_form_d", "--since", "2000-01-01", "--json"]) == 0
    filed = {r["company"]: r for r in json.loads(capsys.readouterr().out)}
    assert set(filed) == {"Acme Robotics, Inc.", "Zeta Biologics Corp"}
    acme, zeta = filed["Acme Robotics, Inc."], filed["Zeta Biologics Corp"]
    assert (acme["amount"], acme["currency"], acme["filing"]) == (38500000, "USD", True)
    assert acme["announced"] == day.isoformat()
    assert acme["sources"] == [index_url("0001999001-24-000001")]
    assert zeta["amount"] == 6250000 and zeta["filed_for"] is None

    assert main(["--db", db, "rounds", "--company", "acme robotics", "--since", "2000-01-01", "--json"]) == 0
    [press_round] = json.loads(capsys.readouterr().out)
    assert acme["filed_for"] == press_round["id"] and press_round["amount"] == 40000000  # both amounts, side by side
    assert press_round["filings"] == [
        {
            "id": acme["id"],
            "url": index_url("0001999001-24-000001"),
            "amount": 38500000,
            "currency": "USD",
            "announced": day.isoformat(),
        }
    ]
    assert main(["--db", db, "rounds", "--company", "acme robotics", "--since", "2000-01-01"]) == 0
    table = capsys.readouterr().out
    # the documented filing is shown with its press round, not as a round of its own (nor counted twice)
    assert "Form D: $38.5M" in table and "(Form D)" not in table and "1 funding round(s)" in table
    with sqlite3.connect(tmp_path / "newsmon.db") as connection:
        assert connection.execute("SELECT count(*) FROM funding_rounds").fetchone() == (3,)
        assert connection.execute("SELECT count(*) FROM funding_rounds WHERE filing").fetchone() == (2,)


def _filing(company: str, amount: float, url: str, day: dt.date) -> tuple:
    page = article(url, f"{company} filed a Form D.", published=day)
    found = round_(company, amount, round=None, lead_investors=[], investors=[], filing=True, confidence=0.99)
    return page, [found]


def test_filings_never_merge_nor_confirm_rumours_and_follow_their_press_round(db_url: str) -> None:
    """Two filings of one company are two rounds; a filing filed nearer a rumour than the press announcement does
    not take the rumour's confirmation from it; a filing whose press round goes is unlinked."""
    store = Store(db_url)
    day = dt.date(2024, 5, 1)
    rumour = article("https://techcrunch.com/acme-in-talks/", "Acme is in talks.", published=day)
    store.save_article(
        rumour, [round_("Acme Robotics", 40e6, status="rumored")], source="techcrunch", listed_url=rumour.url
    )
    for n, (amount, offset) in enumerate(((5.0e6, 2), (5.2e6, 4))):
        page, found = _filing(
            "Acme Robotics, Inc.", amount, f"https://www.sec.gov/f{n}-index.htm", day + dt.timedelta(offset)
        )
        store.save_article(page, found, source="sec_form_d", listed_url=page.url)
    press = article("https://venturebeat.com/acme-raises/", "Acme raised $40M.", published=day + dt.timedelta(19))
    store.save_article(press, [round_("Acme Robotics", 40e6)], source="venturebeat", listed_url=press.url)

    filings = list_rounds(db_url, RoundFilters(source="sec_form_d"))
    assert sorted(r.amount for r in filings) == [5.0e6, 5.2e6]  # two filings, two rounds
    (announced,) = list_rounds(db_url)  # the rumour is confirmed, the filings are shown with the press round
    assert announced.sources == [press.url] and announced.rumor_sources == [rumour.url]
    assert sorted(f["amount"] for f in announced.filings) == [5000000, 5200000]
    assert {r.filed_for for r in filings} == {announced.id}

    corrected = article(press.url, "Correction: Acme did not raise.", published=press.published)
    store.save_article(corrected, [], source="venturebeat", listed_url=press.url)  # the story loses its round
    assert {r.filed_for for r in list_rounds(db_url, RoundFilters(source="sec_form_d"))} == {None}


def test_a_debt_only_offering_is_a_debt_round_and_nothing_sold_is_no_round() -> None:
    xml = (DATA / "delta-mobility-amendment.xml").read_bytes().replace(b"<submissionType>D/A<", b"<submissionType>D<")
    filing = parse_form_d(xml)
    assert filing.debt and not filing.equity and not filing.amendment
    page = filing_article(filing, "https://www.sec.gov/x", dt.date(2024, 5, 14))
    assert filing_round(filing, page)["round"] == "debt"
    unsold = parse_form_d(xml.replace(b"<totalAmountSold>5000000<", b"<totalAmountSold>0<"))
    with pytest.raises(ExtractionSkipped) as skipped:
        filing_article(unsold, "https://www.sec.gov/x", dt.date(2024, 5, 14))
    assert skipped.value.reason == "nothing_sold"


def test_newsmon_contact_reaches_the_user_agent_without_control_characters() -> None:
    import subprocess
    import sys

    code = "from crawler.settings import USER_AGENT; print(repr(USER_AGENT))"
    env = {"NEWSMON_CONTACT": "ops@example.com\r\nX-Evil: 1", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True, cwd=DATA.parents[2]
    )
    assert "; ops@example.comX-Evil: 1)" in done.stdout and "\\r" not in done.stdout

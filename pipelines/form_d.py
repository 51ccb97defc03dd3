"""SEC Form D filings as rounds: a structured source beside the press (pure; no Scrapy).

A Form D is the notice a US issuer files within 15 days of the first sale of a private offering (Regulation D).
EDGAR lists every filing of a business day in its daily form-type index (`/Archives/edgar/daily-index/YYYY/
QTRn/form.YYYYMMDD.idx`, under the /Archives path its robots.txt allows; its "latest filings" feed lives under
/cgi-bin/, which robots.txt disallows, and shows only the newest hundred). Each Form D row names the filing,
whose XML document `primary_doc.xml` sits beside its index page (`edgarSubmission`: the issuer, the offering,
the amounts). Each original filing of an operating company becomes one round: its amount sold, in US dollars,
announced on the filing date. Pooled investment funds are left out (a fund raising its own fund is not a
round, LABELS.md rule 3), and so are amendments (D/A: the original filing's round stands).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from io import BytesIO
from typing import Any

from lxml import etree

from pipelines.extract import Article, ExtractionSkipped
from pipelines.money import to_usd

__all__ = [
    "FormD",
    "IndexEntry",
    "daily_index_urls",
    "document_url",
    "filing_article",
    "filing_round",
    "form_index_entries",
    "issuer_name",
    "parse_form_d",
]

# .../Archives/edgar/data/<cik>/<accession without dashes>/<accession>-index.htm(l)
_INDEX_URL = re.compile(
    r"^(?P<folder>https?://(www\.)?sec\.gov/Archives/edgar/data/\d+/\d{18}/)(?P<acc>\d{10}-\d{2}-\d{6})-index\.html?$"
)
_LEGAL_FORMS = {"inc": "Inc.", "llc": "LLC", "corp": "Corp.", "co": "Co.", "ltd": "Ltd.", "lp": "L.P.", "llp": "LLP"}
_KEEP_UPPER = frozenset({"ai", "us", "usa", "uk", "ii", "iii", "iv", "vr", "ar", "3d", "io", "hq"})
MAX_BYTES = 2 * 1024 * 1024
DAILY_INDEX = "https://www.sec.gov/Archives/edgar/daily-index/{year}/QTR{quarter}/form.{day:%Y%m%d}.idx"
FILING_INDEX = "https://www.sec.gov/Archives/edgar/data/{cik}/{digits}/{accession}-index.htm"
MAX_INDEX_DAYS = 400  # business days of daily indexes one crawl reads (a backfill further back: several crawls)
# a row of a daily form-type index: form type, company, CIK, date filed, file name (fixed-width columns)
_INDEX_ROW = re.compile(
    r"^(?P<form>D|D/A)\s+(?P<company>\S.*?)\s+(?P<cik>\d{1,10})\s+(?P<filed>\d{8}|\d{4}-\d{2}-\d{2})\s+"
    r"edgar/data/\d+/(?P<accession>\d{10}-\d{2}-\d{6})\.txt\s*$"
)


@dataclass(frozen=True)
class IndexEntry:
    """One Form D (or D/A) row of a daily index."""

    form: str
    company: str
    cik: str
    filed: dt.date
    index_url: str  # the filing's index page, the URL it is stored under


def daily_index_urls(first: dt.date, last: dt.date) -> list[str]:
    """The daily form-type indexes of the business days from `first` to `last`, the latest MAX_INDEX_DAYS."""
    days = [first + dt.timedelta(days=n) for n in range(max(0, (last - first).days + 1))]
    weekdays = [day for day in days if day.weekday() < 5][-MAX_INDEX_DAYS:]
    return [DAILY_INDEX.format(year=d.year, quarter=(d.month - 1) // 3 + 1, day=d) for d in weekdays]


def form_index_entries(body: bytes) -> list[IndexEntry] | None:
    """The Form D and D/A rows of a daily form-type index, or None when the body is not such an index."""
    text = body[: MAX_BYTES * 16].decode("latin-1")
    if "Form Type" not in text[:4096]:
        return None
    out = []
    for line in text.splitlines():
        found = _INDEX_ROW.match(line)
        if not found:
            continue
        raw = found["filed"].replace("-", "")
        filed = _date(f"{raw[:4]}-{raw[4:6]}-{raw[6:]}")
        if filed is None:
            continue
        accession, cik = found["accession"], str(int(found["cik"]))
        url = FILING_INDEX.format(cik=cik, digits=accession.replace("-", ""), accession=accession)
        out.append(IndexEntry(found["form"], found["company"].strip(), cik, filed, url))
    return out


@dataclass(frozen=True)
class FormD:
    """What a Form D says about one offering."""

    issuer: str
    cik: str | None
    submission_type: str  # "D" or "D/A"
    industry: str | None
    pooled_fund: bool
    first_sale: dt.date | None  # None when the first sale is yet to occur
    offering_amount: float | None  # None when indefinite
    amount_sold: float | None
    equity: bool
    debt: bool
    state: str | None

    @property
    def amendment(self) -> bool:
        return self.submission_type.upper().startswith("D/A")


def document_url(index_url: str) -> str | None:
    """The filing's XML document (`primary_doc.xml`) beside its index page, or None for another URL."""
    found = _INDEX_URL.match(index_url)
    return found["folder"] + "primary_doc.xml" if found else None


def parse_form_d(body: bytes) -> FormD:
    """Read a Form D XML document.

    Raises:
        ExtractionSkipped: not a Form D ("not_form_d"), too big or unreadable.
    """
    if len(body) > MAX_BYTES:
        raise ExtractionSkipped("not_form_d", f"{len(body)} bytes")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, remove_comments=True)
    try:
        root = etree.parse(BytesIO(body), parser).getroot()
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise ExtractionSkipped("not_form_d", str(exc)) from None
    if etree.QName(root).localname != "edgarSubmission":
        raise ExtractionSkipped("not_form_d", f"root element {etree.QName(root).localname}")

    def text(path: str) -> str | None:
        value = root.findtext(path)
        return value.strip() if value and value.strip() else None

    issuer = text("primaryIssuer/entityName")
    if not issuer:
        raise ExtractionSkipped("not_form_d", "no issuer name")
    industry = text("offeringData/industryGroup/industryGroupType")
    return FormD(
        issuer=issuer,
        cik=text("primaryIssuer/cik"),
        submission_type=text("submissionType") or "D",
        industry=industry,
        pooled_fund=(industry or "").lower() == "pooled investment fund"
        or root.find("offeringData/industryGroup/investmentFundInfo") is not None,
        first_sale=_date(text("offeringData/typeOfFiling/dateOfFirstSale/value")),
        offering_amount=_amount(text("offeringData/offeringSalesAmounts/totalOfferingAmount")),
        amount_sold=_amount(text("offeringData/offeringSalesAmounts/totalAmountSold")),
        equity=_true(text("offeringData/typesOfSecuritiesOffered/isEquityType")),
        debt=_true(text("offeringData/typesOfSecuritiesOffered/isDebtType")),
        state=text("primaryIssuer/issuerAddress/stateOrCountry"),
    )


def _date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _amount(value: str | None) -> float | None:
    """A dollar amount; None for "Indefinite" or anything else that is not a number."""
    try:
        amount = float((value or "").replace(",", "").replace("$", ""))
    except ValueError:
        return None
    return amount if amount >= 0 else None


def _true(value: str | None) -> bool:
    return (value or "").lower() == "true"


def issuer_name(entity_name: str) -> str:
    """The issuer's name as people write it: EDGAR's upper-case names in title case ("ACME ROBOTICS, INC." ->
    "Acme Robotics, Inc."), other names as filed."""
    if entity_name != entity_name.upper():
        return entity_name
    words = []
    for word in entity_name.split():
        core = re.sub(r"\W", "", word).lower()  # "L.P.," -> "lp", "(US)" -> "us"
        if core in _LEGAL_FORMS:
            words.append(_LEGAL_FORMS[core] + ("," if word.endswith(",") else ""))
        elif core in _KEEP_UPPER:
            words.append(word)
        else:
            words.append("-".join(part.capitalize() for part in word.split("-")))
    return " ".join(words)


def _money(amount: float) -> str:
    return f"${amount:,.0f}"


def filing_article(filing: FormD, url: str, filed: dt.date | None) -> Article:
    """The filing as a stored article: its index page's URL, a title and a short text that say what it reports.

    Raises:
        ExtractionSkipped: a pooled investment fund ("pooled_fund"), an amendment ("amendment"), or nothing sold
            yet ("nothing_sold").
    """
    if filing.pooled_fund:
        raise ExtractionSkipped("pooled_fund", filing.issuer)
    if filing.amendment:
        raise ExtractionSkipped("amendment", filing.issuer)
    if not filing.amount_sold:
        raise ExtractionSkipped("nothing_sold", filing.issuer)
    name = issuer_name(filing.issuer)
    published = filed or filing.first_sale
    lines = _lines(filing, published)
    text = "\n".join(lines)
    return Article(
        url=url,
        title=f"Form D: {name} sold {_money(filing.amount_sold)}",
        author=None,
        text=text,
        description=lines[1],
        site_name="SEC EDGAR",
        language="en",
        published=published,
        published_at=None,
        date_source="filing",
        content_hash=hashlib.sha256(text.encode("utf-8")).hexdigest(),
    )


def _lines(filing: FormD, published: dt.date | None) -> list[str]:
    """What the filing says, in three sentences: who filed and when, what was sold, what kind of offering."""
    offered = _money(filing.offering_amount) if filing.offering_amount is not None else "an indefinite amount"
    sold = _money(filing.amount_sold or 0)
    return [
        f"{issuer_name(filing.issuer)} filed a Form D notice of an exempt offering of securities"
        + (f" on {published.isoformat()}." if published else "."),
        f"Total amount sold: {sold} of {offered} offered"
        + (f"; date of first sale: {filing.first_sale.isoformat()}." if filing.first_sale else "."),
        f"Industry group: {filing.industry or 'not stated'}; securities: {_securities(filing)}.",
    ]


def _securities(filing: FormD) -> str:
    kinds = [kind for kind, offered in (("equity", filing.equity), ("debt", filing.debt)) if offered]
    return " and ".join(kinds) or "other"


def filing_round(filing: FormD, article: Article) -> dict[str, Any]:
    """The ROUND a filing reports (DESIGN.md), with the filing's lines as evidence."""
    name = issuer_name(filing.issuer)
    amount = filing.amount_sold
    company_line, sold_line, _ = _lines(filing, article.published)
    return {
        "company": name,
        "amount": amount,
        "currency": "USD",
        "amount_usd": to_usd(amount, "USD"),
        "round": "debt" if filing.debt and not filing.equity else None,
        "lead_investors": [],
        "investors": [],
        "valuation": None,
        "status": "announced",
        "confidence": 0.99,
        "evidence": {"company": company_line, "amount": sold_line, "status": company_line},
        "filing": True,
    }

"""SEC Form D filings as rounds: a structured source beside the press (pure; no Scrapy).

A Form D is the notice a US issuer files within 15 days of the first sale of a private offering (Regulation D).
EDGAR lists new ones in an Atom feed; each entry links to the filing's index page, and the filing itself is
the XML document `primary_doc.xml` beside it (`edgarSubmission`: the issuer, the offering, the amounts). Each
original filing of an operating company becomes one round: its amount sold, in US dollars, announced on the
filing date. Pooled investment funds are left out (a fund raising its own fund is not a round, LABELS.md rule
3), and so are amendments (D/A: the original filing's round stands).
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

__all__ = ["FormD", "document_url", "filing_article", "filing_round", "issuer_name", "parse_form_d"]

# .../Archives/edgar/data/<cik>/<accession without dashes>/<accession>-index.htm(l)
_INDEX_URL = re.compile(
    r"^(?P<folder>https?://(www\.)?sec\.gov/Archives/edgar/data/\d+/\d{18}/)(?P<acc>\d{10}-\d{2}-\d{6})-index\.html?$"
)
_LEGAL_FORMS = {"inc": "Inc.", "llc": "LLC", "corp": "Corp.", "co": "Co.", "ltd": "Ltd.", "lp": "LP", "l.p.": "L.P."}
_KEEP_UPPER = frozenset({"ai", "us", "usa", "uk", "ii", "iii", "iv", "vr", "ar", "3d", "io", "hq", "llc", "lp"})
MAX_BYTES = 2 * 1024 * 1024


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
        bare = word.strip(".,").lower()
        if bare in _LEGAL_FORMS:
            words.append(_LEGAL_FORMS[bare] + ("," if word.endswith(",") else ""))
        elif bare in _KEEP_UPPER:
            words.append(word)
        else:
            words.append(word.capitalize() if "-" not in word else "-".join(p.capitalize() for p in word.split("-")))
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
    offered = _money(filing.offering_amount) if filing.offering_amount is not None else "an indefinite amount"
    lines = [
        f"{name} filed a Form D notice of an exempt offering of securities"
        + (f" on {published.isoformat()}." if published else "."),
        f"Total amount sold: {_money(filing.amount_sold)} of {offered} offered"
        + (f"; date of first sale: {filing.first_sale.isoformat()}." if filing.first_sale else "."),
        f"Industry group: {filing.industry or 'not stated'}; securities: {_securities(filing)}.",
    ]
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


def _securities(filing: FormD) -> str:
    kinds = [kind for kind, offered in (("equity", filing.equity), ("debt", filing.debt)) if offered]
    return " and ".join(kinds) or "other"


def filing_round(filing: FormD, article: Article) -> dict[str, Any]:
    """The ROUND a filing reports (DESIGN.md), with the filing's lines as evidence."""
    name = issuer_name(filing.issuer)
    amount = filing.amount_sold
    sold_line, company_line = article.text.splitlines()[1], article.text.splitlines()[0]
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

"""A company's rounds and an investor's rounds, found by name as people type it: case, accents, punctuation, legal
suffixes and look-alike letters ignored ("hugging face", "Hugging-Face Inc.", "Hügging Face" are one company),
and a name's first words enough ("Mistral" finds "Mistral AI"; a generic word alone finds nothing)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from pipelines.names import investor_key, name_key, name_tokens, same_company
from storage.engine import reader_engine, store_errors
from storage.merging import name_stem
from storage.models import FundingRound, Investor, RoundInvestor
from storage.queries import RoundFilters, RoundRecord, list_rounds


def names_match(query: str, name: str, *, investor: bool = False) -> bool:
    """Whether `name` is what someone typing `query` means (investors: known aliases too, "a16z")."""
    if investor and investor_key(query) and investor_key(query) == investor_key(name):
        return True
    if not name_key(query):
        return False
    if name_key(query) == name_key(name):
        return True
    # the query's words start the name ("Mistral" finds "Mistral AI"), never the reverse ("Salesforce Ventures"
    # does not find "Salesforce")
    typed, stored = name_tokens(query), name_tokens(name)
    return len(typed) <= len(stored) and same_company(query, name)


@dataclass(frozen=True)
class CompanyRounds:
    """Every round of the companies named like `query`, newest first, the rumours that preceded them included."""

    query: str
    names: list[str]
    rounds: list[RoundRecord]
    nearest: list[str] = field(default_factory=list)  # when nothing matched: the names closest to `query`


@dataclass(frozen=True)
class InvestorRounds:
    """The rounds the investors named like `query` led and the ones they joined, newest first."""

    query: str
    names: list[str]
    led: list[RoundRecord]
    joined: list[RoundRecord]
    nearest: list[str] = field(default_factory=list)

    @property
    def rounds(self) -> list[RoundRecord]:
        """Led and joined, newest first."""
        return sorted([*self.led, *self.joined], key=_newest_first)


def company_rounds(url: str, query: str) -> CompanyRounds:
    """The rounds of the company `query` names (see the module's rules), rumours it confirmed included."""
    if not name_key(query):
        return CompanyRounds(query, [], [])
    with store_errors(), Session(reader_engine(url)) as session:
        # every name two spellings of one company could have shares the stem: an indexed look-up, not a scan
        stem = name_stem(query)
        # a name shorter than a stem ("1X") starts the stems of the names it begins ("1X Technologies": "1xt")
        same_stem = FundingRound.name_stem == stem if len(stem) >= 3 else FundingRound.name_stem.startswith(stem)
        candidates = session.execute(select(FundingRound.id, FundingRound.company).where(same_stem)).all()
        matched = [(round_id, company) for round_id, company in candidates if names_match(query, company)]
        nearest = [] if matched else _nearest(query, session.scalars(select(FundingRound.company).distinct()))
        ids = tuple(round_id for round_id, _ in matched)
        # a rumour an announcement confirmed belongs to the company's story, however the rumour spelt its name
        ids += tuple(session.scalars(select(FundingRound.id).where(FundingRound.confirmed_by.in_(ids))))
    found = list_rounds(url, RoundFilters(ids=ids, confirmed_rumors=True)) if ids else []
    return CompanyRounds(query, sorted({company for _, company in matched}), found, nearest)


def investor_rounds(url: str, query: str) -> InvestorRounds:
    """The rounds the investor `query` names (aliases too) led, and those it joined without leading."""
    with store_errors(), Session(reader_engine(url)) as session:
        investors = session.execute(select(Investor.id, Investor.name)).all()
        matched = {investor_id: name for investor_id, name in investors if names_match(query, name, investor=True)}
        roles: dict[int, set[str]] = {}
        for start in range(0, len(ids := list(matched)), 500):
            for round_id, role in session.execute(
                select(RoundInvestor.round_id, RoundInvestor.role).where(
                    RoundInvestor.investor_id.in_(ids[start : start + 500])
                )
            ):
                roles.setdefault(round_id, set()).add(role)
    nearest = [] if matched else _nearest(query, (name for _, name in investors))
    found = list_rounds(url, RoundFilters(ids=tuple(roles), confirmed_rumors=True)) if roles else []
    led = [record for record in found if "lead" in roles.get(record.id or 0, ())]
    joined = [record for record in found if "lead" not in roles.get(record.id or 0, ())]
    return InvestorRounds(query, sorted(set(matched.values())), led, joined, nearest)


def _nearest(query: str, names: object, count: int = 3) -> list[str]:
    """The stored names closest in spelling to `query` (for "did you mean")."""
    by_key: dict[str, str] = {}
    for name in names:  # type: ignore[attr-defined]
        by_key.setdefault(name_key(name), name)
    close = difflib.get_close_matches(name_key(query), list(by_key), n=count, cutoff=0.6)
    return [by_key[key] for key in close]


def _newest_first(record: RoundRecord) -> tuple[object, ...]:
    return (-(record.announced.toordinal() if record.announced else 0), -(record.id or 0))

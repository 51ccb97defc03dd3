"""Funding-round detector: pure functions over (text, title, published) returning ROUND dicts (DESIGN.md).

Stages: normalise and split, money (pipelines.money), amount roles, headline-anchored candidates and guards,
company, round type, investors, valuation, status, confidence. Module state is read-only after import, apart
from a bounded cache of amount roles (``_role``).
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import logging
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources

from pipelines.money import USD_RATES, Money, find_money, find_undisclosed, to_usd

logger = logging.getLogger(__name__)

__all__ = ["detect_rounds", "ROUND_KEYS", "ROUND_TYPES", "MAX_INPUT_CHARS"]

MAX_INPUT_CHARS = 200_000
ROUND_KEYS = (
    "company",
    "amount",
    "currency",
    "amount_usd",
    "round",
    "lead_investors",
    "investors",
    "valuation",
    "status",
    "confidence",
)
ROUND_TYPES = frozenset(
    [
        "pre_seed",
        "seed",
        "angel",
        *(f"series_{c}" for c in "abcdefghij"),
        "growth",
        "debt",
        "convertible_note",
        "grant",
        "strategic",
        "private_equity",
        "crowdfunding",
    ]
)
MAX_SENTENCE_CHARS = 3000  # longer "sentences" are page debris; capping them keeps every pattern linear
# grouping and scoping compare raises with each other: no real article reports this many, and the cap keeps a
# page of thousands of "X raised $1 million" from taking minutes
MAX_EVENTS = 300
MIN_ROUND_USD = 10_000
MAX_ROUND_USD = 500e9
_THETA, _TAU = 2.0, 1.5


# ---------------------------------------------------------------- gazetteers (loaded once, read-only)


def _rows(name: str) -> list[list[str]]:
    """Rows of a ``|``-separated file in pipelines/data (comment lines start with ``#``)."""
    text = resources.files("pipelines").joinpath("data", name).read_text(encoding="utf-8")
    return [
        [c.strip() for c in line.split("|")]
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def _categories(name: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for row in _rows(name):
        out.setdefault(row[0], []).extend(c for c in row[1:] if c)
    return out


def _phrase_re(phrases: list[str], flags: int = re.IGNORECASE) -> re.Pattern[str]:
    """One pattern for literal phrases on word boundaries; a trailing ``*`` allows any word ending.

    The phrases are merged into a trie ("rais(?:e(?:d|s)?)") so that a position is rejected after a character
    or two instead of after trying every phrase; at each branch the longer continuation is tried first."""
    trie: dict = {}
    for p in set(phrases):
        words = p.rstrip("*").split()
        units = [u for i, w in enumerate(words) for u in ([r"\s+"] if i else []) + [re.escape(c) for c in w]]
        units += [r"\w*"] if p.endswith("*") else []
        node = trie
        for unit in units:
            node = node.setdefault(unit, {})
        node[""] = r"(?!\w)" if p[-1].isalnum() else ""  # the end of a phrase, with its boundary

    def emit(node: dict) -> str:
        alts = [unit + emit(node[unit]) for unit in sorted(node, key=lambda u: (-len(u), u)) if unit]  # stable
        alts += [node[""]] if "" in node else []
        return alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"

    return re.compile(r"(?<!\w)" + emit(trie), flags)


_CUES = _categories("cues.txt")
_NAMES = _categories("names.txt")
_ROUND_PHRASES = _categories("rounds.txt")
_INVESTOR_ROWS = _rows("investors.txt")

RAISE_RE = _phrase_re(_CUES["raise"] + _CUES["weak_raise"])
WEAK_RAISE = frozenset(w.casefold() for w in _CUES["weak_raise"])
RAISE_AFTER_RE = _phrase_re(_CUES["raise_after"])
RAISE_PASSIVE_RE = _phrase_re(_CUES["raise_passive"])
RAISE_NOUN_RE = _phrase_re(_CUES["raise_noun"])
INVEST_RE = _phrase_re(_CUES["invest"])
RUMOR_RE = _phrase_re(_CUES["rumor"])
HISTORY_RE = _phrase_re(_CUES["history"])
FUND_RE = _phrase_re(_CUES["fund"], 0)
ACQ_RE = _phrase_re(_CUES["acquisition"])
IPO_RE = _phrase_re(_CUES["ipo"], 0)
NEGATION_RE = _phrase_re(_CUES["negation"])
ROUNDUP_RE = _phrase_re(_CUES["roundup"])
DESCRIPTORS = frozenset(w.casefold() for w in _NAMES["descriptor"])
STOPWORDS = frozenset(_NAMES["stop"])
GENERIC = frozenset(_NAMES["generic"])
LEGAL = frozenset(_NAMES["legal"])
FIRM_SUFFIX_RE = re.compile(r"\s+(?:" + "|".join(map(re.escape, _NAMES["firm_suffix"])) + r")\b")
_ROUND_RES = [(k, _phrase_re(v, 0 if k == "convertible_note" else re.IGNORECASE)) for k, v in _ROUND_PHRASES.items()]


def _k(name: str) -> str:
    """Merge key of a name: casefold, alphanumerics only."""
    return re.sub(r"[\W_]+", "", name.casefold())


INVESTOR_CANON: dict[str, str] = {_k(alias): row[0] for row in _INVESTOR_ROWS for alias in row}

# ---------------------------------------------------------------- patterns

_TRANSLATE = str.maketrans(
    {
        "\u00a0": " ",
        "\u2009": " ",
        "\u202f": " ",
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2013": "-",
        "\u2014": " - ",
        "\u2012": "-",
        "\u2212": "-",
        "\u00ad": None,
        "\u200b": None,
    }
)
_SENT_END_RE = re.compile(r"[.!?]+[\"')\]]?\s+(?=[\"'(\[]?[A-Z0-9$€£¥₹])")
_ABBREV_RE = re.compile(
    r"(?:\b(?:Inc|Corp|Co|Ltd|Mr|Mrs|Ms|Dr|St|Jr|Sr|vs|No|Nos|approx|est|Mio|Rs|U\.S|U\.K|"
    r"S\.A|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec|"
    r"(?i:janv|févr|avr|juil|sept|oct|nov|déc|jan|feb|aug|dic|ene|giu|lug))|\b[A-Z])[.!?]+[\"')\]]?\s+$"
)
_TITLE_SUFFIX_RE = re.compile(r"\s+[|\-–—]\s+[^|]{1,30}$")
_SERIES_RE = re.compile(
    r"(?<![Pp]re-)(?<![Pp]re )\b[Ss](?:eries|erie|érie)[\s-]([A-J])(?:[\s-]?\d|\+)?(?!\w|-[a-z\d])"
    r"|\b(?:in|a|an|its|the|new)\s([A-J])\+?[\s-][Rr]ound\b"
)
_PAST_ROUND_RE = re.compile(r"\b(?:last|previous|prior|earlier|former|preceding)\s+(?:\w+\s+){0,2}$", re.I)
_RELATIVE_RE = re.compile(
    r"(?:\b(?:which|that|who|whose|after|since|when|as|qui|che|que|die|der|das)\s+(?:\w+\s+){0,3}|\()$", re.I
)
# "announced that it has raised": a reported raise of the subject, not a relative clause about another company
_COMPLEMENT_RE = re.compile(
    r"\b(?:announc\w*|said|says|confirm\w*|reveal\w*|disclos\w*|stated|told\s+\w+)\s+(?:on\s+\w+\s+|today\s+|yesterday\s+)?"
    r"(?:that\s+)?(?:it|they|the\s+(?:company|startup|start-up|firm))\s+(?:\w+\s+){0,2}$",
    re.I,
)
_NEG_BEFORE_RE = re.compile(r"\b(?:not|never|no|n't|denies|denied|without)\s+(?:\w+\s+){0,2}$", re.I)
# atomic repetitions (Python 3.11+) and one way to split the separator: no backtracking, so a long run of
# ", talks , talks" before a trigger stays linear (it was exponential)
_AUX_TAIL_RE = re.compile(
    r"(?>(?:,\s*|\s+)(?:has\s+now|has\s+announced|has|have|had|is|was|will|just|now|today|officially|also|finally|"
    r"successfully|(?:close|about|set|poised|expected|likely|planning|looking|aiming|hoping|trying|seeking)\s+to|"
    r"planning|plans|plan|looking|seeking|seeks|aims|aiming|set|expected|hoping|hopes|trying|tried|wants|"
    r"(?:in\s+)?(?:(?:early|advanced|preliminary|final)\s+)?(?:talks|discussions|negotiations)|close|about|"
    r"in\s+the\s+(?:midst|process)\s+of|reported(?:ly)?|said|understood|believed|poised|likely|"
    r"recently|reportedly|quietly|yesterday|tonight|earlier|already|announced|announces|says|that|it|"
    r"on\s+\w+day|this\s+week)(?!\w))+"
    r"[\s,]*$",
    re.I,
)
AUX_TAIL_WINDOW = 200


def _strip_aux_tail(text: str) -> str:
    """Drop the auxiliaries and adverbs that end a subject ("Acme has now officially"): on the last
    AUX_TAIL_WINDOW characters only, so the work per trigger is bounded."""
    if len(text) <= AUX_TAIL_WINDOW:
        return _AUX_TAIL_RE.sub("", text)
    cut = _back(text, len(text), AUX_TAIL_WINDOW)
    return text[:cut] + _AUX_TAIL_RE.sub("", text[cut:])


_APPOSITIVE_RE = re.compile(
    r",\s*(?:the|a|an|which|who|ein|eine|einer|der|die|das|un|une|una|uno|la|le|il|lo|el)\s[^,]{1,80},?\s*$", re.I
)
_NAME_TOKEN_RE = re.compile(r"^(?:[A-Z0-9][\w.'&|+/-]*|[a-z]+[A-Z0-9.][\w.]*|&)$")
_VALUATION_LEFT_RE = re.compile(
    r"(?:valu(?:ed|ation|ing|es)(?:\s+\w+)?|value\s+at|worth|Bewertung|valorisation|valutazione|valoración|valuación|"
    r"avaliação|valorizzazione)\b[^$€£¥₹\d.;]{0,45}$",
    re.I,
)
_VALUATION_RIGHT_RE = re.compile(r"^\s{0,2}(?:\w+\s+)?(?:\(?(?:post|pre)[- ]money\)?\s+)?valuation", re.I)
_TOTAL_LEFT_RE = re.compile(
    r"(?:total(?:ing|ling)?|totals|to date|bringing|cumulative|altogether|overall|au\s+total|कुल)"
    r"\b[^$€£¥₹\d.;]{0,25}$",
    re.I,
)
# "raised a total of USD 58 million in a Strategic Growth Round": the size of this round, not a running total
_ROUND_TOTAL_RE = re.compile(
    r"\ba\s+total\s+of\s+\S+(?:\s+\S+)?\s+(?:[a-z]+\s+)?(?:in|through)\s+(?:a|an|its|the)\s+(?:new\s+|latest\s+)?"
    r"(?:[\w-]+\s+){0,3}(?:round|financing|funding)\b",
    re.I,
)
_TOTAL_RIGHT_RE = re.compile(r"^\s{0,2}(?:in total|to date|so far|in all|overall|total|since)\b", re.I)
_FUND_RIGHT_RE = re.compile(
    r"^\s{0,2}(?:\([^)]{0,40}\)\s*)?(?:(?:[\w-]+\s+){0,3}(?<!to )(?:fund|funds|Fund|vehicle)\b(?!ing)|"
    r"(?:[\w-]+\s+){0,3}to\s+(?:finance|fund|lend\s+to|invest\s+in)\s+(?:\w+\s+)?"
    r"(?:startups|companies|businesses|SMEs|founders)\b|"
    r"(?:in\s+)?(?:new\s+)?(?:funding|financing|capital|investment)\s+(?:for|to)\s+(?:[\w-]+\s+){0,3}"
    r"(?:companies|startups|businesses|SMEs|entrepreneurs|founders)\b|"
    r"(?:for|to)\s+(?:investing|invest|back|deploy))"
)
_FUND_LEFT_RE = re.compile(r"\bfunds?\s+(?:[a-z]\w*\s+){0,3}(?:of|to|at|worth|with)?\s*$")
_OTHER_RIGHT_RE = re.compile(
    r"^\s{0,2}(?:\w+\s+)?(?:in\s+)?(?:annual\s+|recurring\s+)?(?:revenue|sales|ARR|GMV|"
    r"run-rate|profit|loss|market|industry|per\s+share|a\s+share|damages|fine|order|"
    r"contract|deal\s+to\s+acquire|acquisition|IPO)\b",
    re.I,
)
_OTHER_LEFT_RE = re.compile(
    r"(?:\bfor|revenue|sales|market|worth|price|priced|costs?|ARR)\s+(?:of\s+|at\s+|"
    r"about\s+|around\s+|roughly\s+|nearly\s+)?$",
    re.I,
)
_RANGE_LEFT_RE = re.compile(
    r"\b(?:between\s+|(?:from|between)\s+[^\s\d]{0,3}\s?[\d.,]+\s?\w{0,8}\s+(?:to|and)\s+)$", re.I
)
_RANGE_RE = re.compile(r"^\s{0,2}(?:-|to|and)\s{0,2}[$€£¥₹]?\s?\d", re.I)
_FUNDING_OBJECT_RE = re.compile(
    r"\b(?:round|funding|financing|investment|series|seed|grant|capital|led\s+by|valuation|lead\s+investor|"
    r"from\s+(?:[\w-]+\s+){0,3}(?:investors|backers|lenders?)|from\s+(?-i:[A-Z])[\w.&-]*|venture|equity|debt|loan|"
    r"facility)\b",
    re.I,
)
# a sentence that talks about a round (not "every bank account, credit card, loan" in a product description)
_ROUND_CONTEXT_RE = re.compile(
    r"\b(?:round|funding|financing|raised?|raising|secured|closed|led\s+by)\b|[$€£¥₹]\s?\d", re.I
)
_FUNDING_WORDS_RE = re.compile(
    r"\b(?:round|funding|financing|raise[sd]?|raising|investment|invest(?:ed|s)?|"
    r"capital|series|seed|backers|investors|Geldgeber|Investoren|Finanzierung\w*|investisseurs?|financement|"
    r"tour\s+de\s+table|investitori|finanziamento|inversores|financiaci[oó]n|investidores|rodada|Geld|Kapital|"
    r"\w*[Ii]nvestoren|investiert|convertible|[Ff]inanzierungsrunde|Runde|VCs?|valuation|valorisation|"
    r"valutazione|Bewertung|men[ée]e?\s+par|guidat[ao]\s+da|angeführt)\b|फंडिंग|राउंड|निवेश|नेतृत्व",
    re.I,
)
_LIST_STOP_RE = re.compile(
    r"[;:!?()\[\]\"]|\s-\s|(?<!\bCo)(?<!\bInc)(?<!\bCorp)(?<!\bLtd)(?<!\b[A-Z])\.(?=\s|$)|"
    r"\b(?:with|who|which|that|to|for|in|into|at|as|on|among|alongside|while|bringing|valuing|plus|is|are|was|were|"
    r"will|has|have|had|said|says|also|but|joined|according|after|before|from|through|via|under|since|led|"
    r"participated|both|each|took|this|its|their|the\s+round|the\s+company)\b"
)
_LIST_SPLIT_RE = re.compile(
    r",\s*(?:and\s+|&\s+|und\s+|et\s+)?|\s+(?:and|und|et|e|y|sowie|oder|or|और)\s+|\s+as\s+well\s+as\s+"
)
# lower-case only: "New Enterprise Associates" keeps its "New"
_FILLER_RE = re.compile(
    r"^(?:and|or|existing|new|other|returning|previous|investors?|backers?|including|entrant|"
    r"such|as|from|firms?|funds?|include|includes|the|by|participation|investment|"
    r"individual|angel|angels|strategic|venture|capital|firm|partners?|[Ee]xisting|[Nn]ew\s+"
    r"(?:investors?|backers?|entrant))\s+"
)
# starts only at a token boundary: without the lookbehind a long token is retried from each of its characters
_NAME = r"(?<![\w.&'-])[A-Z0-9][\w.&'-]*(?:\s+(?:&\s+)?[A-Z0-9][\w.&'-]*){0,5}"
_LEAD_PATTERNS = [
    re.compile(r"\b(?:co-)?lea?d\s+by\s+(?P<list>.{1,200})", re.S),
    re.compile(
        r"\b(?:[Aa]ngeführt\s+(?:(?:wird|wurde)\s+die\s+(?:Finanzierungs)?[Rr]unde\s+)?von(?:\s+den)?|"
        r"[Ff]ederführend\s+investiert(?:en|\s+hätten|\s+haben)?(?:\s+die)?|guidat[ao]\s+da|men[ée]e?\s+par|lid[ea]rad[ao]\s+por|"
        r"co-?men[ée]e?\s+par)\s+(?P<list>.{1,200})",
        re.S,
    ),
    re.compile(r"\bled\s+jointly\s+by\s+(?P<list>.{1,200})", re.S),
    re.compile(r"\bLeading\s+the\s+(?:round|financing|investment)\s+(?:was|were|is|are)\s+(?P<list>.{1,200})"),
    re.compile(r"नेतृत्व\s+(?P<list>[^.।]{1,200}?)\s+ने\s+किया"),  # Hindi: "... का नेतृत्व X और Y ने किया"
    re.compile(r"\bwith\s+(?P<list>.{1,80}?)\s+leading\b"),
    re.compile(rf"(?P<list>{_NAME}(?:\s*(?:,|and)\s+{_NAME}){{0,3}})\s+(?:co-)?led\s+(?:the|this|a)\b"),
    re.compile(rf"(?P<list>{_NAME})\s+(?:acted|served|identified|named|was|is)\s+as\s+(?:the\s+)?lead(?:\s+investor)?"),
    re.compile(r"\blead\s+investors?\s+(?:was|were|is|are)?\s*(?P<list>.{1,150})"),
]
_PARTICIPANT_PATTERNS = [
    re.compile(r"\baupr[èe]s\s+d(?:e\s+|')(?P<list>[A-Z].{1,200})", re.S),
    re.compile(
        r"\b(?:Bestandsinvestoren|Investoren|Geldgeber|investisseurs|investitori|inversores|investidores)\s*"
        r"[:-]?\s*(?:sind\s+|waren\s+|wie\s+|come\s+|comme\s+|como\s+)?(?:[a-zäöüéè][\w-]*\s+){0,2}"
        r"(?P<list>[A-Z].{1,200})",
        re.S,
    ),
    re.compile(r"\bparticipation\s+(?:from|by|of)\s+(?P<list>.{1,250})", re.S),
    re.compile(r"\bjoined\s+by\s+(?P<list>.{1,200})"),
    re.compile(r"\bjoined\s+with\s+(?:existing\s+|new\s+)?(?:investors\s+|backers\s+)?(?P<list>[A-Z].{1,200})"),
    re.compile(
        r"\b(?:round|financing|funding)\s+(?:sees|saw|includes|included)\s+(?:new\s+|existing\s+)?"
        r"(?:investors\s+|backers\s+)?(?P<list>[A-Z].{1,200})"
    ),
    re.compile(r"\bin\s+conjunction\s+with\s+(?P<list>.{1,200})"),
    re.compile(r"निवेशकों\W{0,3}(?P<list>[^.।]{1,200}?)\s+से\s"),  # Hindi: "निवेशकों—X और Y से ... जुटाए"
    # French: "37 M€ de la BEI + 20 M€ (Definvest, EIC Fund, ...)"
    re.compile(
        r"\d\s?(?:M|Md|millions?\s+d')\s?(?:€|euros)\s+(?:de\s+la|du|de\s+l'|des|de)\s+(?P<list>[A-Z][^+;]{1,120})"
    ),
    re.compile(r"\d\s?(?:M|Md)\s?€\s*\((?P<list>[A-Z][^()]{1,200})\)"),
    re.compile(r"\b(?:continued\s+)?backing\s+from\s+(?P<list>.{1,200})"),
    re.compile(
        r"\b(?:funding|round|investment|capital|money|financing)\s+(?:was|were|is|has\s+been)\s+(?:provided|put\s+up)"
        r"\s+by\s+(?P<list>.{1,200})"
    ),
    re.compile(r"\b(?:round|funding|financing|investment),\s+(?:backed|supported|funded)\s+by\s+(?P<list>.{1,200})"),
    re.compile(r"\balongside\s+(?P<list>.{1,200})"),
    re.compile(
        r"\b(?:participants|investors|backers)\s+(?:in\s+the\s+(?:funding\s+|financing\s+)?(?:round|financing|funding)\s+)?"
        r"(?:include|included|including|are|were)\s+(?P<list>.{1,250})"
    ),
    re.compile(
        rf"(?P<list>{_NAME}(?:\s*(?:,\s*(?:and\s+)?|and\s+){_NAME}){{0,8}})"
        r"(?:\s+and\s+other\s+(?:\w+\s+)?(?:investors|backers))?\s+(?:also\s+)?"
        r"(?:participated|joined|took\s+part|invested\s+in\s+the\s+(?:round|financing|funding))\b"
    ),
    re.compile(
        rf"(?P<list>{_NAME}(?:\s*(?:,|and)\s+{_NAME}){{0,8}})\s+(?:were|are)\s+(?:also\s+)?(?:among\s+)?"
        r"(?:the\s+)?(?:other\s+)?(?:investors|backers|participants)\b"
    ),
    re.compile(r"\bexisting\s+(?:investors|backers)\s+(?P<list>[A-Z].{1,200})"),
    re.compile(
        r"\b(?:[Oo]thers|[Oo]ther\s+(?:investors|backers))\s+(?:joining|participating|taking\s+part)(?:\s+in)?"
        r"\s+(?:were|are|included|include)\s+(?P<list>[A-Z].{1,200})"
    ),
    re.compile(r"\b(?:investors|backers)\s+(?:such\s+as|like|including)\s+(?P<list>[A-Z].{1,200})"),
    re.compile(
        r"(?:\b(?:funding|investment|money|capital|round|financing|facility|loan|debt)\s+(?:(?:has\s+|have\s+)?c[oa]me\s+)?|"
        r"(?:[$€£¥₹]|\b[A-Z]{3}\s?)[\d.,]+\s*(?:[mMbBkK]n?|million|billion)?\s+|\b(?:million|billion|crore|lakh|[mM]n?)\s+)"
        r"from\s+(?:(?:[a-z-]+|[A-Z][\w.]*-based)\s+){0,4}(?P<list>[A-Z].{1,200})"
    ),
    re.compile(r"\b(?:prior|previous)\s+investors\s+(?P<list>[A-Z].{1,200})"),
    re.compile(
        r"\b(?:Geld|Kapital)\s+(?:kommt|kam|kamen|stammt|stammen)\s+(?:\w+\s+)?(?:von|vom)\s+"
        r"(?:[a-zäöü]\w*\s+){0,2}(?:[A-ZÄÖÜ]\w+\s+wie\s+)?(?P<list>[A-Z].{1,200})"
    ),
]
_ANY_YEAR_RE = re.compile(r"(?<![\d.,/-])((?:19[89]|20[0-3])\d)(?![\d.,/-]?\d)")
_RELATED_RE = re.compile(
    r"^(?:Also\s+Read|Read\s+(?:more|also)|Related(?:\s+(?:stories|articles|news))?|"
    r"More\s+from|Recommended|You\s+may\s+also\s+like|Trending|Popular)\b\s*:?",
    re.I,
)
_AGGREGATE_TITLE_RE = re.compile(
    r"\b(?:startups|companies|firms)\b.{0,40}\b(?:raise|raised|secure|secured|bag|"
    r"bagged|attract|attracted|funding)\b",
    re.I,
)
_MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December"
_MONTH_RE = re.compile(rf"\b(?:in|since|during|back\s+in)\s+(?:(?:early|late|mid-?)\s*)?({_MONTHS})\b(?!\s+\d)")
_YEAR_RE = re.compile(
    rf"\b(?:in|since|during|back\s+in)\s+(?:(?:early|late|mid-?)\s*)?(?:(?:{_MONTHS})\s+)?"
    r"((?:19|20)\d\d)\b",
    re.I,
)


# ---------------------------------------------------------------- records


@dataclass
class _Sentence:
    text: str
    para: int
    index: int
    is_title: bool = False


@dataclass
class _Event:
    company: str
    sent: _Sentence
    money: Money | None = None
    undisclosed: bool = False
    rumored: bool = False
    leads: list[str] = field(default_factory=list)
    backers: list[str] = field(default_factory=list)  # investors named as the subject ("A and B are putting $9M into")
    score: float = 0.0
    start: int = 0  # where this raise's clause starts in its sentence (several raises can share one)
    listed: bool = False  # named in a roundup list: no details of its own
    own_clause: bool = False  # its clause starts at ``start`` even when no raise comes before it (a bullet)
    kind: str | None = None  # the round type its context gives (a winner of a grant programme)


# ---------------------------------------------------------------- stage 0: normalise and split


def _normalise(text: str) -> str:
    text = text[:MAX_INPUT_CHARS].translate(_TRANSLATE)
    text = re.sub(r"\bUS \$", "US$", text)
    return re.sub(r"[ \t\r\f\v]+", " ", text)


def _clean_title(title: str | None) -> str:
    if not title:
        return ""
    title = _normalise(title).strip()[:1000]
    m = _TITLE_SUFFIX_RE.search(title)
    if m and not re.search(r"\d|[$€£]", m.group(0)) and len(title) - len(m.group(0)) > 20:
        title = title[: m.start()]
    return title


_DOTTED_NAME_RE = re.compile(r"(?<![\w.])[A-Z][a-z]{1,6}\. [A-Z][a-z]+\b")


def _back(text: str, pos: int, width: int) -> int:
    """``pos - width``, moved forward to a word start: a window must not begin inside a word, or "Health|care"
    would read as "are" and "Un|former" as "former"."""
    i = max(0, pos - width)
    while 0 < i < pos and text[i - 1].isalnum() and text[i].isalnum():
        i += 1
    return i


def _split_sentences(text: str) -> list[_Sentence]:
    """Paragraphs on newlines, sentences on terminal punctuation that is not an abbreviation or decimal."""
    out: list[_Sentence] = []
    # "Infra. Market": a dotted name the text repeats is a name, not a sentence end
    counts: dict[str, int] = {}
    for m in _DOTTED_NAME_RE.finditer(text):
        counts[m.group(0)] = counts.get(m.group(0), 0) + 1
    dotted = {d for d, n in counts.items() if n >= 2}
    for p_index, para in enumerate(p for p in text.split("\n") if p.strip()):
        start = 0
        for m in _SENT_END_RE.finditer(para):
            if _ABBREV_RE.search(para[max(start, m.end() - 12) : m.end()]):
                continue
            if dotted and (around := _DOTTED_NAME_RE.match(para, max(0, para.rfind(" ", 0, m.start()) + 1))):
                if around.group(0) in dotted:
                    continue
            out.append(_Sentence(para[start : m.end()].strip(), p_index, len(out)))
            start = m.end()
        if para[start:].strip():
            out.append(_Sentence(para[start:].strip(), p_index, len(out)))
    return out


# ---------------------------------------------------------------- stage 2: amount roles


def _role(sentence: str, money: Money) -> str:
    """The role of a money mention from the words next to it: raise, valuation, total, fund, range, other."""
    if len(sentence) > MAX_SENTENCE_CHARS:  # the cache keeps only sentence-sized strings alive
        return _role_of.__wrapped__(sentence, money)
    return _role_of(sentence, money)


@functools.lru_cache(maxsize=1024)  # asked again for the same mention by each reading of a sentence
def _role_of(sentence: str, money: Money) -> str:
    """_role, cached."""
    left = sentence[_back(sentence, money.start, 45) : money.start]
    right = sentence[money.end : money.end + 40]
    if _RANGE_RE.search(right) or _RANGE_LEFT_RE.search(left):
        return "range"
    if _VALUATION_RIGHT_RE.search(right) or _VALUATION_LEFT_RE.search(left):
        return "valuation"
    if (_TOTAL_LEFT_RE.search(left) or _TOTAL_RIGHT_RE.search(right)) and not _ROUND_TOTAL_RE.search(
        sentence[_back(sentence, money.start, 12) : money.end + 60]
    ):
        return "total"
    if _FUND_RIGHT_RE.search(sentence[money.end : money.end + 75]) or _FUND_LEFT_RE.search(left):
        return "fund"
    if _OTHER_RIGHT_RE.search(right) or _OTHER_LEFT_RE.search(left):
        return "other"
    usd = to_usd(money.value, money.currency) or money.value
    if not MIN_ROUND_USD <= usd <= MAX_ROUND_USD:
        return "other"
    return "raise"


# ---------------------------------------------------------------- stage 4: company


_NAME_TAIL_WORDS = frozenset("technologies technology labs systems solutions networks holdings".split())


def _name_tokens(subject: str) -> list[str]:
    tokens = subject.split()
    run: list[str] = []
    for tok in reversed(tokens):
        tok_clean = tok.strip("\"',")
        if tok.endswith(",") and run:
            break
        if _NAME_TOKEN_RE.match(tok_clean) and not re.search(r"-(?:based|backed|founded|led)$", tok_clean, re.I):
            run.insert(0, tok_clean)
            continue
        if not run and tok_clean in _NAME_TAIL_WORDS and len(tokens) >= 2:  # "Cassava technologies"
            prev = tokens[tokens.index(tok) - 1].strip("\"',") if tokens.index(tok) > 0 else ""
            if _NAME_TOKEN_RE.match(prev) and not _is_descriptor(prev):
                run.insert(0, tok_clean)
                continue
        if not run and tok_clean.islower() and tok_clean.isalpha() and len(tokens) >= 2:
            prev = tokens[tokens.index(tok) - 1].casefold() if tokens.index(tok) > 0 else ""
            if prev in DESCRIPTORS and not prev.endswith("s") and tok_clean not in GENERIC:  # "startup smallcase"
                run.insert(0, tok_clean)
        break
    return run


def _is_descriptor(token: str) -> bool:
    """ "startup", "Biotech-Firma", "Fantasy-Fußball-Plattform": a word describing what a company is."""
    word = token.casefold().removesuffix("'s")
    parts = word.split("-")  # "Software-Start-up": its tail "start-up" is a descriptor
    return any("-".join(parts[i:]) in DESCRIPTORS for i in range(len(parts)))


def _clean_company(run: list[str]) -> str:
    for i in range(len(run) - 2, -1, -1):  # descriptor runs: "AI Chip Startup Etched" -> "Etched"
        if _is_descriptor(run[i]) or run[i].endswith("'s"):  # possessives: "Altman's OpenAI"
            run = run[i + 1 :]
            break
    while run and (run[0] in STOPWORDS or run[0] == "&" or not re.search(r"[A-Za-z]{2}|^[A-Z]$", run[0])):
        run = run[1:]
    while run and (run[-1] in LEGAL or run[-1] == "&"):
        run = run[:-1]
    name = " ".join(run).strip(" .,'")
    if not name or len(run) > 6 or not re.search(r"[A-Za-z]{2}", name) or re.search(r"[{}<>]", name):
        return ""
    if all(_is_descriptor(t) or t in STOPWORDS for t in run):
        return ""
    return name


_FUNCTION_WORDS = frozenset(
    "will would has have had is was are were be been to and or in on for of with which that who by from as at "
    "its their this these also now capital funding financing money equity debt cash".split()
)


_CLAUSE_WORDS = frozenset("will would has have had is was are were to which who that be been".split())


def _name_after(text: str, start: int) -> str:
    """The company named after a passive trigger: "by SME lending platform iwoca" -> "iwoca"."""
    text, start = re.sub(r"\s*\([^()]{0,40}\)", "", text[start : start + 300]), 0  # 'service ("robo-advising") Acorns'
    m = re.match(r"[^,.;:()]{1,120}", text[start:])
    if not m:
        return ""
    tokens = re.split(r"\s+(?:and|e|et|und|y)\s+", m.group(0).strip())[0].split()
    last_desc = max((i for i, t in enumerate(tokens) if _is_descriptor(t)), default=-1)
    rest = tokens[last_desc + 1 :]
    run: list[str] = []
    for tok in rest:
        if tok in _CLAUSE_WORDS:  # the agent phrase ends where a verb starts: "... company will be used to"
            break
        if _NAME_TOKEN_RE.match(tok) and not tok.endswith("-based"):
            run.append(tok)
        elif run:
            break
    if not run and last_desc >= 0 and rest and rest[0].isalpha() and rest[0] not in GENERIC | _FUNCTION_WORDS:
        run = rest[:1]  # lower-case names right after a descriptor: "platform iwoca"
    lower = re.match(r"\s*([a-z][\w.-]+),\s+(?:a|an|the)\s+((?:[\w-]+\s+){0,5})", text[start:])
    if not run and lower and lower.group(1) not in _FUNCTION_WORDS and any(map(_is_descriptor, lower.group(2).split())):
        run = [lower.group(1)]  # "in relayr, a Berlin-based startup"
    return _clean_company(run)


def _leading_name(sentence: str) -> str:
    """The name that opens a sentence ("Sport Ngin, Minneapolis-based company that ..., has raised")."""
    m = re.match(r"[\s•*·-]*(?:[A-Z][\w.]*(?:\s[A-Z][\w.]*)?-based\s+)?(?P<name>" + _NAME + r")\s*[,(]", sentence)
    if not m or re.match(rf"[\s,(]*(?:{_MONTHS}|\d|[A-Z]{{2,}}\)|[A-Z]{{2,}}\s*-\s)", sentence[m.end() :]):
        return ""  # a dateline ("New Delhi, March 29 (IANS)", "SEOUL, AJU - ")
    return _clean_company(m.group("name").split())


def _subject(sentence: str, trigger_start: int) -> str:
    raw = sentence[:trigger_start]
    raw = raw.split(" ने ", 1)[0] if " ने " in raw else raw  # Hindi: the subject is marked by "ने"
    pre = _strip_aux_tail(raw)
    # "Taimba, which operates ... has raised", "StoreDot, che sta sviluppando ..., ha raccolto"
    pre = re.sub(r",\s*(?:which|who|that|che|qui|que|die|der|das|welche)\s[^;:]{0,300}$", "", pre)
    appositive = _APPOSITIVE_RE.search(pre)
    if appositive and _name_tokens(pre[: appositive.start()]):  # "Acme, a payments startup, has raised"
        closed = appositive.group(0).rstrip().endswith(",") or "," in raw[len(pre) :]
        ends_in_name = _NAME_TOKEN_RE.match(appositive.group(0).rstrip(", ").split()[-1])
        if closed or not ends_in_name:  # not "On April 8, the Shanghai-based platform Liyunqiche received"
            pre = pre[: appositive.start()]
    pre = re.split(r"[;:(\"]|\s-\s|,\s+(?=[a-z])", pre)[-1]
    return pre.rstrip(", ")


_PERSON_CONTEXT_RE = re.compile(
    r"(?:\b(?:founded|co-?founded|led|run|headed|backed|created|started)\s+by\s+[^,]{0,120}|"
    r"\b(?:co-?founder|founder|CEO|CTO|chairman|chairwoman|president|chief\s+executive)\s+(?:\S+\s+){0,2}\S+)$",
    re.I,
)


def _company_from_subject(sentence: str, trigger_start: int) -> str:
    subject = _subject(sentence, trigger_start)
    if _PERSON_CONTEXT_RE.search(subject):  # "startup founded by former Tesla CTO JB Straubel": a person
        return ""
    return _clean_company(_name_tokens(subject))


def _longest_in_body(name: str, body: str) -> str:
    """Shrink a title-case name to its longest suffix the body repeats ("Kenyan Foodtech Startup Kune")."""
    tokens = name.split()
    for i in range(len(tokens)):
        cand = " ".join(tokens[i:])
        if cand and any(not _POSSESSIVE_AMOUNT_RE.match(body, end) for end in _word_ends(body, cand)):
            return cand
    return name


_POSSESSIVE_AMOUNT_RE = re.compile(r"'s\s+[$€£¥₹\d]")  # "Rapido's $120 Mn round": a headline form, not a mention


def _word_ends(text: str, word: str, limit: int = 50) -> list[int]:
    """End offsets of ``word`` where it stands as a whole word (str.find, not a regex per name: the regex cache
    would fill with one-off patterns)."""
    ends, at = [], text.find(word)
    while at >= 0 and len(ends) < limit:
        end = at + len(word)
        if (at == 0 or not text[at - 1].isalnum() and text[at - 1] != "_") and (
            end == len(text) or not (text[end].isalnum() or text[end] == "_")
        ):
            ends.append(end)
        at = text.find(word, at + 1)
    return ends


_INVESTOR_SUFFIX_RE = re.compile(r"\s(?:Ventures|Venture\s+Partners|VC|Fund|Investments|Investors)$")


def _is_investor(name: str) -> bool:
    """A gazetteer investor, or a name ending like a venture firm (not "Capital": "Scalable Capital" raises)."""
    return _k(name) in INVESTOR_CANON or bool(_INVESTOR_SUFFIX_RE.search(" " + name))


# ---------------------------------------------------------------- stage 3: candidates and guards


# "had earlier received", "had previously raised": the pluperfect with an adverb, right before the trigger
_HAD_ADVERB_RE = re.compile(
    r"\bhad\s+(?:\w+\s+){1,2}(?:raised|received|secured|closed|attracted|bagged|landed|garnered|obtained)\b(?=.{0,60}$)",
    re.S,
)
_WHEN_PAST_RE = re.compile(
    r"\b(?:last\s+(?:year|month|week|summer|spring|autumn|fall|winter)|\d+\s+(?:years|months)\s+ago|"
    r"earlier\s+this\s+year)\b",
    re.I,
)
_EACH_RE = re.compile(
    r"\s(?:have|has|ont|haben|hanno|han)?\s*(?:each|both|chacune?|toutes?\s+(?:les\s+)?deux|jeweils|beide|"
    r"ciascun[ao]|entrambe|cada\s+una?)\s+(?:(?:have|has)\s+)?$",
    re.I,
)
_PLURAL_AUX_RE = re.compile(r"\b(?:hanno|ont|haben|have|han|sind|are|were|collectively|together)\b(?!\s+each)")


# "announced on August 11 that it had secured": reported speech shifts the tense back, it is not history
_BACKSHIFT_RE = re.compile(
    r"\b(?:announced|said|confirmed|revealed|disclosed|told\s+\w+)\s+(?:on\s+\w+(?:\s+\d{1,2})?\s+)?(?:that\s+)?"
    r"(?:it|they|the\s+(?:company|startup|firm))\s+$",
    re.I,
)


def _guard(sentence: str, start: int, end: int, ref_year: int | None) -> str | None:
    """A reject reason for the clause around a trigger, or None."""
    left = _back(sentence, start, 80)
    boundary = max(sentence.rfind(b, left, start) for b in (" and ", "; ", " while ", " whereas "))
    clause = sentence[boundary if boundary >= 0 else left : end + 30]  # not the history of a coordinated clause
    history = [
        m
        for m in HISTORY_RE.finditer(clause)
        if not _BACKSHIFT_RE.search(clause[: m.start()])
        and not (m.group(0).casefold() == "a total of" and _ROUND_TOTAL_RE.match(clause, m.start()))
    ]
    if history or _WHEN_PAST_RE.search(sentence[start : start + 200]) or _HAD_ADVERB_RE.search(sentence, 0, end):
        return "history"
    for m in _YEAR_RE.finditer(clause):
        if ref_year is not None and int(m.group(1)) < ref_year:
            return "history"
    if IPO_RE.search(clause) or IPO_RE.search(
        sentence, end, end + 60
    ):  # "raised $4.87B in its initial public offering"
        return "ipo"
    if ACQ_RE.search(sentence[_back(sentence, start, 40) : end + 15]):
        return "acquisition"
    before = sentence[_back(sentence, start, 40) : start]
    if _RELATIVE_RE.search(before) and not _COMPLEMENT_RE.search(before):
        return "passing_mention"
    if _NEG_BEFORE_RE.search(before):
        return "negation"
    return None


_GENERIC_OBJECT_RE = re.compile(
    r"\s*(?:(?:the\s+)?(?:completion|close|closing)\s+of\s+)?"  # "announced the completion of a seed round"
    r"(?:(?:a|an|the|its|new|fresh|more|additional|further|another|first|some|substantial|significant|"
    r"undisclosed|external|outside|largest|biggest|latest|recent|maiden|initial|new\s+round\s+of)\s+){0,4}"
    r"(?:[a-z]+\s+)?(?:pre-?[Ss]eries\s+[A-J]\+?\s+)?(?:(?:funding|financing|investment|venture|growth|equity)\s+)?"
    r"(?:round|funding|financing|capital|investments?|(?:new\s+)?(?:investors|backers))\b"
    r"(?!\s+(?:firm|fund|arm|partners?)\b)",
    re.I,
)


def _object(sentence: str, start: int, end: int, monies: list[Money]) -> tuple[Money | None, bool, bool]:
    """(raise amount, undisclosed, names a round) in the few words after the trigger."""
    window_end = min(len(sentence), end + 70)
    window = sentence[end:window_end]
    for money in monies:
        if end <= money.start < window_end and money.start - end <= 45:
            role = _role(sentence, money)
            if role == "raise":
                return money, False, True
            if role in {"fund", "other", "total"}:
                return None, False, False
            if role == "valuation" and money.start - end <= 20:
                return None, False, True  # "is reportedly seeking a valuation of $70 billion": size not given
    undisclosed = bool(find_undisclosed(window[:60]))
    generic = _GENERIC_OBJECT_RE.match(window)
    if generic:
        # "in talks for a new funding round": an explicit round whose size is not given
        explicit = re.search(r"\b(?:funding|financing|investment|equity)\s+round\b", generic.group(0), re.I)
        return None, undisclosed or bool(explicit), True
    named = bool(_SERIES_RE.search(window[:50])) or any(
        r.search(window[:40]) for k, r in _ROUND_RES if k not in {"debt", "grant"}
    )
    return None, undisclosed, named or undisclosed


_ANAPHOR_RE = re.compile(
    r"^(?:it|they|the\s+(?:[\w-]+\s+){0,3}(?:company|startup|start-up|firm|platform|business|maker|developer|"
    r"provider|operator|app|outfit|venture|scale-up|scaleup)|la\s+(?:société|start-up|startup|società|empresa)|"
    r"l'entreprise|das\s+(?:Unternehmen|Start-up|Startup)|die\s+Firma)$",
    re.I,
)
_TOPIC_VERB_RE = re.compile(
    r"\s(?:has|have|had|is|was|will|wants|aims|announced|announces|said|says|develops|offers|provides|makes|"
    r"builds|helps|uses|operates|runs|sells|completed|completes|est|ha|è|hat|ist)\s"
)


_DEFINITE_RE = re.compile(r"^(?:(?:the|das|die|der|la|le|il|lo|el|o|a)\s+|l')(?P<rest>(?:[\w-]+\s+){0,3}[\w-]+)$", re.I)


def _is_anaphor(phrase: str) -> bool:
    """ "it", "the company", "Das Berliner Start-up", "the Basel-based biotech": a definite description of
    the company the text is about, not a name."""
    if _ANAPHOR_RE.match(phrase):
        return True
    m = _DEFINITE_RE.match(phrase)
    if not m:
        return False
    *modifiers, head = m.group("rest").split()
    article = phrase.split()[0].casefold()
    german = article in {"das", "die", "der"}
    if article in {"la", "le", "il", "el", "lo", "o", "a"} or article.startswith("l'"):
        # Romance order puts the noun first: "La compañía francesa", "la start-up parisienne"
        words = m.group("rest").split()
        return _is_descriptor(words[0]) and all(w.islower() for w in words[1:])
    return _is_descriptor(head) and all(
        w.islower() or w.endswith("-based") or (german and w.endswith("er")) for w in modifiers
    )  # "the Basel-based biotech", "Das Berliner Start-up"; not "the Ethos yoga chain"


_DESCRIBED_NAME_RE = re.compile(r"(?P<name>" + _NAME + r"),\s+(?:a|an)\s+(?:[\w-]+\s+){0,3}?(?P<desc>[\w-]+)\b")


def _topic(text: str) -> str:
    """The company a sentence is about: its leading name or the subject of its first verb."""
    verb = _TOPIC_VERB_RE.search(text[:300])
    name = _leading_name(text) or (_company_from_subject(text, verb.start()) if verb else "")
    if not name and (opening := re.match(r"(?P<name>" + _NAME + r")\s+[a-z]+(?:s|ed)\b", text)):
        name = _clean_company(opening.group("name").split())  # "Robinhood continues to come under pressure"
    if not name and (described := _DESCRIBED_NAME_RE.search(text[:400])):  # "... Prexton Therapeutics, a spin-off"
        if _is_descriptor(described.group("desc")):
            name = _clean_company(described.group("name").split())
    if not name and len(text) <= 90:  # "Una de esas megarrondas es la de Payfit.": the one name of a short sentence
        names = [t.strip(".,;:'\"") for t in text.split()[1:] if _NAME_TOKEN_RE.match(t.strip(".,;:'\""))]
        if len(names) == 1 and names[0] not in STOPWORDS:
            name = _clean_company(names)
    if not name:  # "Den Start machte am Montag das Start-up Outfittery."
        for m in re.finditer(r"(?<![\w-])([\w-]+)\s+(?=(" + _NAME + r"))", text[:300]):
            if _is_descriptor(m.group(1)):
                name = _clean_company(m.group(2).split())
                break
    return "" if not name or _is_investor(name) else name


def _context(last_company: str, since: list[_Sentence]) -> str:
    """The previous sentence's topic, carried across a paragraph; else the last raising company."""
    if not since:
        return last_company
    for sent in reversed(since):
        if sent.para != since[-1].para:
            break
        topic = _topic(sent.text)
        if topic:  # "CartiHeal considers a Nasdaq IPO. The company is looking to raise": not a round
            return "" if IPO_RE.search(sent.text) or ACQ_RE.search(sent.text) else topic
    return ""


_ADVERB_RE = re.compile(
    r"^(?:(?:now|today|also|meanwhile|separately|additionally|moreover|so|and|but|then|since\s+then|"
    r"in\s+addition|as\s+a\s+result|recently)\s+)+",
    re.I,
)


def _resolve_anaphor(text: str, trigger_start: int, context: Callable[[], str]) -> str:
    """ "the Basel-based start-up has now raised", "it has raised": the sentence's own topic before the
    anaphor, else the previous sentence's (``context``)."""
    clause = re.split(r"[;:]|\s-\s", text[:trigger_start])[-1]
    # the noun phrase ends where a relative clause starts: "La compañía francesa que desarrolla ... ha captado"
    noun_phrase = re.split(r"\s(?:que|qui|che|that|which|who)\s", _strip_aux_tail(clause))
    chunks = [_ADVERB_RE.sub("", c.strip()) for c in re.split(r",\s*", noun_phrase[0])]
    chunks += [_ADVERB_RE.sub("", c.strip()) for c in re.split(r",\s*", _strip_aux_tail(clause))]
    subject = next((c for c in (chunks[0], chunks[-1]) if _is_anaphor(c)), "")
    if not subject:
        return ""
    head = text[: trigger_start - len(clause)]
    return (_topic(head) if head.strip() else "") or context()


_DATED_OPENING_RE = re.compile(
    rf"^(?:In|Back\s+in|During)\s+(?:(?:early|late|mid-?)\s*)?(?:(?P<month>{_MONTHS})\s+)?(?P<year>(?:19|20)\d\d),"
)


def _dated_opening_is_past(text: str, published: datetime.date | None) -> bool:
    """ "In January 2022, Wayve raised ...": a sentence dated at its start tells an earlier event, unless the
    publication date shows it is the same month (or, without a month, the same year)."""
    m = _DATED_OPENING_RE.match(text)
    if not m:
        return False
    if published is None:
        return True
    year = int(m.group("year"))
    if m.group("month"):
        return (year, _MONTHS.split("|").index(m.group("month")) + 1) < (published.year, published.month)
    return year < published.year


def _events_in(
    sent: _Sentence,
    ref_year: int | None,
    context: Callable[[], str] = str,
    published: datetime.date | None = None,
) -> list[_Event]:
    text = sent.text
    if _dated_opening_is_past(text, published):
        return []
    text = text[:MAX_SENTENCE_CHARS]
    monies = find_money(text)
    if (
        not monies
        and "(" not in text
        and not any(word in text for word in ("nvestment", "undrais", "round"))
        and not RAISE_RE.search(text)
        and not RAISE_AFTER_RE.search(text)
        and not _LIST_VERB_RE.search(text)
    ):
        return []  # no amount, no raise verb, no list: most sentences of an article (speed)
    events: list[_Event] = []
    earlier: list[int] = []  # starts of the raise verbs before this one
    for trig in RAISE_RE.finditer(text):
        earlier.append(trig.start())
        if trig.group(0).casefold() == "won" and re.search(r"(?:\d|illion)\s*$", text[: trig.start()]):
            continue  # "200 billion won": the Korean currency, not a verb
        if re.match(r"\s+(?:by|von|par|da|dalla|por)\s", text[trig.end() : trig.end() + 8]):
            continue  # passive ("the $30m raised by Graphcore"): the money-first reading handles it
        money, undisclosed, ok = _object(text, trig.start(), trig.end(), monies)
        if not ok:
            continue
        # a weak verb ("received") needs funding words, unless it continues a raise in the same sentence
        # ("Insurteam has secured CHF 700,000, and Nevermined has received CHF 3.6 million")
        continues_raise = bool(money and events and events[-1].money)
        weak = " ".join(trig.group(0).casefold().split()) in WEAK_RAISE
        if (
            weak
            and not continues_raise
            and not _FUNDING_OBJECT_RE.search(text[trig.end() : (money.end if money else trig.end()) + 45])
        ):
            continue
        if weak and _NOT_FUNDING_RE.search(text, 0, min(len(text), (money.end if money else trig.end()) + 100)):
            continue  # "received USD 25 million from AbbVie for meeting a development milestone": not a round
        if money is None and not undisclosed:
            money = _later_round_size(text, trig.end(), monies)
        end = money.end if money else trig.end() + 30
        if published and _earlier_month(text[trig.start() : end + 40], published):
            continue  # "closed a $70 million Series D round in June" in a November story
        reason = _guard(text, trig.start(), end, ref_year)
        relative = reason == "passing_mention" and _is_relative_news(text, trig.start(), end)
        if reason and not relative:
            continue
        if money and FUND_RE.search(re.sub(r"\bto\s+fund\b", "", text[money.end : money.end + 30])):
            continue
        each = _EACH_RE.search(text[max(0, trig.start() - 25) : trig.start()])
        each_at = max(0, trig.start() - 25) + each.start() if each else 0
        if each and money and not re.search(r"\d\s*$", text[:each_at]):
            # "Avanan et K Health ont chacune collecté 25 millions": one raise per company (not "Rs 52 each")
            rumored = bool(RUMOR_RE.search(text[max(0, trig.start() - 60) : end + 40]))
            for part in re.split(r"\s+(?:and|et|und|e|y)\s+|,\s*", _subject(text, each_at)):
                name = _clean_company(_name_tokens(part))
                if name and not _is_investor(name):
                    start = _clause_start(text, name, trig.start())
                    events.append(_Event(name, sent, money, False, rumored, start=start))
            continue
        beneficiary = _FOR_COMPANY_RE.match(text, money.end) if money else None
        if beneficiary and not _is_descriptor(beneficiary.group("desc")):
            beneficiary = None
        # search in place, not in a slice: a slice could start inside a word ("Health|care" -> "are")
        if not relative and not beneficiary and _PLURAL_AUX_RE.search(text, max(0, trig.start() - 25), trig.end()):
            continue  # "Le start-up israeliane hanno raccolto", "Twiga and Komaza have raised": aggregates
        if _SUBORDINATE_PAST_RE.match(text) and "," not in text[: trig.start()]:
            continue  # "When Natasia and her cofounder raised $1.5 million for Wyzerr, she became ...": background
        company = (
            (_antecedent(text, trig.start()) or _leading_name(text))
            if relative
            else _company_from_subject(text, trig.start())
        )
        if not company and beneficiary:  # "execs have raised a $32M round for their startup Forter"
            company = _clean_company(beneficiary.group("name").split())
        if not company and not relative and re.search(r"\band\s*$", _strip_aux_tail(text[: trig.start()])):
            # coordinated verbs share the subject: "X had ... and is set to raise", "X exited stealth and announced"
            earlier_subject = _company_from_subject(text, earlier[-2]) if len(earlier) > 1 else ""
            company = earlier_subject or _leading_name(text) or _topic(text[: trig.start()])
        if not company and not relative:
            company = _leading_name(text) if not RAISE_RE.search(text[: trig.start()]) else ""
        if not company and not relative:
            company = _resolve_anaphor(text, trig.start(), context)
        if not company:
            continue
        if _is_investor(company) and (
            _k(company) in INVESTOR_CANON or not re.search(r"\bled\s+by\b", text[trig.end() : end + 60])
        ):  # an unknown "... Investments" that raised a round led by someone else is a company
            continue
        rumored = bool(RUMOR_RE.search(text[max(0, trig.start() - 60) : end + 40]))
        events.append(
            _Event(
                company,
                sent,
                money,
                undisclosed and money is None,
                rumored,
                start=_clause_start(text, company, trig.start()),
            )
        )
    events.extend(_verb_final_noun_events(sent, text, events, ref_year))
    events.extend(_fundraising_by_events(sent, text, events, ref_year))
    used = {id(e.money) for e in events if e.money}
    events.extend(_money_first_events(sent, text, [m for m in monies if id(m) not in used], ref_year, context))
    events.extend(_investor_subject_events(sent, text, monies, ref_year))
    events.extend(_gapped_events(sent, text, monies, events, ref_year))
    named = {_k(e.company) for e in events}
    events.extend(e for e in _list_events(sent, text, ref_year) if _k(e.company) not in named)
    return events


_GAP_SEP = r"^\s*(?:,|;)?\s*(?:and|e|et|und|y|while|whereas|as\s+well\s+as)?\s*"
_GAP_NAME_RE = re.compile(_GAP_SEP + r"(?P<name>" + _NAME + r")\s*$")
_GAP_PASSIVE_RE = re.compile(r"^\s+(?:from|by|da|dalla|dal|dallo|par|von|por)\s")


def _gapped_events(
    sent: _Sentence, text: str, monies: list[Money], events: list[_Event], ref_year: int | None
) -> list[_Event]:
    """Raises that share the verb of the one before them: "Augmedics raised $8.5M, Enlivex $8M" and
    "$35M raised by Playbuzz, $32.5M by Airobotics"."""
    used = {id(e.money): e.company for e in events if e.money}
    out: list[_Event] = []
    last = -1  # where the previous raise's words end: its amount, or its company when named after the amount
    for money in monies:
        if id(money) in used:
            named = text.find(used[id(money)], money.end, money.end + 120)
            last = named + len(used[id(money)]) if named >= 0 else money.end
            continue
        if last < 0 or _role(text, money) != "raise" or _guard(text, money.start, money.end, ref_year):
            last = -1
            continue
        between = text[last : money.start]
        gap = _GAP_NAME_RE.match(between)
        company = ""
        if gap and len(between) <= 80:
            company = _clean_company(gap.group("name").split())
        elif re.match(_GAP_SEP + r"$", between) and _GAP_PASSIVE_RE.match(text[money.end :]):
            company = _name_after(text, money.end + _GAP_PASSIVE_RE.match(text[money.end :]).end())
        if not company or _is_investor(company):
            last = -1
            continue
        out.append(_Event(company, sent, money, False, False, start=last))
        used[id(money)] = company
        named = text.find(company, money.end, money.end + 120)
        last = named + len(company) if named >= 0 else money.end
    return out


_SUBORDINATE_PAST_RE = re.compile(r"(?:When|Back\s+when)\s")
_FOR_COMPANY_RE = re.compile(
    r"\s+(?:[\w-]+\s+){0,3}?for\s+(?:their|its|his|her|the)\s+(?:[\w-]+\s+){0,2}?(?P<desc>[\w-]+)\s+(?P<name>"
    + _NAME
    + ")"
)


def _earlier_month(clause: str, published: datetime.date) -> bool:
    """A month named as when it happened ("in June") that is not the month of publication."""
    months = _MONTHS.split("|")
    return any(months.index(m.group(1).capitalize()) + 1 != published.month for m in _MONTH_RE.finditer(clause))


_VERB_FINAL_NOUN_RE = re.compile(
    r"\s(?:hat|haben|die|das|der)\s+(?:eine[nm]?\s+)?(?:[\w-]+\s+){0,3}?"
    r"(?P<noun>[\w-]*(?:Finanzierung|Finanzierungsrunde|Runde)|(?:sechs|sieben|acht)stellige\s+Summe)\b"
    r"(?P<rest>[^.;:]{0,80}?)\s(?:abgeschlossen|erhalten|eingesammelt|eingeworben|erhält|erhielt)\b"
)


_FUNDRAISING_BY_RE = re.compile(
    r"\b(?:participating|taking\s+part|investing|joining)\s+in\s+the\s+(?:new\s+|latest\s+)?"
    r"(?:fundraising|funding\s+round|financing\s+round|round)\s+(?:by|of|for)\s+"
)


def _fundraising_by_events(sent: _Sentence, text: str, events: list[_Event], ref_year: int | None) -> list[_Event]:
    """ "Thrive Capital and DST Global are participating in the fundraising by Databricks": the company follows."""
    out = []
    for m in _FUNDRAISING_BY_RE.finditer(text):
        company = _name_after(text, m.end())
        if not company or _is_investor(company) or _guard(text, m.start(), m.end() + len(company), ref_year):
            continue
        if any(_same_company(company, e.company) for e in events):
            continue
        backers = _split_names(_strip_aux_tail(re.sub(r"\s+(?:are|is|were|was)\s*$", "", text[: m.start()])))
        rumored = bool(RUMOR_RE.search(text[_back(text, m.start(), 60) : m.end() + 80]))
        out.append(_Event(company, sent, None, True, rumored, backers=backers, start=m.start()))
    return out


# the lead of a grant-programme story: "51 projects have been awarded a share of £1.95 million in ... funding"
_GRANT_LEAD_RE = re.compile(
    r"\b(?:awarded|won|granted|given|receive[sd]?)\b[^;!?]{0,120}?\b(?:grants?|funding)\b"
    r"|\bgrants?\s+(?:\([^()]{0,20}\)\s+)?(?:programme|program|fund|scheme|competition)",
    re.I,
)
# who pays a grant programme: "in Department for Transport (DfT) funding", "has come from the X Grant Fund"
_GRANT_FUNDER_RE = re.compile(
    r"\bin\s+(?P<funder>(?:[A-Z][\w&'-]*\s+)(?:(?:for|of|and|[A-Z][\w&'-]*)\s+){0,6}?[A-Z][\w&'-]*"
    r"(?:\s+\([A-Z][A-Za-z]{1,7}\))?)\s+(?:funding|grants?)\b"
    r"|\b(?:money|funds?|funding)\s+(?:has\s+|have\s+)?(?:come|comes|came)\s+from\s+(?:the\s+)?"
    r"(?P<funder2>[A-Z][\w&'-]*(?:\s+[A-Z][\w&'-]*){0,6})"
)
_GRANT_WINNER_RES = [
    re.compile(r"\b(?:One|Another)\s+(?:of\s+the\s+)?winners?,\s+(?P<name>" + _NAME + r"),"),
    re.compile(
        r"(?P<name>" + _NAME + r")\s+(?:is|was|are)\s+(?:also\s+)?among\s+(?:those|the\s+\w+)\s+"
        r"(?:awarded|granted|given|selected|backed|receiving)\b"
    ),
    re.compile(r"(?P<name>" + _NAME + r")\s+(?:is\s+being|has\s+been|was|were)\s+(?:backed|funded|awarded)\s+to\b"),
    re.compile(r"(?P<name>" + _NAME + r")\s+(?:has\s+)?won\s+(?=[$€£]|\w{3}\s?\d)"),
]


def _grant_winner_events(sents: list[_Sentence], events: list[_Event], ref_year: int | None) -> list[_Event]:
    """Winners named in a story whose lead announces a grant programme: "One winner, Makesense Technology Ltd,
    will develop ...", "AJEA Products Ltd is also among those awarded funding", "Sentinel Photonics has won
    £180,000"."""
    body = [s for s in sents if not s.is_title]
    lead = " ".join(s.text for s in body[:10])[:800]  # the lead, hard-wrapped lines joined
    if not _GRANT_LEAD_RE.search(lead):
        return []
    funder = _GRANT_FUNDER_RE.search(lead) or _GRANT_FUNDER_RE.search(" ".join(s.text for s in body[:20])[:2000])
    backers = [funder.group("funder") or funder.group("funder2")] if funder else []
    out: list[_Event] = []
    for sent in body[1:]:
        for pattern in _GRANT_WINNER_RES:
            m = pattern.search(sent.text)
            if not m or _guard(sent.text, m.start(), m.end(), ref_year):
                continue
            name = _clean_company(_name_tokens(m.group("name")))
            known = [*events, *out]
            if name and not _is_investor(name) and not any(_same_company(name, e.company) for e in known):
                money = next((x for x in find_money(sent.text[m.end() : m.end() + 40]) if x.start == 0), None)
                money = (
                    dataclasses.replace(money, start=money.start + m.end(), end=money.end + m.end()) if money else None
                )
                out.append(
                    _Event(
                        name,
                        sent,
                        money,
                        money is None,
                        False,
                        start=m.start(),
                        listed=money is None,
                        kind="grant",
                        backers=backers,
                    )
                )
    return out


def _german_antecedent(pre: str) -> str:
    """The company a German relative clause ending in the raise refers to: "LeanIX, das ... einsammeln konnte"."""
    m = re.search(r",\s*(?:das|die|der)\s+[^,;:]{0,120}$", pre)
    return _clean_company(_name_tokens(pre[: m.start()])) if m else ""


def _verb_final_noun_events(sent: _Sentence, text: str, events: list[_Event], ref_year: int | None) -> list[_Event]:
    """German verb-final raises with no figure: "Lemonswan hat eine Seed-Finanzierung in siebenstelliger Höhe
    abgeschlossen" (amounts, when given, are read by the money-first path)."""
    out = []
    for m in _VERB_FINAL_NOUN_RE.finditer(text):
        if find_money(m.group(0)) or _guard(text, m.start(), m.end(), ref_year):
            continue
        company = (
            _german_antecedent(text[: m.start() + 5])
            or _company_from_subject(text, m.start() + 1)
            or _name_after_aux(text, m.start() + 5, m.end())
        )
        if company and not _is_investor(company) and not any(_same_company(company, e.company) for e in events):
            out.append(_Event(company, sent, None, True, False, start=m.start()))  # a named round, size not given
    return out


# what a company receives or wins that is not a funding round
_NOT_FUNDING_RE = re.compile(
    r"\b(?:milestones?|upfront\s+payment|licen[cs]ing\s+(?:fee|deal|agreement)|royalt\w+|settlement|damages|"
    r"contracts?\s+(?:from|with|to)|orders?\s+from|tender|prize|award(?:ed)?\s+(?:for|at)|purchase\s+order|"
    r"as\s+part\s+of\s+the\s+(?:agreement|partnership|collaboration|licen[cs]e|deal))\b",
    re.I,
)


def _later_round_size(text: str, after: int, monies: list[Money]) -> Money | None:
    """The size given later in the clause: "raised additional funding ... summing up its Series A at $3 million"."""
    stop = re.search(r"[;:]|\.\s", text[after:])
    limit = after + (stop.start() if stop else len(text) - after)
    for money in monies:
        if after <= money.start < min(limit, after + 160):
            if (
                re.search(
                    r"\b(?:round|funding|financing|investment|series\s+\w)\s+(?:at|of|worth|totall?ing)\s+$",
                    text[max(after, money.start - 40) : money.start],
                    re.I,
                )
                and _role(text, money) == "raise"
            ):
                return money
    return None


_AUX_RE = re.compile(r"\s(?:hat|haben|ha|hanno|a|ont|han|has|have|had)\s", re.I)


def _money_first_events(
    sent: _Sentence, text: str, monies: list[Money], ref_year: int | None, context: Callable[[], str] = str
) -> list[_Event]:
    """Raises written money first: verb-final ("hat 50 Millionen Euro eingesammelt") or passive
    ("the $30m raised by chip startup Graphcore", "35 milioni di dollari raccolti dalla società Playbuzz")."""
    events = []
    for i, money in enumerate(monies):
        own_clause = False
        if _role(text, money) != "raise":
            continue
        if i and re.fullmatch(
            r"\s*\(\s*(?:approximately|approx\.?|about|around|ca\.|rund|environ|circa)?\s*",
            text[monies[i - 1].end : money.start],
            re.I,
        ):
            continue  # "12,3 Millionen Euro (15 Millionen US-Dollar)": a conversion, not a second raise
        after = text[money.end : money.end + 60]
        # the verb may follow a conversion: "12,3 Millionen Euro (15 Millionen US-Dollar) eingesammelt"
        after = re.sub(r"^\s*\([^()]{0,40}\)", lambda m: " " * len(m.group(0)), after)
        passive = RAISE_PASSIVE_RE.search(after)
        final = RAISE_AFTER_RE.search(after)
        if passive and not re.search(r"[.;]", after[: passive.start()]):
            agent_at = money.end + passive.end()
            agent = re.match(r"\s*((?:the|this)\s+(?:[\w-]+\s+){0,3}?[\w-]+)\b", text[agent_at:], re.I)
            if agent and _is_anaphor(agent.group(1)):  # "The CHF31 million received by the biotech company"
                company = context()
            else:
                company = _name_after(text, agent_at)
            start = money.start
        elif final and final.start() <= 70 and not re.search(r"[,.;]|\d", after[: final.start()]):
            pre = text[: money.start]
            aux = list(_AUX_RE.finditer(pre))
            relative = _german_antecedent(pre)
            if relative:  # "sowie das Software-Start-up LeanIX, das ... 2,2 Millionen Euro einsammeln konnte"
                aux = []
            inverted = _name_after_aux(text, aux[-1].end(), money.start) if aux else ""
            if relative:
                company, start = relative, money.start
            elif inverted:  # German verb-second: "In einer neuen Finanzierungsrunde hat Propster ... eingesammelt"
                company, start = inverted, aux[-1].start()
            elif aux:
                company = _company_from_subject(text, aux[-1].start())
                start = aux[-1].start()
            else:
                company, start = _sentence_subject(text), 0
        elif re.search(r"\bwith\s+an?\s+$", text[_back(text, money.start, 8) : money.start]) and _INJECTION_RE.match(
            after
        ):
            company, start = (
                _topic(text[: money.start]),
                0,
            )  # "Windward Bio has launched with a $200M capital injection"
        elif bullet := _BULLET_ITEM_RE.search(text, _back(text, money.start, 140), money.start):
            company, start = (
                _clean_company(bullet.group("name").split()),
                bullet.start("name"),
            )  # "- Cailabs (...), 57 M€"
            own_clause = True
        elif sent.is_title and (owner := _title_owner(text, money, after)):
            company, start = _clean_company(owner.group("name").split()), owner.start()
        elif RAISE_NOUN_RE.search(text[_back(text, money.start, 40) : money.start]):
            agent = _GAP_PASSIVE_RE.match(after)
            company = _name_after(text, money.end + agent.end()) if agent else _sentence_subject(text)
            start = max(0, money.start - 40)
        else:
            continue
        if not company and any(_is_anaphor(" ".join(text.split()[:k])) for k in range(1, 6)):
            company = context()  # "Das Berliner Start-up konnte eine Finanzierungsrunde von 20 Mio. Euro verkünden"
        if not company or _is_investor(company) or _guard(text, start, money.end, ref_year):
            continue
        rumored = bool(RUMOR_RE.search(text[_back(text, start, 60) : money.end + 60]))
        clause = start if own_clause else _clause_start(text, company, start)
        events.append(_Event(company, sent, money, False, rumored, start=clause, own_clause=own_clause))
    return events


_POSSESSIVE_ROUND_RE = re.compile(r"(?P<name>" + _NAME + r")'s?\s*$")
_ROUND_WORD_RE = re.compile(r"\s+(?:[\w-]+\s+){0,3}?(?:round|raise|funding|financing)\b", re.I)


def _name_after_aux(text: str, at: int, limit: int) -> str:
    """The subject right after a verb-second auxiliary ("hat Propster insgesamt"), if a name stands there."""
    m = re.match(_NAME, text[at:limit])
    if not m or m.group(0).split()[0] in STOPWORDS:
        return ""
    return _clean_company(m.group(0).split())


# a roundup bullet that gives the company, a description in brackets, then the amount
_BULLET_ITEM_RE = re.compile(r"(?:^|\s-\s)[\s•*·-]*(?P<name>" + _NAME + r")\s*\([^()]{0,80}\)\s*[,:]\s*$")
_INJECTION_RE = re.compile(
    r"\s+(?:[\w-]+\s+){0,2}?(?:capital\s+injection|injection|investment|round|funding|financing)\s+(?:from|led|by)\b"
)


def _title_owner(text: str, money: Money, after: str) -> re.Match[str] | None:
    """The possessor of a headline's round: "Decoding Rapido's $120 Mn unicorn round"."""
    owner = _POSSESSIVE_ROUND_RE.search(text[: money.start])
    return owner if owner and _ROUND_WORD_RE.match(after) else None


def _sentence_subject(text: str) -> str:
    """The name a sentence opens with, past articles and descriptors ("La startup Cooptalis signe" -> "Cooptalis")."""
    tokens = text.split()[:12]
    run: list[str] = []
    for tok in tokens:
        clean = tok.strip("\"',")
        if re.match(r"[LlDd]'[a-zà-ÿ]", clean):  # "L'elevata": an elided article before a common noun
            return ""
        if not run and clean in STOPWORDS:  # "Enfin, Metron finalise ...", "Also, Acme"
            continue
        if _NAME_TOKEN_RE.match(clean) and not clean.endswith("-based"):
            run.append(clean)
            if tok.endswith(","):
                break
        elif run and not (clean in STOPWORDS or _is_descriptor(clean)):
            break
        elif not run and not (clean.islower() or clean in STOPWORDS):
            return ""
    return _clean_company(run)


_LIST_VERB_RE = re.compile(
    r"\s(?:have\s+|has\s+)?(?:also\s+)?(?:attracted|garnered|secured|raised|received|bagged|"
    r"closed|landed)\s+(?:(?:substantial|significant|fresh|new|undisclosed|some)\s+)?"
    r"(?:investments?|funding|capital|rounds?|amounts?)\b"
)
_LIST_INCLUDE_RE = re.compile(
    r"\b(?:startups|companies|firms|others|ventures)\s+(?:that|which)\s+(?:also\s+)?(?:garnered|raised|secured|"
    r"received|attracted|bagged|landed)\s+(?:\w+\s+){0,2}?(?:funding|investments?|capital|rounds?)\b[^.;:]{0,30}?"
    r"\s+(?:include|included|including|are|were)\s+(?P<list>[^.;:]{3,400})"
)
# "the mega-rounds of A, B and C total $1.3 billion", "Las megarrondas en las francesas A y B y la estonia C suman"
_LIST_ROUNDS_OF_RE = re.compile(
    r"\b(?:mega-?rounds?|megarr?ondas?|rondas|rounds|tours\s+de\s+table|Finanzierungsrunden)\s+(?:en|de|of|by|in|für|von)"
    r"\s+(?P<list>[^.;:]{3,160}?)\s+(?:suman|sumaron|total(?:led|ed)?|add\s+up\s+to|amount\s+to|totalisent|"
    r"représentent|summieren\s+sich|ammontano)\b",
    re.I,
)
_LIST_PAREN_RE = re.compile(
    r"\b(?:\d+|two|three|four|five|six|deux|trois|quatre|cinq|zwei|drei|vier|fünf)\s+"
    r"(?:opérations|levées|deals|rounds|raises|Finanzierungsrunden|Deals)\s*\((?P<list>[^()]{3,200})\)",
    re.I,
)


def _list_events(sent: _Sentence, text: str, ref_year: int | None) -> list[_Event]:
    """Roundup lists of companies that raised, amounts not given: "A, B and C also attracted investments",
    "startups that garnered funding include A, B and C", "trois opérations (A, B et C)"."""
    events = []
    lists: list[tuple[int, str]] = []
    for m in _LIST_VERB_RE.finditer(text):  # the verb first, then the subject before it: no backtracking
        begin = max(text.rfind(c, 0, m.start()) for c in ".;:")
        raw = text[max(begin + 1, m.start() - 300) : m.start()]
        dated = re.search(r"\b(?:this|last)\s+year\b|\bso\s+far\b", text[m.end() : m.end() + 40], re.I)
        if re.search(r",|\band\b", raw) and not dated and not _guard(text, m.start(), m.end(), ref_year):
            lists.append((m.start(), re.split(r"^.*?\b(?:Additionally|Also|Meanwhile|while|Moreover),?\s+", raw)[-1]))
    for pattern, hints in (
        (_LIST_INCLUDE_RE, (" that ", " which ")),
        (_LIST_PAREN_RE, ("(",)),
        (_LIST_ROUNDS_OF_RE, ("ound", "onda", "rrond", "tour")),
    ):
        if any(h in text for h in hints):  # a cheap test first: most sentences have neither form
            lists.extend((m.start(), m.group("list")) for m in pattern.finditer(text))
    for start, raw in lists:
        for part in _LIST_SPLIT_RE.split(raw):
            part = part.strip(" ,.")
            if re.search(r"\b(?:from|in|of|at|across|like)\s+\S+$", part):
                continue  # "startups from Mumbai": a place, not a company
            company = _clean_company(_name_tokens(part))
            if company and not _is_investor(company):
                events.append(_Event(company, sent, None, True, False, start=start, listed=True))
    return events


def _clause_start(text: str, company: str, at: int) -> int:
    """Start of the clause naming ``company`` before position ``at`` (a comma, semicolon or sentence start)."""
    named = text.rfind(company, 0, at)
    if named < 0:
        named = text.find(company, at)
        if named < 0:
            return at
    cut = max(text.rfind(",", 0, named), text.rfind(";", 0, named))
    return cut + 1 if cut >= 0 else 0


_RELATIVE_START_RE = re.compile(
    r"(?:(?:,|\))\s*(?:(?:the|a|an)\s+[^,]{0,80}?\s)?(?:which|who|that|qui|che|que|die|der|das)"
    r"|(?<=[A-Za-z0-9])\s+(?:who|which))\s+(?:[\w']+\s+){0,3}$",  # "... CrossBoundary Energy Access who received"
    re.I,
)
_PAST_CONTEXT_RE = re.compile(
    r"\b(?:last\s+(?:year|month|week|summer|spring|autumn|fall|winter|round)|\d+\s+(?:years|months)\s+ago|"
    r"earlier\s+this\s+year|previously|had\s+(?:raised|secured|received))\b",
    re.I,
)


def _is_relative_news(text: str, start: int, end: int) -> bool:
    """ "Porter, a transport app, which secured $200M in its Series F": a relative clause that is the news
    (roundups), unless it tells history or the main clause reports a raise of its own."""
    before = text[_back(text, start, 130) : start]
    if not _RELATIVE_START_RE.search(before):
        return False
    clause_end = text.find(",", end)
    clause = text[_back(text, start, 40) : clause_end if clause_end > 0 else len(text)]
    if _PAST_CONTEXT_RE.search(clause) or HISTORY_RE.search(clause) or _YEAR_RE.search(clause):
        return False
    rest = text[clause_end:] if clause_end > 0 else ""
    return not re.search(r"\b(?:today|on\s+\w+day)\b[^.]{0,40}\b(?:announc|rais|secur|clos)", rest, re.I)


def _antecedent(text: str, start: int) -> str:
    """The company a relative clause is about: "including Porter, an on-demand transport agency, which"."""
    base = _back(text, start, 130)
    m = _RELATIVE_START_RE.search(text[base:start])
    if not m:
        return ""
    pre = text[: base + m.start()].rstrip()
    pre = re.sub(r"\s*\([^()]{0,60}\)$", "", pre)  # "Tide (fintech)"
    appositive = re.search(r",\s*(?:the|a|an|un|une|una|la|le|il|el|ein|eine|società|société)\s[^,]{1,90}$", pre, re.I)
    if appositive:
        pre = pre[: appositive.start()]
    pre = re.split(r"[;:(\"]|\s-\s", pre)[-1]
    chunks = pre.split(",")
    for chunk in reversed(chunks[-2:]):  # "SenseTime Group, China's leading AI start-up, which secured"
        name = _clean_company(_name_tokens(chunk))
        if name:
            return name
    return ""


# after the amount an investor put in: "... (US$23 million) first round investment in", "... in"
_INVESTEE_RE = re.compile(
    r"(?:\s*\([^()]{0,40}\))?\s+(?:[\w+-]+\s+){0,4}?"
    r"(?P<noun>(?:round|funding|investment|financing)(?:\s+of\s+(?:funding|financing|investment))?\s+)?"
    r"(?:in|into)\s+(?:the\s+)?"
)


_KIND_INVESTEE_RE = re.compile(
    r"\s+(?:an?\s+)?(?P<kind>lead|seed|strategic|pre-seed|angel)\s+investment\s+"
    r"(?:in\s+conjunction\s+with\s+[^,.;]{1,60},\s+)?(?:in|into)\s+(?:the\s+)?",
    re.I,
)


_ROUND_AFTER_RE = re.compile(r"\s+(?:[\w-]+\s+){0,2}?(?:round|funding|financing|investment)\b")
_SAID_BEFORE_RE = re.compile(r"(?P<who>(?:[\w-]+\s+){0,4}?" + _NAME + r")\s+said\s+(?:that\s+)?[^,;]{0,100}$")


def _investor_subject_events(sent: _Sentence, text: str, monies: list[Money], ref_year: int | None) -> list[_Event]:
    """ "Sequoia leads $20M round in Acme": the company is the object after "in"."""
    events = []
    for trig in INVEST_RE.finditer(text):
        money, _, _ = _object(text, trig.end(), trig.end(), monies)
        kind = None
        if money is None:  # "made a seed investment in the startup SkySafe", "makes lead investment in X"
            m = _KIND_INVESTEE_RE.match(text, trig.end())
            if not m:
                continue
            kind = m.group("kind").casefold()
        else:
            m = _INVESTEE_RE.match(text, money.end)
            if not m and trig.group(0).lower().startswith(("led", "co-led")) and _ROUND_AFTER_RE.match(text, money.end):
                # "startup Ninox Medical said the venture fund Pitango led a $10 million round"
                teller = _SAID_BEFORE_RE.search(text, _back(text, trig.start(), 160), trig.start())
                company = _clean_company(_name_tokens(teller.group("who"))) if teller else ""
                if company and not _is_investor(company) and not _guard(text, trig.start(), money.end, ref_year):
                    investor = _company_from_subject(text, trig.start())
                    events.append(
                        _Event(
                            company,
                            sent,
                            money,
                            False,
                            False,
                            leads=[investor] if investor else [],
                            backers=[investor] if investor else [],
                            start=teller.start(),
                        )
                    )
                continue
        if not m or not (kind or m.group("noun") or re.search(r"\b(?:put|invest|back)", trig.group(0), re.I)):
            continue
        if re.match(r"\d|(?:several|many|multiple|dozens|\w+\s+(?:startups|companies))\b", text[m.end() :]):
            continue  # "invests €278 million in 75 companies": a programme, not a round
        company = _name_after(text, m.end())
        if not company or _guard(text, trig.start(), m.end() + len(company), ref_year):
            continue
        investor = _company_from_subject(text, trig.start())
        if company and investor and not _is_investor(company):
            rumored = bool(RUMOR_RE.search(text[max(0, trig.start() - 60) : m.end() + 40]))
            clause = re.split(r"[;:]|\s-\s|,\s+(?:while|as|and\s+the)\s", text[: trig.start()])[-1]
            named = _split_names(_strip_aux_tail(clause).lstrip(" -•*·"))
            # the names coordinated with the subject investor are its co-investors
            backers = named if any(investor in n for n in named) else [investor]
            lead = backers if trig.group(0).lower().startswith(("lead", "led", "co-")) or kind == "lead" else []
            events.append(_Event(company, sent, money, False, rumored, leads=lead, backers=backers, start=trig.start()))
    return events


# ---------------------------------------------------------------- stages 5-7: round, investors, valuation


def _round_type(texts: list[str]) -> str | None:
    for text in texts:
        for m in _SERIES_RE.finditer(text):
            if not _PAST_ROUND_RE.search(text[max(0, m.start() - 30) : m.start()]):
                return f"series_{(m.group(1) or m.group(2)).lower()}"
        for key, pattern in _ROUND_RES:
            for m in pattern.finditer(text):
                if not _PAST_ROUND_RE.search(text[max(0, m.start() - 30) : m.start()]):
                    return key
        if _AMOUNT_FACILITY_RE.search(text):  # "sought a $5 million facility" (not "a manufacturing facility")
            return "debt"
    return None


_AMOUNT_FACILITY_RE = re.compile(r"(?:million|billion|\d[mMbB]n?|crore)\s+(?:credit\s+|debt\s+|loan\s+)?facility\b")


def _split_names(raw: str) -> list[str]:
    raw = re.sub(r"\s*\([^()]{0,80}\)", "", raw[:MAX_SENTENCE_CHARS])  # "Monkfish Equity (Trivago founders' firm)"
    stop = _LIST_STOP_RE.search(raw)
    raw = raw[: stop.start()] if stop else raw
    names = []
    for part in _LIST_SPLIT_RE.split(raw):
        part = re.sub(r"(?<!\bCo)(?<!\bInc)(?<!\bCorp)(?<!\bLtd)\.+$", "", part.strip(" ,'"))  # keeps "Burrill & Co."
        for _ in range(3):
            part = _FILLER_RE.sub("", part)
        part = re.sub(r"^.*?'s\s+(?=[A-Z])", "", part)  # "Ashton Kutcher's Sound Ventures"
        part = re.sub(r"^(?:[a-z][\w-]*\s+){1,3}(?=[A-Z])", "", part)  # "e-commerce giant Alibaba"
        part = re.sub(r"^.{0,60}\b(?:investors|backers|VCs|firms)\s+(?=[A-Z])", "", part)  # "Major VC investors Thrive"
        part = re.sub(r"\s+(?:aus|in)\s+[A-ZÄÖÜ]\w+$", "", part)  # "PI-Labs aus Großbritannien"
        part = re.sub(r"\s+(?:mit|an|bei|dabei|ein)$", "", part)  # "ziehen ... All Iron Ventures mit"
        part = re.sub(r"^(?:VCs?|Investor|Investorin)\s+(?=[A-Z])", "", part)  # "der französische VC Axeleo"
        if re.fullmatch(r"(?:Alt|Bestands|Neu)?[Ii]nvestoren|Geldgeber|Business\s+Angels", part) or re.match(
            r"\d+(?:[.,]\d+)?\s+(?:Mio|Millionen|Milliarden|million|billion|M)\b|\d+(?:[.,]\d+)?$", part
        ):
            continue  # a German word for investors, or an amount ("5 Millionen Euro")
        part = re.sub(
            r"^\S+-(?:[Ii]nvestor|[Bb]acker|Geldgeber|Finanzierer)\s+(?=[A-Z])", "", part
        )  # "Spotify-Investor Northzone"
        part = re.sub(r"\s+(?:and\s+)?others?$|\s+among\s+others$", "", part)
        tokens = part.split()
        longest = 8 if tokens and FIRM_SUFFIX_RE.search(" " + tokens[-1]) else 6  # "... Equity Investment Fund"
        if (
            not tokens
            or len(tokens) > longest
            or not re.match(r"[A-Z0-9]|[a-z]+[A-Z.]\w", part)
            # a leading stop word ("The", "British") unless the name ends like a firm ("British ... Investment")
            or (tokens[0] in STOPWORDS and not (len(tokens) >= 2 and FIRM_SUFFIX_RE.search(" " + tokens[-1])))
        ):
            continue
        if all(t.strip(".,") in LEGAL for t in tokens) or tokens[-1].lower() in {"of", "de", "and", "&", "du", "la"}:
            continue  # "Social Quant, LLC": the suffix is not an investor; "dem VC de": a cut-off phrase
        if all(_NAME_TOKEN_RE.match(t) or t.lower() in {"of", "de", "and", "&", "du", "la"} for t in tokens):
            names.append(part)
    return names


# the words without which a name-first investor pattern cannot match
def _hints(source: str) -> tuple[str, ...]:
    if "participated" in source:
        return ("participated", "joined", "took part", "invested in the")
    if "led\\s+(?:the" in source:
        return ("led ",)
    if "as\\s+(?:the\\s+)?lead" in source:
        return (" as ",)
    return ("were ", "are ")  # "A and B were among the investors"


_NAME_FIRST_HINTS: dict[str, tuple[str, ...]] = {
    p.pattern: _hints(p.pattern) for p in _LEAD_PATTERNS + _PARTICIPANT_PATTERNS if p.pattern.startswith("(?P<list>")
}


def _investors_in(text: str) -> tuple[list[str], list[str]]:
    # "GV (née Google Ventures)"; not a bracketed list of investors after an amount
    text = re.sub(r"(?<![€$\d])\s*\([^()]{0,60}\)", "", text[:MAX_SENTENCE_CHARS])
    leads: list[str] = []
    participants: list[str] = []
    low = text.casefold()
    for pattern in _LEAD_PATTERNS:
        if not _worth_trying(pattern, low):
            continue
        for m in pattern.finditer(text):
            raw = m.group("list")
            # "led by Spark Capital, and Williams, GV and Andreessen Horowitz participated": the clause after
            # ", and" names participants, not leads
            joined = re.search(r"\b(?:participated|joined|took\s+part|also\s+invested)\b", raw)
            cut = raw.rfind(", and ", 0, joined.start()) if joined else -1
            leads.extend(_split_names(raw[:cut] if cut > 0 else raw))
    for pattern in _PARTICIPANT_PATTERNS:
        if not _worth_trying(pattern, low):
            continue
        for m in pattern.finditer(text):
            participants.extend(_split_names(m.group("list")))
    return leads, participants


def _worth_trying(pattern: re.Pattern[str], low: str) -> bool:
    """A cheap substring test before the patterns that start with a name (tried at every position): speed."""
    words = _NAME_FIRST_HINTS.get(pattern.pattern)
    return words is None or any(w in low for w in words)


def _fuller_form(name: str, body: str) -> str:
    """Prefer the body's fuller form of a short lead name ("Salesforce" -> "Salesforce Ventures")."""
    at = body.find(name)
    while at >= 0:
        suffix = FIRM_SUFFIX_RE.match(body, at + len(name))
        if suffix:
            return body[at : suffix.end()]
        at = body.find(name, at + 1)
    return name


def _dedupe(names: list[str], company: str) -> list[str]:
    seen: set[str] = {_k(company)}
    kept: set[tuple[str, ...]] = set()  # token tuples of the names kept
    kept_prefixes: set[tuple[str, ...]] = set()  # their proper prefixes
    out = []
    for name in names:
        key = INVESTOR_CANON.get(_k(name), _k(name))
        tokens = tuple(name.casefold().split())
        # "Atlantic Merchant Capital" (headline) and "Atlantic Merchant Capital Investors" (body) are one firm
        other_form = tokens in kept_prefixes or any(tokens[:i] in kept for i in range(1, len(tokens)))
        if key and key not in seen and not other_form:
            seen.add(key)
            kept.add(tokens)
            kept_prefixes.update(tokens[:i] for i in range(1, len(tokens)))
            out.append(name)
    return out


def _valuation(texts: list[str], event: _Event) -> Money | None:
    for text in texts:
        monies = find_money(text)
        for i, money in enumerate(monies):
            conversion = monies[i + 1] if i + 1 < len(monies) else None
            if conversion and re.fullmatch(
                r"\s*\((?:approximately|approx\.?|about|around|roughly|~)?\s*", text[money.end : conversion.start]
            ):
                # "Rs 8,517 crore (approximately $1.02 billion)": the figure in the round's currency, unconverted
                if event.money and conversion.currency == event.money.currency != money.currency:
                    money = conversion
            if (
                _role(text, monies[i]) == "valuation"
                and MIN_ROUND_USD <= (to_usd(money.value, money.currency) or money.value) <= 10 * MAX_ROUND_USD
                and not HISTORY_RE.search(text[_back(text, money.start, 60) : money.end])
            ):
                if event.money is None or money.value > event.money.value:
                    return money
    return None


# ---------------------------------------------------------------- assembling events


def _same_company(a: str, b: str) -> bool:
    ka, kb = _k(a), _k(b)
    if not ka or not kb:
        return False
    if ka == kb:
        return True
    ta, tb = a.casefold().split(), b.casefold().split()
    short, long_ = (ta, tb) if len(ta) <= len(tb) else (tb, ta)
    if all(t in DESCRIPTORS for t in short):
        return False
    # "Sera" / "Sera Prognostics"; "Jinying Technology" / "Beijing Jinying Technology"
    return long_[: len(short)] == short or (len(short) >= 2 and long_[-len(short) :] == short)


def _merge(events: list[_Event]) -> list[list[_Event]]:
    groups: list[list[_Event]] = []
    for ev in events:
        for group in groups:
            if _same_company(group[0].company, ev.company) and ev.rumored == group[0].rumored:
                group.append(ev)
                break
        else:
            groups.append([ev])
    return groups


def _pick_amount(group: list[_Event]) -> tuple[Money | None, bool]:
    """Headline amount, replaced by a body figure within 10% in the same currency (more precise)."""
    first = next((e.money for e in group if e.money), None)
    if first is None:
        return None, any(e.undisclosed for e in group)
    for e in group:
        if (
            e.money
            and not e.sent.is_title
            and e.money.currency == first.currency
            and abs(e.money.value - first.value) <= 0.1 * first.value
        ):
            return e.money, False
    # the body states the raise in another currency first ("US$ 1 million (S$ 1.4 million)" under an "S$1.4m"
    # headline): the first-stated figure of the body is the amount
    body = next((e.money for e in group if e.money and not e.sent.is_title), None)
    if body is not None and to_usd(body.value, body.currency) and to_usd(first.value, first.currency):
        ratio = to_usd(body.value, body.currency) / to_usd(first.value, first.currency)
        if body.currency != first.currency and 0.8 <= ratio <= 1.25:
            return body, False
    return first, False


def _scope(group: list[_Event], sents: list[_Sentence], anchors: list[int], single: bool) -> list[_Sentence]:
    """Sentences about this raise: the whole article for a one-round article, else up to the next anchor."""
    body = [s for s in sents if not s.is_title]
    if single:
        return body
    starts = sorted({e.sent.index for e in group if not e.sent.is_title})
    if not starts:
        return body[:3]
    own = set(starts)
    others = [a for a in anchors if a not in own]  # where another company's raise is told
    company = group[0].company
    picked: set[int] = set()
    for first in starts:  # around each report of this raise: a summary line and its own story
        nxt = min((a for a in others if a > first), default=first + 6)
        para = next(s.para for s in body if s.index == first)
        picked.update(
            s.index
            for s in body
            if first <= s.index < min(nxt, first + 6)
            and (s.para <= para or (s.para == para + 1 and (company in s.text or _is_follow_up(s.text))))
        )
    return [s for s in body if s.index in picked]


# a paragraph that continues the story before it ("This round was led by ...") rather than starting another
_FOLLOW_UP_RE = re.compile(r"[\s•*·-]*(?:This|The|It|Its|These|That)\b")
_BACK_REFERENCE_RE = re.compile(r"\b(?:the|its)\s+(?:startup|start-up|company|firm|round|funding|financing)\b", re.I)


def _is_follow_up(text: str) -> bool:
    """ "This round was led by", "Founded in 2024, the startup also saw participation from": about the story before."""
    return bool(_FOLLOW_UP_RE.match(text) or _BACK_REFERENCE_RE.search(text[:80]))


def _company_name(group: list[_Event], body: str) -> str:
    names = [e.company for e in group]
    best = _longest_in_body(names[0], body) if group[0].sent.is_title else names[0]
    for name in names[1:]:  # the fuller name ("Sera" -> "Sera Prognostics", "Beijing Jinying Technology")
        if len(name) > len(best) and _same_company(best, name):
            best = name
    return best


def _is_history(text: str, published: datetime.date | None, ref_year: int | None) -> bool:
    """True for a sentence about earlier financing: a history cue, an earlier year, or an earlier month."""
    if HISTORY_RE.search(text):
        return True
    if ref_year is not None and any(int(m.group(1)) < ref_year for m in _YEAR_RE.finditer(text)):
        return True
    if published is not None:
        months = _MONTHS.split("|")
        return any(months.index(m.group(1).capitalize()) + 1 < published.month for m in _MONTH_RE.finditer(text))
    return False


def _build(
    group: list[_Event],
    scope: list[_Sentence],
    title: str,
    body: str,
    roundup: bool,
    has_title_event: bool,
    published: datetime.date | None,
    ref_year: int | None,
    all_events: list[_Event],
    next_sentence: _Sentence | None = None,
) -> dict | None:
    company = _company_name(group, body)
    money, undisclosed = _pick_amount(group)
    if money is not None and money.text.startswith("$"):  # a report of the figure may carry "(US$...)"
        whole = title + "\n" + body
        for e in group:
            if e.money and e.money.text == money.text and money.currency == "USD":
                local = _local_dollar(e.money, e.sent.text, whole)
                if local.currency != "USD":
                    money = dataclasses.replace(money, currency=local.currency)
                    break
    body_events = [e for e in group if not e.sent.is_title]
    # the anchor is the first report of this raise that has its sentence to itself (not a two-raise summary line)
    anchor_event = next((e for e in body_events[:6] if not _segment(e, group, all_events)[1]), None)
    anchor_event = anchor_event or (body_events[0] if body_events else group[0])
    anchor = anchor_event.sent
    title_part = [title] if group[0].sent.is_title else []
    anchor_text, cut = _segment(anchor_event, group, all_events)
    if cut or all(e.listed for e in group):  # another raise follows in the sentence, or a bare list entry
        scope = []
    if all(e.listed for e in group):
        anchor_text = ""
    others = {c for c in {e.company for e in all_events} if not _same_company(c, company)}
    scope = [s for s in scope if _mentions(s.text, company) or not any(o in s.text for o in others)]
    texts = title_part + [anchor_text] + [s.text for s in scope if s is not anchor]
    if anchor_text.rstrip().endswith(":") and next_sentence is not None:
        # "- Mistral AI (IA générative), 1,7 Md€ en Série C :" continues on the next line, up to the next raise
        cuts = [e.start for e in all_events if e.sent is next_sentence and e not in group]
        texts.append(next_sentence.text[: min(cuts)] if cuts else next_sentence.text)
    # the group's other reports of this raise ("... a $40 million Series B+ round in Beijing Jinying")
    texts += [_segment(e, group, all_events)[0] for e in group[:6] if e.sent is not anchor and not e.sent.is_title]
    clean = [
        t
        for t in texts
        if t == title
        or t == anchor_text
        or (not _is_history(t, published, ref_year) and not FUND_RE.search(t) and _FUNDING_WORDS_RE.search(t))
    ]
    round_type = _round_type(
        title_part + [anchor_text] + [t for t in clean if _mentions(t, company) and _ROUND_CONTEXT_RE.search(t)]
    ) or next((e.kind for e in group if e.kind), None)
    leads, participants = [], []
    for t in clean:
        lead, part = _investors_in(t)
        leads += lead
        participants += part
    # each distinct name once (a long article can repeat one lead in hundreds of sentences)
    leads = [_fuller_form(n, body) for n in dict.fromkeys([*(x for e in group for x in e.leads), *leads])]
    leads = _dedupe(leads, company)
    investors = _dedupe(leads + [x for e in group for x in e.backers] + participants, company)
    valuation = _valuation(clean, group[0])
    score = 3.0 if group[0].sent.is_title else 2.0
    score += (round_type is not None) + bool(leads) + (body.count(company) >= 2)
    if title and not has_title_event and not roundup and not _funding_headline(title):
        score -= 1
        if anchor.index >= 8 and not _funding_headline(title):
            # deep in a story headlined about something else: a profile recounting history
            score -= 2
    if money is None and not undisclosed and valuation is None and not all(e.listed for e in group):
        score -= 1
    if score < _THETA:
        return None
    currency = money.currency if money else (valuation.currency if valuation else None)
    return {
        "company": company,
        "amount": _num(money.value) if money else None,
        "currency": currency,
        "amount_usd": _num(to_usd(money.value, money.currency)) if money else None,
        "round": round_type,
        "lead_investors": leads,
        "investors": investors,
        "valuation": _num(_in_currency(valuation, currency)) if valuation else None,
        "status": "rumored" if all(e.rumored for e in group) else "announced",
        "confidence": round(min(0.99, max(0.01, 1 / (1 + math.exp(-(score - _THETA + 0.5) / _TAU)))), 2),
        "evidence": {"company": anchor.text[:500], "title": title[:300]} if title else {"company": anchor.text[:500]},
    }


_LOCAL_DOLLARS = {"S$": "SGD", "A$": "AUD", "C$": "CAD", "HK$": "HKD", "NZ$": "NZD"}
_DOLLAR_COUNTRIES = {"Singapore": "SGD", "Australia": "AUD", "Canada": "CAD", "Hong Kong": "HKD", "New Zealand": "NZD"}


def _local_dollar(money: Money, sentence: str, text: str) -> Money:
    """A bare "$" followed by a "(US$...)" conversion is the local dollar ("$28.35m (US$20m)" in a Singapore
    story): the one other dollar symbol the text uses, else the one dollar country it names."""
    if not money.text.startswith("$") or not re.match(r"\s*\(\s*US\s?\$", sentence[money.end :]):
        return money
    codes = {_LOCAL_DOLLARS[m.group(0)] for m in re.finditer(r"(?<![A-Za-z])(?:S|A|C|HK|NZ)\$", text)}
    if not codes:
        codes = {code for country, code in _DOLLAR_COUNTRIES.items() if country in text}
    return dataclasses.replace(money, currency=codes.pop()) if len(codes) == 1 else money


def _lists_stories(title: str) -> bool:
    """A digest headline: "India Inc.: Tesla Eyes Plant, Rapido Seeks Funding, PhonePe Expands" (not "Acme, a
    Berlin fintech, raises $5M")."""
    separators = len(re.findall(r"[,;]\s", title))
    return ";" in title or separators >= 3 or (separators >= 2 and ":" in title)


def _funding_headline(title: str) -> bool:
    """A headline about funding or money in general ("Let's talk about money", "French tech struggles to raise")."""
    return bool(
        _FUNDING_WORDS_RE.search(title)
        or re.search(
            r"\b(?:money|cash|funds|VC|rondas?|megarr?ondas?|inversi[oó]n|lev[ée]es?|raccolt[ae]|Finanzierung\w*|"
            r"Geld|rodadas?|investimentos?)\b",
            title,
            re.I,
        )
    )


def _segment(event: _Event, group: list[_Event], all_events: list[_Event]) -> tuple[str, bool]:
    """The part of the event's sentence about its raise, and whether another raise cuts it short."""
    text = event.sent.text
    mine = {id(e) for e in group}
    same = [e.start for e in all_events if e.sent is event.sent and id(e) not in mine]
    others = [at for at in same if at > event.start]
    earlier = [at for at in same if at <= event.start]
    begin = event.start if earlier or event.own_clause else 0
    if others:
        return text[begin : min(others)], True
    return text[begin:], False


def _in_currency(money: Money, currency: str | None) -> float | None:
    """A valuation in the round's currency (ROUND has one currency): converted with the rate table
    to three significant figures when the text gives it in another currency, None if not convertible."""
    if currency is None or money.currency == currency:
        return money.value
    usd = to_usd(money.value, money.currency)
    if usd is None or currency not in USD_RATES:
        return None
    return float(f"{usd / USD_RATES[currency]:.3g}")


def _mentions(text: str, company: str) -> bool:
    return company.casefold() in text.casefold() or bool(
        re.search(
            r"\b(?:the|its)\s+(?:company|startup|round)\b|^[\s•*·-]*The\s+(?:[$€£¥₹]|funding|financing|investment|deal)"
            r"|\b(?:led|co-led)\s+the\s+(?:[\w-]+\s+){0,2}(?:round|financing|funding)\b"
            r"|\b(?:it|It)\b",
            text,
        )
    )


def _num(value: float | None) -> int | float | None:
    if value is None:
        return None
    return int(round(value)) if value >= 1000 or float(value).is_integer() else value


def _reference_year(text: str) -> int | None:
    """Without a publication date, the latest year the text names stands in for it (history guard)."""
    years = [int(y) for y in _ANY_YEAR_RE.findall(text)]
    return max(years) if years else None


def _drop_related_links(sents: list[_Sentence]) -> list[_Sentence]:
    """Skip the two paragraphs after an "Also Read:" / "Related:" line: links to other stories."""
    out, skip_until = [], -1
    for i, s in enumerate(sents):
        opens_paragraph = i == 0 or sents[i - 1].para != s.para  # not "... Battery Ventures. Read more"
        related = _RELATED_RE.match(s.text) if opens_paragraph else None
        if related:
            # "Read More: <headline>" is the link itself; a bare "Also Read:" heads the link lines after it
            inline = len(s.text[related.end() :].split()) >= 4
            skip_until = max(skip_until, s.para if inline else s.para + 2)
        elif s.para > skip_until:
            out.append(s)
    return out


_FIRST_HAND_RE = re.compile(
    r"\b(?:said|says|announced|announces)\s+(?:on\s+\w+\s+)?(?:that\s+)?(?:it|they)\s+(?:has\s+|had\s+)?"
    r"(?:raised|secured|closed|received)\b|\bsaid\s+(?:the\s+)?[\w\s]{0,60}\bled\s+a\b"
)
_STATISTICS_TITLE_RE = re.compile(
    r"\b(?:[1-4]Q\s?\d{2}|Q[1-4]\s?(?:20)?\d{2}|H[12]\s?(?:20)?\d{2}|first\s+half|second\s+half|half-year|quarter|"
    r"year\s+in\s+review|annual\s+report|(?:top|biggest|largest)\s+(?:\d+\s+)?(?:\w+\s+){0,3}"
    r"(?:rounds|deals|startups)\b.{0,40}\b(?:19|20)\d\d)",
    re.I,
)


def _detect(text: str, title: str | None, published: datetime.date | None) -> list[dict]:
    body = _normalise(text or "")
    clean_title = _clean_title(title)
    sents = _drop_related_links(_split_sentences(body))
    if clean_title:  # extracted text often repeats the headline as its first line: it is the title, once
        sents = [s for s in sents if s.para > 1 or s.text.rstrip(".") != clean_title.rstrip(".")]
    ref_year = published.year if published else _reference_year(clean_title + "\n" + body)
    events: list[_Event] = []
    if clean_title:
        events += _events_in(_Sentence(clean_title, -1, -1, is_title=True), ref_year)
    has_title_event = bool(events)
    # the company an anaphor ("The company has raised") refers to: the last raise's company, else the topic of
    # the sentences since, computed only when asked (most sentences never need it)
    last_company, since = "", []
    for sent in sents:
        if len(events) >= MAX_EVENTS:
            logger.info("funding detector: more than %d raise mentions, the rest of the text is not read", MAX_EVENTS)
            break
        found = _events_in(sent, ref_year, functools.partial(_context, last_company, since[-3:]), published)
        events += found
        if found:
            last_company, since = found[-1].company, []
        else:
            since.append(sent)
    events += _grant_winner_events(sents, events, ref_year)[: max(0, MAX_EVENTS - len(events))]
    digest_title = bool(clean_title) and (bool(ROUNDUP_RE.search(clean_title)) or _lists_stories(clean_title))
    if has_title_event and not digest_title:
        # one-story article: only the headline company's raise
        events = [e for e in events if _same_company(events[0].company, e.company)]
    groups = _merge(events)
    anchors = sorted({e.sent.index for e in events if not e.sent.is_title})
    roundup = digest_title or bool(clean_title and _AGGREGATE_TITLE_RE.search(clean_title))
    # three or more companies raising money in the body: a roundup whatever its headline ("Money from Switzerland")
    roundup = roundup or sum(any(e.money for e in g) for g in groups) >= 3
    if clean_title and _STATISTICS_TITLE_RE.search(clean_title):
        # quarterly/annual statistics and "top rounds of the year" lists report no new round, except a raise
        # the company itself just announced ("Windward ... said it raised $10.8 million")
        groups = [g for g in groups if any(_FIRST_HAND_RE.search(e.sent.text) for e in g if not e.sent.is_title)]
    rounds = []
    for group in groups:
        scope = _scope(group, sents, anchors, single=len(groups) == 1)
        anchor_index = min((e.sent.index for e in group if not e.sent.is_title), default=-2)
        following = next((s for s in sents if s.index == anchor_index + 1), None)
        built = _build(
            group, scope, clean_title, body, roundup, has_title_event, published, ref_year, events, following
        )
        if built:
            rounds.append(built)
    return rounds


def detect_rounds(text: str, title: str | None = None, published: datetime.date | None = None) -> list[dict]:
    """Find the funding rounds an article reports as news.

    Args:
        text: the article's clean text (paragraphs separated by newlines); capped at ~200 KB.
        title: the headline, if known; it anchors the main round.
        published: the publication date, used to tell this year's news from history.

    Returns:
        ROUND dicts (DESIGN.md) with an extra ``evidence`` dict; ``[]`` when the text reports no round.
        Never raises.
    """
    try:
        if not isinstance(text, str):
            text = ""
        if title is not None and not isinstance(title, str):
            title = None
        if published is not None and not isinstance(published, datetime.date):
            published = None
        return _detect(text, title, published)
    except Exception as exc:  # noqa: BLE001 - the contract is "never raises"; a crash counts as no rounds
        logger.error("funding detector failed on a %d-character text: %s: %s", len(text), type(exc).__name__, exc)
        return []

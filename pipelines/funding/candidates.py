"""Stage 1: candidate names (every run of name-like tokens, cleaned by rule) and triggers (every money mention and
every funding word). The scorer later decides which candidate raised, and which trigger tells it."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from pipelines.funding.lexicon import PhraseTable, phrase_table
from pipelines.funding.text import Doc
from pipelines.money import Money

__all__ = ["Mention", "Trigger", "mentions", "triggers", "TRIGGER_KINDS"]

# words that join two name-like tokens into one name ("Bank of America", "Procter & Gamble"); "and" and its
# translations ("und", "et", "y") join two names in a list far more often than they sit inside one
CONNECTORS = frozenset("& of de du des von van der di da la le del for".split())
# a token ending so is not part of the name after it ("Berlin-based", "Sequoia-backed", "Fintech-Unternehmen")
_CUT_SUFFIXES = (
    "-based",
    "-backed",
    "-born",
    "-headquartered",
    "-founded",
    "-rival",
    "-owned",
    "-focused",
    "-led",
    "-funded",
    "-listed",
    "-registered",
    "-incubated",
    "-powered",
    "-native",
)
# of these, the name-like words before the cut are the rest of a place ("Puerto Rico-based", "New York-based")
_PLACE_SUFFIXES = ("-based", "-headquartered", "-born", "-native", "-registered")
# a legal form alone after a name and a comma ("Inc" of "Wugen, Inc.") is no name
_LEGAL_FORMS = frozenset("inc ltd llc llp plc gmbh ag corp co limited pvt sas sarl bv nv srl spa".split())
MAX_NAME_TOKENS = 8
TRIGGER_KINDS = ("money", "undisclosed", "raise_v", "invest_v", "fund_n", "round_t")


@dataclass(frozen=True, slots=True)
class Mention:
    """A candidate name: tokens ``a`` to ``b`` (exclusive) of a name-like run ``run_a`` to ``run_b``."""

    a: int
    b: int
    run_a: int
    run_b: int


@dataclass(frozen=True, slots=True)
class Trigger:
    """A money mention or a funding word at tokens ``a`` to ``b``; ``money`` is set for kind "money"."""

    a: int
    b: int
    kind: str
    money: Money | None = None


@cache
def _verb_forms(lang: str) -> frozenset[str]:
    """The inflected forms among the raise, lead and invest verbs ("raises", "secured"): in a Title Case headline
    they follow the name ("Acme Raises $5M"), never belong to it (a bare "Land" or "Net" may)."""
    table = phrase_table(lang)
    words = table.words("raise_v") | table.words("led") | table.words("invest_v")
    irregular = {"got", "won", "drew", "took", "brought", "sank", "led", "co-led"}
    return frozenset(w for w in words if w in irregular or (len(w) > 3 and (w.endswith("s") or w.endswith("ed"))))


def _runs(doc: Doc) -> list[tuple[int, int]]:
    words, name_like, sent_of, money_at = doc.words, doc.name_like, doc.sent_of, doc.money_at
    starts, ends, text, low = doc.starts, doc.ends, doc.text, doc.low
    verbs = _verb_forms(doc.lang)
    n = len(words)
    out = []
    i = 0
    while i < n:
        if not name_like[i] or money_at[i] is not None or low[i] in verbs or "round_t" in doc.classes[i]:
            i += 1
            continue
        j = i + 1
        while j < n and sent_of[j] == sent_of[i] and j - i < 12:
            gap = text[ends[j - 1] : starts[j]]
            if gap != " " or low[j] in verbs or "round_t" in doc.classes[j]:
                break
            if name_like[j] and money_at[j] is None:
                j += 1
            elif (
                doc.low[j] in CONNECTORS
                and j + 1 < n
                and name_like[j + 1]
                and text[ends[j] : starts[j + 1]] == " "
                and money_at[j + 1] is None
            ):
                j += 2
            else:
                break
        out.append((i, j))
        i = j
    return out


# languages that write a descriptor and its modifier as one word ("Bezahldienst", "Softwarebedrijf")
_COMPOUNDING = frozenset(("de", "nl"))
# a descriptor this long ends a compound word only as its head ("-dienst", "-unternehmen", not "-bank" in "Commerzbank")
_MIN_COMPOUND_HEAD = 6


@cache
def _compound_heads(lang: str) -> tuple[str, ...]:
    """The descriptors that end a compound descriptor of ``lang`` ("dienst" in "Bezahldienst"), if it compounds."""
    if lang not in _COMPOUNDING:
        return ()
    own = PhraseTable((lang,)).words("desc")  # the language's own words: an English "studio" heads no compound
    return tuple(sorted(w for w in own if len(w) >= _MIN_COMPOUND_HEAD))


def _is_descriptor(word: str, descriptors: frozenset[str], compounds: tuple[str, ...]) -> bool:
    """A descriptor, a hyphenated word ending in one ("Videostreaming-Start-up", "Fintech-Unternehmen") or, in a
    compounding language, a longer word ending in one ("Bezahldienst")."""
    if word in descriptors:
        return True
    if "-" in word:
        parts = word.split("-")
        if any("-".join(parts[k:]) in descriptors for k in range(1, len(parts))):
            return True
    return any(word.endswith(head) and len(word) > len(head) + 2 for head in compounds)


# languages that capitalise every noun: a capitalised descriptor there says nothing about a name
_NOUNS_CAPITALISED = frozenset(("de",))


def _ends_name(doc: Doc, i: int) -> bool:
    """The descriptor at token ``i`` is written capitalised in the body (the headline capitalises any word), in a
    language that does not capitalise every noun."""
    return doc.words[i][:1].isupper() and not doc.in_title(i) and doc.lang not in _NOUNS_CAPITALISED


def _trailing_form(doc: Doc, i: int) -> bool:
    """Token ``i`` is a legal form after a name and a comma ("Inc" of "Wugen, Inc."), not a name ("SAS raised")."""
    return doc.low[i] in _LEGAL_FORMS and i >= 2 and doc.words[i - 1] == "," and doc.name_like[i - 2]


def mentions(doc: Doc) -> list[Mention]:
    """Every candidate name: name-like runs split at job titles, descriptors and "-based" words, without leading
    articles or adverbs ("the", "Meanwhile") and without connectors at either end."""
    table = phrase_table(doc.lang)
    titles, descriptors, strip = table.words("title_word"), table.words("desc"), table.words("lead_strip")
    compounds = _compound_heads(doc.lang)
    low = doc.low
    out: list[Mention] = []
    for ra, rb in _runs(doc):
        a = ra
        pieces = []
        for i in range(ra, rb):
            w = low[i]
            if (
                w in descriptors
                and _ends_name(doc, i)
                and (
                    (i == rb - 1 and any(low[k] not in strip and low[k] not in CONNECTORS for k in range(a, i)))
                    or (i + 1 < rb and low[i + 1] in CONNECTORS)
                )
            ):
                # a capitalised descriptor that ends a name or is joined to the rest of it is part of it ("The
                # Future Group", "Starling Bank", "Bank of America")
                continue
            if (
                w in titles
                or w in descriptors
                or w.endswith(_CUT_SUFFIXES)
                or (("-" in w or compounds) and _is_descriptor(w, descriptors, compounds))
            ):
                if i > a and not w.endswith(_PLACE_SUFFIXES):
                    pieces.append((a, i))
                a = i + 1
        if a < rb:
            pieces.append((a, rb))
        for a, b in pieces:
            while a < b and (low[a] in strip or low[a] in CONNECTORS):
                a += 1
            while b > a and low[b - 1] in CONNECTORS:
                b -= 1
            if a < b and b - a <= MAX_NAME_TOKENS and (b - a > 1 or (len(low[a]) > 1 and not _trailing_form(doc, a))):
                out.append(Mention(a, b, ra, rb))
    return out


def triggers(doc: Doc) -> list[Trigger]:
    """Every money mention, "undisclosed amount" phrase and funding word (raise and invest verbs, funding nouns,
    round types), in text order."""
    out = [Trigger(a, b, "money", m) for a, b, m in doc.money]
    out += [Trigger(a, b, "undisclosed") for a, b in doc.undisclosed]
    money_at = doc.money_at
    for kind in ("raise_v", "invest_v", "fund_n", "round_t"):
        for a, b in doc.spans.get(kind, ()):
            if money_at[a] is None:
                out.append(Trigger(a, b, kind))
    out.sort(key=lambda t: (t.a, t.kind))
    return out

"""Stage 3a: what kind of article this is, as features of the article model ("does this text announce a round at
all?"). Its score is one input of the entity model: a year-in-review, a layoffs roundup or an acquisition story names
companies and sums the way a funding announcement does, and the words of its headline and lead tell them apart."""

from __future__ import annotations

from collections import Counter

from pipelines.funding.text import Doc

__all__ = ["article_features", "LEAD_TOKENS"]

# the lead: this many tokens after the headline say what the article is about
LEAD_TOKENS = 80
# the lexical classes whose share of the article's sentences is a feature
_SHARE_CLASSES = (
    "raise_v",
    "invest_v",
    "fund_n",
    "round_t",
    "led",
    "acq",
    "ipo",
    "fund",
    "hist",
    "rumor",
    "revenue",
    "valuation",
    "total",
    "neg",
    "date",
    "past_year",
    "this_year",
    "money",
)


def _bucket(n: int) -> str:
    return "0" if n == 0 else "1" if n == 1 else "2" if n == 2 else "3-5" if n <= 5 else "6-10" if n <= 10 else "11+"


def _words(doc: Doc, a: int, b: int, prefix: str) -> set[str]:
    """The alphabetic words of tokens ``a`` to ``b``, lower-cased (digits as "0"), each once."""
    out = set()
    for w in doc.low[a:b]:
        if w[:1].isdigit():
            out.add(prefix + "0")
        elif w[:1].isalpha() and len(w) > 1:
            out.add(prefix + w)
    return out


def article_features(doc: Doc) -> list[str]:
    """Binary features of the whole article: its headline's and lead's words, its language and length, how many
    sums it names, and how many of its sentences carry each lexical class (raising, history, acquisitions ...)."""
    if doc.title_end > doc.title_start:
        head = _words(doc, doc.title_start, doc.title_end, "t=")
        lead_from = doc.title_end
    else:
        head = set()
        lead_from = 0
    lead = _words(doc, lead_from, min(len(doc.low), lead_from + LEAD_TOKENS), "l=")
    f = sorted(head | lead)
    f.append("lang=" + doc.lang)
    f.append("has_title" if head else "no_title")
    f.append("money=" + _bucket(len(doc.money)))
    f.append("sentences=" + _bucket(len(doc.sents) // 5))
    counts: Counter[str] = Counter(c for classes in doc.sent_classes for c in classes)
    n = max(len(doc.sents), 1)
    for cls in _SHARE_CLASSES:
        share = counts[cls] / n
        f.append(f"share_{cls}=" + ("0" if share == 0 else "low" if share < 0.1 else "mid" if share < 0.3 else "high"))
    for cls in sorted(set().union(*(doc.sent_classes[s] for s in range(min(len(doc.sents), 3))))):
        f.append("first3=" + cls)
    return f

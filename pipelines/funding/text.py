"""Stage 0: one article as the detector reads it: normalised text, tokens, sentences, paragraphs, the language,
the lexical classes of each token (``lexicon``) and the money mentions (``pipelines.money``)."""

from __future__ import annotations

import datetime
import re
from bisect import bisect_left
from collections import Counter
from functools import lru_cache
from itertools import islice
from operator import add

from pipelines.funding.lexicon import detect_language, phrase_table
from pipelines.money import Money, find_bare_amounts, find_money, find_undisclosed

__all__ = ["Doc", "MAX_INPUT_CHARS", "lower_words", "normalise"]

MAX_INPUT_CHARS = 200_000
MAX_TOKENS = 20_000  # past this the rest of a page is debris (a long article is 2,000 to 5,000 tokens)
MAX_MONEY = 1_000  # money mentions read per article
TITLE_SEARCH_CHARS = 3000  # the headline is looked for this far into the body

_TRANSLATE = str.maketrans(
    {
        "\u00a0": " ",
        "\u202f": " ",
        "\u2009": " ",
        "\u2007": " ",
        "\u200b": "",
        "\u2019": "'",
        "\u2018": "'",
        "\u00b4": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u00ab": '"',
        "\u00bb": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2012": "-",
        "\u2011": "-",
        "\u2010": "-",
        "\u2212": "-",
        "\r": "\n",
    }
)
# words (inner dots, hyphens, apostrophes and "&" kept: "Builder.ai", "X-Bow", "O'Reilly", "AT&T"), a possessive
# "'s" on its own, any other character on its own
_TOKEN_RE = re.compile(r"\w(?:[\w&+@]|[.\-/|](?=\w)|'(?![sS]\b)(?=\w))*|'[sS]\b|[^\w\s]")
_SENT_END = frozenset(".!?")
_ABBREVIATIONS = frozenset(
    "inc mr ms mrs dr st corp ltd co vs no jr sr bros u.s u.k e.g i.e approx ca nr bzw z.b calif mass sen gov "
    "rep".split()
)
_SERIES_LETTER_RE = re.compile(r"^(?:[a-j]\d?|[a-j]-\d|[a-j]\+)$", re.I)
_YEAR_RE = re.compile(r"^(?:19[89]\d|20[0-4]\d)$")
_SERIES_WORDS = frozenset(("series", "serie", "série", "seria", "serien"))
_SERIES_STEMS = frozenset(w[:5] for w in _SERIES_WORDS)
# the classes whose token ranges later stages read (the triggers and lead cues)
_SPAN_CLASSES = frozenset(("raise_v", "invest_v", "fund_n", "round_t", "led", "partic"))


def lower_words(text: str) -> list[str]:
    """The lower-cased tokens of a text, split as ``Doc`` splits it."""
    return [m.group().casefold() for m in _TOKEN_RE.finditer(normalise(text))]


def normalise(text: str) -> str:
    """Unicode spaces, quotes and dashes folded to ASCII (one character for one, but zero-width spaces dropped)."""
    return text.translate(_TRANSLATE)


@lru_cache(maxsize=1 << 16)  # an article repeats its words, and debris repeats one token thousands of times
def _name_like(token: str) -> bool:
    if token.islower():
        return False
    first = token[0]
    if first.isupper():
        return True
    if first.isdigit():
        return not token.isdigit() and any(c.isalpha() for c in token)
    return any(c.isupper() for c in token[1:])  # eBay, iFood


class Doc:
    """An article split for the detector. Token indexes are the unit of every later stage.

    Attributes:
        text: the normalised text (the title first when the body does not start with it).
        title_start / title_end: the headline's tokens; ``title_sentence`` its sentence (None without one).
        words / low / starts / ends: tokens, lower-cased tokens and their character offsets.
        sents: (first, end) token ranges; ``sent_of[i]`` is the sentence of token ``i``; ``para_of[s]`` the
            paragraph of sentence ``s``.
        classes: lexical classes per token (``lexicon``); ``spans[cls]`` the (first, end) token ranges of a class;
            ``round_types[(first, end)]`` the round type a ``round.*`` phrase names.
        money: (first, end, Money) of every money mention; ``money_at[i]`` the mention covering token ``i``.
        sent_classes: the classes found in each sentence (plus ``money``, ``past_year``, ``year``).
    """

    def __init__(self, text: str, title: str | None = None, published: datetime.date | None = None) -> None:
        body = normalise(text[:MAX_INPUT_CHARS])
        head = normalise(title or "").strip()[:500]
        # the headline is its own sentence: found near the top of the body (extracted text often repeats it,
        # sometimes after navigation words), else put in front of it
        at = body.find(head[:60], 0, TITLE_SEARCH_CHARS + len(head)) if head else -1
        if head and at < 0:
            body = f"{head}\n\n{body}"
            at = 0
        title_span = (at, at + len(head)) if head else (0, 0)
        self.text = body
        self.published = published
        found = list(islice(_TOKEN_RE.finditer(body), MAX_TOKENS))  # the rest is never matched
        words = list(map(re.Match.group, found))
        starts = list(map(re.Match.start, found))
        ends = list(map(add, starts, map(len, words)))
        self.words, self.starts, self.ends = words, starts, ends
        self.low = low = [w.casefold() for w in words]
        self.name_like = [not w.islower() and _name_like(w) for w in words]
        self.lang = detect_language(low)
        self.title_start = bisect_left(starts, title_span[0])
        self.title_end = bisect_left(starts, title_span[1])
        self._split(body)
        self._classify()
        self._find_money()

    # ------------------------------------------------------------------ sentences

    def _split(self, body: str) -> None:
        words, starts, low = self.words, self.starts, self.low
        n = len(words)
        # the tokens a sentence can end at: sentence punctuation, and the last token before a line break
        breaks = set()
        at = body.find("\n")
        while at >= 0:
            i = bisect_left(starts, at) - 1
            if 0 <= i < n - 1:
                breaks.add(i)
            at = body.find("\n", at + 1)
        title_edges = {
            i
            for i in (self.title_start - 1, self.title_end - 1)
            if 0 <= i < n - 1 and self.title_end > self.title_start
        }
        ends_at = sorted(breaks.union(title_edges, (i for i, w in enumerate(words) if w in _SENT_END and i < n - 1)))
        sents: list[tuple[int, int]] = []
        para_of: list[int] = []
        start = para = 0
        for i in ends_at:
            if i < start:
                continue
            following = words[i + 1]
            end = new_para = False
            if i + 1 == self.title_end or i + 1 == self.title_start:
                end = new_para = True
            elif i in breaks:
                # a line break ends a sentence unless a hard-wrapped line goes on in lower case
                end = new_para = not following[0].islower() or words[i] in _SENT_END
            elif self.ends[i] < starts[i + 1]:
                if following[0].isupper() or following[0].isdigit():
                    end = words[i] != "." or not (low[i - 1] in _ABBREVIATIONS or len(low[i - 1]) == 1)
                elif following in ('"', "(", "["):
                    end = True
            if end:
                sents.append((start, i + 1))
                para_of.append(para)
                start = i + 1
                para += new_para
        if start < n or not sents:
            sents.append((start, n))
            para_of.append(para)
        self.sents = sents
        self.para_of = para_of
        sent_of: list[int] = []
        for s, (a, b) in enumerate(sents):
            sent_of += [s] * (b - a)
        self.sent_of = sent_of
        self.title_sentence = sent_of[self.title_start] if self.title_end > self.title_start else None

    # ------------------------------------------------------------------ lexical classes

    def _classify(self) -> None:
        low = self.low
        n = len(low)
        table = phrase_table(self.lang)
        classes: list[tuple[str, ...]] = [table.single_classes.get(w, ()) for w in low]
        round_types: dict[tuple[int, int], str] = {}
        pairs = table.multi_pairs
        for i in [i for i, pair in enumerate(zip(low, low[1:], strict=False)) if pair in pairs]:
            for words, cls in pairs[(low[i], low[i + 1])]:
                k = len(words)
                if tuple(low[i : i + k]) == words:
                    for j in range(i, i + k):
                        if cls not in classes[j]:
                            classes[j] = classes[j] + (cls,)
                    if cls == "round_t":
                        round_types.setdefault((i, i + k), table.round_type[words])
        spans: dict[str, list[tuple[int, int]]] = {}
        for i in [i for i, c in enumerate(classes) if c]:
            for cls in classes[i]:
                if cls not in _SPAN_CLASSES:
                    continue
                if i and cls in classes[i - 1]:
                    continue  # inside a phrase
                j = i + 1
                while j < n and cls in classes[j]:
                    j += 1
                spans.setdefault(cls, []).append((i, j))
                if cls == "round_t" and (i, j) not in round_types:
                    kind = table.round_type.get(tuple(low[i:j])) or table.round_type.get((low[i],))
                    if kind:
                        round_types[(i, j)] = kind
        for i in [i for i, w in enumerate(low) if w[:5] in _SERIES_STEMS]:
            w = low[i]
            if w in _SERIES_WORDS:
                if i + 1 < n and _SERIES_LETTER_RE.match(low[i + 1]):
                    round_types[(i, i + 2)] = "series_" + low[i + 1][0]
                    spans.setdefault("round_t", []).append((i, i + 2))
                    classes[i] = classes[i] + ("round_t",)
                    classes[i + 1] = classes[i + 1] + ("round_t",)
            elif "-" in w and w.split("-", 1)[0] in _SERIES_WORDS and _SERIES_LETTER_RE.match(w.split("-", 1)[1]):
                round_types[(i, i + 1)] = "series_" + w.split("-", 1)[1][0]
                spans.setdefault("round_t", []).append((i, i + 1))
                classes[i] = classes[i] + ("round_t",)
        self.classes = classes
        self.spans = spans
        self.round_types = round_types

    # ------------------------------------------------------------------ money

    def _token_at(self, offset: int) -> int:
        return bisect_left(self.starts, offset)

    def _find_money(self) -> None:
        body, n = self.text, len(self.words)
        found = find_money(body, limit=MAX_MONEY)
        money: list[tuple[int, int, Money]] = []
        for m in found:
            a = self._token_at(m.start)
            if a < n:
                money.append((a, max(self._token_at(m.end), a + 1), m))
        currencies = Counter(m.currency for _, _, m in money)
        if currencies:
            context = currencies.most_common(1)[0][0]
            for start, end, value in find_bare_amounts(body, found, limit=MAX_MONEY):
                a = self._token_at(start)
                if a < n:
                    bare = Money(start, end, value, context, body[start:end])
                    money.append((a, max(self._token_at(end), a + 1), bare))
            money.sort(key=lambda t: t[0])
        self.money = money
        self._money_by_sentence: dict[int, list[Money]] = {}
        money_at: list[Money | None] = [None] * n
        for a, b, m in money:
            for j in range(a, min(b, n)):
                money_at[j] = m
        self.money_at = money_at
        self.undisclosed = []
        for start, end in find_undisclosed(body):
            a = self._token_at(start)
            if a < n:
                self.undisclosed.append((a, max(self._token_at(end), a + 1)))
        sent_classes: list[set[str]] = [set() for _ in self.sents]
        sent_of, classes = self.sent_of, self.classes
        for i in [i for i, c in enumerate(classes) if c]:
            sent_classes[sent_of[i]].update(classes[i])
        for a, _, _ in money:
            sent_classes[sent_of[a]].add("money")
        ref = self.published.year if self.published else None
        for i in [i for i, w in enumerate(self.low) if len(w) == 4 and w[:2] in ("19", "20")]:
            w = self.low[i]
            if _YEAR_RE.match(w):
                s = sent_classes[sent_of[i]]
                s.add("year" if ref is None else "past_year" if int(w) < ref else "this_year")
        self.sent_classes = sent_classes

    # ------------------------------------------------------------------ helpers

    def span_text(self, a: int, b: int) -> str:
        """The text of tokens ``a`` to ``b`` (exclusive), as written."""
        return self.text[self.starts[a] : self.ends[b - 1]] if b > a else ""

    def sentence_text(self, s: int) -> str:
        """Sentence ``s`` as written (capped at 1,000 characters)."""
        a, b = self.sents[s]
        return self.span_text(a, b)[:1000]

    def money_in(self, s: int) -> list[Money]:
        """The money mentions of sentence ``s``, in text order."""
        if not self._money_by_sentence and self.money:
            for a, _, m in self.money:
                self._money_by_sentence.setdefault(self.sent_of[a], []).append(m)
        return self._money_by_sentence.get(s, [])

    def semicolons(self, s: int) -> list[int]:
        """Token positions of the semicolons in sentence ``s``, in order."""
        a, b = self.sents[s]
        return [i for i in range(a, b) if self.words[i] == ";"]

    def in_title(self, i: int) -> bool:
        """Token ``i`` is part of the headline."""
        return self.title_start <= i < self.title_end

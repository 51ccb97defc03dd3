"""Closed-class words per language (``lang/<code>.txt``) and gazetteers (``data/``), loaded once at import.

A language file holds one ``class | phrase | phrase ...`` line per group of phrases. The classes:

- ``raise_v`` verbs of raising money; ``invest_v`` verbs of investing; ``fund_n`` nouns of funding;
  ``round.<type>`` phrases naming a round type (the DESIGN.md enum);
- ``led`` / ``partic`` lead and participation cues; ``prep_from`` / ``prep_in`` prepositions;
- ``hist`` / ``fund`` / ``acq`` / ``ipo`` / ``revenue`` / ``valuation`` / ``total`` / ``neg`` / ``rumor`` cues of
  history, fund closes, acquisitions, listings, revenue, valuations, totals, negation and rumour;
- ``desc`` descriptors ("startup", "Unternehmen"); ``person`` / ``media`` / ``date`` / ``anaphor`` / ``rel`` /
  ``conj`` / ``listhead`` / ``roundup`` / ``aux`` context words;
- ``lead_strip`` words stripped from the start of a name, ``title_word`` job titles that end a name.

How common a word is in a language (``zipf_bucket``) comes from the ``wordfreq`` package's bundled lists.

English is read for every text; the text's own language (``detect_language``) is added to it. A new language is
one file plus its stopwords in ``STOPWORDS`` (and a word list in wordfreq, which has one for 40 languages).
"""

from __future__ import annotations

import logging
import re
import threading
from collections import Counter, defaultdict
from importlib import resources

logger = logging.getLogger("pipelines.funding")

__all__ = [
    "FIRST_NAMES",
    "LANGUAGES",
    "PLACES",
    "PhraseTable",
    "detect_language",
    "phrase_table",
    "words_of",
    "zipf_bucket",
]

# the most frequent function words of each language, to tell the language of a text
STOPWORDS: dict[str, frozenset[str]] = {
    code: frozenset(words.split())
    for code, words in {
        "en": "the and of to in is that for with has was on as by are it its from this have be at an said which will",
        "de": "der die das und ist mit von den des für auf sich dem ein eine nicht auch im zu wurde hat sind bei",
        "fr": "le la les des et est une pour dans qui du sur au par avec ses ont sont cette été aux",
        "es": "el la los las que del por con una para se ha es su lo al como más fue sus",
        "pt": "o os da do das dos que em um uma para com não por se na no ao foi são pela pelo",
        "it": "il la che di e è per un una del della con sono nel nella gli ha dei delle anche alla",
        "nl": "de het een en van dat is op te met voor zijn niet aan er ook door bij naar",
    }.items()
}
LANGUAGES = tuple(STOPWORDS)

# classes read as word sets, never marked on tokens
WORD_SET_CLASSES = frozenset(("lead_strip", "title_word", "aux"))

_TOKEN_RE = re.compile(r"\w(?:[\w&+@]|[.'\-/](?=\w))*|[^\w\s]")


def words_of(phrase: str) -> tuple[str, ...]:
    """The lower-cased tokens of a phrase, split as the detector splits text."""
    return tuple(m.group().casefold() for m in _TOKEN_RE.finditer(phrase))


def _lines(package: str, name: str) -> list[list[str]]:
    text = resources.files(package).joinpath(name).read_text(encoding="utf-8")
    rows = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            rows.append([cell.strip() for cell in line.split("|") if cell.strip()])
    return rows


def _load_language(code: str) -> dict[str, list[str]]:
    classes: dict[str, list[str]] = defaultdict(list)
    for row in _lines("pipelines.funding.lang", f"{code}.txt"):
        classes[row[0]].extend(row[1:])
    return dict(classes)


PHRASES: dict[str, dict[str, list[str]]] = {code: _load_language(code) for code in LANGUAGES}


class PhraseTable:
    """The phrases of English plus one language, for matching on lower-cased tokens.

    Attributes:
        single_classes: token -> the classes of the one-token phrases it is ("round.*" classes as "round_t").
        multi: first token -> (tokens, class) of each longer phrase; ``multi_first`` its keys, ``multi_pairs``
            the same by their first two tokens.
        round_type: phrase tokens -> the round type a ``round.*`` phrase names.
    """

    def __init__(self, codes: tuple[str, ...]) -> None:
        single: dict[str, list[str]] = defaultdict(list)
        multi: dict[str, list[tuple[tuple[str, ...], str]]] = defaultdict(list)
        self.round_type: dict[tuple[str, ...], str] = {}
        self.single: dict[str, set[str]] = defaultdict(set)
        for code in codes:
            for name, phrases in PHRASES[code].items():
                cls = "round_t" if name.startswith("round.") else name
                for phrase in phrases:
                    words = words_of(phrase)
                    if not words:
                        continue
                    if cls == "round_t":
                        self.round_type.setdefault(words, name[6:])
                    if len(words) == 1:
                        if cls not in single[words[0]]:
                            single[words[0]].append(cls)
                        self.single[cls].add(words[0])
                    elif cls not in WORD_SET_CLASSES and (words, cls) not in multi[words[0]]:
                        multi[words[0]].append((words, cls))
        # classes used as word sets only (``words``) are not marked on tokens
        self.single_classes = {
            w: t for w, c in single.items() if (t := tuple(x for x in c if x not in WORD_SET_CLASSES))
        }
        self.multi = dict(multi)
        self.multi_first = frozenset(multi)
        # the longer phrases by their first two tokens: a text is scanned for those pairs, which are rare
        self.multi_pairs: dict[tuple[str, str], list[tuple[tuple[str, ...], str]]] = defaultdict(list)
        for entries in multi.values():
            for words, cls in entries:
                self.multi_pairs[(words[0], words[1])].append((words, cls))
        self.multi_pairs = dict(self.multi_pairs)

    def words(self, cls: str) -> frozenset[str]:
        """The one-token phrases of a class."""
        return frozenset(self.single.get(cls, ()))


_TABLES: dict[str, PhraseTable] = {code: PhraseTable(("en",) if code == "en" else ("en", code)) for code in LANGUAGES}


def phrase_table(code: str) -> PhraseTable:
    """The phrase table for a text in language ``code`` (English plus that language)."""
    return _TABLES.get(code, _TABLES["en"])


def detect_language(low_tokens: list[str]) -> str:
    """The language whose function words are most frequent among the first 600 tokens (English on a tie)."""
    counts = Counter(low_tokens[:600])
    scores = {code: sum(counts[w] for w in words if w in counts) for code, words in STOPWORDS.items()}
    best = max(scores.values())
    if best == 0 or scores["en"] == best:
        return "en"
    return max(scores, key=scores.__getitem__)


def _gazetteer(name: str) -> frozenset[tuple[str, ...]]:
    return frozenset(words_of(cell) for row in _lines("pipelines.funding.data", name) for cell in row)


PLACES = _gazetteer("places.txt")
FIRST_NAMES = frozenset(w[0] for w in _gazetteer("first_names.txt") if len(w) == 1)


# per language, word -> Zipf bucket, from wordfreq's "best" lists (its large ones: words down to Zipf 1, about once
# in 100 million words); a plain dict of strings and ints, which the garbage collector never scans. Measured: the
# "small" lists (Zipf 3 and more) scored 0.650 and 0.664 rounds F1 in two 5-fold CVs, these 0.666 and 0.671.
_ZIPF: dict[str, dict[str, int]] = {}
_ZIPF_LOCK = threading.Lock()


def zipf_bucket(word: str, lang: str) -> int:
    """How common a word (lower case) is in a language: its Zipf frequency in the word lists bundled with
    ``wordfreq`` (no download), as an integer from 1 (about once in 100 million words) to 6 (one of the commonest
    words), 0 for an unknown word. The first call for a language reads its list (0.2 s; 40 MB for English)."""
    table = _ZIPF.get(lang)
    if table is None:
        with _ZIPF_LOCK:  # two threads meeting a new language read its list once
            table = _ZIPF.get(lang)
            if table is None:
                table = _ZIPF[lang] = _zipf_table(lang)
    return table.get(word, 0)


def _zipf_table(lang: str) -> dict[str, int]:
    try:
        from wordfreq import available_languages, read_cBpack  # imported on first use: it takes 0.1 s

        pack = read_cBpack(available_languages("best")[lang])
    except (ImportError, KeyError, OSError, ValueError) as exc:
        # the feature reads 0 for every word: the detector still runs, less well
        logger.warning("no word frequencies for language %r (%s: %s)", lang, type(exc).__name__, exc)
        return {}
    table: dict[str, int] = {}
    # bin i of the list holds the words of frequency 10^(-i/100), that is of Zipf 9 - i/100
    for index, words in enumerate(pack):
        bucket = min(int(9 - index / 100), 6)
        for w in words:
            table.setdefault(w, bucket)
    return table

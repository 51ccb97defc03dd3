"""Normalised company and investor names: keys to match them on, and when two names are one company.

Keys ignore case, accents, punctuation, legal suffixes and look-alike letters from other scripts (a Cyrillic
"а" in "Sequoiа" is the Latin "a"); investor keys also map known aliases to one name ("a16z" and "Andreessen
Horowitz", from ``pipelines/funding/data/investors.txt``).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from importlib import resources

# letters of other scripts that look like Latin ones (Unicode's confusables, the common part)
_LOOK_ALIKES = str.maketrans(
    "авеёкмнорстухіјѕԁɡℓАВЕКМНОРСТХІЈЅαορνικΑΒΕΖΗΙΚΜΝΟΡΤΥΧ",
    "abeekmhopctyxijsdglABEKMHOPCTXIJSaopvikABEZHIKMNOPTYX",
)


def fold(text: str) -> str:
    """Compatibility forms (full-width, ligatures) unfolded, look-alike letters made Latin, accents dropped."""
    text = unicodedata.normalize("NFKD", (text or "").translate(_LOOK_ALIKES))
    return "".join(ch for ch in text if not unicodedata.combining(ch))


_LEGAL_SUFFIX = re.compile(
    r"[,\s]+(inc|incorporated|corp|corporation|co|company|ltd|limited|llc|llp|plc|gmbh|ag|sa|sas|sarl|bv|nv|"
    r"ab|oy|as|spa|srl|pte|pty|kk)\.?$",
    re.I,
)


def name_key(name: str) -> str:
    """Casefolded, accent-folded name without legal suffix or punctuation: "Hugging Face, Inc." -> "huggingface"."""
    text = fold(name).strip()
    previous = None
    while previous != text:
        previous, text = text, _LEGAL_SUFFIX.sub("", text).strip()
    return re.sub(r"[\W_]+", "", text.casefold())[:300]


_LEGAL = frozenset(
    "inc incorporated corp corporation co company ltd limited llc plc gmbh ag sa sas srl spa bv nv oy ab as".split()
)
# words that never identify a company on their own ("Ventures" alone matches nothing)
GENERIC_NAME_WORDS = frozenset(
    "the ai labs lab technologies technology tech ventures venture capital partners group holdings systems "
    "software solutions health bio robotics network networks global international media data cloud".split()
)


def name_tokens(name: str) -> list[str]:
    """Casefolded, accent-folded word tokens, without a trailing legal suffix or a leading "the"."""
    return list(_name_tokens(name or ""))


@lru_cache(maxsize=8192)  # the detector asks for the same few names many times per article
def _name_tokens(name: str) -> tuple[str, ...]:
    text = fold(name).casefold()
    tokens = [t for t in _TOKEN_SPLIT.split(text.replace(".", "")) if t]
    while len(tokens) > 1 and tokens[-1] in _LEGAL:
        tokens.pop()
    if len(tokens) > 1 and tokens[0] == "the":
        tokens.pop(0)
    return tuple(tokens)


_TOKEN_SPLIT = re.compile(r"[^\w]+|_")


def same_company(a: str, b: str) -> bool:
    """Equal after folding, or the shorter name's tokens start the longer one and include a distinctive one
    ("Mistral" ~ "Mistral AI"; "Ventures" alone matches nothing)."""
    ta, tb = name_tokens(a), name_tokens(b)
    if not ta or not tb:
        return False
    if ta == tb or "".join(ta) == "".join(tb):
        return True
    short, long_ = (ta, tb) if len(ta) <= len(tb) else (tb, ta)
    return long_[: len(short)] == short and any(t not in GENERIC_NAME_WORDS for t in short)


@lru_cache(maxsize=1)
def _investor_aliases() -> dict[str, str]:
    text = resources.files("pipelines.funding.data").joinpath("investors.txt").read_text(encoding="utf-8")
    aliases: dict[str, str] = {}
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            names = [cell.strip() for cell in line.split("|") if cell.strip()]
            for alias in names:
                aliases.setdefault(name_key(alias), name_key(names[0]))
    return aliases


def investor_key(name: str) -> str:
    """The key of an investor: ``name_key`` with known aliases mapped to one name ("a16z" -> "andreessenhorowitz")."""
    key = name_key(name)
    return _investor_aliases().get(key, key)

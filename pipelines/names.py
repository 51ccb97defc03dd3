"""Normalised company and investor names: keys to match them on, and when two names are one company."""

from __future__ import annotations

import re
import unicodedata

_LEGAL_SUFFIX = re.compile(
    r"[,\s]+(inc|incorporated|corp|corporation|co|company|ltd|limited|llc|llp|plc|gmbh|ag|sa|sas|sarl|bv|nv|"
    r"ab|oy|as|spa|srl|pte|pty|kk)\.?$",
    re.I,
)


def name_key(name: str) -> str:
    """Casefolded, accent-folded name without legal suffix or punctuation: "Hugging Face, Inc." -> "huggingface"."""
    text = unicodedata.normalize("NFKD", name or "")
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).strip()
    previous = None
    while previous != text:
        previous, text = text, _LEGAL_SUFFIX.sub("", text).strip()
    return re.sub(r"[\W_]+", "", text.casefold())[:300]


_LEGAL = frozenset(
    "inc incorporated corp corporation co company ltd limited llc plc gmbh ag sa sas srl spa bv nv oy ab as".split()
)
# words that never identify a company on their own ("Ventures" alone matches nothing)
_GENERIC = frozenset(
    "the ai labs lab technologies technology tech ventures venture capital partners group holdings systems "
    "software solutions health bio robotics network networks global international media data cloud".split()
)


def name_tokens(name: str) -> list[str]:
    """Casefolded, accent-folded word tokens, without a trailing legal suffix or a leading "the"."""
    text = unicodedata.normalize("NFKD", (name or "").casefold())
    text = "".join(c for c in text if not unicodedata.combining(c))
    tokens = [t for t in re.split(r"[^\w]+|_", text.replace(".", "")) if t]
    while len(tokens) > 1 and tokens[-1] in _LEGAL:
        tokens.pop()
    if len(tokens) > 1 and tokens[0] == "the":
        tokens.pop(0)
    return tokens


def same_company(a: str, b: str) -> bool:
    """Equal after folding, or the shorter name's tokens start the longer one and include a distinctive one
    ("Mistral" ~ "Mistral AI"; "Ventures" alone matches nothing)."""
    ta, tb = name_tokens(a), name_tokens(b)
    if not ta or not tb:
        return False
    if ta == tb or "".join(ta) == "".join(tb):
        return True
    short, long_ = (ta, tb) if len(ta) <= len(tb) else (tb, ta)
    return long_[: len(short)] == short and any(t not in _GENERIC for t in short)

"""Normalised keys under which companies and investors are matched."""

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

"""Funding-round detection: ``detect_rounds(text, title, published)`` -> ROUND dicts (DESIGN.md).

Pure Python (no Scrapy, no store, no network), safe to call from any thread, never raises. A learned scorer
(``model.json``, rebuilt by ``python -m pipelines.funding.train``) decides which candidate names raised money;
rules find the candidates and read the fields. See ``detector`` for the stages.
"""

from pipelines.funding.detector import Detector, default_detector, detect_rounds
from pipelines.funding.text import MAX_INPUT_CHARS

__all__ = ["Detector", "MAX_INPUT_CHARS", "ROUND_KEYS", "ROUND_TYPES", "default_detector", "detect_rounds"]

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

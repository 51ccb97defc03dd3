"""Robustness of detect_rounds: any input gives well-formed ROUND dicts, and the never-raise net is never needed.

detect_rounds swallows exceptions and logs them; these tests count such logged errors as failures, so a crash
that the contract hides still shows. Timing lives in benchmarks/detector.py, not here.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.funding import detect_rounds
from tests.support.pathological import PATHOLOGICAL
from tests.support.rounds import assert_valid_rounds

FRAGMENTS = [
    "Acme",
    "Acme Robotics",
    "Foo Ventures",
    "Sequoia Capital",
    "raised",
    "raises",
    "has raised",
    "secured",
    "$",
    "US$",
    "€",
    "£",
    "₹",
    "Rs",
    "million",
    "billion",
    "mn",
    "M",
    "bn",
    "crore",
    "lakh",
    "Series B",
    "Series A",
    "seed",
    "round",
    "funding",
    "led by",
    "with participation from",
    "valued at",
    "valuation",
    "in talks",
    "reportedly",
    "undisclosed amount",
    "had raised",
    "last year",
    "in",
    "a",
    "the",
    "and",
    ",",
    ".",
    "'",
    '"',
    "(",
    ")",
    "\n",
    "5.5",
    "1,000",
    ",000",
    "32,5",
    "2024",
]
_fragment = st.one_of(
    st.sampled_from(FRAGMENTS), st.integers(0, 10**13).map(str), st.text(max_size=4), st.just(""), st.just("")
)
_separator = st.sampled_from([" ", " ", "", "\n", ", "])
_noise = st.lists(st.tuples(_fragment, _separator), max_size=30).map(lambda parts: "".join(f + s for f, s in parts))
_number = st.one_of(st.sampled_from(["5", "5.5", "1,000", "32,5", "1,000,000", "0"]), st.integers(0, 10**13).map(str))
_money = st.tuples(
    st.sampled_from(["$", "US$", "€", "£", "₹", "Rs ", ""]),
    _number,
    st.sampled_from([" million", "M", " bn", " crore", ""]),
).map("".join)


@st.composite
def _sentence(draw: st.DrawFn) -> str:
    """A headline-shaped sentence with fragment slots, so the candidate, guard, investor and valuation stages run."""
    subject = draw(st.sampled_from(["Acme", "Acme Robotics", "Sequoia Capital", "the startup", ""]))
    verb = draw(st.sampled_from(["raised", "raises", "has raised", "secured", "had raised", "is in talks to raise"]))
    amount = draw(st.one_of(_money, st.sampled_from(["an undisclosed amount", "funding"])))
    kind = draw(st.sampled_from([" in a Series B round", " in seed funding", ""]))
    valuation = draw(st.one_of(st.just(""), _money.map(lambda m: f" at a {m} valuation")))
    lead = draw(
        st.sampled_from([" led by Foo Ventures", " with participation from Sequoia Capital and Foo Ventures", ""])
    )
    return f"{subject} {verb} {amount}{kind}{valuation}{lead}. {draw(_noise)}"


funding_text = st.lists(st.one_of(_sentence(), _noise), max_size=4).map("\n".join)
titles = st.one_of(st.none(), st.text(max_size=120), funding_text.map(lambda s: s[:200]))
dates = st.one_of(st.none(), st.dates())


class _Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def _no_swallowed_errors() -> Iterator[None]:
    """Fail when detect_rounds' never-raise net caught an exception (it logs one error per crash)."""
    handler = _Errors()
    logger = logging.getLogger("pipelines.funding")
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
    assert not handler.records, [r.getMessage() for r in handler.records]


def _check(text: str, title: str | None = None, published: datetime.date | None = None) -> None:
    with _no_swallowed_errors():
        assert_valid_rounds(detect_rounds(text, title, published))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=500), titles, dates)
def test_any_text_gives_valid_rounds(text: str, title: str | None, published: datetime.date | None) -> None:
    _check(text, title, published)


@settings(max_examples=400, deadline=None)
@given(funding_text, titles, dates)
def test_funding_vocabulary_gives_valid_rounds(text: str, title: str | None, published: datetime.date | None) -> None:
    _check(text, title, published)


def test_vocabulary_strategy_reaches_the_deep_paths() -> None:
    """A sanity check on the strategy's vocabulary: its fragments can make a full round."""
    rounds = detect_rounds("Acme Robotics raised $ 5.5 million in a Series B round led by Foo Ventures .")
    assert rounds and rounds[0]["lead_investors"] == ["Foo Ventures"]


@pytest.mark.parametrize("text", list(PATHOLOGICAL.values()), ids=list(PATHOLOGICAL))
def test_pathological_inputs(text: str) -> None:
    _check(text)
    _check(text, title=text[:300], published=datetime.date(2024, 5, 1))


@pytest.mark.parametrize(
    ("text", "title", "published"),
    [(None, None, None), (b"Acme raised $5M", None, None), (123, 4.5, "2024-01-01"), ("Acme raised $5M", [], 7)],
)
def test_wrong_types_give_a_list(text: object, title: object, published: object) -> None:
    assert_valid_rounds(detect_rounds(text, title, published))  # type: ignore[arg-type]


def test_zero_valuation_is_not_a_valuation() -> None:
    """Shrunk from test_funding_vocabulary_gives_valid_rounds: valuation must be None or positive."""
    _check("Acme raised funding at $0 valuation.")

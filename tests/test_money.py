"""Tests for pipelines.money: money forms, undisclosed amounts, USD conversion and linear-time parsing."""

from __future__ import annotations

import time

import pytest

from pipelines.money import RATES_DATE, USD_RATES, find_bare_amounts, find_money, find_undisclosed, to_usd


@pytest.mark.parametrize(
    ("text", "value", "currency"),
    [
        ("$235M", 235e6, "USD"),
        ("$235 million", 235e6, "USD"),
        ("US$1.2bn", 1.2e9, "USD"),
        ("$1.2 billion", 1.2e9, "USD"),
        ("US$ 12.5 mn", 12.5e6, "USD"),
        ("USD 600 million", 600e6, "USD"),
        ("$1,250,000", 1_250_000, "USD"),
        ("$3 million-plus", 3e6, "USD"),
        ("€20 million", 20e6, "EUR"),
        ("20M€", 20e6, "EUR"),
        ("EUR 20m", 20e6, "EUR"),
        ("£5m", 5e6, "GBP"),
        ("£5.5m", 5.5e6, "GBP"),
        ("CHF 15m", 15e6, "CHF"),
        ("CHF35 million", 35e6, "CHF"),
        ("Rs 100 crore", 1e9, "INR"),
        ("₹50 lakh", 5e6, "INR"),
        ("INR 50 lakh", 5e6, "INR"),
        ("S$1.4m", 1.4e6, "SGD"),
        ("RMB1 billion", 1e9, "CNY"),
        ("50 billion won", 50e9, "KRW"),
        ("1,7 Md€", 1.7e9, "EUR"),
        ("32,5 milioni di dollari", 32.5e6, "USD"),
        ("40 Mio. Euro", 40e6, "EUR"),
        ("190.000.000 €", 190e6, "EUR"),
        ("R$ 32 mi", 32e6, "BRL"),
    ],
)
def test_money_forms(text: str, value: float, currency: str) -> None:
    found = find_money(f"The startup raised {text} on Monday.")
    assert len(found) == 1
    assert found[0].value == pytest.approx(value)
    assert found[0].currency == currency


def test_money_span_and_plus() -> None:
    text = "Acme lands $100M+ from investors"
    (money,) = find_money(text)
    assert text[money.start : money.end] == money.text == "$100M+"
    assert money.plus


@pytest.mark.parametrize("text", ["5 won the prize", "in 2023 the team", "Rs 5", "version 1.2.3", ""])
def test_not_money(text: str) -> None:
    assert find_money(text) == []


def test_two_currencies_keep_both_in_order() -> None:
    found = find_money("Rs 1,002 crore ($120M)")
    assert [m.currency for m in found] == ["INR", "USD"]
    assert found[0].value == 1.002e10


@pytest.mark.parametrize(
    "text",
    ["an undisclosed amount", "did not disclose the size", "The terms were not disclosed", "declined to reveal"],
)
def test_undisclosed(text: str) -> None:
    assert find_undisclosed(f"Acme raised {text} led by X.")


def test_usd_conversion_table() -> None:
    assert RATES_DATE == "2025-01-02"
    assert to_usd(235e6, "USD") == 235e6
    assert to_usd(20e6, "EUR") == pytest.approx(20e6 * USD_RATES["EUR"])
    assert to_usd(5.0, "XXX") is None
    assert to_usd(None, "USD") is None


def test_usd_rates_file_lines_parse() -> None:
    assert all(rate > 0 for rate in USD_RATES.values())
    assert {"USD", "EUR", "GBP", "CHF", "INR", "CNY", "KRW", "SGD", "BRL"} <= set(USD_RATES)


@pytest.mark.parametrize(
    "text",
    [
        "1" * 100_000,
        " " * 100_000,
        "$" * 100_000,
        "million " * 20_000,
        "x" * 1_000_000,
        "$1" + "0" * 100_000 + " million",
        "1," * 50_000,
        " 1 m" * 25_000,
    ],
    ids=["digits", "spaces", "dollars", "million-words", "1MB-token", "long-number", "commas", "num-mult"],
)
def test_pathological_inputs_are_fast(text: str) -> None:
    start = time.perf_counter()
    find_money(text)
    find_undisclosed(text)
    assert time.perf_counter() - start < 0.5


@pytest.mark.parametrize(
    ("text", "value", "currency"),
    [
        ("raised two million dollars", 2e6, "USD"),
        ("hat insgesamt drei Millionen Euro eingesammelt", 3e6, "EUR"),
        ("a levé trois millions d'euros", 3e6, "EUR"),
        ("ha raccolto due milioni di euro", 2e6, "EUR"),
    ],
)
def test_number_words_before_a_multiplier(text: str, value: float, currency: str) -> None:
    (money,) = find_money(text)
    assert (money.value, money.currency) == (value, currency)
    assert text[money.start : money.end] == money.text


def test_number_words_need_a_multiplier_and_a_currency() -> None:
    assert find_money("two of the three founders won one award") == []


def test_the_mention_cap_holds_for_number_words_and_bare_amounts() -> None:
    assert len(find_money("two million dollars " * 3_000, limit=100)) == 100
    text = "5 million euros and 3 million " * 3_000
    taken = find_money(text, limit=100)
    assert len(taken) == 100
    assert len(find_bare_amounts(text, taken, limit=50)) == 50


def test_number_words_after_letters_that_change_length_in_lower_case() -> None:
    # "İ".lower() is two characters: windows computed on a lower-cased copy would drift off the text
    (found,) = find_money("İ" * 40 + " raised two million dollars")
    assert (found.value, found.currency) == (2_000_000, "USD")

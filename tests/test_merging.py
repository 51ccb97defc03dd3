"""One round, many reports: merging across outlets, rumours linked to their confirmation, order independence."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from pathlib import Path

import pytest

from storage import RoundFilters, Store, list_rounds
from tests.test_storage import article, round_

DAY = dt.date(2024, 5, 1)


def _save(store: Store, url: str, found: dict, published: dt.date = DAY) -> None:
    store.save_article(
        article(url, text_body=f"report at {url}", published=published), [found], source=None, listed_url=url
    )


def _withdraw(store: Store, url: str, published: dt.date) -> None:
    """The article at `url` is corrected: it no longer reports any round."""
    store.save_article(article(url, text_body="corrected", published=published), [], source=None, listed_url=url)


def _shown(url: str) -> list[dict]:
    """The rounds as `newsmon rounds --json` prints them, without the store's ids."""
    rows = [r.as_json() for r in list_rounds(url, RoundFilters(confirmed_rumors=True))]
    return [
        {k: v for k, v in r.items() if k not in ("id", "confirmed_by")} | {"rumour": bool(r["confirmed_by"])}
        for r in rows
    ]


def _rows_in_every_order(tmp_path: Path, reports: list[tuple[str, dict, dt.date]]) -> set[str]:
    """The rounds (as JSON, ids dropped, lists sorted) that each ingest order of `reports` leaves."""
    seen = set()
    for n, order in enumerate(itertools.permutations(reports)):
        url = f"sqlite:///{tmp_path / f'order{n}.db'}"
        store = Store(url)
        for page, found, published in order:
            _save(store, page, found, published)
        rows = _shown(url)
        for row in rows:
            row["sources"], row["investors"] = sorted(row["sources"]), sorted(row["investors"])
            row["rumor_sources"] = sorted(row["rumor_sources"])
        seen.add(json.dumps(sorted(rows, key=lambda r: json.dumps(r, sort_keys=True)), sort_keys=True))
    return seen


def test_a_name_that_extends_another_merges_on_a_shared_amount(db_url: str) -> None:
    store = Store(db_url)
    _save(store, "https://a.example/1", round_("Mistral", 20e6))
    _save(store, "https://b.example/2", round_("Mistral AI", 20e6, round=None))
    (merged,) = list_rounds(db_url)
    assert merged.company == "Mistral AI" and merged.round == "series_a" and len(merged.sources) == 2


def test_a_name_that_extends_another_without_shared_amount_or_lead_stays_apart(db_url: str) -> None:
    store = Store(db_url)
    _save(store, "https://a.example/1", round_("Mistral", 20e6))
    _save(store, "https://b.example/2", round_("Mistral AI", None, lead_investors=["Lightspeed"], investors=[]))
    assert len(list_rounds(db_url)) == 2


def test_a_generic_word_alone_merges_nothing(db_url: str) -> None:
    store = Store(db_url)
    _save(store, "https://a.example/1", round_("Acme Ventures", 20e6))
    _save(store, "https://b.example/2", round_("Ventures", 20e6))
    assert len(list_rounds(db_url)) == 2


@pytest.mark.parametrize("rumour_first", [True, False])
def test_a_rumour_links_to_its_confirmation_in_either_order(db_url: str, rumour_first: bool) -> None:
    store = Store(db_url)
    rumour = ("https://a.example/talks", round_("Acme", 100e6, round=None, status="rumored"), DAY - dt.timedelta(30))
    confirmation = ("https://b.example/raises", round_("Acme", 110e6, round="series_b"), DAY)
    for url, found, published in [rumour, confirmation] if rumour_first else [confirmation, rumour]:
        _save(store, url, found, published)
    (shown,) = list_rounds(db_url)  # the confirmed rumour is not listed as a round of its own
    assert (shown.status, shown.amount, shown.announced) == ("announced", 110e6, DAY)
    assert shown.sources == ["https://b.example/raises"] and shown.rumor_sources == ["https://a.example/talks"]
    everything = list_rounds(db_url, RoundFilters(confirmed_rumors=True))
    (kept,) = [r for r in everything if r.status == "rumored"]
    assert kept.confirmed_by == shown.id and kept.amount == 100e6


def test_a_rumour_never_changes_an_announced_round(db_url: str) -> None:
    store = Store(db_url)
    _save(store, "https://b.example/raises", round_("Acme", 20e6))
    _save(store, "https://a.example/talks", round_("Acme", 60e6, round=None, status="rumored"), DAY + dt.timedelta(5))
    rounds = list_rounds(db_url)
    assert sorted((r.status, r.amount, r.confirmed_by) for r in rounds) == [
        ("announced", 20e6, None),
        ("rumored", 60e6, None),  # three times the amount: a different, later raise being discussed
    ]


def test_any_order_of_reports_gives_the_same_row(tmp_path: Path) -> None:
    """Six ingest orders of three reports: one row, the earliest date, the most precise amount, the full name."""
    reports = [
        ("https://a.example/1", round_("Acme", 1.2e9, round=None, investors=["Accel"]), DAY + dt.timedelta(1)),
        ("https://b.example/2", round_("Acme Inc.", 1.25e9, valuation=5e9), DAY),
        ("https://c.example/3", round_("Acme", 1.25e9, lead_investors=[], investors=["Index Ventures"]), DAY),
    ]
    (only,) = _rows_in_every_order(tmp_path, reports)
    (row,) = json.loads(only)
    assert (row["company"], row["amount"], row["round"], row["valuation"]) == ("Acme Inc.", 1.25e9, "series_a", 5e9)
    assert row["announced"] == DAY.isoformat() and row["outlets"] == 3
    assert row["lead_investors"] == ["Sequoia Capital"]
    assert row["investors"] == ["Accel", "Index Ventures", "Sequoia Capital"]


def test_two_captures_of_one_outlets_page_count_as_one_outlet(db_url: str) -> None:
    store = Store(db_url)
    _save(store, "https://venturebeat.com/2016/04/21/acme-raises/", round_())
    _save(store, "https://www.venturebeat.com/commerce/acme-raises/", round_())
    _save(store, "https://www.geektime.com/acme-raises/", round_())
    (row,) = list_rounds(db_url)
    assert len(row.sources) == 3 and row.outlets == 2


def test_a_short_name_report_joins_the_round_whatever_the_order(tmp_path: Path) -> None:
    """'Mistral' undisclosed (another lead) only matches once 'Mistral' $100M has joined 'Mistral AI' $100M; the
    rounds that come to match are folded together, so every order ends with one round."""
    reports = [
        ("https://a.example/1", round_("Mistral", 100e6), DAY),
        ("https://b.example/2", round_("Mistral AI", 100e6), DAY),
        ("https://c.example/3", round_("Mistral", None, lead_investors=["Lightspeed"], investors=[]), DAY),
    ]
    (only,) = _rows_in_every_order(tmp_path, reports)
    (row,) = json.loads(only)
    assert (row["company"], row["amount"], len(row["sources"])) == ("Mistral AI", 100e6, 3)
    assert sorted(row["lead_investors"]) == ["Lightspeed", "Sequoia Capital"]


def test_a_rumour_is_linked_whatever_the_order(tmp_path: Path) -> None:
    """The rumour only matches once the second announcement adds the amount: linked in every order."""
    reports = [
        ("https://a.example/talks", round_("Acme", 100e6, round=None, status="rumored"), DAY - dt.timedelta(20)),
        ("https://b.example/raises", round_("Acme", None, round=None), DAY),
        ("https://c.example/more", round_("Acme", 105e6, round=None), DAY + dt.timedelta(1)),
    ]
    (only,) = _rows_in_every_order(tmp_path, reports)
    rows = json.loads(only)
    assert sorted((r["status"], r["rumour"]) for r in rows) == [("announced", False), ("rumored", True)]


def test_an_announcement_long_before_a_rumour_does_not_confirm_it(db_url: str) -> None:
    store = Store(db_url)
    _save(store, "https://b.example/raises", round_("Acme", 100e6, round="series_b"))
    _save(store, "https://a.example/talks", round_("Acme", 100e6, round=None, status="rumored"), DAY + dt.timedelta(80))
    assert sorted((r.status, r.confirmed_by) for r in list_rounds(db_url)) == [("announced", None), ("rumored", None)]


def test_a_rumour_whose_confirmation_goes_is_relinked_to_another(db_url: str) -> None:
    store = Store(db_url)
    _save(store, "https://a.example/talks", round_("Acme", 100e6, round=None, status="rumored"), DAY)
    _save(store, "https://b.example/early", round_("Acme", 100e6, round="series_b"), DAY + dt.timedelta(10))
    _save(store, "https://c.example/late", round_("Acme", 102e6, round="series_b"), DAY + dt.timedelta(30))
    before = {r.sources[0]: r for r in list_rounds(db_url)}
    assert before["https://b.example/early"].rumor_sources == ["https://a.example/talks"]
    # the early article is corrected: it no longer reports a round; the later announcement now confirms
    _withdraw(store, "https://b.example/early", DAY + dt.timedelta(10))
    (late,) = list_rounds(db_url)
    assert late.sources == ["https://c.example/late"] and late.rumor_sources == ["https://a.example/talks"]


def test_a_round_is_recomputed_when_a_report_is_withdrawn(db_url: str) -> None:
    store = Store(db_url)
    _save(store, "https://a.example/1", round_("Acme", 20e6, valuation=100e6), DAY - dt.timedelta(2))
    _save(store, "https://b.example/2", round_("Acme", 20e6), DAY)
    _withdraw(store, "https://a.example/1", DAY - dt.timedelta(2))
    (row,) = list_rounds(db_url)
    assert (row.announced, row.valuation, row.sources) == (DAY, None, ["https://b.example/2"])


@pytest.mark.parametrize(
    "reports",
    [
        pytest.param(  # each within 7 days of the next, not of the last: one raise reported late
            [("https://a.example/1", 20e6, 0), ("https://b.example/2", 20e6, 6), ("https://c.example/3", 20e6, 12)],
            id="dates-chain",
        ),
        pytest.param(  # each within 10% of the next
            [("https://a.example/1", 100e6, 0), ("https://b.example/2", 109e6, 0), ("https://c.example/3", 119e6, 0)],
            id="amounts-chain",
        ),
    ],
)
def test_reports_that_chain_are_one_round_in_every_order(tmp_path: Path, reports: list) -> None:
    chained = [(url, round_("Acme", amount), DAY + dt.timedelta(days)) for url, amount, days in reports]
    (only,) = _rows_in_every_order(tmp_path, chained)
    (row,) = json.loads(only)
    assert len(row["sources"]) == 3


def test_withdrawing_the_report_that_joined_two_splits_the_round(db_url: str) -> None:
    store = Store(db_url)
    for url, days in (("https://a.example/1", 0), ("https://b.example/2", 6), ("https://c.example/3", 12)):
        _save(store, url, round_("Acme", 20e6), DAY + dt.timedelta(days))
    assert len(list_rounds(db_url)) == 1
    _withdraw(store, "https://b.example/2", DAY + dt.timedelta(6))
    rows = sorted((r.announced, r.sources) for r in list_rounds(db_url))
    assert rows == [(DAY, ["https://a.example/1"]), (DAY + dt.timedelta(12), ["https://c.example/3"])]


def test_names_written_apart_or_together_merge(db_url: str) -> None:
    store = Store(db_url)
    _save(store, "https://a.example/1", round_("Open AI", 300e6))
    _save(store, "https://b.example/2", round_("OpenAI", 300e6, lead_investors=["Thrive"], investors=[]))
    (row,) = list_rounds(db_url)
    assert len(row.sources) == 2


def test_a_rumour_is_unlinked_when_its_confirmation_moves_out_of_reach(db_url: str) -> None:
    store = Store(db_url)
    _save(store, "https://a.example/talks", round_("Acme", 100e6, round=None, status="rumored"), DAY)
    _save(store, "https://b.example/1", round_("Acme", 100e6), DAY + dt.timedelta(88))
    _save(store, "https://c.example/2", round_("Acme", 100e6), DAY + dt.timedelta(94))
    (announced,) = list_rounds(db_url)
    assert announced.rumor_sources == ["https://a.example/talks"]
    _withdraw(store, "https://b.example/1", DAY + dt.timedelta(88))
    rows = list_rounds(db_url)  # the announcement is now 94 days after the rumour: too late to confirm it
    assert sorted((r.status, r.confirmed_by, r.rumor_sources) for r in rows) == [
        ("announced", None, []),
        ("rumored", None, []),
    ]


def test_the_rumour_goes_to_the_closest_confirmation_whatever_the_order(tmp_path: Path) -> None:
    reports = [
        ("https://a.example/talks", round_("Acme", 100e6, round="series_b", status="rumored"), DAY),
        ("https://b.example/1", round_("Acme Health", 100e6, round="series_b"), DAY + dt.timedelta(10)),
        ("https://c.example/2", round_("Acme Robotics", 100e6, round="series_b"), DAY + dt.timedelta(20)),
    ]
    (only,) = _rows_in_every_order(tmp_path, reports)
    confirmed = [r for r in json.loads(only) if r["rumor_sources"]]
    assert [r["company"] for r in confirmed] == ["Acme Health"]

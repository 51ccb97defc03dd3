"""What `newsmon serve` tells Datasette: titles, column descriptions, sort orders, facets, the articles' search,
the company and investor pages (canned queries) and which tables are internal. The cells themselves are drawn by
the plugin in crawler/datasette_plugins/."""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import Any

from storage import EVIDENCE_ORDER

# what people browse; every other table is bookkeeping (Alembic's, locks, validators, links, alerts' ledger)
VISIBLE_TABLES = ("funding_rounds_view", "articles", "crawl_runs", "sources")
# the front page leaves out the per-field sentences (`evidence` holds the main one) and the round's internal links
FRONT_HIDDEN_COLUMNS = (*(f"{name}_evidence" for name in EVIDENCE_ORDER), "filing", "filed_for", "confirmed_by")

ROUND_COLUMNS = {
    "round_id": "The round's id (newsmon rounds --json calls it id).",
    "company": "The company that raised; opens its page (every round of that company).",
    "amount": "The amount raised, in its currency; empty when undisclosed.",
    "currency": "ISO 4217 code of the amount and the valuation.",
    "amount_usd": "The amount in US dollars (a fixed rate table in the repository).",
    "round": "pre_seed, seed, series_a … series_j, growth, debt, grant …; empty when the reports do not name it.",
    "leads": "Lead investors (a JSON array); each opens that investor's page.",
    "investors": "Every investor named as taking part, leads included (a JSON array).",
    "valuation": "The valuation the reports give for this round.",
    "status": "announced, or rumored.",
    "announced": "The date of the earliest report announcing it.",
    "evidence": "The sentence the round was read from (its amount's, else its company's).",
    "sources": "The articles that reported it, oldest first (a JSON array of URLs).",
    "outlets": "The outlets (sites) that reported it (a JSON array).",
    "outlet_count": "How many outlets reported it.",
    "source_count": "How many articles reported it.",
    "confirmed_by": "For a rumour: the round_id of the announcement that confirmed it.",
}

_FIELDS = "v.round_id, v.announced, v.company, v.amount, v.currency, v.amount_usd, v.round, v.leads, v.investors, "
_FIELDS += "v.valuation, v.status, v.evidence, v.sources"
# a filing that documents a press round is shown with that round, as `newsmon rounds` does
_NOT_A_DOCUMENTING_FILING = "NOT (v.filing AND v.filed_for IS NOT NULL)"
# the indexed name stem first (every spelling of a company shares it), then the full match on those rows only
_COMPANY = "SELECT id FROM funding_rounds WHERE name_stem LIKE newsmon_name_stem(:name) || '%'"
_COMPANY += " AND newsmon_company_matches(:name, company)"
COMPANY_SQL = f"""SELECT {_FIELDS}, v.confirmed_by FROM funding_rounds_view v
WHERE (v.round_id IN ({_COMPANY}) OR v.confirmed_by IN ({_COMPANY}))
  AND {_NOT_A_DOCUMENTING_FILING}
ORDER BY v.announced DESC, v.round_id DESC"""
_NAMED = "SELECT ri.round_id FROM round_investors ri JOIN investors i ON i.id = ri.investor_id"
_NAMED += " WHERE newsmon_investor_matches(:name, i.name)"
INVESTOR_SQL = f"""SELECT
       CASE WHEN v.round_id IN ({_NAMED} AND ri.role = 'lead') THEN 'lead' ELSE 'participant' END AS role,
       {_FIELDS} FROM funding_rounds_view v
WHERE v.round_id IN ({_NAMED}) AND {_NOT_A_DOCUMENTING_FILING}
ORDER BY v.announced DESC, v.round_id DESC"""


def datasette_metadata(database: str, tables: Iterable[str]) -> dict[str, Any]:
    """Datasette's metadata for the store served as `database` whose tables are `tables`."""
    from datasette.utils import tilde_encode  # only `newsmon serve` calls this, once Datasette is known there

    hidden = {name: {"hidden": True} for name in tables if name not in VISIBLE_TABLES}
    path = html.escape(tilde_encode(database))  # a file name with a dot or a space is Datasette's "news~2Ev2"
    links = (
        f'<form action="/{path}/articles" method="get">'
        '<input type="search" name="_search" placeholder="words, &quot;a phrase&quot;" aria-label="Search articles">'
        ' <button type="submit">Search articles</button></form>'
        f'<p>By name: <a href="/{path}/company">a company\'s rounds</a> ·'
        f' <a href="/{path}/investor">an investor\'s rounds</a> (case, accents and look-alike letters do not'
        " matter). Read-only.</p>"
    )
    return {
        "title": "newsmon: startup funding rounds from the tech press",
        "description_html": links,
        "extra_css_urls": ["/-/newsmon.css"],
        "databases": {
            database: {
                "tables": {
                    **hidden,
                    "funding_rounds_view": {
                        "title": "Funding rounds, newest first",
                        "description_html": "<p>One row per round, as <code>newsmon rounds</code> shows it. Facets: "
                        "click an investor, a round type, a currency, a status or an outlet to narrow the list.</p>"
                        + links,
                        "sort_desc": "announced",
                        "facets": [
                            {"array": "investors"},
                            {"array": "leads"},
                            "round",
                            "currency",
                            "status",
                            {"array": "outlets"},
                        ],
                        "label_column": "company",
                        "columns": ROUND_COLUMNS,
                    },
                    "articles": {
                        "title": "Articles",
                        "description": "Every stored article: canonical URL, metadata and clean text. The search box "
                        'takes words (all must appear), "a phrase", OR, NOT and prefix*.',
                        "sort_desc": "published",
                        "fts_table": "articles_fts",
                        "fts_pk": "id",
                        "searchmode": "raw",
                    },
                    "crawl_runs": {
                        "title": "Crawl runs",
                        "description": "Every crawl of every source: when, how it ended, what it found.",
                        "sort_desc": "started",
                    },
                    "sources": {"description": "The sources (seed names) articles came from."},
                },
                "queries": {
                    "company": {
                        "title": "A company's rounds",
                        "description": "Every round of a company, newest first, with the rumours that came before "
                        "it; the name as you write it (Hugging Face, hugging-face, Hügging Face).",
                        "sql": COMPANY_SQL,
                        "hide_sql": True,
                    },
                    "investor": {
                        "title": "An investor's rounds",
                        "description": "The rounds an investor led (role lead) and those it joined (participant), "
                        "newest first (aliases too: a16z is Andreessen Horowitz).",
                        "sql": INVESTOR_SQL,
                        "hide_sql": True,
                    },
                },
            }
        },
    }

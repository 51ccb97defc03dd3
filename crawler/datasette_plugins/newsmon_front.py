"""Datasette plugin for `newsmon serve`: the front page is the funding rounds view, newest first (plugin routes
come first); amounts read `$22M`, companies and investors open their pages, every source is a link; the company and
investor pages match names as `newsmon company` and `newsmon investor` do."""

from __future__ import annotations

import json
import urllib.parse

from datasette import hookimpl
from datasette.utils.asgi import Response
from markupsafe import Markup, escape

from crawler.formatting import money
from crawler.web import FRONT_HIDDEN_COLUMNS
from storage import names_match
from storage.merging import name_stem

_MONEY = {"amount", "amount_usd", "valuation"}
_INVESTOR_LISTS = {"leads", "investors"}
_EMPTY = Markup("&nbsp;")  # an empty list: Datasette would draw a falsy cell as its raw value, "[]"


@hookimpl
def register_routes(datasette):  # noqa: ANN001, ANN201 - Datasette's hook signatures
    async def front(request):  # noqa: ANN001, ANN202
        database = next((name for name in datasette.databases if name != "_internal"), None)
        if database is None:
            return Response.redirect("/-/databases")
        # as `newsmon rounds` lists them: a confirmed rumour goes with its announcement, a filing with its press round
        query = [("confirmed_by__isnull", "1"), ("filed_for__isnull", "1")]
        query += [("_nocol", name) for name in FRONT_HIDDEN_COLUMNS]
        return Response.redirect(
            f"{datasette.urls.table(database, 'funding_rounds_view')}?{urllib.parse.urlencode(query)}"
        )

    async def stylesheet(request):  # noqa: ANN001, ANN202
        return Response(STYLESHEET, content_type="text/css; charset=utf-8")

    return [(r"^/$", front), (r"^/-/newsmon\.css$", stylesheet)]


# the column descriptions in three compact columns above the table, rather than a page of their own
STYLESHEET = """
dl.column-descriptions { display: grid; grid-template-columns: repeat(3, max-content minmax(8em, 1fr));
  gap: 0.15em 0.8em; font-size: 0.8em; margin: 0.5em 0 1em; }
dl.column-descriptions dt { font-weight: bold; }
dl.column-descriptions dd { margin: 0; color: #555; }
td.col-evidence { min-width: 24em; font-size: 0.9em; }
td.col-sources { font-size: 0.85em; word-break: break-all; min-width: 16em; }
"""


@hookimpl
def prepare_connection(conn):  # noqa: ANN001, ANN201
    conn.create_function("newsmon_company_matches", 2, _matcher(investor=False), deterministic=True)
    conn.create_function("newsmon_investor_matches", 2, _matcher(investor=True), deterministic=True)
    conn.create_function("newsmon_name_stem", 1, _stem, deterministic=True)


def _stem(query: object) -> str:
    """The name stem rows of the company `query` names share ("\x00" for no name: it starts no stem)."""
    stem = name_stem(query) if isinstance(query, str) else ""
    return stem or "\x00"


def _matcher(*, investor: bool):  # noqa: ANN202
    def matches(query: object, name: object) -> int:
        return int(isinstance(query, str) and isinstance(name, str) and names_match(query, name, investor=investor))

    return matches


@hookimpl
def render_cell(row, value, column, table, database, datasette):  # noqa: ANN001, ANN201
    keys = set(row.keys())
    if "company" not in keys or "currency" not in keys:  # not a round: Datasette draws it
        return None
    if column in _MONEY and isinstance(value, int | float):
        return money(value, "USD" if column == "amount_usd" else row["currency"])
    if column == "company" and isinstance(value, str):
        return _link(datasette.urls.database(database) + "/company", value)
    if column in _INVESTOR_LISTS and (names := _json_list(value)) is not None:
        page = datasette.urls.database(database) + "/investor"
        return Markup(", ").join(_link(page, name) for name in names) or _EMPTY
    if column == "sources" and (urls := _json_list(value)) is not None:
        return (
            Markup("<br>").join(
                Markup('<a href="{0}" rel="noreferrer">{0}</a>').format(url) for url in urls if _is_web(url)
            )
            or _EMPTY
        )
    if column == "outlets" and (names := _json_list(value)) is not None:
        return ", ".join(names) or _EMPTY
    return None


def _link(page: str, name: str) -> Markup:
    return Markup('<a href="{}">{}</a>').format(f"{page}?{urllib.parse.urlencode({'name': name})}", escape(name))


def _json_list(value: object) -> list[str] | None:
    """A cell holding a JSON array of strings, as a list; None for anything else."""
    if not isinstance(value, str) or not value.startswith("["):
        return None
    try:
        found = json.loads(value)
    except ValueError:
        return None
    return [str(item) for item in found] if isinstance(found, list) else None


def _is_web(url: str) -> bool:
    """Only http(s) links are drawn: a stored `javascript:` URL never becomes a link."""
    return urllib.parse.urlsplit(url).scheme in ("http", "https")

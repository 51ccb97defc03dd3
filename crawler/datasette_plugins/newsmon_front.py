"""Datasette plugin for `newsmon serve`: the front page is the funding rounds view (plugin routes come first)."""

from __future__ import annotations

from datasette import hookimpl
from datasette.utils.asgi import Response


@hookimpl
def register_routes(datasette):  # noqa: ANN001, ANN201 - Datasette's hook signature
    async def front(request):  # noqa: ANN001, ANN202
        database = next((name for name in datasette.databases if name != "_internal"), None)
        return Response.redirect(f"/{database}/funding_rounds_view" if database else "/-/databases")

    return [(r"^/$", front)]

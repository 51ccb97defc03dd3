"""The store: SQLAlchemy models, migrations, writes (repository) and read-only queries.

Only this package creates engines and opens sessions.
"""

from storage.engine import StoreError, db_url
from storage.queries import (
    ArticleRecord,
    RoundFilters,
    RoundRecord,
    RunRecord,
    SearchHit,
    SourceHealth,
    articles_per_source,
    list_articles,
    list_rounds,
    list_runs,
    search_articles,
    source_health,
)
from storage.repository import SaveResult, Store

__all__ = [
    "ArticleRecord",
    "RoundFilters",
    "RoundRecord",
    "RunRecord",
    "SearchHit",
    "SaveResult",
    "SourceHealth",
    "Store",
    "StoreError",
    "articles_per_source",
    "db_url",
    "list_articles",
    "list_rounds",
    "list_runs",
    "search_articles",
    "source_health",
]

"""The store: SQLAlchemy models, migrations, writes (repository) and read-only queries.

Only this package creates engines and opens sessions.
"""

from storage.engine import StoreError, db_url
from storage.queries import (
    ArticleRecord,
    RoundFilters,
    RoundRecord,
    RunRecord,
    SourceHealth,
    list_articles,
    list_rounds,
    list_runs,
    source_health,
)
from storage.repository import SaveResult, Store

__all__ = [
    "ArticleRecord",
    "RoundFilters",
    "RoundRecord",
    "RunRecord",
    "SaveResult",
    "SourceHealth",
    "Store",
    "StoreError",
    "db_url",
    "list_articles",
    "list_rounds",
    "list_runs",
    "source_health",
]

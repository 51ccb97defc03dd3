"""The store: SQLAlchemy models, migrations, writes (repository) and read-only queries.

Only this package creates engines and opens sessions.
"""

from storage.engine import StoreError, db_url
from storage.queries import ArticleRecord, RoundFilters, RoundRecord, list_articles, list_rounds
from storage.repository import SaveResult, Store

__all__ = [
    "ArticleRecord",
    "RoundFilters",
    "RoundRecord",
    "SaveResult",
    "Store",
    "StoreError",
    "db_url",
    "list_articles",
    "list_rounds",
]

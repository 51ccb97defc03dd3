"""The store: SQLAlchemy models, migrations, writes (repository), crawl runs (runs) and read-only queries.

Only this package creates engines and opens sessions; the rest of newsmon uses what this module exports (and
`storage.alerts`, the alert ledger, which only crawler/alerts/ uses).
"""

from storage.engine import (
    SCHEMA_REVISION,
    StoreError,
    StoreUnavailable,
    check_readable,
    checkpoint,
    db_url,
    remove_sqlite,
    sqlite_path,
    upgrade_store,
)
from storage.profiles import CompanyRounds, InvestorRounds, company_rounds, investor_rounds, names_match
from storage.queries import (
    EVIDENCE_ORDER,
    MATCH_END,
    MATCH_START,
    ArticleRecord,
    RoundFilters,
    RoundRecord,
    SearchHit,
    SourceHealth,
    articles_per_source,
    list_articles,
    list_rounds,
    list_runs,
    main_evidence,
    round_texts,
    rounds_by_id,
    search_articles,
    source_health,
    table_names,
)
from storage.repository import SaveResult, Store
from storage.runs import RunBook, RunRecord, lock_holder

__all__ = [
    "SCHEMA_REVISION",
    "upgrade_store",
    "EVIDENCE_ORDER",
    "CompanyRounds",
    "InvestorRounds",
    "company_rounds",
    "investor_rounds",
    "names_match",
    "MATCH_END",
    "MATCH_START",
    "ArticleRecord",
    "RoundFilters",
    "RoundRecord",
    "RunBook",
    "RunRecord",
    "SaveResult",
    "SearchHit",
    "SourceHealth",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "articles_per_source",
    "check_readable",
    "checkpoint",
    "db_url",
    "list_articles",
    "list_rounds",
    "list_runs",
    "main_evidence",
    "lock_holder",
    "remove_sqlite",
    "round_texts",
    "rounds_by_id",
    "search_articles",
    "source_health",
    "table_names",
    "sqlite_path",
]

"""The store file: tables, opening and upgrading the database, and bulk writes.

Typical use::

    from seconnect.store import open_store, tables as t
    store = open_store()                  # $SECONNECT_DB or the per-user SQLite file
    with store.begin() as conn:           # one transaction; on SQLite holds the write lock
        upsert(conn, t.products, rows, ["sku"], ["name", "price"])
"""

from . import tables
from .database import ENV_DB, Store, default_db_url, open_store
from .types import Money, Quantity, ScaledDecimal, UTCDateTime, utcnow
from .upsert import allocate_ids, claim, insert_many, upsert

__all__ = [
    "ENV_DB",
    "Store",
    "default_db_url",
    "open_store",
    "tables",
    "current_revision",
    "head_revision",
    "Money",
    "Quantity",
    "ScaledDecimal",
    "UTCDateTime",
    "utcnow",
    "upsert",
    "insert_many",
    "allocate_ids",
    "claim",
]


def __getattr__(name: str):
    # Alembic-backed helpers load on first use: opening a store at the current schema needs none.
    if name in ("current_revision", "head_revision"):
        from . import migrate

        return getattr(migrate, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

"""Listings cut at a limit that still know how many rows there are in all."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, Select, func, select

__all__ = ["Page", "fetch_page"]


class Page(list):
    """The rows shown (a plain list to every caller) and ``total``: how many matched in all."""

    def __init__(self, items: Iterable[Any] = (), total: int | None = None):
        super().__init__(items)
        self.total = len(self) if total is None else total


def fetch_page(conn: Connection, query: Select, limit: int | None, offset: int = 0) -> Page:
    """At most ``limit`` rows of ``query`` (every row when None) after skipping ``offset`` (the
    dashboard's pages); the total is counted only when the page does not reach the end."""
    if offset:
        query = query.offset(offset)
    if limit is None:
        return Page(conn.execute(query).all())
    rows = conn.execute(query.limit(limit)).all()
    if len(rows) < limit:
        return Page(rows, offset + len(rows))
    total = conn.execute(select(func.count()).select_from(query.order_by(None).offset(None).subquery())).scalar_one()
    return Page(rows, total)

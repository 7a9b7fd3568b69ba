"""The sandbox cart's persistent state: one SQLite file (``sandbox.db``) per sandbox.

SQLite is the truth: replies are rendered from it and the read-back helpers the tests use
(``Sandbox.orders()``, ``qoh()``…) read it, so a test sees what the cart really holds after
an inventory push or a status update. Records are stored as JSON documents next to the few
columns that queries filter or mutate on (order status, stock). One connection guarded by a
lock serves all request threads: every statement is short, and rendered XML is cached above
this layer, so the lock is never held for long.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

SCHEMA_VERSION = "1"
_IN_CHUNK = 500  # ids per IN (...) query, well under SQLite's bound-parameter limit

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS products (
    id INTEGER PRIMARY KEY, code TEXT NOT NULL, name TEXT NOT NULL, track TEXT NOT NULL,
    stock INTEGER NOT NULL, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS combos (
    id INTEGER PRIMARY KEY, product_id INTEGER NOT NULL, sku TEXT NOT NULL,
    stock INTEGER NOT NULL, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS customers (id INTEGER PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS orders (
    id INTEGER PRIMARY KEY, date TEXT NOT NULL, status_id INTEGER NOT NULL, status TEXT NOT NULL,
    deleted INTEGER NOT NULL, doc TEXT NOT NULL);
-- covering index: order filters and paging scan it in number order without reading documents
CREATE INDEX IF NOT EXISTS orders_scan ON orders (id, deleted, status_id, date);
CREATE TABLE IF NOT EXISTS status_updates (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, order_number TEXT NOT NULL, status TEXT NOT NULL,
    refnumber TEXT NOT NULL, notes TEXT NOT NULL, tracking TEXT NOT NULL, variant TEXT NOT NULL,
    ok INTEGER NOT NULL);
-- profile-specific documents by kind (the bigcommerce profile's shipments, hooks, order changes…)
CREATE TABLE IF NOT EXISTS docs (kind TEXT NOT NULL, id INTEGER NOT NULL, doc TEXT NOT NULL,
    PRIMARY KEY (kind, id));
"""

_encode = json.JSONEncoder(separators=(",", ":"), check_circular=False).encode


class State:
    """Typed access to ``sandbox.db``; all methods are thread-safe."""

    def __init__(self, path: Path):
        self.path = path
        self.lock = threading.RLock()
        self.db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(_SCHEMA)

    def close(self) -> None:
        with self.lock:
            self.db.close()

    # ---------------------------------------------------------------- meta

    def get_meta(self, key: str) -> str | None:
        with self.lock:
            row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, **values: object) -> None:
        with self.lock:
            self.db.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                                [(k, str(v)) for k, v in values.items()])

    @property
    def populated(self) -> bool:
        return self.get_meta("schema") is not None

    # ---------------------------------------------------------------- bulk load

    def populate(self, products: list[dict], combos: list[dict], customers: list[dict],
                 order_chunks: Iterable[list[dict]], **meta: object) -> None:
        """Write a freshly generated cart in one transaction (orders arrive in chunks so a
        100,000-order cart never sits in memory whole)."""
        with self.lock:
            # a fresh file: no journal while it is filled (a crash leaves it unpopulated, and
            # the sandbox then starts it over), WAL again for serving
            self.db.execute("PRAGMA journal_mode=OFF")
            self.db.execute("PRAGMA synchronous=OFF")
            try:
                with self._transaction():
                    self._populate(products, combos, customers, order_chunks, meta)
            finally:
                self.db.execute("PRAGMA journal_mode=WAL")
                self.db.execute("PRAGMA synchronous=NORMAL")

    def _populate(self, products: list[dict], combos: list[dict], customers: list[dict],
                  order_chunks: Iterable[list[dict]], meta: dict[str, object]) -> None:
        for table in ("meta", "products", "combos", "customers", "orders", "status_updates", "docs"):
            self.db.execute(f"DELETE FROM {table}")  # leftovers of an interrupted fill
        self.db.executemany(
            "INSERT INTO products (id, code, name, track, stock, doc) VALUES (?, ?, ?, ?, ?, ?)",
            [(p["id"], p["code"], p["name"], p["track"], p["stock"], _encode(p)) for p in products])
        self.db.executemany(
            "INSERT INTO combos (id, product_id, sku, stock, doc) VALUES (?, ?, ?, ?, ?)",
            [(c["id"], c["product_id"], c["sku"], c["stock"], _encode(c)) for c in combos])
        self.db.executemany("INSERT INTO customers (id, doc) VALUES (?, ?)",
                            [(c["id"], _encode(c)) for c in customers])
        for chunk in order_chunks:
            self._insert_orders(chunk)
        self.db.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                            [("schema", SCHEMA_VERSION), *((k, str(v)) for k, v in meta.items())])

    def append_orders(self, orders: list[dict], sold: list[tuple[str, int, int]] = ()) -> None:
        """New orders, and the stock they take off (``(table, id, quantity)``), together."""
        with self.lock, self._transaction():
            self._insert_orders(orders)
            for table, row_id, qty in sold:
                self.db.execute(f"UPDATE {_table(table)} SET stock = stock - ? WHERE id = ?", (qty, row_id))

    def _insert_orders(self, orders: list[dict]) -> None:
        self.db.executemany(
            "INSERT INTO orders (id, date, status_id, status, deleted, doc) VALUES (?, ?, ?, ?, ?, ?)",
            [(o["id"], o["date"], o["status_id"], o["status"], o["deleted"], _encode(o)) for o in orders])

    def _transaction(self):
        return _Transaction(self.db)

    # ---------------------------------------------------------------- catalogue

    def products(self) -> list[dict]:
        with self.lock:
            rows = self.db.execute("SELECT doc, stock FROM products ORDER BY id").fetchall()
        return [{**json.loads(doc), "stock": stock} for doc, stock in rows]

    def combos(self) -> list[dict]:
        with self.lock:
            rows = self.db.execute("SELECT doc, stock FROM combos ORDER BY id").fetchall()
        return [{**json.loads(doc), "stock": stock} for doc, stock in rows]

    def stock(self) -> tuple[dict[int, int], dict[int, int]]:
        """Current stock of every product and every combination."""
        with self.lock:
            products = dict(self.db.execute("SELECT id, stock FROM products"))
            combos = dict(self.db.execute("SELECT id, stock FROM combos"))
        return products, combos

    def stock_of(self, product_ids: Iterable[int], combo_ids: Iterable[int]) -> tuple[dict[int, int], dict[int, int]]:
        """Current stock of the given products and combinations: a page needs only its own rows,
        and reading every row per page made paging through a big catalogue quadratic."""
        found: tuple[dict[int, int], dict[int, int]] = ({}, {})
        with self.lock:
            for table, ids, into in (("products", product_ids, found[0]), ("combos", combo_ids, found[1])):
                ids = sorted(set(ids))
                for start in range(0, len(ids), _IN_CHUNK):
                    chunk = ids[start:start + _IN_CHUNK]
                    into.update(self.db.execute(
                        f"SELECT id, stock FROM {table} WHERE id IN ({', '.join('?' * len(chunk))})", chunk))
        return found

    def update_stock(self, product_ids: Iterable[int] = (), combo_ids: Iterable[int] = (), *,
                     value: int, relative: bool = False) -> None:
        """Set (or, with ``relative``, add to) the stock of the given rows."""
        expr = "stock + ?" if relative else "?"
        with self.lock, self._transaction():
            self.db.executemany(f"UPDATE products SET stock = {expr} WHERE id = ?",
                                [(value, pid) for pid in product_ids])
            self.db.executemany(f"UPDATE combos SET stock = {expr} WHERE id = ?",
                                [(value, cid) for cid in combo_ids])

    def apply_stock(self, changes: list[tuple[str, int, int]]) -> None:
        """Several absolute stock changes, all or nothing: ``(table, id, qty)`` with table
        ``"products"`` or ``"combos"``."""
        with self.lock, self._transaction():
            for table, row_id, qty in changes:
                self.db.execute(f"UPDATE {_table(table)} SET stock = ? WHERE id = ?", (qty, row_id))

    # ---------------------------------------------------------------- orders

    def count_orders(self, where: str = "1", params: tuple = ()) -> int:
        with self.lock:
            return self.db.execute(f"SELECT COUNT(*) FROM orders WHERE {where}", params).fetchone()[0]

    def order_ids(self, where: str = "1", params: tuple = (), *, limit: int = -1, offset: int = 0) -> list[int]:
        """Matching order numbers, ascending; ``limit=-1`` means no limit (SQLite's convention)."""
        with self.lock:
            rows = self.db.execute(f"SELECT id FROM orders WHERE {where} ORDER BY id LIMIT ? OFFSET ?",
                                   (*params, limit, offset)).fetchall()
        return [r[0] for r in rows]

    def order_docs(self, ids: list[int]) -> dict[int, dict]:
        """Documents by number, with the current status columns folded in (decoded outside
        the lock, so other request threads are not held up by JSON parsing)."""
        rows = []
        with self.lock:
            for start in range(0, len(ids), 500):
                part = ids[start:start + 500]
                marks = ",".join("?" * len(part))
                rows += self.db.execute(f"SELECT id, status_id, status, doc FROM orders WHERE id IN ({marks})",
                                        part).fetchall()
        out: dict[int, dict] = {}
        for oid, status_id, status, doc in rows:
            record = json.loads(doc)
            record["status_id"], record["status"] = status_id, status
            out[oid] = record
        return out

    def iter_orders(self) -> Iterator[dict]:
        with self.lock:
            rows = self.db.execute("SELECT status_id, status, deleted, doc FROM orders ORDER BY id").fetchall()
        for status_id, status, deleted, doc in rows:
            record = json.loads(doc)
            record["status_id"], record["status"], record["deleted"] = status_id, status, deleted
            yield record

    def last_order(self) -> tuple[int, str] | None:
        with self.lock:
            row = self.db.execute("SELECT id, date FROM orders ORDER BY id DESC LIMIT 1").fetchone()
        return (row[0], row[1]) if row else None

    def set_order_status(self, order_id: int, status: str, status_id: int | None) -> bool:
        with self.lock:
            if status_id is None:
                cur = self.db.execute("UPDATE orders SET status = ? WHERE id = ?", (status, order_id))
            else:
                cur = self.db.execute("UPDATE orders SET status = ?, status_id = ? WHERE id = ?",
                                      (status, status_id, order_id))
        return cur.rowcount > 0

    def set_order_deleted(self, order_id: int, deleted: bool) -> bool:
        with self.lock:
            cur = self.db.execute("UPDATE orders SET deleted = ? WHERE id = ?", (int(deleted), order_id))
        return cur.rowcount > 0

    def order_rows(self) -> list[tuple[int, str, int, int, int | None]]:
        """(id, date, status_id, deleted, customer_id) of every order, ascending, documents unread."""
        with self.lock:
            return self.db.execute("SELECT id, date, status_id, deleted, json_extract(doc, '$.customer_id')"
                                   " FROM orders ORDER BY id").fetchall()

    def order_exists(self, order_id: int, where: str = "1") -> bool:
        with self.lock:
            return self.db.execute(f"SELECT 1 FROM orders WHERE id = ? AND {where}", (order_id,)).fetchone() \
                is not None

    # ---------------------------------------------------------------- profile documents

    def put_docs(self, kind: str, docs: dict[int, dict]) -> None:
        with self.lock, self._transaction():
            self.db.executemany("INSERT OR REPLACE INTO docs (kind, id, doc) VALUES (?, ?, ?)",
                                [(kind, i, _encode(d)) for i, d in docs.items()])

    def docs(self, kind: str) -> dict[int, dict]:
        with self.lock:
            rows = self.db.execute("SELECT id, doc FROM docs WHERE kind = ? ORDER BY id", (kind,)).fetchall()
        return {i: json.loads(d) for i, d in rows}

    def delete_doc(self, kind: str, doc_id: int) -> bool:
        with self.lock:
            return self.db.execute("DELETE FROM docs WHERE kind = ? AND id = ?", (kind, doc_id)).rowcount > 0

    # ---------------------------------------------------------------- customers

    def count_customers(self) -> int:
        with self.lock:
            return self.db.execute("SELECT COUNT(*) FROM customers").fetchone()[0]

    def customer_docs(self, *, limit: int = -1, offset: int = 0) -> list[dict]:
        with self.lock:
            rows = self.db.execute("SELECT doc FROM customers ORDER BY id LIMIT ? OFFSET ?",
                                   (limit, offset)).fetchall()
        return [json.loads(r[0]) for r in rows]

    # ---------------------------------------------------------------- status updates

    def add_status_update(self, *, order: str, status: str, refnumber: str, notes: str,
                          tracking: list[dict], variant: str, ok: bool) -> None:
        with self.lock:
            self.db.execute(
                "INSERT INTO status_updates (order_number, status, refnumber, notes, tracking, variant, ok)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (order, status, refnumber, notes, json.dumps(tracking), variant, int(ok)))

    def status_updates(self) -> list[dict]:
        with self.lock:
            rows = self.db.execute("SELECT order_number, status, refnumber, notes, tracking, variant, ok"
                                   " FROM status_updates ORDER BY seq").fetchall()
        return [{"order": o, "status": s, "refnumber": r, "notes": n, "tracking": json.loads(t),
                 "variant": v, "ok": bool(ok)} for o, s, r, n, t, v, ok in rows]

    def summary(self) -> dict[str, int]:
        with self.lock:
            count = {t: self.db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
                     for t in ("products", "combos", "customers", "orders", "status_updates")}
        return count


def _table(name: str) -> str:
    if name not in ("products", "combos"):
        raise ValueError(f"not a stock table: {name}")
    return name


class _Transaction:
    """BEGIN/COMMIT around a block (the connection runs in autocommit mode otherwise)."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type, exc, tb) -> None:
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")

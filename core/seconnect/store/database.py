"""Opening the store: URL handling, SQLite setup, connectivity check and automatic upgrade."""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import platformdirs
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError
from tenacity import Retrying, retry_if_exception, stop_after_delay, wait_fixed

from ..errors import StoreError
from .tables import SCHEMA_REVISION, VERSION_TABLE
from .types import json_text

__all__ = ["ENV_DB", "Store", "default_db_url", "make_engine", "open_store", "masked_url"]

ENV_DB = "SECONNECT_DB"

#: How long a SQLite connection waits for another process's write lock before failing.
SQLITE_BUSY_TIMEOUT_S = 30
#: How long PostgreSQL may take to accept a connection before we call it unreachable.
PG_CONNECT_TIMEOUT_S = 10

_HINT = f"check --db / {ENV_DB}; is the database server running and reachable?"


def default_db_url() -> str:
    """``$SECONNECT_DB``, else a SQLite file in the platform's per-user data directory."""
    env = os.environ.get(ENV_DB, "").strip()
    if env:
        return env
    return f"sqlite:///{platformdirs.user_data_path('seconnect') / 'seconnect.db'}"


def as_db_url(value: str) -> str:
    """A SQLAlchemy URL as given; a plain file path (no ``scheme://``) as the SQLite file there."""
    if "://" in value:
        return value
    return f"sqlite:///{Path(value).expanduser().absolute()}"


class Store:
    """An open store database.

    Use :meth:`begin` for anything that writes: on SQLite it takes the write lock up front
    (``BEGIN IMMEDIATE``), so two writers queue on the busy timeout instead of one failing
    half-way with "database is locked". :meth:`connect` gives a plain connection (SQLAlchemy's
    autobegin) for reads.
    """

    def __init__(self, engine: Engine, url: str):
        self.engine = engine
        #: The URL with any password masked, for messages and logs.
        self.url = url

    @property
    def dialect_name(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A connection inside a transaction: committed on success, rolled back on error.

        A write refused because the store is read-only (a read-only file, or a read-only
        PostgreSQL session) is a :class:`StoreError` saying so; reads work as usual.
        """
        try:
            with self.engine.connect() as conn:
                conn.execution_options(seconnect_write_lock=True)
                with conn.begin():
                    yield conn
        except DBAPIError as exc:
            if not _read_only(exc):
                raise
            path = self.engine.url.database if self.dialect_name == "sqlite" else None
            fix = f"make it writable (`chmod u+w {path}`; its folder too)" if path else "use a writable role"
            raise StoreError(f"{f'the store file {path}' if path else f'the store {self.url}'} is read-only: "
                             "nothing was changed.",
                             hint=f"Commands that only read still work. To change something, {fix}, or point "
                                  f"--db / {ENV_DB} at a writable copy.") from None

    def connect(self) -> Connection:
        return self.engine.connect()

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self.url!r})"


def open_store(url: str | None = None) -> Store:
    """Open (creating if needed) and upgrade the store at ``url`` (default: :func:`default_db_url`).

    Every failure to reach or prepare the database is a :class:`StoreError` naming the URL with
    its password masked.
    """
    raw = as_db_url(url or default_db_url())
    try:
        sa_url = _normalise(make_url(raw))
    except ArgumentError:
        raise StoreError(f"not a database URL: {_mask_unparsed(raw)}",
                         hint="use e.g. sqlite:///path/to/store.db or postgresql://user@host/dbname") from None
    shown = sa_url.render_as_string(hide_password=True)

    sqlite = sa_url.get_backend_name() == "sqlite"
    default_hint = f"check that --db / {ENV_DB} points at a seconnect store file" if sqlite else _HINT

    def fail(what: str, exc: BaseException, hint: str = default_hint) -> StoreError:
        detail = first_line(exc)
        if sa_url.password:
            detail = detail.replace(str(sa_url.password), "***")
        return StoreError(f"{what} {shown}: {detail}", hint=hint)

    if sqlite:
        try:
            sa_url = _prepare_sqlite_file(sa_url)
        except OSError as exc:
            raise fail("cannot create the store file", exc,
                       hint=f"check --db / {ENV_DB} and the permissions of the directory") from None
    try:
        engine = _create_engine(sa_url)
    except (NoSuchModuleError, ImportError, ArgumentError) as exc:
        raise fail("no database driver for", exc,
                   hint="install the driver for this kind of database (pip install ...), or check the URL"
                   ) from None
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except (SQLAlchemyError, OSError) as exc:
        engine.dispose()
        raise fail("cannot open the store", exc) from None
    if _revision(engine) != SCHEMA_REVISION:
        from .migrate import upgrade  # Alembic loads only when there is something to do

        try:
            upgrade(engine, shown)
        except BaseException:
            engine.dispose()
            raise
    return Store(engine, shown)


def _revision(engine: Engine) -> str | None:
    """The store's schema revision read with plain SQL (None for a new or foreign database)."""
    try:
        with engine.connect() as conn:
            return conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()
    except SQLAlchemyError:
        return None


def first_line(exc: BaseException) -> str:
    """The driver's own message (not SQLAlchemy's wrapper with SQL and links), first line only."""
    orig = getattr(exc, "orig", None)
    message = str(orig if orig is not None else exc).strip()
    return message.splitlines()[0] if message else type(exc).__name__


def make_engine(url: str) -> Engine:
    """The engine :func:`open_store` would use, without checking or upgrading anything.

    For tools and tests that must see a database as it is (e.g. before a migration).
    """
    sa_url = _normalise(make_url(url))
    if sa_url.get_backend_name() == "sqlite":
        sa_url = _prepare_sqlite_file(sa_url)
    return _create_engine(sa_url)


def _normalise(url: URL) -> URL:
    # psycopg 3 is the driver we ship; SQLAlchemy's bare "postgresql" would look for psycopg2.
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    return url


def masked_url(raw: str) -> str:
    """``raw`` as it may be shown: any password in it replaced by ``***``."""
    try:
        return _normalise(make_url(raw)).render_as_string(hide_password=True)
    except ArgumentError:
        return _mask_unparsed(raw)


def _mask_unparsed(raw: str) -> str:
    return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", raw)


def _is_sqlite_file(url: URL) -> bool:
    database = url.database or ""
    memory = database in ("", ":memory:") or url.query.get("mode") == "memory"
    return not memory and "uri" not in url.query


def _prepare_sqlite_file(url: URL) -> URL:
    """Create the file (0600: it holds customers' addresses) before SQLite does (0644)."""
    if not _is_sqlite_file(url):
        return url
    path = Path(url.database or "").expanduser()
    if not path.exists():  # an existing file is left as it is: it may be read-only on purpose
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        except FileExistsError:  # another process created it meanwhile
            pass
    return url.set(database=str(path))


def _create_engine(url: URL) -> Engine:
    backend = url.get_backend_name()
    if backend == "sqlite":
        engine = create_engine(url, json_serializer=json_text, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})
        _configure_sqlite(engine, wal=_is_sqlite_file(url))
        return engine
    connect_args: dict[str, Any] = {}
    if backend == "postgresql" and url.get_driver_name() == "psycopg":
        connect_args.setdefault("connect_timeout", PG_CONNECT_TIMEOUT_S)
        connect_args.setdefault("application_name", "seconnect")
        for key in list(connect_args):
            if key in url.query:
                del connect_args[key]
    # pre_ping: long-running workers survive a database restart.
    return create_engine(url, pool_pre_ping=True, json_serializer=json_text, connect_args=connect_args)


def _read_only(exc: DBAPIError) -> bool:
    orig = exc.orig
    return (getattr(orig, "sqlite_errorname", "").startswith("SQLITE_READONLY")
            or getattr(orig, "sqlstate", None) == "25006")  # PostgreSQL: read_only_sql_transaction


def _locked(exc: BaseException) -> bool:
    return isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc)


def _configure_sqlite(engine: Engine, *, wal: bool) -> None:
    """Per-connection pragmas, and our own BEGIN so DDL and SELECTs are really transactional."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Stop the sqlite3 module from managing transactions (it skips BEGIN before DDL).
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_S * 1000}")
            if wal and cursor.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                # Readers never block the writer and vice versa; persistent in the file. Switching
                # needs the file to itself and SQLite answers "locked" at once, without its busy
                # handler, while another process is switching too: retry for the busy timeout.
                for attempt in Retrying(retry=retry_if_exception(_locked), wait=wait_fixed(0.05),
                                        stop=stop_after_delay(SQLITE_BUSY_TIMEOUT_S), reraise=True):
                    with attempt:
                        cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA foreign_keys = ON")
            # Safe with WAL (a power cut may lose the last commits, never corrupts).
            cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get("seconnect_write_lock", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

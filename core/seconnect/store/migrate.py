"""Schema upgrades, run automatically and safely each time a store is opened.

Safety comes from doing the whole upgrade inside one transaction that also holds a lock:
- PostgreSQL: ``pg_advisory_xact_lock`` serialises workers on several machines that open the
  same database for the first time; DDL is transactional, so a failing migration rolls back;
- SQLite: ``BEGIN IMMEDIATE`` takes the write lock before the version is read, and SQLite DDL is
  transactional too (the driver's own transaction handling is switched off, see ``database``).

A store whose revision this seconnect does not know was written by a newer seconnect: it is
refused rather than touched.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from alembic.util import CommandError
from sqlalchemy import Connection, Engine, func, select

from ..errors import StoreError
from .database import first_line
from .tables import VERSION_TABLE

__all__ = ["MIGRATIONS", "VERSION_TABLE", "head_revision", "current_revision", "upgrade"]

#: The Alembic environment shipped inside the package.
MIGRATIONS = Path(__file__).resolve().parent / "migrations"

#: Key of the PostgreSQL advisory lock held while upgrading (any constant unique to seconnect).
_UPGRADE_LOCK_KEY = 0x5EC0_4E37_0001

_UPGRADE_HINT = "upgrade seconnect (pip install -U seconnect), or point --db / SECONNECT_DB at another store"


def _script(script_location: Path | None) -> ScriptDirectory:
    return ScriptDirectory.from_config(_config(None, script_location))


def _config(connection: Connection | None, script_location: Path | None) -> Config:
    cfg = Config()
    # ConfigParser interpolation treats '%' specially.
    cfg.set_main_option("script_location", str(script_location or MIGRATIONS).replace("%", "%%"))
    cfg.attributes["connection"] = connection
    return cfg


def head_revision(script_location: Path | None = None) -> str:
    """The newest schema revision this seconnect knows."""
    head = _script(script_location).get_current_head()
    assert head is not None, "no migrations found"
    return head


def current_revision(conn: Connection) -> str | None:
    """The revision the database is at, or ``None`` for an empty database."""
    context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
    return context.get_current_revision()


def _check_known(script: ScriptDirectory, revision: str | None, shown_url: str) -> None:
    if revision is None:
        return
    try:
        script.get_revision(revision)
    except (CommandError, RevisionError):
        raise StoreError(
            f"the store {shown_url} has schema revision {revision}, which this seconnect does not know:"
            " it was written by a newer seconnect",
            hint=_UPGRADE_HINT,
        ) from None


def upgrade(engine: Engine, shown_url: str, script_location: Path | None = None) -> bool:
    """Bring the schema to the newest revision; return whether anything was run.

    ``shown_url`` is the password-masked URL used in messages. ``script_location`` exists for
    tests that need extra or broken revisions.
    """
    script = _script(script_location)
    head = script.get_current_head()
    with engine.connect() as conn:
        current = current_revision(conn)
        conn.rollback()
    if current == head:
        return False
    _check_known(script, current, shown_url)

    with engine.connect() as conn:
        conn.execution_options(seconnect_write_lock=True)
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            # Batch migrations rebuild a table (copy, drop, rename). With foreign keys on, the
            # drop would cascade-delete every child row. The pragma only works outside a
            # transaction, hence the driver connection.
            conn.connection.driver_connection.execute("PRAGMA foreign_keys = OFF")
        try:
            with conn.begin():
                if conn.dialect.name == "postgresql":
                    conn.execute(select(func.pg_advisory_xact_lock(_UPGRADE_LOCK_KEY)))
                # Re-read under the lock: another process may have upgraded meanwhile.
                current = current_revision(conn)
                if current == head:
                    return False
                _check_known(script, current, shown_url)
                command.upgrade(_config(conn, script_location), "head")
                if sqlite:
                    _check_foreign_keys(conn)
        except StoreError:
            raise
        except Exception as exc:
            raise StoreError(
                f"could not upgrade the schema of {shown_url} from {current or 'empty'} to {head}: "
                f"{first_line(exc)}",
                hint="nothing was changed: the upgrade ran in one transaction and was rolled back."
                " Report this with the message above.",
            ) from exc
        finally:
            if sqlite:
                _restore_foreign_keys(conn)
    return True


def _restore_foreign_keys(conn: Connection) -> None:
    driver = conn.connection.driver_connection
    driver.execute("PRAGMA foreign_keys = ON")
    if driver.execute("PRAGMA foreign_keys").fetchone()[0] != 1:
        conn.invalidate()  # never hand a connection without foreign keys back to the pool


def _check_foreign_keys(conn: Connection) -> None:
    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
    if broken:
        table, rowid, parent, _ = broken[0]
        raise RuntimeError(f"the migration left {len(broken)} broken references "
                           f"(first: {table} row {rowid} -> {parent})")

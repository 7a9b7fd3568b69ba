"""Opening a store: URLs, SQLite file setup, connectivity errors, transactions."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest
from sqlalchemy import insert, inspect, select
from sqlalchemy.engine import make_url

from seconnect.errors import StoreError
from seconnect.store import default_db_url, open_store
from seconnect.store import tables as t
from seconnect.store.database import ENV_DB


def test_default_db_url_prefers_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_DB, "postgresql://somewhere/db")
    assert default_db_url() == "postgresql://somewhere/db"


def test_default_db_url_is_a_sqlite_file_in_the_user_data_dir(monkeypatch: pytest.MonkeyPatch,
                                                               seconnect_home: Path) -> None:
    monkeypatch.delenv(ENV_DB)
    url = make_url(default_db_url())
    assert url.get_backend_name() == "sqlite"
    assert Path(url.database).is_relative_to(seconnect_home / "data")
    assert Path(url.database).name == "seconnect.db"


def test_open_store_without_url_uses_the_env(seconnect_home: Path) -> None:
    with open_store() as store:
        assert store.url == f"sqlite:///{seconnect_home / 'seconnect.db'}"
    assert (seconnect_home / "seconnect.db").exists()


def test_fresh_database_gets_every_table(db_url: str) -> None:
    with open_store(db_url) as store:
        names = set(inspect(store.engine).get_table_names())
    assert set(t.metadata.tables) <= names


def test_sqlite_file_is_private_and_tuned(tmp_path: Path) -> None:
    path = tmp_path / "deeper" / "dir" / "store.db"
    with open_store(f"sqlite:///{path}") as store:
        with store.connect() as conn:
            pragmas = {name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                       for name in ("journal_mode", "foreign_keys", "synchronous", "busy_timeout")}
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        wal = path.with_name(path.name + "-wal")
        if wal.exists():
            assert stat.S_IMODE(os.stat(wal).st_mode) == 0o600
    assert pragmas == {"journal_mode": "wal", "foreign_keys": 1, "synchronous": 1, "busy_timeout": 30000}


def test_existing_sqlite_file_keeps_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    path.touch(mode=0o640)
    os.chmod(path, 0o640)
    open_store(f"sqlite:///{path}").close()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640


def test_memory_sqlite_works(seconnect_home: Path) -> None:
    with open_store("sqlite://") as store, store.begin() as conn:
        conn.execute(insert(t.carts).values(name="A", name_key="a", type="generic", settings={"script_url": "x"}))
        assert conn.scalar(select(t.carts.c.name)) == "A"


@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
def test_plain_postgres_schemes_use_psycopg(pg_url: str, scheme: str) -> None:
    url = make_url(pg_url).set(drivername=scheme).render_as_string(hide_password=False)
    with open_store(url) as store:
        assert store.dialect_name == "postgresql"
        assert store.engine.dialect.driver == "psycopg"
        assert store.url.startswith("postgresql+psycopg://")


def test_unreachable_server_names_url_but_not_password() -> None:
    with pytest.raises(StoreError) as caught:
        open_store("postgresql://merchant:s3cr3t-pw@127.0.0.1:1/orders")
    text = str(caught.value)
    assert "s3cr3t-pw" not in text
    assert "postgresql+psycopg://merchant:***@127.0.0.1:1/orders" in text
    assert "SECONNECT_DB" in caught.value.hint


def test_missing_driver_is_a_store_error() -> None:
    with pytest.raises(StoreError) as caught:
        open_store("nosuchdb+nodriver://u:pw-secret@host/db")
    assert "pw-secret" not in str(caught.value)
    assert "***" in str(caught.value)


def test_garbage_url_is_a_store_error() -> None:
    # (without "://" it is a plain file path, see test_global_options)
    with pytest.raises(StoreError, match="not a database URL"):
        open_store("this is not://a url")


def test_unparsable_url_masks_password() -> None:
    with pytest.raises(StoreError) as caught:
        open_store("bad url://user:hunter2@host/db")
    assert "hunter2" not in str(caught.value)


def test_uncreatable_sqlite_path_is_a_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(StoreError, match="cannot create the store file"):
        open_store(f"sqlite:///{blocker}/store.db")


def test_a_file_that_is_not_a_store(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("shopping list: " * 100)
    with pytest.raises(StoreError, match="not a database") as caught:
        open_store(f"sqlite:///{path}")
    assert "store file" in caught.value.hint


def test_begin_commits_and_rolls_back(store) -> None:
    with store.begin() as conn:
        conn.execute(insert(t.carts).values(name="Kept", name_key="kept", type="generic", settings={"script_url": "x"}))
    with pytest.raises(RuntimeError), store.begin() as conn:
        conn.execute(insert(t.carts).values(name="Lost", name_key="lost", type="generic", settings={"script_url": "x"}))
        raise RuntimeError("abort")
    with store.connect() as conn:
        assert conn.scalars(select(t.carts.c.name)).all() == ["Kept"]


def test_concurrent_read_then_write_transactions_queue_instead_of_failing(store) -> None:
    """Store.begin() takes SQLite's write lock up front; a deferred BEGIN would fail here with
    "database is locked" when two transactions that read first both try to write."""
    with store.begin() as conn:
        cart = conn.execute(insert(t.carts).values(name="C", name_key="c", type="generic",
                                                   settings={"script_url": "x"})).inserted_primary_key[0]
        conn.execute(insert(t.checkpoints).values(cart_id=cart, job="count", value="0"))
    counter = t.checkpoints.c.value

    def bump(times: int) -> None:
        for _ in range(times):
            with store.begin() as conn:
                value = int(conn.scalar(select(counter).with_for_update()))
                conn.execute(t.checkpoints.update().values(value=str(value + 1)))

    workers = [threading.Thread(target=bump, args=(25,)) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    with store.connect() as conn:
        assert conn.scalar(select(counter)) == "100"

"""The throwaway PostgreSQL harness itself."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from seconnect.testing import postgres


def test_finds_server_binaries() -> None:
    bindir = postgres.find_pg_bin()
    assert (bindir / "initdb").is_file() and (bindir / "pg_ctl").is_file()


def test_missing_binaries_say_how_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(postgres, "SERVER_ROOTS", (str(tmp_path),))
    monkeypatch.setattr(postgres.shutil, "which", lambda name: None)
    monkeypatch.delenv("SECONNECT_PG_BIN", raising=False)
    with pytest.raises(postgres.PostgresNotAvailable, match="apt-get install postgresql"):
        postgres.find_pg_bin()


def test_fixture_server_listens_on_loopback(postgres_server: str) -> None:
    url = make_url(postgres_server)
    with psycopg.connect(host=url.host, port=url.port, user=url.username, dbname=url.database) as conn:
        assert conn.execute("SHOW listen_addresses").fetchone()[0] in ("127.0.0.1", "localhost")


@pytest.mark.slow
@pytest.mark.postgres
def test_throwaway_cluster_is_removed_on_exit() -> None:
    with postgres.throwaway_postgres("other") as url:
        parsed = make_url(url)
        assert parsed.database == "other" and parsed.host == "127.0.0.1"
        with psycopg.connect(host=parsed.host, port=parsed.port, user="postgres", dbname="other") as conn:
            data_dir = conn.execute("SHOW data_directory").fetchone()[0]
            assert conn.execute("SHOW fsync").fetchone()[0] == "off"
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(host=parsed.host, port=parsed.port, user="postgres", dbname="other", connect_timeout=2)
    assert not Path(data_dir).exists()


def test_create_and_drop_database(postgres_server: str) -> None:
    url = postgres.create_database(postgres_server, "harness_probe")
    assert make_url(url).database == "harness_probe"
    postgres.drop_database(postgres_server, "harness_probe")
    postgres.drop_database(postgres_server, "harness_probe")  # dropping twice is fine

"""A store made by the first release (schema 0001) opens with this one and keeps working.

The fixture (tests/store/fixtures/release-0001, made by ``make_release_store.py`` with that release)
holds both SETI cart types, orders, customers, products with sub-SKUs, parameters, pending outbox
rows and encrypted passwords. The same sandboxes are started again (fixed seeds and passwords), the
carts are pointed at them, and every cart must test, import incrementally and deliver what waited.
"""

from __future__ import annotations

import json
import runpy
import shutil
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from seconnect.cli import build_cli
from seconnect.sandbox import Sandbox

FIXTURE = Path(__file__).parent / "fixtures" / "release-0001"


def _load_fixture(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        shutil.copy(FIXTURE / "store.db", tmp_path / "store.db")
        return f"sqlite:///{tmp_path / 'store.db'}"
    url = request.getfixturevalue("pg_url")
    # pg_dump's own psql meta-commands (\restrict …) are not SQL.
    dump = "\n".join(line for line in (FIXTURE / "store.pg.sql").read_text().splitlines()
                     if not line.startswith("\\"))
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.execute(dump)
    return url


def _rows(db_url: str, sql: str) -> list:
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text(sql)).all()
    engine.dispose()
    return rows


def _query(db_url: str, sql: str, json_column: str) -> dict:
    """name -> the decoded JSON column (SQLite hands it back as text, PostgreSQL decoded)."""
    return {r[0]: json.loads(r[1]) if isinstance(r[1], str) else r[1] for r in _rows(db_url, sql)}


def _outbox(db_url: str) -> dict[int, str]:
    return dict(_rows(db_url, "SELECT id, state FROM outbox"))


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_release_0001_store_tests_imports_and_delivers(backend, tmp_path, monkeypatch, request):
    release = runpy.run_path(str(FIXTURE.parent / "make_release_store.py"))
    shutil.copy(FIXTURE / "secret.key", tmp_path / "secret.key")
    (tmp_path / "secret.key").chmod(0o600)
    monkeypatch.setenv("SECONNECT_KEY_FILE", str(tmp_path / "secret.key"))
    db_url = _load_fixture(backend, tmp_path, request)
    monkeypatch.setenv("SECONNECT_DB", db_url)
    waiting = _outbox(db_url)
    before = {r.name: r for r in _rows(db_url, "SELECT name, user_name, password_enc, store_code, script_url FROM carts")}
    assert len(before) == 2 and all(r.password_enc.startswith("gAAAA") for r in before.values())
    assert set(waiting.values()) == {"pending"} and len(waiting) == 55
    runner = CliRunner()

    def seconnect(*args: str) -> str:
        result = runner.invoke(build_cli(), list(args), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    # The SETI columns moved into the settings document; the password token moved as it was.
    for profile, spec in release["SANDBOXES"].items():
        shown = json.loads(seconnect("carts", "show", spec["name"], "--json"))
        old = before[spec["name"]]
        assert shown["type"] == spec["type"]
        assert shown["settings"] == {"user": old.user_name, "password": "********", "store_code": old.store_code,
                                     "script_url": old.script_url}
        assert shown["setting_labels"]["user"] == ("Cart ID/User Name" if profile == "interspire" else "User Name")
        assert spec["password"] not in json.dumps(shown)
    assert _query(db_url, "SELECT name, secrets FROM carts", json_column="secrets") == {
        name: {"password": old.password_enc} for name, old in before.items()}

    sandboxes = {}
    try:
        for profile, spec in release["SANDBOXES"].items():
            sb = Sandbox(profile, seed=spec["seed"], password=spec["password"], state_dir=tmp_path / profile,
                         **release["SIZES"]).start()
            sandboxes[profile] = sb
            seconnect("carts", "edit", spec["name"], "--script-url", sb.script_url, "--ca-bundle", sb.ca_file)
            assert "Test passed: Script version:" in seconnect("carts", "test", spec["name"], "--check-credentials")
            added = sb.add_orders(3)
            summary = json.loads(seconnect("run", "import-orders", "--cart", spec["name"], "--json"))
            summary = summary[0] if isinstance(summary, list) else summary
            assert summary["new"] == 3, summary
            numbers = json.loads(seconnect("orders", "list", "--cart", spec["name"], "--json"))
            assert set(added) <= {str(o["number"]) for o in numbers}

        seconnect("run", "realtime", "--once")
        after = _outbox(db_url)
        assert {after[i] for i in waiting} == {"sent"}
        assert set(after.values()) == {"sent"}  # and the sales the new orders queued went out too
        shipped = [u for u in sandboxes["generic"].status_updates() if u["status"] == "Shipped"]
        assert len(shipped) == 1, shipped
    finally:
        for sb in sandboxes.values():
            sb.stop()


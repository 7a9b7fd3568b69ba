"""`seconnect demo` keeps to its own temporary store and key unless --db is typed (and confirmed)."""

from __future__ import annotations

import json
import re
import sqlite3
import tempfile
from contextlib import closing
from pathlib import Path

import pytest
from cli_helpers import PASSWORD, add, dump_db
from click.testing import CliRunner

from seconnect.cli import build_cli

DEMO = ["demo", "--profile", "generic", "--orders", "5"]


def _run(*args: str, input: str | None = None):
    return CliRunner().invoke(build_cli(), list(args), input=input, catch_exceptions=False)


@pytest.fixture
def real_store(sqlite_url, monkeypatch: pytest.MonkeyPatch) -> str:
    """A merchant's store named by SECONNECT_DB, with one real cart under the real key."""
    monkeypatch.setenv("SECONNECT_DB", sqlite_url)
    assert add(lambda *a, **kw: _run("--db", sqlite_url, *a, **kw)).exit_code == 0
    return sqlite_url


def test_demo_ignores_seconnect_db_and_the_key_file(real_store, seconnect_home: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the demo's own folder, cleaned up with the test
    key = seconnect_home / "secret.key"
    before, key_before = dump_db(real_store), key.read_bytes()
    result = _run(*DEMO)
    assert result.exit_code == 0, result.output
    assert "SECONNECT_DB is set; the demo leaves that store alone" in result.output
    assert dump_db(real_store) == before
    assert key.read_bytes() == key_before
    assert "Demo SETI shop" not in dump_db(real_store)
    [own] = tmp_path.glob("seconnect-demo-*")
    assert (own / "demo.db").exists() and (own / "secret.key").exists()


def test_demo_with_db_refuses_without_a_terminal_or_yes(real_store):
    before = dump_db(real_store)
    result = _run("--db", real_store, *DEMO)
    assert result.exit_code == 2, result.output
    assert "not without a confirmation" in result.output and "--yes" in result.output
    assert "Traceback" not in result.output
    assert dump_db(real_store) == before


def test_demo_with_db_and_yes_leaves_its_carts_inactive_under_the_real_key(real_store):
    def seconnect(*args: str):
        return _run("--db", real_store, *args)

    result = _run("--db", real_store, *DEMO, "--yes")
    assert result.exit_code == 0, result.output
    assert "The demo will add its sandbox carts" in result.output
    assert "left inactive" in result.output
    listed = {c["name"]: c["active"] for c in json.loads(seconnect("carts", "list", "--json").output)}
    assert listed == {"Harbor": True, "Demo SETI shop": False}
    # every stored password opens with the store's own key: nothing under a throw-away key
    shown = json.loads(seconnect("carts", "show", "Demo SETI shop", "--json").output)
    assert shown["settings"]["password"] == "********"
    assert PASSWORD not in result.output


def test_demo_runs_a_bigcommerce_rest_cart(tmp_path: Path):
    result = _run("demo", "--profile", "bigcommerce", "--orders", "5", "--keep", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "Cart 'Demo BigCommerce REST': type BigCommerce" in result.output
    assert "Test passed: Version: BigCommerce REST API, store " in result.output
    imported = int(re.search(r"== import-orders\n(\d+) orders \(\1 new", result.output).group(1))
    assert "The store took 5 new orders" in result.output
    # status and both tracking numbers reached the REST store: the status and two shipments
    assert re.search(r"the cart received: status Shipped, shipment 1Z999AA10123456784, "
                     r"shipment 1Z999AA10123456785\n", result.output)
    with closing(sqlite3.connect(tmp_path / "demo.db")) as db:
        (stored,) = db.execute("SELECT count(*) FROM orders JOIN carts ON carts.id = orders.cart_id "
                               "WHERE carts.type = 'BigCommerce'").fetchone()
    assert imported > 0 and stored == imported + 5

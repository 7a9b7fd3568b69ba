"""A cart whose password cannot be decrypted: repairable, and alone in its failure; one key per store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from cli_helpers import add, dump_db
from cryptography.fernet import Fernet

from seconnect.sandbox import Sandbox
from seconnect.store import open_store, tables


def _under_another_key(db_url: str, name: str) -> None:
    """What the demo did to a real store: a password encrypted with a throw-away key."""
    token = Fernet(Fernet.generate_key()).encrypt(b"demo-password").decode()
    with open_store(db_url) as store, store.begin() as conn:
        conn.execute(sa.update(tables.carts).where(tables.carts.c.name == name).values(secrets={"password": token}))


def _show(seconnect, name: str) -> dict:
    result = seconnect("carts", "show", name, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_an_undecryptable_cart_can_be_shown_repaired_deactivated_and_removed(seconnect, db_url):
    for name in ("Harbor", "Demo", "Scratch"):
        assert add(seconnect, name).exit_code == 0
    _under_another_key(db_url, "Demo")
    _under_another_key(db_url, "Scratch")

    shown = _show(seconnect, "Demo")
    assert shown["settings"]["password"].startswith("(unusable: cannot decrypt the stored password of cart 'Demo'")

    inactive = seconnect("carts", "edit", "Demo", "--inactive")
    assert inactive.exit_code == 0, inactive.output
    assert _show(seconnect, "Demo")["active"] is False

    fixed = seconnect("carts", "edit", "Demo", "--password-stdin", input="a-new-password\n")
    assert fixed.exit_code == 0, fixed.output
    assert _show(seconnect, "Demo")["settings"]["password"] == "********"

    removed = seconnect("carts", "remove", "Scratch", "--yes")
    assert removed.exit_code == 0, removed.output
    assert [c["name"] for c in json.loads(seconnect("carts", "list", "--json").output)] == ["Demo", "Harbor"]


def test_a_missing_key_is_not_replaced_silently(seconnect, db_url, seconnect_home: Path):
    assert add(seconnect, "Harbor").exit_code == 0
    key = seconnect_home / "secret.key"
    key.unlink()
    before = dump_db(db_url)

    refused = add(seconnect, "Second")
    assert refused.exit_code == 2, refused.output
    assert f"the key file {key} is missing, and the store holds 1 other cart password encrypted with it" in refused.output
    assert "forget-passwords" in refused.output and "Traceback" not in refused.output
    assert not key.exists() and dump_db(db_url) == before

    # starting afresh on purpose
    forgot = seconnect("carts", "forget-passwords", "--yes")
    assert forgot.exit_code == 0, forgot.output
    assert "Harbor" in forgot.output
    assert add(seconnect, "Second").exit_code == 0
    assert "no stored password" in _show(seconnect, "Harbor")["settings"]["password"]
    assert seconnect("carts", "edit", "Harbor", "--password-stdin", input="again\n").exit_code == 0
    assert _show(seconnect, "Harbor")["settings"]["password"] == "********"


def test_a_different_key_is_refused_too(seconnect, db_url, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    assert add(seconnect, "Harbor").exit_code == 0
    other = tmp_path / "other.key"
    other.write_bytes(Fernet.generate_key())
    other.chmod(0o600)
    monkeypatch.setenv("SECONNECT_KEY_FILE", str(other))
    refused = add(seconnect, "Second")
    assert refused.exit_code == 2, refused.output
    assert f"the key file {other} opens none of the store's 1 other cart password;" in refused.output
    assert "forget-passwords" in refused.output


@pytest.fixture
def gen_small(tmp_path):
    with Sandbox("generic", orders=4, products=3, customers=3, seed=1, state_dir=tmp_path / "cart") as sb:
        yield sb


def test_one_bad_cart_fails_alone_in_an_all_run(seconnect, db_url, gen_small):
    sb = gen_small
    for name in ("Alpha", "Bad", "Zulu"):
        result = add(seconnect, name, "--ca-bundle", sb.ca_file, password=sb.password, type_="Generic",
                     url=sb.script_url)
        assert result.exit_code == 0, result.output
    _under_another_key(db_url, "Bad")

    result = seconnect("run", "import-orders", "--all")
    assert result.exit_code == 6, result.output
    assert "Alpha: 4 orders (4 new" in result.output and "Zulu: 4 orders (4 new" in result.output
    assert "Bad: failed: cannot decrypt the stored password of cart 'Bad'" in result.output
    assert "seconnect carts edit Bad --password-stdin" in result.output
    assert "1 of 3 carts failed (Bad); 2 done." in result.output

    as_json = json.loads(seconnect("run", "import-orders", "--all", "--json").stdout)
    assert [r.get("error", "")[:30] for r in as_json] == ["", "cannot decrypt the stored pass", ""]

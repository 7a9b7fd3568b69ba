"""Secrets never appear in output, logs, exceptions or stored audit rows.

One run does what a merchant does — add carts, test them, import everything, fail on a wrong
password, a dead cart and a broken record — with debug logging on, then scans every line it
produced and every text column of the store for the cart passwords and the encryption key.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import stat

import sqlalchemy as sa
from click.testing import CliRunner

from seconnect import secrets
from seconnect.cli import build_cli
from seconnect.sandbox import Sandbox

PASSWORDS = ["S3cret-Tide-Pool-42", "an0ther-Secret'Value\\"]  # Interspire refuses quotes (6.2-4)


def _all_text_in_db(db_url: str) -> str:
    engine = sa.create_engine(db_url)
    chunks = []
    with engine.connect() as conn:
        for table in sa.inspect(conn).get_table_names():
            for row in conn.execute(sa.text(f'SELECT * FROM "{table}"')):
                chunks.append(repr(tuple(row)))
    engine.dispose()
    return "\n".join(chunks)


def test_no_secret_anywhere(tmp_path, caplog, monkeypatch):
    db = tmp_path / "store.db"
    db_url = f"sqlite:///{db}"
    key_file = tmp_path / "keys" / "secret.key"
    monkeypatch.setenv("SECONNECT_KEY_FILE", str(key_file))
    caplog.set_level(logging.DEBUG)
    runner = CliRunner()
    outputs: list[str] = []

    def cli(*args: str, input: str | None = None) -> int:
        result = runner.invoke(build_cli(), ["--db", db_url, "-vv", *args], input=input)
        outputs.append(result.output)
        if result.exception and not isinstance(result.exception, SystemExit):
            outputs.append(repr(result.exception) + str(result.exception))
        return result.exit_code

    with Sandbox("interspire", orders=30, products=10, customers=10, seed=5, password=PASSWORDS[0],
                 state_dir=tmp_path / "a") as isc, \
            Sandbox("generic", orders=30, products=10, customers=10, seed=6, password=PASSWORDS[1],
                    state_dir=tmp_path / "b") as gen:
        for name, sb, type_ in (("ISC", isc, "Interspire"), ("GEN", gen, "Generic")):
            assert cli("carts", "add", name, "--type", type_, "--user", sb.user, "--script-url", sb.script_url,
                       "--ca-bundle", sb.ca_file, "--password-stdin", input=sb.password + "\n") == 0
            assert cli("carts", "test", name, "--check-credentials") == 0
            assert cli("run", "import-products", "--cart", name) == 0
            assert cli("run", "import-customers", "--cart", name) == 0
            assert cli("run", "import-orders", "--cart", name, "--json") == 0
            cli("carts", "show", name, "--json")
            cli("params", "list", "--cart", name, "--json")
        # failures: wrong password (the cart echoes nothing secret, but our texts must not either)
        assert cli("carts", "add", "WRONG", "--type", "Generic", "--user", gen.user, "--script-url", gen.script_url,
                   "--ca-bundle", gen.ca_file, "--password-stdin", input=PASSWORDS[0] + "x\n") == 0
        assert cli("carts", "test", "WRONG", "--check-credentials") != 0
        assert cli("run", "import-orders", "--cart", "WRONG") != 0
        gen.set_faults("500*20")
        assert cli("run", "import-orders", "--cart", "GEN") == 12  # retries used up: a failure to scan too
        gen.set_faults(None)
        assert cli("doctor") == 7  # the WRONG cart's credentials are a problem; every cart is called
        cli("doctor", "--json")
        cli("runs", "--json")
        cli("runs")
    # the carts are gone now: failures to reach them
    assert cli("carts", "test", "ISC") != 0

    key = key_file.read_bytes().strip()
    raw_key = base64.urlsafe_b64decode(key)
    needles = [p for p in PASSWORDS] + [PASSWORDS[0] + "x", key.decode()]
    haystacks = {
        "cli output": "\n".join(outputs),
        "log records": "\n".join(r.getMessage() + repr(r.args) + (r.exc_text or "") for r in caplog.records),
        "store rows": _all_text_in_db(db_url),
        "store file bytes": db.read_bytes().decode("latin-1"),
    }
    for where, text in haystacks.items():
        for needle in needles:
            assert needle not in text, f"a secret appears in {where}"
        assert raw_key.decode("latin-1") not in text
    assert "S3cret" not in haystacks["store file bytes"]
    # files holding secrets are private
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(db).st_mode) == 0o600
    # and the stored password really is ciphertext that decrypts with the key
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT secrets FROM carts WHERE name='ISC'")).scalar_one()
    engine.dispose()
    assert secrets.decrypt(json.loads(stored)["password"]).reveal() == PASSWORDS[0]

"""Files a merchant points seconnect at: trusted certificates (SSL_CERT_FILE, --ca-bundle), the key
file's mode, and a read-only store file — each unusable one named, with what to do."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import add, dump_db

from seconnect.sandbox import Sandbox


@pytest.fixture
def sb(tmp_path: Path):
    with Sandbox("generic", orders=2, products=2, customers=2, seed=1, state_dir=tmp_path / "cart") as sandbox:
        yield sandbox


def _add(seconnect, sb, *extra: str):
    result = add(seconnect, "Shop", *extra, password=sb.password, type_="Generic", url=sb.script_url)
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("content", [None, "not a certificate\n"], ids=["missing", "not-pem"])
def test_an_unusable_ssl_cert_file_is_a_certificate_problem(seconnect, sb, tmp_path: Path, content):
    _add(seconnect, sb)
    cert_file = tmp_path / "trust.pem"
    if content is not None:
        cert_file.write_text(content)
    result = seconnect("carts", "test", "Shop", env={"SSL_CERT_FILE": str(cert_file)})
    assert result.exit_code == 11, result.output
    assert f"SSL_CERT_FILE='{cert_file}' cannot be used" in result.output
    assert "Point SSL_CERT_FILE at a readable PEM file" in result.output
    assert "bug in the plugin" not in result.output and "Traceback" not in result.output


def test_ssl_cert_file_is_still_honoured(seconnect, sb):
    _add(seconnect, sb)
    result = seconnect("carts", "test", "Shop", env={"SSL_CERT_FILE": sb.ca_file})
    assert result.exit_code == 0, result.output


def test_a_ca_bundle_is_checked_when_the_cart_is_added_or_edited(seconnect, db_url, sb, tmp_path: Path):
    junk, empty = tmp_path / "junk.pem", tmp_path / "empty.pem"
    junk.write_text("-----BEGIN PRIVATE KEY-----\nnot a certificate\n-----END PRIVATE KEY-----\n")
    empty.write_text("")
    assert seconnect("carts", "list").exit_code == 0
    before = dump_db(db_url)
    for bad, reason in ((junk, "is not a PEM certificate file"), (empty, "is not a PEM certificate file"),
                        (tmp_path / "nope.pem", "does not exist")):
        result = add(seconnect, "Shop", "--ca-bundle", str(bad))
        assert result.exit_code == 2, result.output
        assert f"the CA bundle '{bad}' cannot be used: " in result.output and reason in result.output
        assert "-----BEGIN CERTIFICATE-----" in result.output and "Traceback" not in result.output
    assert dump_db(db_url) == before

    _add(seconnect, sb, "--ca-bundle", sb.ca_file)
    before = dump_db(db_url)
    edited = seconnect("carts", "edit", "Shop", "--ca-bundle", str(junk))
    assert edited.exit_code == 2 and "is not a PEM certificate file" in edited.output
    assert dump_db(db_url) == before
    assert seconnect("carts", "test", "Shop").exit_code == 0


def _cli(*args: str, env: dict[str, str], stdin: str = "", without_root_powers: bool = False):
    """The real CLI in its own process; as root, without the power to ignore file modes."""
    prefix: list[str] = []
    if without_root_powers and os.geteuid() == 0:
        if not shutil.which("setpriv"):
            pytest.skip("running as root without setpriv: file modes cannot be enforced")
        prefix = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]
    return subprocess.run([*prefix, sys.executable, "-m", "seconnect", *args], input=stdin, capture_output=True,
                          text=True, env={**os.environ, **env}, timeout=120)


def test_a_key_file_others_can_read_is_used_with_a_warning(sqlite_url, seconnect_home: Path):
    key = seconnect_home / "secret.key"
    args = ("--db", sqlite_url, "carts", "add", "Shop", "--type", "Generic", "--user", "u",
            "--script-url", "shop.example.com/seti.php", "--password-stdin")
    first = _cli(*args, env={}, stdin="pw\n")
    assert first.returncode == 0 and "can be read by other users" not in first.stderr
    key.chmod(0o644)
    shown = _cli("--db", sqlite_url, "carts", "show", "Shop", env={})
    assert shown.returncode == 0, shown.stderr
    assert f"the key file {key} can be read by other users (mode 0644)" in shown.stderr
    assert f"chmod 600 {key}" in shown.stderr


def test_a_read_only_store_file_serves_reads_and_says_why_writes_fail(sqlite_url, tmp_path: Path):
    env = {"SECONNECT_DB": sqlite_url}
    made = _cli("carts", "add", "Shop", "--type", "Generic", "--user", "u", "--script-url",
                "shop.example.com/seti.php", "--password-stdin", env=env, stdin="pw\n")
    assert made.returncode == 0, made.stderr
    path = Path(sqlite_url.removeprefix("sqlite:///"))
    path.chmod(0o444)
    before = path.read_bytes()

    for reader in (["carts", "list"], ["carts", "show", "Shop"], ["orders", "list"], ["params", "list"]):
        result = _cli(*reader, env=env, without_root_powers=True)
        assert result.returncode == 0, (reader, result.stderr)
    assert "Shop" in _cli("carts", "list", env=env, without_root_powers=True).stdout

    for writer in (["carts", "edit", "Shop", "--inactive"], ["params", "set", "SynchQOH", "TRUE"]):
        result = _cli(*writer, env=env, without_root_powers=True)
        assert result.returncode == 3, (writer, result.stderr)
        assert f"the store file {path} is read-only: nothing was changed." in result.stderr
        assert f"chmod u+w {path}" in result.stderr and "Traceback" not in result.stderr
    assert path.read_bytes() == before


def test_a_read_only_postgresql_session_says_so_too(pg_url):
    from click.testing import CliRunner

    from seconnect.cli import build_cli

    runner = CliRunner()
    made = runner.invoke(build_cli(), ["--db", pg_url, "carts", "add", "Shop", "--type", "Generic", "--user", "u",
                                       "--script-url", "shop.example.com/seti.php", "--password-stdin"], input="pw\n")
    assert made.exit_code == 0, made.output
    read_only = pg_url + ("&" if "?" in pg_url else "?") + "options=-c%20default_transaction_read_only%3Don"
    listed = runner.invoke(build_cli(), ["--db", read_only, "carts", "list"])
    assert listed.exit_code == 0 and "Shop" in listed.output, listed.output
    refused = runner.invoke(build_cli(), ["--db", read_only, "carts", "edit", "Shop", "--inactive"])
    assert refused.exit_code == 3, refused.output
    assert "is read-only: nothing was changed." in refused.output and "Traceback" not in refused.output

"""`seconnect carts test` (Test Script URL) over real HTTPS against the sandbox cart."""

from __future__ import annotations

import socket

import pytest
from cli_helpers import add

from seconnect.sandbox import Sandbox


@pytest.fixture(params=["interspire", "generic"])
def sb(request, tmp_path):
    with Sandbox(request.param, orders=5, products=3, customers=3, seed=1, state_dir=tmp_path / "cart") as sandbox:
        yield sandbox


def _add(seconnect, sb, name="Shop", url=None, ca=True, password=None):
    extra = ["--ca-bundle", sb.ca_file] if ca else []
    type_ = "Interspire" if sb.profile.name == "interspire" else "Generic"
    result = add(seconnect, name, *extra, password=password or sb.password, type_=type_,
                 url=url or sb.script_url)
    assert result.exit_code == 0, result.output


def test_hook_test_script_passes_with_the_scripts_version(seconnect, sb):
    _add(seconnect, sb)
    result = seconnect("carts", "test", "Shop")
    assert result.exit_code == 0, result.output
    # Interspire echoes the omversion seconnect sends; the generic script reports its own.
    version = "6.000" if sb.profile.name == "interspire" else "1.000"
    assert f"Test passed: Script version: {version}" in result.output
    assert "does not validate the user name and password" in result.output
    checked = seconnect("carts", "test", "Shop", "--check-credentials")
    assert checked.exit_code == 0 and "were accepted" in checked.output


def test_wrong_password_passes_reachability_but_fails_credentials(seconnect, sb):
    _add(seconnect, sb, password="not-the-password")
    assert seconnect("carts", "test", "Shop").exit_code == 0
    result = seconnect("carts", "test", "Shop", "--check-credentials")
    assert result.exit_code == 15, result.output
    assert "Test failed:" in result.output and "not-the-password" not in result.output


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_each_failure_names_its_cause_and_fix(seconnect, sb, tmp_path):
    host = sb.script_url.split("/")[0]
    cases = {
        "NotFound": (dict(url=f"{host}/wrong/path.php"), 12, ["404", "Script URL matches the one on the cart's Stone Edge settings page",
                                                              "web host to verify the secure URL"]),
        "NoCA": (dict(ca=False), 11, ["could not be verified", "--ca-bundle"]),
        "Refused": (dict(url=f"127.0.0.1:{_free_port()}/x.php"), 10, ["refused the connection"]),
        "NoDNS": (dict(url="no-such-store.invalid/x.php"), 10, ["cannot resolve the host name"]),
    }
    for name, (kwargs, code, texts) in cases.items():
        _add(seconnect, sb, name=name, **kwargs)
        result = seconnect("carts", "test", name)
        assert result.exit_code == code, (name, result.output)
        for text in texts:
            assert text in result.output, (name, result.output)
        assert "Test failed:" in result.output and "Traceback" not in result.output


def test_server_faults_are_reported(seconnect, sb):
    _add(seconnect, sb)
    sb.set_faults("500*1")
    result = seconnect("carts", "test", "Shop")
    assert result.exit_code == 12 and "500" in result.output
    sb.set_faults("reset*1")
    result = seconnect("carts", "test", "Shop")
    assert result.exit_code == 10, result.output
    sb.set_faults("truncate*1")
    result = seconnect("carts", "test", "Shop")
    assert result.exit_code in (10, 13), result.output
    sb.set_faults(None)
    assert seconnect("carts", "test", "Shop").exit_code == 0


def test_slow_reply_times_out(seconnect, sb):
    _add(seconnect, sb)
    assert seconnect("params", "set", "RequestTimeout", "1", "--cart", "Shop").exit_code == 0
    sb.set_faults("slow*1")
    result = seconnect("carts", "test", "Shop")
    assert result.exit_code == 10, result.output
    assert "timed out" in result.output or "timeout" in result.output.lower()


def test_non_seti_reply_shows_the_first_bytes(seconnect, tmp_path):
    # The real gateway answers an unknown accounting module with an empty 200 page.
    with Sandbox("interspire", orders=2, products=2, customers=2, seed=1, state_dir=tmp_path / "c") as sb:
        url = sb.script_url.replace("accounting=stoneedge", "accounting=quickbooks")
        _add(seconnect, sb, url=url)
        result = seconnect("carts", "test", "Shop")
        assert result.exit_code == 13, result.output
        assert "Test failed:" in result.output

"""``seconnect sandbox``: option errors through click, and a real foreground run stopped by Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import ssl
import subprocess
import sys
import time

import httpx
import pytest
from click.testing import CliRunner

from seconnect.cli.sandbox import command as sandbox

LAUNCH = "from seconnect.cli.sandbox import command; command(prog_name='seconnect sandbox')"


@pytest.mark.parametrize("args, message", [
    (["--profile", "shopify"], "Invalid value for '--profile'"),
    (["--bug", "no_such=on"], "unknown bug switch 'no_such'"),
    (["--bug", "money_thousands=maybe"], "expected NAME=on or NAME=off"),
    (["--profile", "generic", "--bug", "money_thousands=off"], "only in the interspire profile"),
    (["--faults", "500:7"], "bad fault rate"),
    (["--port", "70000"], "--port"),
    (["--orders", "-3"], "--orders"),
    (["--orders", "5", "--products", "0"], "at least one product"),
])
def test_bad_options_are_click_errors(args, message):
    result = CliRunner().invoke(sandbox, args)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_help_lists_the_knobs():
    result = CliRunner().invoke(sandbox, ["--help"])
    assert result.exit_code == 0
    for option in ("--profile", "--host", "--port", "--seed", "--orders", "--products", "--customers",
                   "--latency-ms", "--faults", "--bug", "--state"):
        assert option in result.output


def test_port_in_use_is_a_clear_error(isc):
    result = CliRunner().invoke(sandbox, ["--port", str(isc.sb.port), "--orders", "1"])
    assert result.exit_code == 1
    assert f"cannot listen on 127.0.0.1:{isc.sb.port}" in result.output


def _read_until(proc: subprocess.Popen, marker: str, timeout: float = 30) -> str:
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        if marker in line:
            return "".join(seen)
    raise AssertionError("sandbox did not announce itself:\n" + "".join(seen))


def test_serves_until_ctrl_c(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-c", LAUNCH, "--orders", "5", "--profile", "interspire", "--bug", "count_casing=off",
         "--state", str(tmp_path / "cart")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        banner = _read_until(proc, "Press Ctrl-C")
        script_url = re.search(r"Script URL:\s+(\S+)", banner).group(1)
        password = re.search(r"Password:\s+(\S+)", banner).group(1)
        ca_file = re.search(r"CA cert:\s+(\S+)", banner).group(1)
        assert script_url.startswith("127.0.0.1:") and "accountinggateway.php?action=process" in script_url
        assert f"--ca-bundle {ca_file}" in banner and "seconnect carts add" in banner
        assert "count_casing" in banner
        reply = httpx.post(f"https://{script_url}", verify=ssl.create_default_context(cafile=ca_file), data={"setifunction": "ordercount", "setiuser": "seom.sync", "password": password, "lastorder": "All"})
        assert reply.text.startswith("SETIResponse: ordercount=")
        assert "ordercount 200" in proc.stdout.readline()  # the per-request log line
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "Sandbox stopped." in out
    assert "Traceback" not in err
    assert (tmp_path / "cart" / "sandbox.db").exists()


def test_bigcommerce_profile_serves_the_rest_api(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-c", LAUNCH, "--orders", "5", "--profile", "bigcommerce", "--quota", "7",
         "--state", str(tmp_path / "store")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        banner = _read_until(proc, "Press Ctrl-C")
        api_base = re.search(r"API base:\s+(\S+)", banner).group(1)
        store_hash = re.search(r"Store hash:\s+(\S+)", banner).group(1)
        token = re.search(r"Access token:\s+(\S+)", banner).group(1)
        ca_file = re.search(r"CA cert:\s+(\S+)", banner).group(1)
        assert re.search(r"Client secret:\s+\S+", banner)
        assert f"--type BigCommerce --set store_hash={store_hash} --set api_base={api_base}" in banner
        reply = httpx.get(f"https://{api_base}/stores/{store_hash}/v2/orders/count",
                          headers={"X-Auth-Token": token}, verify=ssl.create_default_context(cafile=ca_file))
        assert reply.status_code == 200 and reply.headers["x-rate-limit-requests-quota"] == "7"
        assert f"GET /stores/{store_hash}/v2/orders/count 200" in proc.stdout.readline()
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "Sandbox stopped." in out and "Traceback" not in err

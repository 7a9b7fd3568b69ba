"""`seconnect serve`: one process with the scheduler, the outbox worker and the HTTP side;
loopback unless told why not; one instance per SQLite store; SIGTERM finishes the job in hand."""

from __future__ import annotations

import socket
import ssl
import time

import httpx
import pytest
import trustme
from ops.helpers import add_cart, cli, cli_json

from seconnect.service import Service, schedules
from seconnect.testing.service import live

from .helpers import Served


def test_sigterm_lets_the_running_job_finish_and_exits_0(store, plugins, gen, db_url):
    cart = add_cart(store, plugins, gen)
    with store.begin() as conn:
        schedules.add(conn, plugins, cart, "import-orders", every_s=3600)  # due at once
    gen.set_latency(700)  # each cart call takes 0.7 s: the import is still running when we stop
    served = Served(db_url)
    try:
        health = served.wait_healthy()
        assert health["scheduler"] == health["worker"] == "alive"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            running = [r for r in cli_json(db_url, "runs", "--job", "import-orders")[1]["runs"]
                       if r["status"] == "running"]
            if running:
                break
            time.sleep(0.1)
        assert running, "the scheduled import never started"
        code, err = served.stop()
    finally:
        served.kill()
    assert code == 0, err
    assert "stopped" in err and "Traceback" not in err
    runs = cli_json(db_url, "runs", "--job", "import-orders")[1]["runs"]
    assert [(r["status"], r["counts"].get("new")) for r in runs] == [("ok", 12)]  # finished, not abandoned
    assert cli_json(db_url, "schedule", "list")[1][0]["running_on"] is None  # released


def test_a_second_instance_on_one_sqlite_store_refuses_clearly(store, db_url):
    if not db_url.startswith("sqlite"):
        pytest.skip("several instances share a PostgreSQL store (test_scale_out)")
    first = Served(db_url)
    try:
        first.wait_healthy()
        second = Served(db_url)
        _, err = second.proc.communicate(timeout=60)
        assert second.proc.returncode == 3
        assert "another `seconnect serve` is running on this SQLite store" in err and "PostgreSQL" in err
        assert "Traceback" not in err
        assert first.stop()[0] == 0
    finally:
        first.kill()


@pytest.mark.parametrize("args, says", [
    (["--host", "0.0.0.0"], "--insecure-bind-reason TEXT"),
    (["--host", "192.0.2.7", "--insecure-bind-reason", "  "], "refusing to serve 192.0.2.7 over plain HTTP"),
    (["--host", "0.0.0.0", "--tls-cert", "__file__"], "both --tls-cert and --tls-key"),
])
def test_serve_refuses_the_network_without_tls_or_a_reason(db_url, args, says):
    args = [__file__ if a == "__file__" else a for a in args]
    result = cli(db_url, "serve", "--port", "1", *args)
    assert result.exit_code == 2 and says in result.stderr and "Traceback" not in result.output


def test_healthz_says_503_when_the_threads_do_not_run(store, plugins):
    service = Service(store, plugins)
    with live(service, start=False) as url:
        answer = httpx.get(f"{url}/healthz")
    assert answer.status_code == 503
    assert answer.json()["scheduler"] == "stopped" and answer.json()["store"] == "ok"
    with live(service) as url:
        answer = httpx.get(f"{url}/healthz")
        assert (answer.status_code, answer.json()["status"]) == (200, "ok")
    assert service.stop.is_set()  # the lifespan's end stopped the threads


def test_a_port_in_use_is_a_clear_error(store, db_url):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = cli(db_url, "serve", "--port", str(taken.getsockname()[1]))
    assert result.exit_code == 2 and "could not listen on 127.0.0.1" in result.stderr and "--port" in result.stderr


def test_serve_with_tls_answers_over_verified_https(store, db_url, tmp_path):
    if not db_url.startswith("sqlite"):
        pytest.skip("the backend does not matter here")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    cert.private_key_pem.write_to_path(tmp_path / "key.pem")
    cert.cert_chain_pems[0].write_to_path(tmp_path / "cert.pem")
    ca.cert_pem.write_to_path(tmp_path / "ca.pem")
    served = Served(db_url, "--host", "127.0.0.1", "--tls-cert", str(tmp_path / "cert.pem"),
                    "--tls-key", str(tmp_path / "key.pem"), verify=ssl.create_default_context(cafile=str(tmp_path / "ca.pem")))
    try:
        assert served.wait_healthy()["status"] == "ok"
        assert served.url.startswith("https://")
        with pytest.raises(httpx.ConnectError):  # an untrusted client is refused by TLS, not let in
            httpx.get(f"{served.url}/healthz")
        assert served.stop()[0] == 0
    finally:
        served.kill()

"""`seconnect serve` — the always-on service: schedules, the outbox worker, webhooks, health, metrics.

Binds 127.0.0.1 by default. Another address serves the network, so it needs TLS (``--tls-cert``
and ``--tls-key``) or ``--insecure-bind-reason TEXT`` saying why plain HTTP is acceptable there
(e.g. a TLS-terminating proxy in front); the reason is logged at start. SIGTERM or Ctrl-C stops
claiming work, lets the jobs and the outbox batch in hand finish, and exits 0. See docs/service.md.
"""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import logging
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import click

from ..errors import UsageError
from . import App, pass_app

__all__ = ["command"]

log = logging.getLogger(__name__)


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(host: str, tls_cert: Path | None, tls_key: Path | None, reason: str | None) -> None:
    """Refuse to serve the network over plain HTTP unless the merchant said why it is safe."""
    if (tls_cert is None) != (tls_key is None):
        raise UsageError("give both --tls-cert and --tls-key (the certificate and its private key), or neither.")
    if _loopback(host) or tls_cert is not None:
        return
    if not (reason or "").strip():
        raise UsageError(
            f"refusing to serve {host} over plain HTTP: anyone on that network could read and forge the traffic.",
            hint="Give --tls-cert FILE --tls-key FILE, keep the default --host 127.0.0.1 behind a TLS proxy, or "
                 "say why plain HTTP is safe there with --insecure-bind-reason TEXT.")


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True, help="Port to listen on.")
@click.option("--tls-cert", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Serve HTTPS with this certificate (PEM; with --tls-key).")
@click.option("--tls-key", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The certificate's private key (PEM).")
@click.option("--insecure-bind-reason", metavar="TEXT",
              help="Serve a non-loopback --host over plain HTTP anyway, saying why that is safe (logged).")
@click.option("--lease", type=click.FloatRange(1, 86400), default=None, metavar="SECONDS",
              help="How long a killed instance's schedules and outbox rows wait before another instance takes "
                   "them over (default 60).")
@click.option("--workers", type=click.IntRange(1, 64), default=4, show_default=True,
              help="Jobs this instance runs at once (several carts).")
@pass_app
def command(app: App, host, port, tls_cert, tls_key, insecure_bind_reason, lease, workers) -> None:
    """Run the service until stopped: schedules, the outbox worker, webhooks, /healthz and /metrics.

    One instance per SQLite store; on PostgreSQL run as many as you like (they share the work).
    """
    import uvicorn

    from ..service import Service, build_app
    from ..service.scheduler import LEASE_S

    check_bind(host, tls_cert, tls_key, insecure_bind_reason)
    if insecure_bind_reason and not _loopback(host) and tls_cert is None:
        log.warning("serving %s over plain HTTP: %s", host, insecure_bind_reason.strip())
    service = Service(app.store, app.plugins, lease_s=lease or LEASE_S, workers=workers)
    service.acquire()  # before binding: a second SQLite instance says so, not "address in use"
    config = uvicorn.Config(build_app(service, https_only=tls_cert is not None), host=host, port=port, log_config=None, access_log=False,
                            ssl_certfile=str(tls_cert) if tls_cert else None,
                            ssl_keyfile=str(tls_key) if tls_key else None, timeout_graceful_shutdown=30)
    server = uvicorn.Server(config)
    # Our own SIGTERM/SIGINT handling: uvicorn's re-raises the signal after its graceful
    # shutdown, which would end the process by the signal instead of exit 0.
    server.capture_signals = functools.partial(_graceful_stop, server)
    click.echo(f"seconnect serve: starting on {'https' if tls_cert else 'http'}://{host}:{port} "
               f"(instance {service.owner}); SIGTERM or Ctrl-C stops after the work in hand.", err=True)
    try:
        server.run()
    except SystemExit:  # uvicorn could not bind (it logged why)
        if server.started:
            raise
        raise UsageError(f"could not listen on {host}:{port}.",
                         hint="Is another program using that port? Choose another with --port.") from None
    click.echo("seconnect serve: stopped.", err=True)


@contextlib.contextmanager
def _graceful_stop(server) -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():  # signals are the main thread's
        yield
        return

    def on_signal(signum, _frame) -> None:
        click.echo("seconnect serve: stopping after the work in hand… (again to abort)", err=True)
        server.should_exit = True
        signal.signal(signum, signal.SIG_DFL)

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)

"""The service's app on a real loopback port inside this process, for tests and benchmarks."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["free_port", "live", "bearer"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def live(service: Any, *, start: bool = True, tls: tuple[str, str] | None = None) -> Iterator[str]:
    """The service's app on a real loopback port in this process (uvicorn in a thread); its URL.
    With ``start=False`` the app runs without its lifespan: the scheduler and worker never start.
    ``tls`` = (certificate file, key file) serves HTTPS, as carts' webhooks need."""
    import uvicorn

    from seconnect.service import build_app

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(build_app(service), host="127.0.0.1", port=port, log_config=None,
                                           lifespan="on" if start else "off",
                                           ssl_certfile=tls and tls[0], ssl_keyfile=tls and tls[1]))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the app did not start"
        time.sleep(0.02)
    try:
        yield f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(60)


def bearer(store: Any) -> dict[str, str]:
    """An ``Authorization`` header that opens ``/api/`` and ``/metrics``: a fresh API token of a
    user made for the purpose (``seconnect users add`` + ``users token`` in one call)."""
    import secrets

    from seconnect import users

    name = f"probe-{secrets.token_hex(4)}"
    with store.begin() as conn:
        users.add_user(conn, name, secrets.token_urlsafe(16))
        return {"Authorization": f"Bearer {users.new_token(conn, name, 'tests')}"}

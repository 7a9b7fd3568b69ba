"""`seconnect serve` as a real subprocess on a free loopback port, for the service tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Served:
    """One `seconnect serve` process: its URL, and waiting for it to answer or to end."""

    def __init__(self, db_url: str, *args: str, port: int | None = None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "seconnect", "--db", db_url, "serve", "--port", str(self.port), *args],
            text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=os.environ.copy())

    def wait_healthy(self, timeout: float = 30.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"serve exited {self.proc.returncode}: {self.proc.stderr.read()}")
            try:
                answer = httpx.get(f"{self.url}/healthz", timeout=2)
                if answer.status_code == 200:
                    return answer.json()
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError("serve did not become healthy")

    def stop(self, timeout: float = 60.0) -> tuple[int, str]:
        """SIGTERM, then its exit code and stderr."""
        self.proc.terminate()
        _, err = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, err

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.communicate(timeout=30)


@contextmanager
def live(service, *, start: bool = True) -> Iterator[str]:
    """The service's app on a real loopback port in this process (uvicorn in a thread); its URL.
    With ``start=False`` the app runs without its lifespan: the scheduler and worker never start."""
    import uvicorn

    from seconnect.service import build_app

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(build_app(service), host="127.0.0.1", port=port, log_config=None,
                                           lifespan="on" if start else "off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the app did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(60)

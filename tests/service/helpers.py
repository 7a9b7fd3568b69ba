"""`seconnect serve` as a real subprocess on a free loopback port, for the service tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import Any

import httpx

from seconnect.testing.service import free_port


class Served:
    """One `seconnect serve` process: its URL, and waiting for it to answer or to end."""

    def __init__(self, db_url: str, *args: str, port: int | None = None, verify: Any = True):
        self.port = port or free_port()
        self.url = f"{'https' if '--tls-cert' in args else 'http'}://127.0.0.1:{self.port}"
        self.verify = verify
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "seconnect", "--db", db_url, "serve", "--port", str(self.port), *args],
            text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=os.environ.copy())

    def wait_healthy(self, timeout: float = 30.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"serve exited {self.proc.returncode}: {self.proc.stderr.read()}")
            try:
                answer = httpx.get(f"{self.url}/healthz", timeout=2, verify=self.verify)
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


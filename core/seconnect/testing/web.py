"""The dashboard for tests and the screenshot script: served on 127.0.0.1 in a background thread,
and Debian's headless Chromium driven by Selenium.

``serve(app)`` runs uvicorn on a free loopback port and yields the base URL; ``chromium(dir)``
starts Chromium with a fresh profile in ``dir`` and every flag that keeps it off the network
(no sync, updates, QUIC or background fetches), and yields the Selenium driver.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["serve", "chromium", "CHROMIUM", "CHROMEDRIVER"]

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
          "--disable-background-networking", "--disable-component-update", "--disable-sync",
          "--disable-dev-shm-usage")


@contextmanager
def serve(app: Any, *, timeout: float = 30) -> Iterator[str]:
    """``app`` served by uvicorn on 127.0.0.1 (a free port) until the block ends; yields its URL."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, name="dashboard", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the dashboard did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout)


@contextmanager
def chromium(profile_dir: Path, *, width: int = 1280, height: int = 900) -> Iterator[Any]:
    """Headless Chromium (Debian's) with a fresh profile in ``profile_dir``; yields the driver."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*_FLAGS, f"--user-data-dir={profile_dir}", f"--window-size={width},{height}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()

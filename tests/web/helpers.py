"""Helpers for the dashboard tests: the test user, logging in, reading a page's CSRF token."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import httpx

from seconnect.plugins import Plugins
from seconnect.store import Store

USER, PASSWORD = "alice", "correct horse battery"


@dataclass
class Served:
    url: str
    store: Store
    plugins: Plugins
    app: Any


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "no CSRF field on the page"
    return match.group(1)


def log_in(client: httpx.Client, name: str = USER, password: str = PASSWORD) -> httpx.Response:
    page = client.get("/login")
    return client.post("/login", data={"name": name, "password": password, "csrf": csrf_of(page.text), "next": "/"})

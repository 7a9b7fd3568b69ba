"""Helpers for the operations tests: a cart on a sandbox, and the real CLI in-process or as a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from click.testing import CliRunner

from seconnect import carts
from seconnect.cartdef import CartDefinition
from seconnect.cli import build_cli
from seconnect.plugins import Plugins
from seconnect.sandbox import Sandbox
from seconnect.store import Store


def add_cart(store: Store, plugins: Plugins, sb: Sandbox, name: str = "Shop") -> CartDefinition:
    with store.begin() as conn:
        carts.add_cart(conn, plugins, name=name, user=sb.user, password=sb.password, script_url=sb.script_url,
                       ca_bundle=sb.ca_file, cart_type="Interspire" if sb.profile.name == "interspire" else "Generic")
        return carts.get_cart(conn, name)


def cli(db_url: str, *args: str):
    """The CLI in-process (``stdout`` and ``stderr`` apart, ``output`` both)."""
    return CliRunner().invoke(build_cli(), ["--db", db_url, *args], catch_exceptions=False)


def cli_json(db_url: str, *args: str):
    result = cli(db_url, *args, "--json")
    return result, json.loads(result.stdout)


def spawn(db_url: str, *args: str) -> subprocess.Popen:
    """The CLI as a real subprocess (for kill -9 and terminal-less output)."""
    return subprocess.Popen([sys.executable, "-m", "seconnect", "--db", db_url, *args], text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=os.environ.copy())

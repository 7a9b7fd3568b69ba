"""Core's own commands, registered through the same ``register_commands`` hook plugins use."""

from __future__ import annotations

import importlib

from ..hookspecs import hookimpl

# One module per noun; each exports a click command or group named after its module.
_NOUNS = ("carts", "params", "plugins_cmd", "run", "orders", "customers", "products", "quarantine", "sandbox", "demo")


@hookimpl
def register_commands(cli) -> None:
    for noun in _NOUNS:
        module = importlib.import_module(f"{__package__}.{noun}")
        cli.add_command(module.command)

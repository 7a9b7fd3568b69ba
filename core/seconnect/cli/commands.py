"""Core's own commands, registered through the same ``register_commands`` hook plugins use."""

from __future__ import annotations

import importlib

from ..hookspecs import hookimpl

# One module per noun; each exports a click command or group named ``command``.
_NOUNS = ("carts", "params", "plugins_cmd", "run", "orders", "customers", "products", "inventory", "outbox",
          "quarantine", "runs", "schedule", "serve", "users", "doctor", "sandbox", "demo", "completion")
# Modules adding jobs to `seconnect run`; each exports a list ``commands``.
_RUN_JOBS = ("run_inventory",)


def _module(name: str):
    return importlib.import_module(f"{__package__}.{name}")


@hookimpl
def register_commands(cli) -> None:
    for noun in _NOUNS:
        cli.add_command(_module(noun).command)
    run = cli.commands["run"]
    for name in _RUN_JOBS:
        for job in _module(name).commands:
            run.add_command(job)

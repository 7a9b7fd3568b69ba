"""`seconnect plugins …` — list, install and uninstall cart plugins (pip, this environment)."""

from __future__ import annotations

import subprocess
import sys

import click

from ..errors import PluginError, UsageError
from ..plugins import DISABLE_ENV, plugin_distribution
from . import App, emit, json_option, pass_app, table


@click.group("plugins")
def command() -> None:
    """Installed cart plugins."""


@command.command("list")
@json_option
@pass_app
def list_(app: App, as_json) -> None:
    """Plugins with their version, cart types and hooks; broken ones are listed too."""
    data = {
        "plugins": app.plugins.describe(),
        "broken": [{"name": b.name, "distribution": b.distribution, "error": b.error} for b in app.plugins.broken],
        "disabled": app.plugins.disabled,
    }

    def text(d: dict) -> str:
        out = [table([[p["name"], f"{p['distribution']} {p['version']}".strip(), ", ".join(p["cart_types"]) or "-",
                       ", ".join(p["hooks"])] for p in d["plugins"]],
                     ["NAME", "DISTRIBUTION", "CART TYPES", "HOOKS"])]
        out += [f"broken: {b['name']} ({b['distribution']}): {b['error']}" for b in d["broken"]]
        if d["disabled"]:
            out.append(f"disabled by {DISABLE_ENV}: {', '.join(d['disabled'])}")
        return "\n".join(out)

    emit(data, as_json, text)


def _pip(*args: str) -> None:
    result = subprocess.run([sys.executable, "-m", "pip", *args], check=False)
    if result.returncode != 0:
        raise PluginError(f"pip {args[0]} failed (exit {result.returncode}); see its output above.")


@command.command("install")
@click.argument("spec")
@click.option("--upgrade", "-U", is_flag=True, help="Upgrade if already installed.")
@click.option("--editable", "-e", is_flag=True, help="Install a local folder in editable mode.")
def install(spec, upgrade, editable) -> None:
    """Install a cart plugin (a pip requirement or a local folder) into seconnect's environment."""
    args = ["install", *(["--upgrade"] if upgrade else []), *(["-e"] if editable else []), spec]
    _pip(*args)
    click.echo("Installed. `seconnect plugins list` shows what it provides.")


@command.command("uninstall")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def uninstall(name, yes) -> None:
    """Uninstall a plugin, by its name or its distribution's (as `plugins list` shows them)."""
    if name.strip().casefold() == "seconnect":
        raise UsageError("refusing to uninstall seconnect itself.",
                         hint=f"To switch a built-in plugin off, set {DISABLE_ENV}=NAME.")
    dist = plugin_distribution(name)
    if dist.casefold() == "seconnect":
        raise UsageError(f"plugin {name.strip()!r} is built into seconnect and cannot be uninstalled.",
                         hint=f"To switch it off, set {DISABLE_ENV}={name.strip()} (names separated by commas).")
    if not yes:
        click.confirm(f"Uninstall {dist}?", abort=True)
    _pip("uninstall", "-y", dist)
    click.echo(f"Uninstalled {dist}.")

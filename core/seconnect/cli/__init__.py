"""The ``seconnect`` command line.

The top-level group is built per run by :func:`build_cli`: plugins are loaded first, then every
plugin's ``register_commands`` hook adds its commands — core's own command groups arrive through
the same hook (see :mod:`seconnect.cli.commands`), exactly like a third-party plugin's.

Errors seconnect raises on purpose print as ``Error: …`` plus a hint, without a traceback, and
exit with the error family's code (see :mod:`seconnect.errors`).
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from functools import cached_property
from typing import Any

import click

from ..cartdef import CartDefinition
from ..errors import SeconnectError
from ..heap import settle_heap
from ..plugins import Plugins, load_plugins

__all__ = ["main", "build_cli", "App", "pass_app", "emit"]


class App:
    """What one command invocation works with: the store URL and the run's plugins."""

    def __init__(self, db_url: str | None, plugins: Plugins):
        self.db_url = db_url
        self.plugins = plugins

    @cached_property
    def store(self):
        from ..store import open_store

        return open_store(self.db_url)

    def cart(self, name: str) -> CartDefinition:
        from ..carts import get_cart

        with self.store.begin() as conn:
            return get_cart(conn, name)

    def close(self) -> None:
        if "store" in self.__dict__:
            self.store.close()


pass_app = click.make_pass_decorator(App)


def emit(data: Any, as_json: bool, text: Callable[[Any], str] | None = None) -> None:
    """Print ``data`` as JSON for scripts, or through ``text`` for people."""
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str, ensure_ascii=False))
    else:
        click.echo(text(data) if text else str(data))


def table(rows: list[list[str]], headers: list[str]) -> str:
    """A plain aligned text table."""
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows, strict=False)]
    lines = ["  ".join(str(h).ljust(w) for h, w in zip(headers, widths, strict=False)).rstrip()]
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=False)).rstrip() for r in rows]
    return "\n".join(lines)


class SeconnectGroup(click.Group):
    """Turns seconnect's own errors into one clear message and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SeconnectError as exc:
            click.echo(f"Error: {exc.message}", err=True)
            if exc.hint:
                click.echo(exc.hint, err=True)
            ctx.exit(exc.exit_code)
        finally:
            app = ctx.find_object(App)
            if app is not None:
                app.close()


def build_cli(plugins: Plugins | None = None) -> click.Group:
    """A fresh top-level group with every plugin's commands registered."""
    plugins = plugins or load_plugins()

    @click.group(cls=SeconnectGroup, context_settings={"help_option_names": ["-h", "--help"]})
    @click.option("--db", "db_url", envvar="SECONNECT_DB", metavar="URL",
                  help="Store database (any SQLAlchemy URL). Default: SQLite file in the user data "
                       "directory; env SECONNECT_DB.")
    @click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
    @click.version_option(package_name="seconnect")
    @click.pass_context
    def cli(ctx: click.Context, db_url: str | None, verbose: int) -> None:
        """Keep your order-management database in step with your web stores."""
        logging.basicConfig(level=[logging.WARNING, logging.INFO, logging.DEBUG][min(verbose, 2)],
                            format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
        for broken in plugins.broken:
            click.echo(f"Warning: {broken.message()}", err=True)
        ctx.obj = App(db_url, plugins)

    from . import commands

    if not plugins.pm.has_plugin("seconnect.cli"):
        plugins.pm.register(commands, name="seconnect.cli")
    plugins.hook.register_commands(cli=cli)
    return cli


def main() -> None:
    cli = build_cli()
    settle_heap()
    cli(prog_name="seconnect")

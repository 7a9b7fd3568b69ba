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
import re
import sys
from collections.abc import Callable
from functools import cached_property
from typing import Any

import click

from ..cartdef import CartDefinition
from ..errors import SeconnectError
from ..heap import settle_heap
from ..plugins import Plugins, load_plugins

__all__ = ["main", "build_cli", "App", "pass_app", "emit", "table", "printable"]


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


# Characters that steer a terminal rather than show: C0/C1 controls and DEL, bidi embeddings,
# overrides and isolates, line/paragraph separators. Text from carts and users may hold them.
_STEERING = r"\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
_UNSAFE = re.compile(r"[\x00-\x1f" + _STEERING + "]")
_UNSAFE_IN_TEXT = re.compile(r"[\x00-\x08\x0b-\x1f" + _STEERING + "]")  # tab and line feed stay
# json.dumps escapes C0 itself; the rest become \uXXXX too, which decodes to the very same string.
_UNSAFE_IN_JSON = re.compile("[" + _STEERING + "]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str, *, lines: bool = False) -> str:
    """``text`` safe for a terminal: steering characters shown escaped (ESC as ``\\x1b``).

    With ``lines`` tabs and line breaks stay (free text); without, they are escaped too (table cells).
    Only for display: the store keeps text verbatim.
    """
    return (_UNSAFE_IN_TEXT if lines else _UNSAFE).sub(_escape, text)


def _printable_data(data: Any) -> Any:
    """Every string in ``data`` escaped, line breaks too: one value never spans or fakes lines."""
    if isinstance(data, str):
        return printable(data)
    if isinstance(data, dict):
        return {_printable_data(k): _printable_data(v) for k, v in data.items()}
    if isinstance(data, list):  # a Page too
        return [_printable_data(v) for v in data]
    if type(data) is tuple:
        return tuple(_printable_data(v) for v in data)
    return data


def emit(data: Any, as_json: bool, text: Callable[[Any], str] | None = None) -> None:
    """Print ``data`` as JSON for scripts, or through ``text`` for people.

    Both are terminal-safe: JSON escapes every steering character (still the exact data), and
    ``text`` gets the data with them (and line breaks inside values) escaped.
    """
    if as_json:
        out = json.dumps(data, indent=2, default=str, ensure_ascii=False)
        click.echo(_UNSAFE_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", out))
    else:
        data = _printable_data(data)
        click.echo(printable(text(data) if text else str(data), lines=True))


def table(rows: list[list[str]], headers: list[str]) -> str:
    """A plain aligned text table; steering characters and line breaks in cells are shown escaped."""
    cells = [[printable(str(c)) for c in row] for row in [headers, *rows]]
    widths = [max(len(x) for x in col) for col in zip(*cells, strict=False)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)).rstrip() for row in cells)


class SeconnectGroup(click.Group):
    """Turns seconnect's own errors into one clear message and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SeconnectError as exc:
            click.echo(printable(f"Error: {exc.message}", lines=True), err=True)
            if exc.hint:
                click.echo(printable(exc.hint, lines=True), err=True)
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

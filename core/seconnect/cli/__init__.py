"""The ``seconnect`` command line.

The top-level group is built per run by :func:`build_cli`: plugins are loaded first, then every
plugin's ``register_commands`` hook adds its commands — core's own command groups arrive through
the same hook (see :mod:`seconnect.cli.commands`), exactly like a third-party plugin's.

Errors seconnect raises on purpose print as ``Error: …`` plus a hint, without a traceback, and
exit with the error family's code (see :mod:`seconnect.errors`).

The global options (``--db``, ``-v``, ``-q``) are added to every command, so they work after the
subcommand too; their values meet in one :class:`Globals` (``ctx.meta``), and logging starts
once every option is parsed, just before the command runs. ``--json`` and ``--cart`` come from
:func:`json_option` / :func:`cart_option`, one wording everywhere.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import sys
import traceback
from collections.abc import Callable
from functools import cached_property
from typing import Any

import click
from click.core import ParameterSource

from ..cartdef import CartDefinition
from ..errors import PluginError, SeconnectError, UsageError
from ..heap import settle_heap
from ..plugins import Plugins, load_plugins
from ..store.database import ENV_DB

__all__ = ["main", "build_cli", "App", "Globals", "DB_PARAM", "pass_app", "emit", "table", "printable",
           "configure_logging", "json_option", "cart_option", "complete_cart_name"]

#: The name of the global ``--db`` parameter on every command, for ``ctx.get_parameter_source``.
DB_PARAM = "seconnect_db"


class Globals:
    """The global options of one run, wherever on the command line they were given."""

    def __init__(self) -> None:
        self.verbose = 0
        self.quiet = False
        self.db: str | None = None
        #: Where ``db`` came from: the command line (before or after the subcommand), the
        #: environment (``SECONNECT_DB``) or nowhere (``DEFAULT``); a command may ignore the
        #: environment, e.g. ``if app.db_source is not ParameterSource.COMMANDLINE``.
        self.db_source = ParameterSource.DEFAULT


class App:
    """What one command invocation works with: the store URL and the run's plugins."""

    def __init__(self, db_url: str | None, plugins: Plugins, options: Globals | None = None):
        self.options = options or Globals()
        if db_url is not None:
            self.options.db = db_url
        self.plugins = plugins
        self._started = False

    @property
    def db_url(self) -> str | None:
        return self.options.db

    @property
    def db_source(self) -> ParameterSource:
        return self.options.db_source

    @cached_property
    def store(self):
        from ..store import open_store

        return open_store(self.db_url)

    def cart(self, name: str) -> CartDefinition:
        from ..carts import get_cart

        with self.store.begin() as conn:
            return get_cart(conn, name)

    def start(self) -> None:
        """Once every option is parsed, before the command runs: logging, plugin warnings."""
        if self._started:
            return
        self._started = True
        configure_logging(self.options.verbose, self.options.quiet)
        if not self.options.quiet:
            for broken in self.plugins.broken:
                click.echo(f"Warning: {broken.message()}", err=True)

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


def json_option(f: Callable[..., Any]) -> Callable[..., Any]:
    """``--json``, the same on every command that has it (the value arrives as ``as_json``)."""
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text (for scripts).")(f)


def cart_option(*, required: bool = False, multiple: bool = False,
                param: str | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--cart NAME``, the same on every command that has it (``cart_name``, or ``cart_names``
    when repeatable); cart names complete in the shell."""
    return click.option("--cart", param or ("cart_names" if multiple else "cart_name"), metavar="NAME",
                        required=required, multiple=multiple, shell_complete=complete_cart_name,
                        help="The cart, by its Store Name (`seconnect carts list`)" + ("; repeatable." if multiple
                                                                                        else "."))


def complete_cart_name(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """Cart names from the store, for shell completion; nothing (never an error) if it cannot be read."""
    try:
        import sqlalchemy as sa

        from ..store import tables
        from ..store.database import as_db_url, default_db_url

        url = sa.engine.make_url(as_db_url(_options(ctx).db or default_db_url()))
        if url.get_backend_name() == "sqlite" and not (url.database and os.path.isfile(url.database)):
            return []  # completing never creates a store
        engine = sa.create_engine(url)
        try:
            with engine.connect() as conn:
                names = conn.execute(sa.select(tables.carts.c.name).order_by(tables.carts.c.name)).scalars()
                return [n for n in names if n.casefold().startswith(incomplete.casefold())]
        finally:
            engine.dispose()
    except Exception:
        return []


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


def secret_typed_twice(label: str, again: str, what: str, *, blank_ok: bool = False) -> str:
    """A secret typed twice at hidden prompts (``label``, then ``again``); ``what`` names the pair
    in the error when they differ ("passwords"), and nothing is saved then."""
    blank = {"default": "", "show_default": False} if blank_ok else {}
    value = click.prompt(label, hide_input=True, **blank)
    if value != click.prompt(again, hide_input=True, **blank):
        raise UsageError(f"the two {what} do not match; nothing was saved.",
                         hint="Run the command again and type the same value twice.")
    return value


def stdin_line() -> str:
    """One line of standard input without its line ending (``\\n`` or ``\\r\\n``): a secret piped in."""
    line = sys.stdin.readline()
    return line.removesuffix("\n").removesuffix("\r")


def table(rows: list[list[str]], headers: list[str]) -> str:
    """A plain aligned text table; steering characters and line breaks in cells are shown escaped."""
    cells = [[printable(str(c)) for c in row] for row in [headers, *rows]]
    widths = [max(len(x) for x in col) for col in zip(*cells, strict=False)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)).rstrip() for row in cells)


# Libraries whose DEBUG lines drown seconnect's own: kept at INFO (SQLAlchemy at WARNING, its INFO
# is every SQL statement) unless -vvv asks for everything.
_NOISY = {"httpx": logging.INFO, "httpcore": logging.INFO, "sqlalchemy": logging.WARNING,
          "alembic": logging.INFO, "alembic.runtime.plugins": logging.WARNING, "asyncio": logging.INFO}
_handler: logging.Handler | None = None


def configure_logging(verbose: int, quiet: bool = False) -> None:
    """-v INFO, -vv DEBUG (libraries held back), -vvv DEBUG everywhere; --quiet errors only."""
    global _handler
    level = logging.ERROR if quiet else [logging.WARNING, logging.INFO, logging.DEBUG][min(verbose, 2)]
    root = logging.getLogger()
    if _handler is not None:
        root.removeHandler(_handler)
    _handler = logging.StreamHandler(sys.stderr)  # this run's stderr (tests swap it per run)
    _handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(_handler)
    root.setLevel(level)
    for name, floor in _NOISY.items():
        logging.getLogger(name).setLevel(logging.NOTSET if verbose >= 3 else max(level, floor))


def _options(ctx: click.Context) -> Globals:
    return ctx.meta.setdefault("seconnect.globals", Globals())  # meta is shared by nested contexts


def _set_verbose(ctx: click.Context, param: click.Parameter, value: int) -> None:
    _options(ctx).verbose += value or 0


def _set_quiet(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    _options(ctx).quiet |= bool(value)


def _set_db(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is not None:
        _options(ctx).db, _options(ctx).db_source = value, ctx.get_parameter_source(param.name)


def _global_options(envvar: bool) -> list[click.Option]:
    """The options every seconnect command takes, before or after the subcommand's name.
    Only the top level reads ``SECONNECT_DB``, so a command's own ``--db`` is always typed."""
    return [
        click.Option(["--db", DB_PARAM], envvar=ENV_DB if envvar else None, metavar="PATH|URL",
                     expose_value=False, callback=_set_db,
                     help=f"Store database: a file path or any SQLAlchemy URL. Default: env {ENV_DB}, else "
                          "seconnect.db in the user data directory."),
        click.Option(["-v", "--verbose", "seconnect_verbose"], count=True, expose_value=False,
                     callback=_set_verbose, help="Log more: -v info, -vv debug, -vvv libraries' debug too."),
        click.Option(["-q", "--quiet", "seconnect_quiet"], is_flag=True, expose_value=False, callback=_set_quiet,
                     help="Only errors on stderr: no warnings or log lines."),
    ]


def _adopt(command: click.Command) -> None:
    """Give ``command`` and every command under it the global options (skipping any flag it
    defines itself, e.g. `sandbox --quiet`), and start the App just before a command runs."""
    if not getattr(command, "_seconnect_globals", False):
        command._seconnect_globals = True  # type: ignore[attr-defined]
        if command.short_help is None and command.help:
            command.short_help = _first_sentence(command.help)
        taken = {flag for p in command.params for flag in getattr(p, "opts", ())}
        command.params += [o for o in _global_options(envvar=False) if not taken & set(o.opts)]
        if command.callback is not None and not isinstance(command, click.Group):
            command.callback = _starting(command.callback)
    for sub in getattr(command, "commands", {}).values():
        _adopt(sub)


def _first_sentence(help_text: str) -> str:
    """A command's summary in a group's list: its first sentence, whole (click would cut it at ~45
    characters, mid-phrase); wrapped by click if long."""
    paragraph = help_text.split("\n\n", 1)[0].replace("\b", "")
    text = " ".join(paragraph.split())
    match = re.match(r"(.+?[.!?])(\s|$)", text)
    return match.group(1) if match else text


def _starting(callback: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(callback)
    def run(*args: Any, **kwargs: Any) -> Any:
        app = click.get_current_context().find_object(App)
        if app is not None:
            app.start()
        return callback(*args, **kwargs)

    return run


class SeconnectGroup(click.Group):
    """The top level: global options anywhere, and seconnect's own errors as one clear message
    and an exit code (with -v, a plugin bug's traceback too)."""

    def invoke(self, ctx: click.Context) -> Any:
        for sub in self.commands.values():
            _adopt(sub)
        try:
            return super().invoke(ctx)
        except SeconnectError as exc:
            app = ctx.find_object(App)
            if isinstance(exc, PluginError) and exc.__cause__ is not None and app and app.options.verbose:
                click.echo("".join(traceback.format_exception(exc.__cause__)).rstrip(), err=True)
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

    @click.group(cls=SeconnectGroup, params=_global_options(envvar=True),
                 context_settings={"help_option_names": ["-h", "--help"]})
    @click.version_option(package_name="seconnect")
    @click.pass_context
    def cli(ctx: click.Context) -> None:
        """Keep your order-management database in step with your web stores.

        The options below also work after the command's name (`seconnect orders list -v`)."""
        ctx.obj = App(None, plugins, _options(ctx))

    from . import commands

    if not plugins.pm.has_plugin("seconnect.cli"):
        plugins.pm.register(commands, name="seconnect.cli")
    plugins.hook.register_commands(cli=cli)
    for sub in cli.commands.values():  # now for `seconnect --help`; invoke adopts any added later
        _adopt(sub)
    return cli


def main() -> None:
    cli = build_cli()
    settle_heap()
    cli(prog_name="seconnect")

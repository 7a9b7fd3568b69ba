"""Global options (--db, -v, --quiet) before or after the subcommand, and what logging shows."""

from __future__ import annotations

import json
import re

import click
import pytest
from click.testing import CliRunner

from seconnect import Capabilities, CartType, hookimpl
from seconnect.cli import DB_PARAM, App, build_cli, pass_app
from seconnect.plugins import BrokenPlugin, load_plugins

STAMP = r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} "


def invoke(*args, plugins=None, **kw):
    return CliRunner().invoke(build_cli(plugins or load_plugins()), list(args), catch_exceptions=False, **kw)


def add(args_db, sb, name="Shop", *extra):
    return invoke("carts", "add", name, "--type", "Generic", "--user", sb.user, "--script-url", sb.script_url,
                  "--ca-bundle", sb.ca_file, "--password-stdin", *args_db, *extra, input=sb.password + "\n")


def test_db_after_the_subcommand_takes_a_plain_file_path(tmp_path, gen, monkeypatch):
    path = tmp_path / "sub dir" / "mine.db"
    path.parent.mkdir()
    added = add(["--db", str(path)], gen)
    assert added.exit_code == 0, added.output
    assert path.is_file()
    # the environment's store was not touched; the file is a real store the URL form opens too
    assert json.loads(invoke("carts", "list", "--json").stdout) == []
    listed = invoke("carts", "list", "--json", env={"SECONNECT_DB": f"sqlite:///{path}"})
    assert [c["name"] for c in json.loads(listed.stdout)] == ["Shop"]
    before = invoke("--db", str(path), "orders", "list", "--json")
    assert before.exit_code == 0, before.output


def test_a_command_can_tell_where_db_came_from(tmp_path, monkeypatch):
    seen = []

    @click.command("where")
    @pass_app
    def where(app: App):
        seen.append((app.db_source.name, click.get_current_context().get_parameter_source(DB_PARAM).name))

    cli = build_cli(load_plugins())
    cli.add_command(where)
    db = str(tmp_path / "x.db")
    for args in (["where"], ["--db", db, "where"], ["where", "--db", db]):
        assert CliRunner().invoke(cli, args, catch_exceptions=False).exit_code == 0
    assert seen == [("ENVIRONMENT", "DEFAULT"), ("COMMANDLINE", "DEFAULT"), ("COMMANDLINE", "COMMANDLINE")]


def test_vv_log_lines_carry_timestamps_and_libraries_stay_quiet_unless_vvv(gen):
    assert add([], gen).exit_code == 0
    vv = invoke("carts", "test", "Shop", "-vv")
    assert vv.exit_code == 0, vv.output
    own = [ln for ln in vv.stderr.splitlines() if " DEBUG seconnect" in ln]
    assert own and all(re.match(STAMP, ln) for ln in own)
    assert " DEBUG httpcore" not in vv.stderr and " DEBUG httpx" not in vv.stderr
    vvv = invoke("-v", "carts", "test", "Shop", "-vv")  # counts add up, wherever given
    assert " DEBUG httpcore" in vvv.stderr


def test_quiet_silences_warnings_and_verbose_shows_a_plugin_bugs_traceback(tmp_path):
    class Buggy:
        @hookimpl
        def seconnect_cart_types(self):
            return [CartType(id="ExampleCart", label="ExampleCart",
                             capabilities=Capabilities.declare(supported=["import-orders"]))]

        @hookimpl
        def import_orders(self, cart, checkpoint, batch_size):
            raise KeyError("items")

    plugins = load_plugins(extra=[("buggy", Buggy())])
    plugins.broken.append(BrokenPlugin("bad_cart", "bad-cart", "ImportError: needs libfoo"))
    added = invoke("carts", "add", "My shop", "--type", "ExampleCart", "--user", "u", "--script-url", "h/x",
                   "--password-stdin", "-q", plugins=plugins, input="p\n")
    assert added.exit_code == 0 and added.stderr == ""
    assert "Warning: plugin 'bad_cart'" in invoke("carts", "list", plugins=plugins).stderr
    plain = invoke("run", "import-orders", "--cart", "My shop", plugins=plugins)
    assert plain.exit_code == 4 and "Traceback" not in plain.stderr
    assert "Error: plugin 'buggy' failed in import_orders" in plain.stderr
    verbose = invoke("run", "import-orders", "--cart", "My shop", "-v", plugins=plugins)
    assert verbose.exit_code == 4
    assert "Traceback (most recent call last)" in verbose.stderr and "KeyError: 'items'" in verbose.stderr
    assert verbose.stderr.index("Traceback") < verbose.stderr.index("Error: plugin 'buggy'")


@pytest.mark.parametrize("args", [["carts", "list", "-v"], ["carts", "-v", "list"], ["-v", "carts", "list"]])
def test_verbose_anywhere_logs_at_info(args):
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    assert re.search(STAMP + r"INFO ", result.stderr, re.MULTILINE), result.stderr

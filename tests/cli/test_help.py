"""Help a newcomer can read: whole summaries, one wording per shared option, shell completion."""

from __future__ import annotations

import os

import click
import pytest
from cli_helpers import add
from click.shell_completion import BashComplete
from click.testing import CliRunner

from seconnect.cli import build_cli
from seconnect.plugins import load_plugins


def walk(command: click.Command, path=()):
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from walk(sub, (*path, name))


@pytest.fixture(scope="module")
def cli():
    return build_cli(load_plugins())


def test_no_summary_is_cut_mid_phrase(cli):
    for path, command in walk(cli):
        if not isinstance(command, click.Group):
            continue
        result = CliRunner().invoke(cli, [*path, "--help"], terminal_width=80)
        listing = result.output.split("Commands:", 1)[1]
        assert "..." not in listing, f"seconnect {' '.join(path)} --help:\n{listing}"
        for name, sub in command.commands.items():
            first = " ".join((sub.help or "").split("\n\n")[0].split())
            assert sub.get_short_help_str(45) and first.startswith(sub.get_short_help_str(45).rstrip(".")), name


def test_shared_options_have_one_wording_and_every_option_says_what_it_does(cli):
    wordings: dict[str, set[str]] = {"--json": set(), "--cart": set()}
    for path, command in walk(cli):
        for param in command.params:
            if isinstance(param, click.Option):
                assert param.help, f"seconnect {' '.join(path)} {param.opts[0]} has no help"
                for opt in wordings:
                    if opt in param.opts:
                        wordings[opt].add(param.help.removesuffix("; repeatable.").removesuffix("."))
    assert wordings == {"--json": {"Print JSON instead of text (for scripts)"},
                        "--cart": {"The cart, by its Store Name (`seconnect carts list`)"}}


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_prints_the_shell_script(cli, shell):
    result = CliRunner().invoke(cli, ["completion", shell])
    assert result.exit_code == 0 and "_SECONNECT_COMPLETE" in result.output
    assert f"{shell}_complete" in result.output


def test_cart_names_complete_from_the_store_and_never_create_one(seconnect, db_url, tmp_path, monkeypatch):
    for name in ("Harbor", "Hill Shop", "Dock"):
        assert add(seconnect, name).exit_code == 0
    monkeypatch.setenv("SECONNECT_DB", db_url)

    def complete(*words: str, incomplete: str = "") -> list[str]:
        completer = BashComplete(build_cli(load_plugins()), {}, "seconnect", "_SECONNECT_COMPLETE")
        return [c.value for c in completer.get_completions(list(words), incomplete)]

    assert complete("orders", "list", "--cart", incomplete="h") == ["Harbor", "Hill Shop"]
    assert complete("run", "import-orders", "--cart") == ["Dock", "Harbor", "Hill Shop"]
    assert complete("carts", "show", incomplete="d") == ["Dock"]
    missing = tmp_path / "nowhere.db"
    assert complete("--db", str(missing), "orders", "list", "--cart") == []
    monkeypatch.setenv("SECONNECT_DB", f"sqlite:///{missing}")
    assert complete("orders", "list", "--cart") == [] and not os.path.exists(missing)

"""`seconnect completion bash|zsh|fish` — the shell completion script (click's own machinery)."""

from __future__ import annotations

import click
from click.shell_completion import get_completion_class

COMPLETE_VAR = "_SECONNECT_COMPLETE"


@click.command("completion")
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def command(shell: str) -> None:
    """Print the shell completion script for SHELL.

    Commands, options and cart names (from the store) complete. To turn it on:

    \b
      eval "$(seconnect completion bash)"   # in ~/.bashrc
      eval "$(seconnect completion zsh)"    # in ~/.zshrc
      seconnect completion fish > ~/.config/fish/completions/seconnect.fish
    """
    root = click.get_current_context().find_root()
    completer = get_completion_class(shell)(root.command, {}, "seconnect", COMPLETE_VAR)
    click.echo(completer.source())

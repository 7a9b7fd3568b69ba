"""`seconnect users …` — who may log in to the dashboard (`seconnect serve`) and call its /api/."""

from __future__ import annotations

import click

from .. import users as service
from . import App, emit, json_option, pass_app, secret_typed_twice, stdin_line, table
from .runs import when


@click.group("users")
def command() -> None:
    """Dashboard users and their API tokens."""


def _read_password(from_stdin: bool) -> str:
    return stdin_line() if from_stdin else secret_typed_twice("Password", "Reenter Password", "passwords")


@command.command("add")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input instead of prompting twice.")
@pass_app
def add(app: App, name, password_stdin) -> None:
    """Add a user NAME who may log in to the dashboard (password asked twice)."""
    password = _read_password(password_stdin)
    with app.store.begin() as conn:
        user = service.add_user(conn, name, password)
    click.echo(f"User {user.name!r} added. They can log in to the dashboard (`seconnect serve`).")


@command.command("list")
@json_option
@pass_app
def list_(app: App, as_json) -> None:
    """List users, with how many API tokens each has."""
    with app.store.begin() as conn:
        rows = service.list_users(conn)
    emit(rows, as_json, lambda d: table(
        [[r["name"], when(r["created_at"]), r["tokens"], when(r["token_last_used_at"])] for r in d],
        ["NAME", "CREATED (UTC)", "TOKENS", "TOKEN LAST USED"]) if d else
        "No users yet. Add one with `seconnect users add NAME`.")


@command.command("remove")
@click.argument("name")
@pass_app
def remove(app: App, name) -> None:
    """Remove the user NAME and their API tokens."""
    with app.store.begin() as conn:
        removed = service.remove_user(conn, name)
    click.echo(f"User {removed!r} removed, with their API tokens.")


@command.command("token")
@click.argument("name")
@click.option("--label", default="", help="What the token is for (kept with it).")
@pass_app
def token(app: App, name, label) -> None:
    """Make a new API token for NAME and print it once (for `Authorization: Bearer TOKEN` on /api/)."""
    with app.store.begin() as conn:
        value = service.new_token(conn, name, label)
    click.echo(value)
    click.echo("Keep it now: it is not stored and cannot be shown again.", err=True)

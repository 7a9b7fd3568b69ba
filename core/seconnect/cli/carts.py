"""`seconnect carts …` — SEOM's Shopping Carts screen."""

from __future__ import annotations

import sys

import click
from sqlalchemy import select

from .. import carts as service
from ..capabilities import Capability
from ..errors import CartError, UsageError
from ..store import tables
from . import App, complete_cart_name, emit, json_option, pass_app, printable, table
from .runs import counts_text, duration, when


def _read_password(app: App, type_name: str, password_stdin: bool) -> str:
    """Password from stdin (one line), or typed twice at a hidden prompt that must match."""
    if password_stdin:
        line = sys.stdin.readline()
        password = line[:-1] if line.endswith("\n") else line
        if password.endswith("\r"):
            password = password[:-1]
        if not password:
            raise UsageError("no password on standard input.",
                             hint="Pipe it in, e.g. `printf '%s\\n' \"$PASS\" | seconnect carts add … --password-stdin`.")
        return password
    label = app.plugins.resolve_type(type_name).label_for("password")
    first = click.prompt(label, hide_input=True, default="", show_default=False)
    second = click.prompt("Reenter Password", hide_input=True, default="", show_default=False)
    if first != second:
        raise UsageError("the two passwords do not match; nothing was saved.",
                         hint="Run the command again and type the same password twice.")
    return first


@click.group("carts")
def command() -> None:
    """Cart definitions: one per web store."""


@command.command("add")
@click.argument("name")
@click.option("--type", "cart_type", required=True, help="Cart type (see `seconnect carts types`), e.g. Interspire.")
@click.option("--user", required=True, help="Cart ID / User Name.")
@click.option("--script-url", required=True,
              help="Script URL without https://, e.g. store-xyz.bigcommerce.com/accountinggateway.php?action=process&accounting=stoneedge")
@click.option("--store-code", default="", help="Store Code (often blank).")
@click.option("--ca-bundle", type=click.Path(dir_okay=False), help="PEM file of a CA to trust for this cart.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input instead of prompting twice.")
@pass_app
def add(app: App, name, cart_type, user, script_url, store_code, ca_bundle, password_stdin) -> None:
    """Add a cart definition named NAME (the Store Name: unique, internal only)."""
    app.plugins.resolve_type(cart_type)  # before asking for a password
    password = _read_password(app, cart_type, password_stdin)
    with app.store.begin() as conn:
        cart = service.add_cart(conn, app.plugins, name=name, cart_type=cart_type, user=user,
                                password=password, script_url=script_url, store_code=store_code,
                                ca_bundle=ca_bundle)
    click.echo(f"Cart {cart.name!r} ({cart.type}) saved. Next: `seconnect carts test {_quote(cart.name)}` "
               "to check the Script URL.")


@command.command("edit")
@click.argument("name")
@click.option("--name", "new_name", help="New Store Name.")
@click.option("--type", "cart_type", help="New cart type.")
@click.option("--user", help="New Cart ID / User Name.")
@click.option("--script-url", help="New Script URL (without https://).")
@click.option("--store-code", help="New Store Code ('' to clear).")
@click.option("--ca-bundle", type=click.Path(dir_okay=False), help="New CA bundle ('' to clear).")
@click.option("--password", "change_password", is_flag=True, help="Prompt for a new password (twice).")
@click.option("--password-stdin", is_flag=True, help="Read a new password from standard input.")
@click.option("--active/--inactive", default=None, help="Include the cart in `--all` jobs or not.")
@pass_app
def edit(app: App, name, new_name, cart_type, user, script_url, store_code, ca_bundle,
         change_password, password_stdin, active) -> None:
    """Change fields of the cart NAME."""
    password = None
    if change_password or password_stdin:
        with app.store.begin() as conn:
            current_type = cart_type or service.get_cart(conn, name).type
        password = _read_password(app, current_type, password_stdin)
    with app.store.begin() as conn:
        cart = service.edit_cart(conn, app.plugins, name, new_name=new_name, cart_type=cart_type, user=user,
                                 password=password, script_url=script_url, store_code=store_code,
                                 ca_bundle=ca_bundle, active=active)
    click.echo(f"Cart {cart.name!r} updated.")


@command.command("remove")
@click.argument("name")
@click.option("--purge", is_flag=True,
              help="Also delete everything the cart imported (orders, customer links, product codes, outbox, "
                   "quarantine), e.g. for a test cart. Products stay.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_app
def remove(app: App, name, purge, yes) -> None:
    """Remove the cart definition NAME.

    A cart that holds imported data is refused: keep it out of jobs with `carts edit NAME
    --inactive`, or delete it with everything it imported with --purge (one transaction; other
    carts' data is untouched).
    """
    with app.store.begin() as conn:
        cart = service.get_cart(conn, name)
        holdings = service.cart_holdings(conn, cart.id)
    if not yes:
        what = f" and everything it imported ({service.describe_holdings(holdings)})" if purge and holdings else ""
        click.confirm(f"Remove cart {cart.name!r}{what}?", abort=True)
    with app.store.begin() as conn:
        removed, deleted = service.remove_cart(conn, name, purge=purge)
    click.echo(f"Cart {removed!r} removed" + (f" with {service.describe_holdings(deleted)}." if deleted else "."))


@command.command("forget-passwords")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_app
def forget_passwords(app: App, yes) -> None:
    """Forget the stored passwords the key file cannot decrypt.

    All of them if the key file is missing. For a lost key file: afterwards passwords can be saved under a new key. Re-enter each
    forgotten one with `carts edit NAME --password-stdin`.
    """
    from ..secrets import key_path

    if not yes:
        click.confirm(f"Forget every stored cart password that the key file {key_path()} cannot decrypt?",
                      abort=True)
    with app.store.begin() as conn:
        names = service.forget_passwords(conn)
    if not names:
        click.echo(f"Every stored password opens with the key file {key_path()}; nothing was forgotten.")
        return
    click.echo(f"Forgot the passwords of: {', '.join(names)}. Enter each again with "
               "`seconnect carts edit NAME --password-stdin`.")


@command.command("list")
@json_option
@pass_app
def list_(app: App, as_json) -> None:
    """List cart definitions."""
    with app.store.begin() as conn:
        rows = service.list_carts(conn)
    data = [{"name": r.name, "type": r.type, "user": r.user_name, "script_url": r.script_url,
             "store_code": r.store_code, "active": bool(r.active)} for r in rows]
    emit(data, as_json, lambda d: table(
        [[x["name"], x["type"], x["user"], x["script_url"], "yes" if x["active"] else "no"] for x in d],
        ["NAME", "TYPE", "USER", "SCRIPT URL", "ACTIVE"]) if d else
        "No carts yet. Add one with `seconnect carts add NAME --type TYPE --user USER --script-url URL`.")


@command.command("show")
@click.argument("name", shell_complete=complete_cart_name)
@json_option
@pass_app
def show(app: App, name, as_json) -> None:
    """Show the cart NAME: fields (password masked), capabilities, cart-based parameters, each job's
    last run and the cart's checkpoints."""
    from .. import runs

    runs.reap_quietly(app.store)
    with app.store.begin() as conn:
        cart = service.get_cart(conn, name)
        active = next(r.active for r in service.list_carts(conn) if r.name == cart.name)
        last = runs.last_runs(conn, cart.id)
        checkpoints = conn.execute(select(tables.checkpoints.c.job, tables.checkpoints.c.value,
                                          tables.checkpoints.c.updated_at)
                                   .where(tables.checkpoints.c.cart_id == cart.id)
                                   .order_by(tables.checkpoints.c.job)).all()
    summary = service.cart_summary(app.plugins, cart, active=bool(active))
    summary["last_runs"] = last
    summary["checkpoints"] = {c.job: {"value": c.value, "updated_at": c.updated_at} for c in checkpoints}
    emit(summary, as_json, _show_text)


def _show_text(s: dict) -> str:
    labels = s["field_labels"]
    lines = [
        f"Store Name:      {s['name']}",
        f"Cart Type:       {s['type']} — {s['type_label']} (plugin {s['plugin']})",
        f"{labels['user'] + ':':<17}{s['user']}",
        f"{labels['password'] + ':':<17}{s['password']}",
        f"{labels['store_code'] + ':':<17}{s['store_code'] or '(blank)'}",
        f"{labels['script_url'] + ':':<17}{s['script_url']}  (https://)",
        f"CA bundle:       {s['ca_bundle'] or '(system trust store)'}",
        f"Active:          {'yes' if s['active'] else 'no'}",
        *([f"Not usable now:  {s['unavailable']}"] if s.get("unavailable") else []),
        "",
        "Capabilities:",
    ]
    caps = s["capabilities"]
    for cap in Capability:
        line = f"  {cap.value:<22} {caps[cap.value]}"
        if cap is Capability.INVENTORY_REALTIME and caps["realtime-levels"]:
            line += f" (levels: {', '.join(caps['realtime-levels'])})"
        lines.append(line)
        if cap.value in s["notes"]:
            lines.append(f"      {s['notes'][cap.value]}")
        if cap is Capability.INVENTORY_REALTIME and caps[cap.value] == "supported":
            lines.append("      " + _realtime_explanation(caps["realtime-levels"], s["params"].get("SynchQOH") == "TRUE"))
    lines += ["", "Cart-based parameters:"]
    lines += [f"  {k} = {v}" for k, v in s["params"].items()]
    lines += ["", "Last runs:"] + (_last_runs_text(s["last_runs"]) or ["  none yet"])
    lines += ["", "Checkpoints (where the next run continues):"]
    lines += [f"  {job}: {c['value']}  (saved {when(c['updated_at'])} UTC)" for job, c in s["checkpoints"].items()]
    if not s["checkpoints"]:
        lines.append("  none yet: the first import starts from the beginning")
    return "\n".join(lines)


def _last_runs_text(last: dict) -> list[str]:
    lines = []
    for job, r in last.items():
        counts = counts_text(r["counts"])
        lines.append(f"  {job:<18} {r['status']:<9} {when(r['started_at'])} UTC"
                     + (f", took {duration(r['duration_s'])}" if r["duration_s"] is not None else "")
                     + (f"; {counts}" if counts else ""))
        if r["error"]:
            lines.append(f"      {r['error']}" + (f" — {r['hint']}" if r["hint"] else ""))
    return lines


_LEVEL_WORDS = {
    "product": "plain products",
    "attribute": "variations the cart addresses by its own codes",
    "sub-sku": "sub-SKUs built from attributes",
}


def _realtime_explanation(levels: list[str], synced: bool) -> str:
    reached = "; ".join(_LEVEL_WORDS[level] for level in levels) or "nothing"
    missing = [w for level, w in _LEVEL_WORDS.items() if level not in levels]
    text = f"Local quantity changes reach this cart for: {reached}."
    if missing:
        text += f" Not sent: {'; '.join(missing)}."
    return text + (" SynchQOH is TRUE: changes are queued for `seconnect run realtime`." if synced else
                   " SynchQOH is FALSE for this cart: set it TRUE to send changes in real time.")


@command.command("types")
@json_option
@pass_app
def types(app: App, as_json) -> None:
    """The capability matrix of every installed cart type."""
    data = []
    for reg in app.plugins.cart_types():
        ct = reg.cart_type
        data.append({
            "id": ct.id, "label": ct.label, "aliases": list(ct.aliases), "plugin": reg.plugin,
            "field_labels": {f: ct.label_for(f) for f in ("user", "password", "store_code", "script_url")},
            "capabilities": ct.capabilities.as_dict(), "notes": dict(ct.notes),
            "script_url_example": ct.script_url_example,
        })
    emit(data, as_json, _types_text)


def _types_text(data: list[dict]) -> str:
    if not data:
        return "No cart types installed. Install a cart plugin with `seconnect plugins install SPEC`."
    headers = ["CAPABILITY", *[d["id"] for d in data]]
    rows = []
    for cap in Capability:
        row = [cap.value]
        for d in data:
            cell = d["capabilities"][cap.value]
            if cap is Capability.INVENTORY_REALTIME and d["capabilities"]["realtime-levels"]:
                cell += " (" + "/".join(d["capabilities"]["realtime-levels"]) + ")"
            row.append(cell)
        rows.append(row)
    out = [table(rows, headers), ""]
    for d in data:
        aliases = f"; aliases: {', '.join(d['aliases'])}" if d["aliases"] else ""
        out.append(f"{d['id']}: {d['label']} (plugin {d['plugin']}{aliases})")
        if d["script_url_example"]:
            out.append(f"  Script URL example: {d['script_url_example']}")
        for cap, note in d["notes"].items():
            out.append(f"  {cap}: {note}")
    return "\n".join(out)


def _quote(name: str) -> str:
    return name if name.replace("-", "").replace("_", "").isalnum() else repr(name)


@command.command("test")
@click.argument("name", shell_complete=complete_cart_name)
@click.option("--check-credentials", is_flag=True,
              help="Also check the user name, password and store code with an authenticated call.")
@pass_app
def test(app: App, name, check_credentials) -> None:
    """Test Script URL: check that the cart's script can be reached and print its version."""
    cart = app.cart(name)
    try:
        version = app.plugins.call("test_script", cart, None, check_credentials=check_credentials)
    except CartError as exc:
        exc.message = f"Test failed: {exc.message}"
        raise
    click.echo(f"Test passed: Script version: {printable(str(version))}")
    for warning in getattr(version, "warnings", ()):
        click.echo(printable(f"Warning: {warning}", lines=True))
    if check_credentials:
        click.echo("The user name, password and store code were accepted.")
    else:
        click.echo("This test checks that the script can be reached; it does not validate the user name "
                   "and password (add --check-credentials for that).")

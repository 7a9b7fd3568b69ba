"""`seconnect carts …` — SEOM's Shopping Carts screen."""

from __future__ import annotations

import json

import click
from sqlalchemy import select

from .. import carts as service
from .. import settings as settings_mod
from ..capabilities import Capability
from ..cartdef import CartType
from ..errors import CartError, UsageError
from ..store import tables
from . import (
    App,
    complete_cart_name,
    emit,
    json_option,
    pass_app,
    printable,
    secret_typed_twice,
    stdin_line,
    table,
)
from .runs import counts_text, duration, when


def _read_secrets(ctype: CartType, from_stdin: bool) -> dict[str, str]:
    """The type's secret settings: from stdin (one line each, in the schema's order), or each typed
    twice at a hidden prompt that must match. A blank optional one is left out."""
    required = set(ctype.settings_schema.get("required", ()))
    values = {}
    for name in ctype.secret_names:
        word = "password" if name == "password" else ctype.label_for(name)
        if not from_stdin:
            value = _prompt_secret(ctype, name)
        else:
            value = stdin_line()
            if not value and name in required:
                raise UsageError(f"no {word} on standard input.",
                                 hint="Pipe it in, e.g. `printf '%s\\n' \"$PASS\" | seconnect carts add … "
                                      "--secret-stdin` (one line per secret).")
        if value or name in required:
            values[name] = value
    return values


def _prompt_secret(ctype: CartType, name: str) -> str:
    """One secret setting, typed twice at a hidden prompt; the two must match."""
    label = ctype.label_for(name)
    if name == "password":
        return secret_typed_twice(label, "Reenter Password", "passwords", blank_ok=True)
    return secret_typed_twice(label, f"Reenter {label}", f"entries of {label}", blank_ok=True)


def _given_settings(ctype: CartType, assignments: tuple[str, ...], **spellings: str | None) -> dict[str, str]:
    """``--set`` pairs and the spellings (--user, --script-url, --store-code) as one mapping."""
    given = settings_mod.parse_assignments(assignments)
    given.update({k: v for k, v in spellings.items() if v is not None})
    secret = [k for k in given if k in ctype.secret_names]
    if secret:
        raise UsageError(f"{', '.join(secret)} is secret: it is not given with --set (it would stay in the shell "
                         "history and show in the process list); nothing was saved.",
                         hint="Leave it out to be asked for it, or pipe it in with --secret-stdin.")
    return given


@click.group("carts")
def command() -> None:
    """Cart definitions: one per web store."""


_SETTING_HELP = "A setting of the cart type as KEY=VALUE (repeatable; `seconnect carts types` lists them)."


@command.command("add")
@click.argument("name", required=False)
@click.option("--type", "cart_type", help="Cart type (see `seconnect carts types`), e.g. Interspire. "
                                          "Without any option, every field is asked for in turn.")
@click.option("--set", "assignments", multiple=True, metavar="KEY=VALUE", help=_SETTING_HELP)
@click.option("--user", help="Cart ID / User Name (the SETI types' setting `user`).")
@click.option("--script-url",
              help="Script URL without https://, e.g. store-xyz.bigcommerce.com/accountinggateway.php?action=process&accounting=stoneedge")
@click.option("--store-code", help="Store Code (often blank).")
@click.option("--ca-bundle", type=click.Path(dir_okay=False), help="PEM file of a CA to trust for this cart.")
@click.option("--secret-stdin", "--password-stdin", "secret_stdin", is_flag=True,
              help="Read the cart type's secret (the password) from standard input instead of prompting twice.")
@pass_app
def add(app: App, name, cart_type, assignments, user, script_url, store_code, ca_bundle, secret_stdin) -> None:
    """Add a cart definition named NAME (the Store Name: unique, internal only).

    Its settings come from the cart type; a secret one (a password, an API token) is asked for
    twice, or read with --secret-stdin, never given with --set. With no option at all, it asks
    for each field in the setup wizard's order (Store Name, Cart Type, the type's settings, each
    secret twice), then offers the Test Script URL.
    """
    if cart_type is None:
        if assignments or user or script_url or store_code or ca_bundle or secret_stdin:
            raise UsageError("--type is missing: options describe a cart of a given type.",
                             hint="Add --type TYPE (`seconnect carts types` lists them), or give no option at all "
                                  "to be asked for each field.")
        _add_interactively(app, name)
        return
    if name is None:
        raise UsageError("the Store Name (NAME) is missing.", hint="e.g. `seconnect carts add Shop --type Generic …`.")
    ctype = app.plugins.resolve_type(cart_type)
    given = _given_settings(ctype, assignments, user=user, script_url=script_url, store_code=store_code)
    service.check_new_settings(app.plugins, cart_type, given)  # before asking for a secret
    hidden = _read_secrets(ctype, secret_stdin)
    with app.store.begin() as conn:
        cart = service.add_cart(conn, app.plugins, name=name, cart_type=cart_type, settings=given,
                                secrets=hidden, ca_bundle=ca_bundle)
    click.echo(f"Cart {cart.name!r} ({cart.type}) saved. Next: `seconnect carts test {_quote(cart.name)}` "
               + ("to check the Script URL." if _speaks_of_scripts(ctype) else "to check the cart can be reached."))


def _add_interactively(app: App, name: str | None) -> None:
    """`carts add` with no options: each field asked in the wizard's order, then the test offered."""
    types = [reg.cart_type for reg in app.plugins.cart_types()]
    if not types:
        raise UsageError("no cart types are installed.", hint="Install a cart plugin with `seconnect plugins install SPEC`.")
    name = name or click.prompt("Store Name")
    click.echo("Cart types: " + "; ".join(f"{t.id} ({t.label})" for t in types))
    ctype = app.plugins.resolve_type(click.prompt("Cart Type", type=click.Choice([t.id for t in types],
                                                                                 case_sensitive=False)))
    given: dict[str, str] = {}
    hidden: dict[str, str] = {}
    for field in settings_mod.form_fields(ctype):
        if field["help"]:
            click.echo(printable(field["help"], lines=True))
        if field["name"] == "script_url":
            click.echo("Without https:// (all traffic is HTTPS)"
                       + (f", e.g. {ctype.script_url_example}" if ctype.script_url_example else "") + ".")
        if field["secret"]:
            value = _prompt_secret(ctype, field["name"])
            if value or field["required"]:
                hidden[field["name"]] = value
        elif field["input"] == "checkbox":
            given[field["name"]] = "true" if click.confirm(field["label"], default=False) else "false"
        else:
            value = click.prompt(field["label"] + ("" if field["required"] else " (optional)"),
                                 default="" if not field["required"] else None, show_default=False)
            if value.strip():
                given[field["name"]] = value.strip()
    ca_bundle = click.prompt("CA bundle file (optional; blank: the system's)", default="", show_default=False)
    with app.store.begin() as conn:
        cart = service.add_cart(conn, app.plugins, name=name, cart_type=ctype.id, settings=given, secrets=hidden,
                                ca_bundle=ca_bundle.strip() or None)
    click.echo(f"Cart {cart.name!r} ({cart.type}) saved.")
    what = "Test the Script URL" if _speaks_of_scripts(ctype) else "Test the connection"
    if click.confirm(f"{what} now?", default=True):
        for line in test_connection(app.plugins, cart, check_credentials=True):
            click.echo(printable(line, lines=True))
    click.echo("Next, in order: `seconnect run import-products --cart NAME --attributes options|sub-skus`, "
               "`seconnect run import-customers --cart NAME`, `seconnect params list --cart NAME`, "
               "`seconnect schedule add --cart NAME …`.")


@command.command("edit")
@click.argument("name")
@click.option("--name", "new_name", help="New Store Name.")
@click.option("--type", "cart_type", help="New cart type.")
@click.option("--set", "assignments", multiple=True, metavar="KEY=VALUE", help=_SETTING_HELP)
@click.option("--unset", multiple=True, metavar="KEY", help="Clear an optional setting (repeatable).")
@click.option("--user", help="New Cart ID / User Name.")
@click.option("--script-url", help="New Script URL (without https://).")
@click.option("--store-code", help="New Store Code ('' to clear).")
@click.option("--ca-bundle", type=click.Path(dir_okay=False), help="New CA bundle ('' to clear).")
@click.option("--secret", "--password", "change_secret", is_flag=True,
              help="Prompt for a new secret (the password), twice.")
@click.option("--secret-stdin", "--password-stdin", "secret_stdin", is_flag=True,
              help="Read a new secret (the password) from standard input.")
@click.option("--active/--inactive", default=None, help="Include the cart in `--all` jobs or not.")
@pass_app
def edit(app: App, name, new_name, cart_type, assignments, unset, user, script_url, store_code, ca_bundle,
         change_secret, secret_stdin, active) -> None:
    """Change settings of the cart NAME."""
    with app.store.begin() as conn:
        ctype = app.plugins.resolve_type(cart_type or service.get_cart(conn, name).type)
    given = _given_settings(ctype, assignments, user=user, script_url=script_url, store_code=store_code)
    hidden = _read_secrets(ctype, secret_stdin) if change_secret or secret_stdin else None
    with app.store.begin() as conn:
        cart = service.edit_cart(conn, app.plugins, name, new_name=new_name, cart_type=cart_type, settings=given,
                                 secrets=hidden, unset=unset, ca_bundle=ca_bundle, active=active)
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

    Every stored secret setting it cannot open (all of them if it is missing). For a lost key
    file: afterwards secrets can be saved under a new key. Re-enter each forgotten one with
    `carts edit NAME --secret-stdin`.
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
    data = [{"name": r.name, "type": r.type, "settings": dict(r.settings or {}), "active": bool(r.active)}
            for r in rows]
    emit(data, as_json, lambda d: table(
        [[x["name"], x["type"], ", ".join(f"{k}={v}" for k, v in x["settings"].items() if v not in ("", None)),
          "yes" if x["active"] else "no"] for x in d],
        ["NAME", "TYPE", "SETTINGS", "ACTIVE"]) if d else
        "No carts yet. Add one with `seconnect carts add NAME --type TYPE --set KEY=VALUE …` "
        "(`seconnect carts types` lists each type's settings).")


@command.command("show")
@click.argument("name", shell_complete=complete_cart_name)
@json_option
@pass_app
def show(app: App, name, as_json) -> None:
    """Show the cart NAME: settings (secrets masked), capabilities, cart-based parameters, each job's
    last run and the cart's checkpoints."""
    summary = cart_details(app.store, app.plugins, name)
    emit(summary, as_json, _show_text)


def cart_details(store, plugins, name: str) -> dict:
    """What `carts show` and the dashboard's cart page show: settings (secrets masked),
    capabilities, cart parameters, each job's last run and the checkpoints."""
    from .. import runs

    runs.reap_quietly(store)
    with store.begin() as conn:
        cart = service.get_cart(conn, name)
        active = next(r.active for r in service.list_carts(conn) if r.name == cart.name)
        last = runs.last_runs(conn, cart.id)
        checkpoints = conn.execute(select(tables.checkpoints.c.job, tables.checkpoints.c.value,
                                          tables.checkpoints.c.updated_at)
                                   .where(tables.checkpoints.c.cart_id == cart.id)
                                   .order_by(tables.checkpoints.c.job)).all()
    summary = service.cart_summary(plugins, cart, active=bool(active))
    summary["last_runs"] = last
    summary["checkpoints"] = {c.job: {"value": c.value, "updated_at": c.updated_at} for c in checkpoints}
    return summary


def _show_text(s: dict) -> str:
    width = max(17, *(len(label) + 2 for label in s["setting_labels"].values()))
    settings = [f"{s['setting_labels'][k] + ':':<{width}}{_setting_text(k, v)}" for k, v in s["settings"].items()]
    lines = [
        f"{'Store Name:':<{width}}{s['name']}",
        f"{'Cart Type:':<{width}}{s['type']} — {s['type_label']} (plugin {s['plugin']})",
        *settings,
        f"{'CA bundle:':<{width}}{s['ca_bundle'] or '(system trust store)'}",
        f"{'Active:':<{width}}{'yes' if s['active'] else 'no'}",
        *([f"{'Not usable now:':<{width}}{s['unavailable']}"] if s.get("unavailable") else []),
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


def _setting_text(name: str, value) -> str:
    if value in ("", None):
        return "(blank)"
    text = printable(value if isinstance(value, str) else json.dumps(value))
    return text + "  (https://)" if name == "script_url" else text


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
            "settings": [{"name": k, "label": ct.label_for(k), "help": prop.get("description", ""),
                          "type": prop.get("type", "string"), "secret": bool(prop.get("writeOnly")),
                          "required": k in ct.settings_schema.get("required", ())}
                         for k, prop in ct.settings.items()],
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
        for setting in d["settings"]:
            marks = ", ".join(m for m, on in (("required", setting["required"]), ("secret", setting["secret"])) if on)
            out.append(f"  --set {setting['name']}=…  {setting['label']}" + (f" ({marks})" if marks else "")
                       + (f": {setting['help']}" if setting["help"] else ""))
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
    with app.store.begin() as conn:
        cart = service.get_cart(conn, name)
    for line in test_connection(app.plugins, cart, check_credentials):
        click.echo(printable(line, lines=True))


def test_connection(plugins, cart, check_credentials: bool = False) -> list[str]:
    """Test Script URL / Test connection (`carts test` and the dashboard's button): the lines to
    show when it passed; a :class:`CartError` saying "Test failed: …" when not."""
    try:
        version = plugins.call("test_script", cart, None, check_credentials=check_credentials)
    except CartError as exc:
        exc.message = f"Test failed: {exc.message}"
        raise
    scripted = _speaks_of_scripts(plugins.resolve_type(cart.type))
    lines = [f"Test passed: {'Script version' if scripted else 'Version'}: {version}"]
    lines += [f"Warning: {warning}" for warning in getattr(version, "warnings", ())]
    check_credentials = check_credentials or getattr(version, "credentials_checked", False)
    if not scripted:
        lines.append("The credentials were accepted." if check_credentials else
                     "This test checks that the cart can be reached; add --check-credentials to check the "
                     "credentials too.")
    elif check_credentials:
        lines.append("The user name, password and store code were accepted.")
    else:
        lines.append("This test checks that the script can be reached; it does not validate the user name "
                     "and password (add --check-credentials for that).")
    return lines


def _speaks_of_scripts(ctype: CartType) -> bool:
    """SEOM's words (Script URL, Script version) are for the types whose cart is reached at a Script URL."""
    return "script_url" in ctype.settings


@command.command("webhooks")
@click.argument("name", shell_complete=complete_cart_name)
@click.option("--url", "public_url", required=True, metavar="URL",
              help="The public HTTPS base URL where carts reach `seconnect serve`, e.g. https://sync.example.com.")
@click.option("--remove", is_flag=True, help="Remove the cart's webhooks to that URL instead.")
@json_option
@pass_app
def webhooks(app: App, name, public_url, remove, as_json) -> None:
    """Register the cart's webhooks (they call `PUBLIC_URL/hooks/NAME` on `seconnect serve`), or --remove them."""
    from ..service.webhooks import register

    done = register(app.plugins, app.cart(name), public_url, remove)
    emit(done, as_json, lambda lines: "\n".join(lines) or "Nothing to do.")

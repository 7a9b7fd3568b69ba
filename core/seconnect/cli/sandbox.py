"""``seconnect sandbox``: run the sandbox cart in the foreground for trying seconnect safely.

The command is exported as the click object :data:`sandbox`; the main group adds it.
"""

from __future__ import annotations

import shlex
import signal
import threading
from pathlib import Path

import click

_SWITCH_VALUES = {"on": True, "true": True, "1": True, "yes": True,
                  "off": False, "false": False, "0": False, "no": False}


def _parse_bugs(values: tuple[str, ...], profile: str) -> dict[str, bool]:
    from ..sandbox.runtime import switch_problem

    bugs: dict[str, bool] = {}
    for item in values:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or value.strip().lower() not in _SWITCH_VALUES:
            raise click.BadParameter(f"{item!r}: expected NAME=on or NAME=off", param_hint="--bug")
        problem = switch_problem(profile, [name])
        if problem:
            raise click.BadParameter(problem, param_hint="--bug")
        bugs[name] = _SWITCH_VALUES[value.strip().lower()]
    return bugs


@click.command("sandbox")
@click.option("--profile", type=click.Choice(["interspire", "generic", "bigcommerce"]), default="interspire",
              show_default=True, help="Which cart to play: BigCommerce's SETI module (bugs included), a spec-style "
                                      "SETI script, or BigCommerce's REST API.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True, help="0 picks a free port.")
@click.option("--seed", type=int, default=1, show_default=True,
              help="Seed of the generated store data (same seed and sizes: same store).")
@click.option("--orders", type=click.IntRange(min=0), default=50, show_default=True,
              help="Orders the new store holds (about 85% downloadable in the interspire profile).")
@click.option("--products", type=click.IntRange(min=0), default=20, show_default=True,
              help="Products the new store holds (some with variations); at least 1 if there are orders.")
@click.option("--customers", type=click.IntRange(min=0), default=30, show_default=True,
              help="Registered customers the new store holds (orders add guests too).")
@click.option("--latency-ms", type=click.FloatRange(min=0), default=0, show_default=True,
              help="Delay added to every SETI reply.")
@click.option("--faults", metavar="SPEC", help="Faults to inject, e.g. '503*2,reset:0.1@downloadorders' "
                                              "(see docs/sandbox.md).")
@click.option("--bug", "bug_items", multiple=True, metavar="NAME=on|off",
              help="Turn one switch of the profile on or off (repeatable): interspire's bugs (all on by default), "
                   "generic's ignore_lastorder (off by default). See docs/sandbox.md.")
@click.option("--state", "state_dir", type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
              help="Keep the store's data (and its CA) in DIR across runs; default: a temporary directory.")
@click.option("--password", metavar="TEXT",
              help="The cart password to accept; default: generated once per --state and kept there.")
@click.option("--quota", type=click.IntRange(min=0), default=150, show_default=True,
              help="bigcommerce: API requests per window (0: no limit), as BigCommerce Standard.")
@click.option("--window-ms", type=click.IntRange(min=1), default=30_000, show_default=True,
              help="bigcommerce: length of the rate-limit window.")
@click.option("--quiet", is_flag=True, help="Do not print a line per request.")
def command(profile: str, host: str, port: int, seed: int, orders: int, products: int, customers: int,
            latency_ms: float, faults: str | None, bug_items: tuple[str, ...], state_dir: Path | None,
            password: str | None, quota: int, window_ms: int, quiet: bool) -> None:
    """Serve a simulated web store (SETI, or BigCommerce's REST API) over HTTPS until Ctrl-C."""
    from ..sandbox import FaultPlan, Sandbox

    bugs = _parse_bugs(bug_items, profile)
    if faults:
        try:
            FaultPlan.parse(faults, seed)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--faults") from None
    if password == "":
        raise click.BadParameter("must not be empty (leave it out to have one generated)", param_hint="--password")
    if orders and not products:
        raise click.BadParameter("a store with orders needs at least one product", param_hint="--products")
    log = None if quiet else (lambda line: click.echo(f"  {line}"))
    cart = Sandbox(profile, seed=seed, orders=orders, products=products, customers=customers, host=host,
                   port=port, state_dir=state_dir, latency_ms=latency_ms, faults=faults or None, bugs=bugs,
                   password=password, log=log, quota=quota or None, window_ms=window_ms)
    try:
        cart.start()
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    stop = threading.Event()
    # Ctrl-C, systemd and kill stop it cleanly. SIGINT is set explicitly: a process started in the
    # background of a script inherits SIGINT ignored, and would otherwise never stop on it.
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        _announce(cart, state_dir)
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        cart.stop()
    click.echo("Sandbox stopped.")


def _announce(cart, state_dir: Path | None) -> None:
    summary = cart.summary()
    kept = f"kept in {state_dir}" + (" (reused)" if cart.reused else "") if state_dir else "temporary"
    if cart.profile_name == "bigcommerce":
        _announce_rest(cart, summary, kept)
        return
    cart_type = "Interspire" if cart.profile_name == "interspire" else "Generic"
    store_code = f" --store-code {cart.store_code}" if cart.store_code else ""
    echo = click.echo
    echo(f"Sandbox cart '{cart.profile_name}' on https://{cart.script_url.split('/')[0]} "
         f"({summary['orders']} orders, {summary['downloadable_orders']} downloadable, "
         f"{summary['products']} products, {summary['customers']} customers; seed {cart.seed}; state {kept})")
    echo(f"  Script URL:  {cart.script_url}")
    echo(f"  User:        {cart.user}")
    echo(f"  Password:    {cart.password}")
    echo(f"  Store code:  {cart.store_code or '(blank)'}")
    echo(f"  CA cert:     {cart.ca_file}")
    if cart.bugs:
        off = [name for name, on in cart.bugs.items() if not on]
        echo(f"  Bugs:        all of BigCommerce's on{' except ' + ', '.join(off) if off else ''}")
    echo("Add it as a cart (type the password above when asked):")
    echo(f"  seconnect carts add sandbox --type {cart_type} --user {cart.user} "
         f"--script-url {shlex.quote(cart.script_url)}{store_code} --ca-bundle {shlex.quote(str(cart.ca_file))}")
    echo(f"More orders: POST https://{cart.script_url.split('/')[0]}/__sandbox/orders?count=N "
         "with header X-Sandbox-Token: <password>")
    echo("Press Ctrl-C to stop.")


def _announce_rest(cart, summary: dict, kept: str) -> None:
    echo = click.echo
    echo(f"Sandbox store 'bigcommerce' (REST API) on https://{cart.api_base}/stores/{cart.store_hash} "
         f"({summary['orders']} orders, {summary['products']} products, {summary['customers']} customers; "
         f"seed {cart.seed}; state {kept})")
    echo(f"  API base:      {cart.api_base}")
    echo(f"  Store hash:    {cart.store_hash}")
    echo(f"  Access token:  {cart.password}   (the X-Auth-Token header)")
    echo(f"  Client secret: {cart.client_secret}   (signs webhooks)")
    echo(f"  CA cert:       {cart.ca_file}")
    echo("Add it as a cart (type the access token above when asked):")
    echo(f"  seconnect carts add sandbox --type BigCommerce --set store_hash={cart.store_hash} "
         f"--set api_base={cart.api_base} --ca-bundle {shlex.quote(str(cart.ca_file))}")
    echo(f"More orders: POST https://{cart.api_base}/__sandbox/orders?count=N with header X-Sandbox-Token: <token>")
    echo("Press Ctrl-C to stop.")

"""`seconnect doctor`: every check of a working installation, each with what to do when it fails.

:func:`diagnose` returns :class:`Check` rows: the store (URL with the password masked, schema
revision), the key file (path, mode), plugins (and any that failed to load), each active cart
(Script URL reachable and credentials accepted, through the plugin's ``test_script`` hook with
``check_credentials``), the outbox (depth, parked rows, work nobody delivers), the quarantine, the
schedules (due long ago: no `seconnect serve` runs them), and each active cart's last run per job. A failing check never stops the others.
"""

from __future__ import annotations

import stat
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from . import runs, secrets
from .errors import SeconnectError
from .plugins import DISABLE_ENV, Plugins
from .store import Store, tables, utcnow

__all__ = ["Check", "diagnose", "STALE_PENDING"]

#: Outbox work (or a schedule) due longer ago than this means no worker (no `seconnect serve`) runs it.
STALE_PENDING = timedelta(minutes=15)


@dataclass
class Check:
    """One line of the report: ``status`` is ``ok``, ``problem`` or ``info`` (nothing to fix)."""

    what: str
    status: str
    detail: str
    fix: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def diagnose(open_store: Any, plugins: Plugins) -> Iterator[Check]:
    """Every check, in order; ``open_store()`` opens the store (its failure is a check too)."""
    try:
        store = open_store()
    except SeconnectError as exc:
        yield Check("store", "problem", exc.message, exc.hint)
        yield _key_file(has_passwords=None)
        yield from _plugins(plugins)
        return
    yield from _store(store)
    with store.begin() as conn:
        carts = conn.execute(select(tables.carts.c.name, tables.carts.c.id, tables.carts.c.active,
                                    tables.carts.c.secrets).order_by(tables.carts.c.name_key)).all()
    yield _key_file(has_passwords=any(token for c in carts for token in (c.secrets or {}).values()))
    yield from _plugins(plugins)
    active = [c for c in carts if c.active]
    if not carts:
        yield Check("carts", "info", "no carts defined yet",
                    "Add one with `seconnect carts add NAME --type TYPE --set KEY=VALUE …` "
                    "(`seconnect carts types` lists each type's settings).")
    elif not active:
        yield Check("carts", "info", f"no active carts ({len(carts)} inactive)",
                    "Activate one with `seconnect carts edit NAME --active`.")
    for row in active:
        yield _cart(store, plugins, row.name)
    yield from _outbox(store)
    yield from _quarantine(store)
    yield _schedules(store)
    runs.reap_quietly(store)
    for row in active:
        yield _last_runs(store, row.name, row.id)


def _store(store: Store) -> Iterator[Check]:
    from .store.migrate import current_revision
    from .store.tables import SCHEMA_REVISION

    with store.connect() as conn:
        revision = current_revision(conn)
    if revision == SCHEMA_REVISION:
        yield Check("store", "ok", f"{store.url} (schema revision {revision})")
    else:
        yield Check("store", "problem", f"{store.url} is at schema revision {revision}, expected {SCHEMA_REVISION}",
                    "Open it with this seconnect once (any command upgrades it), or upgrade seconnect.")


def _key_file(*, has_passwords: bool | None) -> Check:
    path = secrets.key_path()
    if not path.exists():
        if has_passwords:
            return Check("key file", "problem", f"{path} is missing: the carts' passwords cannot be read",
                         f"Restore the key file used when the carts were saved (or point {secrets.ENV_KEY_FILE} "
                         "at it), or re-enter each password with `seconnect carts edit NAME --password`.")
        return Check("key file", "ok", f"{path} (not created yet: made when the first cart is saved)")
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        return Check("key file", "problem", f"{path} has mode {mode:04o}: other users can read it",
                     f"Make it private: chmod 600 {path}")
    return Check("key file", "ok", f"{path} (mode {mode:04o})")


def _plugins(plugins: Plugins) -> Iterator[Check]:
    loaded = [p for p in plugins.describe() if p["cart_types"]]
    names = ", ".join(f"{p['name']} ({', '.join(p['cart_types'])})" for p in loaded)
    if loaded:
        yield Check("plugins", "ok", names)
    else:
        yield Check("plugins", "problem", "no cart plugin is loaded",
                    "Install one with `seconnect plugins install SPEC` (or reinstall seconnect).")
    for broken in plugins.broken:
        yield Check(f"plugin {broken.name}", "problem", f"could not be loaded: {broken.error}",
                    f"Fix or reinstall {broken.distribution}, remove it with `seconnect plugins uninstall "
                    f"{broken.distribution}`, or switch it off with {DISABLE_ENV}={broken.name}.")
    if plugins.disabled:
        yield Check("plugins", "info", f"switched off by {DISABLE_ENV}: {', '.join(plugins.disabled)}")


def _cart(store: Store, plugins: Plugins, name: str) -> Check:
    from .carts import get_cart

    what = f"cart {name}"
    try:
        with store.begin() as conn:
            cart = get_cart(conn, name)
        version = plugins.call("test_script", cart, None, check_credentials=True)
    except SeconnectError as exc:
        return Check(what, "problem", exc.message,
                     exc.hint or f"Check the cart's settings with `seconnect carts show {name!r}`.")
    where = f"{cart.script_url} reachable (script version {version})" if cart.script_url else \
        f"reachable (version {version})"
    return Check(what, "ok", f"{where}; credentials accepted")


def _outbox(store: Store) -> Iterator[Check]:
    from .outbox import state_counts

    o = tables.outbox
    with store.begin() as conn:
        counts = state_counts(conn)
        oldest = conn.execute(select(func.min(o.c.next_attempt_at)).where(o.c.state == "pending")).scalar()
    depth = f"{counts['pending']} pending, {counts['sending']} sending, {counts['parked']} parked"
    if counts["parked"]:
        yield Check("outbox", "problem", f"{depth}: parked rows wait for you",
                    "See why with `seconnect outbox list --state parked`; once the cause is fixed, "
                    "`seconnect outbox retry --all` sends them again.")
    elif oldest is not None and utcnow() - oldest > STALE_PENDING:
        yield Check("outbox", "problem", f"{depth}: work due since {oldest:%Y-%m-%d %H:%M} UTC is not delivered",
                    "Run a worker: `seconnect run realtime --follow` as a service, or `--once` from cron.")
    else:
        yield Check("outbox", "ok", depth)


def _quarantine(store: Store) -> Iterator[Check]:
    q = tables.quarantine
    with store.begin() as conn:
        parked = conn.execute(select(func.count()).select_from(q).where(q.c.resolved_at.is_(None))).scalar_one()
    if parked:
        yield Check("quarantine", "problem", f"{parked} records parked by imports",
                    "See why with `seconnect quarantine list`; once the cause is fixed, `seconnect quarantine retry --all`.")
    else:
        yield Check("quarantine", "ok", "nothing parked")


def _schedules(store: Store) -> Check:
    """Schedules of active carts that should have run long ago say no `seconnect serve` is running
    (it runs a missed one as soon as it starts, so a late schedule is never just slow)."""
    sc, c = tables.schedules, tables.carts
    live = sc.c.paused.is_(False) & c.c.active.is_(True)
    with store.begin() as conn:
        total, paused = conn.execute(select(func.count(), func.count().filter(sc.c.paused.is_(True)))
                                     .select_from(sc)).one()
        due = conn.execute(select(func.min(func.coalesce(sc.c.wanted_at, sc.c.next_due)))
                           .select_from(sc.join(c, c.c.id == sc.c.cart_id)).where(live)).scalar()
    if not total:
        return Check("schedules", "info", "none: jobs run only when started (by hand or from cron)",
                     "Let `seconnect serve` run them: `seconnect schedule add --cart NAME --job import-orders "
                     "--every 5m` (docs/service.md).")
    counted = f"{total} schedules ({paused} paused)"
    if due is not None and utcnow() - due > STALE_PENDING:
        return Check("schedules", "problem", f"{counted}: due since {due:%Y-%m-%d %H:%M} UTC and not run, so no "
                     "`seconnect serve` is running", "Start the service: `seconnect serve` (docs/service.md says how "
                     "under systemd or in a container); it runs each missed schedule once, at once.")
    return Check("schedules", "ok", counted + (f"; next due {due:%Y-%m-%d %H:%M} UTC" if due else ""))


def _last_runs(store: Store, name: str, cart_id: int) -> Check:
    with store.begin() as conn:
        last = runs.last_runs(conn, cart_id)
    what = f"runs of {name}"
    if not last:
        return Check(what, "info", "no job has run yet", f"Start with `seconnect run import-orders --cart {name!r}`.")
    parts = [f"{job} {r['status']} {r['started_at']:%Y-%m-%d %H:%M}" for job, r in last.items()]
    bad = [(job, r) for job, r in last.items() if r["status"] in ("failed", "abandoned")]
    if not bad:
        return Check(what, "ok", "; ".join(parts))
    fixes = [f"{job}: {r['error']}" + (f" — {r['hint']}" if r["hint"] else "") for job, r in bad]
    return Check(what, "problem", "; ".join(parts),
                 " ".join(fixes) + f" (history: `seconnect runs --cart {name!r}`)")

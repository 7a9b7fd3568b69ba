"""Cart definitions: SEOM's Shopping Carts screen as a service over the store.

Rules a merchant knows from SEOM: the Store Name is unique (case-insensitively here), the Cart
Type comes from the installed plugins, the password is entered twice, and the Script URL is
typed *without* ``https://`` — all traffic is HTTPS, so ``https://`` is accepted and stripped and
``http://`` is refused. The query string (``?action=process&accounting=stoneedge``) is kept.
"""

from __future__ import annotations

import os
import re
import shlex
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection, delete, func, insert, select, update

from . import params, secrets
from .capabilities import Capabilities
from .cartdef import CartDefinition, CartType, Secret
from .errors import NotFoundError, UsageError
from .plugins import Plugins
from .store import tables
from .tls import UnusableTrust, trust_context

__all__ = ["normalize_script_url", "add_cart", "edit_cart", "remove_cart", "get_cart", "list_carts",
           "cart_summary", "forget_passwords", "cart_holdings", "describe_holdings"]

_NAME_MAX = 100


_URL_FORM = ("host[:port]/path[?query], e.g. store-xyz.bigcommerce.com/accountinggateway.php"
             "?action=process&accounting=stoneedge (https:// may be typed; seconnect always uses it)")
# "name:" not followed by a digit starts a scheme (http:/x, mailto:x); "host:8443" is a port.
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):(?![0-9])")
_LABEL = r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
_NETLOC = re.compile(rf"(?:(?:{_LABEL}\.)*{_LABEL}\.?|\[[0-9A-Fa-f:.]+\])(?::([0-9]{{1,5}}))?")


def normalize_script_url(raw: str) -> str:
    """The Script URL as stored: host[:port]/path[?query], without scheme (a #fragment is dropped).

    Anything else is refused with the accepted form in the hint: another scheme, a scheme with
    one slash (``http:/host`` would otherwise read as host "http"), credentials, a bad host or port.
    """
    url = raw.strip()
    if any(c in url for c in "\r\n\t\x00 "):
        raise UsageError("the Script URL cannot contain spaces, tabs, line breaks or NUL characters.",
                         hint="Copy the URL again from the cart's Stone Edge settings page.")
    scheme = _SCHEME.match(url)
    if scheme:
        name, rest = scheme.group(1).lower(), url[scheme.end():]
        if name == "http":
            raise UsageError("the Script URL must not use http://: all connections to the script take place "
                             "via secure HTTP (https://).", hint=f"Type it as {_URL_FORM}.")
        if name != "https" and rest.startswith("//"):
            raise UsageError(f"the Script URL has an unsupported scheme: {name!r}.", hint=f"Type it as {_URL_FORM}.")
        if name != "https":  # mailto:x@y, host:/x
            raise UsageError(f"the Script URL {raw!r} is not a web address of a script: it starts with "
                             f"{scheme.group(0)!r}.", hint=f"Type it as {_URL_FORM}.")
        if not rest.startswith("//"):
            raise UsageError(f"the Script URL {raw!r} is not a web address: https must be followed by '://'.",
                             hint=f"Type it as {_URL_FORM}.")
        url = rest[2:]
    parts = urlsplit("https://" + url)
    if "@" in parts.netloc:
        raise UsageError("the Script URL must not carry a user name or password.",
                         hint="Give them with --user and the password prompt; they travel in the request body.")
    if not parts.netloc:
        raise UsageError(f"the Script URL {raw!r} has no host name.", hint=f"Type it as {_URL_FORM}.")
    try:  # an internationalized host name is checked in its ASCII (punycode) form
        netloc = _NETLOC.fullmatch(parts.netloc.encode("idna").decode("ascii"))
    except UnicodeError:
        netloc = None
    if not netloc:
        raise UsageError(f"the Script URL {raw!r} has an invalid host name or port: {parts.netloc!r}.",
                         hint=f"Type it as {_URL_FORM}.")
    if netloc.group(1) is not None and not 1 <= int(netloc.group(1)) <= 65535:
        raise UsageError(f"the Script URL {raw!r} has an invalid port: {netloc.group(1)} (1-65535).",
                         hint=f"Type it as {_URL_FORM}.")
    if not parts.path:
        raise UsageError(f"the Script URL {raw!r} has no path to the script.", hint=f"Type it as {_URL_FORM}.")
    return url.split("#", 1)[0]


def _check_name(name: str) -> str:
    clean = name.strip()
    if not clean:
        raise UsageError("the Store Name cannot be empty.")
    if len(clean) > _NAME_MAX or any(ord(c) < 32 for c in clean):
        raise UsageError(f"the Store Name must be at most {_NAME_MAX} printable characters.")
    return clean


def _check_ca_bundle(path: str | None) -> str | None:
    """The bundle's absolute path, once it is known to be a readable file of PEM certificates."""
    if not path:
        return None
    full = os.path.abspath(os.path.expanduser(path))
    try:
        trust_context(full)
    except UnusableTrust as exc:
        raise UsageError(f"the CA bundle {path!r} cannot be used: {exc}; nothing was saved.",
                         hint="Give the path of a PEM file with the certificate authority that signed the cart's "
                              "certificate (-----BEGIN CERTIFICATE----- …).") from None
    return full


def _validate_against_type(cart_type: CartType, fields: dict[str, Any]) -> None:
    if not cart_type.config_schema:
        return
    import jsonschema  # only when a cart is added or edited: other commands start faster

    validator = jsonschema.Draft202012Validator(cart_type.config_schema)
    errors = sorted(validator.iter_errors(fields), key=lambda e: list(e.absolute_path))
    if errors:
        lines = []
        for err in errors:
            where = ".".join(str(p) for p in err.absolute_path) or "(definition)"
            label = cart_type.label_for(where) if where in ("user", "store_code", "script_url") else where
            lines.append(f"  {label}: {err.message}")
        raise UsageError(f"the cart definition does not suit cart type {cart_type.id}:\n" + "\n".join(lines))


def _check_password(password: str) -> None:
    if any(c in password for c in "\r\n\x00"):
        raise UsageError("the password cannot contain line breaks or NUL characters.")


def _now() -> datetime:
    return datetime.now(UTC)


def _row_by_name(conn: Connection, name: str):
    row = conn.execute(select(tables.carts).where(tables.carts.c.name_key == name.strip().casefold())).first()
    if row is None:
        known = conn.execute(select(tables.carts.c.name).order_by(tables.carts.c.name_key)).scalars().all()
        raise NotFoundError(f"no cart named {name!r}.",
                            hint=("Carts: " + ", ".join(known) + ".") if known
                            else "Add one with `seconnect carts add NAME --type TYPE --user USER --script-url URL`.")
    return row


def add_cart(conn: Connection, plugins: Plugins, *, name: str, cart_type: str, user: str, password: str,
             script_url: str, store_code: str = "", ca_bundle: str | None = None) -> CartDefinition:
    name = _check_name(name)
    ctype = plugins.resolve_type(cart_type)
    url = normalize_script_url(script_url)
    _check_password(password)
    fields = {"user": user, "store_code": store_code, "script_url": url}
    _validate_against_type(ctype, fields)
    ca = _check_ca_bundle(ca_bundle)
    exists = conn.execute(select(tables.carts.c.name).where(tables.carts.c.name_key == name.casefold())).first()
    if exists:
        raise UsageError(f"a cart named {exists.name!r} already exists; Store Names must be unique.",
                         hint=f"Choose another name, or change it with `seconnect carts edit {exists.name!r}`.")
    now = _now()
    conn.execute(insert(tables.carts).values(
        name=name, name_key=name.casefold(), type=ctype.id, user_name=user,
        password_enc=_encrypt(conn, password), store_code=store_code, script_url=url,
        ca_bundle=ca, active=True, created_at=now, updated_at=now))
    return get_cart(conn, name)


def edit_cart(conn: Connection, plugins: Plugins, name: str, *, new_name: str | None = None,
              cart_type: str | None = None, user: str | None = None, password: str | None = None,
              script_url: str | None = None, store_code: str | None = None, ca_bundle: str | None = None,
              active: bool | None = None) -> CartDefinition:
    row = _row_by_name(conn, name)
    values: dict[str, Any] = {}
    if new_name is not None:
        clean = _check_name(new_name)
        clash = conn.execute(select(tables.carts.c.name).where(
            tables.carts.c.name_key == clean.casefold(), tables.carts.c.id != row.id)).first()
        if clash:
            raise UsageError(f"a cart named {clash.name!r} already exists; Store Names must be unique.")
        values.update(name=clean, name_key=clean.casefold())
    ctype = plugins.resolve_type(cart_type if cart_type is not None else row.type)
    if cart_type is not None:
        values["type"] = ctype.id
    if user is not None:
        values["user_name"] = user
    if password is not None:
        _check_password(password)
        values["password_enc"] = _encrypt(conn, password, replacing=row.id)
    if script_url is not None:
        values["script_url"] = normalize_script_url(script_url)
    if store_code is not None:
        values["store_code"] = store_code
    if ca_bundle is not None:
        values["ca_bundle"] = _check_ca_bundle(ca_bundle) if ca_bundle else None
    if active is not None:
        values["active"] = active
    if not values:
        raise UsageError("nothing to change.", hint="See `seconnect carts edit --help` for the fields.")
    _validate_against_type(ctype, {
        "user": values.get("user_name", row.user_name),
        "store_code": values.get("store_code", row.store_code) or "",
        "script_url": values.get("script_url", row.script_url),
    })
    values["updated_at"] = _now()
    conn.execute(update(tables.carts).where(tables.carts.c.id == row.id).values(**values))
    return get_cart(conn, values.get("name", row.name))


# What a cart imported, by the words `carts remove` uses for it. Checkpoints and parameters are the
# cart's bookkeeping and settings, not data: they go with any removal.
_HOLDINGS = (("orders", tables.orders), ("customer links", tables.customer_web_ids),
             ("product codes", tables.product_cart_codes), ("outbox rows", tables.outbox),
             ("quarantined records", tables.quarantine))


def cart_holdings(conn: Connection, cart_id: int) -> dict[str, int]:
    """Counts of what the cart imported or queued, only the non-zero ones."""
    counts = {word: conn.execute(select(func.count()).select_from(table).where(table.c.cart_id == cart_id))
              .scalar_one() for word, table in _HOLDINGS}
    return {word: n for word, n in counts.items() if n}


def describe_holdings(holdings: dict[str, int]) -> str:
    return ", ".join(f"{n} {word}" for word, n in holdings.items())


def remove_cart(conn: Connection, name: str, *, purge: bool = False) -> tuple[str, dict[str, int]]:
    """Remove a cart; with ``purge`` also everything it imported (in the caller's transaction).

    Without ``purge`` a cart holding imported data is refused. A purge deletes the cart's orders
    (with their lines, payments, adjustments and status history), its customer links, product
    codes and sub-SKU mappings, outbox rows, quarantine, checkpoints and parameters, and the
    customers it created that nothing else refers to. Products stay: they are the store's
    catalogue, shared by every cart. Returns the cart's name and what was deleted.
    """
    row = _row_by_name(conn, name)
    holdings = cart_holdings(conn, row.id)
    if holdings and not purge:
        quoted = shlex.quote(row.name)
        raise UsageError(f"cart {row.name!r} holds imported data ({describe_holdings(holdings)}); "
                         "nothing was removed.",
                         hint=f"Keep it out of `--all` jobs with `seconnect carts edit {quoted} --inactive`, or "
                              f"delete it with everything it imported: `seconnect carts remove {quoted} --purge`.")
    for _, table in _HOLDINGS:
        conn.execute(delete(table).where(table.c.cart_id == row.id))
    c = tables.customers
    conn.execute(delete(c).where(
        c.c.source_cart_id == row.id,
        ~select(tables.orders.c.id).where(tables.orders.c.customer_id == c.c.id).exists(),
        ~select(tables.customer_web_ids.c.customer_id).where(tables.customer_web_ids.c.customer_id == c.c.id)
        .exists()))
    for table in (tables.checkpoints, tables.params):
        conn.execute(delete(table).where(table.c.cart_id == row.id))
    conn.execute(delete(tables.carts).where(tables.carts.c.id == row.id))
    return row.name, holdings


def _encrypt(conn: Connection, password: str, *, replacing: int | None = None) -> str:
    """Encrypt under the key the other stored passwords use (never a second key beside them)."""
    query = select(tables.carts.c.password_enc).where(tables.carts.c.password_enc != "")
    if replacing is not None:
        query = query.where(tables.carts.c.id != replacing)
    secrets.check_key_for(conn.execute(query).scalars().all())
    return secrets.encrypt(password)


def forget_passwords(conn: Connection) -> list[str]:
    """Clear the stored passwords the key file cannot decrypt (every one when it is missing).

    For a lost key: afterwards the next saved password may start a new key. Returns the names
    of the carts whose password must now be entered again.
    """
    rows = conn.execute(select(tables.carts.c.id, tables.carts.c.name, tables.carts.c.password_enc)
                        .where(tables.carts.c.password_enc != "").order_by(tables.carts.c.name_key)).all()
    lost = [r for r, ok in zip(rows, secrets.decryptable([r.password_enc for r in rows]), strict=True) if not ok]
    if lost:
        conn.execute(update(tables.carts).where(tables.carts.c.id.in_([r.id for r in lost]))
                     .values(password_enc="", updated_at=_now()))
    return [r.name for r in lost]


def _stored_password(name: str, token: str) -> str:
    if not token:
        raise UsageError(f"cart {name!r} has no stored password (it was forgotten).",
                         hint=f"Enter it with `seconnect carts edit {shlex.quote(name)} --password-stdin`.")
    return secrets.decrypt(token, cart=name).reveal()


def _definition(conn: Connection, row) -> CartDefinition:
    name, token = row.name, row.password_enc
    return CartDefinition(
        id=row.id, name=row.name, type=row.type, user=row.user_name,
        password=Secret.deferred(lambda: _stored_password(name, token)), script_url=row.script_url,
        store_code=row.store_code or "", ca_bundle=row.ca_bundle,
        params=params.resolve(conn, row.id)[0])


def get_cart(conn: Connection, name: str) -> CartDefinition:
    return _definition(conn, _row_by_name(conn, name))


def list_carts(conn: Connection, *, active_only: bool = False) -> list[Any]:
    query = select(tables.carts).order_by(tables.carts.c.name_key)
    if active_only:
        query = query.where(tables.carts.c.active.is_(True))
    return list(conn.execute(query).all())


def _masked(password: Secret) -> str:
    try:
        return "********" if password.reveal() else ""
    except UsageError as exc:  # shown, not fatal: `carts show` is how a merchant looks into it
        return f"(unusable: {exc.message})"


def cart_summary(plugins: Plugins, cart: CartDefinition, *, active: bool = True) -> dict[str, Any]:
    """What `carts show` prints: fields (password masked), effective capabilities and notes."""
    ctype = plugins.find_type(cart.type)
    unavailable = None
    if ctype is None:  # its plugin is disabled or broken: the stored fields still show
        unavailable = plugins.unknown_type_error(cart.type)
        ctype = CartType(id=cart.type, label="not available", capabilities=Capabilities())
        caps = ctype.capabilities
    else:
        caps = plugins.capabilities_for(cart)
    summary = {
        "name": cart.name,
        "type": ctype.id,
        "type_label": ctype.label,
        "plugin": plugins.owner_of(ctype.id),
        "user": cart.user,
        "password": _masked(cart.password),
        "store_code": cart.store_code,
        "script_url": cart.script_url,
        "ca_bundle": cart.ca_bundle,
        "active": active,
        "field_labels": {f: ctype.label_for(f) for f in ("user", "password", "store_code", "script_url")},
        "capabilities": caps.as_dict(),
        "notes": dict(ctype.notes),
        "params": {p.name: p.format(p.of(cart)) for p in plugins.params_for(ctype.id).values() if p.scope == "cart"},
    }
    if unavailable is not None:
        summary["unavailable"] = f"{unavailable.message[0].upper()}{unavailable.message[1:]} {unavailable.hint}"
    return summary

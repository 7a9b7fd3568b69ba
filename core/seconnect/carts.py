"""Cart definitions: SEOM's Shopping Carts screen as a service over the store.

Rules a merchant knows from SEOM: the Store Name is unique (case-insensitively here), the Cart
Type comes from the installed plugins, the password is entered twice, and the Script URL is
typed *without* ``https://`` — all traffic is HTTPS, so ``https://`` is accepted and stripped and
``http://`` is refused. The query string (``?action=process&accounting=stoneedge``) is kept.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection, delete, func, insert, select, update

from . import params, secrets
from .capabilities import Capabilities, Capability
from .cartdef import CartDefinition, CartType
from .errors import NotFoundError, UsageError
from .params import PARAMS
from .plugins import Plugins
from .store import tables

__all__ = ["normalize_script_url", "add_cart", "edit_cart", "remove_cart", "get_cart", "list_carts",
           "cart_summary"]

_NAME_MAX = 100


def normalize_script_url(raw: str) -> str:
    """The Script URL as stored: host[:port]/path?query, without scheme."""
    url = raw.strip()
    if any(c in url for c in "\r\n\t\x00 "):
        raise UsageError("the Script URL cannot contain spaces, tabs, line breaks or NUL characters.",
                         hint="Copy the URL again from the cart's Stone Edge settings page.")
    lowered = url.lower()
    if lowered.startswith("http://"):
        raise UsageError("the Script URL must not use http://: all connections to the script take place "
                         "via secure HTTP (https://).",
                         hint="Type the URL without a scheme (e.g. store-xyz.bigcommerce.com/accountinggateway.php"
                              "?action=process&accounting=stoneedge); seconnect always uses https://.")
    if lowered.startswith("https://"):
        url = url[len("https://"):]
    elif "://" in url:
        raise UsageError(f"the Script URL has an unsupported scheme: {url.split('://')[0]!r}.",
                         hint="Type the URL without a scheme; seconnect always uses https://.")
    parts = urlsplit("https://" + url)
    if not parts.hostname:
        raise UsageError(f"the Script URL {raw!r} has no host name.",
                         hint="Type it as host/path, e.g. store-xyz.bigcommerce.com/accountinggateway.php"
                              "?action=process&accounting=stoneedge.")
    if parts.username or parts.password:
        raise UsageError("the Script URL must not carry a user name or password.",
                         hint="Give them with --user and the password prompt; they travel in the request body.")
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise UsageError(f"the Script URL {raw!r} has an invalid port.") from None
    if parts.fragment:
        url = url.split("#", 1)[0]
    return url


def _check_name(name: str) -> str:
    clean = name.strip()
    if not clean:
        raise UsageError("the Store Name cannot be empty.")
    if len(clean) > _NAME_MAX or any(ord(c) < 32 for c in clean):
        raise UsageError(f"the Store Name must be at most {_NAME_MAX} printable characters.")
    return clean


def _check_ca_bundle(path: str | None) -> str | None:
    if not path:
        return None
    full = os.path.abspath(os.path.expanduser(path))
    if not os.path.isfile(full):
        raise UsageError(f"the CA bundle {path!r} does not exist.",
                         hint="Give the path of a PEM file with the certificate authority that signed the cart's certificate.")
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
        password_enc=secrets.encrypt(password), store_code=store_code, script_url=url,
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
        values["password_enc"] = secrets.encrypt(password)
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


def remove_cart(conn: Connection, name: str) -> str:
    row = _row_by_name(conn, name)
    orders = conn.execute(select(func.count()).select_from(tables.orders)
                          .where(tables.orders.c.cart_id == row.id)).scalar_one()
    if orders:
        raise UsageError(f"cart {row.name!r} has {orders} imported orders; removing it would orphan them.",
                         hint=f"Deactivate it instead: `seconnect carts edit {row.name!r} --inactive`.")
    conn.execute(delete(tables.params).where(tables.params.c.cart_id == row.id))
    conn.execute(delete(tables.carts).where(tables.carts.c.id == row.id))
    return row.name


def _definition(conn: Connection, row) -> CartDefinition:
    return CartDefinition(
        id=row.id, name=row.name, type=row.type, user=row.user_name,
        password=secrets.decrypt(row.password_enc), script_url=row.script_url,
        store_code=row.store_code or "", ca_bundle=row.ca_bundle,
        params=params.resolve(conn, row.id)[0])


def get_cart(conn: Connection, name: str) -> CartDefinition:
    return _definition(conn, _row_by_name(conn, name))


def list_carts(conn: Connection, *, active_only: bool = False) -> list[Any]:
    query = select(tables.carts).order_by(tables.carts.c.name_key)
    if active_only:
        query = query.where(tables.carts.c.active.is_(True))
    return list(conn.execute(query).all())


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
        "password": "********" if cart.password else "",
        "store_code": cart.store_code,
        "script_url": cart.script_url,
        "ca_bundle": cart.ca_bundle,
        "active": active,
        "field_labels": {f: ctype.label_for(f) for f in ("user", "password", "store_code", "script_url")},
        "capabilities": caps.as_dict(),
        "notes": dict(ctype.notes),
        "params": {k: PARAMS[k].format(v) for k, v in cart.params.items() if PARAMS[k].scope == "cart"},
    }
    if unavailable is not None:
        summary["unavailable"] = f"{unavailable.message[0].upper()}{unavailable.message[1:]} {unavailable.hint}"
    if cart.params.get("UseGenericStatusUpdates") and not caps.supports(Capability.STATUS_UPDATES):
        summary["capabilities"]["status-updates"] = "generic (UseGenericStatusUpdates is TRUE)"
    return summary

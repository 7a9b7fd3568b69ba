"""Cart definitions: SEOM's Shopping Carts screen as a service over the store.

Rules a merchant knows from SEOM: the Store Name is unique (case-insensitively here), the Cart
Type comes from the installed plugins, the password is entered twice, and the Script URL is
typed *without* ``https://`` — all traffic is HTTPS, so ``https://`` is accepted and stripped and
``http://`` is refused. The query string (``?action=process&accounting=stoneedge``) is kept.

A cart's settings are one document its type's schema describes (:mod:`seconnect.settings`); its
secret settings are stored apart, each a Fernet token, and decrypted only when a plugin reveals
one, so a cart whose secret the key cannot open can still be shown, edited and removed.
"""

from __future__ import annotations

import functools
import os
import re
import shlex
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection, delete, func, insert, select, update

from . import params, secrets
from . import settings as _settings
from .capabilities import Capabilities
from .cartdef import CartDefinition, CartType, Secret
from .errors import NotFoundError, UsageError
from .plugins import Plugins
from .store import tables
from .tls import UnusableTrust, trust_context

__all__ = ["normalize_script_url", "add_cart", "edit_cart", "remove_cart", "get_cart", "list_carts",
           "check_new_settings", "cart_summary", "describe_settings", "forget_passwords", "cart_holdings",
           "describe_holdings"]

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


def _check_secrets(ctype: CartType, values: Mapping[str, str]) -> None:
    for name, value in values.items():
        if any(c in value for c in "\r\n\x00"):
            raise UsageError(f"the {ctype.label_for(name)} cannot contain line breaks or NUL characters.")


def _split(ctype: CartType, values: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The settings document as (settings, secrets)."""
    hidden = set(ctype.secret_names)
    return ({k: v for k, v in values.items() if k not in hidden},
            {k: str(v) for k, v in values.items() if k in hidden})


def _spelled(settings: Mapping[str, Any] | None, secrets: Mapping[str, str] | None, **spellings: Any
             ) -> tuple[dict[str, Any], dict[str, str]]:
    """Settings and secrets with the SETI keywords (user=, script_url=, store_code=, password=) merged in."""
    given = dict(settings or {})
    given.update({k: v for k, v in spellings.items() if k != "password" and v is not None})
    hidden = dict(secrets or {})
    if spellings.get("password") is not None:
        hidden["password"] = spellings["password"]
    return given, hidden


def _now() -> datetime:
    return datetime.now(UTC)


def _row_by_name(conn: Connection, name: str):
    row = conn.execute(select(tables.carts).where(tables.carts.c.name_key == name.strip().casefold())).first()
    if row is None:
        known = conn.execute(select(tables.carts.c.name).order_by(tables.carts.c.name_key)).scalars().all()
        raise NotFoundError(f"no cart named {name!r}.",
                            hint=("Carts: " + ", ".join(known) + ".") if known
                            else "Add one with `seconnect carts add NAME --type TYPE --set KEY=VALUE …` "
                                 "(`seconnect carts types` lists each type's settings).")
    return row


def check_new_settings(plugins: Plugins, cart_type: str, settings: Mapping[str, Any]) -> None:
    """Check the settings of a cart about to be added, before its secrets are asked for."""
    _settings.check(plugins.resolve_type(cart_type), settings, pending_secrets=True)


def add_cart(conn: Connection, plugins: Plugins, *, name: str, cart_type: str,
             settings: Mapping[str, Any] | None = None, secrets: Mapping[str, str] | None = None,
             ca_bundle: str | None = None, user: str | None = None, password: str | None = None,
             script_url: str | None = None, store_code: str | None = None) -> CartDefinition:
    """Add a cart. ``settings`` may hold strings as typed (converted by the schema); ``secrets``
    the secret settings in plain text. ``user=`` … ``password=`` are spellings of SETI settings."""
    name = _check_name(name)
    ctype = plugins.resolve_type(cart_type)
    given, hidden = _spelled(settings, secrets, user=user, script_url=script_url, store_code=store_code,
                             password=password)
    _check_secrets(ctype, hidden)
    values, hidden = _split(ctype, _settings.check(ctype, {**given, **hidden}))
    ca = _check_ca_bundle(ca_bundle)
    exists = conn.execute(select(tables.carts.c.name).where(tables.carts.c.name_key == name.casefold())).first()
    if exists:
        raise UsageError(f"a cart named {exists.name!r} already exists; Store Names must be unique.",
                         hint=f"Choose another name, or change it with `seconnect carts edit {exists.name!r}`.")
    now = _now()
    conn.execute(insert(tables.carts).values(
        name=name, name_key=name.casefold(), type=ctype.id, settings=values,
        secrets=_encrypt(conn, hidden), ca_bundle=ca, active=True, created_at=now, updated_at=now))
    return get_cart(conn, name)


def edit_cart(conn: Connection, plugins: Plugins, name: str, *, new_name: str | None = None,
              cart_type: str | None = None, settings: Mapping[str, Any] | None = None,
              secrets: Mapping[str, str] | None = None, unset: Iterable[str] = (),
              ca_bundle: str | None = None, active: bool | None = None, user: str | None = None,
              password: str | None = None, script_url: str | None = None,
              store_code: str | None = None) -> CartDefinition:
    """Change a cart: ``settings``/``secrets`` set those given, ``unset`` removes optional ones.

    Stored secrets that are not given again are kept without being decrypted.
    """
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
    given, hidden = _spelled(settings, secrets, user=user, script_url=script_url, store_code=store_code,
                             password=password)
    unset = set(unset)
    unknown = unset - set(ctype.settings)
    if unknown:
        raise UsageError(f"not a setting of cart type {ctype.id}: {', '.join(sorted(unknown))}.",
                         hint=f"Its settings: {', '.join(ctype.settings)}.")
    if ca_bundle is not None:
        values["ca_bundle"] = _check_ca_bundle(ca_bundle) if ca_bundle else None
    if active is not None:
        values["active"] = active
    if not values and not (given or hidden or unset):
        raise UsageError("nothing to change.", hint="See `seconnect carts edit --help` for the fields.")
    _check_secrets(ctype, hidden)
    stored = dict(row.secrets or {})
    kept = {k: v for k, v in stored.items() if k not in unset and k not in hidden and k in ctype.secret_names}
    document = {k: v for k, v in (row.settings or {}).items() if k not in unset and k not in ctype.secret_names}
    checked = _settings.check(ctype, {**document, **given, **hidden}, kept_secrets=kept)
    new_settings, new_secrets = _split(ctype, checked)
    if new_settings != (row.settings or {}):
        values["settings"] = new_settings
    if new_secrets or kept.keys() != stored.keys():
        values["secrets"] = {**kept, **_encrypt(conn, new_secrets, replacing=row.id)}
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


def _tokens(conn: Connection, *, other_than: int | None = None) -> list[str]:
    """Every stored secret's token (of the carts other than ``other_than``)."""
    query = select(tables.carts.c.secrets)
    if other_than is not None:
        query = query.where(tables.carts.c.id != other_than)
    return [token for doc in conn.execute(query).scalars() for token in (doc or {}).values() if token]


def refuse_new_key(conn: Connection) -> None:
    """Before anything makes a key file (e.g. the dashboard's session signing): refuse when it is
    missing while the store holds passwords encrypted under it (a new key would orphan them)."""
    if not secrets.key_path().exists():
        secrets.check_key_for(_tokens(conn))


def _encrypt(conn: Connection, secrets_: Mapping[str, str], *, replacing: int | None = None) -> dict[str, str]:
    """Encrypt under the key the other stored secrets use (never a second key beside them)."""
    if not secrets_:
        return {}
    secrets.check_key_for(_tokens(conn, other_than=replacing))
    return {name: secrets.encrypt(value) for name, value in secrets_.items()}


def forget_passwords(conn: Connection) -> list[str]:
    """Clear the stored secrets the key file cannot decrypt (every one when it is missing).

    For a lost key: afterwards the next saved secret may start a new key. Returns the names
    of the carts whose secrets must now be entered again.
    """
    lost = []
    for row in conn.execute(select(tables.carts.c.id, tables.carts.c.name, tables.carts.c.secrets)
                            .order_by(tables.carts.c.name_key)).all():
        stored = {k: v for k, v in (row.secrets or {}).items() if v}
        opens = dict(zip(stored, secrets.decryptable(list(stored.values())), strict=True))
        if not all(opens.values()):
            kept = {k: ("" if not opens.get(k, True) else v) for k, v in (row.secrets or {}).items()}
            conn.execute(update(tables.carts).where(tables.carts.c.id == row.id)
                         .values(secrets=kept, updated_at=_now()))
            lost.append(row.name)
    return lost


def _stored_secret(name: str, setting: str, token: str) -> str:
    if not token:
        word = "password" if setting == "password" else f"{setting} setting"
        raise UsageError(f"cart {name!r} has no stored {word} (it was forgotten).",
                         hint=f"Enter it with `seconnect carts edit {shlex.quote(name)} --secret-stdin`.")
    return secrets.decrypt(token, cart=name).reveal()


def _definition(conn: Connection, row) -> CartDefinition:
    return CartDefinition(
        id=row.id, name=row.name, type=row.type, settings=row.settings or {},
        secrets={setting: Secret.deferred(functools.partial(_stored_secret, row.name, setting, token))
                 for setting, token in (row.secrets or {}).items()},
        ca_bundle=row.ca_bundle, params=params.resolve(conn, row.id)[0])


def get_cart(conn: Connection, name: str) -> CartDefinition:
    return _definition(conn, _row_by_name(conn, name))


def list_carts(conn: Connection, *, active_only: bool = False) -> list[Any]:
    query = select(tables.carts).order_by(tables.carts.c.name_key)
    if active_only:
        query = query.where(tables.carts.c.active.is_(True))
    return list(conn.execute(query).all())


def _masked(secret: Secret) -> str:
    try:
        return "********" if secret.reveal() else ""
    except UsageError as exc:  # shown, not fatal: `carts show` is how a merchant looks into it
        return f"(unusable: {exc.message})"


def describe_settings(ctype: CartType, cart: CartDefinition) -> list[dict[str, Any]]:
    """Each setting of the cart's type (then any stored one it does not know) with its label and
    help; a secret's value is masked."""
    names = [*ctype.settings, *[k for k in [*cart.settings, *cart.secrets] if k not in ctype.settings]]
    shown = []
    for name in dict.fromkeys(names):
        prop = ctype.settings.get(name, {})
        secret = bool(prop.get("writeOnly")) or name in cart.secrets
        value = (_masked(cart.secret(name)) if name in cart.secrets else "") if secret else cart.settings.get(name)
        shown.append({"name": name, "label": ctype.label_for(name), "help": prop.get("description", ""),
                      "secret": secret, "value": value})
    return shown


def cart_summary(plugins: Plugins, cart: CartDefinition, *, active: bool = True) -> dict[str, Any]:
    """What `carts show` prints: settings (secrets masked), effective capabilities and notes."""
    ctype = plugins.find_type(cart.type)
    unavailable = None
    if ctype is None:  # its plugin is disabled or broken: the stored settings still show
        unavailable = plugins.unknown_type_error(cart.type)
        ctype = CartType(id=cart.type, label="not available", capabilities=Capabilities(),
                         config_schema={"type": "object", "properties": {
                             k: {"writeOnly": True} for k in cart.secrets}})
        caps = ctype.capabilities
    else:
        caps = plugins.capabilities_for(cart)
    described = describe_settings(ctype, cart)
    summary = {
        "name": cart.name,
        "type": ctype.id,
        "type_label": ctype.label,
        "plugin": plugins.owner_of(ctype.id),
        "settings": {s["name"]: s["value"] for s in described},
        "setting_labels": {s["name"]: s["label"] for s in described},
        "ca_bundle": cart.ca_bundle,
        "active": active,
        "capabilities": caps.as_dict(),
        "notes": dict(ctype.notes),
        "params": {p.name: p.format(p.of(cart)) for p in plugins.params_for(ctype.id).values() if p.scope == "cart"},
    }
    if unavailable is not None:
        summary["unavailable"] = f"{unavailable.message[0].upper()}{unavailable.message[1:]} {unavailable.hint}"
    return summary

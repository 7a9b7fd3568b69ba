"""The cart definition handed to plugins: what SEOM's Shopping Carts screen holds for one store."""

from __future__ import annotations

import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import UsageError

__all__ = ["Secret", "CartDefinition", "CartType"]


class Secret:
    """A string that never shows itself in repr, str, logs or tracebacks.

    Call :meth:`reveal` at the single place the real value is needed (the request body).
    A stored password is :meth:`deferred`: it is decrypted at its first :meth:`reveal`, so
    reading, editing or removing a cart never needs its secret (or the key) to be usable.
    """

    __slots__ = ("_value", "_load", "_present")

    def __init__(self, value: str):
        self._value: str | None = value
        self._load: Callable[[], str] | None = None
        self._present = True

    @classmethod
    def deferred(cls, load: Callable[[], str], *, present: bool = True) -> Secret:
        """A secret whose value ``load`` produces when it is first revealed (errors surface there).
        ``present=False``: one that is not stored (``load`` raises), false in a boolean test."""
        secret = cls("")
        secret._value, secret._load, secret._present = None, load, present
        return secret

    def reveal(self) -> str:
        if self._value is None:
            assert self._load is not None
            self._value = self._load()
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __reduce__(self) -> tuple:
        # Crossing to a helper process: send the value, not the loader (which may not pickle).
        return Secret, (self.reveal(),)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other.reveal() == self.reveal()

    def __hash__(self) -> int:
        return hash(self.reveal())

    def __bool__(self) -> bool:
        # A deferred secret is a stored one: present, whatever it turns out to be.
        return self._present if self._value is None else bool(self._value)


@dataclass(frozen=True, init=False)
class CartDefinition:
    """One web store as plugins see it.

    ``settings`` holds the cart's settings that are not secret, typed and valid against its cart
    type's ``config_schema``; :meth:`secret` gives a secret one (``"writeOnly": true`` in the
    schema) as a :class:`Secret`, decrypted at its first ``reveal()``. ``user``, ``password``,
    ``script_url``, ``store_code`` and ``url`` (``https://`` + ``script_url``) are conveniences for
    types whose schema has those settings (the SETI types; "" when it has not). ``ca_bundle`` is
    core's, every type has it. ``params`` holds the effective cart-based system parameters.

    Built by core; for tests, ``user=``, ``password=``, ``script_url=`` and ``store_code=`` are
    accepted as spellings of those settings (also by :func:`dataclasses.replace`).
    """

    name: str
    type: str
    settings: Mapping[str, Any]
    secrets: Mapping[str, Secret]
    ca_bundle: str | None
    params: Mapping[str, Any]
    id: int | None

    def __init__(self, name: str, type: str, settings: Mapping[str, Any] | None = None,
                 secrets: Mapping[str, Secret] | None = None, ca_bundle: str | None = None,
                 params: Mapping[str, Any] | None = None, id: int | None = None, *,
                 user: str | None = None, password: Secret | str | None = None, script_url: str | None = None,
                 store_code: str | None = None):
        values = dict(settings or {})
        for key, value in (("user", user), ("script_url", script_url), ("store_code", store_code)):
            if value is not None:
                values[key] = value
        hidden = dict(secrets or {})
        if password is not None:
            hidden["password"] = password if isinstance(password, Secret) else Secret(password)
        for key, value in (("name", name), ("type", type), ("settings", values),
                           ("secrets", hidden), ("ca_bundle", ca_bundle),
                           ("params", params if params is not None else {}), ("id", id)):
            object.__setattr__(self, key, value)

    def setting(self, name: str, default: Any = None) -> Any:
        return self.settings.get(name, default)

    def secret(self, name: str) -> Secret:
        """The secret setting ``name``; one that is not stored raises a UsageError when revealed."""
        if name in self.secrets:
            return self.secrets[name]

        def missing() -> str:
            raise UsageError(f"cart {self.name!r} has no stored {name} setting.",
                             hint=f"Enter it with `seconnect carts edit {shlex.quote(self.name)} --secret-stdin`.")
        return Secret.deferred(missing, present=False)

    @property
    def user(self) -> str:
        return self.settings.get("user", "")

    @property
    def password(self) -> Secret:
        return self.secret("password")

    @property
    def script_url(self) -> str:
        return self.settings.get("script_url", "")

    @property
    def store_code(self) -> str:
        return self.settings.get("store_code", "")

    @property
    def url(self) -> str:
        return "https://" + self.script_url

    def param(self, name: str, default: Any = None) -> Any:
        return self.params.get(name, default)


@dataclass(frozen=True)
class CartType:
    """A cart type a plugin provides (SEOM's "Cart Type" drop-down entry).

    ``config_schema`` is a JSON Schema (Draft 2020-12, ``"type": "object"``) for the cart's
    settings: each property's ``title`` and ``description`` are the field's label and help,
    ``"writeOnly": true`` marks a secret (encrypted at rest, masked everywhere), and string,
    integer, number and boolean properties can be typed on the command line (``--set KEY=VALUE``).
    A setting named ``script_url`` is a Script URL (stored without ``https://``). A schema with no
    secret at all is an older plugin's: the SETI settings (``user``, ``password``, ``store_code``,
    ``script_url``) are added to it, and ``field_labels`` names them. ``notes`` explains a
    capability state in the words a merchant knows (shown by ``carts types`` and in refusals).
    ``order_number_pattern`` is a regular expression every order number of the cart type matches
    in full, with ``order_number_example`` one such number: ``run import-orders --start-after`` is
    checked against it before the cart is asked (empty: any text is taken).
    """

    id: str
    label: str
    capabilities: Any  # seconnect.capabilities.Capabilities (Any avoids an import cycle)
    aliases: tuple[str, ...] = ()
    field_labels: Mapping[str, str] = field(default_factory=dict)
    config_schema: Mapping[str, Any] = field(default_factory=dict)
    notes: Mapping[str, str] = field(default_factory=dict)
    script_url_example: str = ""
    order_number_pattern: str = ""
    order_number_example: str = ""

    @property
    def settings_schema(self) -> Mapping[str, Any]:
        """The schema a cart's settings are checked against (an older plugin's completed)."""
        schema = dict(self.config_schema or {"type": "object"})
        props = schema.get("properties") or {}
        if any(p.get("writeOnly") for p in props.values() if isinstance(p, Mapping)):
            return schema
        legacy = {name: {**prop, **props.get(name, {})} for name, prop in _SETI_SETTINGS.items()}
        schema["properties"] = {**legacy, **props}
        schema["required"] = list(dict.fromkeys([*schema.get("required", ()), *_SETI_REQUIRED]))
        return schema

    @property
    def settings(self) -> Mapping[str, Mapping[str, Any]]:
        """Each setting's schema, by name, in the schema's order."""
        return self.settings_schema.get("properties") or {}

    @property
    def secret_names(self) -> list[str]:
        return [name for name, prop in self.settings.items() if prop.get("writeOnly")]

    def label_for(self, field_name: str) -> str:
        title = self.settings.get(field_name, {}).get("title")
        return title or self.field_labels.get(field_name, _DEFAULT_LABELS.get(field_name, field_name))


_DEFAULT_LABELS = {
    "user": "User Name",
    "password": "Cart Password",
    "store_code": "Store Code",
    "script_url": "Script URL",
}

# What every cart had before settings came from the cart type's schema.
_SETI_SETTINGS: dict[str, dict[str, Any]] = {
    "user": {"type": "string"},
    "password": {"type": "string", "writeOnly": True},
    "store_code": {"type": "string"},
    "script_url": {"type": "string", "minLength": 1},
}
_SETI_REQUIRED = ("user", "password", "script_url")

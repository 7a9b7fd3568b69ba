"""The cart definition handed to plugins: what SEOM's Shopping Carts screen holds for one store."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Secret", "CartDefinition", "CartType"]


class Secret:
    """A string that never shows itself in repr, str, logs or tracebacks.

    Call :meth:`reveal` at the single place the real value is needed (the request body).
    A stored password is :meth:`deferred`: it is decrypted at its first :meth:`reveal`, so
    reading, editing or removing a cart never needs its secret (or the key) to be usable.
    """

    __slots__ = ("_value", "_load")

    def __init__(self, value: str):
        self._value: str | None = value
        self._load: Callable[[], str] | None = None

    @classmethod
    def deferred(cls, load: Callable[[], str]) -> Secret:
        """A secret whose value ``load`` produces when it is first revealed (errors surface there)."""
        secret = cls("")
        secret._value, secret._load = None, load
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
        # A deferred secret is a stored password: present, whatever it turns out to be.
        return self._value is None or bool(self._value)


@dataclass(frozen=True)
class CartDefinition:
    """One web store as plugins see it.

    ``script_url`` is stored without scheme, as merchants type it; ``url`` adds ``https://``.
    ``params`` holds the effective cart-based system parameters (cart value, else global, else
    default), already typed.
    """

    name: str
    type: str
    user: str
    password: Secret
    script_url: str
    store_code: str = ""
    ca_bundle: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    id: int | None = None

    @property
    def url(self) -> str:
        return "https://" + self.script_url

    def param(self, name: str, default: Any = None) -> Any:
        return self.params.get(name, default)


@dataclass(frozen=True)
class CartType:
    """A cart type a plugin provides (SEOM's "Cart Type" drop-down entry).

    ``field_labels`` renames the cart-definition fields the way the cart's own setup page does
    (Interspire calls the user field "Cart ID/User Name"). ``config_schema`` is a JSON Schema
    (Draft 2020-12) for the definition's fields ``user``, ``store_code`` and ``script_url``; it is
    checked when a cart is added or edited. ``notes`` explains a capability state in the words a
    merchant knows (shown by ``carts types`` and in refusals). ``order_number_pattern`` is a
    regular expression every order number of the cart type matches in full, with
    ``order_number_example`` one such number: ``run import-orders --start-after`` is checked
    against it before the cart is asked (empty: any text is taken).
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

    def label_for(self, field_name: str) -> str:
        return self.field_labels.get(field_name, _DEFAULT_LABELS.get(field_name, field_name))


_DEFAULT_LABELS = {
    "user": "User Name",
    "password": "Cart Password",
    "store_code": "Store Code",
    "script_url": "Script URL",
}

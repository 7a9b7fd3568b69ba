"""A cart's settings, as its cart type's ``config_schema`` describes them.

Values typed on the command line (``--set KEY=VALUE``) are converted by the schema's type for the
key; the whole document is then validated, and every problem is reported at once, by the field's
title. Secrets (``"writeOnly": true``) travel apart from the other settings: see
:mod:`seconnect.carts` for how they are encrypted and stored.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .cartdef import CartType
from .errors import UsageError

__all__ = ["check", "parse_assignments", "form_fields", "SPELLINGS"]

#: Command-line options that are spellings of a setting (the SETI types' fields, kept from SEOM).
SPELLINGS = {"user": "--user", "script_url": "--script-url", "store_code": "--store-code"}

_TRUE, _FALSE = {"true", "yes", "1", "on"}, {"false", "no", "0", "off"}


def parse_assignments(pairs: Iterable[str]) -> dict[str, str]:
    """``KEY=VALUE`` strings as a mapping (the value may hold ``=``); a pair without ``=`` is refused."""
    values: dict[str, str] = {}
    for pair in pairs:
        key, eq, value = pair.partition("=")
        if not eq or not key.strip():
            raise UsageError(f"--set takes KEY=VALUE, not {pair!r}.", hint="e.g. --set store_code=42")
        values[key.strip()] = value
    return values


def _convert(prop: Mapping[str, Any], value: Any) -> Any:
    """A string typed on the command line as the schema's type for it (other values pass as given)."""
    kind = prop.get("type")
    if not isinstance(value, str) or kind in (None, "string") or isinstance(kind, list):
        return value
    text = value.strip()
    if kind == "integer":
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"{value!r} is not a whole number") from None
    if kind == "number":
        try:
            return float(text)
        except ValueError:
            raise ValueError(f"{value!r} is not a number") from None
    if kind == "boolean":
        if text.lower() in _TRUE | _FALSE:
            return text.lower() in _TRUE
        raise ValueError(f"{value!r} is not true or false")
    return value


def _how_to_give(name: str, secret: bool) -> str:
    if secret:
        return "enter it at the prompt or with --secret-stdin"
    return f"give it with {SPELLINGS[name]}" if name in SPELLINGS else f"give it with --set {name}=VALUE"


def check(ctype: CartType, given: Mapping[str, Any], *, kept_secrets: Iterable[str] = (),
          pending_secrets: bool = False) -> dict[str, Any]:
    """The settings document ``given`` converted to its schema's types and validated; a UsageError
    lists every unknown, mistyped, missing or invalid setting at once.

    Secrets stored before and not given again (``kept_secrets``) are not checked: checking them
    would need the key. With ``pending_secrets`` no secret is checked (they are asked next).
    """
    from .carts import normalize_script_url

    props = ctype.settings
    skipped = set(ctype.secret_names) if pending_secrets else set(kept_secrets) - set(given)
    problems: list[str] = []
    values: dict[str, Any] = {}
    for name, value in given.items():
        if name not in props:
            problems.append(f"  {name}: not a setting of cart type {ctype.id} (its settings: {', '.join(props)})")
            continue
        try:
            values[name] = _convert(props[name], value)
            if name == "script_url" and isinstance(value, str):
                values[name] = normalize_script_url(value)
        except ValueError as exc:
            problems.append(f"  {_label(ctype, name)}: {exc}")
        except UsageError as exc:
            problems.append(f"  {_label(ctype, name)}: {exc.message}" + (f" {exc.hint}" if exc.hint else ""))
    schema = dict(ctype.settings_schema)
    if skipped:
        schema["properties"] = {k: v for k, v in props.items() if k not in skipped}
        schema["required"] = [k for k in schema.get("required", ()) if k not in skipped]
    if not problems:
        import jsonschema  # only when a cart is added or edited: other commands start faster

        validator = jsonschema.Draft202012Validator(schema)
        for err in sorted(validator.iter_errors(values), key=lambda e: list(e.absolute_path)):
            if err.validator == "required":
                for name in [r for r in err.validator_value if r not in err.instance]:
                    secret = bool(props.get(name, {}).get("writeOnly"))
                    problems.append(f"  {_label(ctype, name)}: missing; {_how_to_give(name, secret)}")
                continue
            where = err.absolute_path[0] if err.absolute_path else None
            prop = props.get(where, {})
            shown = ("(the value is secret)" if prop.get("writeOnly")
                     else err.message)  # jsonschema's message quotes the value
            if err.validator == "pattern" and prop.get("description") and not prop.get("writeOnly"):
                # a regular expression means little to a merchant: say what the field takes
                shown = f"{err.instance!r} is not valid here; it takes {prop['description']}"
            problems.append(f"  {_label(ctype, where) if where is not None else '(settings)'}: {shown}")
    if problems:
        raise UsageError(f"the settings do not suit cart type {ctype.id}; nothing was saved:\n"
                         + "\n".join(problems),
                         hint=f"See the settings with `seconnect carts types --json` ({ctype.id}).")
    return values


def _label(ctype: CartType, name: str) -> str:
    label = ctype.label_for(name)
    return label if label == name else f"{label} ({name})"


def form_fields(ctype: CartType, cart: Any = None) -> list[dict[str, Any]]:
    """The settings a cart type asks for, in its schema's order, as the setup wizard and the
    interactive `carts add` ask for them: label (``title``), help (``description``), whether it is
    secret (``writeOnly``: never pre-filled) or required, its input kind, and ``cart``'s value."""
    required = set(ctype.settings_schema.get("required", ()))
    fields = []
    for name, prop in ctype.settings.items():
        secret = bool(prop.get("writeOnly"))
        value = None if secret or cart is None else cart.settings.get(name)
        fields.append({"name": name, "label": ctype.label_for(name), "help": prop.get("description", ""),
                       "secret": secret, "required": name in required, "enum": prop.get("enum"),
                       "input": {"integer": "number", "number": "number", "boolean": "checkbox"}.get(
                           prop.get("type", "string"), "text"),
                       "value": "" if value is None else value,
                       "is_set": bool(cart is not None and secret and cart.secrets.get(name))})
    return fields


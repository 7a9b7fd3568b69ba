"""Plugin discovery, the cart-type registry and capability-checked dispatch.

A :class:`Plugins` object is built per run by :func:`load_plugins` (never an import-time global),
so tests and embedders get a fresh manager. Plugins come from the ``seconnect`` entry-point
group — built-in ones included, exactly like a third-party package. A plugin that fails to
import or to validate is skipped and reported (name, distribution, error, way out) instead of
taking the CLI down; ``SECONNECT_DISABLE_PLUGINS=name1,name2`` blocks plugins by entry-point
name so a broken one never locks a merchant out.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

import pluggy

from . import hookspecs
from .capabilities import Capabilities, Capability, InventoryLevel, Support
from .cartdef import CartDefinition, CartType
from .errors import CapabilityError, PluginError, SeconnectError, UsageError
from .paramdef import PARAMS, Param

if TYPE_CHECKING:
    from .outbox import OutboxKinds

__all__ = ["ENTRY_POINT_GROUP", "DISABLE_ENV", "Plugins", "BrokenPlugin", "load_plugins", "plugin_distribution"]

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "seconnect"
DISABLE_ENV = "SECONNECT_DISABLE_PLUGINS"


@dataclass(frozen=True)
class BrokenPlugin:
    name: str
    distribution: str
    error: str

    def message(self) -> str:
        return (f"plugin {self.name!r} (from {self.distribution}) could not be loaded and is skipped: "
                f"{self.error}. Fix or reinstall it, remove it with `seconnect plugins uninstall "
                f"{self.distribution}`, or set {DISABLE_ENV}={self.name} to silence this.")


@dataclass(frozen=True)
class RegisteredType:
    cart_type: CartType
    plugin: str


def _plugin_bug(owner: str, hook: str, cart: CartDefinition, exc: Exception) -> PluginError:
    return PluginError(
        f"plugin {owner!r} failed in {hook} for cart {cart.name!r}: {type(exc).__name__}: {exc}",
        hint=f"This is a bug in the plugin; report it to its authors (run again with -v for the traceback), "
             f"or set {DISABLE_ENV}={owner}.")


class _CoreHooks:
    """Core's own hook wrapper around every cart operation: timing, and plugin bugs named."""

    def __init__(self, plugins: Plugins):
        self._plugins = plugins

    def _wrap(self, hook: str, cart: CartDefinition):
        started = time.perf_counter()
        try:
            result = yield
        except SeconnectError:
            raise
        except Exception as exc:  # a plugin bug, not a cart problem: say whose
            raise _plugin_bug(self._plugins.owner_of(cart.type), hook, cart, exc) from exc
        log.debug("cart %s: %s answered in %.1f ms", cart.name, hook,
                  (time.perf_counter() - started) * 1000)
        return result


def _make_wrapper(hook: str):
    # A hook implementation may take a subset of the spec's arguments; the wrapper needs only ``cart``.
    @hookspecs.hookimpl(wrapper=True)
    def wrapper(self, cart):
        return (yield from self._wrap(hook, cart))

    wrapper.__name__ = wrapper.__qualname__ = hook
    return wrapper


for _hook in hookspecs.OPERATION_HOOKS:
    setattr(_CoreHooks, _hook, _make_wrapper(_hook))


class _CoreKinds:
    """Core's own outbox kinds, registered through the hook like a plugin's (their modules are
    imported only when a run needs the outbox)."""

    @hookspecs.hookimpl
    def register_outbox_kinds(self, kinds: OutboxKinds) -> None:
        from . import status
        from .jobs import inventory

        kinds.register(inventory.KIND, inventory.deliver)
        kinds.register(inventory.CHECK_KIND, inventory.verify)
        kinds.register(status.KIND, status.deliver, on_requeue=status.requeued, on_discard=status.discarded)


#: Names under which core registers its own hook implementations (not listed as plugins).
_CORE_NAMES = frozenset({"seconnect.core", "seconnect.outbox", "seconnect.cli"})


class Plugins:
    """The plugin manager of one run, with the cart-type registry built from it."""

    def __init__(self, pm: pluggy.PluginManager, broken: list[BrokenPlugin], disabled: list[str]):
        self.pm = pm
        self.hook = pm.hook
        self.broken = broken
        self.disabled = disabled
        self._types: dict[str, RegisteredType] = {}
        self._keys: dict[str, str] = {}
        self._collect_types()
        pm.register(_CoreHooks(self), name="seconnect.core")
        pm.register(_CoreKinds(), name="seconnect.outbox")

    # -- registry ---------------------------------------------------------------------------
    def _collect_types(self) -> None:
        impls = self.pm.hook.seconnect_cart_types.get_hookimpls()
        for impl in impls:
            plugin_name = self.pm.get_name(impl.plugin) or "?"
            try:
                declared = list(impl.function() or ())
            except Exception as exc:
                self.broken.append(BrokenPlugin(plugin_name, _dist_of(plugin_name),
                                                f"seconnect_cart_types raised {type(exc).__name__}: {exc}"))
                continue
            for cart_type in declared:
                if not isinstance(cart_type, CartType) or not isinstance(cart_type.capabilities, Capabilities):
                    self.broken.append(BrokenPlugin(plugin_name, _dist_of(plugin_name),
                                                    "seconnect_cart_types must return CartType objects with Capabilities"))
                    continue
                clash = [k for k in (cart_type.id, *cart_type.aliases) if k.casefold() in self._keys]
                if clash:
                    other = self._types[self._keys[clash[0].casefold()]].plugin
                    log.warning("plugin %r declares cart type %r already provided by %r; ignored",
                                plugin_name, clash[0], other)
                    continue
                self._types[cart_type.id] = RegisteredType(cart_type, plugin_name)
                for key in (cart_type.id, *cart_type.aliases):
                    self._keys[key.casefold()] = cart_type.id

    def cart_types(self) -> list[RegisteredType]:
        return sorted(self._types.values(), key=lambda r: r.cart_type.id.casefold())

    def resolve_type(self, name: str) -> CartType:
        """The cart type for an id or alias, case-insensitively; a clear error otherwise."""
        key = self._keys.get(name.strip().casefold())
        if key is None:
            raise self.unknown_type_error(name)
        return self._types[key].cart_type

    def unknown_type_error(self, name: str) -> UsageError:
        """Why no loaded plugin provides cart type ``name``, and what to do."""
        known = ", ".join(f"{r.cart_type.id}" + (f" (alias: {', '.join(r.cart_type.aliases)})"
                                                 if r.cart_type.aliases else "")
                          for r in self.cart_types()) or "none"
        off = [*self.disabled, *(b.name for b in self.broken)]
        if not off:
            return UsageError(f"unknown cart type {name!r}.",
                              hint=f"Installed cart types: {known}. See `seconnect carts types`; a missing type "
                                   "may need its plugin installed with `seconnect plugins install`.")
        # A disabled plugin is never imported, so which types it would provide is not known here.
        why = "; ".join([*([f"disabled by {DISABLE_ENV}: {', '.join(self.disabled)}"] if self.disabled else []),
                         *([f"failed to load: {', '.join(b.name for b in self.broken)}"] if self.broken else [])])
        enable = (f"remove it from {DISABLE_ENV} (now {os.environ.get(DISABLE_ENV, '')!r}) to enable it"
                  if self.disabled else "fix or reinstall it")
        return UsageError(f"cart type {name!r} is not available: no loaded plugin provides it, and some plugins "
                          f"are off ({why}).",
                          hint=f"If the type comes from one of those plugins, {enable}. Loaded cart types: {known}. "
                               "`seconnect carts show NAME` still shows a cart of this type.")

    def find_type(self, name: str) -> CartType | None:
        """The cart type for an id or alias, or None when no loaded plugin provides it."""
        key = self._keys.get(name.strip().casefold())
        return self._types[key].cart_type if key is not None else None

    def owner_of(self, type_id: str) -> str:
        registered = self._types.get(self._keys.get(type_id.casefold(), ""))
        return registered.plugin if registered else "?"

    # -- parameters --------------------------------------------------------------------------
    @cached_property
    def params(self) -> Mapping[str, Param]:
        """Every system parameter: core's, then each cart type's (``cart_types`` says whose)."""
        found: dict[str, Param] = dict(PARAMS)
        for impl in self.pm.hook.seconnect_cart_params.get_hookimpls():
            plugin_name = self.pm.get_name(impl.plugin) or "?"
            try:
                declared = dict(impl.function() or {})
            except Exception as exc:
                log.warning("plugin %r: seconnect_cart_params raised %s: %s; its parameters are ignored",
                            plugin_name, type(exc).__name__, exc)
                continue
            for type_id, params in declared.items():
                for param in params:
                    self._add_param(found, plugin_name, str(type_id), param)
        return found

    def _add_param(self, found: dict[str, Param], plugin_name: str, type_id: str, param: Any) -> None:
        if not isinstance(param, Param) or param.scope not in ("global", "cart"):
            log.warning("plugin %r declares a parameter that is not a seconnect.Param with scope global or cart "
                        "(%r); ignored", plugin_name, param)
            return
        cart_type = self.find_type(type_id)
        if cart_type is None:
            log.warning("plugin %r declares parameter %s for cart type %r, which no loaded plugin provides; ignored",
                        plugin_name, param.name, type_id)
            return
        known = next((p for p in found.values() if p.name.casefold() == param.name.casefold()), None)
        if known is None:
            found[param.name] = replace(param, cart_types=(cart_type.id,))
        elif known.cart_types and replace(known, cart_types=()) == replace(param, cart_types=()):
            found[known.name] = replace(known, cart_types=tuple(sorted({*known.cart_types, cart_type.id}, key=str.casefold)))
        else:
            whose = f"cart type {'/'.join(known.cart_types)}" if known.cart_types else "core"
            log.warning("plugin %r declares parameter %s for %s, but %s declares it differently; ignored",
                        plugin_name, param.name, cart_type.id, whose)

    def params_for(self, type_id: str) -> Mapping[str, Param]:
        """The parameters that apply to carts of this type: core's and the type's own."""
        cart_type = self.find_type(type_id)
        wanted = cart_type.id if cart_type else type_id
        return {name: p for name, p in self.params.items() if not p.cart_types or wanted in p.cart_types}

    # -- outbox kinds --------------------------------------------------------------------------
    @cached_property
    def outbox_kinds(self) -> OutboxKinds:
        """The outbox kinds of this run and their deliverers: core's and every plugin's."""
        from .outbox import OutboxKinds

        kinds = OutboxKinds()
        self.pm.hook.register_outbox_kinds(kinds=kinds)
        return kinds

    # -- capabilities and dispatch -----------------------------------------------------------
    def capabilities_for(self, cart: CartDefinition) -> Capabilities:
        """The cart's capability matrix: a plugin's per-cart answer, else the declared one."""
        refined = self.pm.hook.capabilities(cart=cart)
        return refined if refined is not None else self.resolve_type(cart.type).capabilities

    def inventory_levels(self, cart: CartDefinition, codes: Sequence[tuple[str, str | None]]
                         ) -> list[InventoryLevel]:
        """The level of each of the cart's ``(code, web_id)`` pairs, as its plugin says
        (``product`` for every code when it says nothing)."""
        if not codes:
            return []
        answer = self.pm.hook.inventory_levels(cart=cart, codes=list(codes))
        if answer is None:
            return [InventoryLevel.PRODUCT] * len(codes)
        try:
            levels = [InventoryLevel(level) for level in answer]
        except ValueError as exc:
            raise PluginError(f"plugin {self.owner_of(cart.type)!r} answered inventory_levels for cart {cart.name!r} "
                              f"with {exc}.", hint="This is a bug in the plugin; report it to its authors.") from exc
        if len(levels) != len(codes):
            raise PluginError(f"plugin {self.owner_of(cart.type)!r} answered inventory_levels with {len(levels)} "
                              f"levels for {len(codes)} codes of cart {cart.name!r}.",
                              hint="This is a bug in the plugin; report it to its authors.")
        return levels

    def newest_order(self, cart: CartDefinition) -> str | None:
        """The cart's newest order number, if its plugin can tell (hook ``newest_order``)."""
        return self.pm.hook.newest_order(cart=cart)

    def require(self, cart: CartDefinition, capability: Capability) -> None:
        """Refuse, with the reason, an operation the cart's type does not support."""
        caps = self.capabilities_for(cart)
        state = caps.state(capability)
        if state is Support.SUPPORTED:
            return
        cart_type = self.resolve_type(cart.type)
        note = cart_type.notes.get(capability.value, "")
        why = "does not support" if state is Support.UNSUPPORTED else "does not say whether it supports"
        message = f"cart {cart.name!r} (type {cart_type.id}) {why} {capability.description} ({capability.value})."
        raise CapabilityError(message, hint=note or None)

    def call(self, hook: str, cart: CartDefinition, capability: Capability | None, **kwargs: Any) -> Any:
        """Check the capability, then call the firstresult operation hook for the cart's type."""
        if capability is not None:
            self.require(cart, capability)
        result = getattr(self.pm.hook, hook)(cart=cart, **kwargs)
        if isinstance(result, Iterator):
            # Batches are produced lazily: a plugin bug can surface while core iterates.
            return self._guarded(result, hook, cart)
        if result is None:
            raise PluginError(
                f"no installed plugin answered {hook} for cart {cart.name!r} of type {cart.type!r}.",
                hint=f"The type is provided by plugin {self.owner_of(cart.type)!r}; "
                     "it declares the capability but does not implement the hook. Report it to its authors.")
        return result

    def _guarded(self, batches: Iterator[Any], hook: str, cart: CartDefinition) -> Iterator[Any]:
        try:
            yield from batches
        except SeconnectError:
            raise
        except Exception as exc:
            raise _plugin_bug(self.owner_of(cart.type), hook, cart, exc) from exc

    # -- listing ----------------------------------------------------------------------------
    def describe(self) -> list[dict[str, Any]]:
        """One entry per loaded plugin: name, distribution version, cart types, hooks."""
        rows = []
        for name, plugin in sorted(self.pm.list_name_plugin(), key=lambda x: x[0]):
            if name in _CORE_NAMES:
                continue
            hooks = sorted(h.name for h in self.pm.get_hookcallers(plugin) or ())
            dist, version = _dist_version(name)
            rows.append({
                "name": name,
                "distribution": dist,
                "version": version,
                "cart_types": [r.cart_type.id for r in self.cart_types() if r.plugin == name],
                "hooks": hooks,
            })
        return rows


def load_plugins(extra: Iterable[tuple[str, object]] = ()) -> Plugins:
    """Build a fresh plugin manager from the entry-point group (plus ``extra`` for tests)."""
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    disabled = [n.strip() for n in os.environ.get(DISABLE_ENV, "").split(",") if n.strip()]
    broken: list[BrokenPlugin] = []
    for name in disabled:
        pm.set_blocked(name)
    candidates: list[tuple[str, str, Any]] = [
        (ep.name, _dist_name(ep), ep) for ep in entry_points(group=ENTRY_POINT_GROUP)
    ]
    candidates += [(name, "(in-process)", obj) for name, obj in extra]
    for name, dist, source in candidates:
        if pm.is_blocked(name) or pm.has_plugin(name):
            continue
        try:
            plugin = source.load() if hasattr(source, "load") and hasattr(source, "group") else source
            pm.register(plugin, name=name)
        except pluggy.PluginValidationError as exc:
            broken.append(BrokenPlugin(name, dist, f"hook validation failed: {exc}"))
        except Exception as exc:  # ImportError and anything a plugin raises at import
            broken.append(BrokenPlugin(name, dist, f"{type(exc).__name__}: {exc}"))
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        plugin_name = pm.get_name(exc.plugin) or "?"
        pm.unregister(exc.plugin)
        broken.append(BrokenPlugin(plugin_name, _dist_of(plugin_name), f"unknown hook: {exc}"))
    return Plugins(pm, broken, disabled)


def _normalise_dist(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name.strip()).casefold()


def plugin_distribution(name: str) -> str:
    """The distribution that provides plugin ``name``, given its plugin (entry-point) name or
    its distribution name as ``plugins list`` shows them; a :class:`UsageError` for anything else."""
    wanted = name.strip()
    provided = {(ep.name, _dist_name(ep)) for ep in entry_points(group=ENTRY_POINT_GROUP)}
    for plugin, dist in sorted(provided):
        if wanted.casefold() == plugin.casefold() or _normalise_dist(wanted) == _normalise_dist(dist):
            return dist
    known = ", ".join(f"{plugin} ({dist})" for plugin, dist in sorted(provided)) or "none"
    raise UsageError(f"no installed plugin or plugin distribution is called {wanted!r}.",
                     hint=f"Installed plugins (distribution): {known}. See `seconnect plugins list`.")


def _dist_name(ep) -> str:
    dist = getattr(ep, "dist", None)
    return dist.name if dist is not None else "?"


def _dist_of(plugin_name: str) -> str:
    return _dist_version(plugin_name)[0]


def _dist_version(plugin_name: str) -> tuple[str, str]:
    for ep in entry_points(group=ENTRY_POINT_GROUP, name=plugin_name):
        dist = getattr(ep, "dist", None)
        if dist is not None:
            return dist.name, dist.version
    return "(in-process)", ""

"""Product attributes as options or as sub-SKUs: SEOM's "Order Options" decision (seom-behaviour §2.5).

Each cart keeps one of two modes (``carts.attribute_mode``, chosen at its first product import):

``options``
    A variant is sold under its parent's SKU; the options the shopper chose stay on the order
    line. The cart's variant codes map to the parent product.
``sub-skus``
    Every variant is a product of its own whose SKU is built from the parent's, so stock is
    tracked per variant; order lines are translated to that sub-SKU.

The rules below are used both when products are imported and when order lines are translated,
so the two always agree:

* **option code** (:func:`option_code`): the option value's Code when the cart sent one
  (trimmed, otherwise as given), else the value's text with all whitespace and every
  occurrence of the delimiter removed ("Extra Large" → ``ExtraLarge``).
* **sub-SKU** (:func:`build_sub_sku`): parent SKU, then each non-empty option code, joined by
  the cart's ``SubSKUDelimiter`` (default ``-``): ``1234`` + Red, L → ``1234-Red-L``.
* **parent SKU** of a parent the cart never exports itself (Interspire exports only the
  combinations): the code every combination shares when there is one, else
  :func:`parent_sku_from_name`, a readable code made from the parent's name.

Why not the cart's own variant code as the sub-SKU? SEOM builds sub-SKUs from the parent and
the options, and so do we: the result is predictable from an order line alone, whatever the
cart calls the variant. The cart's own codes are kept per cart in ``product_cart_codes``.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import Connection, select

from .cartdef import CartDefinition
from .store import tables

__all__ = [
    "OPTIONS",
    "SUB_SKUS",
    "option_code",
    "build_sub_sku",
    "split_variation_name",
    "parent_sku_from_name",
    "variation_options",
    "match_variant",
    "stored_mode",
    "default_mode",
    "Translation",
    "SkuTranslator",
]

OPTIONS = "options"
SUB_SKUS = "sub-skus"

#: Order-line option types that carry free text the shopper typed, never a variant choice.
FREE_TEXT_TYPES = frozenset({"text", "memo", "file", "textarea"})
#: Longest parent SKU made from a name; long enough to stay readable, short enough for labels.
NAME_SKU_MAX = 40
#: IN-lists are split so a huge page (Interspire sends the whole catalogue at once) stays under
#: every driver's bind-parameter limit.
IN_CHUNK = 2000


def option_code(value: str | None, code: str | None, delimiter: str) -> str:
    """The code one option value contributes to a sub-SKU (rule in the module docstring)."""
    if code and code.strip():
        return code.strip()
    text = "".join((value or "").split())
    return text.replace(delimiter, "") if delimiter else text


def build_sub_sku(parent_sku: str, option_codes: Sequence[str], delimiter: str) -> str:
    """Parent SKU + delimiter + option codes, e.g. ``1234-Red-L``; empty codes are skipped.

    ``option_codes`` are codes as made by :func:`option_code`.
    """
    return delimiter.join([parent_sku, *(c for c in option_codes if c)])


_NAME_VALUES = re.compile(r"^(?P<name>.*\S)\s*\((?P<values>[^()]*)\)\s*$")


def split_variation_name(name: str) -> tuple[str, list[str]]:
    """``"Deck Lantern (Brass, Large)"`` → ``("Deck Lantern", ["Brass", "Large"])``.

    Carts name a combination after its parent with the chosen values in the last pair of
    parentheses (Interspire, the generic sandbox). A name without them is all parent name.
    A value that itself contains ", " cannot be told apart from two values.
    """
    match = _NAME_VALUES.match(name or "")
    if not match:
        return (name or "").strip(), []
    values = [v.strip() for v in match.group("values").split(",") if v.strip()]
    return match.group("name").strip(), values


def parent_sku_from_name(name: str) -> str:
    """A readable SKU for a parent known only by its name: ``"Brass Ship's Bell"`` → ``BRASS-SHIPS-BELL``.

    Words (letters and digits, any script) upper-cased and joined by ``-``; apostrophes are
    dropped rather than splitting a word; whole words up to :data:`NAME_SKU_MAX` characters.
    Empty when the name has no letters or digits (the caller then falls back to the cart's id).
    """
    folded = unicodedata.normalize("NFKC", name or "").replace("'", "").replace("\u2019", "")
    words = [w.upper() for w in re.findall(r"[^\W_]+", folded)]
    sku = words[0][:NAME_SKU_MAX] if words else ""
    for word in words[1:]:
        if len(sku) + 1 + len(word) > NAME_SKU_MAX:
            break
        sku += "-" + word
    return sku


def _norm(text: Any) -> str:
    return " ".join(str(text if text is not None else "").split()).casefold()


def variation_options(values: Sequence[str], option_lists: Sequence[Mapping[str, Any]],
                      delimiter: str) -> tuple[dict[str, str], list[str]]:
    """A variation's option values by option name, and its option codes, from its parent's lists.

    ``values`` are the chosen values in order; ``option_lists`` the parent's ``OptionLists``
    (empty when the cart sends none, as Interspire). The k-th value is looked up in the k-th
    list that has values, then in any list not used yet; a value found gets that list's name
    and its value's Code. A value found nowhere is named ``Option <k>`` (SEOM's own name for
    unnamed options) and coded from its text.
    """
    choice_lists = [ol for ol in option_lists if ol.get("values")]
    used: set[int] = set()
    named: dict[str, str] = {}
    codes: list[str] = []
    for k, value in enumerate(values):
        order = ([k] if k < len(choice_lists) else []) + [i for i in range(len(choice_lists)) if i != k]
        found = None
        for i in order:
            if i in used:
                continue
            hit = next((v for v in choice_lists[i]["values"] if _norm(v.get("name")) == _norm(value)), None)
            if hit is not None:
                found = (i, hit)
                break
        if found is None:
            name, code = f"Option {k + 1}", option_code(value, None, delimiter)
        else:
            used.add(found[0])
            name = choice_lists[found[0]].get("name") or f"Option {k + 1}"
            code = option_code(value, found[1].get("code"), delimiter)
        while name in named:  # two lists with one name: keep both values
            name += "'"
        named[name] = value
        codes.append(code)
    return named, codes


def match_variant(candidates: Iterable[tuple[Any, Mapping[str, str] | None]],
                  line_options: Sequence[Mapping[str, Any]]) -> Any | None:
    """The one candidate whose option values the order line's options select, else None.

    ``candidates`` are ``(key, option_values)`` of a parent's sub-SKUs. When every option name
    of a candidate appears on the line, values are compared by name; otherwise (names unknown,
    as with Interspire's ``Option 1``) its values must all be among the line's values — extra
    line options such as an engraving text are ignored. Text is compared ignoring case and
    spacing. When several candidates match, the one whose values are the line's first values in
    order wins; if that does not decide, nobody does.
    """
    pairs = [(_norm(o.get("name")), _norm(o.get("value"))) for o in line_options if o.get("value") is not None]
    by_name: dict[str, str] = {}
    for name, value in pairs:
        by_name.setdefault(name, value)
    line_values = [v for _, v in pairs]
    line_counts = Counter(line_values)
    hits: list[tuple[Any, list[str]]] = []
    for key, option_values in candidates:
        if not option_values:
            continue
        wanted = [(_norm(n), _norm(v)) for n, v in option_values.items()]
        if all(n in by_name for n, _ in wanted):
            ok = all(by_name[n] == v for n, v in wanted)
        else:
            ok = not (Counter(v for _, v in wanted) - line_counts)
        if ok:
            hits.append((key, [v for _, v in wanted]))
    if len(hits) == 1:
        return hits[0][0]
    in_order = [key for key, values in hits if values == line_values[:len(values)]]
    return in_order[0] if len(in_order) == 1 else None


def stored_mode(conn: Connection, cart: CartDefinition) -> str | None:
    """The attribute mode stored on the cart (None before its first product import)."""
    return conn.execute(select(tables.carts.c.attribute_mode).where(tables.carts.c.id == cart.id)).scalar()


def default_mode(cart: CartDefinition) -> str:
    """The mode a first import uses when none is asked for: the cart's BuildSubSKUs parameter."""
    return SUB_SKUS if cart.param("BuildSubSKUs", False) else OPTIONS


def chunked(items: Sequence[Any], size: int = IN_CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


# -- order-line translation ---------------------------------------------------------------------


@dataclass(frozen=True)
class Translation:
    """Where one order line lands in the store file.

    ``how`` names the rule that decided: ``cart-code`` (the cart's code for a product),
    ``sku`` (a local product with the line's SKU), ``sub-sku`` (sub-SKU mode: a parent plus the
    line's options), ``name`` (the line's product name, plus its option values in sub-SKU mode:
    Interspire lines whose SKU differs from the product Code), ``parent`` (sub-SKU mode, but no
    sub-SKU of the parent matches the line's options) or ``unmapped`` (the SKU as sent, no
    product).
    """

    local_sku: str
    product_id: int | None
    how: str


class _Product(NamedTuple):
    id: int
    sku: str
    name: str | None
    parent_id: int | None
    option_values: dict[str, str] | None


_P = tables.products
_C = tables.product_cart_codes
# Translations kept per translator: a run's lines with free-text options are each different,
# and a long run must not grow without bound (what they point at stays cached).
_TRANSLATIONS_KEPT = 50_000
_COLUMNS = (_P.c.id, _P.c.sku, _P.c.name, _P.c.parent_id, _P.c.option_values)


def _line_key(line: Mapping[str, Any]) -> tuple:
    options = tuple((o.get("name"), o.get("value"), o.get("code"), o.get("type")) for o in line.get("options") or ())
    return (line.get("sku") or "", (line.get("name") or "").strip(), options)


class SkuTranslator:
    """Translates order lines of one cart to local SKUs and products, a batch at a time.

    Rules, in order (the first that finds a product wins):

    1. the cart's code (``product_cart_codes``) → its product;
    2. a local product whose SKU is the line's SKU;
    3. in sub-SKU mode, when that product is a parent: its sub-SKU whose option values the
       line's options select, else the sub-SKU built from the line's options by the import's
       rule;
    4. the line's product name among this cart's products (Interspire variant lines whose SKU is
       neither the product Code nor any local SKU, seti-protocol §6.4) — in sub-SKU mode refined
       by the line's option values as in rule 3. A SKU that is the name of a product other than
       the line's is tried only after this rule: Interspire sends the previous line's product
       name as the SKU of a line whose product has no code (§6.3);
    5. otherwise the SKU as sent, with no product (``unmapped``): a line is never dropped.

    In options mode a line that lands on a sub-SKU is moved to its parent (the options stay on
    the line). Each call runs a handful of IN-list queries however many lines it gets, and
    everything looked up is cached for the translator's life: one transaction, or a whole
    order import run (:meth:`on` moves it to the next batch's transaction). The cache holds
    products, cart codes and names, none of which importing orders changes (sales change
    quantities only); a mapping another job adds while a run goes on is seen by the next run.
    """

    def __init__(self, conn: Connection, cart: CartDefinition, *, mode: str | None = None):
        self.conn = conn
        self.cart = cart
        self.mode = mode or stored_mode(conn, cart) or default_mode(cart)
        self.delimiter = str(cart.param("SubSKUDelimiter", "-"))
        self._by_code: dict[str, _Product | None] = {}
        self._by_sku: dict[str, _Product | None] = {}
        self._by_id: dict[int, _Product] = {}
        self._children: dict[int, list[_Product]] = {}
        self._by_name: dict[str, list[_Product]] = {}
        self._done: dict[tuple, Translation] = {}

    def on(self, conn: Connection) -> SkuTranslator:
        """Look up through ``conn`` from now on, keeping what is cached (the next batch of a run)."""
        self.conn = conn
        return self

    def translate(self, lines: Sequence[Mapping[str, Any]]) -> list[Translation]:
        if len(self._done) > _TRANSLATIONS_KEPT:
            self._done.clear()
        keys = [_line_key(line) for line in lines]
        todo = {key: line for key, line in zip(keys, lines, strict=True) if key not in self._done}
        if todo:
            self._resolve(todo)
        return [self._done[key] for key in keys]

    # -- the rules, for a batch ---------------------------------------------------------------
    def _resolve(self, todo: dict[tuple, Mapping[str, Any]]) -> None:
        skus = [key[0] for key in todo if key[0]]
        self._load(self._by_code, skus, self._code_query)
        self._load(self._by_sku, skus, self._sku_query)
        found: dict[tuple, tuple[_Product, str]] = {}
        for key in todo:
            sku = key[0]
            product = self._by_code.get(sku) if sku else None
            if product is not None:
                found[key] = (product, "cart-code")
            elif sku and self._by_sku.get(sku) is not None:
                found[key] = (self._by_sku[sku], "sku")
        # Interspire sends the previous line's product name as the SKU of a line whose product has
        # no code (§6.3): a SKU that is another product's name is tried after the line's own name.
        suspect = {key for key, (p, _) in found.items()
                   if key[1] and p.name and _norm(key[0]) == _norm(p.name) != _norm(key[1])}
        by_name = [key for key in todo if key[1] and (key not in found or key in suspect)]
        self._load_names(key[1] for key in by_name)
        named = {key: self._by_name.get(key[1], []) for key in by_name}
        related = [p for p, _ in found.values()] + [p for ps in named.values() for p in ps]
        if self.mode == SUB_SKUS:
            self._load_children([p.id for p in related])
            bases = {key: [found[key][0]] if key in found else [] for key in todo}
            for key, candidates in named.items():
                bases[key] += candidates
            built = [self._built_sku(p, todo[key]) for key, ps in bases.items() for p in ps]
            self._load(self._by_sku, [b for b in built if b], self._sku_query)
        else:
            self._load_ids([p.parent_id for p in related if p.parent_id])
        for key, line in todo.items():
            result = None
            if named.get(key):
                result = self._by_product_name(named[key], line)
            if key in found and (key not in suspect or result is None or result.product_id is None):
                result = self._refine(*found[key], line)
            self._done[key] = result or Translation(key[0], None, "unmapped")

    def _refine(self, product: _Product, how: str, line: Mapping[str, Any], sub_how: str = "sub-sku") -> Translation:
        if self.mode != SUB_SKUS:
            parent = self._by_id.get(product.parent_id) if product.parent_id else None
            target = parent or product
            return Translation(target.sku, target.id, how)
        options = line.get("options") or ()
        children = self._children.get(product.id, [])
        if options and children:
            child = match_variant(((c, c.option_values) for c in children), options)
            if child is not None:
                return Translation(child.sku, child.id, sub_how)
        built = self._by_sku.get(self._built_sku(product, line) or "") if options else None
        if built is not None and built.id != product.id:
            return Translation(built.sku, built.id, sub_how)
        return Translation(product.sku, product.id, "parent" if children else how)

    def _by_product_name(self, candidates: list[_Product], line: Mapping[str, Any]) -> Translation:
        if self.mode != SUB_SKUS:
            lifted = {t.id: t for t in (self._by_id.get(p.parent_id, p) if p.parent_id else p
                                        for p in candidates)}
            if len(lifted) == 1:
                target = next(iter(lifted.values()))
                return Translation(target.sku, target.id, "name")
        else:
            if len(candidates) == 1:
                return self._refine(candidates[0], "name", line, sub_how="name")
            options = line.get("options") or ()
            pool = [(c, c.option_values) for p in candidates for c in self._children.get(p.id, [])]
            child = match_variant(pool, options) if options else None
            if child is not None:
                return Translation(child.sku, child.id, "name")
        return Translation(line.get("sku") or "", None, "unmapped")

    def _built_sku(self, product: _Product, line: Mapping[str, Any]) -> str | None:
        """The sub-SKU the import would have built for this parent and the line's choices."""
        codes = [option_code(o.get("value"), o.get("code"), self.delimiter) for o in line.get("options") or ()
                 if o.get("value") is not None and (o.get("type") or "").casefold() not in FREE_TEXT_TYPES]
        return build_sub_sku(product.sku, codes, self.delimiter) if codes else None

    # -- cached look-ups ----------------------------------------------------------------------
    def _code_query(self, chunk: Sequence[str]):
        return select(*_COLUMNS, _C.c.code.label("key")).join(_C, _C.c.product_id == _P.c.id).where(
            _C.c.cart_id == self.cart.id, _C.c.code.in_(chunk))

    @staticmethod
    def _sku_query(chunk: Sequence[str]):
        return select(*_COLUMNS, _P.c.sku.label("key")).where(_P.c.sku.in_(chunk))

    def _load(self, cache: dict[str, _Product | None], keys: Iterable[str], query) -> None:
        missing = sorted({k for k in keys if k not in cache})
        for chunk in chunked(missing):
            for row in self.conn.execute(query(chunk)):
                cache[row.key] = self._keep(row)
        for k in missing:
            cache.setdefault(k, None)

    def _keep(self, row: Any) -> _Product:
        product = _Product(row.id, row.sku, row.name, row.parent_id, row.option_values)
        self._by_id[product.id] = product
        return product

    def _load_ids(self, ids: Iterable[int]) -> None:
        missing = sorted({i for i in ids if i not in self._by_id})
        for chunk in chunked(missing):
            for row in self.conn.execute(select(*_COLUMNS).where(_P.c.id.in_(chunk))):
                self._keep(row)

    def _load_children(self, parent_ids: Iterable[int]) -> None:
        missing = sorted({i for i in parent_ids if i not in self._children})
        for i in missing:
            self._children[i] = []
        for chunk in chunked(missing):
            for row in self.conn.execute(select(*_COLUMNS).where(_P.c.parent_id.in_(chunk)).order_by(_P.c.id)):
                self._children[row.parent_id].append(self._keep(row))

    def _load_names(self, names: Iterable[str]) -> None:
        """Products of this cart by name: those it maps, and parents of sub-SKUs it maps."""
        missing = sorted({n for n in names if n not in self._by_name})
        for n in missing:
            self._by_name[n] = []
        child = _P.alias("child")
        for chunk in chunked(missing):
            direct = select(*_COLUMNS).join(_C, _C.c.product_id == _P.c.id).where(
                _C.c.cart_id == self.cart.id, _P.c.name.in_(chunk))
            parents = select(*_COLUMNS).join(child, child.c.parent_id == _P.c.id).join(
                _C, _C.c.product_id == child.c.id).where(_C.c.cart_id == self.cart.id, _P.c.name.in_(chunk))
            seen: set[int] = set()
            for query in (direct, parents):
                for row in self.conn.execute(query):
                    if row.id not in seen:
                        seen.add(row.id)
                        self._by_name[row.name].append(self._keep(row))

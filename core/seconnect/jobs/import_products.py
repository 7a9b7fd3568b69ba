"""`seconnect run import-products` — SEOM's "Import product records from the website".

Every product record the cart exports becomes (or updates) a local product, and the cart's code
for it is kept per cart in ``product_cart_codes`` (code → local product, the cart's web id and
the QOH the cart reported). A rerun updates what it created before; it never duplicates.

**Attributes.** Before the first import the merchant decides, per cart, whether variants are
sold as *options* of their parent or as *sub-SKUs* (:mod:`seconnect.subskus`): ``attributes``,
else the mode stored on the cart, else the cart's ``BuildSubSKUs`` parameter. The first real
import stores the choice on the cart; a later, different choice is refused unless ``rebuild``
is given, because (as SEOM warns) changing it breaks the translation of order lines.

**Variation records** (``record["variation"]``, set by the cart's plugin):

* sub-SKU mode: each variation is a local product whose ``parent_id`` is its parent and whose
  SKU is built by :func:`~seconnect.subskus.build_sub_sku` (option names and codes from the
  parent's ``OptionLists`` when it has them); its cart code maps to it. A built SKU that another
  variant or another parent's product already holds gets ``<delimiter><combination id>``
  appended. Keyed by the cart's WebID, so combinations that all share their parent's Code (as
  Interspire's do, bug §6.6-10) still become one sub-SKU each; their code row is then the
  combination's own address as the plugin gives it (``variation.address``; without one,
  ``<code> [<web id>]``, a key only), since the shared code cannot tell them apart.
  (Combinations flagged as sharing a code but sent with different codes are taken at their
  word: the codes.)
* options mode: a variation has no local product; its code row (as in sub-SKU mode: a shared
  code's row is the combination's own address) maps to the parent.
* a parent the cart does not export (Interspire) is created from its variations: SKU = the
  parent code the plugin names or the code the combinations share, else
  :func:`~seconnect.subskus.parent_sku_from_name`
  (``-<parent web id>`` appended if another product already holds that SKU); name = the
  parent's name; price = the lowest variation price. Its own code row is the shared code, else
  the parent code the plugin names, else its name (Interspire addresses a codeless product by
  name), with the sum of its variations' QOH.
* variations are applied after their parent: one whose parent record has not arrived yet waits
  until it does, or until the end of the download (then the parent is found locally or made).

**Quantities.** ``cart_qoh`` is always what the cart said. The local ``qoh`` is taken from the
cart only for a product this import creates — in options mode a parent it creates without a
quantity of its own (made from its variations, or one whose stock the cart keeps per variation)
gets its variations' total, as ``inventory-get`` gives it; a parent of sub-SKUs keeps none (its
sub-SKUs hold the stock). An existing product's quantity is never overwritten by a product
import (``inventory get`` does that, deliberately and audited). Each
quantity taken notes the cart and its newest order, asked before the download, so that the
sales the figure already includes are not taken off again (docs/inventory.md).

**Transactions.** Each downloaded batch is written in one transaction. A ``rebuild`` is
all-or-nothing instead: the whole catalogue is downloaded first, then the cart's code mapping
is deleted and written again in one transaction (existing local products, sub-SKUs included,
are kept with their stock and history and re-linked by SKU). ``dry_run`` runs exactly the same
code in one transaction that is rolled back, so its ``planned`` list is what a real run would
do; nothing is committed and no run is recorded (on PostgreSQL, id sequences may advance).

Invalid records (schema, or a variation that names no parent) are quarantined with the reason
and the rest imports; a quarantined record that imports cleanly later is marked resolved.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Connection, bindparam, exists, func, select, update

from ..capabilities import Capability
from ..cartdef import CartDefinition
from ..errors import UsageError
from ..inventory import note_sources, order_mark
from ..plugins import Plugins
from ..store import Store, tables, upsert, utcnow
from ..store.tables import ATTRIBUTE_MODES
from ..subskus import (
    SUB_SKUS,
    build_sub_sku,
    chunked,
    default_mode,
    parent_sku_from_name,
    stored_mode,
    variation_options,
)
from .base import JobRun, RecordCheck, cart_lock, quarantine_record

__all__ = ["JOB", "import_products"]

JOB = "import-products"
_P, _C, _Q = tables.products, tables.product_cart_codes, tables.quarantine
_FIELDS = ("name", "description", "price", "cost", "weight", "taxable", "discontinued")


class _DryRun(Exception):
    """Raised to roll back a dry run's transaction."""


def import_products(store: Store, plugins: Plugins, cart: CartDefinition, *, attributes: str | None = None,
                    rebuild: bool = False, dry_run: bool = False,
                    progress: Callable[[int], None] | None = None,
                    on_wait: Callable[[], None] | None = None) -> dict[str, Any]:
    """Import product records from the website; returns the run's summary.

    :param attributes: ``"options"`` or ``"sub-skus"``; None keeps the cart's stored choice.
    :param rebuild: allow a different choice, and re-create the cart's code mapping.
    :param dry_run: change nothing; ``summary["planned"]`` lists ``{sku, parent, cart_code,
        action}`` per record, action one of create, update, link (an existing local product
        gets this cart's code), map (options mode: a variant code onto its parent), quarantine.
    :param progress: called with the number of records in each batch received.
    :param on_wait: called once if another import of this cart holds the lock and we wait.

    Summary: cart, attributes, received, created, updated, sub_skus (variation records stored
    as sub-SKUs), mapped (variation records mapped onto their parent), quarantined, and
    ``planned`` for a dry run; ``orphaned_sub_skus`` after a rebuild into options mode.
    """
    plugins.require(cart, Capability.IMPORT_PRODUCTS)
    if attributes is not None and attributes not in ATTRIBUTE_MODES:
        raise UsageError(f"attributes must be {' or '.join(ATTRIBUTE_MODES)}, not {attributes!r}.")
    batch_size = int(cart.param("DownloadBatchSize", 50))
    if dry_run:
        with cart_lock(store, JOB, cart, on_wait=on_wait):
            importer = _start(store, cart, attributes, rebuild, plan=True)
            batches = list(_download(plugins, cart, batch_size, progress))
            try:
                with store.begin() as conn:
                    importer.whole(conn, batches, rebuild=rebuild)
                    raise _DryRun
            except _DryRun:
                pass
        return importer.summary
    with JobRun(store, JOB, cart) as run, cart_lock(store, JOB, cart, on_wait=on_wait):
        importer = _start(store, cart, attributes, rebuild, plan=False)
        importer.mark = order_mark(store, plugins, cart)
        run.summary = importer.summary  # the same dict: a failed run keeps its partial counts
        batches = _download(plugins, cart, batch_size, progress)
        if rebuild:
            collected = list(batches)
            with store.begin() as conn:
                importer.whole(conn, collected, rebuild=True)
        else:
            for records in batches:
                with store.begin() as conn:
                    importer.feed(conn, records)
            for groups in importer.held_chunks(batch_size):
                with store.begin() as conn:
                    importer.apply_held(conn, groups)
            with store.begin() as conn:
                importer.store_mode(conn)  # an empty catalogue still settles the choice
    return importer.summary


def _start(store: Store, cart: CartDefinition, asked: str | None, rebuild: bool, *, plan: bool) -> _Importer:
    with store.connect() as conn:
        stored = stored_mode(conn, cart)
    if asked is None:
        mode = stored or default_mode(cart)
    elif stored and asked != stored and not rebuild:
        raise UsageError(
            f"cart {cart.name!r} imports product attributes as {stored}; it cannot switch to {asked} "
            "just like that.",
            hint="SEOM warns that changing how attributes are handled once sub-SKUs exist breaks the "
                 "translation of order lines. To switch anyway (back up first), run the import again with "
                 "--rebuild: it re-creates this cart's sub-SKU mapping from a fresh download, keeping every "
                 "local product and its stock. Try it with --dry-run first.")
    else:
        mode = asked
    return _Importer(cart, mode, mode_stored=stored == mode and not rebuild, plan=plan)


def _download(plugins: Plugins, cart: CartDefinition, batch_size: int,
              progress: Callable[[int], None] | None) -> Iterator[list[dict]]:
    for records in plugins.call("import_products", cart, Capability.IMPORT_PRODUCTS, batch_size=batch_size):
        records = list(records)
        if progress:
            progress(len(records))
        yield records


@dataclass
class _Parent:
    """A product variations attach to, as known in this run."""

    id: int
    sku: str
    option_lists: list = field(default_factory=list)
    made: bool = False  # built from its variations (the cart does not export it)
    web_id: str | None = None
    row_code: str | None = None  # a made parent's own code row
    qoh_sum: int | None = None
    holds_total: bool = False  # options mode, made by this run without a quantity of its own


def _variation(record: Mapping[str, Any]) -> Mapping[str, Any]:
    return record.get("variation") or {}


def _shared(record: Mapping[str, Any]) -> bool:
    return bool(_variation(record).get("code_is_shared"))


def _parent_code(record: Mapping[str, Any]) -> str | None:
    var = _variation(record)
    return var.get("parent_code") or (record["code"] if var.get("code_is_shared") else None)


def _parent_key(record: Mapping[str, Any]) -> tuple[str, str]:
    var = _variation(record)
    if var.get("parent_web_id"):
        return ("web", str(var["parent_web_id"]))
    code = _parent_code(record)
    return ("code", code) if code else ("name", var.get("parent_name") or "")


def _row_code(record: Mapping[str, Any]) -> str:
    """A variation's code row: its Code, or its own address when the Code is shared."""
    if not _shared(record):
        return record["code"]
    return _variation(record).get("address") or f"{record['code']} [{record.get('web_id')}]"


def _unshare_distinct_codes(records: list[dict]) -> None:
    """A parent's combinations flagged as sharing one Code, but sent with different codes, do
    not share it (a cart that does give combinations their own SKU): trust the codes."""
    flagged = [i for i, r in enumerate(records) if _shared(r)]
    if len(flagged) > 1 and len({records[i]["code"] for i in flagged}) == len(flagged):
        for i in flagged:
            records[i] = {**records[i], "variation": {**records[i]["variation"], "code_is_shared": False}}


def _external_id(record: Any) -> str | None:
    if not isinstance(record, dict):
        return None
    value = record.get("web_id") or record.get("code")
    return str(value) if value is not None else None


def _lowest_price(records: Sequence[Mapping[str, Any]]) -> str | None:
    prices = []
    for r in records:
        try:
            prices.append(Decimal(str(r.get("price"))))
        except (InvalidOperation, ValueError):
            continue
    return str(min(prices)) if prices else None


def _add_qoh(total: int | None, qoh: int | None) -> int | None:
    return total if qoh is None else (qoh if total is None else total + qoh)


class _Importer:
    """The state of one import run; each method works inside the caller's transaction."""

    def __init__(self, cart: CartDefinition, mode: str, *, mode_stored: bool, plan: bool):
        self.cart = cart
        self.mode = mode
        self.delimiter = str(cart.param("SubSKUDelimiter", "-"))
        self.check = RecordCheck("product")
        self.summary: dict[str, Any] = {"cart": cart.name, "attributes": mode, "received": 0, "created": 0,
                                        "updated": 0, "sub_skus": 0, "mapped": 0, "quarantined": 0}
        self.planned: list[dict[str, Any]] | None = [] if plan else None
        if plan:
            self.summary["planned"] = self.planned
        self._mode_stored = mode_stored
        self._by_web: dict[str, _Parent] = {}
        self._by_code: dict[str, _Parent] = {}
        self._by_name: dict[str, _Parent] = {}
        self._held: dict[tuple[str, str], list[dict]] = {}
        self._sub_sku_owner: dict[str, str] = {}  # sub-SKU -> row code of the variation given it
        self._counted_parents: set[int] = set()
        self._parked: set[str | None] = set()  # external ids quarantined in this run
        self.mark: str | None = None  # the cart's newest order when the download began

    # -- entry points ---------------------------------------------------------------------------
    def store_mode(self, conn: Connection) -> None:
        if not self._mode_stored:
            conn.execute(update(tables.carts).where(tables.carts.c.id == self.cart.id).values(
                attribute_mode=self.mode, updated_at=utcnow()))
            self._mode_stored = True

    def feed(self, conn: Connection, records: Sequence[Any]) -> None:
        """One downloaded batch."""
        self.store_mode(conn)
        self.summary["received"] += len(records)
        good = self._screen(conn, records)
        plain = [r for r in good if not r.get("variation")]
        if plain:
            self._apply_plain(conn, plain)
        ready: dict[tuple[str, str], list[dict]] = {}
        for key in [k for k, held in self._held.items() if self._known_parent(held[0])]:
            ready[key] = self._held.pop(key)
        for record in (r for r in good if r.get("variation")):
            target = ready if self._known_parent(record) else self._held
            target.setdefault(_parent_key(record), []).append(record)
        if ready:
            self._apply_variations(conn, ready)
        self._resolve_quarantined(conn, plain + [r for records in ready.values() for r in records])

    def held_chunks(self, size: int) -> Iterator[dict[tuple[str, str], list[dict]]]:
        """Variations still waiting for their parent, a parent's variations never split."""
        chunk: dict[tuple[str, str], list[dict]] = {}
        count = 0
        for key in sorted(self._held):
            chunk[key] = self._held[key]
            count += len(chunk[key])
            if count >= size:
                yield chunk
                chunk, count = {}, 0
        if chunk:
            yield chunk
        self._held.clear()

    def apply_held(self, conn: Connection, groups: dict[tuple[str, str], list[dict]]) -> None:
        self.store_mode(conn)
        self._apply_variations(conn, groups)
        self._resolve_quarantined(conn, [r for records in groups.values() for r in records])

    def whole(self, conn: Connection, batches: Sequence[Sequence[Any]], *, rebuild: bool) -> None:
        """Every batch in the caller's one transaction (rebuild, dry run)."""
        self.store_mode(conn)
        kept = self._clear_mapping(conn) if rebuild else {}
        for records in batches:
            self.feed(conn, records)
        for groups in self.held_chunks(10**9):
            self.apply_held(conn, groups)
        if rebuild:
            self._restore_sent_qoh(conn, kept)
            if self.mode != SUB_SKUS:
                self.summary["orphaned_sub_skus"] = self._orphaned_sub_skus(conn)

    # -- screening and quarantine ---------------------------------------------------------------
    def _screen(self, conn: Connection, records: Sequence[Any]) -> list[dict]:
        good, bad = [], []
        for record in records:
            problems = self.check.problems(record)
            if not problems and isinstance(record, dict) and record.get("variation"):
                var = record["variation"]
                if not (var.get("parent_web_id") or var.get("parent_code") or var.get("parent_name")
                        or var.get("code_is_shared")):
                    problems = ["$.variation: names no parent (parent_web_id, parent_code or parent_name)"]
            (bad if problems else good).append((record, problems))
        if bad:
            self._quarantine(conn, bad)
        return [r for r, _ in good]

    def _quarantine(self, conn: Connection, bad: list[tuple[Any, list[str]]]) -> None:
        """Park each bad record once: a full re-download sends the same bad record every run."""
        ids = sorted({i for i in (_external_id(r) for r, _ in bad) if i is not None})
        parked: set[tuple[str | None, str | None]] = set()
        base = select(_Q.c.external_id, _Q.c.payload).where(
            _Q.c.cart_id == self.cart.id, _Q.c.kind == "product", _Q.c.resolved_at.is_(None))
        for chunk in chunked(ids):
            parked.update(tuple(r) for r in conn.execute(base.where(_Q.c.external_id.in_(chunk))))
        if any(_external_id(r) is None for r, _ in bad):
            parked.update(tuple(r) for r in conn.execute(base.where(_Q.c.external_id.is_(None))))
        for record, problems in bad:
            external_id = _external_id(record)
            reason = "; ".join(problems)
            if (external_id, json.dumps(record, default=str, ensure_ascii=False)) not in parked:
                quarantine_record(conn, self.cart, "product", external_id, reason, record)
            self._parked.add(external_id)
            self.summary["quarantined"] += 1
            code = record.get("code") if isinstance(record, dict) else None
            self._plan(code if isinstance(code, str) else None, None, code if isinstance(code, str) else None,
                       "quarantine", reason=reason)

    def _resolve_quarantined(self, conn: Connection, stored: Sequence[Mapping[str, Any]]) -> None:
        """A record parked by an earlier run that has now been stored is no longer parked."""
        ids = sorted({i for i in map(_external_id, stored) if i is not None and i not in self._parked})
        for chunk in chunked(ids):
            conn.execute(update(_Q).where(
                _Q.c.cart_id == self.cart.id, _Q.c.kind == "product", _Q.c.resolved_at.is_(None),
                _Q.c.external_id.in_(chunk)).values(resolved_at=utcnow()))

    # -- plain records (products, and parents that the cart exports) ----------------------------
    def _apply_plain(self, conn: Connection, records: list[dict]) -> None:
        by_code = {r["code"]: r for r in records}  # one code sent twice: the last one wins
        mapped = self._rows_by(conn, "code", list(by_code))
        local = self._products_by_sku(conn, [c for c in by_code if c not in mapped])
        creates, changes, rows = [], [], []
        skus: dict[str, str] = {}
        for code, record in by_code.items():
            hit = mapped.get(code) or local.get(code)
            if hit is None:
                creates.append(_new_product(record, code, qoh=record.get("qoh")))
                continue
            product_id = hit.product_id if code in mapped else hit.id
            changes.append(_changes(product_id, record))
            skus[code] = hit.sku
            rows.append(self._row(code, product_id, record.get("web_id"), record.get("qoh")))
            self._plan(hit.sku, None, code, "update" if code in mapped else "link")
        created = self._insert(conn, creates)
        untracked = {pid for code, pid in created.items() if by_code[code].get("qoh") is None}
        for code, product_id in created.items():
            skus[code] = code
            record = by_code[code]
            rows.append(self._row(code, product_id, record.get("web_id"), record.get("qoh")))
            self._plan(code, None, code, "create")
        self._sourced(conn, [pid for code, pid in created.items() if by_code[code].get("qoh") is not None])
        self._update(conn, changes)
        self._write_rows(conn, rows)
        self.summary["created"] += len(creates)
        self.summary["updated"] += len(changes)
        for row in rows:
            record = by_code[row["code"]]
            parent = _Parent(row["product_id"], skus[row["code"]], list(record.get("option_lists") or ()),
                             holds_total=self.mode != SUB_SKUS and row["product_id"] in untracked)
            self._by_code[row["code"]] = parent
            if record.get("web_id"):
                self._by_web[str(record["web_id"])] = parent

    # -- variations -----------------------------------------------------------------------------
    def _known_parent(self, record: Mapping[str, Any]) -> _Parent | None:
        kind, key = _parent_key(record)
        found = {"web": self._by_web, "code": self._by_code, "name": self._by_name}[kind].get(key)
        if found is None and kind == "web" and _parent_code(record):
            found = self._by_code.get(_parent_code(record) or "")
        return found

    def _apply_variations(self, conn: Connection, groups: dict[tuple[str, str], list[dict]]) -> None:
        for records in groups.values():
            _unshare_distinct_codes(records)
        parents: dict[tuple[str, str], _Parent] = {}
        unknown: dict[tuple[str, str], list[dict]] = {}
        for key, records in groups.items():
            parent = self._known_parent(records[0])
            if parent is None:
                unknown[key] = records
            else:
                parents[key] = parent
        if unknown:
            parents.update(self._find_or_make_parents(conn, unknown))
        if self.mode == SUB_SKUS:
            self._store_sub_skus(conn, groups, parents)
        else:
            self._map_to_parents(conn, groups, parents)
        rows, totals = [], {}
        for key, records in groups.items():
            parent = parents[key]
            if parent.made or parent.holds_total:
                for record in records:
                    parent.qoh_sum = _add_qoh(parent.qoh_sum, record.get("qoh"))
            if parent.made and parent.row_code:
                rows.append(self._row(parent.row_code, parent.id, parent.web_id, parent.qoh_sum))
            if parent.holds_total and parent.qoh_sum is not None:
                totals[parent.id] = parent.qoh_sum
        self._write_rows(conn, rows)
        if totals:  # a running total: a parent's variations may come in several batches
            conn.execute(update(_P).where(_P.c.id == bindparam("t_id")).values(qoh=bindparam("t_qoh")),
                         [{"t_id": pid, "t_qoh": qoh} for pid, qoh in sorted(totals.items())])
            self._sourced(conn, sorted(totals))

    def _find_or_make_parents(self, conn: Connection, groups: dict[tuple[str, str], list[dict]]
                              ) -> dict[tuple[str, str], _Parent]:
        """Parents the cart does not export: this cart's row for them, a product with their SKU, or new."""
        samples = {key: records[0] for key, records in groups.items()}
        webs = {key: str(_variation(r)["parent_web_id"]) for key, r in samples.items()
                if _variation(r).get("parent_web_id")}
        by_web = self._rows_by(conn, "web_id", list(webs.values()))
        wanted: dict[tuple[str, str], str] = {}
        for key, record in samples.items():
            if webs.get(key) not in by_web:
                var = _variation(record)
                wanted[key] = (_parent_code(record) or parent_sku_from_name(var.get("parent_name") or "")
                               or f"PRODUCT-{webs.get(key) or var.get('combination_id') or record['code']}")
        local = self._products_by_sku(conn, list(wanted.values()))
        claimed = self._claimed(conn, [p.id for p in local.values()])
        taken: set[str] = set()
        for key, sku in wanted.items():
            web = webs.get(key)
            hit = local.get(sku)
            if sku in taken or (hit is not None and not self._may_link(hit, web, claimed, not _parent_code(samples[key]))):
                sku, hit = self._suffixed(conn, sku, web or str(len(taken)), taken)
                local[sku] = hit
            wanted[key] = sku
            taken.add(sku)
        row_codes = {key: _parent_code(r) or _variation(r).get("parent_name") or None for key, r in samples.items()}
        existing_rows = self._rows_by(conn, "code", [c for c in row_codes.values() if c])

        found: dict[tuple[str, str], tuple[int, str, str]] = {}  # key -> (id, sku, action)
        creates = {}
        for key, records in groups.items():
            if webs.get(key) in by_web:
                hit = by_web[webs[key]]
                found[key] = (hit.product_id, hit.sku, "update")
            elif local.get(wanted[key]) is not None:
                found[key] = (local[wanted[key]].id, wanted[key], "link")
            else:
                creates[key] = _new_product(self._parent_record(records), wanted[key], qoh=None)
        new_ids = self._insert(conn, list(creates.values()))
        for key, values in creates.items():
            found[key] = (new_ids[values["sku"]], values["sku"], "create")
        self._update(conn, [_changes(found[key][0], self._parent_record(groups[key]))
                            for key in groups if found[key][2] != "create"])

        parents = {}
        for key, (product_id, sku, action) in found.items():
            row_code = row_codes[key]
            if row_code and row_code in existing_rows and existing_rows[row_code].product_id != product_id:
                row_code = None  # the code already names another product of this cart
            parent = _Parent(product_id, sku, made=True, web_id=webs.get(key), row_code=row_code,
                             holds_total=self.mode != SUB_SKUS and action == "create")
            parents[key] = parent
            kind, value = key
            {"web": self._by_web, "code": self._by_code, "name": self._by_name}[kind][value] = parent
            if row_code:
                self._by_code.setdefault(row_code, parent)
            if product_id not in self._counted_parents:
                self._counted_parents.add(product_id)
                self.summary["created" if action == "create" else "updated"] += 1
                self._plan(sku, None, row_code, action)
        return parents

    @staticmethod
    def _may_link(hit: Any, web: str | None, claimed: dict[int, str | None], from_name: bool) -> bool:
        """Whether an existing product with a made parent's SKU is that parent: not a sub-SKU,
        and, for a SKU made from a name, not mapped by this cart under another parent's web id."""
        return hit.parent_id is None and (not from_name or claimed.get(hit.id, web) == web)

    def _suffixed(self, conn: Connection, sku: str, suffix: str, taken: set[str]) -> tuple[str, Any]:
        """``<sku>-<suffix>`` (then ``-2``, ``-3``…) for a parent whose SKU is taken: the first
        that is free or already this parent's."""
        base = candidate = f"{sku}-{suffix}"
        for n in range(2, 1000):
            hit = self._products_by_sku(conn, [candidate]).get(candidate)
            if candidate not in taken and (hit is None or self._may_link(
                    hit, suffix, self._claimed(conn, [hit.id]), True)):
                return candidate, hit
            candidate = f"{base}-{n}"
        raise UsageError(f"no free SKU near {base!r} for a product made from its variations.")

    def _parent_record(self, records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """What a made parent takes from its variations."""
        first = records[0]
        return {"name": _variation(first).get("parent_name") or first.get("name"),
                "description": first.get("description"), "price": _lowest_price(records),
                "taxable": first.get("taxable"),
                "discontinued": all(bool(r.get("discontinued")) for r in records)}

    def _store_sub_skus(self, conn: Connection, groups: dict[tuple[str, str], list[dict]],
                        parents: dict[tuple[str, str], _Parent]) -> None:
        records = [r for rs in groups.values() for r in rs]
        by_web = self._rows_by(conn, "web_id", [str(r["web_id"]) for r in records if r.get("web_id")])
        by_code = self._rows_by(conn, "code", [r["code"] for r in records if not _shared(r)])
        changes, rows, pending = [], [], []
        for key, group in groups.items():
            parent = parents[key]
            for record in group:
                named, codes = variation_options(_variation(record).get("values") or [], parent.option_lists,
                                                 self.delimiter)
                code = _row_code(record)
                hit = by_web.get(str(record.get("web_id"))) or (None if _shared(record) else by_code.get(code))
                if hit is not None and hit.product_id != parent.id:
                    changes.append(_changes(hit.product_id, record, parent_id=parent.id, option_values=named))
                    rows.append(self._row(code, hit.product_id, record.get("web_id"), record.get("qoh")))
                    self._sub_sku_owner[hit.sku] = code
                    self._counted(hit.sku, parent.sku, code, "update")
                    continue
                sku = build_sub_sku(parent.sku, codes, self.delimiter)
                if sku == parent.sku:
                    sku = build_sub_sku(parent.sku, [self._variant_suffix(record)], self.delimiter)
                pending.append((record, parent, named, code, sku))
        creates, placed = self._place_sub_skus(conn, pending, changes, rows)
        created = self._insert(conn, creates)
        for sku, product_id in created.items():
            record, parent, code = placed[sku]
            rows.append(self._row(code, product_id, record.get("web_id"), record.get("qoh")))
            self._counted(sku, parent.sku, code, "create")
        self._sourced(conn, [pid for sku, pid in created.items() if placed[sku][0].get("qoh") is not None])
        self._update(conn, changes)
        self._write_rows(conn, rows)

    def _place_sub_skus(self, conn: Connection, pending: list, changes: list, rows: list
                        ) -> tuple[list[dict], dict[str, tuple]]:
        """Link built sub-SKUs that exist locally, create the others; a SKU another variant or
        another parent already holds gets the variant's combination id appended (one retry,
        then the record is quarantined)."""
        creates: list[dict] = []
        placed: dict[str, tuple] = {}
        for _attempt in (1, 2):
            local = self._products_by_sku(conn, [p[4] for p in pending])
            clashes = []
            for record, parent, named, code, sku in pending:
                hit = local.get(sku)
                owner = self._sub_sku_owner.get(sku)
                if (owner is not None and owner != code) or (hit is not None and (
                        hit.parent_id not in (None, parent.id) or (hit.option_values and hit.option_values != named))):
                    clashes.append((record, parent, named, code,
                                    build_sub_sku(sku, [self._variant_suffix(record)], self.delimiter)))
                    continue
                self._sub_sku_owner[sku] = code
                if hit is not None:
                    changes.append(_changes(hit.id, record, parent_id=parent.id, option_values=named))
                    rows.append(self._row(code, hit.id, record.get("web_id"), record.get("qoh")))
                    self._counted(sku, parent.sku, code, "link")
                else:
                    creates.append(_new_product(record, sku, qoh=record.get("qoh"), parent_id=parent.id,
                                                option_values=named))
                    placed[sku] = (record, parent, code)
            pending = clashes
            if not pending:
                break
        if pending:
            self._quarantine(conn, [(r, [f"$.variation: its sub-SKU {sku!r} is already another product's SKU"])
                                    for r, _, _, _, sku in pending])
        return creates, placed

    def _variant_suffix(self, record: Mapping[str, Any]) -> str:
        return str(_variation(record).get("combination_id") or record.get("web_id") or record["code"])

    def _map_to_parents(self, conn: Connection, groups: dict[tuple[str, str], list[dict]],
                        parents: dict[tuple[str, str], _Parent]) -> None:
        rows = []
        for key, group in groups.items():
            parent = parents[key]
            for record in group:
                self.summary["mapped"] += 1
                code = _row_code(record)
                rows.append(self._row(code, parent.id, record.get("web_id"), record.get("qoh")))
                self._plan(parent.sku, None, code, "map")
        self._write_rows(conn, rows)

    def _counted(self, sku: str, parent_sku: str, code: str, action: str) -> None:
        self.summary["created" if action == "create" else "updated"] += 1
        self.summary["sub_skus"] += 1
        self._plan(sku, parent_sku, code, action)

    # -- rebuild --------------------------------------------------------------------------------
    def _clear_mapping(self, conn: Connection) -> dict[str, tuple[int, int]]:
        """Delete the cart's code rows, returning what was last sent to each code."""
        kept = {r.code: (r.product_id, r.last_sent_qoh) for r in conn.execute(
            select(_C.c.code, _C.c.product_id, _C.c.last_sent_qoh).where(
                _C.c.cart_id == self.cart.id, _C.c.last_sent_qoh.is_not(None)))}
        conn.execute(_C.delete().where(_C.c.cart_id == self.cart.id))
        return kept

    def _restore_sent_qoh(self, conn: Connection, kept: dict[str, tuple[int, int]]) -> None:
        """A code that still names the same product keeps what was last sent to it."""
        same = []
        for chunk in chunked(sorted(kept)):
            for row in conn.execute(select(_C.c.code, _C.c.product_id).where(
                    _C.c.cart_id == self.cart.id, _C.c.code.in_(chunk))):
                if kept[row.code][0] == row.product_id:
                    same.append({"k_code": row.code, "k_sent": kept[row.code][1]})
        if same:
            conn.execute(update(_C).where(_C.c.cart_id == self.cart.id, _C.c.code == bindparam("k_code"))
                         .values(last_sent_qoh=bindparam("k_sent")), same)

    def _orphaned_sub_skus(self, conn: Connection) -> int:
        """Sub-SKUs of this cart's products that no cart maps any more (kept, with their stock)."""
        mapped_parents = select(_C.c.product_id).where(_C.c.cart_id == self.cart.id)
        return conn.execute(select(func.count()).select_from(_P).where(
            _P.c.parent_id.in_(mapped_parents), ~exists().where(_C.c.product_id == _P.c.id))).scalar_one()

    # -- store access ---------------------------------------------------------------------------
    def _rows_by(self, conn: Connection, column: str, keys: Sequence[str]) -> dict[str, Any]:
        """This cart's code rows whose ``column`` (code or web_id) is one of ``keys``, with their product."""
        found: dict[str, Any] = {}
        wanted = sorted(set(keys))
        # Ordered by the looked-up column first: ORDER BY code alone makes SQLite walk the cart's
        # whole (cart_id, code) key, skipping the web_id index, on every batch.
        query = select(_C.c.code, _C.c.web_id, _C.c.product_id, _P.c.sku, _P.c.parent_id).join(
            _P, _P.c.id == _C.c.product_id).where(_C.c.cart_id == self.cart.id).order_by(_C.c[column], _C.c.code)
        for chunk in chunked(wanted):
            for row in conn.execute(query.where(_C.c[column].in_(chunk))):
                found.setdefault(getattr(row, column), row)
        return found

    def _products_by_sku(self, conn: Connection, skus: Sequence[str]) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for chunk in chunked(sorted(set(skus))):
            for row in conn.execute(select(_P.c.id, _P.c.sku, _P.c.parent_id, _P.c.option_values).where(
                    _P.c.sku.in_(chunk))):
                found[row.sku] = row
        return found

    def _claimed(self, conn: Connection, product_ids: Sequence[int]) -> dict[int, str | None]:
        """For products this cart already maps: the web id it maps them under."""
        claimed: dict[int, str | None] = {}
        # The cart is checked here: with cart_id in the WHERE, SQLite scans the cart's every row
        # instead of using the product_id index.
        for chunk in chunked(sorted(set(product_ids))):
            for row in conn.execute(select(_C.c.cart_id, _C.c.product_id, _C.c.web_id).where(
                    _C.c.product_id.in_(chunk)).order_by(_C.c.product_id, _C.c.code)):
                if row.cart_id == self.cart.id:
                    claimed.setdefault(row.product_id, row.web_id)
        return claimed

    def _insert(self, conn: Connection, rows: list[dict]) -> dict[str, int]:
        """Insert new products; their ids by SKU.

        Rows go in SKU order and a SKU that appeared meanwhile (another cart's import committing
        the same SKU on a shared PostgreSQL store) is linked instead of failing the batch.
        """
        if not rows:
            return {}
        rows = sorted(rows, key=lambda r: r["sku"])
        ids = {r.sku: r.id for r in upsert(conn, _P, rows, ["sku"], [], returning=["id", "sku"])}
        raced = [r for r in rows if r["sku"] not in ids]
        if raced:
            ids.update({r.sku: r.id for r in self._products_by_sku(conn, [r["sku"] for r in raced]).values()})
            self._update(conn, [_changes(ids[r["sku"]], r, **({"parent_id": r["parent_id"],
                                                                "option_values": r["option_values"]}
                                                               if r["parent_id"] else {})) for r in raced])
        return ids

    def _update(self, conn: Connection, changes: list[dict]) -> None:
        """Descriptive fields the record carries (an absent one keeps its value); never ``qoh``."""
        plain = [c for c in changes if "u_parent_id" not in c]
        subs = [c for c in changes if "u_parent_id" in c]
        values: dict[str, Any] = {name: func.coalesce(bindparam(f"u_{name}", type_=_P.c[name].type), _P.c[name])
                                  for name in _FIELDS}
        values["updated_at"] = bindparam("u_updated_at", type_=_P.c.updated_at.type)
        if plain:
            conn.execute(update(_P).where(_P.c.id == bindparam("u_id")).values(**values), plain)
        if subs:
            values.update(parent_id=bindparam("u_parent_id", type_=_P.c.parent_id.type),
                          option_values=bindparam("u_option_values", type_=_P.c.option_values.type))
            conn.execute(update(_P).where(_P.c.id == bindparam("u_id")).values(**values), subs)

    def _row(self, code: str, product_id: int, web_id: Any, qoh: int | None) -> dict[str, Any]:
        return {"cart_id": self.cart.id, "code": code, "product_id": product_id,
                "web_id": str(web_id) if web_id is not None else None, "cart_qoh": qoh, "updated_at": utcnow()}

    def _write_rows(self, conn: Connection, rows: list[dict]) -> None:
        if rows:
            upsert(conn, _C, rows, ["cart_id", "code"], ["product_id", "web_id", "cart_qoh", "updated_at"])

    def _sourced(self, conn: Connection, product_ids: list[int]) -> None:
        """Products whose local quantity this run took from the cart."""
        if product_ids:
            note_sources(conn, self.cart, product_ids, self.mark)

    def _plan(self, sku: str | None, parent: str | None, cart_code: str | None, action: str, **extra: Any) -> None:
        if self.planned is not None:
            self.planned.append({"sku": sku, "parent": parent, "cart_code": cart_code, "action": action, **extra})


def _new_product(record: Mapping[str, Any], sku: str, *, qoh: int | None, parent_id: int | None = None,
                 option_values: dict[str, str] | None = None) -> dict[str, Any]:
    now = utcnow()
    taxable = record.get("taxable")
    return {"sku": sku, "name": record.get("name"), "description": record.get("description"),
            "price": record.get("price"), "cost": record.get("cost"), "weight": record.get("weight"),
            "taxable": True if taxable is None else bool(taxable), "discontinued": bool(record.get("discontinued")),
            "parent_id": parent_id, "option_values": option_values, "qoh": qoh, "created_at": now,
            "updated_at": now}


def _changes(product_id: int, record: Mapping[str, Any], **sub_sku: Any) -> dict[str, Any]:
    change = {f"u_{name}": record.get(name) for name in _FIELDS}
    change.update({"u_id": product_id, "u_updated_at": utcnow()})
    change.update({f"u_{k}": v for k, v in sub_sku.items()})
    return change


def store_batch(store: Store, conn: Connection, cart: CartDefinition, records: Sequence[Any]) -> dict[str, Any]:
    """Store ``records`` in the caller's transaction the way an import stores one downloaded batch
    (with the cart's stored attribute choice), then, as at the end of a download, any variation
    still waiting for its parent. Used by ``quarantine retry``; returns the summary, whose
    ``planned`` lists each record's action (``quarantine`` with the ``reason`` when it fails)."""
    importer = _start(store, cart, None, False, plan=True)
    importer.feed(conn, records)
    for groups in importer.held_chunks(int(cart.param("DownloadBatchSize", 50))):
        importer.apply_held(conn, groups)
    return importer.summary

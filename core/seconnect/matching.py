"""Explainable customer matching: SEOM's ``CustomerSearchField1..4``, without its failure modes.

When an order or a customer record is imported, the customer it belongs to is found like this:

1. **Identity link** — the cart's own customer id (``web_id``; an order's ``WebCustomerID``) is
   already linked to a customer for *this* cart in ``customer_web_ids``: that customer, always.
2. **The rules**, in parameter order (``"None"`` skipped): the first rule that finds exactly
   one existing customer wins. Several candidates make a rule ambiguous: it is skipped (never
   guessed) and the result's ``detail`` says which customers collided.
3. Otherwise a **new customer** is created from the record, with its match keys filled.

Whatever found it, the record's web id is then linked to the customer, so the next import of
the same account is an identity hit.

Rules and their keys (columns of ``customers``):

- ``Email``: trimmed, lower-cased address (``email_norm``).
- ``Phone``: the number as typed, whitespace-normalised: ``(519) 555-8300`` and
  ``519-555-8300`` are *different* here, as in SEOM (looked up through ``phone_digits``).
- ``Phone - No Formatting``: digits only (``phone_digits``); a written NANP country code
  (``+1 …``, ``1-…``) is dropped so ``+1 519 555 8300`` equals ``519.555.8300``.
- ``WebID``: the cart's customer id, recognised across *other* cart definitions of the same
  web store (same Script URL) — e.g. a store defined again after a re-setup. Ids of different
  stores are unrelated numbers and never match (customer 5 of store A is not customer 5 of
  store B); within one definition the identity link already covers it.
- ``Name, Address, Zip``: accent- and case-folded first + last name, street line 1 and postal
  code (``name_address_key``; ZIP+4 reduced to the ZIP).

Placeholders never match anything: blank, ``"0"``, ``"n/a"``, ``"none"``, ``"-"``, fake phones
(fewer than 7 digits, one repeated digit, ``1234567…``), e-mails without a usable ``@`` or with
a ``noemail``/``test``-style mailbox. Carts that send blank contact data as ``"0"`` would
otherwise merge every guest into one customer (SEOM's own knowledge base reports exactly that).
Placeholders are also not copied into customer records: a blank is stored as NULL.

Decisions:

- Matching links records **for history only**. It never rewrites the incoming order's names
  or addresses, and an order never changes the customer it matched.
- A **customer record** (``fill_blanks=True``, used by the customer import) that matches an
  existing customer fills only that customer's *blank* fields with the newer data and never
  overwrites a non-blank one: the merchant's edits and the first-seen data win, nothing is lost
  silently. The address is one block — it is filled only into a customer that has none (a
  stored state or country must agree), so streets and cities of two addresses are never mixed.
- Everything is batch-shaped: one query per rule per batch (``IN`` lists), bookkeeping in
  memory, bulk inserts and updates. Customers created earlier in a batch are matched by later
  records of the same batch (a guest who ordered twice gets one customer).
- On PostgreSQL the matcher takes a transaction-level advisory lock, so two workers importing
  at once cannot both create the same customer; it is released when the batch commits.
  SQLite's write transaction (``Store.begin``) already serialises writers.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, text, update
from sqlalchemy.sql.expression import bindparam

from .cartdef import CartDefinition
from .params import PARAMS
from .store import tables, upsert

__all__ = [
    "CustomerFacts",
    "MatchResult",
    "CustomerMatcher",
    "RULES",
    "WEB_ID_LINK",
    "CREATED",
    "facts_from_order",
    "facts_from_customer",
    "normalize_email",
    "phone_digits",
    "phone_text",
    "name_address_key",
    "key_columns",
    "is_placeholder",
    "split_full_name",
]

EMAIL = "Email"
PHONE = "Phone"
PHONE_DIGITS = "Phone - No Formatting"
WEB_ID = "WebID"
NAME_ADDRESS = "Name, Address, Zip"
#: The rule names, as the CustomerSearchField parameters spell them.
RULES = (EMAIL, PHONE, PHONE_DIGITS, WEB_ID, NAME_ADDRESS)
#: ``MatchResult.rule`` when the record's web id was already linked to a customer of this cart.
WEB_ID_LINK = "web id link"
#: ``MatchResult.rule`` when no customer matched and one was created.
CREATED = "created"

# Rows per IN list: far below SQLite's and PostgreSQL's bound-parameter limits even when a
# script hands over every customer in one batch.
_IN_CHUNK = 5000

_PLACEHOLDER_WORDS = frozenset({
    "0", "00", "000", "n/a", "na", "n.a.", "n.a", "none", "null", "nil", "-", "--", ".", "unknown",
    "undefined", "x", "xx", "xxx", "tbd", "?", "not available", "not provided", "no email", "no phone",
})
_PLACEHOLDER_MAILBOXES = frozenset({
    "noemail", "nomail", "none", "null", "na", "noreply", "donotreply", "dontreply", "unknown", "test",
    "email", "nobody", "invalid", "no", "void", "fake",
})
_PLACEHOLDER_MAIL_DOMAINS = frozenset({"test.com", "invalid", "example.invalid", "noemail.com", "none.com"})
_FAKE_SEQUENCES = ("0123456789", "1234567890")
_NANP_PREFIX = re.compile(r"^\s*(?:\+\s*1|00\s*1|1(?=[\s.\-(]))")
_ZIP_PLUS4 = re.compile(r"^(\d{5})-?\d{4}$")
_WEB_ID_NONE = re.compile(r"^(-?0+|-1)$")  # "0", "000", "-1": carts' spellings of "no account"
# Placeholder words that are also real names (Korean "Na", Turkish "Nil"): kept in name fields.
_NAME_WORDS = frozenset({"na", "nil"})
_NAME_PARTICLES = frozenset({"van", "von", "der", "den", "de", "da", "di", "del", "della", "la", "le", "du",
                             "dos", "das", "bin", "ibn", "al", "st.", "ter", "ten"})
_NAME_SUFFIXES = frozenset({"jr", "sr", "ii", "iii", "iv", "md", "phd", "esq"})

_ADDRESS = ("street1", "street2", "city", "state", "postal_code", "country")
_CONTACT = ("first_name", "last_name", "company", "email", "phone")
_KEYS = ("email_norm", "phone_digits", "name_address_key")
_KIND = {"email": "email", "phone": "phone", "web_id": "web_id", "first_name": "name", "last_name": "name"}


# --------------------------------------------------------------------------------------------
# values


def _text(value: Any) -> str | None:
    if value is None:
        return None
    out = " ".join(str(value).split())
    return out or None


def is_placeholder(value: Any, kind: str | None = None) -> bool:
    """True for values that say "nothing here" and must never identify a customer.

    ``kind`` adds the checks of one field: ``"email"`` (no usable ``@``, placeholder
    mailboxes such as ``noemail@…``, ``test@test.com``), ``"phone"`` (under 7 digits, one
    repeated digit, ``1234567…``) or ``"web_id"`` (``0``, ``-1``); ``"name"`` spares words
    that are also real names ("Na"). Without it, only the generic checks run, plus the
    e-mail ones when the value contains ``@``.
    """
    v = _text(value)
    if v is None:
        return True
    folded = v.casefold()
    if kind == "name" and folded in _NAME_WORDS:
        return False
    if folded in _PLACEHOLDER_WORDS or not any(ch.isalnum() for ch in v):
        return True
    compact = folded.replace(" ", "")
    if set(compact) in ({"0"}, {"x"}):  # 0000, xxx (other repeated digits can be real: ids, zips)
        return True
    if kind == "email" or (kind is None and "@" in v):
        return _placeholder_email(folded)
    if kind == "phone":
        return _placeholder_phone(v)
    if kind == "web_id":
        return bool(_WEB_ID_NONE.match(compact))
    return False


def _placeholder_email(folded: str) -> bool:
    if folded.count("@") != 1 or " " in folded:
        return True
    mailbox, domain = folded.split("@")
    if not mailbox or "." not in domain.strip(".") or domain in _PLACEHOLDER_MAIL_DOMAINS:
        return True
    bare = re.sub(r"[^a-z]", "", mailbox.split("+")[0])
    return bare in _PLACEHOLDER_MAILBOXES


def _digits_of(value: str) -> str:
    digits = re.sub(r"\D", "", value)
    prefix = _NANP_PREFIX.match(value)
    if prefix:
        plus_ones = re.sub(r"\D", "", prefix.group(0))  # "1" or "001"
        rest = digits[len(plus_ones):]
        if len(rest) == 10:
            return rest
    return digits


def _placeholder_phone(value: str) -> bool:
    digits = _digits_of(value)
    if len(digits) < 7 or len(set(digits)) == 1:
        return True
    return any(seq.startswith(digits) or digits.startswith(seq) for seq in _FAKE_SEQUENCES)


def _clean(value: Any, kind: str | None = None) -> str | None:
    """The value trimmed, or None when it is blank or a placeholder."""
    v = _text(value)
    return None if v is None or is_placeholder(v, kind) else v


def normalize_email(value: Any) -> str | None:
    """The ``Email`` match key: trimmed and lower-cased; None when blank or a placeholder."""
    v = _clean(value, "email")
    return v.lower() if v else None


def phone_digits(value: Any) -> str | None:
    """The ``Phone - No Formatting`` key: the digits (a written ``+1`` country code dropped);
    None when blank or a placeholder."""
    v = _clean(value, "phone")
    return _digits_of(v) if v else None


def phone_text(value: Any) -> str | None:
    """The ``Phone`` key: the number as typed, whitespace-normalised; None for placeholders."""
    v = _clean(value, "phone")
    return v.casefold() if v else None


def _fold(value: str) -> str:
    decomposed = unicodedata.normalize("NFKD", value)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    return " ".join("".join(ch if ch.isalnum() else " " for ch in bare).split())


def _postal(value: str) -> str:
    compact = re.sub(r"[\s]", "", value).upper()
    plus4 = _ZIP_PLUS4.match(compact)
    return plus4.group(1) if plus4 else re.sub(r"[^0-9A-Z]", "", compact)


def name_address_key(first: Any, last: Any, street1: Any, postal_code: Any) -> str | None:
    """The ``Name, Address, Zip`` key; None unless a name, street line 1 and postal code exist."""
    first_c, last_c = _clean(first, "name"), _clean(last, "name")
    street_c, postal_c = _clean(street1), _clean(postal_code)
    if not (first_c or last_c) or not street_c or not postal_c:
        return None
    return "|".join((_fold(first_c or ""), _fold(last_c or ""), _fold(street_c), _postal(postal_c)))


def key_columns(values: Mapping[str, Any]) -> dict[str, str | None]:
    """The match-key columns (``email_norm``, ``phone_digits``, ``name_address_key``) for a
    customer row's values — for any code that writes ``customers`` outside the matcher."""
    return {
        "email_norm": normalize_email(values.get("email")),
        "phone_digits": phone_digits(values.get("phone")),
        "name_address_key": name_address_key(values.get("first_name"), values.get("last_name"),
                                             values.get("street1"), values.get("postal_code")),
    }


def split_full_name(full_name: Any) -> tuple[str | None, str | None]:
    """``"Ana María de la Cruz"`` → ``("Ana María", "de la Cruz")``; ``"Smith, John"`` →
    ``("John", "Smith")``; a single word is a first name. Suffixes stay with the last name."""
    name = _clean(full_name, "name")
    if name is None:
        return None, None
    if "," in name:
        last, _, first = name.partition(",")
        return _clean(first, "name"), _clean(last, "name")
    words = name.split()
    if len(words) == 1:
        return words[0], None
    cut = len(words) - 1
    if words[cut].rstrip(".").casefold() in _NAME_SUFFIXES and cut > 1:
        cut -= 1
    while cut > 1 and words[cut - 1].casefold() in _NAME_PARTICLES:
        cut -= 1
    return " ".join(words[:cut]), " ".join(words[cut:])


# --------------------------------------------------------------------------------------------
# facts


@dataclass(frozen=True)
class CustomerFacts:
    """What one incoming record says about its customer (cleaned: placeholders are None)."""

    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    email: str | None = None
    phone: str | None = None
    street1: str | None = None
    street2: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = None
    web_id: str | None = None

    def cleaned(self) -> CustomerFacts:
        """These facts with blanks and placeholders as None (idempotent)."""
        return CustomerFacts(**{f.name: _clean(getattr(self, f.name), _KIND.get(f.name)) for f in fields(self)})


def _name_parts(address: Mapping[str, Any]) -> tuple[str | None, str | None]:
    first, last = _clean(address.get("first_name"), "name"), _clean(address.get("last_name"), "name")
    if first or last:
        return first, last
    return split_full_name(address.get("full_name"))


def _facts(primary: Mapping[str, Any] | None, fallback: Mapping[str, Any] | None, web_id: Any,
           extra_email: Any = None) -> CustomerFacts:
    """Contact data from ``primary`` field by field, else ``fallback``; the address as one block
    from whichever has a street or postal code (never a street of one and a city of the other)."""
    primary, fallback = primary or {}, fallback or {}
    p_first, p_last = _name_parts(primary)
    f_first, f_last = _name_parts(fallback)
    first, last = (p_first, p_last) if (p_first or p_last) else (f_first, f_last)

    def pick(name: str, kind: str | None = None) -> str | None:
        return _clean(primary.get(name), kind) or _clean(fallback.get(name), kind)

    has_address = any(_clean(primary.get(k)) for k in ("street1", "postal_code"))
    block = primary if has_address else fallback
    return CustomerFacts(
        first_name=first, last_name=last, company=pick("company"),
        email=pick("email", "email") or _clean(extra_email, "email"), phone=pick("phone", "phone"),
        web_id=_clean(web_id, "web_id"),
        **{k: _clean(block.get(k)) for k in _ADDRESS},
    )


def facts_from_order(order: Mapping[str, Any]) -> CustomerFacts:
    """The customer an order record describes: its billing address (shipping fills missing
    contact data), and the cart's customer id from ``other.web_customer_id``."""
    other = order.get("other") or {}
    return _facts(order.get("billing"), order.get("shipping"), other.get("web_customer_id"))


def facts_from_customer(customer: Mapping[str, Any]) -> CustomerFacts:
    """A customer record's facts: billing address, else shipping; ``username`` stands in for a
    missing e-mail when it is one (Interspire sends the e-mail as user name)."""
    username = customer.get("username")
    extra = username if isinstance(username, str) and "@" in username else None
    return _facts(customer.get("billing"), customer.get("shipping"), customer.get("web_id"), extra)


# --------------------------------------------------------------------------------------------
# matching


@dataclass(frozen=True)
class MatchResult:
    """Which customer a record belongs to and why.

    ``rule`` is ``"web id link"``, the name of the rule that matched (e.g. ``"Email"``) or
    ``"created"``. ``detail`` explains skipped ambiguous rules; ``filled`` names the blank
    fields of an existing customer this record filled in.
    """

    customer_id: int
    rule: str
    detail: str | None = None
    filled: tuple[str, ...] = ()

    @property
    def created(self) -> bool:
        return self.rule == CREATED


@dataclass
class _Pending:
    rule: str
    customer: int  # a real id, or a negative placeholder for a customer created in this batch
    ambiguous: list[tuple[str, tuple[int, ...]]] = field(default_factory=list)
    filled: tuple[str, ...] = ()


def _chunks(values: Iterable[Any], size: int = _IN_CHUNK) -> Iterator[list[Any]]:
    items = list(values)
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _now() -> datetime:
    return datetime.now(UTC)


def _rule_key(rule: str, facts: CustomerFacts) -> str | None:
    if rule == EMAIL:
        return normalize_email(facts.email)
    if rule == PHONE:
        return phone_text(facts.phone)
    if rule == PHONE_DIGITS:
        return phone_digits(facts.phone)
    if rule == WEB_ID:
        return facts.web_id
    return name_address_key(facts.first_name, facts.last_name, facts.street1, facts.postal_code)


def _row_key(rule: str, row: Mapping[str, Any]) -> str | None:
    """The key a stored (or pending) customer row offers to a rule (WebID keys live elsewhere)."""
    if rule == EMAIL:
        return row.get("email_norm")
    if rule == PHONE:
        return phone_text(row.get("phone"))
    if rule == PHONE_DIGITS:
        return row.get("phone_digits")
    if rule == NAME_ADDRESS:
        return row.get("name_address_key")
    return None


def _blank(value: Any, kind: str | None = None) -> bool:
    return _clean(value, kind) is None


_MATCH_LOCK = int.from_bytes(hashlib.blake2b(b"seconnect:customer-matching", digest_size=8).digest(),
                             "big", signed=True)


class CustomerMatcher:
    """Finds or creates the customer of each incoming record, batch by batch (see the module
    docstring for the rules). Writes go through ``conn``: call it inside the batch's
    transaction so the customers, links and the records pointing at them commit together."""

    def __init__(self, conn: Connection, cart: CartDefinition, *, source: str, fill_blanks: bool = False):
        self.conn = conn
        self.cart = cart
        self.source = source
        self.fill_blanks = fill_blanks
        self.rules = self._rules(cart)

    @staticmethod
    def _rules(cart: CartDefinition) -> list[str]:
        rules: list[str] = []
        for n in range(1, 5):
            param = PARAMS[f"CustomerSearchField{n}"]
            raw = cart.param(param.name, param.default)
            rule = param.parse(raw) if isinstance(raw, str) else param.default
            if rule != "None" and rule not in rules:
                rules.append(rule)
        return rules

    # -- the batch ------------------------------------------------------------------------
    def match_many(self, facts: Sequence[CustomerFacts]) -> list[MatchResult]:
        """One result per record, in order; creates, links and fills as it goes."""
        if not facts:
            return []
        if self.conn.dialect.name == "postgresql":
            self.conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MATCH_LOCK})
        batch = _Batch(self, [f.cleaned() for f in facts])
        return batch.run()


class _Batch:
    """The in-memory bookkeeping of one ``match_many`` call."""

    def __init__(self, matcher: CustomerMatcher, facts: list[CustomerFacts]):
        self.m = matcher
        self.conn = matcher.conn
        self.cart = matcher.cart
        self.facts = facts
        self.rows: dict[int, dict[str, Any]] = {}  # customer id (or placeholder) -> values
        self.index: dict[str, dict[str, set[int]]] = {rule: {} for rule in matcher.rules}
        self.links: dict[str, int] = {}  # this cart's web id -> customer
        self.new_links: dict[str, int] = {}
        self.created: list[int] = []  # placeholders, in creation order
        self.changed: set[int] = set()  # existing customers whose blanks were filled
        self.now = _now()

    def run(self) -> list[MatchResult]:
        self._load()
        pending = [self._match_one(f) for f in self.facts]
        real = self._write()
        return [self._result(p, real) for p in pending]

    # -- reading: one query per rule ------------------------------------------------------
    def _load(self) -> None:
        c = tables.customers
        links = tables.customer_web_ids
        web_ids = {f.web_id for f in self.facts if f.web_id}
        for chunk in _chunks(web_ids):
            self.links.update(self.conn.execute(select(links.c.web_id, links.c.customer_id).where(
                links.c.cart_id == self.cart.id, links.c.web_id.in_(chunk))).all())
        for rule in self.m.rules:
            keys = {k for f in self.facts if (k := _rule_key(rule, f))}
            if not keys:
                continue
            if rule == WEB_ID:
                self._load_same_store_web_ids(keys)
                continue
            # "Phone" is looked up through the indexed digits column, then compared as typed.
            column, lookup = {
                EMAIL: (c.c.email_norm, keys),
                PHONE: (c.c.phone_digits, {d for f in self.facts if (d := phone_digits(f.phone))}),
                PHONE_DIGITS: (c.c.phone_digits, keys),
                NAME_ADDRESS: (c.c.name_address_key, keys),
            }[rule]
            for chunk in _chunks(lookup):
                for row in self.conn.execute(select(c).where(column.in_(chunk))).mappings():
                    self._remember(dict(row))
        if self.m.fill_blanks:
            missing = (set(self.links.values()) | {cid for ids in self.index.get(WEB_ID, {}).values()
                                                   for cid in ids}) - set(self.rows)
            for chunk in _chunks(missing):
                for row in self.conn.execute(select(c).where(c.c.id.in_(chunk))).mappings():
                    self._remember(dict(row))

    def _load_same_store_web_ids(self, keys: set[str]) -> None:
        links, carts = tables.customer_web_ids, tables.carts
        same_store = select(carts.c.id).where(func.lower(carts.c.script_url) == self.cart.script_url.lower(),
                                              carts.c.id != self.cart.id)
        for chunk in _chunks(keys):
            query = select(links.c.web_id, links.c.customer_id).distinct().where(
                links.c.cart_id.in_(same_store), links.c.web_id.in_(chunk))
            for web_id, customer_id in self.conn.execute(query):
                self.index[WEB_ID].setdefault(web_id, set()).add(customer_id)

    def _remember(self, row: dict[str, Any]) -> None:
        """Keep a customer's values and index it under every active rule's key."""
        self.rows[row["id"]] = row
        self._index(row["id"], row)

    def _index(self, cid: int, row: Mapping[str, Any]) -> None:
        for rule, keyed in self.index.items():
            key = _row_key(rule, row)
            if key:
                keyed.setdefault(key, set()).add(cid)

    # -- deciding, in memory --------------------------------------------------------------
    def _match_one(self, facts: CustomerFacts) -> _Pending:
        if facts.web_id:
            linked = self.new_links.get(facts.web_id, self.links.get(facts.web_id))
            if linked is not None:
                return self._matched(WEB_ID_LINK, linked, facts, [])
        ambiguous: list[tuple[str, tuple[int, ...]]] = []
        for rule in self.m.rules:
            key = _rule_key(rule, facts)
            if key is None:
                continue
            candidates = self.index[rule].get(key, ())
            if len(candidates) == 1:
                return self._link(self._matched(rule, next(iter(candidates)), facts, ambiguous), facts)
            if len(candidates) > 1:
                ambiguous.append((rule, tuple(sorted(candidates))))
        return self._link(_Pending(CREATED, self._create(facts), ambiguous), facts)

    def _link(self, pending: _Pending, facts: CustomerFacts) -> _Pending:
        if facts.web_id:
            self.new_links[facts.web_id] = pending.customer
        return pending

    def _matched(self, rule: str, cid: int, facts: CustomerFacts, ambiguous: list) -> _Pending:
        filled = self._fill(cid, facts) if self.m.fill_blanks else ()
        return _Pending(rule, cid, ambiguous, filled)

    def _create(self, facts: CustomerFacts) -> int:
        cid = -(len(self.created) + 1)
        row: dict[str, Any] = {name: getattr(facts, name) for name in (*_CONTACT, *_ADDRESS)}
        row.update(key_columns(row), created_at=self.now, updated_at=self.now,
                   created_from=self.m.source, source_cart_id=self.cart.id)
        self.created.append(cid)
        self.rows[cid] = row
        self._index(cid, row)
        return cid

    def _fill(self, cid: int, facts: CustomerFacts) -> tuple[str, ...]:
        """Copy the record's data into the customer's blank fields only; returns what changed."""
        row = self.rows.get(cid)
        if row is None:
            return ()
        changes: dict[str, Any] = {}
        for name in _CONTACT:
            new = getattr(facts, name)
            if new is not None and _blank(row.get(name), _KIND.get(name)):
                changes[name] = new
        if self._address_fillable(row, facts):
            changes.update({name: getattr(facts, name) for name in _ADDRESS
                            if getattr(facts, name) is not None and _blank(row.get(name))})
        if not changes:
            return ()
        row.update(changes)
        row.update(key_columns(row))
        self._index(cid, row)
        if cid > 0:
            self.changed.add(cid)
        return tuple(name for name in (*_CONTACT, *_ADDRESS) if name in changes)

    @staticmethod
    def _address_fillable(row: Mapping[str, Any], facts: CustomerFacts) -> bool:
        """An address is filled only into a customer without one: nothing stored but a state or
        country that agrees with the record's (a street of one address never meets the city of
        another)."""
        if not (facts.street1 or facts.postal_code):
            return False
        for name in _ADDRESS:
            value = _clean(row.get(name))
            if value is None:
                continue
            new = getattr(facts, name)
            if name not in ("state", "country") or new is None or value.casefold() != new.casefold():
                return False
        return True

    # -- writing: bulk ----------------------------------------------------------------------
    def _write(self) -> dict[int, int]:
        c = tables.customers
        real: dict[int, int] = {}
        if self.created:
            ids = self._allocate_ids(len(self.created))
            if ids is None:
                stmt = insert(c).returning(c.c.id, sort_by_parameter_order=True)
                ids = self.conn.execute(stmt, [self.rows[p] for p in self.created]).scalars().all()
            else:
                self.conn.execute(insert(c), [{**self.rows[p], "id": i} for p, i in zip(self.created, ids, strict=True)])
            real = dict(zip(self.created, ids, strict=True))
        if self.changed:
            columns = (*_CONTACT, *_ADDRESS, *_KEYS)
            stmt = update(c).where(c.c.id == bindparam("b_id")).values(
                {**{name: bindparam(f"b_{name}") for name in columns}, "updated_at": bindparam("b_updated_at")})
            self.conn.execute(stmt, [
                {"b_id": cid, "b_updated_at": self.now, **{f"b_{n}": self.rows[cid].get(n) for n in columns}}
                for cid in sorted(self.changed)])
        if self.new_links:
            rows = [{"cart_id": self.cart.id, "web_id": web_id, "customer_id": real.get(cid, cid)}
                    for web_id, cid in self.new_links.items() if self.links.get(web_id) is None]
            upsert(self.conn, tables.customer_web_ids, rows, ["cart_id", "web_id"], [])
        return real

    def _allocate_ids(self, n: int) -> list[int] | None:
        """Ids for ``n`` new customers in one statement, so the insert is one plain bulk insert
        (``RETURNING`` in parameter order makes SQLite insert row by row). None: let the
        database number them."""
        dialect = self.conn.dialect.name
        if dialect == "postgresql":
            return list(self.conn.execute(
                text("SELECT nextval(pg_get_serial_sequence('customers', 'id')) FROM generate_series(1, :n)"),
                {"n": n}).scalars())
        if dialect == "sqlite":  # Store.begin() holds the write lock: nobody numbers in between
            top = self.conn.execute(select(func.coalesce(func.max(tables.customers.c.id), 0))).scalar_one()
            return list(range(top + 1, top + n + 1))
        return None

    @staticmethod
    def _result(pending: _Pending, real: Mapping[int, int]) -> MatchResult:
        detail = None
        if pending.ambiguous:
            detail = "; ".join(
                f"{rule}: {len(ids)} customers match ({', '.join(str(real.get(i, i)) for i in ids)}), skipped"
                for rule, ids in pending.ambiguous)
        return MatchResult(real.get(pending.customer, pending.customer), pending.rule, detail, pending.filled)

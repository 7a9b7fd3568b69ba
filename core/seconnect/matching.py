"""Explainable customer matching: SEOM's ``CustomerSearchField1..4``, without its failure modes.

When an order or a customer record is imported, the customer it belongs to is found like this:

1. **Identity link** — the cart's own customer id (``web_id``; an order's ``WebCustomerID``) is
   already linked to a customer for *this* cart in ``customer_web_ids``: that customer, always.
2. **The rules**, in parameter order (``"None"`` skipped): the first rule that finds exactly
   one existing customer wins. Several candidates make a rule ambiguous: it is skipped (never
   guessed) and the result's ``detail`` says which customers collided — so a phone number
   shared by several customers never matches. A conflicting e-mail is evidence against a
   match: a rule other than ``Email`` never links a record to a customer when both have a
   non-empty e-mail and they differ (a guest typing a household, office or made-up number
   is someone else); that rule is skipped too, and ``detail`` says so.
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
(fewer than 7 digits, one repeated digit, ``1234567…``, the fictional ``555-0100``–``555-0199``
range with or without an area code), e-mails without a usable ``@`` or with
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
  New customers are numbered in one statement and inserted in one bulk insert.
- On PostgreSQL the matcher takes a transaction-level advisory lock, so two workers importing
  at once cannot both create the same customer; it is released when the batch commits (batches
  of different carts wait for each other at that point: correctness over parallelism).
  SQLite's write transaction (``Store.begin``) already serialises writers.
- Lookups use the key columns only. Code that writes ``customers`` by other means must fill them
  with :func:`key_columns`, or those customers cannot be found by the rules.
"""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select, text, update
from sqlalchemy.sql.expression import bindparam

from .cartdef import CartDefinition
from .params import PARAMS
from .store import allocate_ids, insert_many, tables, upsert

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
# NANP numbers reserved for fiction (555-0100 to 555-0199), bare, with an area code, or with "1"
_FICTIONAL_PHONE = re.compile(r"^(?:1?\d{3})?55501\d\d$")
_NANP_PREFIX = re.compile(r"^\s*(?:\+\s*1|00\s*1|1(?=[\s.\-(]))")
_ZIP_PLUS4 = re.compile(r"^(\d{5})-?\d{4}$")
_WEB_ID_NONE = re.compile(r"^(?:-?0+|-1)$")  # "0", "000", "-1": carts' spellings of "no account"
_ALNUM = re.compile(r"[^\W_]")
_NON_DIGITS = re.compile(r"\D+")
_NON_LETTERS = re.compile(r"[^a-z]+")
_NON_POSTAL = re.compile(r"[^0-9A-Z]+")
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
#
# Public functions take raw values. The ``_…_key`` helpers take values already cleaned by
# ``_clean`` (the matcher cleans each record once: this runs for every order of an import).


def _text(value: Any) -> str | None:
    """Trimmed, inner whitespace runs made one space; None when nothing is left."""
    if value is None:
        return None
    out = value.strip() if isinstance(value, str) else str(value).strip()
    if "  " in out or "\t" in out or "\n" in out or "\r" in out:
        out = " ".join(out.split())
    return out or None


def is_placeholder(value: Any, kind: str | None = None) -> bool:
    """True for values that say "nothing here" and must never identify a customer.

    ``kind`` adds the checks of one field: ``"email"`` (no usable ``@``, placeholder
    mailboxes such as ``noemail@…``, ``test@test.com``), ``"phone"`` (under 7 digits, one
    repeated digit, ``1234567…``, the fictional ``555-01xx`` range) or ``"web_id"`` (``0``, ``-1``); ``"name"`` spares words
    that are also real names ("Na"). Without it, only the generic checks run, plus the
    e-mail ones when the value contains ``@``.
    """
    v = _text(value)
    if v is None:
        return True
    folded = v.casefold()
    # a placeholder word, only zeros or x's (other repeated digits can be real: ids, zip codes),
    # or no letter or digit at all
    if folded in _PLACEHOLDER_WORDS or not folded.strip("0x ") or not (v[0].isalnum() or _ALNUM.search(v)):
        return not (kind == "name" and folded in _NAME_WORDS)
    if kind == "email" or (kind is None and "@" in v):
        return _placeholder_email(folded)
    if kind == "phone":
        return _placeholder_phone(v)
    if kind == "web_id":
        return _WEB_ID_NONE.match(v) is not None
    return False


def _placeholder_email(folded: str) -> bool:
    mailbox, at, domain = folded.partition("@")
    if not at or not mailbox or "@" in domain or " " in folded:
        return True
    if "." not in domain.strip(".") or domain in _PLACEHOLDER_MAIL_DOMAINS:
        return True
    return _NON_LETTERS.sub("", mailbox.partition("+")[0]) in _PLACEHOLDER_MAILBOXES


def _digits_key(clean: str) -> str:
    digits = _NON_DIGITS.sub("", clean)
    prefix = _NANP_PREFIX.match(clean)
    if prefix:
        rest = digits[len(_NON_DIGITS.sub("", prefix.group(0))):]  # after "1" or "001"
        if len(rest) == 10:
            return rest
    return digits


def _placeholder_phone(value: str) -> bool:
    digits = _digits_key(value)
    if len(digits) < 7 or digits.count(digits[0]) == len(digits):
        return True
    a, b = _FAKE_SEQUENCES
    return (a.startswith(digits) or b.startswith(digits) or digits.startswith(_FAKE_SEQUENCES)
            or _FICTIONAL_PHONE.match(digits) is not None)


def _clean(value: Any, kind: str | None = None) -> str | None:
    """The value trimmed, or None when it is blank or a placeholder."""
    if value is None:
        return None
    return _clean_text(value if isinstance(value, str) else str(value), kind)


@functools.lru_cache(maxsize=1 << 16)
def _clean_text(value: str, kind: str | None) -> str | None:
    # Cached: cities, names, states and a repeat buyer's e-mail recur across an import's orders,
    # and every value is looked at twice (facts_from_order, then the matcher).
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
    return _digits_key(v) if v else None


def phone_text(value: Any) -> str | None:
    """The ``Phone`` key: the number as typed, whitespace-normalised; None for placeholders."""
    v = _clean(value, "phone")
    return v.casefold() if v else None


def _fold(value: str) -> str:
    if not value.isascii():
        decomposed = unicodedata.normalize("NFKD", value)
        value = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join("".join(ch if ch.isalnum() else " " for ch in value.casefold()).split())


def _postal(value: str) -> str:
    compact = value.replace(" ", "").upper()
    plus4 = _ZIP_PLUS4.match(compact)
    return plus4.group(1) if plus4 else _NON_POSTAL.sub("", compact)


def _name_address_key(first: str | None, last: str | None, street1: str | None, postal: str | None) -> str | None:
    if not (first or last) or not street1 or not postal:
        return None
    return "|".join((_fold(first or ""), _fold(last or ""), _fold(street1), _postal(postal)))


def name_address_key(first: Any, last: Any, street1: Any, postal_code: Any) -> str | None:
    """The ``Name, Address, Zip`` key; None unless a name, street line 1 and postal code exist."""
    return _name_address_key(_clean(first, "name"), _clean(last, "name"), _clean(street1), _clean(postal_code))


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
    """What one incoming record says about its customer.

    Values are cleaned on construction: trimmed, and None where blank or a placeholder (see
    :func:`is_placeholder`), so ``CustomerFacts(phone="0").phone is None``.
    """

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

    def __post_init__(self) -> None:
        # Cleaned once, here, so that nothing downstream has to wonder (or clean again).
        for name, kind in _FACT_FIELDS:
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, _clean(value, kind))


_FACT_FIELDS = tuple((name, _KIND.get(name)) for name in (*_CONTACT, *_ADDRESS, "web_id"))


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
    first, last = _name_parts(primary)
    if not (first or last):
        first, last = _name_parts(fallback)

    def pick(name: str, kind: str | None = None) -> str | None:
        return _clean(primary.get(name), kind) or _clean(fallback.get(name), kind)

    has_address = _clean(primary.get("street1")) or _clean(primary.get("postal_code"))
    block = primary if has_address else fallback
    return CustomerFacts(
        first, last, pick("company"), pick("email", "email") or _clean(extra_email, "email"),
        pick("phone", "phone"), *(block.get(k) for k in _ADDRESS), web_id=web_id,
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
    ``"created"``. ``detail`` explains skipped rules (ambiguous, or the one customer found has
    another e-mail); ``filled`` names the blank fields of an existing customer this record
    filled in.
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
    # rules skipped, with the customers they found: several (ambiguous), or one with another e-mail
    skipped: list[tuple[str, tuple[int, ...]]] = field(default_factory=list)
    filled: tuple[str, ...] = ()


def _chunks(values: Iterable[Any], size: int = _IN_CHUNK) -> Iterator[list[Any]]:
    items = list(values)
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _now() -> datetime:
    return datetime.now(UTC)


def _rule_key(rule: str, facts: CustomerFacts) -> str | None:
    """The key cleaned facts offer to a rule."""
    if rule == EMAIL:
        return facts.email.lower() if facts.email else None
    if rule == PHONE:
        return facts.phone.casefold() if facts.phone else None
    if rule == PHONE_DIGITS:
        return _digits_key(facts.phone) if facts.phone else None
    if rule == WEB_ID:
        return facts.web_id
    return _name_address_key(facts.first_name, facts.last_name, facts.street1, facts.postal_code)


def _known_key(rule: str, facts: CustomerFacts, keys: Mapping[str, str | None]) -> str | None:
    """The record's key for ``rule``: from its keys computed for the batch's rules, else computed."""
    return keys[rule] if rule in keys else _rule_key(rule, facts)


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

    def can_find(self, facts: CustomerFacts) -> bool:
        """Whether a record could be found again on a later import: by its web id, or by a key
        for one of the configured rules. One that cannot would be created anew every time."""
        return bool(facts.web_id) or any(_rule_key(rule, facts) for rule in self.rules if rule != WEB_ID)

    # -- the batch ------------------------------------------------------------------------
    def match_many(self, facts: Sequence[CustomerFacts], links: Mapping[str, int] | None = None
                   ) -> list[MatchResult]:
        """One result per record, in order; creates, links and fills as it goes. ``links``: this
        cart's links of every web id in ``facts``, when the caller has read them already."""
        if not facts:
            return []
        self._lock()
        batch = _Batch(self, list(facts), links)
        return batch.run()

    def match_orders(self, orders: Sequence[Mapping[str, Any]]) -> list[MatchResult]:
        """``match_many`` of :func:`facts_from_order` for each order, the same results; but an
        order whose web id is linked to a customer of this cart already is decided by that link
        alone (rule 1), so its contact data is never read: most orders of a store's regulars."""
        if self.fill_blanks:  # filling needs every record's data
            return self.match_many([facts_from_order(o) for o in orders])
        if not orders:
            return []
        self._lock()  # before reading links: none can change until the batch commits
        web_ids = [_clean((o.get("other") or {}).get("web_customer_id"), "web_id") for o in orders]
        linked = self._links({w for w in web_ids if w})
        return self.match_many([CustomerFacts(web_id=w) if w in linked else facts_from_order(o)
                                for o, w in zip(orders, web_ids, strict=True)], linked)

    def _lock(self) -> None:
        if self.conn.dialect.name == "postgresql":  # held until the transaction ends; re-entrant
            self.conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MATCH_LOCK})

    def _links(self, web_ids: set[str]) -> dict[str, int]:
        """This cart's links of ``web_ids``: web id -> customer."""
        links = tables.customer_web_ids
        found: dict[str, int] = {}
        for chunk in _chunks(web_ids):
            found.update(self.conn.execute(select(links.c.web_id, links.c.customer_id).where(
                links.c.cart_id == self.cart.id, links.c.web_id.in_(chunk))).all())
        return found


class _Batch:
    """The in-memory bookkeeping of one ``match_many`` call."""

    def __init__(self, matcher: CustomerMatcher, facts: list[CustomerFacts], links: Mapping[str, int] | None):
        self.m = matcher
        self.conn = matcher.conn
        self.cart = matcher.cart
        self.facts = facts
        # each record's key per rule, computed once (Phone also needs the digits to look it up)
        wanted = {*matcher.rules, PHONE_DIGITS} if PHONE in matcher.rules else set(matcher.rules)
        self.keys = [{rule: _rule_key(rule, f) for rule in wanted} for f in facts]
        self.rows: dict[int, dict[str, Any]] = {}  # customer id (or placeholder) -> values
        self.index: dict[str, dict[str, set[int]]] = {rule: {} for rule in matcher.rules}
        self.known_links = links is not None  # read by the caller: every web id of the batch
        self.links: dict[str, int] = dict(links or {})  # this cart's web id -> customer
        self.new_links: dict[str, int] = {}
        self.created: list[int] = []  # placeholders, in creation order
        self.changed: set[int] = set()  # existing customers whose blanks were filled
        self.now = _now()

    def run(self) -> list[MatchResult]:
        self._load()
        pending = [self._match_one(f, k) for f, k in zip(self.facts, self.keys, strict=True)]
        real = self._write()
        return [self._result(p, real) for p in pending]

    # -- reading: one query per rule ------------------------------------------------------
    def _load(self) -> None:
        c = tables.customers
        # Matching needs the keys only; filling blanks needs the fields too (never timestamps).
        wanted = ["id", "phone", *_KEYS] + ([*_CONTACT, *_ADDRESS] if self.m.fill_blanks else [])
        columns = [c.c[name] for name in dict.fromkeys(wanted)]
        if not self.known_links:
            self.links = self.m._links({f.web_id for f in self.facts if f.web_id})
        # Records already linked by their web id never consult the rules: leave their keys out.
        open_keys = [keys for f, keys in zip(self.facts, self.keys, strict=True)
                     if not (f.web_id and f.web_id in self.links)]
        for rule in self.m.rules:
            keys = {k for keys in open_keys if (k := keys[rule])}
            if not keys:
                continue
            if rule == WEB_ID:
                self._load_same_store_web_ids(keys)
                continue
            column = {EMAIL: c.c.email_norm, PHONE_DIGITS: c.c.phone_digits, NAME_ADDRESS: c.c.name_address_key,
                      PHONE: c.c.phone_digits}[rule]
            lookup = keys
            if rule == PHONE:  # looked up through the indexed digits column, then compared as typed
                lookup = {d for keys in open_keys if (d := keys[PHONE_DIGITS])}
            for chunk in _chunks(lookup):
                for row in self.conn.execute(select(*columns).where(column.in_(chunk))):
                    self._remember(row._asdict())
        # WebID candidates need their e-mail (a conflicting one rules them out); filling, the fields
        missing = {cid for ids in self.index.get(WEB_ID, {}).values() for cid in ids}
        if self.m.fill_blanks:
            missing |= set(self.links.values())
        for chunk in _chunks(missing - set(self.rows)):
            for row in self.conn.execute(select(*columns).where(c.c.id.in_(chunk))):
                self._remember(row._asdict())

    def _load_same_store_web_ids(self, keys: set[str]) -> None:
        links, carts = tables.customer_web_ids, tables.carts
        # The same store: another cart at the same Script URL (carts are few: compared here).
        address = self.cart.script_url.lower()
        same_store = [row.id for row in self.conn.execute(select(carts.c.id, carts.c.settings)
                                                          .where(carts.c.id != self.cart.id))
                      if address and str((row.settings or {}).get("script_url", "")).lower() == address]
        if not same_store:
            return
        for chunk in _chunks(keys):
            query = select(links.c.web_id, links.c.customer_id).distinct().where(
                links.c.cart_id.in_(same_store), links.c.web_id.in_(chunk))
            for web_id, customer_id in self.conn.execute(query):
                self.index[WEB_ID].setdefault(web_id, set()).add(customer_id)

    def _remember(self, row: dict[str, Any]) -> None:
        """Keep a customer's values and index it under every active rule's key (once: a
        customer found by several rules' queries comes back several times)."""
        if row["id"] not in self.rows:
            self.rows[row["id"]] = row
            self._index(row["id"], row)

    def _index(self, cid: int, row: Mapping[str, Any]) -> None:
        for rule, keyed in self.index.items():
            key = _row_key(rule, row)
            if key:
                keyed.setdefault(key, set()).add(cid)

    # -- deciding, in memory --------------------------------------------------------------
    def _match_one(self, facts: CustomerFacts, keys: Mapping[str, str | None]) -> _Pending:
        if facts.web_id:
            linked = self.new_links.get(facts.web_id, self.links.get(facts.web_id))
            if linked is not None:
                return self._matched(WEB_ID_LINK, linked, facts, [])
        skipped: list[tuple[str, tuple[int, ...]]] = []
        email = _known_key(EMAIL, facts, keys)
        for rule in self.m.rules:
            key = keys[rule]
            if key is None:
                continue
            candidates = self.index[rule].get(key, ())
            if len(candidates) == 1:
                cid = next(iter(candidates))
                if rule == EMAIL or not self._other_email(cid, email):
                    return self._link(self._matched(rule, cid, facts, skipped), facts)
            if candidates:
                skipped.append((rule, tuple(sorted(candidates))))
        return self._link(_Pending(CREATED, self._create(facts, keys), skipped), facts)

    def _other_email(self, cid: int, email: str | None) -> bool:
        """Whether customer ``cid`` has a non-empty e-mail other than the record's ``email``."""
        theirs = (self.rows.get(cid) or {}).get("email_norm")
        return bool(email and theirs and theirs != email)

    def _link(self, pending: _Pending, facts: CustomerFacts) -> _Pending:
        if facts.web_id:
            self.new_links[facts.web_id] = pending.customer
        return pending

    def _matched(self, rule: str, cid: int, facts: CustomerFacts, skipped: list) -> _Pending:
        filled = self._fill(cid, facts) if self.m.fill_blanks else ()
        return _Pending(rule, cid, skipped, filled)

    def _create(self, facts: CustomerFacts, keys: Mapping[str, str | None]) -> int:
        cid = -(len(self.created) + 1)
        row: dict[str, Any] = {name: getattr(facts, name) for name in (*_CONTACT, *_ADDRESS)}
        row.update(email_norm=_known_key(EMAIL, facts, keys), phone_digits=_known_key(PHONE_DIGITS, facts, keys),
                   name_address_key=_known_key(NAME_ADDRESS, facts, keys), created_at=self.now, updated_at=self.now,
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
            ids = allocate_ids(self.conn, c, len(self.created))
            insert_many(self.conn, c, [{**self.rows[p], "id": i} for p, i in zip(self.created, ids, strict=True)])
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

    @staticmethod
    def _result(pending: _Pending, real: Mapping[int, int]) -> MatchResult:
        def why(ids: tuple[int, ...]) -> str:
            shown = ", ".join(str(i) for i in sorted(real.get(i, i) for i in ids))
            return f"customer {shown} has another e-mail" if len(ids) == 1 else f"{len(ids)} customers match ({shown})"

        detail = "; ".join(f"{rule}: {why(ids)}, skipped" for rule, ids in pending.skipped) or None
        return MatchResult(real.get(pending.customer, pending.customer), pending.rule, detail, pending.filled)

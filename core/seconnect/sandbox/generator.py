"""Seeded, deterministic data for the sandbox cart: products, customers and orders.

Everything is generated once from ``random.Random(seed)`` into plain JSON-able dicts that the
state layer bulk-inserts into SQLite; replies are rendered from those records, never
regenerated per request. The same seed always yields the same cart, byte for byte.

The data is built to exercise what real carts send and clients get wrong (see
seti-protocol.md §6 and seom-behaviour.md P2):

* products with and without variations, some without a product code, some variations with
  their own SKU, stock at zero, untracked stock, hidden products, prices over 1,000, options
  that adjust the price up, down or to a fixed value, customer-entered text and file fields;
* customers with duplicates by e-mail (other case, stray whitespace) and by phone (other
  formatting), blank contact data sent as ``"0"``; guest orders with no account, some with a
  shared phone number (``555-0199``, or a registered customer's under the guest's own e-mail);
* orders of about three lines with options, long text options, coupons, discounts, handling
  surcharges, shipping, tax, multi-address and address-less shipping, accented/CJK/emoji
  names and amounts over 1,000, paid in every payment kind the profiles map.

The first few records of each kind are laid out by index so that even the default small
cart (20 products, 30 customers, 50 orders) contains every case; the rest are random.
Money is integer cents, weights and dimensions integer hundredths.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import random
import unicodedata
from collections.abc import Iterator, Sequence

# Interspire / BigCommerce order status ids (seti-protocol.md §6.3; 12-14 are BigCommerce's later ones).
STATUS_NAMES = {
    0: "Incomplete",
    1: "Pending",
    2: "Shipped",
    3: "Partially Shipped",
    4: "Refunded",
    5: "Cancelled",
    6: "Declined",
    7: "Awaiting Payment",
    8: "Awaiting Pickup",
    9: "Awaiting Shipment",
    10: "Completed",
    11: "Awaiting Fulfillment",
    12: "Manual Verification Required",
    13: "Disputed",
    14: "Partially Refunded",
}
DOWNLOADABLE_STATUSES = (2, 3, 9, 10, 11)
EXCLUDED_STATUSES = (0, 1, 4, 5, 6, 7, 8)

FIRST_ORDER_NUMBER = 1001
ORDER_EPOCH = dt.datetime(2024, 1, 2, 8, 0, 0)
CUSTOMER_EPOCH = dt.datetime(2023, 6, 1, 9, 0, 0)

_FIRST = ["Marisol", "José", "Zoë", "Ingrid", "Łukasz", "Søren", "Amélie", "小龍", "Hana", "Νίκος",
          "Oluwaseun", "Siobhán", "Björn", "Priya", "Mateo", "Chloé", "Dmitri", "Aiko", "Renée", "Kai"]
_LAST = ["Venter", "Müller", "García", "Ångström", "O'Brien", "Nguyễn", "李", "山田", "Παπαδόπουλος",
         "Kowalski", "Dubois", "Okafor", "Smith-Jones", "Fernández", "Lindqvist", "Novák", "Çelik", "Haddad"]
_COMPANIES = ["", "", "", "Harbor Lantern Supply", "Café Noir GmbH", "株式会社サクラ", "🎉 Party Supplies Co.",
              "Smith & Sons", "Øresund Trading ApS"]
_STREETS = ["18 Quay Lane", "4 Rue de la Paix", "221B Baker Street", "1600 Keel Road", "Hauptstraße 5",
            "77 Lighthouse Way", "3-1 Kiyomizu", "12 Chemin du Phare", "500 Harbor Blvd", "9 Ocean Ave"]
_STREET2 = ["", "", "", "Apt 4B", "Suite 210", "c/o Dock Office", "2ème étage"]
# (city, state as a shopper types it, postal code, ISO country)
_PLACES = [
    ("Port Ellery", "Maine", "04999", "US"),
    ("Austin", "Texas", "73301", "US"),
    ("Portland", "Oregon", "97201", "US"),
    ("Brooklyn", "New York", "11201", "US"),
    ("Anchorage", "Alaska", "99501", "US"),
    ("Toronto", "Ontario", "M5V 2T6", "CA"),
    ("Montréal", "Quebec", "H2X 1Y4", "CA"),
    ("München", "Bayern", "80331", "DE"),
    ("Kyoto", "京都府", "600-8001", "JP"),
    ("Lyon", "", "69001", "FR"),
    ("Ålesund", "", "6002", "NO"),
    ("Seattle", "Washington", "98101", "US"),
]
STATE_CODES = {
    "Maine": "ME", "Texas": "TX", "Oregon": "OR", "New York": "NY", "Alaska": "AK",
    "Washington": "WA", "Ontario": "ON", "Quebec": "QC",
}
_TAX_RATES = {"ME": "0.055", "TX": "0.0825", "NY": "0.08875", "WA": "0.101", "ON": "0.13", "QC": "0.14975"}

_PRODUCT_NAMES = ["Harbor Lantern", "Deck Lantern", "Crème Brûlée Torch", "抹茶 Matcha Set", "Rope Coil 30'",
                  "Salt & Pepper Mill", "Café Mug ☕", "Brass Ship's Bell", "Nautical Chart — Penobscot Bay",
                  "Teak Deck Chair", "Gift Card", "Sea Glass Pendant", "Storm Kettle", "Oilskin Jacket",
                  "Compass Rose Rug", "Ångström Barometer", "Lighthouse Print 🗼", "Galley Knife Set",
                  "Cedar Sea Chest", "Fog Horn"]
_CODE_PREFIX = ["LNT", "DCK", "TRC", "MCH", "RPE", "MIL", "MUG", "BEL", "CHT", "CHR",
                "GFT", "PND", "KTL", "JKT", "RUG", "BAR", "PRT", "KNF", "CST", "HRN"]
# (option name, prompt, [(value, code)])
_OPTIONS = [
    ("Finish", "Choose a finish", [("Brass", "BR"), ("Nickel", "NI"), ("Copper", "CU")]),
    ("Size", "Choose a size", [("Small", "S"), ("Large", "L"), ("XL", "XL")]),
    ("Color", "Choose a colour", [("Red", "RED"), ("Blue", "BLU"), ("Noir", "NOI")]),
    ("Wood", "Choose a wood", [("Oak", "OAK"), ("Walnut", "WAL")]),
]
# customer-entered fields: (name, kind)
_FIELDS = [("Engraving", "text"), ("Gift note", "text"), ("Logo file", "file")]
_FIELD_TEXTS = ["For Captain Ada", "Grüße aus München", "ありがとう 🌊",
                "Happy 40th birthday, Ingrid! Fair winds and following seas, always — love from the whole crew 🎉"]
_FILE_NAMES = ["logo_final.png", "crest-v2.svg", "émblème.pdf"]
_SHIP_METHODS = ["Ground (3-5 days)", "Express — next day", "Free Shipping", "Two-Day Air"]
_ORDER_FIELDS = [("Gift wrap", ["Yes", "No"]),
                 ("How did you hear about us?", ["Podcast", "A friend", "Søkemotor", "Instagram 📷"]),
                 ("PO reference", ["PO-4471", "PO-8812", "REQ 19/2024"]),
                 ("Dock door", ["Door 7 — ring twice", "Rear entrance"])]
_MESSAGES = ["", "", "", "Leave at side door", "Bitte nicht knicken!", "配達前に電話してください",
             "Gift — no prices on the slip please 🎁"]
_STAFF_NOTES = ["", "", "", "Called customer to confirm address", "VIP — add a sample"]
_CARD_ISSUERS = ["Visa", "MasterCard", "AMEX", "Discover"]
_CARD_GATEWAYS = ["Authorize.net", "PayPal Payments Pro (US)", "Payflow Pro"]
_OTHER_GATEWAYS = ["Check / Money Order", "Bank Deposit", "Google Checkout"]
PAYMENT_KINDS = ("gateway_card", "manual_card", "cod", "gateway_other", "paypal")


class Dice:
    """A seeded random source with the few draws the generator needs, built on ``random()``
    alone: ``random.Random.choice``/``choices`` cost several times more, and 100,000 orders
    draw about 40 numbers each."""

    __slots__ = ("random",)

    def __init__(self, seed_text: str):
        self.random = random.Random(seed_text).random

    def pick(self, seq: Sequence):
        return seq[int(self.random() * len(seq))]

    def between(self, lo: int, hi: int) -> int:
        """An integer in [lo, hi]."""
        return lo + int(self.random() * (hi - lo + 1))

    def chance(self, p: float) -> bool:
        return self.random() < p

    def weighted(self, items: Sequence, cumulative: Sequence[float]):
        return items[bisect.bisect(cumulative, self.random() * cumulative[-1])]

    def sample(self, seq: Sequence, k: int) -> list:
        pool = list(seq)
        for n in range(k):
            j = n + int(self.random() * (len(pool) - n))
            pool[n], pool[j] = pool[j], pool[n]
        return pool[:k]


def _cum(weights: Sequence[float]) -> list[float]:
    return list(itertools.accumulate(weights))


_STATUS_CUM = _cum((12, 3, 15, 10, 45))
_LINES_CUM = _cum((15, 20, 30, 20, 15))
_PAYMENT_CUM = _cum((45, 15, 8, 12, 20))


def _ascii(text: str) -> str:
    """A mail-safe ASCII rendering of a name (empty for scripts that do not decompose to ASCII)."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum())


def _phone_digits(rng: Dice) -> str:
    return f"{rng.between(201, 989)}555{rng.between(0, 9999):04d}"


def _phone_format(digits: str, style: int) -> str:
    """The same number the ways shoppers type it (duplicate-by-phone hazard)."""
    a, b, c = digits[:3], digits[3:6], digits[6:]
    return [f"({a}) {b}-{c}", f"{a}-{b}-{c}", f"{a}.{b}.{c}", f"+1 {a} {b} {c}", digits][style % 5]


def _address(rng: Dice) -> dict:
    city, state, zip_code, country = rng.pick(_PLACES)
    return {"street1": rng.pick(_STREETS), "street2": rng.pick(_STREET2), "city": city,
            "state": state, "zip": zip_code, "country": country}


def _person(rng: Dice, n: int) -> dict:
    first, last = rng.pick(_FIRST), rng.pick(_LAST)
    local = ".".join(p for p in (_ascii(first), _ascii(last)) if p) or "shopper"
    return {"first": first, "last": last, "company": rng.pick(_COMPANIES),
            "email": f"{local}{n}@example.{rng.pick(('com', 'net', 'org'))}",
            "phone": _phone_format(_phone_digits(rng), rng.between(0, 4)), **_address(rng)}


# --------------------------------------------------------------------------------------------
# products


def generate_products(seed: int, count: int) -> tuple[list[dict], list[dict]]:
    """Products and their variation combinations (combination ids are global, from 1).

    Layout by index ``i``: ``i % 3 == 1`` has variations; ``i % 5 == 2`` has no product code;
    variation products with even ``i`` give their combinations their own SKUs;
    ``i % 9 == 5`` is not inventory-tracked; ``i % 8 == 3`` costs over 1,000; ``i % 11 == 6`` is
    hidden (Discontinued); ``i % 4 == 0`` takes customer-entered fields; ``i % 6 == 0`` is a
    download (digital).
    """
    rng = Dice(f"products:{seed}")
    products: list[dict] = []
    combos: list[dict] = []
    option_id = value_id = field_id = combo_id = 0
    for i in range(count):
        pid = i + 1
        base_name = _PRODUCT_NAMES[i % len(_PRODUCT_NAMES)]
        name = base_name if i < len(_PRODUCT_NAMES) else f"{base_name} #{i // len(_PRODUCT_NAMES) + 1}"
        has_variations = i % 3 == 1
        code = "" if i % 5 == 2 else f"{_CODE_PREFIX[i % len(_CODE_PREFIX)]}-{100 + i}"
        price = rng.between(104_900, 289_900) if i % 8 == 3 else rng.between(450, 24_900)
        digital = i % 6 == 0 and not has_variations
        options = []
        if has_variations:
            picked = rng.sample(range(len(_OPTIONS)), rng.pick((1, 2)))
            for k in sorted(picked):
                opt_name, prompt, values = _OPTIONS[k]
                option_id += 1
                vals = []
                for v_name, v_code in values[: rng.pick((2, 3))]:
                    value_id += 1
                    vals.append({"id": value_id, "name": v_name, "code": v_code})
                options.append({"id": option_id, "name": opt_name, "prompt": prompt, "type": "select",
                                "values": vals})
        fields = []
        if i % 4 == 0:
            for f_name, kind in rng.sample(_FIELDS, 2 if i % 8 == 0 else 1):
                field_id += 1
                fields.append({"id": field_id, "name": f_name, "type": kind})
        track = "none" if i % 9 == 5 else ("option" if has_variations else "product")
        slug = f"{_CODE_PREFIX[i % len(_CODE_PREFIX)].lower()}{pid}"
        product = {
            "id": pid, "code": code, "name": name,
            "description": f"{name}: built for salt air & long watches.",
            "price": price, "cost": price * rng.between(35, 60) // 100,
            "weight": 0 if digital else rng.between(10, 2500),
            "width": rng.between(100, 6000), "depth": rng.between(100, 6000), "height": rng.between(100, 9000),
            "taxable": i % 10 != 7, "hidden": i % 11 == 6, "track": track,
            "kind": "digital" if digital else "physical",
            "thumb": f"{slug[0]}/{slug}_tiny.jpg", "image": f"{slug[0]}/{slug}_std.jpg",
            "options": options, "fields": fields,
            "custom_fields": [{"name": "Material", "value": rng.pick(("Brass", "Teak", "Wool", "Glass"))}]
            if i % 7 == 2 else [],
            "stock": 0 if track == "none" or i % 7 == 4 else rng.between(0, 120),
        }
        products.append(product)
        if not has_variations:
            continue
        value_lists = [opt["values"] for opt in options]
        for chosen in _cartesian(value_lists):
            combo_id += 1
            kind = rng.pick(("add", "add", "none", "subtract", "fixed"))
            amount = {"none": 0, "add": rng.between(100, 1500), "subtract": rng.between(50, min(900, price // 2)),
                      "fixed": price + rng.between(-300, 800)}[kind]
            own_sku = ""
            if i % 2 == 0 and code:
                own_sku = f"{code}-{'-'.join(v['code'] for v in chosen)}"
            elif i % 2 == 0:
                own_sku = f"V{pid}-{'-'.join(v['code'] for v in chosen)}"
            combos.append({
                "id": combo_id, "product_id": pid, "sku": own_sku,
                "values": [v["id"] for v in chosen], "labels": [v["name"] for v in chosen],
                "codes": [v["code"] for v in chosen], "options": [opt["name"] for opt in options],
                "adj_kind": kind, "adj": amount, "weight_adj": rng.pick((0, 0, 20, -10, 50)),
                "image": f"{slug[0]}/{slug}_{combo_id}_std.jpg",
                "stock": 0 if rng.chance(0.2) else rng.between(1, 60),
            })
    return products, combos


def _cartesian(lists: Sequence[Sequence[dict]]) -> Iterator[list[dict]]:
    if not lists:
        yield []
        return
    for head in lists[0]:
        for rest in _cartesian(lists[1:]):
            yield [head, *rest]


def combo_price(product: dict, combo: dict | None) -> int:
    """What the shopper pays for one unit (the cart's own, correct arithmetic)."""
    if combo is None:
        return product["price"]
    kind, amount = combo["adj_kind"], combo["adj"]
    if kind == "add":
        return product["price"] + amount
    if kind == "subtract":
        return product["price"] - amount
    if kind == "fixed":
        return amount
    return product["price"]


# --------------------------------------------------------------------------------------------
# customers


def generate_customers(seed: int, count: int) -> list[dict]:
    """Registered customers (ids from 1).

    ``i % 10 == 7`` re-registers customer ``i - 5`` with the same e-mail in other case and with
    stray whitespace; ``i % 10 == 9`` re-registers customer ``i - 3`` under a new e-mail with the
    phone number formatted differently; ``i % 13 == 5`` left the phone blank, which the cart
    sends as ``"0"``.
    """
    rng = Dice(f"customers:{seed}")
    customers: list[dict] = []
    digits_of: dict[int, str] = {}
    when = CUSTOMER_EPOCH
    for i in range(count):
        cid = i + 1
        person = _person(rng, cid)
        digits = _phone_digits(rng)
        person["phone"] = _phone_format(digits, rng.between(0, 4))
        if i % 10 == 7 and i >= 5:
            twin = customers[i - 5]
            email = twin["email"].strip()
            person.update(first=twin["first"], last=twin["last"],
                          email=f" {email[0].upper()}{email[1:].upper()} " if i % 20 == 7 else f"{email.title()} ")
        elif i % 10 == 9 and i >= 3:
            twin = customers[i - 3]
            digits = digits_of[i - 3]
            local = ".".join(p for p in (_ascii(twin["first"]), _ascii(twin["last"])) if p) or "shopper"
            person.update(first=twin["first"], last=twin["last"], email=f"{local}.{cid}@example.net",
                          phone=_phone_format(digits, i + 1 + (twin["phone"] == _phone_format(digits, i + 1))))
        if i % 13 == 5:
            person["phone"] = "0"
        digits_of[i] = digits
        when += dt.timedelta(seconds=rng.between(3_000, 90_000))
        customers.append({"id": cid, **person, "created": when.isoformat(" ")})
    return customers


# --------------------------------------------------------------------------------------------
# orders


class OrderFactory:
    """Builds order records against a fixed catalogue and customer list.

    Used both for the initial data and for orders added while the sandbox runs, so added
    orders look exactly like generated ones. ``start_index`` decides the forced features (the
    first orders of a fresh cart cover every case) and the deterministic status layout.
    """

    # features forced onto the first orders of a fresh cart, by index
    _FORCED = {
        0: {"expensive", "variant", "gateway_card"},
        1: {"guest", "phone0", "manual_card"},
        2: {"coupon", "discount", "cod", "handling"},
        3: {"multiship", "gateway_other", "codeless"},
        4: {"text", "paypal", "variant"},
        5: {"noship", "card_unknown", "guest", "email0"},
        6: {"missing_gateway", "bulk"},
    }

    def __init__(self, products: list[dict], combos: list[dict], customers: list[dict]):
        if not products:
            raise ValueError("orders need at least one product (products=0 was asked)")
        self.products = products
        self.combos_of: dict[int, list[dict]] = {}
        for combo in combos:
            self.combos_of.setdefault(combo["product_id"], []).append(combo)
        self.customers = customers
        self.expensive = [p for p in products if p["price"] >= 100_000] or products
        self.codeless = [p for p in products if not p["code"]] or products
        self.variant = [p for p in products if p["id"] in self.combos_of] or products
        self.with_fields = [p for p in products if p["fields"]] or products
        # what a line can be, per product: (combo id, unit price), precomputed because it is
        # drawn ~3 times per order
        self.sellable: dict[int, list[tuple[int | None, int]]] = {
            p["id"]: [(c["id"], combo_price(p, c)) for c in self.combos_of[p["id"]]]
            if p["id"] in self.combos_of else [(None, p["price"])] for p in products}
        self.taxable = {p["id"]: p["taxable"] for p in products}
        self.billing_of = {c["id"]: _billing_of(c) for c in customers}

    def build(self, rng: Dice, index: int, number: int, when: dt.datetime,
              downloadable_only: bool = False) -> dict:
        """One order; ``index`` is its 0-based position in the cart."""
        forced = self._FORCED.get(index, _NOTHING_FORCED)
        status_id, deleted = self._status(rng, index, downloadable_only)
        customer = None
        if self.customers and "guest" not in forced and not rng.chance(0.15):
            customer = rng.pick(self.customers)
        if customer is not None:
            billing = dict(self.billing_of[customer["id"]])
        else:
            billing = _person(rng, number)
            if "phone0" in forced or rng.chance(0.3):
                billing["phone"] = "0"
            elif number % 7 == 0:  # the fictional number shoppers type when they must give one
                billing["phone"] = "555-0199"
            elif number % 7 == 3 and self.customers:  # a registered customer's household or office number
                billing["phone"] = self.customers[number % len(self.customers)]["phone"]
            if "email0" in forced or rng.chance(0.04):
                billing["email"] = "0"
        lines = self._lines(rng, forced)
        shipping_addresses = self._shipping(rng, forced, billing)
        product_total = sum(line["qty"] * line["price"] for line in lines)
        discount = kind = percent = None
        if "discount" in forced or rng.chance(0.15):
            if rng.chance(0.5):
                kind, percent, discount = "Percent", 10, product_total // 10
            else:
                kind, discount = "Flat", min(500, product_total // 2)
        coupon = None
        if "coupon" in forced or rng.chance(0.12):
            code, pct = rng.pick((("SPRING10", 10), ("WELCOME5", 5), ("ÉTÉ-15", 15)))
            coupon = {"code": code, "percent": pct, "amount": product_total * pct // 100}
        reductions = (discount or 0) + (coupon["amount"] if coupon else 0)
        place_state = _state_code(billing["state"])
        rate = _TAX_RATES.get(place_state, "0") if billing["country"] in ("US", "CA") else "0"
        taxable_total = sum(line["qty"] * line["price"] for line in lines if self.taxable[line["product_id"]])
        tax_base = max(0, taxable_total - reductions)
        tax = (tax_base * int(rate.replace("0.", "").ljust(5, "0")) + 50_000) // 100_000 if rate != "0" else 0
        free = rng.chance(0.15)
        ship_cost = 0 if free else rng.pick((599, 899, 1250, 2495))
        payment = self._payment(rng, forced, billing)
        order = {
            "id": number, "date": when.isoformat(" "), "status_id": status_id,
            "status": STATUS_NAMES[status_id], "deleted": deleted,
            "customer_id": customer["id"] if customer else None,
            "billing": billing, "shipping_addresses": shipping_addresses,
            "ship_method": "Free Shipping" if free else rng.pick(_SHIP_METHODS), "ship_cost": ship_cost,
            "handling": rng.pick((200, 350)) if "handling" in forced or rng.chance(0.2) else 0,
            "lines": lines, "discount": discount or 0, "discount_kind": kind, "discount_percent": percent,
            "coupon": coupon, "tax_rate": rate, "tax": tax, "payment": payment,
            "message": rng.pick(_MESSAGES), "staff_notes": rng.pick(_STAFF_NOTES),
            "ip": _ip(rng),
            "custom_fields": [[name, rng.pick(values)] for name, values in
                              rng.sample(_ORDER_FIELDS, rng.pick((0, 0, 1, 2)))],
        }
        return order

    @staticmethod
    def _status(rng: Dice, index: int, downloadable_only: bool) -> tuple[int, int]:
        """Every 11th order has an excluded status (cycling through all of them), every 37th is
        soft-deleted: so even a small cart shows the Interspire filter at work."""
        if not downloadable_only:
            if index % 11 == 10:
                return EXCLUDED_STATUSES[(index // 11) % len(EXCLUDED_STATUSES)], 0
            if index % 37 == 36:
                return rng.pick(DOWNLOADABLE_STATUSES), 1
        return rng.weighted(DOWNLOADABLE_STATUSES, _STATUS_CUM), 0

    def _lines(self, rng: Dice, forced: frozenset[str] | set[str]) -> list[dict]:
        count = rng.weighted((1, 2, 3, 4, 5), _LINES_CUM)
        picks = [rng.pick(self.products) for _ in range(count)]
        if forced:
            for feature, pool in (("expensive", self.expensive), ("variant", self.variant),
                                  ("codeless", self.codeless), ("text", self.with_fields)):
                if feature in forced:
                    picks.insert(0, rng.pick(pool))
        lines = []
        for n, product in enumerate(picks, start=1):
            combo_id, price = rng.pick(self.sellable[product["id"]])
            qty = rng.pick(_QTYS)
            if rng.random() < 0.03 or n == 1 and "bulk" in forced:
                qty = rng.between(12, 60)
            fields = []
            for field in product["fields"]:
                if rng.random() < 0.6 or "text" in forced:
                    if field["type"] == "file":
                        text = rng.pick(_FILE_NAMES)
                    else:
                        text = _FIELD_TEXTS[-1] if "text" in forced else rng.pick(_FIELD_TEXTS)
                    fields.append([field["name"], text, field["type"]])
            lines.append({"line_id": n, "product_id": product["id"], "combo_id": combo_id, "qty": qty,
                          "price": price, "fields": fields})
        return lines

    @staticmethod
    def _shipping(rng: Dice, forced: frozenset[str] | set[str], billing: dict) -> list[dict]:
        """Shipping addresses; ``[]`` means "ship to the billing address" (most orders, and
        what the profiles fall back to), which keeps stored documents small."""
        if "noship" in forced:
            return []
        multi = "multiship" in forced or rng.chance(0.03)
        if rng.chance(0.7) and not multi:
            return []
        who = {k: billing[k] for k in ("first", "last", "company", "email", "phone")}
        addresses = [{**who, **_address(rng)}]
        if multi:
            addresses.append({**_person(rng, 0), "email": billing["email"]})
        return addresses

    @staticmethod
    def _payment(rng: Dice, forced: frozenset[str] | set[str], billing: dict) -> dict:
        kind = next((k for k in PAYMENT_KINDS if k in forced), None)
        if "card_unknown" in forced:
            kind = "gateway_card"
        if "missing_gateway" in forced:
            kind = "gateway_other"
        if kind is None:
            kind = rng.weighted(PAYMENT_KINDS, _PAYMENT_CUM)
        holder = f"{billing['first']} {billing['last']}"
        if kind == "gateway_card":
            unknown = "card_unknown" in forced or rng.chance(0.03)
            return {"kind": kind, "gateway": rng.pick(_CARD_GATEWAYS),
                    "issuer": "" if unknown else rng.pick(_CARD_ISSUERS),
                    "trans_id": str(rng.between(10**9, 10**10 - 1)), "status": "authorized"}
        if kind == "manual_card":
            return {"kind": kind, "issuer": rng.pick(_CARD_ISSUERS), "holder": holder,
                    "exp_month": rng.between(1, 12), "exp_year": rng.between(2025, 2031),
                    "last4": f"{rng.between(0, 9999):04d}"}
        if kind == "gateway_other":
            missing = "missing_gateway" in forced or rng.chance(0.02)
            return {"kind": kind, "gateway": "Retired Gateway" if missing else rng.pick(_OTHER_GATEWAYS),
                    "missing": missing}
        if kind == "paypal":
            return {"kind": kind, "payer_id": f"P{rng.between(10**9, 10**10 - 1)}", "email": billing["email"],
                    "trans_id": f"{rng.between(10**15, 10**16 - 1):X}", "status": "Completed"}
        return {"kind": "cod"}


_QTYS = (1, 1, 1, 2, 2, 3)
_NOTHING_FORCED: frozenset[str] = frozenset()


def _ip(rng: Dice) -> str:
    """A documentation-range shopper address, IPv4 or IPv6."""
    kind = rng.between(0, 2)
    if kind == 2:
        return f"2001:db8::{rng.between(1, 0xffff):x}"
    return f"{('203.0.113', '198.51.100')[kind]}.{rng.between(1, 254)}"


def _billing_of(customer: dict) -> dict:
    """The billing block a registered customer's orders carry (e-mail as typed, trimmed)."""
    billing = {k: customer[k] for k in ("first", "last", "company", "email", "phone", "street1",
                                        "street2", "city", "state", "zip", "country")}
    billing["email"] = billing["email"].strip()
    return billing


def _state_code(state: str) -> str:
    return STATE_CODES.get(state, state)


def order_dates(rng: Dice, start: dt.datetime, count: int) -> list[dt.datetime]:
    """Strictly increasing order times, so order number order is also date order."""
    out = []
    when = start
    for _ in range(count):
        when += dt.timedelta(seconds=rng.between(60, 900))
        out.append(when)
    return out


def generate_orders(factory: OrderFactory, seed: int, count: int, first_index: int = 0,
                    first_number: int = FIRST_ORDER_NUMBER, after: dt.datetime = ORDER_EPOCH,
                    downloadable_only: bool = False) -> list[dict]:
    """``count`` orders numbered from ``first_number``; deterministic for (seed, first_number)."""
    rng = Dice(f"orders:{seed}:{first_number}")
    dates = order_dates(rng, after, count)
    return [factory.build(rng, first_index + k, first_number + k, dates[k], downloadable_only)
            for k in range(count)]

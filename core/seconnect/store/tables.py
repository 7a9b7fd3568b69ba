"""The store file's tables, as SQLAlchemy Core ``Table`` objects.

Core, not the ORM: imports write tens of thousands of rows per run, and Core's bulk ``insert()``
runs close to the raw driver while the ORM costs ~24x (design §6). These definitions are the
source of truth for queries; the schema itself is created and changed only by the Alembic
migrations in ``migrations/versions`` (a test checks the two agree).

Conventions:
- every time is ``UTCDateTime`` (aware, UTC); every amount of money is ``Money`` (exact Decimal);
- a child row that means nothing without its parent is deleted with it (``ON DELETE CASCADE``);
  history that must outlive a cart or product keeps the row and drops the link (``SET NULL``);
- orders block deleting their cart (``RESTRICT``): a merchant's order history never vanishes as
  a side effect. Deactivate the cart instead;
- short closed vocabularies (states) are checked by the database; open ones (kinds, labels) are
  plain text validated by the code that writes them.
"""

from __future__ import annotations

import re

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
    false,
    text,
    true,
)

from .types import Id, Json, Money, Quantity, UTCDateTime, utcnow

__all__ = [
    "metadata",
    "carts",
    "params",
    "customers",
    "customer_web_ids",
    "products",
    "product_cart_codes",
    "orders",
    "order_lines",
    "order_payments",
    "order_adjustments",
    "order_custom_fields",
    "order_status_history",
    "checkpoints",
    "inventory_changes",
    "stock_sources",
    "outbox",
    "runs",
    "audit_events",
    "quarantine",
    "schedules",
    "webhook_events",
    "users",
    "api_tokens",
    "ATTRIBUTE_MODES",
    "PUSH_STATES",
    "OUTBOX_STATES",
    "RUN_STATUSES",
    "QUARANTINE_KINDS",
    "order_number_sort",
]

# Named constraints let future SQLite migrations (batch mode, which rebuilds tables) find and
# alter them, and give readable names in integrity errors.
#: Where the Alembic revision of a store is kept (own name: a PostgreSQL database shared with
#: another Alembic-managed app does not clash).
VERSION_TABLE = "seconnect_schema_version"

#: The newest migration revision, i.e. the schema these tables describe. Opening a store at this
#: revision needs no Alembic at all (tests/store checks it equals the migrations' head).
SCHEMA_REVISION = "0009"

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

ATTRIBUTE_MODES = ("options", "sub-skus")
PUSH_STATES = ("not-needed", "queued", "sent", "rejected")
OUTBOX_STATES = ("pending", "sending", "sent", "parked")
RUN_STATUSES = ("running", "ok", "failed", "abandoned")
QUARANTINE_KINDS = ("order", "product", "customer")


def _one_of(column: str, values: tuple[str, ...], name: str) -> CheckConstraint:
    quoted = ", ".join(f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({quoted})", name=name)


def _cart_fk(ondelete: str = "CASCADE", nullable: bool = False) -> Column:
    return Column("cart_id", Id, ForeignKey("carts.id", ondelete=ondelete), nullable=nullable)


def _order_fk() -> Column:
    return Column("order_id", Id, ForeignKey("orders.id", ondelete="CASCADE"), nullable=False)


def _created_at() -> Column:
    return Column("created_at", UTCDateTime, nullable=False, default=utcnow)


def _updated_at() -> Column:
    return Column("updated_at", UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)


carts = Table(
    "carts",
    metadata,
    Column("id", Id, primary_key=True),
    Column("name", Text, nullable=False, comment="Store Name as the merchant typed it"),
    Column("name_key", Text, nullable=False, unique=True, comment="lower-cased name: names are unique ignoring case"),
    Column("type", Text, nullable=False, comment="cart type id from a plugin, e.g. 'interspire'"),
    Column("settings", Json, nullable=False, default=dict, comment="the settings that are not secret, valid against the type's "
           "config_schema (a script_url is stored without scheme; traffic is always HTTPS)"),
    Column("secrets", Json, nullable=False, default=dict, comment="secret setting name -> Fernet token (seconnect.secrets); "
           "'' once forgotten"),
    Column("ca_bundle", Text, comment="path of a CA bundle to trust for this cart, if not the system's"),
    Column("active", Boolean, nullable=False, server_default=true(), default=True),
    Column("attribute_mode", Text, comment="options | sub-skus; NULL until the first product import"),
    _created_at(),
    _updated_at(),
    _one_of("attribute_mode", ATTRIBUTE_MODES, "attribute_mode"),
)

params = Table(
    "params",
    metadata,
    Column("id", Id, primary_key=True),
    Column("name", Text, nullable=False),
    _cart_fk(nullable=True),
    Column("value", Text, nullable=False),
    _updated_at(),
    # NULLs are distinct in unique constraints, so the global value needs its own partial index.
    Index("uq_params_name_global", "name", unique=True,
          sqlite_where=text("cart_id IS NULL"), postgresql_where=text("cart_id IS NULL")),
    UniqueConstraint("name", "cart_id"),
    Index(None, "cart_id"),
)

customers = Table(
    "customers",
    metadata,
    Column("id", Id, primary_key=True),
    Column("first_name", Text),
    Column("last_name", Text),
    Column("company", Text),
    Column("email", Text),
    Column("email_norm", Text, index=True, comment="trimmed, lower-cased email for matching"),
    Column("phone", Text),
    Column("phone_digits", Text, index=True, comment="digits of phone only, for matching"),
    Column("street1", Text),
    Column("street2", Text),
    Column("city", Text),
    Column("state", Text),
    Column("postal_code", Text),
    Column("country", Text),
    Column("name_address_key", Text, index=True, comment="normalised name + street + zip, for matching"),
    _created_at(),
    _updated_at(),
    Column("created_from", Text, comment="'order import', 'customer import', 'cli' ..."),
    Column("source_cart_id", Id, ForeignKey("carts.id", ondelete="SET NULL")),
)

customer_web_ids = Table(
    "customer_web_ids",
    metadata,
    _cart_fk(),
    Column("web_id", Text, nullable=False),
    Column("customer_id", Id, ForeignKey("customers.id", ondelete="CASCADE"), nullable=False, index=True),
    PrimaryKeyConstraint("cart_id", "web_id"),
)

products = Table(
    "products",
    metadata,
    Column("id", Id, primary_key=True),
    Column("sku", Text, nullable=False, unique=True),
    Column("name", Text),
    Column("description", Text),
    Column("price", Money),
    Column("cost", Money),
    Column("weight", Quantity),
    Column("taxable", Boolean, nullable=False, server_default=true(), default=True),
    Column("discontinued", Boolean, nullable=False, server_default=false(), default=False),
    Column("parent_id", Id, ForeignKey("products.id", ondelete="CASCADE"), index=True,
           comment="set on a sub-SKU: the product it is a variant of"),
    Column("option_values", Json, comment="a sub-SKU's options, e.g. {'Size': 'L'}"),
    Column("qoh", Integer, comment="quantity on hand; NULL = stock not tracked"),
    _created_at(),
    _updated_at(),
)

product_cart_codes = Table(
    "product_cart_codes",
    metadata,
    _cart_fk(),
    Column("product_id", Id, ForeignKey("products.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("code", Text, nullable=False, comment="the SKU or code the cart knows the product by"),
    Column("web_id", Text, comment="the cart's own id, e.g. a product or [VARID:n] id"),
    Column("cart_qoh", Integer, comment="QOH last seen at the cart"),
    Column("last_sent_qoh", Integer, comment="QOH last sent to the cart"),
    _updated_at(),
    PrimaryKeyConstraint("cart_id", "code"),
    Index(None, "cart_id", "web_id"),
)

orders = Table(
    "orders",
    metadata,
    Column("id", Id, primary_key=True),
    _cart_fk(ondelete="RESTRICT"),
    Column("number", Text, nullable=False, comment="the cart's order number, as sent"),
    Column("number_sort", BigInteger, comment="numeric value of number for ordering (see order_number_sort)"),
    Column("ordered_at", UTCDateTime),
    Column("status", Text),
    Column("cart_status", Text, comment="the status the cart last reported (a re-sent order's status wins "
                                        "over a local change only when this changed)"),
    Column("customer_id", Id, ForeignKey("customers.id", ondelete="SET NULL"), index=True),
    Column("customer_match", Text, comment="the match rule that found the customer, or 'created'"),
    Column("billing", Json),
    Column("shipping", Json),
    Column("product_total", Money),
    Column("discount_total", Money),
    Column("subtotal", Money),
    Column("tax", Money),
    Column("shipping_total", Money),
    Column("shipping_method", Text),
    Column("surcharge_total", Money),
    Column("grand_total", Money),
    Column("totals_note", Text, comment="NULL when the parts add up to grand_total, else what they add up to"),
    Column("instructions", Text),
    Column("comments", Text),
    Column("raw", Json, comment="fields of the cart's record that have no column"),
    Column("imported_at", UTCDateTime, nullable=False, default=utcnow),
    _updated_at(),
    UniqueConstraint("cart_id", "number"),
    Index(None, "cart_id", "number_sort", "number"),  # the orders listing: one cart by number
    Index(None, "ordered_at"),
)

order_lines = Table(
    "order_lines",
    metadata,
    Column("id", Id, primary_key=True),
    _order_fk(),
    Column("line_no", Integer, nullable=False),
    Column("sku", Text, comment="as the cart sent it"),
    Column("local_sku", Text, comment="the store file's SKU (sub-SKU when attributes map to one)"),
    Column("product_id", Id, ForeignKey("products.id", ondelete="SET NULL"), index=True),
    Column("name", Text),
    Column("quantity", Quantity, nullable=False),
    Column("unit_price", Money),
    Column("total", Money),
    Column("weight", Quantity),
    Column("options", Json),
    Column("raw", Json),
    UniqueConstraint("order_id", "line_no"),
)

order_payments = Table(
    "order_payments",
    metadata,
    Column("id", Id, primary_key=True),
    _order_fk(),
    Column("kind", Text),
    Column("issuer", Text),
    Column("transaction_id", Text),
    Column("auth_code", Text),
    Column("amount", Money),
    Column("details", Json),
    Index(None, "order_id"),
)

order_adjustments = Table(
    "order_adjustments",
    metadata,
    Column("id", Id, primary_key=True),
    _order_fk(),
    Column("kind", Text, nullable=False, comment="discount | surcharge | coupon"),
    Column("description", Text),
    Column("amount", Money),
    Column("details", Json),
    Index(None, "order_id"),
)

order_custom_fields = Table(
    "order_custom_fields",
    metadata,
    _order_fk(),
    Column("name", Text, nullable=False),
    Column("value", Text),
    PrimaryKeyConstraint("order_id", "name"),
)

# Created before order_status_history, which points at it.
outbox = Table(
    "outbox",
    metadata,
    Column("id", Id, primary_key=True),
    _cart_fk(),
    Column("kind", Text, nullable=False, comment="inventory | status"),
    Column("key", Text, nullable=False, comment="SKU or order number: coalescing and per-key order"),
    Column("payload", Json, nullable=False),
    Column("state", Text, nullable=False, server_default="pending", default="pending"),
    Column("attempts", Integer, nullable=False, server_default="0", default=0),
    Column("next_attempt_at", UTCDateTime, nullable=False, default=utcnow),
    Column("last_error", Text),
    Column("claimed_by", Text),
    Column("claimed_at", UTCDateTime),
    _created_at(),
    Column("sent_at", UTCDateTime),
    _one_of("state", OUTBOX_STATES, "state"),
    Index(None, "state", "next_attempt_at"),
    Index(None, "cart_id", "kind", "key", "state"),
)

order_status_history = Table(
    "order_status_history",
    metadata,
    Column("id", Id, primary_key=True),
    _order_fk(),
    Column("label", Text, nullable=False),
    Column("previous_label", Text),
    Column("note", Text),
    Column("tracking", Json, comment="list of tracking numbers"),
    Column("changed_at", UTCDateTime, nullable=False, default=utcnow),
    Column("push_state", Text, nullable=False, server_default="not-needed", default="not-needed"),
    Column("push_reason", Text, comment="why not pushed, or the cart's rejection"),
    Column("outbox_id", Id, ForeignKey("outbox.id", ondelete="SET NULL")),
    _one_of("push_state", PUSH_STATES, "push_state"),
    Index(None, "order_id", "changed_at"),
)

checkpoints = Table(
    "checkpoints",
    metadata,
    _cart_fk(),
    Column("job", Text, nullable=False),
    Column("value", Text),
    _updated_at(),
    PrimaryKeyConstraint("cart_id", "job"),
)

inventory_changes = Table(
    "inventory_changes",
    metadata,
    Column("id", Id, primary_key=True),
    Column("product_id", Id, ForeignKey("products.id", ondelete="CASCADE"), nullable=False),
    Column("delta", Integer, nullable=False),
    Column("qoh_after", Integer),
    Column("reason", Text),
    Column("source", Text, comment="'cli', 'order 1041 from cart X', 'inventory-get' ..."),
    Column("cart_id", Id, ForeignKey("carts.id", ondelete="SET NULL")),
    Column("at", UTCDateTime, nullable=False, default=utcnow),
    Index(None, "product_id", "at"),
)

# A quantity read from a cart already includes the sales that cart had recorded (seconnect.inventory).
stock_sources = Table(
    "stock_sources",
    metadata,
    Column("product_id", Id, ForeignKey("products.id", ondelete="CASCADE"), primary_key=True),
    _cart_fk(),
    Column("order_mark", Text, comment="the cart's newest order when the quantity was read; '' none, NULL unknown"),
    Column("read_at", UTCDateTime, nullable=False, default=utcnow),
    comment="the cart whose quantity a product's local figure was last taken from",
)

runs = Table(
    "runs",
    metadata,
    Column("id", Id, primary_key=True),
    Column("job", Text, nullable=False),
    Column("cart_id", Id, ForeignKey("carts.id", ondelete="SET NULL")),
    Column("started_at", UTCDateTime, nullable=False, default=utcnow),
    Column("finished_at", UTCDateTime),
    Column("status", Text, nullable=False, server_default="running", default="running"),
    Column("summary", Json),
    Column("error", Text),
    Column("hint", Text),
    Column("pid", Integer),
    Column("host", Text),
    Column("heartbeat_at", UTCDateTime, comment="last sign of life of a running job"),
    _one_of("status", RUN_STATUSES, "status"),
    Index(None, "status"),  # finding running rows whose process is gone (seconnect.runs)
    Index(None, "started_at"),
    Index(None, "cart_id", "job", "started_at"),
)

audit_events = Table(
    "audit_events",
    metadata,
    Column("id", Id, primary_key=True),
    Column("run_id", Id, ForeignKey("runs.id", ondelete="CASCADE"), index=True),
    Column("at", UTCDateTime, nullable=False, default=utcnow),
    Column("cart_id", Id, ForeignKey("carts.id", ondelete="SET NULL")),
    Column("event", Text, nullable=False),
    Column("detail", Json, comment="never holds secrets"),
    Index(None, "at"),
)

quarantine = Table(
    "quarantine",
    metadata,
    Column("id", Id, primary_key=True),
    _cart_fk(),
    Column("kind", Text, nullable=False),
    Column("external_id", Text, comment="the cart's id or number for the record, when readable"),
    Column("reason", Text, nullable=False),
    Column("payload", Text, comment="the raw record as received"),
    _created_at(),
    Column("resolved_at", UTCDateTime),
    Column("attempts", Integer, nullable=False, server_default="0", default=0,
           comment="retries tried since the record was quarantined"),
    _one_of("kind", QUARANTINE_KINDS, "kind"),
    Index(None, "cart_id", "kind", "external_id"),
    Index(None, "resolved_at"),
)

# `seconnect serve` (seconnect.service): when each cart job runs, and which instance runs it now.
schedules = Table(
    "schedules",
    metadata,
    Column("id", Id, primary_key=True),
    _cart_fk(),
    Column("job", Text, nullable=False, comment="a `seconnect run` job name, e.g. import-orders"),
    Column("every_s", Integer, comment="run every this many seconds (start to start)"),
    Column("at_time", Text, comment="or daily at HH:MM, the service's local time; neither: on webhooks only"),
    Column("paused", Boolean, nullable=False, server_default=false(), default=False),
    Column("next_due", UTCDateTime, comment="when the schedule next runs; NULL: only when a webhook wants it"),
    Column("wanted_at", UTCDateTime, comment="a webhook asked for a run at this time (cleared by the run after it)"),
    Column("last_run_id", Id, ForeignKey("runs.id", ondelete="SET NULL")),
    Column("lease_owner", Text, comment="the serve instance running it now"),
    Column("lease_until", UTCDateTime, comment="its claim lapses then unless renewed (a killed instance)"),
    Column("claimed_at", UTCDateTime),
    _created_at(),
    CheckConstraint("every_s IS NULL OR at_time IS NULL", name="one_timing"),
    Index(None, "next_due"),
    Index(None, "cart_id", "job"),
)

# Deliveries a cart's webhook made, kept to absorb duplicates (seconnect.service.webhooks).
webhook_events = Table(
    "webhook_events",
    metadata,
    Column("id", Id, primary_key=True),
    _cart_fk(),
    Column("dedupe_key", Text, comment="the plugin's id for the event; NULL: not deduplicated"),
    Column("job", Text),
    Column("received_at", UTCDateTime, nullable=False, default=utcnow),
    UniqueConstraint("cart_id", "dedupe_key"),
    Index(None, "received_at"),
)

# Dashboard logins and API tokens (seconnect.users, seconnect.web).
users = Table(
    "users",
    metadata,
    Column("id", Id, primary_key=True),
    Column("name", Text, nullable=False, comment="login name as typed"),
    Column("name_key", Text, nullable=False, unique=True, comment="lower-cased name: unique ignoring case"),
    Column("password_hash", Text, nullable=False, comment="argon2id hash (argon2-cffi)"),
    _created_at(),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Id, primary_key=True),
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("token_hash", Text, nullable=False, unique=True, comment="SHA-256 hex of the token; the token is never kept"),
    Column("label", Text, nullable=False, server_default="", default=""),
    _created_at(),
    Column("last_used_at", UTCDateTime),
)

_DIGITS = re.compile(r"\d+")


def order_number_sort(number: str) -> int | None:
    """The value ``orders.number_sort`` holds: the last run of digits in the number.

    Carts number orders "1041", "#1041" or "WEB-1041"; sorting on this keeps 999 before 1000
    where text sorting would not. ``None`` when the number has no digits (or too many to be a
    count) — such orders sort by ``number`` text instead.
    """
    runs_of_digits = _DIGITS.findall(number or "")
    if not runs_of_digits:
        return None
    value = int(runs_of_digits[-1])
    return value if value < 2**63 else None

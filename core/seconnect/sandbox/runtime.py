"""``Sandbox``: start, steer and inspect one sandbox cart from Python."""

from __future__ import annotations

import secrets
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from . import bigcommerce, generator
from .certs import loopback_cert_files, server_context
from .faults import FaultPlan
from .generic import GenericProfile
from .interspire import InterspireProfile
from .model import CartConfig, CartModel
from .profiles_base import Profile
from .server import Gateway, ServerThread
from .state import State

PROFILES: dict[str, type[Profile]] = {"interspire": InterspireProfile, "generic": GenericProfile,
                                      "bigcommerce": bigcommerce.BigCommerceProfile}
DB_FILE = "sandbox.db"
ORDER_CHUNK = 5_000


def switch_problem(profile: str, names: Iterable[str]) -> str | None:
    """Why some of ``names`` are not switches of ``profile`` (None when all are)."""
    known = PROFILES[profile].SWITCHES
    unknown = sorted(set(names) - set(known))
    if not unknown:
        return None
    elsewhere = sorted({other for other, cls in PROFILES.items() if other != profile
                        for name in unknown if name in cls.SWITCHES})
    return (f"unknown bug switch{'es' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))} for the {profile} profile; known: "
            f"{', '.join(known) or 'none'}" + (f" (those exist only in the {' and '.join(elsewhere)} profile)"
                                               if elsewhere else ""))


class Sandbox:
    """A web store speaking SETI over HTTPS on loopback; a context manager.

    ``orders``/``products``/``customers`` size a *new* cart; a ``state_dir`` that already
    holds a ``sandbox.db`` is served as it is (its seed and sizes win, so a restarted CLI
    sandbox keeps its orders). ``orders`` counts every order the cart holds: the Interspire
    profile hands out only those with a downloadable status (about 85 %, see
    :meth:`downloadable_order_numbers`). The password is generated once per state and kept
    in it unless one is given. ``store_code`` is checked by the generic profile only;
    ``log`` receives one line per SETI request. Orders are rendered to XML on first request
    and cached; ``warm=True`` renders them all during ``start()`` instead, so that a
    benchmark times the client, not the sandbox's first rendering.
    """

    def __init__(self, profile: str = "interspire", *, seed: int = 1, orders: int = 50, products: int = 20,
                 customers: int = 30, host: str = "127.0.0.1", port: int = 0, state_dir: str | Path | None = None,
                 latency_ms: float = 0, faults: str | FaultPlan | None = None, bugs: dict[str, bool] | None = None,
                 user: str = "seom.sync", password: str | None = None, store_code: str = "",
                 log: Callable[[str], None] | None = None, warm: bool = False, quota: int | None = 150,
                 window_ms: int = 30_000, embed_lines: int | None = None, inventory_delay_ms: float = 0,
                 client_secret: str | None = None):
        if profile not in PROFILES:
            raise ValueError(f"unknown sandbox profile {profile!r}: choose {' or '.join(PROFILES)}")
        problem = switch_problem(profile, bugs or {})
        if problem:
            raise ValueError(problem)
        for name, value in (("orders", orders), ("products", products), ("customers", customers)):
            if value < 0:
                raise ValueError(f"{name} must be 0 or more")
        if orders and not products:
            raise ValueError("a cart with orders needs at least one product")
        if not user or password == "":
            raise ValueError("user and password must not be empty (omit password to have one generated)")
        self.profile_name = profile
        self.seed, self.sizes = seed, {"orders": orders, "products": products, "customers": customers}
        self.host, self._port = host, port
        self.user, self._password, self.store_code = user, password, store_code
        self._bugs = dict(bugs or {})
        self._state_arg = Path(state_dir) if state_dir is not None else None
        self._log = log
        self._latency_ms = latency_ms
        self._faults_arg = faults
        self._warm = warm
        # bigcommerce only: rate limit, lines embedded per order, inventory write lag, webhook secret
        self._rest_options = {"quota": quota, "window_ms": window_ms, "embed_lines": embed_lines,
                              "inventory_delay_ms": inventory_delay_ms, "client_secret": client_secret}
        if profile == "bigcommerce":  # check now, not at start()
            bigcommerce.RateLimiter(quota, window_ms)
            if embed_lines is not None and embed_lines < 0 or inventory_delay_ms < 0:
                raise ValueError("embed_lines (None: every line) and inventory_delay_ms must be 0 or more")
        self._tmp: Path | None = None
        self._state: State | None = None
        self._server: ServerThread | None = None
        self._model: CartModel | None = None
        self._profile: Profile | None = None
        self._gateway: Gateway | None = None
        self._lifecycle = threading.Lock()
        self.reused = False  # True when an existing state_dir was served as it was

    # ---------------------------------------------------------------- lifecycle

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> Sandbox:
        with self._lifecycle:
            if self._server is not None:
                return self
            if self._state_arg is None:
                self._tmp = Path(tempfile.mkdtemp(prefix="seconnect-sandbox-"))
            self.state_dir.mkdir(parents=True, exist_ok=True)
            try:
                self._open_state()
                self._gateway = Gateway(admin_token=self.password, add_orders=self._add_order_ids,
                                        summary=self.summary, log=self._log)
                self._gateway.latency = self._latency_ms / 1000
                self._gateway.faults = self._plan(self._faults_arg)
                self._context, self._ca_file = server_context(self.state_dir, self.host)
                self._serve()
                if self._warm:
                    self._profile.warm()
            except BaseException:
                self._teardown()
                raise
        return self

    def stop(self) -> None:
        with self._lifecycle:
            self._teardown()

    def restart(self) -> None:
        """Stop and start on the same port with the same state, as a cart host restarting
        mid-run: open connections are dropped, the database is closed and reopened, and every
        cache is rebuilt from it."""
        with self._lifecycle:
            self._require_running()
            self._server.stop()
            self._server = None
            self._profile.close()
            self._state.close()
            self._open_state()
            self._serve()

    def _serve(self) -> None:
        """Bind (learning the port), then build the profile: image URLs carry the port."""
        self._server = ServerThread(self.host, self._port, self._context, self._gateway)
        self._port = self._server.port
        config = CartConfig(user=self.user, password=self.password, store_code=self.store_code,
                            shop_url=f"https://{self._authority(self._port)}", seed=self.seed)
        self._model = CartModel(self._state, config)
        if self.profile_name == "bigcommerce":
            self._profile = bigcommerce.BigCommerceProfile(self._model, None, ca_file=str(self._ca_file),
                                                           **self._rest_options)
            self._gateway.steer = self._steer
        else:
            self._profile = PROFILES[self.profile_name](self._model, self._bugs or None)
        self._gateway.profile = self._profile

    def _open_state(self) -> None:
        self._state = State(self.state_dir / DB_FILE)
        if self._state.populated:
            self.reused = self.reused or self._model is None
            self.seed = int(self._state.get_meta("seed") or self.seed)
        else:
            self._generate()
        if self._password is None:
            self._password = self._state.get_meta("password") or secrets.token_urlsafe(12)
        self._state.set_meta(password=self._password)

    def _generate(self) -> None:
        seed, sizes = self.seed, self.sizes
        products, combos = generator.generate_products(seed, sizes["products"])
        rest = self.profile_name == "bigcommerce"
        if rest:
            bigcommerce.shape_catalog(products)
        customers = generator.generate_customers(seed, sizes["customers"])
        factory = generator.OrderFactory(products, combos, customers) if sizes["orders"] else None

        def chunks() -> Iterator[list[dict]]:
            number, after = generator.FIRST_ORDER_NUMBER, generator.ORDER_EPOCH
            for start in range(0, sizes["orders"], ORDER_CHUNK):
                part = generator.generate_orders(factory, seed, min(ORDER_CHUNK, sizes["orders"] - start),
                                                 first_index=start, first_number=number, after=after)
                number = part[-1]["id"] + 1
                after = generator.dt.datetime.fromisoformat(part[-1]["date"])
                if rest:
                    bigcommerce.shape_orders(products, combos, part)
                yield part

        self._state.populate(products, combos, customers, chunks(), seed=seed, generated_orders=sizes["orders"],
                             generated_products=sizes["products"], generated_customers=sizes["customers"])

    def _teardown(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
        if self._profile is not None:
            self._profile.close()
        if self._state is not None:
            self._state.close()
            self._state = None
        self._model = None
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def _require_running(self) -> None:
        if self._server is None:
            raise RuntimeError("the sandbox is not running: use it as a context manager or call start()")

    # ---------------------------------------------------------------- addresses and credentials

    def _authority(self, port: int) -> str:
        host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(self.host, self.host)
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    @property
    def port(self) -> int:
        self._require_running()
        return self._port

    @property
    def script_url(self) -> str:
        """The Script URL as a merchant types it into SEOM: without ``https://``."""
        return f"{self._authority(self.port)}{self._profile.script_path()}"

    @property
    def url(self) -> str:
        return f"https://{self.script_url}"

    @property
    def password(self) -> str:
        if self._password is None:
            raise RuntimeError("the password is known once the sandbox has started")
        return self._password

    @property
    def ca_file(self) -> str:
        self._require_running()
        return str(self._ca_file)

    def service_cert(self, out_dir: str | Path) -> tuple[str, str]:
        """(certificate file, key file) for a service on 127.0.0.1 that this sandbox's webhook
        deliveries trust (issued by its CA; ``seconnect serve --tls-cert/--tls-key``)."""
        self._require_running()
        return loopback_cert_files(self.state_dir, Path(out_dir))

    @property
    def state_dir(self) -> Path:
        return self._state_arg if self._state_arg is not None else self._tmp  # type: ignore[return-value]

    @property
    def profile(self) -> Profile:
        return self._profile

    @property
    def bugs(self) -> dict[str, bool]:
        """The effective bug switches (empty for the generic profile)."""
        return dict(getattr(self._profile, "bugs", {}))

    # ---------------------------------------------------------------- steering

    def add_orders(self, n: int) -> list[str]:
        """Append ``n`` new orders (always downloadable) and return their numbers; their lines
        are taken off the cart's stock, as a shop does when an order is placed."""
        return [str(i) for i in self._add_order_ids(n)]

    def _add_order_ids(self, n: int) -> list[int]:
        self._require_running()
        return self._profile.add_orders(n)

    def set_order_status(self, number: str | int, status: str | int) -> None:
        """Change an order's status as the merchant would in the cart's own admin: one of the
        cart's status names, e.g. ``Completed``, or its id (see ``generator.STATUS_NAMES``)."""
        self._require_running()
        ids = {name.casefold(): sid for sid, name in generator.STATUS_NAMES.items()}
        status_id = status if isinstance(status, int) else ids.get(str(status).casefold())
        if status_id not in generator.STATUS_NAMES:
            raise ValueError(f"unknown cart status {status!r}; known: {', '.join(generator.STATUS_NAMES.values())}")
        if not self._profile.set_status(int(number), status_id):
            raise ValueError(f"the cart has no order {number}")

    # ---------------------------------------------------------------- bigcommerce profile only

    def _rest(self) -> bigcommerce.BigCommerceProfile:
        self._require_running()
        if not isinstance(self._profile, bigcommerce.BigCommerceProfile):
            raise RuntimeError("only the bigcommerce profile has this")
        return self._profile

    @property
    def store_hash(self) -> str:
        return self._rest().store_hash

    @property
    def api_base(self) -> str:
        """What the BigCommerce cart setting ``api_base`` takes: ``127.0.0.1:PORT``."""
        self._rest()
        return self._authority(self.port)

    @property
    def client_secret(self) -> str:
        """The app's client secret that signs webhooks (Standard Webhooks)."""
        return self._rest().client_secret

    def archive_order(self, number: str | int) -> None:
        if not self._rest().archive(int(number)):
            raise ValueError(f"the cart has no order {number}")

    def refund_order(self, number: str | int) -> None:
        """Refund every line of the order in full; its status becomes Refunded (4)."""
        if not self._rest().refund(int(number)):
            raise ValueError(f"the cart has no order {number}")

    def shipments(self, number: str | int) -> list[dict]:
        """Shipments created for the order (``POST /v2/orders/{id}/shipments``), as served."""
        return self._rest().shipments(int(number))

    def rest_requests(self) -> list[tuple[str, str, int]]:
        """(method, route pattern, HTTP status) per REST request, in order; status 0 = reset."""
        self._rest()
        return self._gateway.rest_requests()

    def throttled(self) -> int:
        """How many requests got a quota 429 (the ``429`` fault, load shedding, is not counted)."""
        self._rest()
        return self._gateway.throttled

    def redeliver_last(self) -> bool:
        """Send the last webhook event again (same ``hash``); False when none was sent yet."""
        return self._rest().webhooks.redeliver_last()

    def deactivate_hooks(self) -> None:
        """Switch every webhook off, as BigCommerce does after failed retries."""
        self._rest().deactivate_hooks()

    def webhook_deliveries(self) -> list[dict]:
        """Every delivery attempt: ``hook`` id, ``scope``, ``hash``, ``status`` (0: no reply), ``error``."""
        profile = self._rest()
        with profile.webhooks._lock:
            return list(profile.webhooks.deliveries)

    def _steer(self, action: str, query: dict[str, str]) -> dict:
        """The admin endpoint ``POST /__sandbox/steer/ACTION?order=N[&status=S]``."""
        order = query["order"]
        if action == "status":
            raw = query["status"]
            self.set_order_status(order, int(raw) if raw.isdigit() else raw)
        elif action == "archive":
            self.archive_order(order)
        elif action == "refund":
            self.refund_order(order)
        else:
            raise ValueError(f"no steering action {action!r}: use status, archive or refund")
        return {"order": order, "done": action}

    def warm(self) -> int:
        """Pre-render every downloadable order and customer, so that a timed run measures the
        client rather than the sandbox's first rendering; returns the number of orders."""
        self._require_running()
        return self._profile.warm()

    def set_faults(self, spec: str | FaultPlan | None) -> None:
        self._faults_arg = spec
        if self._gateway is not None:
            self._gateway.faults = self._plan(spec)

    def _plan(self, spec: str | FaultPlan | None) -> FaultPlan | None:
        if spec is None or spec == "":
            return None
        return spec if isinstance(spec, FaultPlan) else FaultPlan.parse(spec, self.seed)

    def set_latency(self, ms: float) -> None:
        if ms < 0:
            raise ValueError("latency must be 0 or more milliseconds")
        self._latency_ms = ms
        if self._gateway is not None:
            self._gateway.latency = ms / 1000

    # ---------------------------------------------------------------- read-back (from SQLite)

    def orders(self) -> list[dict]:
        """Every order the cart holds (any status, deleted too), with its current status;
        ``number`` is the order number as the cart sends it."""
        self._require_running()
        return [{**o, "number": str(o["id"])} for o in self._state.iter_orders()]

    def downloadable_order_numbers(self) -> list[str]:
        """The orders this profile hands out (``ordercount`` with ``lastorder=All``), ascending."""
        self._require_running()
        return [str(i) for i in self._state.order_ids(self._profile.downloadable_where())]

    def products(self) -> list[dict]:
        """Products with their variations: ``code``/``web_id`` as this profile exports them (an
        Interspire parent with variations has no record; its ``code`` is what it would get),
        ``sku`` the cart's own field, ``tracked`` whether stock is kept, ``qoh`` the stock;
        money in cents, weight and dimensions in hundredths."""
        self._require_running()
        profile = self._profile
        combos_by_product: dict[int, list[dict]] = {}
        for combo in self._state.combos():
            pid, cid = combo["product_id"], combo["id"]
            combos_by_product.setdefault(pid, []).append({
                "id": cid, "web_id": f"{pid}-{cid}", "code": profile.product_code(pid, cid), "sku": combo["sku"],
                "options": dict(zip(combo["options"], combo["labels"], strict=True)), "qoh": combo["stock"],
                "tracked": profile.tracked(pid, cid)})
        out = []
        for product in self._state.products():
            pid = product["id"]
            out.append({
                "id": pid, "web_id": str(pid), "code": profile.product_code(pid, None), "sku": product["code"],
                "name": product["name"], "price": product["price"], "hidden": product["hidden"],
                **{k: product[k] for k in ("weight", "width", "depth", "height")},
                "qoh": product["stock"], "tracked": profile.tracked(pid, None),
                "variations": combos_by_product.get(pid, [])})
        return out

    def qoh(self, code_or_sku: str) -> int | None:
        """Stock of the record an inventory update with this SKU would address first (the
        profile's own rules), or None when it addresses nothing."""
        self._require_running()
        stock, combo_stock = self._state.stock()
        pids, cids = self._profile.resolve(code_or_sku)
        if pids:
            return stock[pids[0]]
        return combo_stock[cids[0]] if cids else None

    def customers(self) -> list[dict]:
        self._require_running()
        return self._state.customer_docs()

    def status_updates(self) -> list[dict]:
        """Every ``updatestatus`` received: order, status, refnumber, notes, tracking
        (number, carrier, pickup_date, method), variant ``form``/``xml``, ok."""
        self._require_running()
        return self._state.status_updates()

    def requests(self) -> list[tuple[str, int]]:
        """(setifunction, HTTP status) per SETI request served; status 0 = connection reset."""
        return self._gateway.requests() if self._gateway else []

    def connections_accepted(self) -> int:
        """TCP connections accepted since this server started."""
        self._require_running()
        return self._server.server.accepted

    def summary(self) -> dict:
        self._require_running()
        counts = self._state.summary()
        return {"profile": self.profile_name, "seed": self.seed, "orders": counts["orders"],
                "downloadable_orders": self._state.count_orders(self._profile.downloadable_where()),
                "products": counts["products"], "variations": counts["combos"], "customers": counts["customers"],
                "status_updates": counts["status_updates"],
                "requests": len(self.requests()) + len(self._gateway.rest_requests())}

    def __repr__(self) -> str:
        where = self.script_url if self._server else "stopped"
        return f"<Sandbox {self.profile_name} {where}>"


def sandbox_fixture(profile: str = "interspire", *, scope: str = "function", **options):
    """A pytest fixture that runs a :class:`Sandbox` for the test (or module, session…)::

        isc = sandbox_fixture("interspire", scope="module", orders=100)

        def test_count(isc):
            ...  # isc is the running Sandbox

    pytest is imported only when this is called, so the package does not depend on it.
    """
    import pytest

    @pytest.fixture(scope=scope)
    def _sandbox() -> Iterator[Sandbox]:
        with Sandbox(profile, **options) as sb:
            yield sb

    return _sandbox

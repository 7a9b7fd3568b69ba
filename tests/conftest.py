"""Shared fixtures: an isolated environment for every test, and real databases on both backends.

- ``seconnect_home`` (autouse): a per-test directory; ``SECONNECT_DB``, ``SECONNECT_KEY_FILE`` and the
  XDG directories point into it, so no test reads or writes the real user's store, key or config.
- ``postgres_server`` (session): URL of a PostgreSQL database; ``$SECONNECT_TEST_PG_URL`` if set
  (the role needs CREATEDB), else a throwaway cluster started once per session.
- ``db_url``: a fresh database, parametrized ``sqlite`` / ``postgresql`` (the latter marked
  ``postgres``); also exported as ``SECONNECT_DB`` so CLI calls in the test use it.
  Empty, unless the test also uses ``store``: then it is already at the newest schema revision
  (cloned from a template migrated once per session), which is what opening it would produce.
- ``store``: ``open_store(db_url)``, closed after the test.
- ``sqlite_url`` / ``pg_url``: a fresh empty database on one backend only.
- ``plugins``: the installed cart plugins (``load_plugins()``); some directories override it.
- ``fast_retries`` (not autouse): the SETI client takes two quick tries instead of retrying with
  real waits. A directory that wants it for every test turns it on in its own conftest
  (tests/inventory, tests/status), so no other test gets it by accident.
- ``isc`` / ``gen``: a fresh Interspire / generic sandbox cart with its state in ``tmp_path``, sized
  by ``sandbox_options``, which a directory's conftest overrides (default: ``Sandbox``'s own sizes).

Any test that uses ``postgres_server`` (directly or through ``pg_url``) gets the ``postgres``
marker, so ``pytest -m "not postgres"`` runs without PostgreSQL.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from seconnect.http import RetryPolicy
from seconnect.plugins import Plugins, load_plugins
from seconnect.sandbox import Sandbox
from seconnect.seti.client import SetiClient
from seconnect.seti.plugin import SetiPlugin
from seconnect.store import Store, open_store
from seconnect.testing.postgres import create_database, drop_database, throwaway_postgres


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "postgres_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgres)


@pytest.fixture(autouse=True)
def seconnect_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point every place seconnect reads or writes user files at a fresh per-test directory."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("SECONNECT_DB", f"sqlite:///{home / 'seconnect.db'}")
    monkeypatch.setenv("SECONNECT_KEY_FILE", str(home / "secret.key"))
    for var, sub in (("XDG_DATA_HOME", "data"), ("XDG_CONFIG_HOME", "config"),
                     ("XDG_CACHE_HOME", "cache"), ("XDG_STATE_HOME", "state")):
        monkeypatch.setenv(var, str(home / sub))
    return home


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """URL of a PostgreSQL database whose role may CREATE DATABASE (per-test databases live there)."""
    external = os.environ.get("SECONNECT_TEST_PG_URL")
    if external:
        yield external
        return
    with throwaway_postgres() as url:
        yield url


def _sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def _db_name(url: str) -> str:
    return make_url(url).database or ""


class _Dropper:
    """Drops each test's database one test later.

    Dropping right away often waits ~100 ms for the closed connections' backends to exit;
    a test later they are long gone, and at most one spare database is alive at a time.
    """

    def __init__(self, server: str):
        self.server = server
        self.pending: list[str] = []

    def later(self, name: str) -> None:
        self.flush()
        self.pending.append(name)

    def flush(self) -> None:
        while self.pending:
            drop_database(self.server, self.pending.pop())


@pytest.fixture(scope="session")
def _pg_dropper(postgres_server: str) -> Iterator[_Dropper]:
    dropper = _Dropper(postgres_server)
    yield dropper
    dropper.flush()


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite store file at head, copied by tests that want a ready store."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    open_store(_sqlite_url(path)).close()  # closing the last connection folds the WAL in
    return path


@pytest.fixture(scope="session")
def _pg_template(postgres_server: str) -> Iterator[str]:
    """A PostgreSQL database at head, used as CREATE DATABASE template for ready stores."""
    url = create_database(postgres_server, f"seconnect_tpl_{uuid.uuid4().hex[:12]}")
    open_store(url).close()
    yield _db_name(url)
    drop_database(postgres_server, _db_name(url))


def _fresh_sqlite(factory: pytest.TempPathFactory, template: Path | None) -> str:
    # Its own directory, so the file never collides with what a test puts in tmp_path.
    path = factory.mktemp("db") / "store.db"
    if template is not None:
        shutil.copyfile(template, path)
        os.chmod(path, 0o600)
    return _sqlite_url(path)


@pytest.fixture
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A fresh, empty SQLite store file URL."""
    return _fresh_sqlite(tmp_path_factory, None)


@pytest.fixture
def pg_url(postgres_server: str, _pg_dropper: _Dropper) -> Iterator[str]:
    """A fresh, empty PostgreSQL database URL, dropped after the test."""
    url = create_database(postgres_server)
    yield url
    _pg_dropper.later(_db_name(url))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
           monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh database on each backend (see the module docstring for when it is pre-migrated)."""
    ready = "store" in request.fixturenames
    dropper = None
    if request.param == "sqlite":
        url = _fresh_sqlite(tmp_path_factory, request.getfixturevalue("_sqlite_template") if ready else None)
    else:
        dropper = request.getfixturevalue("_pg_dropper")
        template = request.getfixturevalue("_pg_template") if ready else "template0"
        url = create_database(dropper.server, template=template)
    monkeypatch.setenv("SECONNECT_DB", url)
    yield url
    if dropper is not None:
        dropper.later(_db_name(url))


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    """The store on ``db_url``, at the newest schema revision."""
    opened = open_store(db_url)
    yield opened
    opened.close()


@pytest.fixture
def plugins() -> Plugins:
    """The installed cart plugins, loaded for the test."""
    return load_plugins()


@pytest.fixture
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SETI client retries a failing call itself, with real waits; with this it takes two quick tries.

    Not autouse here: a directory whose tests all want it requests it from an autouse fixture
    in its own conftest.
    """
    monkeypatch.setattr(SetiPlugin, "_client", staticmethod(
        lambda cart: SetiClient.for_cart(cart, retry=RetryPolicy.no_wait(attempts=2))))


@pytest.fixture
def sandbox_options() -> dict:
    """Keyword arguments (sizes, seed...) for the ``isc`` / ``gen`` sandboxes; override it per directory."""
    return {}


def _sandbox(profile: str, tmp_path: Path, options: dict) -> Sandbox:
    return Sandbox(profile, state_dir=tmp_path / profile, **options)


@pytest.fixture
def isc(tmp_path: Path, sandbox_options: dict) -> Iterator[Sandbox]:
    """A fresh Interspire sandbox (every bug on; variations as [VARID:n]; no updatestatus: it answers a
    SETIError document), state in ``tmp_path``."""
    with _sandbox("interspire", tmp_path, sandbox_options) as sb:
        yield sb


@pytest.fixture
def gen(tmp_path: Path, sandbox_options: dict) -> Iterator[Sandbox]:
    """A fresh generic sandbox (variations with their own SKUs; stores every updatestatus it gets),
    state in ``tmp_path``."""
    with _sandbox("generic", tmp_path, sandbox_options) as sb:
        yield sb

"""Schema migrations: automatic, idempotent, atomic, safe under concurrent first opens."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from seconnect.errors import StoreError
from seconnect.store import current_revision, head_revision, open_store
from seconnect.store import tables as t
from seconnect.store.database import make_engine
from seconnect.store.migrate import MIGRATIONS, VERSION_TABLE, upgrade


def _revision_file(directory: Path, rev: str, down: str, body: str) -> None:
    """Add a revision whose upgrade() runs ``body``."""
    lines = [
        "import sqlalchemy as sa",
        "from alembic import op",
        f"revision = {rev!r}",
        f"down_revision = {down!r}",
        "branch_labels = depends_on = None",
        "def upgrade():",
        textwrap.indent(textwrap.dedent(body).strip(), "    "),
        "def downgrade():",
        "    pass",
    ]
    (directory / "versions" / f"{rev}_test.py").write_text("\n".join(lines) + "\n")


@pytest.fixture
def scripts(tmp_path: Path) -> Path:
    """A copy of the shipped migrations that a test can add revisions to."""
    target = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def _tables(store) -> set[str]:
    return set(inspect(store.engine).get_table_names())


def test_fresh_store_is_at_head(store) -> None:
    with store.connect() as conn:
        assert current_revision(conn) == head_revision()


def test_migrations_match_the_table_definitions(db_url: str) -> None:
    """tables.py and the revisions must describe the same schema."""
    with open_store(db_url) as store, store.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "version_table": VERSION_TABLE})
        diff = compare_metadata(context, t.metadata)
    assert diff == []


def test_reopening_runs_nothing(store) -> None:
    assert upgrade(store.engine, store.url) is False
    open_store(store.engine.url.render_as_string(hide_password=False)).close()


def test_existing_store_is_upgraded_on_open(store, scripts: Path) -> None:
    _revision_file(scripts, "9002", head_revision(), 'op.create_table("extra", sa.Column("id", sa.Integer, primary_key=True))')
    assert upgrade(store.engine, store.url, script_location=scripts) is True
    with store.connect() as conn:
        assert current_revision(conn) == "9002"
    assert "extra" in _tables(store)


def test_failing_migration_leaves_the_old_schema(store, scripts: Path) -> None:
    _revision_file(scripts, "9002", head_revision(), '''\
        op.create_table("half_done", sa.Column("id", sa.Integer, primary_key=True))
        op.add_column("carts", sa.Column("extra", sa.Text))
        raise RuntimeError("migration bug")
        ''')
    before = _tables(store)
    with pytest.raises(StoreError) as caught:
        upgrade(store.engine, store.url, script_location=scripts)
    assert "migration bug" in str(caught.value)
    assert "nothing was changed" in caught.value.hint
    assert _tables(store) == before
    assert "extra" not in {c["name"] for c in inspect(store.engine).get_columns("carts")}
    with store.connect() as conn:
        assert current_revision(conn) == head_revision()


def test_failing_first_upgrade_leaves_an_empty_database(db_url: str, scripts: Path) -> None:
    """The initial schema and a broken later revision run in one transaction: all or nothing."""
    _revision_file(scripts, "9002", head_revision(), 'raise RuntimeError("migration bug")')
    engine = make_engine(db_url)
    try:
        with pytest.raises(StoreError):
            upgrade(engine, "the test database", script_location=scripts)
        assert inspect(engine).get_table_names() == []
    finally:
        engine.dispose()


def test_rebuilding_a_parent_table_keeps_its_children(store, scripts: Path) -> None:
    """SQLite batch migrations copy-drop-rename a table; children must survive the drop."""
    with store.begin() as conn:
        cart = conn.execute(t.carts.insert().values(name="Main", name_key="main", type="generic",
                                                    settings={"script_url": "x"}, secrets={})
                            ).inserted_primary_key[0]
        conn.execute(t.params.insert().values(name="P", cart_id=cart, value="1"))
        conn.execute(t.checkpoints.insert().values(cart_id=cart, job="import-orders", value="7"))
    _revision_file(scripts, "9002", head_revision(), '''\
        rebuild = "always" if op.get_bind().dialect.name == "sqlite" else "auto"
        with op.batch_alter_table("carts", recreate=rebuild) as batch:
            batch.add_column(sa.Column("nickname", sa.Text))
        ''')
    assert upgrade(store.engine, store.url, script_location=scripts) is True
    with store.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM params")).scalar() == 1
        assert conn.execute(text("SELECT value FROM checkpoints")).scalar() == "7"
        if store.dialect_name == "sqlite":
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1  # back on for later work


def test_store_from_a_newer_seconnect_is_refused(store) -> None:
    with store.begin() as conn:
        conn.execute(text(f"UPDATE {VERSION_TABLE} SET version_num = 'f00dcafe'"))
    with pytest.raises(StoreError) as caught:
        open_store(store.engine.url.render_as_string(hide_password=False))
    assert "newer seconnect" in str(caught.value)
    assert "upgrade seconnect" in caught.value.hint


_OPENER = textwrap.dedent("""\
    import sys, time
    from pathlib import Path
    from seconnect.store import open_store
    go = Path(sys.argv[2])
    print("ready", flush=True)
    while not go.exists():
        time.sleep(0.005)
    open_store(sys.argv[1]).close()
    print("opened", flush=True)
    """)


@pytest.mark.slow
def test_concurrent_first_opens_do_not_fail(db_url: str, tmp_path: Path) -> None:
    go = tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, "-c", _OPENER, db_url, str(go)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(4)]
    try:
        for proc in procs:
            assert proc.stdout.readline().strip() == "ready"
        go.touch()
        results = [proc.communicate(timeout=120) for proc in procs]
    finally:
        for proc in procs:
            proc.kill()
    for proc, (out, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err
        assert "opened" in out
    with open_store(db_url) as store, store.connect() as conn:
        assert current_revision(conn) == head_revision()


def test_schema_revision_constant_is_the_migrations_head():
    """open_store() skips Alembic when a store is at tables.SCHEMA_REVISION: it must be the head."""
    from seconnect.store.tables import SCHEMA_REVISION

    assert SCHEMA_REVISION == head_revision()


def test_opening_a_current_store_does_not_load_alembic(tmp_path):
    import subprocess
    import sys

    url = f"sqlite:///{tmp_path / 's.db'}"
    open_store(url).close()  # created and migrated here
    code = (f"import sys; from seconnect.store import open_store; open_store({url!r}).close(); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'alembic'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_0003_remembers_the_carts_status_and_restores_overwritten_local_changes(db_url: str, scripts: Path) -> None:
    """Orders stored before ``orders.cart_status`` existed: the cart's last label is taken from
    before the first local change, and a local change a re-import had overwritten comes back."""
    for newer in (scripts / "versions").glob("*.py"):
        if newer.name[:4] >= "0003":  # 0003 and every revision built on it
            newer.unlink()
    engine = make_engine(db_url)
    try:
        upgrade(engine, "the test database", script_location=scripts)  # the schema before 0003
        with engine.begin() as conn:
            assert current_revision(conn) == "0002"  # the revision before 0003
            cart = conn.execute(text("INSERT INTO carts (name, name_key, type, script_url, created_at, updated_at)"
                                     " VALUES ('M', 'm', 'Generic', 'x', :t, :t) RETURNING id"),
                                {"t": "2024-01-01T00:00:00+00:00"}).scalar_one()
            orders = {}
            for number, state in (("1", "Pending"), ("2", "Shipped"), ("3", "Pending")):
                orders[number] = conn.execute(text(
                    "INSERT INTO orders (cart_id, number, status, imported_at, updated_at) VALUES "
                    "(:c, :n, :s, :t, :t) RETURNING id"), {"c": cart, "n": number, "s": state,
                                                         "t": "2024-01-01T00:00:00+00:00"}).scalar_one()
            # 2: set to Shipped locally; 3: set to Shipped, then a re-import put Pending back
            for number, previous, label in (("2", "Pending", "Shipped"), ("3", "Pending", "Shipped")):
                conn.execute(text("INSERT INTO order_status_history (order_id, label, previous_label, changed_at, "
                                  "push_state) VALUES (:o, :l, :p, :t, 'not-needed')"),
                             {"o": orders[number], "l": label, "p": previous, "t": "2024-01-02T00:00:00+00:00"})
        assert upgrade(engine, "the test database") is True
        with engine.connect() as conn:
            assert current_revision(conn) == head_revision()
            rows = conn.execute(text("SELECT number, status, cart_status FROM orders ORDER BY number")).all()
        assert [tuple(r) for r in rows] == [("1", "Pending", "Pending"), ("2", "Shipped", "Pending"),
                                            ("3", "Shipped", "Pending")]
    finally:
        engine.dispose()

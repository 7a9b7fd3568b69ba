"""`seconnect doctor`: each check says what is wrong and what to do; exit 7 when anything is wrong."""

from __future__ import annotations

import json
import os

import pytest
from click.testing import CliRunner
from sqlalchemy.engine import make_url

from seconnect import hookimpl
from seconnect.cli import build_cli
from seconnect.plugins import load_plugins
from seconnect.secrets import key_path
from seconnect.store.tables import SCHEMA_REVISION

from .helpers import add_cart, cli, cli_json


def _checks(data: dict) -> dict[str, dict]:
    return {c["what"]: c for c in data["checks"]}


def test_a_healthy_setup_passes_every_check(store, plugins, gen, db_url):
    add_cart(store, plugins, gen)
    assert cli(db_url, "run", "import-orders", "--cart", "Shop").exit_code == 0
    result, data = cli_json(db_url, "doctor")
    assert result.exit_code == 0 and data["ok"] is True, result.output
    checks = _checks(data)
    assert checks["store"]["status"] == "ok" and f"schema revision {SCHEMA_REVISION}" in checks["store"]["detail"]
    assert checks["key file"]["detail"] == f"{key_path()} (mode 0600)"
    assert "generic (Generic)" in checks["plugins"]["detail"]
    assert checks["cart Shop"]["status"] == "ok" and "credentials accepted" in checks["cart Shop"]["detail"]
    assert checks["outbox"]["detail"] == "0 pending, 0 sending, 0 parked"
    assert checks["runs of Shop"]["status"] == "ok" and "import-orders ok" in checks["runs of Shop"]["detail"]
    assert "All good." in cli(db_url, "doctor").stdout


def test_problems_are_reported_with_what_to_do(store, plugins, gen, isc, db_url):
    add_cart(store, plugins, gen, "Gen")
    add_cart(store, plugins, isc, "Isc")
    isc.set_faults("badauth")
    assert cli(db_url, "run", "import-orders", "--cart", "Isc").exit_code == 15
    os.chmod(key_path(), 0o644)
    gen.stop()  # its Script URL no longer answers

    result, data = cli_json(db_url, "doctor")
    assert result.exit_code == 7 and data["ok"] is False
    checks = _checks(data)
    assert checks["cart Isc"]["status"] == "problem" and "rejected" in checks["cart Isc"]["detail"]
    assert checks["cart Gen"]["status"] == "problem" and checks["cart Gen"]["fix"]
    assert checks["key file"]["status"] == "problem" and checks["key file"]["fix"] == f"Make it private: chmod 600 {key_path()}"
    runs_isc = checks["runs of Isc"]
    assert runs_isc["status"] == "problem" and "import-orders failed" in runs_isc["detail"]
    assert "seconnect runs --cart 'Isc'" in runs_isc["fix"]
    text = cli(db_url, "doctor")
    assert "PROBLEM  cart Isc:" in text.stdout and "→ Make it private: chmod 600" in text.stdout
    assert "4 problems found." in text.stdout and "Attention: doctor found 4 problems" in text.stderr


def test_parked_outbox_rows_and_broken_plugins_are_problems(store, plugins, db_url):
    from inventory.helpers import add_product

    from seconnect import carts, params
    from seconnect.inventory import set_quantity

    with store.begin() as conn:
        carts.add_cart(conn, plugins, name="Off", cart_type="Generic", user="u", password="p",
                       script_url="127.0.0.1:9/seti.php")
        cart = carts.get_cart(conn, "Off")
        params.set_value(conn, "SynchQOH", "TRUE", cart.id)
    add_product(store, "A-1", 4, codes={cart.id: ("A-1", None)})
    with store.begin() as conn:
        set_quantity(conn, plugins, "A-1", 5)
        conn.exec_driver_sql("UPDATE outbox SET state = 'parked', last_error = 'refused'")
    cli(db_url, "carts", "edit", "Off", "--inactive")

    class Typo:
        @hookimpl
        def seconnect_cart_typez(self):  # a hook that does not exist: the plugin cannot load
            return []

    result = CliRunner().invoke(build_cli(load_plugins(extra=[("typo_cart", Typo())])),
                                ["--db", db_url, "doctor", "--json"], catch_exceptions=False)
    assert result.exit_code == 7
    checks = _checks(json.loads(result.stdout))
    assert checks["outbox"]["status"] == "problem" and "1 parked" in checks["outbox"]["detail"]
    assert "outbox retry --all" in checks["outbox"]["fix"]
    assert checks["plugin typo_cart"]["status"] == "problem" and "SECONNECT_DISABLE_PLUGINS" in checks["plugin typo_cart"]["fix"]
    assert checks["carts"]["status"] == "info" and "cart Off" not in checks  # inactive carts are not called


def test_a_store_that_cannot_be_opened_is_a_problem_not_a_traceback(tmp_path):
    junk = tmp_path / "junk.db"
    junk.write_text("not a database")
    result = cli(f"sqlite:///{junk}", "doctor")
    assert result.exit_code == 7
    assert result.stdout.startswith("PROBLEM  store: ") and "→" in result.stdout


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_the_store_password_is_masked(db_url):
    url = make_url(db_url).set(password="Very-Secret-42")
    result = cli(url.render_as_string(hide_password=False), "doctor")
    assert "Very-Secret-42" not in result.output and "***" in result.stdout


def test_schedules_nobody_runs_say_no_serve_is_running(store, plugins, gen, db_url):
    from datetime import timedelta

    from sqlalchemy import update

    from seconnect.store import tables, utcnow

    add_cart(store, plugins, gen)
    _, data = cli_json(db_url, "doctor")
    assert _checks(data)["schedules"]["status"] == "info" and "schedule add" in _checks(data)["schedules"]["fix"]
    assert cli(db_url, "schedule", "add", "--cart", "Shop", "--job", "import-orders", "--every", "5m").exit_code == 0
    _, data = cli_json(db_url, "doctor")
    assert _checks(data)["schedules"]["status"] == "ok" and "1 schedules (0 paused)" in _checks(data)["schedules"]["detail"]
    with store.begin() as conn:  # the service has been down for an hour
        conn.execute(update(tables.schedules).values(next_due=utcnow() - timedelta(hours=1)))
    result, data = cli_json(db_url, "doctor")
    check = _checks(data)["schedules"]
    assert result.exit_code == 7 and check["status"] == "problem"
    assert "no `seconnect serve` is running" in check["detail"] and "`seconnect serve`" in check["fix"]
    assert cli(db_url, "schedule", "pause", "1").exit_code == 0  # paused schedules are not late
    assert _checks(cli_json(db_url, "doctor")[1])["schedules"]["status"] == "ok"

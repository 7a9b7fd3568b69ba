"""`seconnect plugins`, broken plugins and an unreachable store, as a user meets them (real processes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "seconnect", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=120)


def test_plugins_list_shows_builtins_with_hooks():
    result = run("plugins", "list", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    plugins = {p["name"]: p for p in data["plugins"]}
    assert plugins["bigcommerce"]["cart_types"] == ["Interspire"]
    assert plugins["generic"]["cart_types"] == ["Generic"]
    assert "import_orders" in plugins["bigcommerce"]["hooks"]
    assert plugins["generic"]["distribution"] == "seconnect" and plugins["generic"]["version"]
    assert data["broken"] == []


def test_a_plugin_that_raises_on_import_names_itself_and_the_way_out(tmp_path):
    (tmp_path / "bad_cart.py").write_text("raise ImportError('needs libfoo')\n")
    info = tmp_path / "bad_cart-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: bad-cart\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[seconnect]\nbad_cart = bad_cart\n")
    env = {"PYTHONPATH": str(tmp_path)}
    result = run("carts", "types", env=env)
    assert result.returncode == 0
    assert "Interspire" in result.stdout
    assert "plugin 'bad_cart' (from bad-cart) could not be loaded and is skipped: ImportError: needs libfoo" \
        in result.stderr
    assert "SECONNECT_DISABLE_PLUGINS=bad_cart" in result.stderr and "Traceback" not in result.stderr
    listed = json.loads(run("plugins", "list", "--json", env=env).stdout)
    assert listed["broken"][0]["name"] == "bad_cart"
    quiet = run("carts", "types", env={**env, "SECONNECT_DISABLE_PLUGINS": "bad_cart"})
    assert quiet.returncode == 0 and quiet.stderr == ""


def test_unreachable_database_is_one_clear_error():
    result = run("--db", "postgresql://seconnect:hunter2@127.0.0.1:1/nowhere", "carts", "list")
    assert result.returncode == 3
    assert "Error:" in result.stderr and "Traceback" not in result.stderr
    assert "hunter2" not in result.stderr + result.stdout
    bad = run("--db", "notadialect://x", "carts", "list")
    assert bad.returncode == 3 and "Traceback" not in bad.stderr


def test_uninstalling_seconnect_itself_is_refused():
    result = run("plugins", "uninstall", "seconnect", "--yes")
    assert result.returncode == 2 and "refusing to uninstall seconnect itself" in result.stderr


def test_uninstall_names_builtin_and_unknown_plugins_instead_of_doing_nothing():
    builtin = run("plugins", "uninstall", "generic", "--yes")
    assert builtin.returncode == 2 and "Traceback" not in builtin.stderr
    assert "plugin 'generic' is built into seconnect and cannot be uninstalled" in builtin.stderr
    assert "SECONNECT_DISABLE_PLUGINS=generic" in builtin.stderr
    unknown = run("plugins", "uninstall", "no-such-cart", "--yes")
    assert unknown.returncode == 2
    assert "no installed plugin or plugin distribution is called 'no-such-cart'" in unknown.stderr
    assert "bigcommerce (seconnect), bigcommerce-rest (seconnect), generic (seconnect)" in unknown.stderr


def test_a_plugin_is_found_by_its_name_or_its_distribution_name(tmp_path, monkeypatch):
    from seconnect.errors import UsageError
    from seconnect.plugins import plugin_distribution

    info = tmp_path / "bad_cart-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: bad-cart\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[seconnect]\nbadcart = bad_cart\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("badcart", "BadCart", "bad-cart", "bad_cart", " Bad.Cart "):
        assert plugin_distribution(name) == "bad-cart", name
    assert plugin_distribution("generic") == "seconnect"
    with pytest.raises(UsageError):
        plugin_distribution("bad")


def test_plugins_install_of_a_local_folder(tmp_path):
    pkg = tmp_path / "seconnect-hello"
    (pkg / "seconnect_hello").mkdir(parents=True)
    (pkg / "seconnect_hello" / "__init__.py").write_text(textwrap.dedent("""
        import click
        from seconnect import hookimpl

        @hookimpl
        def register_commands(cli):
            @cli.command("hello")
            def hello():
                click.echo("hello from an installed plugin")
    """))
    (pkg / "pyproject.toml").write_text(textwrap.dedent("""
        [build-system]
        requires = ["hatchling"]
        build-backend = "hatchling.build"
        [project]
        name = "seconnect-hello"
        version = "0.1"
        [project.entry-points.seconnect]
        hello = "seconnect_hello"
    """))
    installed = run("plugins", "install", str(pkg), )
    try:
        assert installed.returncode == 0, installed.stderr[-2000:]
        assert run("hello").stdout.strip() == "hello from an installed plugin"
        names = [p["name"] for p in json.loads(run("plugins", "list", "--json").stdout)["plugins"]]
        assert "hello" in names
    finally:
        removed = run("plugins", "uninstall", "hello", "--yes")  # the name `plugins list` shows
        assert removed.returncode == 0, removed.stderr
        assert "Uninstalled seconnect-hello." in removed.stdout
    assert run("hello").returncode != 0

"""Issue 13-6: `carts test` warns when the script does not look like the declared cart type."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from seconnect.cli import build_cli
from seconnect.sandbox import Sandbox


@pytest.mark.parametrize(("profile", "declared", "warned"), [
    ("generic", "Interspire", "looks like a generic SETI script"),
    ("interspire", "Generic", "looks like cart type Interspire"),
    ("generic", "Generic", None),
    ("interspire", "Interspire", None),
])
def test_carts_test_warns_when_the_script_is_of_another_type(db_url, tmp_path, profile, declared, warned):
    with Sandbox(profile, orders=2, products=2, customers=2, state_dir=tmp_path / "cart") as sb:
        run = CliRunner()
        added = run.invoke(build_cli(), ["--db", db_url, "carts", "add", "Shop", "--type", declared, "--user", sb.user,
                                         "--script-url", sb.script_url, "--ca-bundle", sb.ca_file,
                                         "--password-stdin"], input=sb.password + "\n")
        assert added.exit_code == 0, added.output
        result = run.invoke(build_cli(), ["--db", db_url, "carts", "test", "Shop", "--check-credentials"])
    assert result.exit_code == 0, result.output
    assert "Test passed: Script version:" in result.output
    if warned:
        assert "Warning: " in result.output and warned in result.output
    else:
        assert "Warning" not in result.output

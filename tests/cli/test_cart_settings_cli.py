"""Cart settings come from the cart type's schema: a REST-shaped type fits as a SETI one does."""

from __future__ import annotations

import json

import pytest
from cli_helpers import dump_db
from click.testing import CliRunner

from seconnect import Capabilities, CartType, hookimpl
from seconnect.cli import build_cli
from seconnect.plugins import load_plugins

TOKEN = "tok-9f8e7d6c5b4a"  # test data, never a real secret

REST = CartType(
    id="RestShop", label="A REST cart type", capabilities=Capabilities.declare(supported=[]),
    config_schema={
        "type": "object",
        "properties": {
            "store_hash": {"type": "string", "minLength": 1, "title": "Store hash",
                           "description": "the code in the control panel's address"},
            "access_token": {"type": "string", "minLength": 1, "writeOnly": True, "title": "Access token"},
            "api_base": {"type": "string", "title": "API base URL"},
            "channel_id": {"type": "integer", "title": "Channel ID"},
            "location_id": {"type": "integer", "title": "Location ID"},
        },
        "required": ["store_hash", "access_token"],
    },
)
SEEN = []


class RestPlugin:
    @hookimpl
    def seconnect_cart_types(self):
        return [REST]

    @hookimpl
    def test_script(self, cart, check_credentials):
        if cart.type != REST.id:
            return None
        SEEN.append((dict(cart.settings), cart.secret("access_token").reveal(), cart.user, cart.script_url))
        return "v3"


@pytest.fixture
def cli(db_url, tmp_path, monkeypatch):
    monkeypatch.setenv("SECONNECT_KEY_FILE", str(tmp_path / "secret.key"))
    plugins = load_plugins(extra=[("restshop", RestPlugin())])

    def run(*args: str, input: str | None = None):
        return CliRunner().invoke(build_cli(plugins), ["--db", db_url, *args], input=input, catch_exceptions=False)
    return run


def test_a_rest_cart_is_added_typed_shown_with_labels_and_edited(cli, db_url):
    added = cli("carts", "add", "Rest", "--type", "RestShop", "--set", "store_hash=abc123", "--set",
                "channel_id=7", "--secret-stdin", input=TOKEN + "\n")
    assert added.exit_code == 0, added.output
    shown = json.loads(cli("carts", "show", "Rest", "--json").output)
    assert shown["settings"] == {"store_hash": "abc123", "access_token": "********", "api_base": None,
                                 "channel_id": 7, "location_id": None}
    assert shown["setting_labels"]["channel_id"] == "Channel ID"
    text = cli("carts", "show", "Rest").output
    assert "Store hash:" in text and "Access token:" in text and "Channel ID:" in text and TOKEN not in text

    tested = cli("carts", "test", "Rest")
    assert tested.exit_code == 0 and "Test passed: Version: v3" in tested.output
    assert "Script" not in tested.output  # SEOM's wording stays the SETI types'
    assert SEEN[-1] == ({"store_hash": "abc123", "channel_id": 7}, TOKEN, "", "")

    assert cli("carts", "edit", "Rest", "--set", "location_id=2", "--unset", "channel_id").exit_code == 0
    assert json.loads(cli("carts", "show", "Rest", "--json").output)["settings"]["channel_id"] is None
    assert cli("carts", "test", "Rest").exit_code == 0
    assert SEEN[-1][:2] == ({"store_hash": "abc123", "location_id": 2}, TOKEN)  # the secret was kept
    assert TOKEN not in dump_db(db_url)
    types = {t["id"]: t for t in json.loads(cli("carts", "types", "--json").output)}
    assert {s["name"]: s["secret"] for s in types["RestShop"]["settings"]}["access_token"] is True


def test_every_wrong_setting_is_listed_at_once_and_nothing_is_saved(cli, db_url):
    before = dump_db(db_url)
    result = cli("carts", "add", "Rest", "--type", "RestShop", "--set", "channel_id=seven", "--set",
                 "color=blue", "--secret-stdin", input=TOKEN + "\n")
    assert result.exit_code == 2
    for expected in ("Channel ID (channel_id): 'seven' is not a whole number",
                     "color: not a setting of cart type RestShop"):
        assert expected in result.output, result.output
    result = cli("carts", "add", "Rest", "--type", "RestShop", "--set", "channel_id=3", input="")
    assert result.exit_code == 2
    assert "Store hash (store_hash): missing; give it with --set store_hash=VALUE" in result.output
    assert "Access token" not in result.output.split("missing")[0]  # checked before the secret is asked
    refused = cli("carts", "add", "Rest", "--type", "RestShop", "--set", "store_hash=a",
                  "--set", f"access_token={TOKEN}")
    assert refused.exit_code == 2 and "is secret" in refused.output and TOKEN not in refused.output
    empty = cli("carts", "add", "Rest", "--type", "RestShop", "--set", "store_hash=a", "--secret-stdin", input="\n")
    assert empty.exit_code == 2 and "no Access token on standard input" in empty.output
    assert "Traceback" not in result.output + refused.output + empty.output
    assert dump_db(db_url) == before


def test_seti_spellings_are_settings_of_the_seti_types(cli):
    added = cli("carts", "add", "Gen", "--type", "Generic", "--user", "u", "--set", "store_code=7",
                "--script-url", "shop.example/seti.php", "--password-stdin", input="pw\n")
    assert added.exit_code == 0, added.output
    shown = json.loads(cli("carts", "show", "Gen", "--json").output)
    assert shown["settings"] == {"user": "u", "password": "********", "store_code": "7",
                                 "script_url": "shop.example/seti.php"}
    wrong = cli("carts", "add", "Isc", "--type", "Interspire", "--set", "store_code=1", input="")
    assert wrong.exit_code == 2
    assert "Cart ID/User Name (user): missing; give it with --user" in wrong.output
    assert "Script URL (script_url): missing; give it with --script-url" in wrong.output

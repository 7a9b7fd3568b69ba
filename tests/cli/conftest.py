from __future__ import annotations

import pytest
from click.testing import CliRunner

from seconnect.cli import build_cli


class Seconnect:
    """Runs the real CLI in-process against one store, the way a merchant types it."""

    def __init__(self, db_url: str):
        self.db_url = db_url
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | None = None, env: dict | None = None):
        return self.runner.invoke(build_cli(), ["--db", self.db_url, *args], input=input,
                                  env=env, catch_exceptions=False)


@pytest.fixture
def seconnect(db_url):
    return Seconnect(db_url)

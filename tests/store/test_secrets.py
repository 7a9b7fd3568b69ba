"""Cart passwords at rest: key file handling and failure messages."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from seconnect import secrets
from seconnect.cartdef import Secret
from seconnect.errors import UsageError
from seconnect.store import open_store
from seconnect.store import tables as t

PASSWORD = "correct horse battery staple"


def test_round_trip_returns_a_secret() -> None:
    token = secrets.encrypt(PASSWORD)
    value = secrets.decrypt(token)
    assert isinstance(value, Secret)
    assert value.reveal() == PASSWORD
    assert PASSWORD not in repr(value)


def test_key_path_follows_the_env(seconnect_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert secrets.key_path() == seconnect_home / "secret.key"
    monkeypatch.delenv("SECONNECT_KEY_FILE")
    assert secrets.key_path() == seconnect_home / "config" / "seconnect" / "secret.key"


def test_key_file_is_created_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = tmp_path / "new-dir" / "secret.key"
    monkeypatch.setenv("SECONNECT_KEY_FILE", str(key))
    secrets.encrypt(PASSWORD)
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(key.parent).st_mode) == 0o700
    assert list(key.parent.iterdir()) == [key]  # no temp file left behind


def test_key_is_reused(seconnect_home: Path) -> None:
    token = secrets.encrypt(PASSWORD)
    first = secrets.key_path().read_bytes()
    secrets.encrypt("other")
    assert secrets.key_path().read_bytes() == first
    assert secrets.decrypt(token).reveal() == PASSWORD


def test_the_store_holds_only_ciphertext(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    with open_store(f"sqlite:///{path}") as store, store.begin() as conn:
        conn.execute(insert(t.carts).values(name="Main", name_key="main", type="generic", settings={"script_url": "x"},
                                            secrets={"password": secrets.encrypt(PASSWORD)}))
        stored = conn.scalar(select(t.carts.c.secrets))["password"]
    assert PASSWORD not in stored
    assert PASSWORD.encode() not in path.read_bytes()
    assert secrets.decrypt(stored).reveal() == PASSWORD


def test_wrong_key_names_the_key_file_and_the_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    token = secrets.encrypt(PASSWORD)
    other = tmp_path / "other.key"
    monkeypatch.setenv("SECONNECT_KEY_FILE", str(other))
    secrets.encrypt("creates a different key")
    with pytest.raises(UsageError) as caught:
        secrets.decrypt(token)
    text = str(caught.value)
    assert str(other) in text
    assert "--password-stdin" in text and "SECONNECT_KEY_FILE" in text
    assert token not in text and other.read_text().strip() not in text


def test_missing_key_file_is_not_created_by_decrypt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    token = secrets.encrypt(PASSWORD)
    missing = tmp_path / "gone.key"
    monkeypatch.setenv("SECONNECT_KEY_FILE", str(missing))
    with pytest.raises(UsageError, match="does not exist") as caught:
        secrets.decrypt(token)
    assert str(missing) in str(caught.value)
    assert not missing.exists()


def test_corrupt_key_file(seconnect_home: Path) -> None:
    secrets.key_path().write_text("not a key")
    with pytest.raises(UsageError, match="does not hold a valid key"):
        secrets.encrypt(PASSWORD)


def test_garbage_token_is_a_usage_error() -> None:
    secrets.encrypt("make a key")
    with pytest.raises(UsageError):
        secrets.decrypt("not-a-token-é")


_ENCRYPTER = """
import sys, time
from pathlib import Path
from seconnect import secrets
go = Path(sys.argv[1])
print("ready", flush=True)
while not go.exists():
    time.sleep(0.002)
print(secrets.encrypt("pw"), flush=True)
"""


@pytest.mark.slow
def test_concurrent_first_use_agrees_on_one_key(tmp_path: Path) -> None:
    go = tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, "-c", _ENCRYPTER, str(go)], stdout=subprocess.PIPE, text=True)
             for _ in range(4)]
    for proc in procs:
        assert proc.stdout.readline().strip() == "ready"
    go.touch()
    tokens = [proc.communicate(timeout=60)[0].strip() for proc in procs]
    assert all(proc.returncode == 0 for proc in procs)
    assert [secrets.decrypt(token).reveal() for token in tokens] == ["pw"] * 4


def test_a_deferred_secret_decrypts_only_when_revealed_and_pickles_as_its_value() -> None:
    import pickle

    calls = []
    secret = Secret.deferred(lambda: calls.append(1) or PASSWORD)
    assert bool(secret) and PASSWORD not in repr(secret) and calls == []
    assert secret.reveal() == PASSWORD and secret.reveal() == PASSWORD and calls == [1]
    assert pickle.loads(pickle.dumps(secret)).reveal() == PASSWORD

    def broken() -> str:
        raise UsageError("cannot decrypt")

    unusable = Secret.deferred(broken)
    with pytest.raises(UsageError):
        unusable.reveal()

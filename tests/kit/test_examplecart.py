"""The example plugin as a third party ships it: a separate distribution installed with
`seconnect plugins install <folder>`, found through the entry-point group, listed, switched off
by SECONNECT_DISABLE_PLUGINS, and passing its own tests (the conformance kit and the CLI).

It is installed into a throwaway virtual environment layered on the project's (a .pth file
there adds the project environment's site-packages), so the project's own environment keeps
exactly the built-in cart types other tests count, and nothing is downloaded.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "seconnect-examplecart"


def run(python: Path, *args: str, cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(python), *args], capture_output=True, text=True, cwd=cwd, timeout=300,
                          env={**os.environ, **(env or {})}, check=False)


@pytest.fixture(scope="module")
def python(tmp_path_factory) -> Path:
    """The interpreter of a fresh environment where `seconnect plugins install` put the example."""
    home = tmp_path_factory.mktemp("venv")
    subprocess.run([sys._base_executable, "-m", "venv", "--without-pip", str(home)], check=True)
    python = home / "bin" / "python"
    purelib = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip())
    project = sysconfig.get_paths()["purelib"]
    (purelib / "_seconnect_project.pth").write_text(f"import site; site.addsitedir({project!r})\n")
    # build with the project environment's hatchling instead of fetching one
    installed = run(python, "-m", "seconnect", "plugins", "install", str(EXAMPLE), )
    assert installed.returncode == 0, installed.stdout[-2000:] + installed.stderr[-2000:]
    assert (purelib / "seconnect_examplecart" / "plugin.py").is_file(), "not installed into the new environment"
    return python


def test_plugins_install_of_the_folder_makes_a_separate_distribution(python):
    located = run(python, "-c", "from importlib.metadata import distribution as d; "
                                "print(d('seconnect-examplecart').version)")
    assert located.stdout.strip() == "0.1.0", located.stderr
    mine = run(Path(sys.executable), "-c", "import seconnect_examplecart")
    assert mine.returncode != 0, "the project's own environment must not have the example installed"


def test_plugins_list_shows_it_from_its_entry_point(python):
    listed = run(python, "-m", "seconnect", "plugins", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    data = json.loads(listed.stdout)
    plugin = next(p for p in data["plugins"] if p["name"] == "examplecart")
    assert (plugin["distribution"], plugin["version"], plugin["cart_types"]) == \
        ("seconnect-examplecart", "0.1.0", ["ExampleCart"])
    assert {"import_orders", "sync_inventory", "update_order_status"} <= set(plugin["hooks"])
    assert data["broken"] == []
    types = {t["id"]: t for t in json.loads(run(python, "-m", "seconnect", "carts", "types", "--json").stdout)}
    assert types["ExampleCart"]["capabilities"]["import-customers"] == "unsupported"
    assert {"Interspire", "Generic"} <= set(types)


def test_disable_env_switches_it_off(python):
    quiet = run(python, "-m", "seconnect", "carts", "types", "--json", env={"SECONNECT_DISABLE_PLUGINS": "examplecart"})
    assert quiet.returncode == 0 and quiet.stderr == ""
    assert "ExampleCart" not in {t["id"] for t in json.loads(quiet.stdout)}


def test_its_own_tests_pass_there(python):
    """The example's suite: the conformance kit in three lines, and the CLI end to end."""
    result = run(python, "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=EXAMPLE)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and " failed" not in result.stdout

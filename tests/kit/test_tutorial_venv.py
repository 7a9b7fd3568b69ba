"""Following the tutorial from the docs alone, in a fresh virtual environment.

The plugin is written from the tutorial's titled code blocks into an empty folder (nothing is
copied from examples/), then the `$` lines of its console blocks run in order in one shell:
create a venv, install seconnect from this checkout (its dependencies from the package
registry), install the plugin with `seconnect plugins install`, list it, run its tests.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from kit_docs import DOCS, ROOT, assemble, console_commands, tutorial_files

pytestmark = pytest.mark.slow


def test_a_plugin_written_from_the_tutorial_installs_and_passes_the_kit(tmp_path):
    for path, parts in tutorial_files().items():
        target = tmp_path / "seconnect-examplecart" / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(assemble(parts), encoding="utf-8")
    commands = console_commands((DOCS / "tutorial.md").read_text(encoding="utf-8"))
    assert any(c.startswith("seconnect plugins install") for c in commands)
    script = "set -euo pipefail\n" + "".join(f"echo {shlex.quote('$ ' + c)}\n{c}\n" for c in commands)
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}
    env["PATH"] = f"{Path(sys._base_executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["SECONNECT"] = str(ROOT)
    result = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=600, check=False)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-6000:]
    listed = log.split("$ seconnect plugins list", 1)[1]
    assert "examplecart" in listed and "seconnect-examplecart 0.1.0" in listed and "ExampleCart" in listed
    assert "ExampleCart" in log.split("$ seconnect carts types", 1)[1]
    tests = log.split("$ pytest", 1)[1]
    assert " passed" in tests and " failed" not in tests and " error" not in tests, tests[-3000:]

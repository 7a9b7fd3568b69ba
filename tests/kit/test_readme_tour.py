"""The README's tour, pasted into bash with the venv active, runs start to end against the sandbox.

The block is run as it is written (``bash -e``: any failing command fails the test), in a fresh
folder with a temporary store and key file; only the sandbox's port is changed to a free one.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

from kit_docs import ROOT, blocks, sections

README = (ROOT / "README.md").read_text(encoding="utf-8")
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def tour() -> str:
    return next(b.text for b in blocks(sections(README)["A short tour"]) if b.lang == "bash")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_every_script_url_in_readme_and_docs_is_quoted():
    for page in DOCS:
        for block in blocks(page.read_text(encoding="utf-8")):
            for url in re.findall(r"--script-url[ =](\S+)", block.text):
                assert url[0] in "'\"" or url.startswith("$") or url in ("URL", "…"), \
                    f"{page.name}: unquoted Script URL {url}"


def test_the_tour_runs_pasted_into_bash(tmp_path):
    script = tour()
    assert "8443" in script and "kill %1" in script.splitlines()[-1]
    port = free_port()
    bin_dir = Path(sys.executable).parent  # what `source .venv/bin/activate` puts first on PATH
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
           "SECONNECT_DB": f"sqlite:///{tmp_path / 'store.db'}", "SECONNECT_KEY_FILE": str(tmp_path / "secret.key")}
    # a failure half-way must not leave the sandbox running
    guarded = "trap 'kill $(jobs -p) 2>/dev/null' EXIT\n" + script.replace("8443", str(port))
    result = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", guarded], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    assert f"Script URL:  127.0.0.1:{port}/accountinggateway.php?action=process&accounting=stoneedge" in out
    assert "Cart 'My BigCommerce' (Interspire) saved." in out
    assert "Test passed: Script version:" in out
    assert "Order 1041 from My BigCommerce" in out
    assert "Traceback" not in result.stderr and "Error:" not in result.stderr

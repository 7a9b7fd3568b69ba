"""`seconnect doctor` — check the installation, the carts and the queues; say what to fix."""

from __future__ import annotations

import click

from .. import doctor
from . import App, emit, json_option, pass_app
from .run import needs_you

__all__ = ["command"]

_MARK = {"ok": "ok", "problem": "PROBLEM", "info": "info"}


def _text(data: dict) -> str:
    lines = []
    for c in data["checks"]:
        lines.append(f"{_MARK[c['status']]:<8} {c['what']}: {c['detail']}")
        if c["fix"] and c["status"] != "ok":
            lines.append(f"{'':<8}  → {c['fix']}")
    problems = sum(c["status"] == "problem" for c in data["checks"])
    lines.append("\nAll good." if not problems else f"\n{problems} problem{'' if problems == 1 else 's'} found.")
    return "\n".join(lines)


@click.command("doctor")
@json_option
@pass_app
def command(app: App, as_json) -> None:
    """Check the store, key file, plugins, each active cart (Script URL and credentials), the outbox,
    the quarantine and each cart's last runs; each problem with what to do. Exits 7 if any."""
    checks = [c.as_dict() for c in doctor.diagnose(lambda: app.store, app.plugins)]
    problems = [c for c in checks if c["status"] == "problem"]
    emit({"ok": not problems, "checks": checks}, as_json, _text)
    if problems:
        needs_you([f"doctor found {len(problems)} problem{'' if len(problems) == 1 else 's'} (above)."])

"""Built-in plugins and the example use only seconnect's public API, exactly as a third-party
plugin must: the modules listed in ``seconnect.PUBLIC_MODULES`` and the names in their ``__all__``."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import seconnect

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted(p for folder in ("plugins", "examples") for p in (ROOT / folder).rglob("*.py"))


def _seconnect_imports(path: Path) -> list[tuple[str, str | None, int]]:
    """(module, name or None for a plain import, line) for every import of seconnect."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 \
                and node.module.split(".")[0] == "seconnect":
            found += [(node.module, alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.Import):
            found += [(a.name, None, node.lineno) for a in node.names if a.name.split(".")[0] == "seconnect"]
    return found


def test_public_modules_declare_their_names():
    for module_name in seconnect.PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        assert module.__all__, module_name
        for name in module.__all__:
            assert hasattr(module, name), f"{module_name}.{name}"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_plugins_and_example_import_only_public_names(path):
    private = []
    for module_name, name, line in _seconnect_imports(path):
        public = module_name in seconnect.PUBLIC_MODULES and (
            name is None or name in importlib.import_module(module_name).__all__)
        if not public:
            private.append(f"line {line}: {module_name}" + (f".{name}" if name else ""))
    assert not private, f"{path.name} imports private names: {private}"


def test_the_check_catches_a_private_import(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("from seconnect.subskus import split_variation_name\nfrom seconnect.seti import SetiPlugin\n")
    imports = _seconnect_imports(sample)
    assert ("seconnect.subskus", "split_variation_name", 1) in imports
    assert "seconnect.subskus" not in seconnect.PUBLIC_MODULES

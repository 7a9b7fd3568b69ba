"""Every hook is documented and tested; the public API is exactly what __all__ says."""

from __future__ import annotations

import inspect
import pathlib
import re

import pytest

import seconnect
from seconnect import hookspecs

TESTS = pathlib.Path(__file__).resolve().parents[1]
HOOKS = [name for name, fn in vars(hookspecs).items()
         if callable(fn) and hasattr(fn, "seconnect_spec")]


def test_every_operation_hook_is_a_hookspec():
    assert set(hookspecs.OPERATION_HOOKS) <= set(HOOKS)
    assert set(HOOKS) == {*hookspecs.DECLARATION_HOOKS, *hookspecs.OPERATION_HOOKS, *hookspecs.WIRING_HOOKS}


@pytest.mark.parametrize("name", HOOKS)
def test_hook_is_documented(name):
    fn = getattr(hookspecs, name)
    doc = inspect.getdoc(fn) or ""
    assert doc, f"hook {name} has no docstring"
    for param in inspect.signature(fn).parameters:
        assert f":param {param}:" in doc, f"hook {name}: parameter {param} is not documented"
    assert ":returns:" in doc, f"hook {name}: return value is not documented"
    firstresult = fn.seconnect_spec["firstresult"]
    assert ("``firstresult``" in doc) == firstresult, f"hook {name}: docstring must say whether it is firstresult"


@pytest.mark.parametrize("name", HOOKS)
def test_hook_has_a_test(name):
    pattern = re.compile(rf"def test_hook_{name}[_(]")
    found = [p for p in TESTS.rglob("test_*.py") if pattern.search(p.read_text(encoding="utf-8"))]
    assert found, f"hook {name} has no test named test_hook_{name}…"


def test_public_api_is_explicit():
    exported = set(seconnect.__all__)
    public = {n for n in vars(seconnect) if not n.startswith("_")} - {
        "annotations", "version", "PackageNotFoundError"}
    # submodules import as attributes; only names in __all__ are API
    modules = {n for n in public if inspect.ismodule(getattr(seconnect, n))}
    assert public - modules <= exported
    for name in exported:
        assert hasattr(seconnect, name), name

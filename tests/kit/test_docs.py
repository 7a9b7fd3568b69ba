"""The plugin-author docs agree with the code they describe.

The hook reference with the hookspecs, the tutorial's code with the example plugin's files, the
capability and kit tables with the enums and tests they list, quoted messages with what
seconnect prints, and every link with an existing page and heading.
"""

from __future__ import annotations

import ast
import inspect
import re
import sys

import click
import pytest
from kit_docs import DOCS, EXAMPLE, ROOT, assemble, blocks, is_made_of, sections, slug, tutorial_files

from seconnect import Capabilities, Capability, CartDefinition, CartType, Secret, hookimpl, hookspecs
from seconnect.cli import build_cli
from seconnect.errors import CapabilityError, PluginError
from seconnect.plugins import DISABLE_ENV, BrokenPlugin, load_plugins
from seconnect.testing.conformance import CartTypeSuite, CartUnderTest

HOOKS = [name for name, fn in vars(hookspecs).items() if callable(fn) and hasattr(fn, "seconnect_spec")]


def read(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def squeeze(text: str) -> str:
    text = re.sub(r"\s+", " ", text.strip())
    return text.replace("( ", "(").replace(", )", ")").replace(" )", ")")


def spec_signature(name: str) -> str:
    sig = inspect.signature(getattr(hookspecs, name))
    params = ", ".join(f"{p.name}: {p.annotation}" for p in sig.parameters.values())
    return f"{name}({params}) -> {sig.return_annotation}"


def hook_entries() -> dict[str, str]:
    return {title.strip("`"): body for title, body in sections(read("hooks.md")).items() if title.startswith("`")}


def test_hook_reference_lists_every_hook_in_the_hookspec_order():
    documented = list(hook_entries())
    assert documented == [*hookspecs.DECLARATION_HOOKS, *hookspecs.OPERATION_HOOKS, *hookspecs.WIRING_HOOKS]
    assert set(documented) == set(HOOKS)


@pytest.mark.parametrize("name", HOOKS)
def test_hook_reference_entry_agrees_with_its_hookspec(name):
    entry = hook_entries()[name]
    code = [b for b in blocks(entry) if b.lang == "python"]
    assert squeeze(code[0].text) == spec_signature(name), f"{name}: the signature differs from the hookspec"
    firstresult = re.search(r"^- \*\*firstresult:\*\* (yes|no)\b", entry, re.MULTILINE)
    assert firstresult, f"{name}: no '- **firstresult:** yes|no' line"
    assert (firstresult.group(1) == "yes") == getattr(hookspecs, name).seconnect_spec["firstresult"], \
        f"{name}: firstresult differs from the hookspec"
    params = list(inspect.signature(getattr(hookspecs, name)).parameters)
    arguments = re.search(r"^- \*\*Arguments:\*\*(.*?)(?=^- \*\*)", entry, re.MULTILINE | re.DOTALL)
    assert arguments, f"{name}: no Arguments item"
    assert re.findall(r"^  - `(\w+)`:", arguments.group(1), re.MULTILINE) == params, f"{name}: arguments differ"
    assert "- **Returns:**" in entry and "- **Ordering:**" in entry, f"{name}: no Returns or Ordering item"
    # the example is a hook implementation the plugin manager would accept
    example = ast.parse(code[-1].text.replace("    ...\n", "    pass\n"))
    impls = [f for f in ast.walk(example) if isinstance(f, ast.FunctionDef) and f.name == name
             and any("hookimpl" in ast.unparse(d) for d in f.decorator_list)]
    assert impls, f"{name}: the example has no @hookimpl def {name}"
    assert {a.arg for a in impls[0].args.args} <= set(params), f"{name}: the example takes arguments the hook lacks"


def test_tutorial_code_is_the_example_plugins_code():
    files = tutorial_files()
    shipped = {str(p.relative_to(EXAMPLE)) for p in EXAMPLE.rglob("*")
               if p.is_file() and (p.suffix == ".py" or p.name == "pyproject.toml") and "__pycache__" not in p.parts}
    assert set(files) == shipped, "the tutorial must show every file of the example, and only those"
    for path, parts in files.items():
        text = (EXAMPLE / path).read_text(encoding="utf-8")
        assert is_made_of(text, parts), f"{path}: the tutorial's blocks are not the file (it drifted)"
        assert is_made_of(assemble(parts), parts)


def test_tutorial_blocks_of_a_file_follow_each_other_in_order():
    """A reader can write each file from the blocks alone: they compile once put together."""
    for path, parts in tutorial_files().items():
        if path.endswith(".py"):
            compile(assemble(parts), path, "exec")


def test_capabilities_doc_covers_every_capability():
    text = read("capabilities.md")
    rows = re.findall(r"^\| `([a-z-]+)` \|", text, re.MULTILINE)
    assert sorted(rows) == sorted(c.value for c in Capability)
    assert f"exit code {CapabilityError.exit_code}" in text


def test_refusals_quoted_in_the_docs_are_what_seconnect_says(monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLE))  # the example from its folder: it is not installed here
    try:
        from seconnect_examplecart import plugin
    finally:
        for name in [m for m in sys.modules if m.partition(".")[0] == "seconnect_examplecart"]:
            del sys.modules[name]
    plugins = load_plugins(extra=[("examplecart", plugin)])
    cart = CartDefinition(name="My shop", type="ExampleCart", user="u", password=Secret("p"), script_url="h/api")
    with pytest.raises(CapabilityError) as refused:
        plugins.require(cart, Capability.IMPORT_CUSTOMERS)
    said = f"Error: {refused.value.message}\n{refused.value.hint}"
    assert said in read("capabilities.md") and said in read("tutorial.md")


def test_testing_doc_lists_every_check_and_test_cart_member():
    text = read("testing.md")
    checks = sorted(n for n in dir(CartTypeSuite) if n.startswith("test_"))
    assert sorted(re.findall(r"^\| `(test_\w+)` \|", text, re.MULTILINE)) == checks
    members = {*CartUnderTest.__annotations__, *(n for n in vars(CartUnderTest) if not n.startswith("_"))}
    cart_table = sections(text)["The test cart"]
    for member in members:
        assert f"`{member}" in cart_table, f"CartUnderTest.{member} is not described"


def test_disabling_doc_quotes_what_seconnect_prints():
    text = read("disabling.md")
    broken = BrokenPlugin("bad_cart", "bad-cart", "ImportError: needs libfoo")
    assert f"Warning: {broken.message()}" in text

    class Buggy:
        @hookimpl
        def seconnect_cart_types(self):
            return [CartType(id="ExampleCart", label="ExampleCart", capabilities=Capabilities())]

        @hookimpl
        def import_orders(self, cart, checkpoint, batch_size):
            raise KeyError("items")

    plugins = load_plugins(extra=[("examplecart", Buggy())])
    cart = CartDefinition(name="My shop", type="ExampleCart", user="u", password=Secret("p"), script_url="h/x")
    with pytest.raises(PluginError) as failed:
        plugins.hook.import_orders(cart=cart, checkpoint=None, batch_size=1, since=None)
    assert f"Error: {failed.value.message}\n{failed.value.hint}" in text
    assert f"{DISABLE_ENV}=examplecart" in text


def test_links_between_the_docs_resolve():
    for page in DOCS.glob("*.md"):
        for target in re.findall(r"\]\(([^)]+)\)", page.read_text(encoding="utf-8")):
            if target.startswith("http"):
                continue
            path, _, anchor = target.partition("#")
            linked = (page.parent / path) if path else page
            assert linked.is_file(), f"{page.name}: broken link {target}"
            if anchor:
                headings = re.findall(r"^#+ (.+)$", linked.read_text(encoding="utf-8"), re.MULTILINE)
                assert anchor in {slug(h) for h in headings}, f"{page.name}: no heading for #{anchor} in {linked.name}"


def test_readme_points_plugin_authors_at_the_docs():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "docs/plugins/tutorial.md" in readme and "seconnect.testing.conformance" in readme


def test_commands_named_in_the_docs_exist():
    cli = build_cli(load_plugins())
    for page in DOCS.glob("*.md"):
        text = page.read_text(encoding="utf-8")
        named = re.findall(r"`seconnect ([a-z][a-z -]*)", text) + re.findall(r"^\$ seconnect ([a-z][a-z -]*)", text, re.M)
        for words in named:
            command: click.Command = cli
            for word in words.split():
                if not isinstance(command, click.Group) or word.startswith("-"):
                    break
                found = command.commands.get(word)
                assert found is not None, f"{page.name}: `seconnect {words.strip()}` is no command"
                command = found

"""Reading the plugin-author docs as data: code blocks, hook entries, links (for tests/kit)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "plugins"
EXAMPLE = ROOT / "examples" / "seconnect-examplecart"

_TITLE = re.compile(r'title="([^"]+)"')


@dataclass(frozen=True)
class Block:
    lang: str
    title: str | None
    text: str  # every line, each ending with "\n"


def blocks(markdown: str) -> list[Block]:
    """The fenced code blocks of a markdown text, in order."""
    found, current, lines = [], None, []
    for line in markdown.splitlines():
        if current is None and line.startswith("```") and len(line) > 3:
            info = line[3:]
            title = _TITLE.search(info)
            current = Block(info.split()[0], title.group(1) if title else None, "")
            lines = []
        elif current is not None and line == "```":
            found.append(Block(current.lang, current.title, "".join(f"{x}\n" for x in lines)))
            current = None
        elif current is not None:
            lines.append(line)
    return found


def tutorial_files() -> dict[str, list[str]]:
    """The tutorial's titled blocks: path -> its parts, in order."""
    files: dict[str, list[str]] = {}
    for block in blocks((DOCS / "tutorial.md").read_text(encoding="utf-8")):
        if block.title:
            files.setdefault(block.title, []).append(block.text)
    return files


def assemble(parts: list[str]) -> str:
    """A file from its consecutive parts (the tutorial leaves out the blank lines between them)."""
    return "\n\n".join(part.rstrip("\n") for part in parts) + "\n"


def is_made_of(text: str, parts: list[str]) -> bool:
    """``text`` is ``parts`` one after the other, with only blank lines between them."""
    pattern = r"\n+".join(re.escape(part.rstrip("\n")) for part in parts) + r"\n*"
    return re.fullmatch(pattern, text) is not None


def console_commands(markdown: str) -> list[str]:
    """The ``$`` lines of the ``console`` blocks: the commands a reader types, in order."""
    return [line[2:] for block in blocks(markdown) if block.lang == "console"
            for line in block.text.splitlines() if line.startswith("$ ")]


def sections(markdown: str, level: str = "## ") -> dict[str, str]:
    """Heading text -> the text under it, up to the next heading of the same level."""
    out: dict[str, str] = {}
    parts = re.split(rf"^{re.escape(level)}(.+)$", markdown, flags=re.MULTILINE)
    for heading, body in zip(parts[1::2], parts[2::2], strict=True):
        out[heading.strip()] = body
    return out


def slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")

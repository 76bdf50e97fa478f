"""Find the fenced code blocks of the documentation and decide what each one is.

Pure text processing, shared by tests/test_docs_examples.py (which checks the rules and runs
the blocks) and tests/docsproject/run_examples.py (the child process that executes them).

A block is marked by an HTML comment on the line right above its fence (invisible on the
site): ``<!-- example: not run: REASON -->``, or ``<!-- example: setup=NAME exit=N -->``
(``setup`` names a function of tests/docsproject/setups.py run before the block; ``exit`` is
the status the last command of a console block must end with).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent

#: Languages whose blocks must be run or marked: Python, doctest sessions, shell.
PYTHON = {"python", "py"}
SESSION = {"pycon"}
CONSOLE = {"console"}
SHELL = {"sh", "bash", "shell"}
#: Languages that are data or output, never run: allowed without a mark.
INERT = {"text", "sql", "toml", "ini", "yaml", "json", "diff", "plpgsql"}

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_MARK = re.compile(r"^\s*<!--\s*example:\s*(?P<body>.*?)\s*-->\s*$")
_SNIPPET = re.compile(r'^\s*--8<--\s+"(?P<target>[^"]+)"\s*$')


@dataclass
class Block:
    """One fenced block: where it is, its language, its text and its mark."""

    path: str  # relative to the repository root
    line: int  # 1-based line of the opening fence
    lang: str
    code: str
    skip: str | None = None  # the reason, for "not run"
    setup: str | None = None
    exit: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def id(self) -> str:
        return f"{self.path}:{self.line}"

    @property
    def snippets(self) -> list[str]:
        """The ``--8<--`` targets when the block is made only of includes, else []."""
        lines = [line for line in self.code.splitlines() if line.strip()]
        found = [m["target"] for m in map(_SNIPPET.match, lines) if m]
        return found if found and len(found) == len(lines) else []

    @property
    def kind(self) -> str:
        """``included``, ``python``, ``pycon``, ``console``, ``skipped`` or ``inert``."""
        if self.snippets:
            return "included"
        if self.skip is not None:
            return "skipped"
        if self.lang in PYTHON:
            return "python"
        if self.lang in SESSION:
            return "pycon"
        if self.lang in CONSOLE:
            return "console"
        return "inert"


def _parse_mark(block: Block, body: str) -> None:
    if body.startswith("not run"):
        reason = body[len("not run") :].lstrip(" :").strip()
        block.skip = reason
        if len(reason.split()) < 3:
            block.problems.append("a 'not run' mark needs a reason of a few words")
        return
    for item in body.split():
        key, _, value = item.partition("=")
        if key == "setup" and value:
            block.setup = value
        elif key == "exit" and value.isdigit():
            block.exit = int(value)
        else:
            block.problems.append(f"unknown example mark {item!r}")


def parse(path: Path) -> list[Block]:
    """Every fenced block of a Markdown file, with its mark and the problems found."""
    rel = path.resolve().relative_to(ROOT).as_posix()
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        indent, fence = opening["indent"], opening["fence"]
        info = opening["info"].strip()
        lang = info.split()[0].strip("{}.").lower() if info else ""
        body: list[str] = []
        j = i + 1
        while j < len(lines):
            closing = _FENCE.match(lines[j])
            if closing and closing["fence"].startswith(fence) and not closing["info"].strip():
                break
            body.append(lines[j][len(indent) :] if lines[j].startswith(indent) else lines[j])
            j += 1
        block = Block(rel, i + 1, lang, "\n".join(body) + "\n")
        previous = next((lines[k] for k in range(i - 1, -1, -1) if lines[k].strip()), "")
        mark = _MARK.match(previous)
        if mark:
            _parse_mark(block, mark["body"])
        blocks.append(block)
        i = j + 1
    return blocks


def problems(block: Block) -> list[str]:
    """Why a block breaks the rules: every block is run, included, inert or marked not run."""
    found = list(block.problems)
    if not block.lang:
        found.append("a fence needs a language (text for output, python, pycon, console...)")
    elif block.lang in SHELL and block.skip is None:
        found.append(
            "a shell block is either a console block (checked: '$ ' commands and their "
            "output) or marked '<!-- example: not run: REASON -->'"
        )
    elif block.lang not in PYTHON | SESSION | CONSOLE | SHELL | INERT:
        found.append(f"unknown language {block.lang!r}")
    for target in block.snippets:
        file, _, section = target.partition(":")
        if not file.startswith("tests/docsproject/"):
            found.append(f"{target}: included code must come from tests/docsproject/ (run there)")
        elif not (ROOT / file).is_file():
            found.append(f"{target}: no such file")
        elif section and f"--8<-- [start:{section}]" not in (ROOT / file).read_text("utf-8"):
            found.append(f"{target}: no section {section!r}")
    if block.kind == "console" and not block.code.lstrip().startswith("$ "):
        found.append("a console block starts with a '$ ' command")
    return found


def documentation() -> list[Path]:
    """The pages of the site, and the README (shown on the package index)."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def match_output(expected: str, actual: str) -> str | None:
    """None when ``actual`` matches ``expected``, else a description of the first difference.

    Lines are compared without trailing whitespace; a line that is exactly ``...`` matches
    any number of lines (none included).
    """
    want = [line.rstrip() for line in expected.strip("\n").splitlines()]
    got = [line.rstrip() for line in actual.strip("\n").splitlines()]

    def fits(w: int, g: int) -> bool:
        if w == len(want):
            return g == len(got)
        if want[w] == "...":
            return any(fits(w + 1, k) for k in range(g, len(got) + 1))
        return g < len(got) and want[w] == got[g] and fits(w + 1, g + 1)

    if fits(0, 0):
        return None
    return "expected:\n" + "\n".join(want) + "\n\ngot:\n" + "\n".join(got)


def commands(code: str) -> list[tuple[str, str]]:
    """A console block's ``(command, expected output)`` pairs."""
    pairs: list[tuple[str, list[str]]] = []
    for line in code.splitlines():
        if line.startswith("$ "):
            pairs.append((line[2:].strip(), []))
        elif pairs:
            pairs[-1][1].append(line)
    return [(command, "\n".join(output)) for command, output in pairs]

"""Fenced code blocks of README.md and docs/*.md, as the doc tests run them.

A block whose opening fence is directly preceded by ``<!-- doc-test: skip: REASON -->`` is not
run; the reason is reported. ``bash``/``sh``/``shell`` blocks run as a script; in ``console``
blocks the commands are the lines after ``$ `` (with their ``\\`` continuation lines) and the
other lines are output, which is not compared.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHELL_LANGUAGES = frozenset({"bash", "sh", "shell", "console"})
_FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})(?P<lang>[\w+-]*)\s*$")
_SKIP = re.compile(r"^\s*<!--\s*doc-test:\s*skip:\s*(?P<reason>.*?)\s*-->\s*$")


@dataclass(frozen=True)
class DocBlock:
    """One fenced block: where it is, its language, its text and the skip reason (if marked)."""

    path: Path
    line: int  # of the opening fence, 1-based
    lang: str
    text: str
    skip: str | None

    @property
    def id(self) -> str:
        return f"{self.path.relative_to(REPO).as_posix()}:{self.line}"

    def script(self) -> str:
        """What runs: the block itself, or a console block's commands."""
        if self.lang != "console":
            return self.text
        commands: list[str] = []
        continuing = False
        for line in self.text.splitlines():
            if continuing:
                commands[-1] += "\n" + line
            elif line.startswith("$ "):
                commands.append(line[2:])
            else:
                continue
            continuing = line.rstrip().endswith("\\")
        return "\n".join(commands) + "\n"


def doc_files(root: Path = REPO) -> list[Path]:
    return [root / "README.md", *sorted((root / "docs").glob("*.md"))]


def parse_blocks(path: Path) -> list[DocBlock]:
    """Every fenced block of one Markdown file, in order."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[DocBlock] = []
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        fence = opening.group("fence")
        end = index + 1
        while end < len(lines) and lines[end].strip() != fence:
            end += 1
        marker = _SKIP.match(lines[index - 1]) if index > 0 else None
        indent = len(opening.group("indent"))
        body = "\n".join(line[indent:] for line in lines[index + 1 : end])
        blocks.append(
            DocBlock(
                path=path,
                line=index + 1,
                lang=opening.group("lang").lower(),
                text=body + "\n",
                skip=marker.group("reason") if marker else None,
            )
        )
        index = end + 1
    return blocks


def all_blocks(languages: frozenset[str], root: Path = REPO) -> list[DocBlock]:
    return [block for path in doc_files(root) for block in parse_blocks(path) if block.lang in languages]

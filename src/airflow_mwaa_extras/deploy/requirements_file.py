"""Reading a ``requirements.txt`` as pip does: the one parser for every check and builder (L1).

Comments are removed where pip removes them (at a line's start or after whitespace), lines that
end with ``\\`` are joined with the next (pip's continuation lines), and each logical line keeps
the number of its first physical line so findings point at what the user sees.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

__all__ = ["RequirementLine", "parse_requirements", "requirement_names"]

_COMMENT = re.compile(r"(^|\s)#.*$")


@dataclass(frozen=True)
class RequirementLine:
    """One logical line of a requirements file (continuations joined, comments removed).

    :param lineno: 1-based number of its first physical line
    :param text: the logical line
    :param requirement: the parsed requirement; None for an option line or a bad line
    :param error: pip's reason when the line is neither an option nor a requirement
    """

    lineno: int
    text: str
    requirement: Requirement | None = None
    error: str | None = None

    @property
    def is_option(self) -> bool:
        """An option line (``--index-url ...``, ``-c ...``), not a requirement."""
        return self.text.startswith("-")


def parse_requirements(text: str) -> list[RequirementLine]:
    """Split a requirements file into logical lines, keeping the first physical line number."""
    lines: list[RequirementLine] = []
    pending = ""
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        if not pending:
            start = number
        stripped = _COMMENT.sub("", raw).rstrip()
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        logical = (pending + stripped).strip()
        pending = ""
        if not logical:
            continue
        if logical.startswith("-"):
            lines.append(RequirementLine(start, logical))
            continue
        # Per-requirement options (--hash=..., --config-settings) follow the requirement.
        try:
            lines.append(RequirementLine(start, logical, requirement=Requirement(logical.split(" --", 1)[0])))
        except InvalidRequirement as err:
            lines.append(RequirementLine(start, logical, error=str(err).splitlines()[0]))
    return lines


def requirement_names(text: str) -> set[str]:
    """Canonical distribution names a requirements.txt installs (options and bad lines ignored)."""
    return {canonicalize_name(line.requirement.name) for line in parse_requirements(text) if line.requirement}

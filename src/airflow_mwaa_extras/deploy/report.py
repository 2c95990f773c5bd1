"""Findings of the deployment checks, and how they are printed (text or JSON) and scored.

Every check returns :class:`Finding` objects with a stable ``check`` id (``requirements.constraint-missing``)
so CI pipelines can filter on it; a report fails (exit code 1) when any finding is an error.
Each checking module keeps its ids, severities and messages in one :class:`CheckTable`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from enum import StrEnum

__all__ = ["CheckTable", "Finding", "Report", "Severity"]


class Severity(StrEnum):
    """How bad a finding is: only errors make a report fail."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True)
class Finding:
    """One thing a check noticed.

    :param check: stable id of the check, ``<area>.<what>``
    :param severity: error, warning or info
    :param message: one line for the user; never contains a secret
    :param path: the file it is about, relative to the checked folder when there is one
    :param line: 1-based line number in ``path``, when known
    """

    check: str
    severity: Severity
    message: str
    path: str | None = None
    line: int | None = None

    def location(self) -> str:
        if self.path is None:
            return ""
        return f"{self.path}:{self.line}" if self.line else self.path


@dataclass(frozen=True)
class CheckTable:
    """One area's findings: key -> (severity, message template for ``str.format``); the finding's
    id is ``<area>.<key>``, or ``<area>.<id>`` for an entry written (id, severity, template).

    Keeping every message in one table lets a check's wording be read (and tested) in one place.
    """

    area: str
    checks: Mapping[str, tuple[Severity, str] | tuple[str, Severity, str]]

    def finding(
        self, key: str, path: str | None = None, line: int | None = None, /, **values: object
    ) -> Finding:
        # Positional-only, so a template may use {key}, {path} or {line} as its own fields.
        entry = self.checks[key]
        check, severity, template = entry if len(entry) == 3 else (key, *entry)
        return Finding(f"{self.area}.{check}", severity, template.format(**values), path, line)


@dataclass
class Report:
    """The findings of one run plus the names of the checks that ran (so "no finding" means something)."""

    findings: list[Finding] = field(default_factory=list)
    checks_run: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, findings: Iterable[Finding]) -> None:
        self.findings.extend(findings)

    def ran(self, name: str) -> None:
        if name not in self.checks_run:
            self.checks_run.append(name)

    def count(self, severity: Severity) -> int:
        return sum(1 for f in self.findings if f.severity is severity)

    @property
    def has_errors(self) -> bool:
        return self.count(Severity.ERROR) > 0

    @property
    def exit_code(self) -> int:
        return 1 if self.has_errors else 0

    def checks(self) -> set[str]:
        """The ids of the checks that produced findings."""
        return {f.check for f in self.findings}

    def to_text(self) -> str:
        order = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}
        lines = []
        for finding in sorted(self.findings, key=lambda f: (order[f.severity], f.path or "", f.line or 0)):
            where = finding.location()
            prefix = f"{finding.severity.value.upper():7} {where + ': ' if where else ''}"
            lines.append(f"{prefix}{finding.message} [{finding.check}]")
        lines.extend(f"note: {note}" for note in self.notes)
        summary = (
            f"{self.count(Severity.ERROR)} error(s), {self.count(Severity.WARNING)} warning(s), "
            f"{self.count(Severity.INFO)} info; checks run: {', '.join(self.checks_run) or 'none'}"
        )
        lines.append(("FAILED: " if self.has_errors else "OK: ") + summary)
        return "\n".join(lines)

    def to_json(self) -> str:
        payload = {
            "ok": not self.has_errors,
            "errors": self.count(Severity.ERROR),
            "warnings": self.count(Severity.WARNING),
            "checks_run": self.checks_run,
            "notes": self.notes,
            "findings": [{**asdict(f), "severity": f.severity.value} for f in self.findings],
        }
        return json.dumps(payload, indent=2)

    def render(self, fmt: str) -> str:
        return self.to_json() if fmt == "json" else self.to_text()

"""Faults the MWAA stand-in injects on purpose, per environment and per command.

What a client meets on the way to a real MWAA web server, and must survive without losing or
doubling work:

- ``Fault(status=500|502|504, before=True)``: the proxy answers and the command never runs;
- ``Fault(status=500|502|504)``: the command ran, then the answer is an error anyway;
- ``Fault(reset=True)``: the command ran, then the connection is reset without an answer;
- ``Fault(delay=S)``: the command ran, the answer comes ``S`` seconds late (past the client's
  timeout).

A fault is used up after ``times`` matching requests.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Fault:
    """One injected fault (see the module docstring).

    :param status: the HTTP status to answer instead of the result (500, 502, 504...)
    :param before: answer ``status`` before running the command (it then never runs)
    :param reset: reset the connection after the command ran
    :param delay: seconds to wait after the command ran, before answering
    :param times: how many matching requests get it
    :param hold: the command waits for this event before it runs, keeping its slot (so a test
        knows a command is in flight for as long as it needs, without sleeping)
    """

    status: int | None = None
    before: bool = False
    reset: bool = False
    delay: float = 0.0
    times: int = 1
    hold: threading.Event | None = field(default=None, compare=False)

    def label(self) -> str:
        if self.hold is not None:
            return "held before run"
        if self.reset:
            return "reset after run"
        if self.delay:
            return f"delay {self.delay:g}s after run"
        return f"HTTP {self.status} {'before' if self.before else 'after'} run"


@dataclass
class _Armed:
    fault: Fault
    environment: str | None
    command: str | None
    left: int


@dataclass
class FaultPlan:
    """The faults armed in one stand-in; thread-safe."""

    _armed: list[_Armed] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    #: ``(environment, command, fault label)`` of every fault served, in order
    served: list[tuple[str, str, str]] = field(default_factory=list)

    def add(self, fault: Fault, *, environment: str | None = None, command: str | None = None) -> None:
        """Arm ``fault`` for one environment (all when None) and one command (all when None)."""
        with self._lock:
            self._armed.append(_Armed(fault, environment, command, fault.times))

    def clear(self) -> None:
        with self._lock:
            self._armed.clear()

    def take(self, environment: str, command: str) -> Fault | None:
        """The first armed fault matching the request (used up by one), or None."""
        with self._lock:
            for armed in self._armed:
                if armed.left <= 0:
                    continue
                if armed.environment not in (None, environment) or armed.command not in (None, command):
                    continue
                armed.left -= 1
                self.served.append((environment, command, armed.fault.label()))
                return armed.fault
        return None

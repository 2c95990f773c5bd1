"""Thread-safe counters as a dataclass: the client's stats and the MWAA stand-in's share it.

Subclass :class:`Counters` as a ``@dataclass`` whose fields are numbers; threads then update it
with :meth:`Counters.add` and :meth:`Counters.raise_to`, never by reaching for its lock.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

__all__ = ["Counters"]


@dataclass
class Counters:
    """Numeric fields that several threads update."""

    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, **increments: float) -> None:
        """Add each value to the field of that name, all under one lock."""
        with self._lock:
            for name, value in increments.items():
                setattr(self, name, getattr(self, name) + value)

    def raise_to(self, **values: float) -> None:
        """Keep the largest value seen: each field becomes ``max(field, value)``."""
        with self._lock:
            for name, value in values.items():
                setattr(self, name, max(getattr(self, name), value))

    def as_dict(self) -> dict[str, float]:
        """The counters by name (a consistent snapshot)."""
        with self._lock:
            return {k: v for k, v in vars(self).items() if not k.startswith("_")}

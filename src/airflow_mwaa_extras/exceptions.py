"""The root of every exception this package raises on purpose.

Everything a user can cause (bad input, a missing permission, an unreachable endpoint) raises a
subclass of :class:`MwaaExtrasError` whose message names the cause in one line; the CLI prints
that line instead of a traceback. Imports nothing.
"""

from __future__ import annotations


class MwaaExtrasError(Exception):
    """A failure with a message meant for the user."""


class UsageError(MwaaExtrasError):
    """The arguments or input files given by the user are not valid."""

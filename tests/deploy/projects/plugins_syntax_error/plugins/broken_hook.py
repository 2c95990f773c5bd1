"""A hook whose last line lost its indentation: Python refuses to compile the module."""

from __future__ import annotations


def connect(host: str) -> str:
    return host


return connect("db")  # noqa: F706

"""A helper module shipped in plugins.zip (MWAA puts the plugins folder on sys.path)."""

from __future__ import annotations


def shout(text: str) -> str:
    return text.upper()

"""One module per demo step. Each defines ``ORDER`` (int), ``TITLE`` (str) and
``run(ctx: DemoContext) -> None``; the runner discovers them and runs them by ``ORDER``."""

from __future__ import annotations

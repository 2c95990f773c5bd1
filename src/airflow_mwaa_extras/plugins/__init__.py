"""plugins"""

from __future__ import annotations

from __future__ import annotations

import openpyxl_turbo


def export(rows):
    return openpyxl_turbo.write(rows)

"""Spreadsheet-safe text cells (issue 16): exported text never runs as a formula when opened in Excel or LibreOffice.

A cell starting with `=`, `+`, `-`, `@` (or tab, carriage return) is a formula to a spreadsheet (CSV injection,
OWASP): `=HYPERLINK(...)` typed into a report form would become a live link in the county's roll-up. Such text is
written with a leading `'`, which spreadsheets show as text. Numbers are never changed (a negative reading stays a
number). Used by the readings export (ingest/store/export.py) and the command room's roll-ups
(alerts/disaster/reports.py).
"""

from __future__ import annotations

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
FORMULA_PATTERN = r"^[=+\-@\t\r]"


def spreadsheet_safe(value: object) -> object:
    """A text value that cannot start a formula (a leading `'`); other values as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value

"""Personal identifiers never reach the hub's logs (issue 8): a logging filter masking national IDs and mobiles.

Masks 18-character resident identity numbers (GB 11643: 17 digits and a digit or X) and 11-digit mainland mobile
numbers (1[3-9] and 9 digits, optionally after +86), the same way the dashboard's lists do (dashboard/privacy.py).
Installed as the record factory by `hub.cli.main`, so every record of every module (and uvicorn's) is masked.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from devices.redact import redact_urls

NATIONAL_ID = re.compile(r"(?<![0-9A-Za-z])(\d{6})\d{8}(\d{3}[\dXx])(?![0-9A-Za-z])")
MOBILE = re.compile(r"(?<!\d)((?:\+?86[ -]?)?1[3-9]\d)\d{4}(\d{4})(?!\d)")


def mask_identifiers(text: str) -> str:
    """The text with national IDs as 430104********0012 and mobiles as 138****5678, and no URL's user info
    (issue 16: `mqtt://***@broker`, a second line behind `devices.redact.redact_url` at each source)."""
    text = NATIONAL_ID.sub(lambda m: f"{m[1]}{'*' * 8}{m[2]}", redact_urls(text))
    return MOBILE.sub(lambda m: f"{m[1]}****{m[2]}", text)


class MaskIdentifiers(logging.Filter):
    """Rewrites each record's message (and exception text) with identifiers masked; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask in place and let the record through."""
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a bad format string: leave it to the handler's own error path
            return True
        record.msg, record.args = mask_identifiers(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_identifiers(record.exc_text)
        return True


def install() -> None:
    """Mask every record made from now on, by any logger (uvicorn's own handlers included), once per process."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "masks_identifiers", False):
        return
    masker = MaskIdentifiers()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        masker.filter(record)
        return record

    factory.masks_identifiers = True  # type: ignore[attr-defined]  # a mark on the function, read back by getattr
    logging.setLogRecordFactory(factory)

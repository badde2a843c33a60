"""Secrets out of logs and errors (issue 16): the user info of a URL never leaves the process.

`redact_url` is the one helper every module uses before a URL goes into a log line, an exception message or an
HTTP answer: `mqtt://hub:secret@broker:1883` becomes `mqtt://***@broker:1883`. `redact_urls` does the same to
every URL inside a free text (an exception's message from a library, a log record), and the log record factory
installed by `hub.cli.main` (dashboard/logmask.py) applies it to every record as a second line of defence.
"""

from __future__ import annotations

import re

MASK = "***"
# scheme://userinfo@ : userinfo runs up to the last '@' before the host (a raw '@' in a password included) and
# never crosses a '/', whitespace, a quote, '?' or '#'.
_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/\s?#'\"<>]*@)")


def redact_urls(text: str) -> str:
    """`text` with the user info (user name and password) of every URL in it replaced by `***`."""
    return _USERINFO.sub(lambda m: f"{m['scheme']}{MASK}@", text)


def redact_url(url: str) -> str:
    """One URL without its user info: `scheme://***@host:port/path` (unchanged when it has none).

    Stricter than `redact_urls`: everything between `://` and the last `@` is masked, so a password with a raw
    `/`, `?` or `#` (a malformed URL, which would still reach a log line) is masked too.
    """
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return redact_urls(url)
    return f"{scheme}://{MASK}@{rest.rpartition('@')[2]}"

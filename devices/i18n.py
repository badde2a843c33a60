"""Message catalogues (issue 18): what the hub says to people, in Simplified Chinese first and English second.

Catalogues are flat JSON files, one per language (plus its parts, `{language}.<part>.json`, one per feature),
`{"key": "text with {param}"}`: devices/i18n/ holds what the hub
writes (alert and incident titles per detection kind, warning colours and grades, report stages, downlink texts to
the wearable, CAP texts, export headers), dashboard/i18n/ what the pages show. `Catalogue` merges the folders it is
given; the pages get the same merged catalogue from /api/i18n/{lang} and format it with common.js's `t(key, params)`.

The hub's language (`HUB_UI__LANGUAGE`, zh-CN by default) is set once at start-up with `configure()`; texts that are
stored (an incident's title, a CAP message) are written in it. A key missing from a catalogue falls back to the other
language, then to the key itself, so a gap shows up as a visible key rather than a crash
(tests/dashboard/test_i18n.py fails on any such gap).

Times for people are written in China Standard Time, 24-hour, `YYYY-MM-DD HH:mm:ss` (`local_time`); stored data stays
in UTC epoch seconds.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from functools import cache
from pathlib import Path
from typing import Any

LANGUAGES = ("zh-CN", "en")
DEFAULT = "zh-CN"
HERE = Path(__file__).resolve().parent / "i18n"
CST = timezone(timedelta(hours=8), "Asia/Shanghai")  # China has one time zone and no daylight saving
_configured = {"language": DEFAULT}


def normalise(language: str | None) -> str:
    """One of LANGUAGES for a tag such as "zh", "zh-cn", "en-US"; the hub's language for anything else."""
    tag = (language or "").strip().lower()
    if tag.startswith("zh"):
        return "zh-CN"
    if tag.startswith("en"):
        return "en"
    return _configured["language"]


def configure(language: str) -> None:
    """Set the hub's language (the texts it stores and sends); called once by the composition root."""
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {list(LANGUAGES)}, got {language!r}")
    _configured["language"] = language


def hub_language() -> str:
    """The language the hub writes its stored texts in."""
    return _configured["language"]


@cache
def _load(folder: Path, language: str) -> dict[str, str]:
    """One language's messages in `folder`: `{language}.json` merged with its parts `{language}.<part>.json`.

    A part holds one feature's keys (e.g. `zh-CN.insights.json`), so that features do not all edit one file; a key
    defined in two files of one folder is an error, not a silent override.
    """
    paths = [folder / f"{language}.json", *sorted(folder.glob(f"{language}.*.json"))]
    out: dict[str, str] = {}
    for path in paths:
        if not path.is_file():
            continue
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            raise ValueError(f"{path}: a catalogue is one flat JSON object of strings")
        clash = sorted(set(out) & set(data))
        if clash:
            raise ValueError(f"{path}: keys already defined in another part of {folder}: {clash[:5]}")
        out.update(data)
    return out


class Catalogue:
    """The merged messages of some catalogue folders, per language."""

    def __init__(self, folders: Iterable[Path] = (HERE,)) -> None:
        self.folders = tuple(folders)

    def messages(self, language: str) -> dict[str, str]:
        """Every key of one language (later folders win on a clash)."""
        out: dict[str, str] = {}
        for folder in self.folders:
            out.update(_load(folder, language))
        return out

    def text(self, key: str, language: str | None = None, /, **params: Any) -> str:
        """The text of `key` in `language` (the hub's by default), with `{name}` filled from `params`."""
        lang = language or _configured["language"]
        template = self.messages(lang).get(key)
        if template is None:
            other = [x for x in LANGUAGES if x != lang]
            template = next((m[key] for m in map(self.messages, other) if key in m), key)
        try:
            return template.format(**params) if params else template
        except (KeyError, IndexError, ValueError):
            return template


HUB = Catalogue()


def t(key: str, language: str | None = None, /, **params: Any) -> str:
    """A text the hub writes (devices/i18n/), in the hub's language unless `language` is given."""
    return HUB.text(key, language, **params)


def kind_title(kind: str, detail: str = "", language: str | None = None) -> str:
    """The people's name of a detection kind ("fall" -> 跌倒; with `detail` "heart_rate", vital_limit -> 心率异常);
    the kind itself, spaced, when the catalogue has no name for it."""
    messages = HUB.messages(language or _configured["language"])
    for key in (f"kind.{kind}.{detail}", f"kind.{kind}"):
        if key in messages:
            return messages[key]
    return kind.replace("_", " ")


def local_time(ts: float | None, seconds: bool = True) -> str:
    """Epoch seconds as China Standard Time, `YYYY-MM-DD HH:mm:ss` (24-hour); "" for None."""
    if ts is None:
        return ""
    return datetime.fromtimestamp(ts, CST).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def word(prefix: str, value: str, language: str | None = None) -> str:
    """The catalogue's name of a value under `prefix` ("det.room." + "kitchen" -> 厨房); the value itself (data such
    as an id or a room the catalogue does not know) otherwise."""
    return HUB.messages(language or _configured["language"]).get(prefix + value, value)

"""Chinese names for search (issue 18): a resident's pinyin alias and initials, and the search that uses them.

An operator types what they heard or what is quickest: 王秀英 or 秀英 (the characters), "wangxiuying" or "xiuying"
(full pinyin), "wxy" (the initials), or the last four or more digits of a phone number. Pinyin comes from pypinyin;
a surname's own reading wins over the common one (曾 is Zeng, not Ceng; 单 is Shan).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from pypinyin import lazy_pinyin

# surnames read otherwise than the character's most common reading
SURNAME_READINGS = {"曾": "zeng", "单": "shan", "区": "ou", "仇": "qiu", "解": "xie", "查": "zha", "朴": "piao",
                    "盖": "ge", "覃": "qin", "缪": "miao", "翟": "zhai", "乐": "yue", "万俟": "moqi"}  # fmt: skip
HAN = re.compile(r"[\u3400-\u9fff]")
MIN_PHONE_DIGITS = 4


def syllables(name: str) -> list[str]:
    """The pinyin syllables of a Chinese name, without tones (Latin letters kept as they are)."""
    name = name.strip()
    for surname, reading in SURNAME_READINGS.items():
        if name.startswith(surname):
            return [reading, *lazy_pinyin(name[len(surname):], errors="default")]
    return lazy_pinyin(name, errors="default")


def pinyin_of(name: str) -> str:
    """The pinyin alias of a name, surname first: 王秀英 -> "Wang Xiuying"; "" for a name without Chinese."""
    if not HAN.search(name):
        return ""
    parts = syllables(name)
    surname, given = parts[0], "".join(parts[1:])
    return f"{surname.capitalize()} {given.capitalize()}".strip()


def _keys(name: str, alias: str) -> tuple[str, str]:
    """(full pinyin without spaces, initials) of a resident, lower case."""
    parts = syllables(name) if HAN.search(name) else re.findall(r"[A-Za-z]+", name)
    full = re.sub(r"[^a-z]", "", (alias or "".join(parts)).lower())
    initials = "".join(p[0] for p in parts if p and p[0].isalpha()).lower()
    return full, initials


def matches(query: str, name: str, alias: str = "", phone: str = "") -> bool:
    """Whether a resident is found by `query`: characters of the name, full pinyin, initials, or the phone's tail."""
    q = query.strip()
    if not q:
        return False
    if HAN.search(q):
        return q in name
    digits = re.sub(r"\D", "", q)
    if digits and digits == re.sub(r"[\s-]", "", q):
        return len(digits) >= MIN_PHONE_DIGITS and re.sub(r"\D", "", phone).endswith(digits)
    letters = re.sub(r"[^a-z]", "", q.lower())
    full, initials = _keys(name, alias)
    return bool(letters) and (letters in full or initials.startswith(letters))


def search(query: str, people: Iterable[tuple[str, str, str, str]], limit: int = 20) -> list[str]:
    """The ids of `people` ((id, name, pinyin alias, phone)) found by `query`: exact name first, then by name."""
    found = [(name != query.strip(), name, pid) for pid, name, alias, phone in people
             if matches(query, name, alias, phone)]  # fmt: skip
    return [pid for *_, pid in sorted(found)[:limit]]

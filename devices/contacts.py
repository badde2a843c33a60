"""A resident's contacts as typed records (issue 15). Minimal version for the SMS branch: it parses today's free-text
`residents.contacts` field ("儿子: 13912345678; 女儿: 13800001111"); the structured contacts of issue 15 item 1
replace it with the same interface (`Contact`, `contacts_of`)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from devices.statedb.sqlite import StateDB

_PHONE = re.compile(r"\+?\d[\d\-]{6,}\d")
_SPLIT = re.compile(r"[;；,，、\n]+")


@dataclass(frozen=True, slots=True)
class Contact:
    """One person to call or text about a resident; priority 1 first."""

    name: str
    relation: str
    phone: str
    priority: int
    may_sms: bool


def parse_contacts(text: str) -> list[Contact]:
    """Contacts out of the free-text field: one per entry that holds a phone number, in the order written."""
    out: list[Contact] = []
    for entry in _SPLIT.split(text or ""):
        found = _PHONE.search(entry)
        if not found:
            continue
        label = entry[: found.start()].strip().rstrip(":：").strip()
        out.append(Contact(label, label, found.group().replace("-", ""), len(out) + 1, True))
    return out


def contacts_of(db: StateDB, resident_id: str) -> list[Contact]:
    """The resident's contacts, by priority (none for an unknown resident)."""
    rows = db.execute("SELECT contacts FROM residents WHERE resident_id = ?", [resident_id])
    return sorted(parse_contacts(str(rows[0][0])) if rows else [], key=lambda c: c.priority)

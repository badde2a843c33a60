"""A resident's contacts: the people an operator calls and the family that escalation may text.

Structured rows in the state database (SQLite or PostgreSQL), ordered by priority (1 = call first). Residents
registered before this table had one free-text `contacts` field ("儿子: 13912345678"); `migrate` turns that text
into rows once, and a resident registered with only the text gets rows from it too. Each row keeps who wrote it
and when (`set_contacts`' actor); the HTTP layer adds the audit row.
"""

from __future__ import annotations

import re
import time
import weakref
from dataclasses import dataclass

from devices.statedb.sqlite import StateDB

DDL = (
    """CREATE TABLE IF NOT EXISTS resident_contacts (resident_id TEXT NOT NULL, priority INTEGER NOT NULL,
        name TEXT NOT NULL DEFAULT '', relation TEXT NOT NULL, phone TEXT NOT NULL,
        may_sms INTEGER NOT NULL DEFAULT 1, updated_at REAL NOT NULL, updated_by TEXT NOT NULL,
        PRIMARY KEY (resident_id, priority))""",
)
MIGRATED_BY = "migration"  # the actor of rows made from the old free-text field (a person never wrote them)
MAX_CONTACTS = 10
# A mobile (1 + 10 digits, optionally +86), a landline with its area code (0731-88881234) or a short service number
# (120, 12349): what a Chinese operator dials.
PHONE = re.compile(r"^(?:\+?86[- ]?)?1\d{10}$|^0\d{2,3}-?\d{7,8}$|^\d{3,5}$")
_IN_TEXT = re.compile(r"(?:\+?86[- ]?)?1\d{10}|0\d{2,3}-?\d{7,8}")
_ready: weakref.WeakSet[StateDB] = weakref.WeakSet()


class ContactError(ValueError):
    """A contact list that breaks a rule; `code` is the message catalogue key (devices/i18n, `contacts.*`)."""

    def __init__(self, code: str, message: str, **params: object) -> None:
        super().__init__(message)
        self.code = code
        self.params = params


@dataclass(frozen=True, slots=True)
class Contact:
    """One person to call for a resident: 儿子 王军 13912345678, priority 1, may receive SMS."""

    name: str
    relation: str
    phone: str
    priority: int
    may_sms: bool


def migrate(db: StateDB) -> None:
    """Create the table, then turn the free-text contacts of residents without rows into rows (once)."""
    _ensure(db)
    rows = db.execute("SELECT resident_id, contacts FROM residents WHERE contacts <> '' AND resident_id NOT IN "
                      "(SELECT DISTINCT resident_id FROM resident_contacts)")
    for row in rows:
        parsed = parse_free_text(str(row["contacts"]))
        if parsed:
            _write(db, str(row["resident_id"]), parsed, MIGRATED_BY)


def adopt_free_text(db: StateDB, resident_id: str, text: str) -> None:
    """A resident registered with the free-text field only: its numbers become rows (never over existing rows)."""
    parsed = parse_free_text(text)
    if parsed and not contacts_of(db, resident_id):
        _write(db, resident_id, parsed, MIGRATED_BY)


def parse_free_text(text: str) -> list[Contact]:
    """Contacts found in the old free-text field: per part (split at ; , 、 or a new line), its phone number, the
    first word before it as the relation and the rest as the name ("儿子 王军: 13912345678")."""
    out: list[Contact] = []
    for part in re.split(r"[;；,，、\n]+", text):
        match = _IN_TEXT.search(part)
        if match is None:
            continue
        before = re.sub(r"\(.*?\)|（.*?）", " ", part[: match.start()])
        words = re.sub(r"[:：]+", " ", before).split()
        relation = words[0] if words else "联系人"
        out.append(Contact(" ".join(words[1:])[:40], relation[:20], match.group(0), len(out) + 1, True))
    return out[:MAX_CONTACTS]


def contacts_of(db: StateDB, resident_id: str) -> list[Contact]:
    """The resident's contacts, by priority (1 first); unmasked: callers mask what they show."""
    _ensure(db)
    rows = db.execute("SELECT name, relation, phone, priority, may_sms FROM resident_contacts WHERE resident_id=? "
                      "ORDER BY priority", [resident_id])
    return [Contact(str(r["name"]), str(r["relation"]), str(r["phone"]), int(r["priority"]), bool(r["may_sms"]))
            for r in rows]


def normalise_phone(phone: str) -> str:
    """Digits only, the country code of mainland China dropped: what two spellings of one number share."""
    digits = re.sub(r"\D", "", phone)
    return digits[2:] if digits.startswith("86") and len(digits) == 13 else digits


@dataclass(frozen=True, slots=True)
class Caller:
    """Who a phone number belongs to: the resident themself (`contact` None) or one of the resident's contacts."""

    resident_id: str
    contact: Contact | None


def callers(db: StateDB, phone: str) -> list[Caller]:
    """Residents whose own number or whose contact's number is `phone` (a screen pop's lookup), residents first."""
    _ensure(db)
    want = normalise_phone(phone)
    if len(want) < 3:
        return []
    own = [Caller(str(r["resident_id"]), None) for r in db.execute("SELECT resident_id, phone FROM residents")
           if normalise_phone(str(r["phone"])) == want]
    rows = db.execute("SELECT resident_id, name, relation, phone, priority, may_sms FROM resident_contacts")
    kin = [Caller(str(r["resident_id"]), Contact(str(r["name"]), str(r["relation"]), str(r["phone"]),
                                                 int(r["priority"]), bool(r["may_sms"])))
           for r in rows if normalise_phone(str(r["phone"])) == want]
    return own + kin


def edited_by_person(db: StateDB, resident_id: str) -> bool:
    """True when someone (not the free-text migration) wrote the resident's contacts."""
    _ensure(db)
    rows = db.execute("SELECT 1 FROM resident_contacts WHERE resident_id=? AND updated_by<>? LIMIT 1",
                      [resident_id, MIGRATED_BY])
    return bool(rows)


def set_contacts(db: StateDB, resident_id: str, contacts: list[Contact], actor: str) -> list[Contact]:
    """Replace the resident's contacts (checked first; raises ContactError); returns them by priority."""
    _ensure(db)
    checked = check(contacts)
    if not db.execute("SELECT 1 FROM residents WHERE resident_id=?", [resident_id]):
        raise ContactError("contacts.unknown_resident", f"resident {resident_id!r} is not registered",
                           resident=resident_id)
    _write(db, resident_id, checked, actor)
    return checked


def check(contacts: list[Contact]) -> list[Contact]:
    """Contacts with phones normalised (spaces, dashes of mobiles dropped), sorted; ContactError on a bad one."""
    if len(contacts) > MAX_CONTACTS:
        raise ContactError("contacts.too_many", f"at most {MAX_CONTACTS} contacts", limit=MAX_CONTACTS)
    out = []
    for c in contacts:
        phone = re.sub(r"\s+", "", c.phone)
        if not PHONE.match(phone):
            raise ContactError("contacts.bad_phone", f"{phone[:32]!r} is not a phone number", phone=phone[:32])
        if not c.relation.strip():
            raise ContactError("contacts.no_relation", "each contact needs a relation (儿子, 女儿, 邻居...)")
        out.append(Contact(c.name.strip()[:40], c.relation.strip()[:20], phone, c.priority, c.may_sms))
    priorities = [c.priority for c in out]
    if len(set(priorities)) != len(priorities) or any(p < 1 for p in priorities):
        raise ContactError("contacts.bad_priority", "priorities must be distinct numbers from 1")
    return sorted(out, key=lambda c: c.priority)


def _write(db: StateDB, resident_id: str, contacts: list[Contact], actor: str) -> None:
    now = time.time()
    db.execute("DELETE FROM resident_contacts WHERE resident_id=?", [resident_id])
    db.executemany(
        "INSERT INTO resident_contacts (resident_id, priority, name, relation, phone, may_sms, updated_at, "
        "updated_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [(resident_id, c.priority, c.name, c.relation, c.phone, int(c.may_sms), now, actor) for c in contacts])


def _ensure(db: StateDB) -> None:
    if db not in _ready:
        db.migrate(DDL)
        _ready.add(db)

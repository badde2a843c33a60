"""Structured contacts in the state database, on SQLite and PostgreSQL: migrated from the free text, kept in order."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from devices.contacts import Contact, ContactError, callers, contacts_of, set_contacts
from devices.records import Home, Resident
from devices.registry import Registry
from devices.statedb.sqlite import StateDB


def test_contacts_on_both_state_backends(open_db: Callable[[], StateDB]) -> None:
    db = open_db()
    Registry(db).add_home(Home("H1", "岳麓区莲花镇桐木村3组11号", 28.1, 112.8))
    db.execute("INSERT INTO residents (resident_id, name, home_id, contacts) VALUES ('R1', '王秀英', 'H1', "
               "'儿子: 13951305617')")  # written by an older version: the free text only
    assert contacts_of(db, "R1") == []
    registry = Registry(db)  # the next start migrates: the son's number becomes a row
    assert contacts_of(db, "R1") == [Contact("", "儿子", "13951305617", 1, True)]
    registry.add_home(Home("H2", "岳麓区莲花镇桐木村3组12号", 28.1, 112.8))
    registry.add_resident(Resident("R2", "李桂英", "H2", phone="13800001111", contacts="女儿 李娜 0731-88881234"))
    assert contacts_of(db, "R2") == [Contact("李娜", "女儿", "0731-88881234", 1, True)]
    family = [Contact("邻居王", "邻居", "15012345678", 3, False), Contact("张军", "儿子", "+86 139 0000 2222", 1, True)]
    set_contacts(db, "R1", family, "admin1")
    assert [(c.priority, c.phone) for c in contacts_of(db, "R1")] == [(1, "+8613900002222"), (3, "15012345678")]
    assert [c.resident_id for c in callers(db, "13900002222")] == ["R1"]
    assert [(c.resident_id, c.contact) for c in callers(db, "+86 138-0000-1111")] == [("R2", None)]
    assert contacts_of(open_db(), "R1")[0].name == "张军"  # another connection (process) reads the same rows
    with pytest.raises(ContactError, match="priorities"):
        set_contacts(db, "R1", [family[0], Contact("x", "儿子", "13900002222", 3, True)], "admin1")
    with pytest.raises(ContactError) as unknown:
        set_contacts(db, "R9", family, "admin1")
    assert unknown.value.code == "contacts.unknown_resident"

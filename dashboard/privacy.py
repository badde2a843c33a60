"""Masking of personal identifiers in lists, pages and logs (national ID, phone numbers)."""

from __future__ import annotations

from dataclasses import asdict, replace
from typing import Any

from dashboard.logmask import mask_identifiers
from devices.records import Resident


def mask_national_id(value: str) -> str:
    """Keep the region code (6) and the last 4 characters: 430104********0012."""
    if len(value) <= 10:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_phone(value: str) -> str:
    """Keep the first 3 and last 4 digits: 138****5678."""
    if len(value) <= 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def masked(resident: Resident) -> dict[str, Any]:
    """A resident with national ID and phone masked (lists, pages, `hub registry list`)."""
    return asdict(replace(resident, national_id=mask_national_id(resident.national_id),
                          phone=mask_phone(resident.phone), contacts=mask_identifiers(resident.contacts)))

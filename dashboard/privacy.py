"""Masking of personal identifiers in lists, pages and logs (national ID, phone numbers)."""

from __future__ import annotations


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

"""The pages' language (issue 18): the message catalogues served to the pages, and each member of staff's choice.

`GET /api/i18n/{lang}` answers one language's catalogue: the pages' own strings (dashboard/i18n/) merged over what
the hub writes (devices/i18n/: detection kinds, warning colours, report stages...), so common.js's `t(key, params)`
can name everything. `GET /api/i18n` answers the catalogue of the language to show: the signed-in user's choice,
else the hub's `HUB_UI__LANGUAGE`. Both are open, as the sign-in form needs them. `PUT /api/me/language` saves the
user's choice with the account (a `language` column of staff_users; empty = the hub's default).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import HTTPConnection

from dashboard.auth import SESSION_COOKIE, StaffUser
from dashboard.deps import Auth, Ctx, SignedIn, require
from dashboard.roles import SIGNED_IN
from devices.i18n import HERE as HUB_TEXTS
from devices.i18n import LANGUAGES, Catalogue, hub_language
from devices.statedb.sqlite import StateDB

PAGE_TEXTS = Path(__file__).resolve().parent / "i18n"
CATALOGUE = Catalogue((HUB_TEXTS, PAGE_TEXTS))  # the pages' keys win on a clash

open_router = APIRouter(prefix="/api", tags=["i18n"])
router = APIRouter(prefix="/api", tags=["i18n"], dependencies=[Depends(require(*SIGNED_IN))])


class LanguageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    language: str = Field(pattern="^(zh-CN|en)$")


def add_language_column(db: StateDB) -> None:
    """The staff account's language (issue 18), added to a table made by an earlier version."""
    db.add_column("staff_users", "language", "TEXT NOT NULL DEFAULT ''")


def language_of(db: StateDB, username: str) -> str:
    """A member of staff's language: their saved choice, else the hub's."""
    rows = db.execute("SELECT language FROM staff_users WHERE username=?", [username])
    chosen = rows[0]["language"] if rows else ""
    return chosen if chosen in LANGUAGES else hub_language()


def _answer(language: str, signed_in: bool = False) -> dict[str, Any]:
    return {"language": language, "default": hub_language(), "languages": list(LANGUAGES), "signed_in": signed_in,
            "messages": CATALOGUE.messages(language)}  # fmt: skip


@open_router.get("/i18n")
def current(conn: HTTPConnection, ctx: Ctx) -> dict[str, Any]:
    """The catalogue of the language to show: the signed-in user's, else the hub's default."""
    user = ctx.auth.session(conn.cookies.get(SESSION_COOKIE)) if ctx.auth is not None else None
    if ctx.auth is None or user is None:
        return _answer(hub_language())
    return _answer(language_of(ctx.auth.db, user.username), signed_in=True)


@open_router.get("/i18n/{lang}")
def catalogue(lang: str) -> dict[str, Any]:
    """One language's catalogue (zh-CN or en)."""
    if lang not in LANGUAGES:
        raise HTTPException(404, f"no catalogue {lang!r}; one of {list(LANGUAGES)}")
    return _answer(lang)


@router.put("/me/language")
def set_language(body: LanguageIn, user: SignedIn, auth: Auth) -> dict[str, str]:
    """Save the signed-in user's language with the account."""
    auth.db.execute("UPDATE staff_users SET language=? WHERE username=?", [body.language, user.username])
    return {"username": user.username, "language": body.language}


def user_language(auth: Auth, user: StaffUser) -> str:
    """For handlers that write for a person (exports): that person's language."""
    return language_of(auth.db, user.username)

"""Staff accounts: users with roles, argon2 password hashes, expiring sessions, a login throttle.

Sessions live in SQLite (only a SHA-256 of the cookie token is stored), so a hub restart does not log the call
centre out. Roles: operator, supervisor, commander, admin; only an admin administers users (issue 5).

Issue 16: a session ends after `lifetime_s` (one shift) or `idle_s` without a request, and ended sessions are
deleted (at each sign-in and at most every `PURGE_EVERY_S` on use). Failed sign-ins are throttled per (user name,
client address) with growing delays (`dashboard/login_throttle.py`), so abuse from one address never refuses the
rightful user elsewhere; an unknown or disabled user name costs the same argon2 work as a known one (a dummy hash
is verified), so user names cannot be found by timing.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from dashboard.login_throttle import LoginThrottle
from devices.statedb.sqlite import StateDB

ROLES = ("operator", "supervisor", "commander", "admin", "bureau")  # bureau: the civil-affairs bureau, read-only
# issue 14: a village disaster-information officer (灾害信息员) files reports for the villages granted to the account
# and nothing else (not a staff role: no resident, vitals or incident route lets it in)
REPORTER = "reporter"
ACCOUNT_ROLES = (*ROLES, REPORTER)
SESSION_S = 12 * 3600.0  # one shift: the absolute lifetime of a session
IDLE_S = 30 * 60.0  # a session unused this long has ended
TOUCH_EVERY_S = 15.0  # last use is written at most this often per session
PURGE_EVERY_S = 60.0
SESSION_COOKIE = "hub_session"  # HttpOnly; its token is looked up in staff_sessions
DDL = (
    """CREATE TABLE IF NOT EXISTS staff_users (username TEXT PRIMARY KEY, role TEXT NOT NULL,
        password_hash TEXT NOT NULL, display_name TEXT NOT NULL DEFAULT '', active INTEGER NOT NULL DEFAULT 1,
        created_at REAL NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS staff_sessions (token_sha TEXT PRIMARY KEY,
        username TEXT NOT NULL REFERENCES staff_users(username), created_at REAL NOT NULL, expires_at REAL NOT NULL)""",
)


class AuthError(ValueError):
    """A refused login or a bad account change; `status` is the HTTP status to answer."""

    def __init__(self, status: int, message: str, retry_after: float = 0.0, audit: bool = True) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after  # seconds, for a throttled sign-in (429)
        self.audit = audit  # False: summarised later by the throttle, not one audit row each


@dataclass(frozen=True, slots=True)
class StaffUser:
    """A signed-in member of staff."""

    username: str
    role: str
    display_name: str
    townships: tuple[str, ...] = ()  # the place scope: township keys this account sees (empty: the whole county)


def _townships(stored: str | None) -> tuple[str, ...]:
    return tuple(json.loads(stored)) if stored else ()


def _sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class StaffAuth:
    """Users, sessions and the login throttle."""

    def __init__(
        self, db: StateDB, clock: Callable[[], float] = time.time, hasher: PasswordHasher | None = None,
        idle_s: float = IDLE_S, lifetime_s: float = SESSION_S,
    ) -> None:
        self.db = db
        self.clock = clock
        self.hasher = hasher or PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)  # OWASP argon2id
        self.idle_s = idle_s  # 0: no idle timeout
        self.lifetime_s = lifetime_s
        self.throttle = LoginThrottle(db)  # issue 16: in the state database, shared by workers
        self._dummy: tuple[PasswordHasher, str] | None = None
        self._next_purge = 0.0
        db.migrate(DDL)
        db.add_column("staff_sessions", "last_seen", "REAL")  # issue 16: idle timeout (NULL: created_at)
        # the townships an account is limited to, as a JSON list of township keys ('': the whole county)
        db.add_column("staff_users", "townships", "TEXT NOT NULL DEFAULT ''")

    def add_user(
        self, username: str, password: str, role: str, display_name: str = "", replace: bool = False
    ) -> StaffUser:
        """Create (or with `replace`, reset) an account."""
        if role not in ACCOUNT_ROLES:
            raise AuthError(422, f"role must be one of {list(ACCOUNT_ROLES)}")
        if not username or len(password) < 8:
            raise AuthError(422, "a user name and a password of at least 8 characters are required")
        verb = "INSERT OR REPLACE" if replace else "INSERT"
        try:
            self.db.execute(
                f"{verb} INTO staff_users (username, role, password_hash, display_name, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                [username, role, self.hasher.hash(password), display_name or username, self.clock()],
            )
        except Exception as exc:  # sqlite3.IntegrityError: the name is taken
            raise AuthError(409, f"user {username!r} exists") from exc
        return StaffUser(username, role, display_name or username)

    def users(self) -> list[dict[str, object]]:
        """Accounts without their hashes."""
        rows = self.db.execute(
            "SELECT username, role, display_name, active, created_at, townships FROM staff_users ORDER BY 1")
        return [dict(r) | {"townships": list(_townships(r["townships"]))} for r in rows]

    def set_townships(self, username: str, townships: list[str]) -> None:
        """Limit an account to these township keys (an empty list: the whole county); AuthError 404 if unknown."""
        if not self.db.execute("SELECT 1 FROM staff_users WHERE username=?", [username]):
            raise AuthError(404, f"no user {username!r}")
        stored = json.dumps(sorted(set(townships)), ensure_ascii=False) if townships else ""
        self.db.execute("UPDATE staff_users SET townships=? WHERE username=?", [stored, username])

    def set_active(self, username: str, active: bool) -> None:
        """Disable or re-enable an account; disabling ends its sessions."""
        self.db.execute("UPDATE staff_users SET active=? WHERE username=?", [int(active), username])
        if not active:
            self.db.execute("DELETE FROM staff_sessions WHERE username=?", [username])

    def _dummy_hash(self) -> str:
        """A hash of a random password with the current hasher's parameters (unknown users verify against it)."""
        if self._dummy is None or self._dummy[0] is not self.hasher:
            self._dummy = (self.hasher, self.hasher.hash(secrets.token_urlsafe(16)))
        return self._dummy[1]

    def login(self, username: str, password: str, client: str) -> tuple[str, StaffUser]:
        """A new session token for valid credentials; AuthError 401 (wrong) or 429 (this pair must wait)."""
        now = self.clock()
        wait = self.throttle.wait(username, client, now)
        if wait > 0:
            raise AuthError(429, f"too many failed sign-ins from this address; wait {wait:.0f} s",
                            retry_after=wait, audit=False)
        rows = self.db.execute("SELECT * FROM staff_users WHERE username=? AND active=1", [username])
        stored = rows[0]["password_hash"] if rows else self._dummy_hash()  # same argon2 work for unknown users
        try:
            self.hasher.verify(stored, password)
            if not rows:
                raise VerificationError("unknown user")
        except (VerificationError, InvalidHashError) as exc:
            self.throttle.failed(username, client, now)
            raise AuthError(401, "wrong user name or password") from exc
        self.throttle.succeeded(username, client)
        self.purge(now)
        token = secrets.token_urlsafe(32)
        self.db.execute(
            "INSERT INTO staff_sessions (token_sha, username, created_at, expires_at, last_seen)"
            " VALUES (?, ?, ?, ?, ?)", [_sha(token), username, now, now + self.lifetime_s, now])
        row = rows[0]
        return token, StaffUser(username, row["role"], row["display_name"], _townships(row["townships"]))

    def purge(self, now: float | None = None) -> None:
        """Delete ended sessions (past their lifetime or idle too long)."""
        now = self.clock() if now is None else now
        self._next_purge = now + PURGE_EVERY_S
        if self.idle_s > 0:
            self.db.execute("DELETE FROM staff_sessions WHERE expires_at<=? OR COALESCE(last_seen, created_at)<=?",
                            [now, now - self.idle_s])
        else:
            self.db.execute("DELETE FROM staff_sessions WHERE expires_at<=?", [now])

    def session(self, token: str | None, touch: bool = True) -> StaffUser | None:
        """The user of a live session, or None (no token, unknown, expired, idle too long, disabled).

        `touch`: this use counts as activity for the idle timeout (a websocket's re-check does not)."""
        if not token:
            return None
        now = self.clock()
        if now >= self._next_purge:
            self.purge(now)
        idle_since = now - self.idle_s if self.idle_s > 0 else float("-inf")
        rows = self.db.execute(
            "SELECT u.username, u.role, u.display_name, u.townships, COALESCE(s.last_seen, s.created_at) AS seen"
            " FROM staff_sessions s JOIN staff_users u USING (username)"
            " WHERE s.token_sha=? AND s.expires_at>? AND u.active=1",
            [_sha(token), now],
        )
        if not rows or rows[0]["seen"] <= idle_since:
            return None
        if touch and now - rows[0]["seen"] >= TOUCH_EVERY_S:
            self.db.execute("UPDATE staff_sessions SET last_seen=? WHERE token_sha=?", [now, _sha(token)])
        row = rows[0]
        return StaffUser(row["username"], row["role"], row["display_name"], _townships(row["townships"]))

    def logout(self, token: str) -> None:
        """End a session."""
        self.db.execute("DELETE FROM staff_sessions WHERE token_sha=?", [_sha(token)])

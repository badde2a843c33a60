"""Staff accounts: users with roles, argon2 password hashes, expiring sessions, a login rate limit.

Sessions live in SQLite (only a SHA-256 of the cookie token is stored), so a hub restart does not log the call
centre out. Roles: operator, supervisor, commander, admin; only an admin administers users (issue 5).
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from devices.statedb.sqlite import StateDB

ROLES = ("operator", "supervisor", "commander", "admin")
SESSION_S = 12 * 3600.0  # one shift
SESSION_COOKIE = "hub_session"  # HttpOnly; its token is looked up in staff_sessions
LOGIN_FAILURES = 5  # per user name and per client address within LOGIN_WINDOW_S
LOGIN_WINDOW_S = 60.0
DDL = (
    """CREATE TABLE IF NOT EXISTS staff_users (username TEXT PRIMARY KEY, role TEXT NOT NULL,
        password_hash TEXT NOT NULL, display_name TEXT NOT NULL DEFAULT '', active INTEGER NOT NULL DEFAULT 1,
        created_at REAL NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS staff_sessions (token_sha TEXT PRIMARY KEY,
        username TEXT NOT NULL REFERENCES staff_users(username), created_at REAL NOT NULL, expires_at REAL NOT NULL)""",
)


class AuthError(ValueError):
    """A refused login or a bad account change; `status` is the HTTP status to answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class StaffUser:
    """A signed-in member of staff."""

    username: str
    role: str
    display_name: str


def _sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class StaffAuth:
    """Users, sessions and the login throttle."""

    def __init__(
        self, db: StateDB, clock: Callable[[], float] = time.time, hasher: PasswordHasher | None = None
    ) -> None:
        self.db = db
        self.clock = clock
        self.hasher = hasher or PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)  # OWASP argon2id
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        db.migrate(DDL)

    def add_user(
        self, username: str, password: str, role: str, display_name: str = "", replace: bool = False
    ) -> StaffUser:
        """Create (or with `replace`, reset) an account."""
        if role not in ROLES:
            raise AuthError(422, f"role must be one of {list(ROLES)}")
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
        rows = self.db.execute("SELECT username, role, display_name, active, created_at FROM staff_users ORDER BY 1")
        return [dict(r) for r in rows]

    def set_active(self, username: str, active: bool) -> None:
        """Disable or re-enable an account; disabling ends its sessions."""
        self.db.execute("UPDATE staff_users SET active=? WHERE username=?", [int(active), username])
        if not active:
            self.db.execute("DELETE FROM staff_sessions WHERE username=?", [username])

    def _throttled(self, keys: list[str], now: float) -> bool:
        for key in keys:
            window = self._failures[key]
            while window and window[0] < now - LOGIN_WINDOW_S:
                window.popleft()
        return any(len(self._failures[k]) >= LOGIN_FAILURES for k in keys)

    def login(self, username: str, password: str, client: str) -> tuple[str, StaffUser]:
        """A new session token for valid credentials; AuthError 401 or 429 (too many failures)."""
        now = self.clock()
        keys = [f"user:{username}", f"addr:{client}"]
        if self._throttled(keys, now):
            raise AuthError(429, "too many failed logins; wait a minute")
        rows = self.db.execute("SELECT * FROM staff_users WHERE username=? AND active=1", [username])
        try:
            if not rows:
                raise VerificationError("unknown user")
            self.hasher.verify(rows[0]["password_hash"], password)
        except (VerificationError, InvalidHashError) as exc:
            for key in keys:
                self._failures[key].append(now)
            raise AuthError(401, "wrong user name or password") from exc
        token = secrets.token_urlsafe(32)
        self.db.execute("INSERT INTO staff_sessions VALUES (?, ?, ?, ?)", [_sha(token), username, now, now + SESSION_S])
        return token, StaffUser(username, rows[0]["role"], rows[0]["display_name"])

    def session(self, token: str | None) -> StaffUser | None:
        """The user of a live session, or None (no token, unknown, expired, disabled)."""
        if not token:
            return None
        rows = self.db.execute(
            "SELECT u.username, u.role, u.display_name FROM staff_sessions s JOIN staff_users u USING (username)"
            " WHERE s.token_sha=? AND s.expires_at>? AND u.active=1",
            [_sha(token), self.clock()],
        )
        return StaffUser(rows[0]["username"], rows[0]["role"], rows[0]["display_name"]) if rows else None

    def logout(self, token: str) -> None:
        """End a session."""
        self.db.execute("DELETE FROM staff_sessions WHERE token_sha=?", [_sha(token)])

"""The sign-in throttle (issue 16): growing delays per (user name, client address), summarised for the audit log.

Keyed by the pair, so guessing a commander's password from one address never refuses the commander signing in from
another: an address that has not failed for that user name is never throttled. After `FREE_FAILURES` wrong passwords
the pair must wait `BASE_DELAY_S`, doubling with each further failure up to `MAX_DELAY_S`; attempts during the wait
are answered 429 without checking the password (no argon2 work for the attacker to spend). A right password ends
the pair's record.

The pairs live in the state database (table `login_throttle`, SQLite or PostgreSQL), so every worker of the hub
sees the same waits and a restart does not hand an attacker a fresh allowance. Each step is one statement
(an upsert, or an UPDATE/DELETE ... RETURNING), so two workers counting the same pair neither lose a failure nor
summarise a wait twice.

Attempts refused during a wait are counted, not audited one by one: when the wait is over (the next attempt of the
pair, a right password, or `summaries()` noticing the wait has passed) one summary is claimed by one worker for the
audit log, so nobody can grow the audit table without signing in. The table is bounded (`MAX_KEYS`, the pairs that
failed longest ago forgotten first) and pairs quiet for `FORGET_S` are dropped, so random user names cannot grow it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from devices.statedb.sqlite import StateDB

FREE_FAILURES = 5
BASE_DELAY_S = 1.0
MAX_DELAY_S = 300.0
FORGET_S = 3600.0
MAX_KEYS = 10_000
SCAN_EVERY_S = 5.0
DDL = (
    """CREATE TABLE IF NOT EXISTS login_throttle (username TEXT NOT NULL, client TEXT NOT NULL,
        failures INTEGER NOT NULL, last_failure REAL NOT NULL, blocked_until REAL NOT NULL,
        refused INTEGER NOT NULL DEFAULT 0, refused_from REAL NOT NULL DEFAULT 0, refused_to REAL NOT NULL DEFAULT 0,
        PRIMARY KEY (username, client))""",
    "CREATE INDEX IF NOT EXISTS login_throttle_last ON login_throttle (last_failure)",
)
_SUMMARY = "username, client, refused, refused_from, refused_to, failures"


@dataclass(frozen=True, slots=True)
class Summary:
    """Attempts of one (user name, address) refused during one wait, for one audit row."""

    username: str
    client: str
    refused: int
    first: float
    last: float
    failures: int


def delay_after(failures: int) -> float:
    """Seconds a pair must wait after `failures` wrong passwords (0 for the first FREE_FAILURES - 1)."""
    if failures < FREE_FAILURES:
        return 0.0
    return min(MAX_DELAY_S, BASE_DELAY_S * 2.0 ** min(failures - FREE_FAILURES, 64))


def _summary(row: Any) -> Summary:
    return Summary(row["username"], row["client"], int(row["refused"]), float(row["refused_from"]),
                   float(row["refused_to"]), int(row["failures"]))


class LoginThrottle:
    """Failed sign-ins per (user name, client address), in the state database (shared by workers, kept over
    restarts)."""

    def __init__(self, db: StateDB, max_keys: int = MAX_KEYS) -> None:
        self.db = db
        self.max_keys = max_keys
        db.migrate(DDL)
        self._pending: list[Summary] = []  # summaries this worker claimed, for its next audit write
        self._next_scan = 0.0

    def __len__(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) AS n FROM login_throttle")[0]["n"])

    def wait(self, username: str, client: str, now: float) -> float:
        """Seconds this pair must still wait (the attempt is then refused and counted), or 0: check the password."""
        rows = self.db.execute(
            "UPDATE login_throttle SET refused = refused + 1, refused_to = ?,"
            " refused_from = CASE WHEN refused = 0 THEN ? ELSE refused_from END"
            " WHERE username = ? AND client = ? AND blocked_until > ? RETURNING blocked_until",
            (now, now, username, client, now))
        if rows:
            return float(rows[0]["blocked_until"]) - now
        self._claim("username = ? AND client = ?", (username, client))
        return 0.0

    def failed(self, username: str, client: str, now: float) -> float:
        """Record a wrong password; the wait it imposes on the pair (0 while under FREE_FAILURES)."""
        rows = self.db.execute(
            "INSERT INTO login_throttle (username, client, failures, last_failure, blocked_until)"
            " VALUES (?, ?, 1, ?, ?) ON CONFLICT (username, client) DO UPDATE SET"
            " failures = login_throttle.failures + 1, last_failure = excluded.last_failure RETURNING failures",
            (username, client, now, now))
        failures = int(rows[0]["failures"])
        wait = delay_after(failures)
        if wait:
            self.db.execute("UPDATE login_throttle SET blocked_until = ? WHERE username = ? AND client = ?",
                            (now + wait, username, client))
        if failures == 1:
            self._bound()
        return wait

    def succeeded(self, username: str, client: str) -> None:
        """A right password: the pair's record ends (its refused attempts, if any, are summarised)."""
        rows = self.db.execute(f"DELETE FROM login_throttle WHERE username = ? AND client = ? RETURNING {_SUMMARY}",
                               (username, client))
        self._pending.extend(_summary(r) for r in rows if r["refused"])

    def summaries(self, now: float) -> list[Summary]:
        """Summaries of finished waits (handed out once, to one worker); forgets pairs quiet for FORGET_S.
        Cheap between scans."""
        if now >= self._next_scan:
            self._next_scan = now + SCAN_EVERY_S
            self._claim("refused > 0 AND blocked_until <= ?", (now,))
            self.db.execute("DELETE FROM login_throttle WHERE last_failure < ? AND blocked_until <= ? AND refused = 0",
                            (now - FORGET_S, now))
        out, self._pending = self._pending, []
        return out

    def _claim(self, where: str, params: tuple[object, ...]) -> None:
        """Take the refused attempts of the pairs matching `where` for this worker's summaries. The count read is
        subtracted in a guarded UPDATE, so of two workers only one claims it, and an attempt counted in between
        is kept for the next summary."""
        found = self.db.execute(f"SELECT {_SUMMARY} FROM login_throttle WHERE refused > 0 AND {where}", params)
        for row in found:
            taken = self.db.execute(
                "UPDATE login_throttle SET refused = refused - ? WHERE username = ? AND client = ? AND refused >= ?"
                " RETURNING refused", (row["refused"], row["username"], row["client"], row["refused"]))
            if taken:
                self._pending.append(_summary(row))

    def _bound(self) -> None:
        """Forget the pairs that failed longest ago beyond `max_keys` (their refused attempts summarised)."""
        excess = len(self) - self.max_keys
        if excess <= 0:
            return
        rows = self.db.execute(
            f"DELETE FROM login_throttle WHERE (username, client) IN (SELECT username, client FROM login_throttle"
            f" ORDER BY last_failure, username, client LIMIT ?) RETURNING {_SUMMARY}", (excess,))
        self._pending.extend(_summary(r) for r in rows if r["refused"])

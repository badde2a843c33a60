"""The sign-in throttle (issue 16): growing delays per (user name, client address), summarised for the audit log.

Keyed by the pair, so guessing a commander's password from one address never refuses the commander signing in from
another: an address that has not failed for that user name is never throttled. After `FREE_FAILURES` wrong passwords
the pair must wait `BASE_DELAY_S`, doubling with each further failure up to `MAX_DELAY_S`; attempts during the wait
are answered 429 without checking the password (no argon2 work for the attacker to spend). A right password ends
the pair's record.

Attempts refused during a wait are counted, not audited one by one: when the wait is over (the next attempt of the
pair, a right password, or `summaries()` noticing the wait has passed) one summary is handed out for the audit log,
so nobody can grow the audit table without signing in. The table of pairs is bounded (`MAX_KEYS`, the oldest
forgotten first) and pairs quiet for `FORGET_S` are dropped, so random user names cannot grow memory.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

FREE_FAILURES = 5
BASE_DELAY_S = 1.0
MAX_DELAY_S = 300.0
FORGET_S = 3600.0
MAX_KEYS = 10_000
SCAN_EVERY_S = 5.0


@dataclass(slots=True)
class _Pair:
    failures: int = 0
    last_failure: float = 0.0
    blocked_until: float = 0.0
    refused: int = 0
    refused_from: float = 0.0
    refused_to: float = 0.0


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
    return min(MAX_DELAY_S, BASE_DELAY_S * 2.0 ** (failures - FREE_FAILURES))


class LoginThrottle:
    """In-memory state of failed sign-ins per (user name, client address)."""

    def __init__(self, max_keys: int = MAX_KEYS) -> None:
        self.max_keys = max_keys
        self._pairs: OrderedDict[tuple[str, str], _Pair] = OrderedDict()
        self._pending: list[Summary] = []
        self._next_scan = 0.0

    def __len__(self) -> int:
        return len(self._pairs)

    def wait(self, username: str, client: str, now: float) -> float:
        """Seconds this pair must still wait (the attempt is then refused and counted), or 0: check the password."""
        pair = self._pairs.get((username, client))
        if pair is None:
            return 0.0
        if now < pair.blocked_until:
            if pair.refused == 0:
                pair.refused_from = now
            pair.refused += 1
            pair.refused_to = now
            return pair.blocked_until - now
        self._close(username, client, pair)
        return 0.0

    def failed(self, username: str, client: str, now: float) -> float:
        """Record a wrong password; the wait it imposes on the pair (0 while under FREE_FAILURES)."""
        key = (username, client)
        pair = self._pairs.get(key)
        if pair is None:
            while len(self._pairs) >= self.max_keys:
                (old_user, old_client), old = self._pairs.popitem(last=False)
                self._close(old_user, old_client, old)
            pair = self._pairs[key] = _Pair()
        self._pairs.move_to_end(key)
        pair.failures += 1
        pair.last_failure = now
        wait = delay_after(pair.failures)
        pair.blocked_until = now + wait
        return wait

    def succeeded(self, username: str, client: str) -> None:
        """A right password: the pair's record ends (its refused attempts, if any, are summarised)."""
        pair = self._pairs.pop((username, client), None)
        if pair is not None:
            self._close(username, client, pair)

    def summaries(self, now: float) -> list[Summary]:
        """Summaries of finished waits (handed out once); forgets pairs quiet for FORGET_S. Cheap between scans."""
        if now >= self._next_scan:
            self._next_scan = now + SCAN_EVERY_S
            for key, pair in list(self._pairs.items()):
                if pair.refused and now >= pair.blocked_until:
                    self._close(*key, pair)
                if now - pair.last_failure > FORGET_S and now >= pair.blocked_until:
                    del self._pairs[key]
        out, self._pending = self._pending, []
        return out

    def _close(self, username: str, client: str, pair: _Pair) -> None:
        if pair.refused:
            self._pending.append(
                Summary(username, client, pair.refused, pair.refused_from, pair.refused_to, pair.failures))
            pair.refused = 0

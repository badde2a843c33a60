"""Falls waiting out their cancel window, kept in the state database (issue 7: no alert lost on a restart).

A fall is pending for `cancel_window_s` on the hub's clock before it becomes an alert. The detector stage saves
the pending falls after each step, before the batch that caused them is acked, so a hub killed inside the window
finds them again at start and raises each when its window ends (at once if it already has). The newest fall
alerts, read back from the detection log, keep the merge of a fall's two sources working across the restart.
"""

from __future__ import annotations

import orjson

from alerts.detection import Detection, Severity
from alerts.falls.flow import PendingFall
from devices.statedb.sqlite import StateDB

DDL = (
    """CREATE TABLE IF NOT EXISTS pending_falls (device_id TEXT PRIMARY KEY, impact_ts REAL NOT NULL,
        due REAL NOT NULL, sources TEXT NOT NULL, detection TEXT NOT NULL)""",
)


class PendingFallStore:
    """Reads and writes the pending_falls table."""

    def __init__(self, db: StateDB) -> None:
        self.db = db
        db.migrate(DDL)

    def load(self) -> list[PendingFall]:
        """Every pending fall, as saved."""
        return [PendingFall(r["device_id"], r["impact_ts"], r["due"], _detection(r["detection"]),
                            set(orjson.loads(r["sources"]))) for r in self.db.execute("SELECT * FROM pending_falls")]

    def save(self, changed: dict[str, PendingFall | None]) -> None:
        """Write the pending falls of the devices in `changed`; None removes a device's."""
        gone = [[device_id] for device_id, p in changed.items() if p is None]
        kept = [(p.device_id, p.impact_ts, p.due, orjson.dumps(sorted(p.sources)).decode(),
                 orjson.dumps(p.detection).decode()) for p in changed.values() if p is not None]
        if gone:
            self.db.executemany("DELETE FROM pending_falls WHERE device_id = ?", gone)
        if kept:
            self.db.executemany("INSERT OR REPLACE INTO pending_falls VALUES (?, ?, ?, ?, ?)", kept)


def _detection(text: str) -> Detection:
    fields = orjson.loads(text)
    return Detection(**{**fields, "severity": Severity(fields["severity"])})

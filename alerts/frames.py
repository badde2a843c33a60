"""Where the alert stage announces what it keeps: a live-frame sink, declared here and provided by the dashboard.

The dashboard's `Bus` (and the scale-out `RelayBus`) satisfy this protocol; the alert modules only need
`publish`, so they do not import the dashboard that sits above them.
"""

from __future__ import annotations

from typing import Any, Protocol


class LiveFrames(Protocol):
    """A sink for live frames `{"type": kind, "data": data}` (websocket clients, other workers)."""

    def publish(self, kind: str, data: Any) -> None:
        """Announce one frame; must not block or raise for a slow listener."""
        ...

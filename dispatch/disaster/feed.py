"""What the detector stage hands the command centre: village reports, wearable GPS fixes, gauge colours.

`CommandFeed` sits in the detector list after the gauge warning detector. It is a detector in shape (observe,
observe_event, advance) plus `observe_report` for DisasterReport records, which the stage calls for every report in
a batch. Overdue reports come out as detections; gauge colour changes and accepted reports go out as live frames.
`build_command` makes the centre from the registry and keeps it in step with the registry's refreshes; given a
store, it takes up the state an earlier run saved there and saves each change (issue 7).
"""

from __future__ import annotations

import logging
import time

from alerts.detection import Detection
from alerts.detector import Detector
from alerts.disaster.reports import ReportError, parse_indicators
from devices.models import DeviceEvent, DisasterReport, Family, Reading
from devices.records import DeviceRecord
from devices.registry import Registry
from dispatch.disaster.areas import Site
from dispatch.disaster.command import CommandCentre, Publish, _silent
from dispatch.disaster.evacuation import Resident
from dispatch.disaster.store import CommandStore

logger = logging.getLogger(__name__)
GAUGE_SCAN_S = 10.0  # device seconds between scans for levels released by time alone
REPORT_KINDS = frozenset({"reporter"})  # issue 14: the terminals a village's reports may come from (not a gauge)


class CommandFeed(Detector):
    """Detector adapter feeding the command centre."""

    name = "command"

    def __init__(self, centre: CommandCentre) -> None:
        self.centre = centre
        self._scanned = 0.0
        self.rejected = 0

    def observe(self, reading: Reading) -> list[Detection]:
        """Terminals: announce colour changes. Wearables: remember the GPS fix."""
        if reading.family is Family.TERMINAL:
            self._gauge(reading.device_id, reading.ts)
        elif reading.family is Family.WEARABLE and "lat" in reading.values and "lon" in reading.values:
            device = self.centre.wearers.get(reading.device_id)
            if device:
                self.centre.gps[device] = (reading.values["lat"], reading.values["lon"], reading.ts)
        return []

    def observe_event(self, event: DeviceEvent) -> list[Detection]:
        """No device event concerns the command room."""
        return []

    def observe_report(self, report: DisasterReport) -> list[Detection]:
        """A village officer's report from a terminal: into the book (a rejected one is announced, not kept).

        As the web form (issue 14): the report's time is the hub's clock when it arrived (the terminal's own `ts`
        is kept beside it as `device_ts`), and its village is the terminal's registered one, which must be a
        village of the registry."""
        site = self.centre.sites.get(report.device_id)
        village = site.village_id if site else report.device_id
        try:
            if site is None or site.kind not in REPORT_KINDS:  # the village is the registry's, never the payload's
                kind = site.kind if site else "unregistered"
                raise ReportError("not_a_reporter", f"terminal {report.device_id} ({kind}) does not file reports",
                                  report.event_id, village)  # fmt: skip
            if village not in self.centre.villages:
                raise ReportError("unknown_village", f"village {village!r} of terminal {report.device_id} is not "
                                  "registered", report.event_id, village)  # fmt: skip
            self.centre.sync(force=True)  # issue 14: versions another worker accepted come first
            kept = self.centre.book.submit(
                report.event_id,
                village,
                report.stage,
                parse_indicators(report.indicators),
                report.received_at or time.time(),
                officer=report.officer,
                note=report.note,
                hazard=report.hazard,
                device_ts=report.ts,
            )
        except ReportError as exc:
            self.rejected += 1
            logger.warning("report from %s rejected: %s", report.device_id, exc)
            self.centre.publish(
                "report",
                {"village_id": village, "event_id": report.event_id, "error": exc.reason, "detail": exc.detail},
            )
            return []
        if kept.stage == "initial":  # issue 14: a report rule drafts a warning for the commander
            self.centre.draft_report(kept)
        self.centre.publish(
            "report",
            {
                "village_id": village,
                "event_id": kept.event_id,
                "stage": kept.stage,
                "version": kept.version,
                "ts": kept.ts,
            },
        )
        return []

    def advance(self, now: float) -> list[Detection]:
        """Overdue reports; now and then, gauges whose level time alone released and drafts the policy issues."""
        self.centre.sync()  # issue 14: CAP messages and tasks another worker recorded (at most once a second)
        if now - self._scanned >= GAUGE_SCAN_S:
            self._scanned = now
            self.centre.advance_drafts(now)
            self.centre.reload_stations()  # thresholds imported by `hub registry import-stations` meanwhile
            for tid in list(self.centre.gauge_levels):
                self._gauge(tid, now)
        return self.centre.book.advance(now)

    def _gauge(self, terminal_id: str, ts: float) -> None:
        level = self.centre.warnings.terminal_level(terminal_id)
        if self.centre.gauge_levels.get(terminal_id) != level:
            if self.centre.store is not None:  # with its hysteresis state: a restart goes on where this one was
                self.centre.store.save_gauge(terminal_id, level, ts, self.centre.warnings.snapshot(terminal_id))
            self.centre.gauge_levels[terminal_id] = level
            metrics = {m: v for m, (v, _lv) in self.centre.warnings.terminal_metrics(terminal_id).items()}
            self.centre.publish("gauge", {"id": terminal_id, "level": level, "ts": ts, "metrics": metrics})


def site_of(device: DeviceRecord) -> Site | None:
    """A terminal with a position and a village, as a map site."""
    if device.family != Family.TERMINAL.value or device.lat is None or device.lon is None or not device.village_id:
        return None
    return Site(device.device_id, device.kind, device.village_id, device.lat, device.lon)


def _refresh(centre: CommandCentre, registry: Registry, devices: dict[str, DeviceRecord]) -> None:
    """Bring villages, terminals, residents and wearers up to date with the registry."""
    if len(centre.villages) != len(registry.villages()):
        centre.villages.update({v.village_id: v for v in registry.villages()})
    for device in devices.values():
        if device.device_id not in centre.sites and (site := site_of(device)) is not None:
            centre.add_site(site)
        if device.family == Family.WEARABLE.value and device.resident_id:
            centre.wearers[device.device_id] = device.resident_id
    if len(centre.residents) != len(registry.residents()):
        homes = {h.home_id: h for h in registry.homes()}
        for r in registry.residents():
            home = homes.get(r.home_id)
            if home is not None and r.resident_id not in centre.residents:
                centre.residents[r.resident_id] = Resident(
                    r.resident_id,
                    home.village_id or "",
                    home.lat,
                    home.lon,
                    bool(r.lives_alone),
                    bool(r.limited_mobility),
                )


def build_command(registry: Registry, publish: Publish = _silent, store: CommandStore | None = None) -> CommandCentre:
    """The command centre over the registry's villages, terminals and residents, following its refreshes."""
    centre = CommandCentre({}, {}, {}, publish)
    registry.on_refresh.append(lambda devices: _refresh(centre, registry, devices))
    _refresh(centre, registry, registry.devices())
    if store is not None:
        centre.restore(store)
    return centre

"""The command centre (issue 6 in the running hub): area warnings -> CAP drafts -> approved CAP -> evacuation.

It owns the gauge warning detector, the report book, the active CAP alerts and the evacuation task board. The
detector stage feeds it (`dispatch/disaster/feed.py`); its `on_detections` sink turns each area level change into a
CAP draft (issue 14: `dispatch/disaster/drafts.py`), which a commander approves (with edits) or rejects; only an
approved draft becomes a CAP Alert, Update or Cancel (sender `SENDER`) in the feed and builds the evacuation list of
the people in its area (the village's polygon, dispatch/disaster/village_area.py, or the one the commander drew),
worked person by person (issue 14: `set_status` keeps who, when and the note, dispatch/disaster/evac_log.py).
Live frames "warning", "draft", "cap", "evacuation" and "report" go to the command pages.
Every method runs on the event loop thread (the detector stage and async HTTP handlers), so no locks.
With a store (`restore`, issue 7) it takes up what an earlier run saved and saves each change as it happens.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from time import monotonic
from typing import Any

from alerts.detection import Detection
from alerts.disaster.cap import (
    ActiveAlerts,
    CapWarning,
    Shape,
    cancel,
    import_level,
    issue,
    parse_alert,
    update,
)
from alerts.disaster.reports import DisasterEvent, ReportBook, ReportError, VillageReport
from alerts.disaster.warnings import WarningLevel
from devices.i18n import HUB, hub_language, t
from devices.records import Village
from devices.statedb.sqlite import StateDB
from dispatch.disaster.areas import AreaWarnings, Site, evacuation_text, thresholds_for
from dispatch.disaster.drafts import (
    APPROVED,
    AUTO_ACTOR,
    CANCEL,
    ISSUE,
    PENDING,
    REJECTED,
    SUPERSEDED,
    Draft,
    DraftEdits,
    DraftStore,
    IssuePolicy,
    new_draft_id,
)
from dispatch.disaster.evac_log import EvacuationLog, StatusChange
from dispatch.disaster.evacuation import (
    STATES,
    STATUS_STATES,
    TRANSITIONS,
    Resident,
    Task,
    TaskBoard,
    TransitionError,
    residents_in_area,
)
from dispatch.disaster.report_store import ReporterScopes, ReportStore
from dispatch.disaster.stations import StationStore, StationThresholds
from dispatch.disaster.store import ISSUED, RECEIVED, CommandStore
from dispatch.disaster.village_area import village_area

logger = logging.getLogger(__name__)
SYNC_S = 1.0  # issue 14: with workers sharing PostgreSQL, each takes up the others' CAP messages this often at most
SENDER = "hub@yuelu.example"
AREA_RADIUS_KM = 2.0  # villages lie about 3 km apart along the valley
Publish = Callable[[str, Any], None]


def _silent(_kind: str, _data: Any) -> None:
    return None


def cap_texts(level: WarningLevel, village: str, area: str, features: dict[str, float], terminal: str, geo: bool,
              lang: str) -> dict[str, str]:
    """CAP event, headline, description and instruction of an area warning in one language (issue 18): the
    warning colour and its grade (红色预警, Ⅰ级) and what raised it (a gauge metric in `features`, else outside)."""
    lv, grade = t(f"level.{int(level)}", lang), t(f"grade.{int(level)}", lang)
    metric = next((k for k in features if f"cap.reason.{k}" in HUB.messages(lang)), "")
    value = features.get(metric, features.get("value", 0.0))
    # no gauge metric: the level came from an imported warning (CAP from outside) or a village report
    reason = t(f"cap.reason.{metric}", lang, value=f"{value:.3g}", terminal=terminal) if metric else t(
        "cap.reason.report" if terminal.startswith("report:") else "cap.reason.external", lang)
    return {
        "event": t("cap.event.Geo" if geo else "cap.event", lang),
        "headline": t("cap.headline", lang, village=village, level=lv, grade=grade),
        "description": t("cap.description", lang, village=village, area=area, level=lv, grade=grade, reason=reason),
        "instruction": evacuation_text(level, lang),
    }


class DraftError(ValueError):
    """A decision that cannot be taken: `status` is the HTTP answer (404 no such draft, 409 decided already)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class CommandCentre:
    """Warnings, CAP, reports and evacuation of one county's command room."""

    villages: dict[str, Village]
    sites: dict[str, Site]
    residents: dict[str, Resident]
    publish: Publish = _silent
    sender: str = SENDER
    radius_km: float = AREA_RADIUS_KM
    cap_english: bool = False  # issue 18: CAP messages carry an en-US <info> block (HUB_UI__CAP_ENGLISH)
    policy: IssuePolicy = field(default_factory=IssuePolicy)  # issue 14: automatic issue per level, off by default

    def __post_init__(self) -> None:
        self.warnings = AreaWarnings(self.sites.values())
        self.book = ReportBook()
        self.alerts = ActiveAlerts()  # issued here: the feed at /cap/alerts.xml
        self.received = ActiveAlerts()  # imported from outside (a weather service)
        self.tasks = TaskBoard()
        self.gps: dict[str, tuple[float, float, float]] = {}  # resident -> last wearable fix (lat, lon, ts)
        self.gauge_levels: dict[str, int] = {}  # terminal -> level last announced (the map's colours)
        self.wearers: dict[str, str] = {}  # wearable device -> resident
        self.abnormal: set[str] = set()  # residents whose vitals raised a detection
        self._issued: dict[str, CapWarning] = {}  # area -> newest message issued here
        self._imported: dict[str, set[str]] = {}  # imported warning key -> areas it raised
        self._seq = 0
        self._seen_pos = 0  # issue 14: the newest command_messages position taken up (shared by all workers)
        self._known: set[tuple[str, str]] = set()  # (origin, identifier) of the messages taken up
        self._tasks_ts = 0.0  # evacuation tasks changed from here on are read again by `sync`
        self._synced = float("-inf")  # monotonic time of the last `sync`
        self.report_store: ReportStore | None = None
        self._report_seq = 0  # report versions taken up to this position of report_versions
        self.store: CommandStore | None = None  # where changes are saved, once `restore` has run
        # issue 14: drafts awaiting a commander; in the state database once `restore` has run (every worker the same)
        self.drafts = DraftStore(StateDB(Path(":memory:")))
        self.stations: dict[str, StationThresholds] = {}  # issue 14: each station's own thresholds
        self.station_store: StationStore | None = None
        self.reporters = ReporterScopes(StateDB(Path(":memory:")))  # issue 14: in the state database after `restore`
        self.evac_log = EvacuationLog(StateDB(Path(":memory:")))  # issue 14: who did what, kept after `restore`
        self._stations_version: tuple[int, float] = (0, 0.0)

    def add_site(self, site: Site) -> None:
        """A terminal registered after start (the registry's refresh)."""
        self.sites[site.terminal_id] = site
        self.warnings.add_site(site)
        if site.terminal_id in self.stations:
            self.warnings.set_thresholds(site.terminal_id, self.stations[site.terminal_id].apply(
                thresholds_for(site.kind)))

    def apply_stations(self, stations: dict[str, StationThresholds]) -> None:
        """Judge each station by its own thresholds (a station no longer listed goes back to its kind's)."""
        for terminal_id in set(self.stations) | set(stations):
            site = self.sites.get(terminal_id)
            if site is None:
                continue
            base = thresholds_for(site.kind)
            own = stations.get(terminal_id)
            self.warnings.set_thresholds(terminal_id, own.apply(base) if own else base)
        self.stations = dict(stations)

    def reload_stations(self) -> bool:
        """Take up thresholds changed in the state database (an import by the CLI, another worker's edit)."""
        if self.station_store is None:
            return False
        version = self.station_store.version()
        if version == self._stations_version:
            return False
        self._stations_version = version
        self.apply_stations(self.station_store.all())
        return True

    def area_shape(self, area: str) -> Shape | None:
        """The area a rule proposes (issue 14): the village's own polygon, the land nearer to it than to any other
        village out to `radius_km` (dispatch/disaster/village_area.py); the commander may redraw it."""
        v = self.villages.get(area)
        return village_area(v, list(self.villages.values()), self.radius_km) if v else None

    def on_detections(self, detections: list[Detection]) -> None:
        """Sink for the detector stage: level changes and overdue reports (others only mark vitals)."""
        for det in detections:
            if det.kind == "warning_level":
                self._on_level(det)
            elif det.kind == "report_overdue":
                overdue = {"overdue": True, "village_id": det.subject_id, "event_id": det.device_id, "ts": det.ts}
                self.publish("report", overdue | {"message": det.message})
            elif det.detector == "vitals":
                self.abnormal.add(det.subject_id)

    def _on_level(self, det: Detection) -> None:
        area, level = det.subject_id, WarningLevel(int(det.features["level"]))
        prev = int(det.features.get("previous_level", 0))
        self.publish("warning", {"area": area, "level": int(level), "colour": level.colour, "grade": level.grade,
                                 "previous": prev, "ts": det.ts, "message": det.message})  # fmt: skip
        source = "external" if det.device_id.startswith("cap:") else "gauge"
        evidence = {"source": source, "terminal": det.device_id, "features": dict(det.features), "text": det.message,
                    "ts": det.ts, "previous_level": prev}  # fmt: skip
        if source == "gauge" and (site := self.sites.get(det.device_id)) is not None:
            evidence["kind"] = site.kind
            cfg = self.warnings.thresholds(det.device_id)
            metric = next((m for m in det.features if cfg is not None and getattr(cfg, m, None) is not None), "")
            if cfg is not None and metric:  # the ladder the station was judged by: its own, or its kind's
                evidence["ladder"] = {"metric": metric, "steps": list(getattr(cfg, metric).steps()),
                                      "own": det.device_id in self.stations}  # fmt: skip
        if level is WarningLevel.NONE:
            self._draft_cancel(area, det.ts, evidence)
        else:
            self._draft_raise(area, level, det.features, det.device_id, det.ts, evidence)

    def _next_id(self, area: str, ts: float) -> str:
        self._seq += 1
        return f"yuelu-{area}-{int(ts)}-{self._seq}"

    def _proposal(self, area: str, level: WarningLevel, features: dict[str, float], terminal: str) -> CapWarning:
        """The CAP message a rule proposes for `area` at `level` (identifier and time set when issued)."""
        shape = self.area_shape(area)
        village = self.villages.get(area)
        name = village.name if village else area
        geo = any(k.startswith("displacement") for k in features) or features.get("hazard") == 1.0
        texts = {lang: cap_texts(level, name, area, features, terminal, geo, lang) for lang in ("zh-CN", "en")}
        return issue("draft", self.sender, 0.0, level, area_desc=f"{name} ({area})",
                     shapes=(shape,) if shape else (), **texts[hub_language()], geocodes={"village": area},
                     category="Geo" if geo else "Met", english=texts["en"] if self.cap_english else {})  # fmt: skip

    def _draft_raise(self, area: str, level: WarningLevel, features: dict[str, float], terminal: str, ts: float,
                     evidence: dict[str, Any]) -> Draft:
        msg = self._proposal(area, level, features, terminal)
        if area in self._issued:
            msg = replace(msg, msg_type="Update")
        return self._add_draft(Draft(new_draft_id(), area, ISSUE, level, ts, msg, evidence), ts)

    def _draft_cancel(self, area: str, ts: float, evidence: dict[str, Any]) -> None:
        prev = self._issued.get(area)
        if prev is None:  # nothing went out: the pending proposal is void, there is nothing to withdraw
            for gone in self.drafts.supersede(area, ts):
                self.publish("draft", {"draft_id": gone, "area": area, "status": SUPERSEDED})
            return
        msg = cancel(prev, "draft", 0.0)
        self._add_draft(Draft(new_draft_id(), area, CANCEL, prev.level, ts, msg, evidence), ts)

    def _add_draft(self, draft: Draft, ts: float) -> Draft:
        for gone in self.drafts.add(draft):
            self.publish("draft", {"draft_id": gone, "area": draft.area, "status": SUPERSEDED})
        self.publish("draft", {"draft_id": draft.draft_id, "area": draft.area, "status": PENDING,
                               "action": draft.action, "level": int(draft.level), "colour": draft.level.colour})
        due = self.policy.due(draft)
        if due is not None and due <= ts:  # a policy of 0 minutes for this level: out at once
            self._decide_issue(draft, AUTO_ACTOR, DraftEdits(), ts)
        return draft

    def draft_report(self, report: VillageReport) -> Draft | None:
        """Report rule: an initial report from a village with no warning in force and none proposed drafts a
        yellow (III) warning for it, with the report as evidence; the commander sets the level."""
        village_id, event_id, hazard, ts = report.village_id, report.event_id, report.hazard, report.ts
        ind = report.indicators
        indicators = {k: getattr(ind, k) for k in ind.__struct_fields__ if getattr(ind, k)}
        officer = report.officer or ""
        if report.stage != "initial" or village_id not in self.villages or village_id in self._issued:
            return None
        if any(d.area == village_id for d in self.drafts.pending()):
            return None
        features = {"hazard": 1.0 if hazard in ("landslide", "debris_flow", "collapse") else 0.0}
        evidence = {"source": "report", "event_id": event_id, "hazard": hazard, "officer": officer,
                    "indicators": indicators, "ts": ts, "terminal": f"report:{event_id}"}  # fmt: skip
        return self._draft_raise(village_id, WarningLevel.YELLOW, features, f"report:{event_id}", ts, evidence)

    def declare_event(self, event_id: str, hazard: str, villages: list[str], actor: str, now: float,
                      name: str = "", started_at: float | None = None) -> DisasterEvent:  # fmt: skip
        """A commander declares an event (or adopts one a village's initial report named): the map's current one,
        with the report deadlines of its villages running from its start (`started_at`, default `now`).
        ReportError for an unknown village."""
        self.sync(force=True)  # another worker may have declared it
        unknown = sorted(set(villages) - set(self.villages))
        if unknown:
            raise ReportError("unknown_village", f"villages {unknown} are not registered", event_id)
        start = now if started_at is None else started_at
        event = self.book.open_event(event_id, hazard, start, villages, declared_by=actor, name=name)
        self.publish("event", {"event_id": event_id, "hazard": event.hazard, "declared_by": actor,
                               "villages": event.villages, "ts": event.started_at, "name": event.name})  # fmt: skip
        return event

    def close_event(self, event_id: str, actor: str, now: float, note: str = "") -> DisasterEvent:
        """A commander closes the event: no new initial reports, its deadlines stop (no more overdue)."""
        self.sync(force=True)  # another worker may have closed it
        event = self.book.close(event_id, now, actor, note)
        self.publish("event", {"event_id": event_id, "closed_at": now, "closed_by": actor})
        return event

    def stabilise_event(self, event_id: str, actor: str, now: float) -> DisasterEvent:
        """A commander marks the event stable: daily follow-ups end and the verified reports (核报) are due."""
        self.sync(force=True)
        event = self.book.stabilise(event_id, now, actor)
        self.publish("event", {"event_id": event_id, "stabilised_at": now, "stabilised_by": actor})
        return event

    def approve(self, draft_id: str, actor: str, edits: DraftEdits, now: float) -> tuple[Draft, CapWarning]:
        """Issue a pending draft (with the commander's edits) into the feed; DraftError when it cannot be."""
        draft = self.drafts.get(draft_id)
        if draft is None:
            raise DraftError(404, f"no draft {draft_id}")
        if draft.status != PENDING:
            raise DraftError(409, f"draft {draft_id} is {draft.status} already ({draft.decided_by})")
        self.sync(force=True)  # the area's message in force may have gone out from another worker
        return self._decide_issue(draft, actor, edits, now)

    def reject(self, draft_id: str, actor: str, note: str, now: float) -> Draft:
        """Drop a pending draft: nothing goes out."""
        draft = self.drafts.get(draft_id)
        if draft is None:
            raise DraftError(404, f"no draft {draft_id}")
        if not self.drafts.decide(draft_id, REJECTED, actor, now, note=note):
            raise DraftError(409, f"draft {draft_id} was decided already")
        self.publish("draft", {"draft_id": draft_id, "area": draft.area, "status": REJECTED, "by": actor})
        return replace(draft, status=REJECTED, decided_by=actor, decided_at=now, note=note)

    def _decide_issue(self, draft: Draft, actor: str, edits: DraftEdits, now: float) -> tuple[Draft, CapWarning]:
        area, prev = draft.area, self._issued.get(draft.area)
        if draft.action == CANCEL:
            if prev is None:
                raise DraftError(409, f"no warning in force in {area} to cancel")
            w = cancel(prev, self._next_id(area, now), now, edits.description or "")
        else:
            body = draft.message
            if edits.level is not None and edits.level != draft.level:  # texts follow the new level unless edited
                features = {k: float(v) for k, v in draft.evidence.get("features", {}).items()}
                fresh = self._proposal(area, edits.level, features, str(draft.evidence.get("terminal", "")))
                body = replace(body, level=edits.level, headline=fresh.headline, description=fresh.description,
                               instruction=fresh.instruction, english=fresh.english)
            body = edits.apply(body)
            ident = self._next_id(area, now)
            kw = {k: getattr(body, k) for k in ("level", "event", "area_desc", "shapes", "category", "headline",
                                                 "description", "instruction", "geocodes", "english")}
            w = issue(ident, self.sender, now, **kw) if prev is None else update(prev, ident, now, **kw)
        if not self.drafts.decide(draft.draft_id, APPROVED, actor, now, w.identifier, edits.changed()):
            raise DraftError(409, f"draft {draft.draft_id} was decided already")
        self._put(area, w)
        if w.msg_type == "Cancel":
            self._issued.pop(area, None)
        elif w.shapes:
            self._evacuate(area, w.level, w, now)
        self.publish("draft", {"draft_id": draft.draft_id, "area": area, "status": APPROVED, "by": actor,
                               "identifier": w.identifier})  # fmt: skip
        done = replace(draft, status=APPROVED, decided_by=actor, decided_at=now, identifier=w.identifier,
                       edits=edits.changed())
        return done, w

    def advance_drafts(self, now: float) -> list[Draft]:
        """Issue the pending drafts whose level the policy issues after a wait that has passed (none by default)."""
        if not self.policy.after_s:
            return []
        issued = []
        self.sync(force=True)
        for draft in self.drafts.pending():
            due = self.policy.due(draft)
            if due is not None and due <= now:
                try:
                    issued.append(self._decide_issue(draft, AUTO_ACTOR, DraftEdits(), now)[0])
                except DraftError as exc:  # another worker took it, or nothing is left to cancel
                    logger.info("auto-issue of draft %s skipped: %s", draft.draft_id, exc)
        return issued

    def _put(self, area: str, w: CapWarning) -> None:
        if self.store is not None:
            self.store.save_message(ISSUED, area, w)  # before the feed shows it: a message out is a message kept
        self._known.add((ISSUED, w.identifier))
        self.alerts.put(w)
        if w.msg_type != "Cancel":
            self._issued[area] = w
        self.publish("cap", {"area": area, "identifier": w.identifier, "msg_type": w.msg_type,
                             "level": int(w.level), "colour": w.level.colour, "sent": w.sent})  # fmt: skip

    def _evacuate(self, area: str, level: WarningLevel, w: CapWarning, ts: float) -> None:
        """The people of the warning's area (issue 14: its shapes as approved, the commander's polygon if drawn)."""
        entries = residents_in_area(self.evacuees(), w.shapes, ts)
        tasks = self.tasks.create(w.source_key, entries, level, ts)
        self.publish("evacuation", self.evacuation_status(area) | {"created": len(tasks)})

    def evacuees(self) -> list[Resident]:
        """Residents with their latest GPS fix and vitals flag."""
        out = []
        for r in list(self.residents.values()):  # the registry's refresh may add residents from another thread
            gps, sick = self.gps.get(r.resident_id), r.resident_id in self.abnormal
            out.append(Resident(r.resident_id, r.village_id, r.home_lat, r.home_lon, r.lives_alone,
                                r.limited_mobility, sick, gps))  # fmt: skip
        return out

    def set_status(self, task_id: str, status: str, actor: str, note: str, ts: float) -> Task:
        """Issue 14: a person marks a task contacted / safe / moved / unreachable; who, when and the note go to the
        task's history first. KeyError for no such task, ValueError for an unknown status, TransitionError."""
        self.sync(force=True)  # another worker may have moved it
        task = self.tasks.tasks[task_id]
        to = STATUS_STATES[status]
        if to not in TRANSITIONS.get(task.state, set()):
            raise TransitionError(task, to)
        self.evac_log.record(StatusChange(task_id, ts, status, actor, note))
        task = self.tasks.move(task_id, to, ts, note)
        self.publish("evacuation", self.evacuation_status(task.village_id) | {"task": task.task_id,
                                                                             "status": status, "by": actor})
        return task

    def warning_in_force(self, area: str) -> CapWarning | None:
        """The newest CAP message issued for the area (its level is the warning's, whatever the gauges say now)."""
        return self._issued.get(area)

    def warning_key(self, area: str) -> str | None:
        """The id of the area's warning in force (its first CAP message), if any."""
        w = self._issued.get(area)
        return w.source_key if w else None

    def evacuation_status(self, area: str) -> dict[str, Any]:
        """Counts of the area's current tasks by state."""
        key = self.warning_key(area)
        tasks = [t for t in self.tasks.tasks.values() if key and t.warning_id == key]
        counts = {s: sum(1 for t in tasks if t.state == s) for s in STATES}
        return {"area": area, "warning_id": key, "tasks": len(tasks), **counts}

    def import_cap(self, xml: bytes, now: float) -> tuple[CapWarning, list[str]]:
        """Apply a CAP alert from outside (a weather service) to the villages it covers; ValueError if bad."""
        w = parse_alert(xml)
        if self.store is not None:
            self.store.save_message(RECEIVED, "", w)
        self._known.add((RECEIVED, w.identifier))
        self.received.put(w)
        key = f"cap:{w.sender}:{w.source_key}"
        areas = self.areas_covered(w)
        level = import_level(w)
        dets: list[Detection] = []
        changes = [(area, key, WarningLevel.NONE) for area in self._imported.get(key, set()) - set(areas)]
        changes += [(area, key, level) for area in areas]
        if self.store is not None:
            self.store.save_external(changes)
        for area, source, to in changes:
            dets += self.warnings.set_external(area, source, to, now)
        self._imported[key] = set(areas) if level else set()
        self.on_detections(dets)
        return w, areas

    def areas_covered(self, w: CapWarning) -> list[str]:
        """Villages whose centre lies in one of the alert's shapes, or that it names by id or name."""
        text = f"{w.area_desc} {' '.join(w.geocodes.values())}"
        return sorted(
            v.village_id
            for v in self.villages.values()
            if any(s.contains(v.lat, v.lon) for s in w.shapes) or v.village_id in text or v.name in text
        )

    def _known_areas(self) -> set[str]:
        return set(self.villages) | {s.village_id for s in self.sites.values()}

    def _take_messages(self, rows: list[tuple[int, str, str, CapWarning]], known: set[str],
                       skipped: set[str]) -> dict[str, WarningLevel]:
        """Take up CAP messages recorded in the database (by an earlier run or another worker) that this centre
        does not hold yet: the feeds and each area's message in force. Returns the areas' new levels."""
        levels: dict[str, WarningLevel] = {}
        for pos, origin, area, w in rows:
            self._seen_pos = max(self._seen_pos, pos)
            if (origin, w.identifier) in self._known:
                continue
            self._known.add((origin, w.identifier))
            if origin == RECEIVED:
                self.received.put(w)
                continue
            self._seq += 1  # one per message issued, as _next_id counts
            if area not in known:
                skipped.add(area)
                continue
            self.alerts.put(w)
            if w.msg_type == "Cancel":
                self._issued.pop(area, None)
            else:
                self._issued[area] = w
            levels[area] = WarningLevel.NONE if w.msg_type == "Cancel" else w.level
        return levels

    def sync(self, force: bool = False, every_s: float = SYNC_S) -> int:
        """Issue 14 (two workers, one picture): take up the CAP messages and evacuation tasks that other workers
        sharing the state database recorded since the last look, so `/cap/alerts.xml`, the warnings in force and
        the evacuation lists are the same on every worker. At most once per `every_s` unless forced (the feed is
        polled by sirens and other agencies). Returns how many messages were new."""
        if self.store is None:
            return 0
        now = monotonic()
        if not force and now - self._synced < every_s:
            return 0
        self._synced = now
        before = len(self._known)
        skipped: set[str] = set()
        fresh = [r for r in self.store.messages_since(self._seen_pos) if (r[1], r[3].identifier) not in self._known]
        self._take_messages(fresh, self._known_areas(), skipped)
        for w in (w for _pos, origin, area, w in fresh if origin == ISSUED and area not in skipped):
            self.publish("cap", {"area": w.geocodes.get("village", ""), "identifier": w.identifier,
                                 "msg_type": w.msg_type, "level": int(w.level), "colour": w.level.colour,
                                 "sent": w.sent})  # fmt: skip
        self._sync_reports()
        known = self._known_areas()
        for task in self.store.tasks_since(self._tasks_ts):
            if task.village_id in known:
                self.tasks.tasks[task.task_id] = task
            self._tasks_ts = max(self._tasks_ts, task.updated_at)
        return len(self._known) - before

    def _sync_reports(self) -> None:
        """Events and report versions another worker recorded (the map's reports are the same on every worker)."""
        if self.report_store is None:
            return
        for event in self.report_store.events():
            self.book.take_event(event)
        for seq, report in self.report_store.reports_since(self._report_seq):
            self._report_seq = max(self._report_seq, seq)
            if self.book.take_report(report):
                self.publish("report", {"village_id": report.village_id, "event_id": report.event_id,
                                        "stage": report.stage, "version": report.version, "ts": report.ts})

    def restore(self, store: CommandStore) -> None:
        """Take up what an earlier run saved into `store`, then save every change there (issue 7).

        Call it once the villages and sites are known. The feeds, each area's newest message (so its next change is
        an Update or a Cancel), its level, the gauges' levels and hysteresis state and the tasks come back; what
        belongs to areas or terminals no longer registered stays in the database but is not taken up (logged).
        """
        saved = store.load()
        known = self._known_areas()
        skipped: set[str] = set()
        levels = self._take_messages(store.messages_since(0), known, skipped)
        for area, sources in saved.external.items():
            if area in known:
                for key in sources:
                    self._imported.setdefault(key, set()).add(area)
            else:
                skipped.add(area)
        self.drafts = DraftStore(store.db)  # issue 14: the drafts every worker lists and decides
        self.report_store = ReportStore(store.db)
        self.report_store.load_into(self.book)  # issue 14: events and every report version, kept
        self._report_seq = self.report_store.max_seq()
        self.reporters = ReporterScopes(store.db)
        self.evac_log = EvacuationLog(store.db)
        self.station_store = StationStore(store.db)
        self.reload_stations()  # before the gauges' state: their trackers take up their own station's ladders
        for area, drafted in self.drafts.area_levels().items():  # the detector's level when it last drafted
            if area in known:
                levels[area] = drafted
        for area in set(levels) | (set(saved.external) & known):
            self.warnings.restore_area(area, levels.get(area, WarningLevel.NONE), saved.external.get(area, {}))
        gone = sorted(t for t in saved.gauges if t not in self.sites)
        for terminal_id, (level, snapshot) in saved.gauges.items():
            if terminal_id in self.sites:
                self.warnings.restore_terminal(terminal_id, snapshot)
                self.gauge_levels[terminal_id] = level
        tasks = [t for t in saved.tasks if t.village_id in known]
        skipped |= {t.village_id for t in saved.tasks} - known
        self.tasks.tasks.update({t.task_id: t for t in tasks})
        self._tasks_ts = max((t.updated_at for t in saved.tasks), default=0.0)
        self.store, self.tasks.on_change = store, store.save_tasks
        if skipped or gone:
            logger.warning("command state of areas %s and terminals %s no longer registered: not taken up",
                           sorted(skipped), gone[:20])  # fmt: skip
        active = {a: w.level.colour for a, w in self._issued.items()}
        logger.info("command centre restored: %d CAP messages, areas in warning %s, %d gauges, %d tasks",
                    self._seq, active, len(saved.gauges) - len(gone), len(tasks))  # fmt: skip

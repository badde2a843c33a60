"""Who to evacuate (issue 6): registered residents inside a warning area, most vulnerable first; tasks.

A resident is in the area if their home or their wearable's recent GPS fix lies inside it (they may be out,
or may go home). Order: abnormal last vitals, limited mobility, living alone (more flags first), then nearest
to the area's first point. Tasks: check_on (blue/yellow) or evacuate (orange/red), with states
open -> contacted -> confirmed_safe | relocated; relocated counts per village feed the disaster reports.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from alerts.disaster.cap import Circle, Polygon, Shape
from alerts.disaster.warnings import WarningLevel

GPS_FIX_MAX_AGE_S = 3600.0
STATES = ("open", "contacted", "confirmed_safe", "relocated", "unreachable")
TRANSITIONS = {
    "open": {"contacted", "confirmed_safe", "relocated", "unreachable"},
    "contacted": {"confirmed_safe", "relocated", "unreachable"},
    "unreachable": {"contacted", "confirmed_safe", "relocated", "unreachable"},  # tried again, later reached
    "confirmed_safe": {"relocated"},  # safe at home first, moved later when the warning rises
    "relocated": set(),
}
# issue 14: the words of the work list (联系上 / 已确认安全 / 已转移 / 联系不上) and the task states they set
STATUS_STATES = {"contacted": "contacted", "safe": "confirmed_safe", "moved": "relocated", "unreachable": "unreachable"}
STATE_STATUS = {"open": "open"} | {v: k for k, v in STATUS_STATES.items()}
# needs read from the registry's conditions text (what the simulated community and the CSV import write)
NEED_WORDS = {
    "dementia": ("认知障碍", "痴呆", "阿尔茨海默", "dementia", "alzheimer"),
    "oxygen": ("吸氧", "氧气", "慢阻肺", "copd", "oxygen"),
}


def needs_of(lives_alone: bool, limited_mobility: bool, conditions: str) -> list[str]:
    """What the team must bring or know: lives_alone, wheelchair (limited mobility), dementia, oxygen."""
    text = conditions.lower()
    out = ["lives_alone"] if lives_alone else []
    out += ["wheelchair"] if limited_mobility else []
    return out + [need for need, words in NEED_WORDS.items() if any(w in text for w in words)]


@dataclass(frozen=True, slots=True)
class Resident:
    """A registered elderly resident as the evacuation list needs them."""

    resident_id: str
    village_id: str
    home_lat: float
    home_lon: float
    lives_alone: bool = False
    limited_mobility: bool = False
    abnormal_vitals: bool = False
    gps: tuple[float, float, float] | None = None  # last wearable fix: lat, lon, ts


@dataclass(frozen=True, slots=True)
class ListEntry:
    """One resident on the evacuation list, with where they were found."""

    resident: Resident
    located_by: str  # "home", "gps" or "home+gps"
    lat: float
    lon: float
    flags: int  # number of vulnerability flags


def _anchor(area: Shape) -> tuple[float, float]:
    return (area.lat, area.lon) if isinstance(area, Circle) else area.points[0]


def residents_in_area(residents: list[Resident], area: Shape | tuple[Shape, ...], now: float) -> list[ListEntry]:
    """Residents inside the area (one shape, or the union of a warning's shapes: its polygons as drawn),
    prioritised (see the module docstring)."""
    shapes = area if isinstance(area, tuple) else (area,)
    if not shapes:
        return []
    entries = []
    for r in residents:
        fix = r.gps if r.gps and now - r.gps[2] <= GPS_FIX_MAX_AGE_S else None
        at_home = any(s.contains(r.home_lat, r.home_lon) for s in shapes)
        by_gps = fix is not None and any(s.contains(fix[0], fix[1]) for s in shapes)
        if not (at_home or by_gps):
            continue
        where = "home+gps" if at_home and by_gps else ("gps" if by_gps else "home")
        lat, lon = (fix[0], fix[1]) if fix else (r.home_lat, r.home_lon)
        flags = int(r.lives_alone) + int(r.limited_mobility) + int(r.abnormal_vitals)
        entries.append(ListEntry(r, where, lat, lon, flags))
    alat, alon = _anchor(shapes[0])

    def key(e: ListEntry) -> tuple[float, ...]:
        r = e.resident
        dist = (e.lat - alat) ** 2 + (e.lon - alon) ** 2
        return (-e.flags, -r.abnormal_vitals, -r.limited_mobility, -r.lives_alone, dist)

    return sorted(entries, key=lambda e: (key(e), e.resident.resident_id))


@dataclass(frozen=True, slots=True)
class Task:
    """A check-on or evacuation task for one resident under one warning."""

    task_id: str
    warning_id: str
    resident_id: str
    village_id: str
    kind: str  # "check_on" or "evacuate"
    state: str = "open"
    updated_at: float = 0.0
    note: str = ""


class TransitionError(ValueError):
    """A task state change that the workflow forbids."""

    def __init__(self, task: Task, to: str) -> None:
        super().__init__(f"task {task.task_id}: {task.state} -> {to} not allowed")
        self.task, self.to = task, to


@dataclass
class TaskBoard:
    """Tasks per (warning, resident); creating again under a higher level upgrades check_on to evacuate."""

    tasks: dict[str, Task] = field(default_factory=dict)
    on_change: Callable[[list[Task]], None] | None = None  # told of tasks created or changed (the store, issue 7)

    def create(self, warning_id: str, entries: list[ListEntry], level: WarningLevel, ts: float) -> list[Task]:
        """Tasks for a prioritised list, in its order (existing ones kept, upgraded if needed)."""
        kind = "evacuate" if level >= WarningLevel.ORANGE else "check_on"
        out, changed = [], []
        for e in entries:
            task_id = f"{warning_id}:{e.resident.resident_id}"
            task = self.tasks.get(task_id)
            if task is None:
                task = Task(task_id, warning_id, e.resident.resident_id, e.resident.village_id, kind, "open", ts)
            elif kind == "evacuate" and task.kind == "check_on" and task.state != "relocated":
                task = replace(task, kind=kind, state="open", updated_at=ts)  # safe at home is not enough now
            if self.tasks.get(task_id) != task:
                changed.append(task)
            self.tasks[task_id] = task
            out.append(task)
        if changed and self.on_change is not None:
            self.on_change(changed)
        return out

    def move(self, task_id: str, to: str, ts: float, note: str = "") -> Task:
        """Change a task's state (contacted, confirmed_safe, relocated)."""
        task = self.tasks[task_id]
        if to not in TRANSITIONS.get(task.state, set()):
            raise TransitionError(task, to)
        task = replace(task, state=to, updated_at=ts, note=note or task.note)
        if self.on_change is not None:
            self.on_change([task])
        self.tasks[task_id] = task
        return task

    def outstanding(self, warning_id: str) -> list[Task]:
        """Tasks not yet closed (open or contacted)."""
        return [t for t in self.tasks.values() if t.warning_id == warning_id and t.state in ("open", "contacted")]

    def confirmed_safe(self, warning_id: str) -> list[str]:
        """Residents confirmed safe or relocated under one warning."""
        done = ("confirmed_safe", "relocated")
        return [t.resident_id for t in self.tasks.values() if t.warning_id == warning_id and t.state in done]

    def relocated_by_village(self) -> dict[str, int]:
        """Residents relocated per village (for the `emergency_relocated` indicator), counted once each."""
        moved = {(t.village_id, t.resident_id) for t in self.tasks.values() if t.state == "relocated"}
        return dict(Counter(v for v, _ in moved))


__all__ = ["Circle", "ListEntry", "Polygon", "Resident", "Task", "TaskBoard", "residents_in_area"]

"""Labelled anomaly scenarios over a seeded community: every anomaly type injected, ground truth kept beside the data.

`Scenario(homes, days, seed)` plans the community's life, schedules `per_type` anomalies of every type (routine,
vitals, home safety, device health), one network outage (many devices silent together: the `infrastructure` type)
and one broker restart (the hub disconnects; no anomaly, so any alert it causes is false), and `stream()` yields
every record in time order: Reading, Availability and HubSignal. Labels are complete once the stream is exhausted.
"""

from __future__ import annotations

import csv
import heapq
import json
import random
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from devices.models import Availability, Reading
from devices.topology import Topology
from simulators.community_model import DAY_S, START_TS, DayPlanner, H, Resident, build_community
from simulators.community_render import HomeRenderer, Overlays

ROUTINE = ("inactivity", "no_wakeup", "bed_not_left", "bathroom_long", "night_exit")
TYPES = (
    *ROUTINE,
    "vital_limit",
    "vital_baseline",
    "smoke",
    "gas",
    "water_leak",
    "device_offline",
    "low_battery",
    "infrastructure",
)
FIRST_DAY = {"vital_baseline": 3}  # the own baseline needs a few days of history


@dataclass(frozen=True, slots=True)
class Label:
    """One injected anomaly: its type, the resident / home / device it is about, and when it began."""

    type: str
    subject: str
    start: float
    detail: str = ""


@dataclass(frozen=True, slots=True)
class HubSignal:
    """The hub lost (`connected=False`) or regained its broker connection at `ts`."""

    ts: float
    connected: bool


Item = Reading | Availability | HubSignal


class Scenario:
    """A seeded community with injected, labelled anomalies, an outage and a broker restart."""

    def __init__(self, homes: int = 100, days: int = 30, seed: int = 0, per_type: int | None = None) -> None:
        if days < 4:
            raise ValueError("a scenario needs at least 4 days")
        self.homes, self.days, self.seed = homes, days, seed
        self.residents, self.topology = build_community(homes, seed)
        self.per_type = per_type or max(5, round(homes * days / 150))
        self.stream_start = START_TS
        self.special_day = days // 2
        mid = START_TS + self.special_day * DAY_S
        self.outage = (mid + 11 * H, mid + 11 * H + 2400.0)
        self.restart = (mid + 15 * H, mid + 15 * H + 60.0)
        self._rng = random.Random(seed + 1)
        self._routine: dict[str, dict[int, tuple[str, float]]] = {r.home_id: {} for r in self.residents}
        self._overlays = {r.home_id: Overlays() for r in self.residents}
        self._occupied: set[tuple[int, str, int]] = set()
        self._labels: list[Label] = [Label("infrastructure", "infrastructure", self.outage[0], "network outage")]
        self._raw: list[tuple[str, str, float]] = []
        self._schedule()

    @property
    def labels(self) -> list[Label]:
        """Ground truth; complete after `stream()` has been exhausted (low-battery starts come from rendering)."""
        return sorted(self._labels + [Label(t, s, ts) for t, s, ts in self._raw], key=lambda lab: lab.start)

    def stream(self) -> Iterator[Item]:
        """Every record of the run, in time order."""
        gens: list[Iterator[Item]] = []
        for i, res in enumerate(self.residents):
            planner = DayPlanner(res, random.Random(self.seed * 100_003 + i), self._routine[res.home_id])
            segs, routine_labels = planner.plan_with_labels(self.days)
            self._labels.extend(Label(t, res.resident_id, ts) for t, ts in routine_labels)
            renderer = HomeRenderer(res, segs, self._overlays[res.home_id], self.seed * 7919 + i, self._raw)
            gens.append(renderer.days(self.days))
        signals: list[Item] = [HubSignal(self.restart[0], False), HubSignal(self.restart[1], True)]
        yield from heapq.merge(*gens, iter(signals), key=lambda item: item.ts)

    def _slot(self, kind: str, lane: str, homes: list[int], span: tuple[int, ...] = (0,)) -> tuple[Resident, int]:
        """A free (home, day) for one anomaly in a lane (routine, body, home); adjacent days where it spans them."""
        for _ in range(5000):
            h, d = self._rng.choice(homes), self._rng.randint(FIRST_DAY.get(kind, 1), self.days - 2)
            need = [(h, lane, d + s) for s in span]
            if self.special_day in [d + s for s in span] or any(n in self._occupied for n in need):
                continue
            self._occupied.update(need)
            return self.residents[h], d
        raise ValueError(f"no room for {self.per_type} anomalies of type {kind!r}; lower per_type or add homes")

    def _schedule(self) -> None:
        everyone = list(range(self.homes))
        with_bed = [i for i in everyone if self.residents[i].has_bed]
        without_bed = [i for i in everyone if not self.residents[i].has_bed] or everyone
        for kind in TYPES[:-1]:
            for _ in range(self.per_type):
                if kind in ROUTINE:
                    homes = {"no_wakeup": without_bed, "bed_not_left": with_bed}.get(kind, everyone)
                    span = {"night_exit": (0, 1), "no_wakeup": (-1, 0), "bed_not_left": (-1, 0)}.get(kind, (0,))
                    res, d = self._slot(kind, "routine", homes, span)
                    self._routine[res.home_id][d] = (kind, 0.0)
                else:
                    self._inject(kind, everyone)
        self._network_events()

    def _inject(self, kind: str, homes: list[int]) -> None:
        """Schedule one non-routine anomaly and record its label (low battery: labelled while rendering)."""
        rng = self._rng
        wearable = rng.random() < 0.5 if kind in ("device_offline", "low_battery") else False
        lane = "body" if kind.startswith("vital") or wearable else "home"
        res, d = self._slot(kind, lane, homes)
        ov, mid = self._overlays[res.home_id], START_TS + d * DAY_S
        t0 = mid + rng.uniform(9, 19) * H
        if kind.startswith("vital"):
            limit = kind == "vital_limit"
            mode = rng.choice(("spo2_low", "hr_high", "hr_low", "temp_high") if limit else ("base_hr", "base_spo2"))
            dur = rng.uniform(2, 4) * H if mode == "temp_high" else rng.uniform(20, 60 if limit else 120) * 60
            ov.vitals.append((t0, t0 + dur, mode))
            self._labels.append(Label(kind, res.resident_id, t0, mode))
        elif kind in ("smoke", "gas", "water_leak"):
            span = {"smoke": (300, 1200), "gas": (1800, 7200), "water_leak": (3600, 14_400)}[kind]
            stuck = rng.random() < 0.25
            length = rng.uniform(8, 30) * H if stuck else rng.uniform(*span)
            ov.hazards.setdefault(kind, []).append((t0, t0 + length))
            self._labels.append(Label(kind, res.home_id, t0, "stuck sensor" if stuck else ""))
        elif kind == "device_offline":
            role = "wearable" if wearable else rng.choice(("door", "smoke", "gas", "water_leak"))
            dur = rng.uniform(1, 3) * H if wearable else rng.uniform(8, 12) * H
            will = rng.random() < 0.5
            ov.silences.append((res.devices[role], t0, t0 + dur, will))
            self._labels.append(Label(kind, res.devices[role], t0, "last will" if will else "silent"))
        elif wearable:
            ov.forget_charge_days.add(d)
        else:
            free = [r for r in res.devices if r != "wearable" and r not in ov.low_battery]
            ov.low_battery[rng.choice(free)] = mid + rng.uniform(6, 18) * H

    def _network_events(self) -> None:
        """A network outage silencing a third of the homes (last wills fire), and a broker restart for all."""
        rng = self._rng
        cut = rng.sample(self.residents, max(3, round(0.3 * self.homes)))
        for res in cut:
            for device_id in res.devices.values():
                self._overlays[res.home_id].silences.append((device_id, *self.outage, True))
        for res in self.residents:
            for device_id in res.devices.values():
                back = self.restart[1] + rng.uniform(0, 120)
                self._overlays[res.home_id].silences.append((device_id, self.restart[0], back, False))


def write_ground_truth(labels: list[Label], folder: str | Path) -> list[Path]:
    """Write the labels as `ground_truth.csv` and `ground_truth.json` in a folder (created if needed)."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    rows = [asdict(label) for label in labels]
    with (out / "ground_truth.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["type", "subject", "start", "detail"])
        writer.writeheader()
        writer.writerows(rows)
    (out / "ground_truth.json").write_text(json.dumps(rows, indent=1))
    return [out / "ground_truth.csv", out / "ground_truth.json"]


__all__ = ["TYPES", "HubSignal", "Label", "Scenario", "Topology", "write_ground_truth"]

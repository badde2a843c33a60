"""The detectors of the hub, registered by name: adding a detector is one module and one `register` line."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from alerts.care.device_health import DeviceHealthDetector, DeviceHealthSettings
from alerts.care.geofence import GeofenceSettings
from alerts.care.home_safety import HomeSafetyDetector, HomeSafetySettings
from alerts.care.routine import RhythmKeeper, RoutineDetector, RoutineSettings
from alerts.care.vitals import VitalsDetector, VitalsSettings
from alerts.detector import DetectorCatalog
from devices.topology import Topology


@dataclass
class DetectorSettings:
    """Settings of every detector in the catalog: `Settings.detectors`, so each field can be set from the
    environment, e.g. `HUB_DETECTORS__VITALS__REFRACTORY_S=900` or `HUB_DETECTORS__ROUTINE__UTC_OFFSET_S=28800`
    (dict fields such as limits take JSON). Defaults are the values the detectors were validated with."""

    vitals: VitalsSettings = field(default_factory=VitalsSettings)
    routine: RoutineSettings = field(default_factory=RoutineSettings)
    home_safety: HomeSafetySettings = field(default_factory=HomeSafetySettings)
    device_health: DeviceHealthSettings = field(default_factory=DeviceHealthSettings)
    geofence: GeofenceSettings = field(default_factory=GeofenceSettings)


def build_catalog(topology: Topology, settings: DetectorSettings | None = None,
                  rhythm_keeper: RhythmKeeper | None = None,
                  owns: Callable[[str], bool] | None = None) -> DetectorCatalog:
    """Register the eldercare detectors over one topology (`rhythm_keeper`: where the routine detector keeps each
    home's learned rhythm across restarts, the state database in the hub; `owns`: the devices a scaled-out worker
    answers for, None = all)."""
    s = settings or DetectorSettings()
    catalog = DetectorCatalog()
    # --- fall detector (alerts/falls/detector.py, owned by the fall-detection engineer) registers here, e.g.:
    # catalog.register("fall", lambda: FallDetector(...))
    catalog.register("vitals", lambda: VitalsDetector(topology, s.vitals))
    catalog.register("routine", lambda: RoutineDetector(topology, s.routine, rhythm_keeper))
    catalog.register("home_safety", lambda: HomeSafetyDetector(topology, s.home_safety))
    catalog.register("device_health", lambda: DeviceHealthDetector(topology, s.device_health, owns))
    return catalog

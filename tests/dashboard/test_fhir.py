"""FHIR R4 export of vitals: a searchset Bundle of LOINC/UCUM Observations, validated with fhir.resources."""

from __future__ import annotations

from pathlib import Path

import pytest
from fhir.resources.R4B.bundle import Bundle
from hub_api import hub_api

from dashboard.fhir_api import date_range
from devices.models import Family, Reading
from devices.records import DeviceRecord, Home, Resident

T0 = 1_735_689_600.0  # 2025-01-01T00:00:00Z


@pytest.fixture
def api(tmp_path: Path):
    with hub_api(tmp_path) as (hub, client):
        hub.registry.add_home(Home("H1", "1 Road", 28.2, 112.9))
        hub.registry.add_resident(Resident("R1", "Resident One", "H1"))
        hub.registry.add_device(DeviceRecord("W1", "wearable", "wearable", resident_id="R1", worn_at="wrist"))
        hub.store.write(
            [
                Reading(
                    "W1",
                    Family.WEARABLE,
                    T0 + 60,
                    1,
                    {
                        "heart_rate": 72.0,
                        "spo2": 97.0,
                        "skin_temp": 33.1,
                        "systolic": 128.0,
                        "diastolic": 82.0,
                        "battery": 90.0,
                    },
                ),
                Reading("W1", Family.WEARABLE, T0 + 120, 2, {"heart_rate": 75.0, "steps": 10.0}),
                Reading("W1", Family.WEARABLE, T0 + 7200, 3, {"heart_rate": 80.0}),  # outside the range asked for
            ]
        )
        yield client


def test_observation_search_returns_a_valid_searchset_bundle(api) -> None:
    response = api.get(
        "/fhir/Observation", subject="Patient/R1", date=["ge2025-01-01T00:00:00Z", "lt2025-01-01T01:00:00Z"]
    )
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/fhir+json")
    bundle = Bundle.model_validate(response.json())
    assert bundle.type == "searchset" and bundle.total == 5
    resources = [e.resource for e in bundle.entry]
    codes = [(o.code.coding[0].code, o.valueQuantity.code if o.valueQuantity else None) for o in resources]
    assert codes == [("8867-4", "/min"), ("59408-5", "%"), ("39106-0", "Cel"), ("85354-9", None), ("8867-4", "/min")]
    bp = resources[3]
    parts = {c.code.coding[0].code: (c.valueQuantity.value, c.valueQuantity.code) for c in bp.component}
    assert parts == {"8480-6": (128.0, "mm[Hg]"), "8462-4": (82.0, "mm[Hg]")}
    first = resources[0]
    assert first.subject.reference == "Patient/R1" and first.device.reference == "Device/W1"
    assert first.category[0].coding[0].code == "vital-signs" and first.status == "final"
    assert first.valueQuantity.system == "http://unitsofmeasure.org" and first.valueQuantity.value == 72.0
    assert first.effectiveDateTime.isoformat().startswith("2025-01-01T00:01:00")
    assert all(e.fullUrl.endswith(f"/Observation/{e.resource.id}") for e in bundle.entry)


def test_unknown_patient_and_bad_dates(api) -> None:
    assert api.get("/fhir/Observation", subject="Patient/NOPE").status_code == 404
    assert api.get("/fhir/Observation", subject="Patient/R1", date="ge-yesterday").status_code == 400


def test_fhir_needs_a_session(tmp_path: Path) -> None:
    with hub_api(tmp_path, login=False) as (_hub, client):
        assert client.get("/fhir/Observation", subject="Patient/R1").status_code == 401


def test_date_prefixes() -> None:
    assert date_range(["ge2025-01-01", "le2025-01-01"]) == (T0, T0 + 86_400)
    assert date_range(["gt2025-01-01T00:00:00+08:00"]) == (T0 - 8 * 3600 + 0.001, float("inf"))

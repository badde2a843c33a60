"""FHIR R4 export of vitals (issue 9): GET /fhir/Observation?subject=Patient/<resident_id>&date=ge...&date=lt...

Each stored wearable reading becomes one Observation per vital sign, category vital-signs, LOINC-coded with UCUM
units, the wearable as `device`. Heart rate 8867-4 (/min), SpO2 59408-5 (%), blood pressure panel 85354-9 with
systolic 8480-6 and diastolic 8462-4 components (mm[Hg]). Temperature: the wearable measures skin temperature, a
few degrees below core temperature, so it is coded LOINC 39106-0 "Temperature of Skin", not 8310-5 "Body
temperature" (a clinician reading 8310-5 at 33 Cel would see hypothermia); 8310-5 is kept for a core reading.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse

from dashboard.deps import Ctx
from dashboard.place_scope import Scope
from ingest.store.base import StoredReading

router = APIRouter(prefix="/fhir", tags=["fhir"])
LOINC, UCUM = "http://loinc.org", "http://unitsofmeasure.org"
CATEGORY = [
    {
        "coding": [
            {
                "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                "code": "vital-signs",
                "display": "Vital Signs",
            }
        ]
    }
]
# metric -> (LOINC code, display, UCUM code, unit shown)
SIMPLE = {
    "heart_rate": ("8867-4", "Heart rate", "/min", "beats/minute"),
    "spo2": ("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry", "%", "%"),
    "skin_temp": ("39106-0", "Temperature of Skin", "Cel", "C"),
}
BP = ("85354-9", "Blood pressure panel with all children optional")
BP_PARTS = {"systolic": ("8480-6", "Systolic blood pressure"), "diastolic": ("8462-4", "Diastolic blood pressure")}
MAX_READINGS = 100_000
DAY_S = 86_400.0


def _code(code: str, display: str) -> dict[str, Any]:
    return {"coding": [{"system": LOINC, "code": code, "display": display}], "text": display}


def _quantity(value: float, ucum: str, unit: str) -> dict[str, Any]:
    return {"value": round(value, 2), "unit": unit, "system": UCUM, "code": ucum}


def observations(resident_id: str, r: StoredReading) -> list[dict[str, Any]]:
    """The Observations of one stored reading (none when it carries no vital sign)."""
    when = datetime.fromtimestamp(r.ts, UTC).isoformat(timespec="milliseconds")
    base = {
        "resourceType": "Observation",
        "status": "final",
        "category": CATEGORY,
        "subject": {"reference": f"Patient/{resident_id}"},
        "effectiveDateTime": when,
        "device": {"reference": f"Device/{r.device_id}", "display": r.device_id},
    }
    out = []
    for metric, (code, display, ucum, unit) in SIMPLE.items():
        if metric in r.values:
            out.append(
                {
                    **base,
                    "id": _id(r, code),
                    "code": _code(code, display),
                    "valueQuantity": _quantity(r.values[metric], ucum, unit),
                }
            )
    if all(m in r.values for m in BP_PARTS):
        parts = [
            {"code": _code(*BP_PARTS[m]), "valueQuantity": _quantity(r.values[m], "mm[Hg]", "mmHg")} for m in BP_PARTS
        ]
        out.append({**base, "id": _id(r, BP[0]), "code": _code(*BP), "component": parts})
    return out


def _id(r: StoredReading, code: str) -> str:
    """A stable logical id ([A-Za-z0-9-.]{1,64}) for a device's reading and code."""
    return hashlib.sha1(f"{r.device_id}|{r.seq}|{r.ts}|{code}".encode()).hexdigest()[:32]


def date_range(dates: list[str]) -> tuple[float, float]:
    """FHIR `date` search parameters (ge/gt/le/lt/eq + an ISO date or dateTime) -> [start, end) epoch s."""
    start, end = float("-inf"), float("inf")
    for raw in dates:
        prefix, value = (raw[:2], raw[2:]) if raw[:2] in ("ge", "gt", "le", "lt", "eq") else ("eq", raw)
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError as exc:
            raise HTTPException(status_code=400, detail=f"date {raw!r} is not an ISO 8601 date or dateTime") from exc
        ts = (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()
        span = DAY_S if len(value) == 10 else 0.001  # a bare date covers its whole day
        if prefix in ("ge", "gt", "eq"):
            start = max(start, ts + (span if prefix == "gt" else 0.0))
        if prefix in ("le", "lt", "eq"):
            end = min(end, ts + (0.0 if prefix == "lt" else span))
    return start, end


@router.get("/Observation")
def search(request: Request, ctx: Ctx, scope: Scope, subject: str,
           date: Annotated[list[str] | None, Query()] = None) -> JSONResponse:
    """A searchset Bundle of the resident's vital-sign Observations in the date range (default the last day)."""
    resident_id = subject.removeprefix("Patient/")
    if ctx.registry.resident(resident_id) is None or not scope.allows_resident(resident_id):
        raise HTTPException(status_code=404, detail=f"no Patient {resident_id!r}")
    start, end = date_range(date or [])
    if end == float("inf"):
        end = datetime.now(UTC).timestamp() + 60
    start = end - DAY_S if start == float("-inf") else start
    wearables = [d.device_id for d in ctx.registry.list_devices() if d.resident_id == resident_id]
    found = [
        o
        for device_id in wearables
        for r in ctx.store.range(device_id, start, end, MAX_READINGS)
        for o in observations(resident_id, r)
    ]
    found.sort(key=lambda o: o["effectiveDateTime"])
    base = str(request.base_url).rstrip("/") + "/fhir"
    bundle = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(found),
        "link": [{"relation": "self", "url": str(request.url)}],
        "entry": [
            {"fullUrl": f"{base}/Observation/{o['id']}", "resource": o, "search": {"mode": "match"}} for o in found
        ],
    }
    return JSONResponse(bundle, media_type="application/fhir+json")

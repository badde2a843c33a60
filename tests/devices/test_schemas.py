"""The stored metrics are the contract's scalar fields: one owner (devices/schemas.py), checked against the schemas."""

from __future__ import annotations

import typing

import msgspec

from devices import schemas

WINDOW_FIELDS = {"ts", "seq", "device_id", "acc_hz"}  # message bookkeeping and accelerometer-window parameters


def _scalar(tp: object) -> bool:
    """float, int or bool, possibly Annotated and optional."""
    args = typing.get_args(tp)
    if typing.get_origin(tp) is typing.Annotated:
        return _scalar(args[0])
    if args and type(None) in args:
        return all(_scalar(a) for a in args if a is not type(None))
    return tp in (float, int, bool)


def test_every_scalar_field_of_the_telemetry_schemas_is_stored_and_nothing_else() -> None:
    fields = []
    for struct in (schemas.WearableTelemetry, schemas.HomeSensorState, schemas.TerminalObservation):
        hints = typing.get_type_hints(struct, include_extras=True)
        names = [f.name for f in msgspec.structs.fields(struct) if f.name not in WINDOW_FIELDS]
        fields += [name for name in names if _scalar(hints[name])]
    assert set(schemas.STORED_METRICS) == set(fields) | {"acc_peak_g"}
    assert len(set(schemas.STORED_METRICS)) == len(schemas.STORED_METRICS)

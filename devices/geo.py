"""Distances on the Earth's surface (WGS-84 positions), shared by detectors, CAP areas and dispatch."""

from __future__ import annotations

import math

EARTH_RADIUS_KM = 6371.0088


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km."""
    p1, p2, dp, dl = map(math.radians, (lat1, lat2, lat2 - lat1, lon2 - lon1))
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


# GCJ-02, the datum Chinese maps and many Chinese-made devices and phones report in: WGS-84 shifted by a published
# non-linear formula (the "eviltransform" algorithm, the same in every implementation). There is no well-kept
# Python library for it, so it is written here, checked against the vectors every implementation tests with.
_GCJ_A = 6378245.0  # Krasovsky 1940 semi-major axis, m
_GCJ_EE = 0.00669342162296594323  # its eccentricity squared


def out_of_china(lat: float, lon: float) -> bool:
    """Outside the rough box where GCJ-02 applies (positions there are WGS-84 as they are)."""
    return not (72.004 <= lon <= 137.8347 and 0.8293 <= lat <= 55.8271)


def _gcj_delta(lat: float, lon: float) -> tuple[float, float]:
    x, y = lon - 105.0, lat - 35.0
    d_lat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    d_lon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    common = (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    d_lat += common + (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    d_lat += (160.0 * math.sin(y / 12.0 * math.pi) + 320.0 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    d_lon += common + (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    d_lon += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    rad = lat / 180.0 * math.pi
    magic = 1.0 - _GCJ_EE * math.sin(rad) ** 2
    sqrt_magic = math.sqrt(magic)
    d_lat = (d_lat * 180.0) / ((_GCJ_A * (1.0 - _GCJ_EE)) / (magic * sqrt_magic) * math.pi)
    d_lon = (d_lon * 180.0) / (_GCJ_A / sqrt_magic * math.cos(rad) * math.pi)
    return d_lat, d_lon


def wgs84_to_gcj02(lat: float, lon: float) -> tuple[float, float]:
    """A WGS-84 position as a Chinese map or device would report it."""
    if out_of_china(lat, lon):
        return lat, lon
    d_lat, d_lon = _gcj_delta(lat, lon)
    return lat + d_lat, lon + d_lon


def gcj02_to_wgs84(lat: float, lon: float, tol_deg: float = 1e-9) -> tuple[float, float]:
    """The WGS-84 position of a GCJ-02 one, by fixed-point iteration (to about 0.1 mm; 3 to 4 rounds)."""
    if out_of_china(lat, lon):
        return lat, lon
    w_lat, w_lon = lat, lon
    for _ in range(20):
        g_lat, g_lon = wgs84_to_gcj02(w_lat, w_lon)
        err_lat, err_lon = g_lat - lat, g_lon - lon
        if abs(err_lat) < tol_deg and abs(err_lon) < tol_deg:
            break
        w_lat, w_lon = w_lat - err_lat, w_lon - err_lon
    return w_lat, w_lon

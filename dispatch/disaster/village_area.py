"""A village's warning area as a polygon (issue 14, item 5: the area is the warning's polygon, not a fixed circle).

The area a rule proposes for a village is the land nearer to this village's centre than to any other registered
village's, out to `radius_km` at most: the village's cell of the Voronoi diagram of the village centres, cut by a
disc. Neighbouring villages' areas therefore touch without overlapping, so a person's home falls in one village's
warning, not in two at once; the commander may redraw the polygon before approving it. The cell is convex, so it is
traced by casting `sides` rays from the centre and stopping each at the nearest bisector (or at the radius).
Distances are taken on a local flat projection (km east / north of the centre), ample at village scale.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from alerts.disaster.cap import Polygon
from devices.records import Village

KM_PER_DEG_LAT = 110.574
KM_PER_DEG_LON = 111.320  # at the equator; times cos(latitude)
SIDES = 24


def village_area(village: Village, others: Iterable[Village], radius_km: float, sides: int = SIDES) -> Polygon:
    """The polygon of `village`'s area among `others` (the village itself may be among them; it is skipped)."""
    kx = KM_PER_DEG_LON * math.cos(math.radians(village.lat))
    near = []
    for o in others:
        dx, dy = (o.lon - village.lon) * kx, (o.lat - village.lat) * KM_PER_DEG_LAT
        if o.village_id != village.village_id and 0.0 < math.hypot(dx, dy) < 2.0 * radius_km:
            near.append((dx, dy, (dx * dx + dy * dy) / 2.0))  # the bisector: u . d = |d|^2 / 2
    ring = []
    for k in range(sides):
        a = 2.0 * math.pi * k / sides
        ux, uy = math.cos(a), math.sin(a)
        reach = radius_km
        for dx, dy, half in near:
            toward = ux * dx + uy * dy
            if toward > 0.0:
                reach = min(reach, half / toward)
        ring.append((round(village.lat + uy * reach / KM_PER_DEG_LAT, 6), round(village.lon + ux * reach / kx, 6)))
    return Polygon.of(ring)

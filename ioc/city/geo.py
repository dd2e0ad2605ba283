"""Small-scale geometry on [lat, lon] points: distances, points along polylines and schematic zones."""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import pairwise

LatLon = tuple[float, float]
EARTH_RADIUS_M = 6_371_000.0
GOLDEN_ANGLE = math.pi * (3 - math.sqrt(5))


def distance_m(a: LatLon, b: LatLon) -> float:
    """Great-circle distance (haversine)."""
    la1, lo1, la2, lo2 = map(math.radians, (*a, *b))
    h = math.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(h))


def length_m(path: Sequence[LatLon]) -> float:
    return sum(distance_m(a, b) for a, b in pairwise(path))


def offset(p: LatLon, north_m: float, east_m: float) -> LatLon:
    """The point `north_m` north and `east_m` east of p (flat-earth, fine at city scale)."""
    dlat = north_m / EARTH_RADIUS_M
    dlon = east_m / (EARTH_RADIUS_M * math.cos(math.radians(p[0])))
    return (p[0] + math.degrees(dlat), p[1] + math.degrees(dlon))


def along(path: Sequence[LatLon], dist_m: float) -> tuple[LatLon, float]:
    """The point `dist_m` along the polyline and the segment's bearing (radians from north)."""
    remaining = max(dist_m, 0.0)
    for a, b in pairwise(path):
        seg = distance_m(a, b)
        if remaining <= seg or b == path[-1]:
            f = min(remaining / seg, 1.0) if seg else 0.0
            return (a[0] + f * (b[0] - a[0]), a[1] + f * (b[1] - a[1])), bearing(a, b)
        remaining -= seg
    return path[-1], 0.0


def bearing(a: LatLon, b: LatLon) -> float:
    north = (b[0] - a[0]) * 111_320.0
    east = (b[1] - a[1]) * 111_320.0 * math.cos(math.radians(a[0]))
    return math.atan2(east, north)


def beside(p: LatLon, heading: float, side_m: float) -> LatLon:
    """A point `side_m` to the right of travel direction `heading` (negative: to the left)."""
    return offset(p, -side_m * math.sin(heading), side_m * math.cos(heading))


def spiral(centre: LatLon, n: int, radius_m: float) -> list[LatLon]:
    """n points evenly filling a disc (Vogel's sunflower spiral): deterministic, no randomness."""
    pts = []
    for k in range(n):
        r = radius_m * math.sqrt((k + 0.5) / max(n, 1))
        theta = k * GOLDEN_ANGLE
        pts.append(offset(centre, r * math.cos(theta), r * math.sin(theta)))
    return pts


def voronoi_cells(sites: Sequence[LatLon], box: tuple[LatLon, LatLon]) -> list[list[LatLon]]:
    """Each site's Voronoi cell clipped to the box: schematic zones when no survey boundary exists."""
    (s, w), (n, e) = box
    rect: list[LatLon] = [(s, w), (s, e), (n, e), (n, w)]
    cells = []
    for i, p in enumerate(sites):
        cell = rect
        for j, q in enumerate(sites):
            if i != j:
                cell = _clip_closer_to(cell, p, q)
        cells.append(cell)
    return cells


def _clip_closer_to(poly: list[LatLon], p: LatLon, q: LatLon) -> list[LatLon]:
    # Sutherland–Hodgman against the half-plane of points nearer p than q (lon scaled to metres).
    k = math.cos(math.radians(p[0]))

    def side(x: LatLon) -> float:
        return ((q[0] - p[0]) * (x[0] - (p[0] + q[0]) / 2)) + k * k * (q[1] - p[1]) * (
            x[1] - (p[1] + q[1]) / 2
        )

    out: list[LatLon] = []
    for a, b in zip(poly, poly[1:] + poly[:1], strict=True):
        sa, sb = side(a), side(b)
        if sa <= 0:
            out.append(a)
        if (sa < 0 < sb) or (sb < 0 < sa):
            t = sa / (sa - sb)
            out.append((a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])))
    return out

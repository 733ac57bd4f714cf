"""GEO_CONTAINED_WITHIN: is a geohash inside any of a leaf's locations?

A location (coop.signals.values.location_error) is a circle {lat, lng, radiusMiles}, a
rectangle {bounds: {northeast, southwest}} (west of its south-west corner being east of its
north-east corner means it crosses the antimeridian), or a geohash cell {geohash}. The input
geohash stands for the centre of its cell; a cell location contains it when the input lies in
that cell (its geohash starts with the cell's).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import pygeohash

EARTH_RADIUS_MILES = 3958.8


@dataclass(frozen=True, slots=True)
class Circle:
    location: dict
    lat: float
    lng: float
    radius_miles: float

    def contains(self, lat: float, lng: float, geohash: str) -> bool:
        return haversine_miles(self.lat, self.lng, lat, lng) <= self.radius_miles


@dataclass(frozen=True, slots=True)
class Rectangle:
    location: dict
    south: float
    west: float
    north: float
    east: float

    def contains(self, lat: float, lng: float, geohash: str) -> bool:
        if not self.south <= lat <= self.north:
            return False
        if self.west <= self.east:
            return self.west <= lng <= self.east
        return lng >= self.west or lng <= self.east  # crosses the antimeridian


@dataclass(frozen=True, slots=True)
class Cell:
    location: dict
    geohash: str

    def contains(self, lat: float, lng: float, geohash: str) -> bool:
        return geohash.startswith(self.geohash)


Area = Circle | Rectangle | Cell


def haversine_miles(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    half_dphi = (phi2 - phi1) / 2
    half_dlambda = math.radians(lng2 - lng1) / 2
    a = math.sin(half_dphi) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(half_dlambda) ** 2
    return 2 * EARTH_RADIUS_MILES * math.asin(min(1.0, math.sqrt(a)))


def compile_areas(locations: Iterable[object]) -> tuple[Area, ...]:
    """Parse locations once (per bank version or per leaf); invalid ones were refused on save."""
    areas: list[Area] = []
    for location in locations:
        if not isinstance(location, dict):
            raise ValueError(f"not a location: {location!r}")
        if "geohash" in location:
            areas.append(Cell(location, str(location["geohash"]).lower()))
        elif "bounds" in location:
            northeast, southwest = location["bounds"]["northeast"], location["bounds"]["southwest"]
            areas.append(
                Rectangle(
                    location, southwest["lat"], southwest["lng"], northeast["lat"], northeast["lng"]
                )
            )
        else:
            areas.append(
                Circle(location, location["lat"], location["lng"], location["radiusMiles"])
            )
    return tuple(areas)


def decode(geohash: str) -> tuple[float, float]:
    """The centre (lat, lng) of a geohash cell."""
    centre = pygeohash.decode_exactly(geohash)
    return centre.latitude, centre.longitude


def find_area(areas: Iterable[Area], geohash: str) -> Area | None:
    """The first area containing the geohash's cell centre."""
    geohash = geohash.lower()
    lat, lng = decode(geohash)
    for area in areas:
        if area.contains(lat, lng, geohash):
            return area
    return None

"""Shared locations as the report keeps them, and as officers read and open them.

A map pin or venue (`flows.messages.Place`) is kept as a small plain dict (the answer to
the location step, sealed with the other personal fields) or as a GeoJSON point (a shared
location kept with the evidence). Officers see the address text when the resident's app
sent one, the coordinates, and plain links their own device can open: a ``geo:`` URI (RFC
5870, phones open their map app) and an OpenStreetMap address. The server never calls a map
service: a link is only followed if an officer clicks it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from flows.messages import Place

GEOJSON_TYPE = "application/geo+json"
_MAX_TEXT = 300


def place_from(latitude: Any, longitude: Any, address: Any = "", label: Any = "") -> Place | None:
    """Return a Place from a provider's fields, or None if the coordinates are not real."""
    try:
        lat, lon = float(latitude), float(longitude)
    except (TypeError, ValueError):
        return None
    if not (math.isfinite(lat) and math.isfinite(lon)) or abs(lat) > 90 or abs(lon) > 180:
        return None
    return Place(round(lat, 6), round(lon, 6), _text(address), _text(label))


def as_answer(place: Place) -> dict[str, Any]:
    """Return the place as the location step's answer (a JSON-safe dict)."""
    return {"latitude": place.latitude, "longitude": place.longitude,
            "address": place.address, "label": place.label}


def is_place(value: Any) -> bool:
    """Return whether an answer is a shared place rather than typed text."""
    return isinstance(value, Mapping) and "latitude" in value and "longitude" in value


def describe(value: Any) -> str:
    """Return a place answer in words (name, address, coordinates); text is returned as is."""
    if not is_place(value):
        return "" if value is None else str(value)
    words = ", ".join(p for p in (value.get("label"), value.get("address")) if p)
    where = coordinates(value)
    return f"{words} ({where})" if words else where


def coordinates(value: Mapping[str, Any]) -> str:
    """Return "51.50735, -0.12776": latitude then longitude, as map apps take them."""
    return f"{float(value['latitude']):.5f}, {float(value['longitude']):.5f}"


def links(value: Any) -> list[tuple[str, str]]:
    """Return (name, URL) links an officer's own device can open for a place answer."""
    if not is_place(value):
        return []
    lat, lon = f"{float(value['latitude']):.6f}", f"{float(value['longitude']):.6f}"
    return [("geo", f"geo:{lat},{lon}"),
            ("OpenStreetMap",
             f"https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=18/{lat}/{lon}")]


def to_geojson(place: Place) -> bytes:
    """Return the place as a GeoJSON point feature, for keeping with the evidence."""
    feature = {"type": "Feature",
               "geometry": {"type": "Point", "coordinates": [place.longitude, place.latitude]},
               "properties": {"address": place.address, "label": place.label}}
    return json.dumps(feature, ensure_ascii=False).encode()


def from_geojson(data: bytes) -> dict[str, Any] | None:
    """Return the place answer stored as GeoJSON by `to_geojson`, or None if it is not one."""
    try:
        feature = json.loads(data)
        lon, lat = feature["geometry"]["coordinates"]
        props = feature.get("properties") or {}
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    place = place_from(lat, lon, props.get("address", ""), props.get("label", ""))
    return as_answer(place) if place else None


def _text(value: Any) -> str:
    return " ".join(str(value or "").split())[:_MAX_TEXT]

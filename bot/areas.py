"""The landlord's areas or estates, and which one a case belongs to (policy 13.3 "locally").

The organisation file lists them, each with the postcode districts it covers (checked by
bot/org.py):

    [[areas]]
    name = "Larkspur Court and Riverside"
    postcode_districts = ["E1", "E1W"]

A case gets its area from a postcode in the address the reporter gave; when there is none
(or it is outside every area), the officer picks one on the case page. Only the area's name
is stored on the case, never the postcode, so it can sit in a plain column for filtering.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

# A UK postcode: the outward code (the district, e.g. "E1", "SW1A", "M60") and the inward
# code ("1AA"). Both parts are needed to tell a postcode from other words in an address.
_POSTCODE = re.compile(r"\b([A-Z]{1,2}[0-9][A-Z0-9]?)\s*([0-9][A-Z]{2})\b")
DISTRICT = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]?$")
NAME_MAX = 60


@dataclass(frozen=True)
class Area:
    """One area or estate of the landlord and the postcode districts it covers."""

    name: str
    postcode_districts: tuple[str, ...]


def district_of(text: str | None) -> str | None:
    """Return the postcode district of the first UK postcode in `text`, if any."""
    if not text:
        return None
    match = _POSTCODE.search(text.upper())
    return match.group(1) if match else None


def area_for(areas: Sequence[Area], address: str | None) -> str | None:
    """Return the name of the area whose districts include the address's postcode."""
    district = district_of(address)
    if district is None:
        return None
    for area in areas:
        if district in area.postcode_districts:
            return area.name
    return None

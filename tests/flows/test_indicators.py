"""Plain signs of prejudice in the resident's own words."""

import pytest

from flows.indicators import find_indicators


@pytest.mark.parametrize(("text", "strands"), [
    ("He told me to go back to my own country", ["ethnic_origin"]),
    ("they shouted go back to your country", ["ethnic_origin"]),
    ("It's because I'm Muslim", ["religion"]),
    ("called us terrorists and pulled her hijab", ["religion"]),
    ("they keep calling my son gay", ["sexual_orientation"]),
    ("they laugh at my wheelchair", ["disability"]),
    ("abuse because I'm trans", ["gender"]),
    ("because she's old they take her parcels", ["age"]),
    ("Loud music from upstairs every night", []),
    ("", []),
    (None, []),
])
def test_indicators(text, strands):
    assert find_indicators(text) == strands

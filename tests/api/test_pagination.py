"""Cursor pagination of the case list, on SQLite and PostgreSQL: stable under inserts."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from bot.app import create_app
from bot.store import Position, create_api_token
from tests.api.support import draft, store_case

MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


@pytest.fixture
def api(any_services):
    app = create_app(services=any_services)
    with any_services.db.write() as session:
        token = create_api_token(session, "sync")
    client = app.test_client()

    def get(url: str) -> dict:
        response = client.get(url, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.json
        return response.json
    get.raw = lambda url: client.get(url, headers={"Authorization": f"Bearer {token}"})
    return get


def _all_pages(get, url: str) -> tuple[list[str], dict]:
    seen, page = [], get(url)
    seen += [c["reference"] for c in page["cases"]]
    while page["next"]:
        page = get(page["next"])
        seen += [c["reference"] for c in page["cases"]]
    return seen, page


def _mixed_cases(services) -> None:
    for i in range(7):
        store_case(services, MONDAY + timedelta(hours=5 * i), hate=i % 3 != 1)


def test_pages_follow_the_queue_order_exactly(api, any_services):
    _mixed_cases(any_services)
    whole = [c["reference"] for c in api("/api/v1/cases?limit=500")["cases"]]
    paged, last = _all_pages(api, "/api/v1/cases?limit=3")
    assert len(whole) == 7 and paged == whole
    assert last["next"] is None and last["cursor"]


def test_next_link_keeps_the_filters(api, any_services):
    _mixed_cases(any_services)
    first = api("/api/v1/cases?limit=2&strand=religion&order=received")
    query = parse_qs(urlsplit(first["next"]).query)
    assert query["strand"] == ["religion"] and query["order"] == ["received"]
    assert query["limit"] == ["2"] and query["cursor"] == [first["cursor"]]


def test_inserts_while_paging_never_repeat_or_skip_a_case(api, any_services):
    """Cases stored between two pages, before and after the position reached, shift
    nothing: every case that existed is listed once, in order."""
    _mixed_cases(any_services)
    before = [c["reference"] for c in api("/api/v1/cases?limit=500")["cases"]]
    first = api("/api/v1/cases?limit=3")
    # An urgent case that sorts first, and one that sorts last.
    store_case(any_services, MONDAY - timedelta(days=3), hate=True)
    store_case(any_services, MONDAY + timedelta(days=30), hate=False)
    rest, _ = _all_pages(api, first["next"])
    listed = [c["reference"] for c in first["cases"]] + rest
    assert len(listed) == len(set(listed))
    assert [r for r in listed if r in before] == before


def test_a_saved_cursor_picks_up_exactly_the_cases_stored_since(api, any_services):
    _mixed_cases(any_services)
    synced, last = _all_pages(api, "/api/v1/cases?order=received&limit=4")
    assert len(synced) == 7
    saved = last["cursor"]
    assert api(f"/api/v1/cases?order=received&cursor={saved}")["cases"] == []
    new = [store_case(any_services, MONDAY + timedelta(days=40 - i)) for i in range(3)]
    later = api(f"/api/v1/cases?order=received&limit=2&cursor={saved}")
    more, _ = _all_pages(api, later["next"])
    assert [c["reference"] for c in later["cases"]] + more == new


def test_bad_cursors_are_400(api, any_services):
    store_case(any_services, MONDAY)
    queue_cursor = api("/api/v1/cases?limit=1")["cursor"]
    for cursor in ("nonsense", "e30", Position("received", 1).encode() + "x!",
                   "eyJvIjoicXVldWUiLCJpIjoxLCJyIjoiMCIsImQiOm51bGx9"):
        response = api.raw(f"/api/v1/cases?cursor={cursor}")
        assert response.status_code == 400, cursor
        assert response.json["error"] == "bad_request"
    mixed = api.raw(f"/api/v1/cases?order=received&cursor={queue_cursor}")
    assert mixed.status_code == 400 and "cursor" in mixed.json["message"]


def test_positions_round_trip():
    deadline = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    for position in (Position("queue", 12, 0, deadline), Position("queue", 5, 1, None),
                     Position("received", 99)):
        assert Position.decode(position.encode()) == position


def test_case_ids_follow_commit_order(any_services):
    """A case stored while another submission is still uncommitted waits for it, so ids
    come in commit order and a reader paging by id never passes a later commit."""
    s = any_services
    first_stored, release = threading.Event(), threading.Event()
    ids: dict[str, int] = {}

    def slow_submission() -> None:
        with s.db.write() as session:
            case = s.store.create(session, draft(), channel="webchat", language="en",
                                  received_at=MONDAY)
            ids["slow"] = case.id
            first_stored.set()
            release.wait(10)

    def quick_submission() -> None:
        with s.db.write() as session:
            ids["quick"] = s.store.create(session, draft(), channel="webchat",
                                          language="en", received_at=MONDAY).id
            ids["quick_done"] = time.monotonic()

    slow = threading.Thread(target=slow_submission)
    slow.start()
    assert first_stored.wait(10)
    quick = threading.Thread(target=quick_submission)
    quick.start()
    quick.join(0.5)
    assert quick.is_alive(), "the second submission did not wait for the first"
    release.set()
    slow.join(10)
    quick.join(10)
    assert ids["quick"] > ids["slow"]


def test_received_order_lists_closed_cases_too_the_queue_does_not(api, any_services):
    first = store_case(any_services, MONDAY)
    second = store_case(any_services, MONDAY + timedelta(hours=1))
    with any_services.db.write() as session:
        case = any_services.store.get(session, first)
        case.status = "closed"
        case.refresh_next_deadline()
    queue = [c["reference"] for c in api("/api/v1/cases")["cases"]]
    received = [c["reference"] for c in api("/api/v1/cases?order=received")["cases"]]
    open_only = [c["reference"] for c in api("/api/v1/cases?order=received&status=new")[
        "cases"]]
    assert queue == [second] and received == [first, second] and open_only == [second]


def test_offset_after_a_cursor_skips_across_priorities(api, any_services):
    """The deprecated offset still works with a cursor, where the queue goes from high
    to medium priority and from cases with deadlines to those without."""
    _mixed_cases(any_services)
    with any_services.db.write() as session:  # two cases worked through: no deadline
        for case in any_services.store.queue(session, limit=2):
            case.first_contact_at = case.action_plan_at = MONDAY
            case.refresh_next_deadline()
    whole = [c["reference"] for c in api("/api/v1/cases?limit=500")["cases"]]
    assert _all_pages(api, "/api/v1/cases?limit=1")[0] == whole
    cursor = api("/api/v1/cases?limit=1")["cursor"]
    for offset in range(7):
        page = api(f"/api/v1/cases?limit=3&offset={offset}&cursor={cursor}")
        assert [c["reference"] for c in page["cases"]] == whole[1 + offset:4 + offset]

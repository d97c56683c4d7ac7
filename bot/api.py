"""The case API: cases as JSON for the landlord's other systems, with bearer tokens.

The query and answer shapes are the models of bot/api_schema.py, and the OpenAPI document
(`GET /api/openapi.json`) is generated from them.
"""

from __future__ import annotations

import hmac
from functools import wraps

from flask import Blueprint, current_app, g, jsonify, request, url_for
from pydantic import ValidationError

from bot.api_schema import (
    CaseDetail,
    CaseListQuery,
    CasePage,
    CaseSummary,
    ConsentOut,
    TimelineEntry,
    summary_fields,
)
from bot.errors import UnknownCase
from bot.models import utcnow
from bot.openapi import operation, problem
from bot.services import Services
from bot.store import Position, QueueFilter, check_api_token

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def _services() -> Services:
    return current_app.extensions["reportbot"]


def bearer_token() -> str:
    """Return the bearer token of the request, or an empty string."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if hmac.compare_digest(scheme.lower(), "bearer") else ""


def require_token(view):
    """Refuse the request with 401 unless it carries a live API token."""
    @wraps(view)
    def wrapped(*args, **kwargs):
        with _services().db.read() as session:
            record = check_api_token(session, bearer_token())
            g.api_client = record.name if record else None
        if record is None:
            return problem(401, "unauthorized", "A valid bearer token is required.",
                           {"WWW-Authenticate": 'Bearer realm="reportbot"'})
        return view(*args, **kwargs)
    return wrapped


def _query() -> CaseListQuery | str:
    """Return the list's query, or what is wrong with it."""
    try:
        return CaseListQuery.model_validate(request.args.to_dict())
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        name = ".".join(str(part) for part in error["loc"]) or "query"
        if error["type"] == "extra_forbidden":
            return f"{name!r}: unknown parameter"
        return f"{name}: {error['msg']}"


def _next_link(query: CaseListQuery, cursor: str) -> str:
    """Return the link to the page after `cursor`, with the same filters."""
    params = query.model_dump(exclude_defaults=True, exclude={"cursor", "offset"})
    params["cursor"] = cursor
    return url_for("api.list_cases", **{k: (int(v) if isinstance(v, bool) else v)
                                         for k, v in params.items()})


@bp.get("/cases")
@operation(tags=["cases"], query=CaseListQuery, ok={200: CasePage}, secured=True, errors={
    400: "A filter, `limit`, `offset` or `cursor` is not valid (the message names it).",
    401: "The bearer token is missing, unknown or revoked.",
})
@require_token
def list_cases():
    """List cases, a page at a time.

    By default the duty queue: open cases, high priority first, then the earliest running
    deadline. Follow `next` for the following page; pages continue after the last case
    seen, so cases stored meanwhile never make a case appear twice or be skipped. With
    `order=received`, keep the last page's `cursor` and ask again later for the cases
    stored since.
    """
    s = _services()
    query = _query()
    if isinstance(query, str):
        return problem(400, "bad_request", query)
    after = None
    if query.cursor:
        try:
            after = Position.decode(query.cursor)
        except ValueError:
            after = None
        if after is None or after.order != query.order:
            return problem(400, "bad_request", "cursor: not a cursor of this list's order")
    # The queue is the open work; the received order is the record of every case.
    flt = QueueFilter(status=query.status, strand=query.strand, assignee=query.assignee,
                      overdue=query.overdue, include_closed=query.order == "received")
    with s.db.read() as session:
        cases = s.store.queue(session, flt, limit=query.limit, offset=query.offset,
                              now=utcnow(), order=query.order, after=after)
        page = [CaseSummary.of(c, s.org.timezone) for c in cases]
        last = Position.of(cases[-1], query.order).encode() if cases else query.cursor
    more = len(cases) == query.limit
    body = CasePage(cases=page, limit=query.limit, offset=query.offset, cursor=last,
                    next=_next_link(query, last) if more and last else None)
    return jsonify(body.model_dump(mode="json"))


@bp.get("/cases/<reference>")
@operation(tags=["cases"], ok={200: CaseDetail}, secured=True, errors={
    401: "The bearer token is missing, unknown or revoked.",
    404: "No case has that reference.",
}, path={"reference": "The case reference, e.g. `K7QMX-9RDTV` (any case, with or "
                      "without the dash)."})
@require_token
def get_case(reference: str):
    """Get one case with its personal details, consents and timeline.

    The view is recorded on the case's timeline, naming the token.
    """
    s = _services()
    with s.db.write() as session:
        try:
            case = s.store.get(session, reference)
        except UnknownCase:
            return problem(404, "not_found", "No case has that reference.")
        body = CaseDetail(
            **summary_fields(case, s.org.timezone),
            answers=dict(case.answers or {}),
            details=s.store.details(case),
            consents=[ConsentOut.of(c) for c in case.consents],
            timeline=[TimelineEntry.of(e) for e in case.events],
        )
        s.store.record(session, case, "viewed", f"api:{g.api_client}", via="api")
        return jsonify(body.model_dump(mode="json"))

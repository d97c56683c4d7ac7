"""The case API: cases as JSON for the landlord's other systems, with scoped bearer tokens.

Scopes: `queue` lists cases (no personal details), `cases` reads one case with its personal
details, `cases:sensitive` adds those of sensitive cases. Every read is recorded in the
append-only audit log under the token's name. The query and answer shapes are the models of
bot/api_schema.py, and the OpenAPI document (`GET /api/openapi.json`) is generated from them.
"""

from __future__ import annotations

import hmac
from dataclasses import asdict, dataclass
from functools import wraps

from flask import Blueprint, current_app, g, jsonify, request, url_for
from pydantic import ValidationError
from sqlalchemy import update

from bot import audit, diary, thread
from bot.api_schema import (
    PERSONAL_FIELDS,
    CaseDetail,
    CaseListQuery,
    CasePage,
    CaseSummary,
    ConsentOut,
    DiaryOut,
    ThreadCounts,
    TimelineEntry,
    summary_fields,
)
from bot.errors import UnknownCase
from bot.intake import CONSENT_STEPS, open_details
from bot.models import ApiToken, utcnow
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


@dataclass(frozen=True)
class ApiClient:
    """The token behind this request: who it is for and what it may read."""

    id: int
    name: str
    scopes: frozenset[str]

    @property
    def actor(self) -> str:
        """Return how the audit log names this client."""
        return f"api:{self.name}"


def require_token(scope: str):
    """Refuse the request with 401 without a live API token, 403 without `scope`."""
    def decorate(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            with _services().db.read() as session:
                record = check_api_token(session, bearer_token())
                client = ApiClient(record.id, record.name, record.scope_set) \
                    if record else None
            if client is None:
                return problem(401, "unauthorized", "A valid bearer token is required.",
                               {"WWW-Authenticate": 'Bearer realm="reportbot"'})
            if scope not in client.scopes:
                return problem(403, "insufficient_scope",
                               f"This token lacks the scope {scope!r}.",
                               {"WWW-Authenticate": f'Bearer realm="reportbot", '
                                                    f'error="insufficient_scope", '
                                                    f'scope="{scope}"'})
            g.api_client = client
            return view(*args, **kwargs)
        return wrapped
    return decorate


def _used(session, client: ApiClient) -> None:
    session.execute(update(ApiToken).where(ApiToken.id == client.id)
                    .values(last_used_at=utcnow()))


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
    403: "The token lacks the `queue` scope.",
})
@require_token("queue")
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
    client: ApiClient = g.api_client
    with s.db.write() as session:
        cases = s.store.queue(session, flt, limit=query.limit, offset=query.offset,
                              now=utcnow(), order=query.order, after=after)
        page = [CaseSummary.of(c, s.org.timezone) for c in cases]
        last = Position.of(cases[-1], query.order).encode() if cases else query.cursor
        # One entry per read, naming every case it returned (references only).
        audit.record(session, client.actor, "api_queue_read", token_id=client.id,
                     references=[c.reference for c in cases])
        _used(session, client)
    more = len(cases) == query.limit
    body = CasePage(cases=page, limit=query.limit, offset=query.offset, cursor=last,
                    next=_next_link(query, last) if more and last else None)
    return jsonify(body.model_dump(mode="json"))


@bp.get("/cases/<reference>")
@operation(tags=["cases"], ok={200: CaseDetail}, secured=True, errors={
    401: "The bearer token is missing, unknown or revoked.",
    403: "The token lacks the `cases` scope.",
    404: "No case has that reference.",
}, path={"reference": "The case reference, e.g. `K7QMX-9RDTV` (any case, with or "
                      "without the dash)."})
@require_token("cases")
def get_case(reference: str):
    """Get one case with its personal details, consents and timeline.

    A sensitive case (policy 8.3) comes with its personal details only for a token with
    the `cases:sensitive` scope; otherwise it is the outline, marked `"restricted": true`.
    The read is recorded on the case's timeline and in the audit log, naming the token.
    """
    s = _services()
    client: ApiClient = g.api_client
    with s.db.write() as session:
        try:
            case = s.store.get(session, reference)
        except UnknownCase:
            return problem(404, "not_found", "No case has that reference.")
        full = not case.sensitive or "cases:sensitive" in client.scopes
        personal = {}
        if full:
            answers, details = dict(case.answers or {}), s.store.details(case)
            given = {c.recipient for c in case.consents}
            personal = {
                "answers": answers, "details": details,
                "consents": [ConsentOut.of(c) for c in case.consents],
                # Optional details offered after the acknowledgement and not answered
                # (yet); a consent not asked yet is listed, never reported as refused.
                "consents_not_asked": [r for r in CONSENT_STEPS.values() if r not in given],
                "details_pending": open_details(answers, details, case.answer_times),
                "answer_times": dict(case.answer_times or {}),
                "timeline": [TimelineEntry.of(e) for e in case.events],
            }
        counts = thread.counts(session, [case.id]).get(case.id)
        body = CaseDetail(**summary_fields(case, s.org.timezone), restricted=not full,
                          diary=[DiaryOut.of(e) for e in diary.entries(session, case)],
                          thread=ThreadCounts(**asdict(counts)) if counts else ThreadCounts(),
                          **personal)
        s.store.record(session, case, "viewed", client.actor, via="api", full=full)
        audit.record(session, client.actor, "api_case_viewed", case, token_id=client.id,
                     full=full)
        _used(session, client)
        # A restricted case leaves the personal fields out altogether.
        return jsonify(body.model_dump(mode="json",
                                       exclude=None if full else set(PERSONAL_FIELDS)))

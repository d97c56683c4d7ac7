"""The duty queue API: cases as JSON for authorised systems, with scoped bearer tokens.

Scopes: `queue` lists the queue (no personal details), `cases` reads one case with its
personal details, `cases:sensitive` adds those of sensitive cases. Every read is recorded in
the append-only audit log under the token's name.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from functools import wraps
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, g, jsonify, request
from sqlalchemy import update

from bot import audit
from bot.errors import UnknownCase
from bot.intake import CONSENT_STEPS, open_details
from bot.models import ApiToken, Case, utcnow
from bot.services import Services
from bot.store import QueueFilter, check_api_token
from flows.report import STRANDS

bp = Blueprint("api", __name__, url_prefix="/api/v1")

_STATUSES = {"new", "open", "closed"}


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
                response = jsonify({"error": "unauthorized",
                                    "message": "A valid bearer token is required."})
                response.headers["WWW-Authenticate"] = 'Bearer realm="reportbot"'
                return response, 401
            if scope not in client.scopes:
                response = jsonify({"error": "insufficient_scope",
                                    "message": f"This token lacks the scope {scope!r}."})
                response.headers["WWW-Authenticate"] = (
                    f'Bearer realm="reportbot", error="insufficient_scope", scope="{scope}"')
                return response, 403
            g.api_client = client
            return view(*args, **kwargs)
        return wrapped
    return decorate


def _used(session, client: ApiClient) -> None:
    session.execute(update(ApiToken).where(ApiToken.id == client.id)
                    .values(last_used_at=utcnow()))


def case_json(case: Case, timezone: str) -> dict:
    """Return the case's non-personal fields as JSON, instants with their local offset."""
    tz = ZoneInfo(timezone)

    def when(instant):
        return instant.astimezone(tz).isoformat() if instant else None

    return {
        "reference": case.reference,
        "status": case.status,
        "priority": case.priority,
        "hate_related": case.hate_related,
        "strands": list(case.strands or []),
        "perceived_by": list(case.perceived_by or []),
        "prejudice_indicators": list(case.prejudice_indicators or []),
        "reporter_role": case.reporter_role,
        "anonymous": case.anonymous,
        "channel": case.channel,
        "language": case.language,
        "received_at": when(case.received_at),
        "counts_from": when(case.counts_from),
        "out_of_hours": case.out_of_hours,
        "first_contact_due": when(case.first_contact_due),
        "action_plan_due": when(case.action_plan_due),
        "first_contact_at": when(case.first_contact_at),
        "action_plan_at": when(case.action_plan_at),
        "next_deadline": when(case.next_deadline),
        "deadline_rule": case.deadline_rule,
        "incident_types": list(case.incident_types or []),
        "location_type": case.location_type,
        "immediate_danger": case.immediate_danger,
        "repair_needed": case.repair_needed,
        "preserve_evidence": case.preserve_evidence,
        "assignee": case.assignee,
        "sensitive": case.sensitive,
        "area": case.area,
    }


def _filter() -> QueueFilter | str:
    args = request.args
    status = args.get("status") or None
    strand = args.get("strand") or None
    if status and status not in _STATUSES:
        return f"status must be one of {', '.join(sorted(_STATUSES))}"
    if strand and strand not in STRANDS:
        return f"strand must be one of {', '.join(STRANDS)}"
    return QueueFilter(status=status, strand=strand, assignee=args.get("assignee") or None,
                       overdue=args.get("overdue") in ("1", "true", "yes"))


def _int_arg(name: str, default: int, maximum: int) -> int | None:
    raw = request.args.get(name)
    if raw is None:
        return default
    return int(raw) if raw.isdigit() and int(raw) <= maximum else None


@bp.get("/cases")
@require_token("queue")
def list_cases():
    """Return the duty queue: high priority first, then earliest deadline; audited."""
    s = _services()
    client: ApiClient = g.api_client
    flt = _filter()
    limit, offset = _int_arg("limit", 50, 500), _int_arg("offset", 0, 10_000_000)
    if isinstance(flt, str) or limit is None or offset is None:
        message = flt if isinstance(flt, str) else "limit and offset must be small numbers"
        return jsonify({"error": "bad_request", "message": message}), 400
    with s.db.write() as session:
        cases = s.store.queue(session, flt, limit=limit, offset=offset, now=utcnow())
        # One entry per read, naming every case it returned (references only).
        audit.record(session, client.actor, "api_queue_read", token_id=client.id,
                     references=[c.reference for c in cases])
        _used(session, client)
        return jsonify({"cases": [case_json(c, s.org.timezone) for c in cases],
                        "limit": limit, "offset": offset})


@bp.get("/cases/<reference>")
@require_token("cases")
def get_case(reference: str):
    """Return one case with its personal details; the read is audited and on the timeline.

    A sensitive case (policy 8.3) comes with its personal details only for a token with the
    `cases:sensitive` scope; otherwise it is the outline, marked `"restricted": true`.
    """
    s = _services()
    client: ApiClient = g.api_client
    with s.db.write() as session:
        try:
            case = s.store.get(session, reference)
        except UnknownCase:
            return jsonify({"error": "not_found", "message": "No case has that reference."}), 404
        full = not case.sensitive or "cases:sensitive" in client.scopes
        body = case_json(case, s.org.timezone)
        body["restricted"] = not full
        if full:
            body["answers"] = dict(case.answers or {})
            body["details"] = s.store.details(case)
            body["consents"] = [
                {"recipient": c.recipient, "granted": c.granted,
                 "answered_at": c.answered_at.isoformat(),
                 "wording_version": c.wording_version}
                for c in case.consents
            ]
            # Optional details offered after the acknowledgement and not answered (yet); a
            # consent not asked yet is listed here, never reported as refused.
            given = {c.recipient for c in case.consents}
            body["consents_not_asked"] = [r for r in CONSENT_STEPS.values()
                                          if r not in given]
            body["details_pending"] = open_details(dict(case.answers or {}),
                                                   body["details"], case.answer_times)
            body["answer_times"] = dict(case.answer_times or {})
            body["timeline"] = [
                {"at": e.at.isoformat(), "kind": e.kind, "actor": e.actor, "detail": e.detail}
                for e in case.events
            ]
        s.store.record(session, case, "viewed", client.actor, via="api", full=full)
        audit.record(session, client.actor, "api_case_viewed", case, token_id=client.id,
                     full=full)
        _used(session, client)
        return jsonify(body)

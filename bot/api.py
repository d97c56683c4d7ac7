"""The duty queue API: cases as JSON for authorised systems, with bearer tokens."""

from __future__ import annotations

import hmac
from functools import wraps
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, g, jsonify, request

from bot.errors import UnknownCase
from bot.models import Case, utcnow
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


def require_token(view):
    """Refuse the request with 401 unless it carries a live API token."""
    @wraps(view)
    def wrapped(*args, **kwargs):
        with _services().db.read() as session:
            record = check_api_token(session, bearer_token())
            g.api_client = record.name if record else None
        if record is None:
            response = jsonify({"error": "unauthorized",
                                "message": "A valid bearer token is required."})
            response.headers["WWW-Authenticate"] = 'Bearer realm="reportbot"'
            return response, 401
        return view(*args, **kwargs)
    return wrapped


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
        "incident_types": list(case.incident_types or []),
        "location_type": case.location_type,
        "immediate_danger": case.immediate_danger,
        "repair_needed": case.repair_needed,
        "preserve_evidence": case.preserve_evidence,
        "assignee": case.assignee,
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
@require_token
def list_cases():
    """Return the duty queue: high priority first, then earliest deadline."""
    s = _services()
    flt = _filter()
    limit, offset = _int_arg("limit", 50, 500), _int_arg("offset", 0, 10_000_000)
    if isinstance(flt, str) or limit is None or offset is None:
        message = flt if isinstance(flt, str) else "limit and offset must be small numbers"
        return jsonify({"error": "bad_request", "message": message}), 400
    with s.db.read() as session:
        cases = s.store.queue(session, flt, limit=limit, offset=offset, now=utcnow())
        return jsonify({"cases": [case_json(c, s.org.timezone) for c in cases],
                        "limit": limit, "offset": offset})


@bp.get("/cases/<reference>")
@require_token
def get_case(reference: str):
    """Return one case with its personal details; the view is recorded on the case."""
    s = _services()
    with s.db.write() as session:
        try:
            case = s.store.get(session, reference)
        except UnknownCase:
            return jsonify({"error": "not_found", "message": "No case has that reference."}), 404
        body = case_json(case, s.org.timezone)
        body["answers"] = dict(case.answers or {})
        body["details"] = s.store.details(case)
        body["consents"] = [
            {"recipient": c.recipient, "granted": c.granted,
             "answered_at": c.answered_at.isoformat(), "wording_version": c.wording_version}
            for c in case.consents
        ]
        body["timeline"] = [
            {"at": e.at.isoformat(), "kind": e.kind, "actor": e.actor, "detail": e.detail}
            for e in case.events
        ]
        s.store.record(session, case, "viewed", f"api:{g.api_client}", via="api")
        return jsonify(body)

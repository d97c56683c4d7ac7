"""Metrics for operators at ``/metrics``, in the Prometheus text format, behind a token.

Two kinds of figure:

- **timings**, kept in each serving process: every request's duration by route, and every
  resident turn's duration by channel (a POST to a channel's routes). Under gunicorn the
  workers write them to files in one folder (prometheus-client's multiprocess mode), so a
  scrape that reaches any worker sees them all;
- **state**, read from the database at each scrape, so it is the same from every worker:
  outbox messages waiting and failed per kind, evidence files that could not be fetched,
  open cases past a deadline.

The route exists only when ``REPORTBOT_METRICS_TOKEN`` is set, and answers only a request
carrying ``Authorization: Bearer <token>``; without the setting it is a 404, so nothing is
public by default. No label ever holds a path, a phone number or any resident's words.
"""

from __future__ import annotations

import hmac
import os
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING

from flask import Flask, Response, abort, g, request
from prometheus_client import CollectorRegistry, Histogram, generate_latest, multiprocess, values
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlalchemy import func, select

from bot.models import Case, Evidence, OutboxMessage, utcnow

if TYPE_CHECKING:
    from bot.services import Services

_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def use_worker_files(folder: Path) -> None:
    """Keep timings in files under `folder` so every gunicorn worker's are scraped together.

    Call before the app is created and the workers fork; the folder is emptied first,
    since files of processes from an earlier run would be added to this run's figures.
    """
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, mode=0o700)
    os.environ[_DIR_VARIABLE] = str(folder)
    # prometheus-client chooses how values are kept when it is imported; choose again now
    # that the folder is known (the timings below are created per label, after this).
    values.ValueClass = values.get_value_class()


def worker_exited(pid: int) -> None:
    """Drop a finished worker's live gauges (gunicorn's child_exit hook)."""
    if os.environ.get(_DIR_VARIABLE):
        multiprocess.mark_process_dead(pid)


# Not registered anywhere at import: each scrape builds its own registry (below), so
# creating several apps in one process (tests) never registers a name twice.
REQUESTS = Histogram("reportbot_http_request_seconds", "Time to answer a request, by route.",
                     ["route", "method"], registry=None, buckets=_BUCKETS)
TURNS = Histogram("reportbot_turn_seconds",
                  "Time to answer a resident's message or opening, by channel "
                  "(the whole request).",
                  ["channel"], registry=None, buckets=_BUCKETS)


def install(app: Flask, services: Services, channel_blueprints: frozenset[str]) -> None:
    """Time every request and serve /metrics when a metrics token is configured."""
    token = services.settings.metrics_token
    if not token:
        return

    @app.before_request
    def _start_clock() -> None:
        g.metrics_started = time.perf_counter()

    @app.after_request
    def _observe(response: Response) -> Response:
        started = g.pop("metrics_started", None)
        if started is None or request.url_rule is None:
            return response
        took = time.perf_counter() - started
        REQUESTS.labels(request.url_rule.rule, request.method).observe(took)
        if request.method == "POST" and request.blueprint in channel_blueprints:
            TURNS.labels(request.blueprint).observe(took)
        return response

    @app.get("/metrics")
    def metrics() -> Response:
        given = request.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            abort(404)  # the same answer as when metrics are off: nothing to learn
        return Response(scrape(services), content_type=CONTENT_TYPE_LATEST)


def scrape(services: Services) -> bytes:
    """Return every figure in the Prometheus text format."""
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get(_DIR_VARIABLE):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_InProcess())
    registry.register(_DatabaseState(services))
    return generate_latest(registry)


class _InProcess:
    """This process's timings, when no worker folder is in use (one process)."""

    def collect(self):
        yield from REQUESTS.collect()
        yield from TURNS.collect()


class _DatabaseState:
    """Figures read from the database at each scrape."""

    def __init__(self, services: Services) -> None:
        self._services = services

    def collect(self):
        now = utcnow()
        with self._services.db.read() as session:
            outbox = session.execute(
                select(OutboxMessage.channel, OutboxMessage.status, func.count())
                .where(OutboxMessage.status != "sent")
                .group_by(OutboxMessage.channel, OutboxMessage.status)).all()
            evidence = session.execute(
                select(Evidence.channel, Evidence.status, func.count())
                .where(Evidence.status.in_(("failed", "rejected")))
                .group_by(Evidence.channel, Evidence.status)).all()
            overdue = session.scalar(
                select(func.count()).select_from(Case)
                .where(Case.status != "closed", Case.next_deadline < now))
        waiting = GaugeMetricFamily("reportbot_outbox_waiting",
                                    "Outbox messages not yet sent, by target kind.",
                                    labels=["kind"])
        failed = GaugeMetricFamily("reportbot_outbox_failed",
                                   "Outbox messages given up on, by target kind.",
                                   labels=["kind"])
        counts: dict[tuple[str, str], int] = {}
        for channel, status, count in outbox:
            family = "failed" if status == "failed" else "waiting"
            counts[(family, channel)] = counts.get((family, channel), 0) + count
        for (family, channel), count in sorted(counts.items()):
            (failed if family == "failed" else waiting).add_metric([channel], count)
        media = GaugeMetricFamily("reportbot_media_not_stored",
                                  "Evidence files that could not be fetched or were refused.",
                                  labels=["channel", "status"])
        for channel, status, count in evidence:
            media.add_metric([channel, status], count)
        cases = GaugeMetricFamily("reportbot_cases_overdue",
                                  "Open cases past their next deadline.", value=overdue or 0)
        yield from (waiting, failed, media, cases)

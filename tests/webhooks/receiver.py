"""A landlord's system receiving webhooks, on 127.0.0.1: it verifies every signature with
the `standardwebhooks` package (as the README's example does) and keeps what it accepted.

It can be down (nothing listening on its port until `start()`), refuse a number of
deliveries with a status, or accept. It stores an event once per `webhook-id`, as a real
receiver should, and counts every delivery so tests can see the retries.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tests.served import free_port


class Receiver:
    """A webhook receiver with a fixed port, started and stopped at will."""

    def __init__(self, secret: str, port: int | None = None) -> None:
        self.secret = secret
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/hooks/reportbot"
        self.deliveries: list[str] = []      # webhook-id of every delivery, retries included
        self.events: dict[str, dict] = {}   # stored once per webhook-id
        self.order: list[str] = []          # webhook-ids in the order first stored
        self.forged = 0
        self.refuse: list[tuple[int, dict[str, str]]] = []  # answers to give first
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> Receiver:
        """Start answering on the port."""
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                status, headers = receiver._take(body, dict(self.headers))
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", "0")
                self.end_headers()

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self._server = server
        return self

    def stop(self) -> None:
        """Stop answering: connections are refused again."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _take(self, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, str]]:
        try:
            event = Webhook(self.secret).verify(body, headers)
        except WebhookVerificationError:
            with self._lock:
                self.forged += 1
            return 401, {}
        message_id = {k.lower(): v for k, v in headers.items()}["webhook-id"]
        with self._lock:
            self.deliveries.append(message_id)
            if self.refuse:
                return self.refuse.pop(0)
            if message_id not in self.events:  # the idempotency key
                self.events[message_id] = event
                self.order.append(message_id)
        return 204, {}

    def stored(self) -> list[dict]:
        """Return the events stored, in the order they arrived."""
        with self._lock:
            return [self.events[i] for i in self.order]

    def by_case(self) -> dict[str, list[str]]:
        """Return each case's changes in the order they were stored."""
        cases: dict[str, list[str]] = {}
        for event in self.stored():
            cases.setdefault(event["data"]["reference"], []).append(event["data"]["change"])
        return cases


def as_json(event: dict) -> str:
    """Return an event as compact JSON, for assertions on what it must not carry."""
    return json.dumps(event, ensure_ascii=False)

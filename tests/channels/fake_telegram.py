"""A local fake of the Telegram Bot API, for the real python-telegram-bot client to talk to.

It speaks the wire protocol: ``POST /bot<token>/<method>`` with form-encoded or JSON
parameters (``reply_markup`` arrives as JSON text), answers ``{"ok": true, "result": ...}``
or ``{"ok": false, "error_code": ..., "description": ...}``, serves files at
``/file/bot<token>/<path>``, records every call, and can be told to fail the next calls of a
method with 429 (flood control) or 403 (blocked by the user). `delay` seconds are spent
before each method call is answered, as the real Bot API's round trip would (benchmarks use
0 and 0.15).
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, unquote

BOT_USER = {"id": 7000000001, "is_bot": True, "first_name": "Riverside Reports",
            "username": "riverside_reports_test_bot", "can_join_groups": False,
            "can_read_all_group_messages": False, "supports_inline_queries": False}


class _Refused(Exception):
    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


class FakeBotApi:
    """A threaded HTTP server on 127.0.0.1 imitating the Bot API for one bot token."""

    def __init__(self, token: str, delay: float = 0.0) -> None:
        self.token = token
        self.delay = delay
        self.calls: list[tuple[str, dict]] = []
        self.files: dict[str, tuple[str, bytes]] = {}
        self.updates: list[dict] = []
        self.webhook: dict = {}
        self.failures: dict[str, list[tuple[int, str, dict]]] = {}
        self.lock = threading.Lock()
        self._ids = itertools.count(1001)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # ---- control -------------------------------------------------------------------

    def start(self) -> FakeBotApi:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def fail_next(self, method: str, kind: str, times: int = 1, retry_after: int = 3,
                  after: int = 0) -> None:
        """Let `after` calls of `method` succeed, then fail `times`: "429" or "blocked"."""
        if kind == "429":
            failure = (429, f"Too Many Requests: retry after {retry_after}",
                       {"retry_after": retry_after})
        else:
            failure = (403, "Forbidden: bot was blocked by the user", {})
        with self.lock:
            self.failures.setdefault(method, []).extend([None] * after + [failure] * times)

    def add_file(self, file_id: str, data: bytes, path: str = "photos/file_0.jpg") -> None:
        self.files[file_id] = (path, data)

    def calls_of(self, method: str) -> list[dict]:
        with self.lock:
            return [params for name, params in self.calls if name == method]

    def sent_texts(self, chat_id: int | str | None = None) -> list[str]:
        return [p["text"] for p in self.calls_of("sendMessage") if "_message_id" in p
                and (chat_id is None or str(p["chat_id"]) == str(chat_id))]

    # ---- the protocol ----------------------------------------------------------------

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output quiet
                pass

            def do_GET(self) -> None:
                prefix = f"/file/bot{fake.token}/"
                path = unquote(self.path)  # PTB percent-encodes the file URL
                if not path.startswith(prefix):
                    return self._reply(404, {"ok": False, "error_code": 404,
                                             "description": "Not Found"})
                wanted = path[len(prefix):]
                for path, data in fake.files.values():
                    if path == wanted:
                        with fake.lock:
                            fake.calls.append(("download", {"path": path}))
                        self.send_response(200)
                        self.send_header("Content-Type", "application/octet-stream")
                        self.send_header("Content-Length", str(len(data)))
                        self.end_headers()
                        self.wfile.write(data)
                        return None
                return self._reply(404, {"ok": False, "error_code": 404,
                                         "description": "Not Found"})

            def do_POST(self) -> None:
                prefix = f"/bot{fake.token}/"
                if not self.path.startswith(prefix):
                    return self._reply(401, {"ok": False, "error_code": 401,
                                             "description": "Unauthorized"})
                method = self.path[len(prefix):]
                params = self._params()
                if fake.delay:
                    time.sleep(fake.delay)
                with fake.lock:
                    fake.calls.append((method, params))
                    queue = fake.failures.get(method) or []
                    failure = queue.pop(0) if queue else None
                if failure is not None:
                    code, description, extra = failure
                    body = {"ok": False, "error_code": code, "description": description}
                    if extra:
                        body["parameters"] = extra
                    return self._reply(code, body)
                try:
                    result = fake._result(method, params)
                except _Refused as exc:
                    return self._reply(exc.code, {"ok": False, "error_code": exc.code,
                                                  "description": exc.description})
                if result is None:
                    return self._reply(404, {"ok": False, "error_code": 404,
                                             "description": "Not Found: method not found"})
                return self._reply(200, {"ok": True, "result": result})

            def _params(self) -> dict:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                kind = self.headers.get("Content-Type", "")
                if kind.startswith("application/json"):
                    return json.loads(raw or b"{}")
                params = dict(parse_qsl(raw.decode(), keep_blank_values=True))
                for key in ("reply_markup", "allowed_updates"):
                    if key in params:
                        params[key] = json.loads(params[key])
                return params

            def _reply(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler

    def _result(self, method: str, params: dict):
        now = int(time.time())
        if method == "getMe":
            return BOT_USER
        if method in ("sendMessage", "editMessageReplyMarkup"):
            chat_id = int(params["chat_id"])
            message = {"message_id": int(params.get("message_id") or next(self._ids)),
                       "from": BOT_USER, "date": now,
                       "chat": {"id": chat_id, "first_name": "Sam", "type": "private"},
                       "text": params.get("text", "")}
            if params.get("reply_markup"):
                message["reply_markup"] = params["reply_markup"]
            params["_message_id"] = message["message_id"]
            return message
        if method in ("answerCallbackQuery", "deleteWebhook"):
            return True
        if method == "setWebhook":
            self.webhook = {"url": params["url"], "allowed_updates": params.get(
                "allowed_updates", []), "secret_token": params.get("secret_token")}
            return True
        if method == "getWebhookInfo":
            return {"url": self.webhook.get("url", ""), "has_custom_certificate": False,
                    "pending_update_count": 0,
                    "allowed_updates": self.webhook.get("allowed_updates", [])}
        if method == "getFile":
            file_id = params["file_id"]
            if file_id not in self.files:
                raise _Refused(400, "Bad Request: invalid file_id")
            path, data = self.files[file_id]
            return {"file_id": file_id, "file_unique_id": "u" + file_id[-8:],
                    "file_size": len(data), "file_path": path}
        if method == "getUpdates":
            return self._updates(params)
        return None

    def _updates(self, params: dict) -> list[dict]:
        offset = int(params.get("offset") or 0)
        deadline = time.monotonic() + min(float(params.get("timeout") or 0), 1.0)
        while True:
            with self.lock:
                due = [u for u in self.updates if u["update_id"] >= offset]
            if due or time.monotonic() >= deadline:
                return due
            time.sleep(0.05)

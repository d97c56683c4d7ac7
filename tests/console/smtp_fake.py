"""A tiny SMTP server on 127.0.0.1 that speaks enough of RFC 5321 for smtplib, and keeps mail."""

from __future__ import annotations

import email
import socketserver
import threading
from email.message import Message


class _Handler(socketserver.StreamRequestHandler):
    def reply(self, text: str) -> None:
        self.wfile.write(text.encode() + b"\r\n")

    def handle(self) -> None:
        server: FakeSMTP = self.server  # type: ignore[assignment]
        self.reply("220 fake.example ESMTP")
        envelope: dict = {"rcpt": []}
        lines: list[bytes] | None = None
        while True:
            line = self.rfile.readline()
            if not line:
                return
            if lines is not None:
                if line.rstrip(b"\r\n") == b".":
                    server.received.append((envelope, email.message_from_bytes(b"".join(lines))))
                    envelope, lines = {"rcpt": []}, None
                    self.reply("250 2.0.0 queued")
                else:
                    lines.append(line[1:] if line.startswith(b"..") else line)
                continue
            verb = line[:4].decode("ascii", "replace").upper()
            if verb == "EHLO":
                self.wfile.write(b"250-fake.example\r\n250 8BITMIME\r\n")
            elif verb == "MAIL":
                envelope["from"] = line.decode().strip()
                self.reply("250 2.1.0 ok")
            elif verb == "RCPT":
                if server.refuse_recipients:
                    self.reply("550 5.1.1 no such user")
                else:
                    envelope["rcpt"].append(line.decode().strip())
                    self.reply("250 2.1.5 ok")
            elif verb == "DATA":
                lines = []
                self.reply("354 go ahead")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            elif verb in ("RSET", "NOOP", "HELO"):
                self.reply("250 ok")
            else:
                self.reply("502 5.5.2 not implemented")


class FakeSMTP(socketserver.ThreadingTCPServer):
    """Collect every message delivered to it in `received`."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.received: list[tuple[dict, Message]] = []
        self.refuse_recipients = False
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        """Return the port it listens on."""
        return self.server_address[1]

    def __enter__(self) -> FakeSMTP:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()
        self.server_close()
        self._thread.join(timeout=5)

"""Serving under gunicorn, with an access log that never records secrets in paths."""

from __future__ import annotations

import re
from collections.abc import Callable

from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger

# Web chat session tokens travel in the path; they are bearer secrets for a conversation.
_SECRET_PATHS = re.compile(r"(/api/chat/sessions/)[^/]+")


def redact_path(path: str) -> str:
    """Return `path` with conversation tokens replaced by an ellipsis."""
    return _SECRET_PATHS.sub(r"\1…", path)


class RedactingLogger(Logger):
    """Gunicorn's logger, with secrets removed from the path and no query strings."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        atoms["U"] = redact_path(atoms.get("U", ""))
        atoms["r"] = f"{environ.get('REQUEST_METHOD')} {atoms['U']}"
        atoms["q"] = ""
        return atoms


class Server(BaseApplication):
    """Run a ready-made WSGI app under gunicorn with our settings."""

    def __init__(self, app, bind: str, workers: int, threads: int = 1,
                 child_exit: Callable[[int], None] | None = None) -> None:
        self.app = app
        self.child_exit = child_exit
        self.bind = bind
        self.workers = workers
        self.threads = threads
        super().__init__()

    def load_config(self) -> None:
        self.cfg.set("bind", self.bind)
        self.cfg.set("workers", self.workers)
        # Threads overlap the waits on the database (a PostgreSQL commit waits for the
        # disk); all conversation state is in the database, so threads share nothing else.
        self.cfg.set("threads", self.threads)
        self.cfg.set("worker_class", "gthread" if self.threads > 1 else "sync")
        self.cfg.set("timeout", 30)
        self.cfg.set("accesslog", "-")
        self.cfg.set("logger_class", RedactingLogger)
        self.cfg.set("access_log_format", '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(L)ss')
        if self.child_exit is not None:
            hook = self.child_exit
            self.cfg.set("child_exit", lambda _server, worker: hook(worker.pid))

    def load(self):
        return self.app

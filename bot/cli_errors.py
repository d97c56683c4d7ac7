"""Turn configuration and connection errors into one line each, exit status 2.

Every `reportbot` command runs inside `ReportbotGroup.invoke`, so a bad setting, an
unreachable database or a refused Telegram token prints ``Error: <SETTING>: <what is
wrong>`` and exits with status 2, never a traceback; ``--debug`` (or REPORTBOT_DEBUG=1)
shows the traceback instead. Nothing printed here carries a password or token.
"""

from __future__ import annotations

import os
import re

import click
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

from bot.errors import ConfigError, ConnectionProblem

EXIT_CONFIG = 2

# What drivers say, and the words we say it in: (pattern in the driver's message, ours).
_REASONS = (
    (re.compile(r"connection refused", re.I), "connection refused"),
    (re.compile(r"timeout expired|timed out", re.I), "timed out"),
    (re.compile(r"could not translate host name|name or service not known|"
                r"nodename nor servname|temporary failure in name resolution", re.I),
     "unknown host"),
    (re.compile(r'password authentication failed for user "[^"]*"', re.I), None),
    (re.compile(r'(database|role) "[^"]*" does not exist', re.I), None),
    (re.compile(r"no password supplied", re.I), "no password supplied"),
    (re.compile(r"unable to open database file", re.I), "unable to open database file"),
    (re.compile(r"database is locked", re.I), "database is locked"),
    (re.compile(r"readonly database|read-only", re.I), "the database is read-only"),
    (re.compile(r"disk I/O error", re.I), "disk I/O error"),
)


class Problem(click.ClickException):
    """One or more lines for the operator, each naming a setting; exit status 2."""

    exit_code = EXIT_CONFIG

    def __init__(self, *lines: str) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines

    def show(self, file=None) -> None:
        """Print each problem on its own line, prefixed with "Error:"."""
        for line in self.lines:
            click.echo(f"Error: {line}", err=True, file=file)


def debugging(ctx: click.Context | None) -> bool:
    """Return whether tracebacks were asked for (--debug or REPORTBOT_DEBUG=1)."""
    if os.environ.get("REPORTBOT_DEBUG", "").strip().lower() in ("1", "true", "yes"):
        return True
    root = ctx.find_root() if ctx is not None else None
    return bool(root is not None and root.meta.get("reportbot.debug"))


class ReportbotGroup(click.Group):
    """A click group whose commands report configuration problems in one line each."""

    def invoke(self, ctx: click.Context):
        """Run the command; map known operator errors to `Problem`."""
        try:
            return super().invoke(ctx)
        except (ConfigError, ConnectionProblem, DBAPIError) as exc:
            if debugging(ctx):
                raise
            raise as_problem(exc, ctx.find_root().meta.get("reportbot.database_url")) \
                from None


def as_problem(exc: Exception, database_url: str | None) -> Problem:
    """Return the operator's view of `exc`."""
    if isinstance(exc, ConfigError):
        return Problem(*exc.problems)
    if isinstance(exc, DBAPIError):
        return Problem(database_problem(database_url, exc))
    return Problem(str(exc))


def database_problem(url: str | None, exc: DBAPIError) -> str:
    """Describe a database error in one line naming REPORTBOT_DATABASE_URL."""
    reason = driver_reason(str(exc.orig) if exc.orig is not None else str(exc))
    where = "the database"
    try:
        parsed = make_url(url) if url else None
    except ArgumentError:
        parsed = None
    if parsed is not None and parsed.get_backend_name() == "sqlite":
        where = parsed.database or "the SQLite database"
        return f"REPORTBOT_DATABASE_URL: cannot open {where} ({reason})"
    if parsed is not None:
        where = f"{parsed.host or 'localhost'}:{parsed.port or 5432}"
    if exc.connection_invalidated or "connect" in str(exc).lower():
        return f"REPORTBOT_DATABASE_URL: cannot connect to {where} ({reason})"
    return f"REPORTBOT_DATABASE_URL: database error at {where} ({reason})"


def driver_reason(message: str) -> str:
    """Return the short reason in a driver's error message, without values or URLs."""
    for pattern, words in _REASONS:
        found = pattern.search(message)
        if found:
            return words or found.group(0)
    first = message.strip().splitlines()[0] if message.strip() else "unknown error"
    # psycopg: 'connection failed: connection to server at "h", port 1 failed: REASON'
    first = first.rsplit("failed:", 1)[-1].strip()
    return first[:120] or "unknown error"

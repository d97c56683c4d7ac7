"""The durable-turn floor: the least a conversation turn can do and still be durable.

Per request, with SQLAlchemy Core on the engine reportbot itself builds (`bot.db.make_engine`:
the same SQLite pragmas, WAL, pool and pre-ping), in one transaction: lock the conversation's
row (``SELECT ... FOR UPDATE`` on PostgreSQL; on SQLite ``BEGIN IMMEDIATE`` behind the same
kind of file lock `bot.db` queues writers with), insert the inbound message id into a table
where it is unique, update the conversation's state, commit. A reportbot turn does all of
this and more, so its rate over this one's says how much the rest costs.

    BENCH_FLOOR_DATABASE_URL=sqlite:////tmp/floor.sqlite python bench/serve_app.py \
        bench.floor_app:create_app --port 8000

`prepare(url, conversations)` creates the tables and rows before the server starts.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

from flask import Flask, jsonify, request
from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from bot.db import make_engine

metadata = MetaData()
conversations = Table(
    "floor_conversations", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("state", String(40), nullable=False),
    Column("turns", Integer, nullable=False),
)
messages = Table(
    "floor_messages", metadata,
    Column("id", String(64), primary_key=True),
    Column("conversation_id", Integer, nullable=False),
)


class _FileLock:
    """Queue SQLite writers across threads and processes, as `bot.db` does for reportbot."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._thread_lock = threading.Lock()
        self._fd: int | None = None
        self._pid = 0

    @contextmanager
    def hold(self) -> Iterator[None]:
        with self._thread_lock:
            if self._fd is None or self._pid != os.getpid():  # a forked worker opens its own
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
                self._pid = os.getpid()
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)


def prepare(url: str, count: int) -> None:
    """Create the floor's tables with `count` conversations (ids 1..count), all new."""
    engine = make_engine(url)
    try:
        metadata.drop_all(engine)
        metadata.create_all(engine)
        with engine.begin() as conn:
            conn.execute(insert(conversations),
                         [{"id": i, "state": "new", "turns": 0} for i in range(1, count + 1)])
    finally:
        engine.dispose()


def _insert(engine: Engine):
    return sqlite_insert if engine.dialect.name == "sqlite" else pg_insert


def _turn(engine: Engine, conversation: int, message_id: str) -> tuple[int, bool]:
    """Lock the conversation, record the message, move the state on; return turns, fresh."""
    with engine.begin() as conn:
        row = conn.execute(select(conversations.c.turns)
                           .where(conversations.c.id == conversation)
                           .with_for_update()).one_or_none()
        if row is None:
            return -1, False
        # ON CONFLICT DO NOTHING: a retry of a message already taken changes nothing, and
        # needs no savepoint (two more round trips) to find out.
        taken = conn.execute(_insert(engine)(messages)
                             .values(id=message_id, conversation_id=conversation)
                             .on_conflict_do_nothing())
        if taken.rowcount == 0:
            return row.turns, False
        turns = row.turns + 1
        conn.execute(update(conversations).where(conversations.c.id == conversation)
                     .values(state=f"step-{turns % 17}", turns=turns))
    return turns, True


def create_app(url: str | None = None) -> Flask:
    """Build the floor app on `url` (default: $BENCH_FLOOR_DATABASE_URL)."""
    url = url or os.environ["BENCH_FLOOR_DATABASE_URL"]
    engine = make_engine(url)
    lock = None
    if engine.dialect.name == "sqlite":
        engine = engine.execution_options(sqlite_begin="IMMEDIATE")
        lock = _FileLock(Path(engine.url.database + ".floor-lock"))
    engine.dispose()  # each worker opens its own connections after the fork
    app = Flask(__name__)

    @app.post("/turn/<int:conversation>")
    def turn(conversation: int):
        """Take one message for a conversation durably and answer with its turn count."""
        body = request.get_json(silent=True) or {}
        message_id = str(body.get("message_id", ""))[:64]
        if not message_id:
            return jsonify({"error": "message_id is required"}), 400
        with lock.hold() if lock else nullcontext():
            turns, fresh = _turn(engine, conversation, message_id)
        if turns < 0:
            return jsonify({"error": "no such conversation"}), 404
        return jsonify({"messages": [{"text": "ok"}], "turns": turns, "fresh": fresh})

    return app

"""The database: engine set-up for SQLite and PostgreSQL, sessions, and migrations.

SQLite is the embedded default: WAL mode, a busy timeout, and ``BEGIN IMMEDIATE`` for
read-then-write transactions so two workers never interleave one conversation. PostgreSQL
is the production engine; there row locks (``FOR UPDATE``) do the same job.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from bot.errors import ConfigError

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def make_engine(url: str, **kwargs) -> Engine:
    """Create an engine configured for this application's use of `url`."""
    # Error messages must never carry bound values (sealed data, keyed hashes) into logs.
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
            path = Path(url[len("sqlite:///"):])
            try:
                make_private(path)
            except OSError as exc:
                raise ConfigError(f"REPORTBOT_DATABASE_URL: cannot open {path} ("
                                  f"{exc.strerror})") from None
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)
        _configure_sqlite(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    if "poolclass" not in kwargs:
        kwargs.setdefault("pool_size", 5)
        kwargs.setdefault("max_overflow", 10)
    return create_engine(url, **kwargs)


def make_private(database: Path) -> None:
    """Create the SQLite file readable by its owner only, and tighten one made before.

    SQLite gives its -wal and -shm files the mode of the database file, so creating that
    file as 0600 before SQLite opens it keeps all three private; files left by an older
    version (0644 under the usual umask) are narrowed here.
    """
    database.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    # Only ever create it: opening and closing a descriptor of a database this process
    # already has open would drop every POSIX lock SQLite holds on it (SQLite's own
    # warning), and two connections would then write over each other.
    with contextlib.suppress(FileExistsError):
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    for path in (database, Path(f"{database}-wal"), Path(f"{database}-shm"),
                 Path(f"{database}.writer-lock")):
        try:
            if path.stat().st_mode & 0o077:
                path.chmod(0o600)
        except FileNotFoundError:
            pass


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


class _WriterLock:
    """Queue SQLite writers across threads and processes without busy-wait sleeps.

    SQLite's own busy handler retries a locked database by sleeping in growing steps, which
    turns contention between gunicorn workers into long tail latencies. A blocking
    `flock` on a file beside the database wakes the next writer as soon as the lock is
    released. The thread lock is needed because `flock` is per open file, not per thread.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._thread_lock = threading.Lock()
        self._fd: int | None = None
        self._pid = 0

    def _file(self) -> int:
        # A forked worker must open its own descriptor; a shared one shares the lock.
        if self._fd is None or self._pid != os.getpid():
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            self._pid = os.getpid()
        return self._fd

    @contextmanager
    def hold(self) -> Iterator[None]:
        with self._thread_lock:
            fd = self._file()
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)


class Database:
    """Sessions for the application: `write()` for read-then-write, `read()` for reads."""

    def __init__(self, url: str, **engine_kwargs) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        database = self.engine.url.database
        self._writer_lock = _WriterLock(Path(database + ".writer-lock")) \
            if self.is_sqlite and database and database != ":memory:" else None

    @contextmanager
    def write(self) -> Iterator[Session]:
        """Open a transaction that will write; on SQLite it takes the write lock at once."""
        if self._writer_lock is None:
            with self._write() as session:
                yield session
            return
        with self._writer_lock.hold(), self._write() as session:
            yield session

    @contextmanager
    def _write(self) -> Iterator[Session]:
        with self._sessions() as session:
            if self.is_sqlite:
                session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    @contextmanager
    def read(self) -> Iterator[Session]:
        """Open a read-only session; objects stay readable after it closes."""
        with self._sessions() as session:
            yield session

    def dispose(self) -> None:
        """Close all pooled connections."""
        self.engine.dispose()


def alembic_config(url: str):
    """Return an Alembic config pointing at this package's migrations and `url`."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade_database(url: str, revision: str = "heads") -> None:
    """Bring the schema at `url` up to date with the migrations."""
    command.upgrade(alembic_config(url), revision)


def current_revisions(url: str) -> set[str]:
    """Return the schema's applied migration heads (empty for a blank database)."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return set(MigrationContext.configure(conn).get_current_heads())
    finally:
        engine.dispose()

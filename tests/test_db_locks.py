"""SQLite's locks survive the application opening another engine on the same file.

SQLite locks a database with POSIX advisory locks, and POSIX drops every lock a process
holds on a file when any descriptor of that file is closed. A check that opened and closed
the database file (to fix its mode) once made a second engine in the same process silently
drop the first one's locks: another process closing its connection then believed it was the
last one and removed the write-ahead log under the first ("disk I/O error", "database disk
image is malformed").
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sqlalchemy import text

from bot.db import Database
from tests.databases import migrated

OTHER_PROCESS = """
import sqlite3, sys
c = sqlite3.connect(sys.argv[1], timeout=5, isolation_level=None)
c.execute("PRAGMA journal_mode=WAL")
c.execute("UPDATE alembic_version SET version_num = version_num")
c.close()  # the last connection, if it thinks so, checkpoints and deletes the WAL
"""


def test_a_second_engine_never_drops_the_first_ones_locks(tmp_path):
    url = migrated(f"sqlite:///{tmp_path / 'instance' / 'reportbot.sqlite'}")
    path = Path(url[len("sqlite:///"):])
    first = Database(url)
    try:
        with first.read() as session:
            session.execute(text("SELECT count(*) FROM cases")).scalar()
            held = session.connection()  # keeps this process's connection open
            second = Database(url)  # what building services again does
            second.dispose()
            subprocess.run([sys.executable, "-c", OTHER_PROCESS, str(path)], check=True,
                           timeout=30)
            assert Path(f"{path}-wal").exists(), "another process deleted the WAL under us"
            assert held.execute(text("PRAGMA integrity_check")).scalar() == "ok"
        with first.write() as session:
            session.execute(text("UPDATE alembic_version SET version_num = version_num"))
    finally:
        first.dispose()

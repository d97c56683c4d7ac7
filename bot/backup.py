"""Backups of the embedded SQLite database, and restoring one into an empty instance.

`backup` takes a consistent snapshot while the service runs, with SQLite's online backup
API: it reads one transaction's view of the database while writers carry on (WAL mode). The
snapshot and a manifest go into one gzip'd tar file created with mode 0600:
``manifest.json`` (when, schema revision, the fingerprints of the keys the data is sealed
with, row counts, the database's SHA-256) and ``reportbot.sqlite``. The secret key is never
in it: without the key the backup cannot be read, and the key must be kept separately.

`restore` refuses a backup whose data is sealed with a key that is not configured, checks
the database's checksum and integrity, brings its schema up to date, and only then puts it
in place of an instance database that must be empty.

PostgreSQL is backed up with its own tools (`pg_dump`); both commands say so and stop.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import func, select, text

from bot import key_usage
from bot.crypto import Vault
from bot.db import Database, alembic_config, upgrade_database
from bot.models import Case, Conversation, utcnow
from bot.settings import Settings

FORMAT = "reportbot-backup/1"
MANIFEST = "manifest.json"
DATABASE = "reportbot.sqlite"
PG_DUMP_ADVICE = (
    "the database is PostgreSQL: back it up with PostgreSQL's own tools, e.g. "
    "`pg_dump --format=custom --file=reportbot.dump \"$REPORTBOT_DATABASE_URL\"` (restore "
    "with `pg_restore --dbname=... reportbot.dump`), and keep REPORTBOT_SECRET_KEY "
    "separately: the dump cannot be read without it")


class BackupRefused(Exception):
    """A backup or restore cannot be done; the message says why and what to do."""


@dataclass(frozen=True)
class Manifest:
    """What a backup holds, readable without the key."""

    created_at: str
    schema_revision: list[str]
    key_fingerprints: list[str]
    keys_in_use: list[str]
    cases: int
    conversations: int
    sha256: str
    size: int
    format: str = FORMAT

    def as_json(self) -> str:
        """Return the manifest as indented JSON."""
        return json.dumps(self.__dict__, indent=2) + "\n"


def sqlite_path(settings: Settings) -> Path:
    """Return the embedded database's file, or refuse for PostgreSQL."""
    if not settings.is_sqlite:
        raise BackupRefused(PG_DUMP_ADVICE)
    path = settings.database_url.removeprefix("sqlite:///")
    if not path or path.startswith(":memory:"):
        raise BackupRefused("an in-memory database cannot be backed up")
    return Path(path)


def backup(settings: Settings, vault: Vault, target: Path,
           now: datetime | None = None) -> Manifest:
    """Write a consistent snapshot of the live database and its manifest to `target`."""
    source = sqlite_path(settings)
    target = Path(target)
    if target.exists():
        raise BackupRefused(f"{target} already exists; choose a new file name")
    if not source.is_file():
        raise BackupRefused(f"there is no database at {source} to back up")
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".reportbot-backup-", dir=target.parent))
    try:
        snapshot = work / DATABASE
        _snapshot(source, snapshot)
        manifest = _describe(snapshot, vault, now or utcnow())
        partial = work / "backup.tar.gz"
        _write_archive(partial, manifest, snapshot)
        # A hard link never replaces a file that appeared meanwhile (unlike rename).
        os.link(partial, target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return manifest


def _snapshot(source: Path, snapshot: Path) -> None:
    """Copy the database through SQLite's backup API, in one step so the copy is consistent."""
    fd = os.open(snapshot, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)
    src = sqlite3.connect(source, timeout=30)
    dst = sqlite3.connect(snapshot)
    try:
        src.execute("PRAGMA busy_timeout=30000")
        # pages=-1 copies everything inside one read transaction: a stepwise copy would
        # restart whenever a writer commits, and might never finish under load.
        src.backup(dst, pages=-1)
    finally:
        dst.close()
        src.close()


def _describe(snapshot: Path, vault: Vault, now: datetime) -> Manifest:
    db = Database(f"sqlite:///{snapshot}")
    try:
        usage = key_usage.check(db, vault)
        with db.read() as session:
            revision = sorted(session.scalars(text("SELECT version_num FROM alembic_version")))
            cases = session.scalar(select(func.count(Case.id))) or 0
            conversations = session.scalar(select(func.count(Conversation.id))) or 0
    finally:
        db.dispose()
        Path(f"{snapshot}.writer-lock").unlink(missing_ok=True)
    if usage.unreadable:
        raise BackupRefused(f"{usage.unreadable} sealed value(s) in the database open with "
                            "none of the configured keys; run `reportbot keys check`")
    return Manifest(
        created_at=now.isoformat(), schema_revision=revision,
        key_fingerprints=list(vault.fingerprints), keys_in_use=usage.fingerprints_in_use,
        cases=cases, conversations=conversations, sha256=_sha256(snapshot),
        size=snapshot.stat().st_size)


def _write_archive(path: Path, manifest: Manifest, snapshot: Path) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as raw:
        with tarfile.open(fileobj=raw, mode="w:gz") as archive:
            body = manifest.as_json().encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mode, info.mtime = len(body), 0o600, int(utcnow().timestamp())
            archive.addfile(info, io.BytesIO(body))
            archive.add(snapshot, arcname=DATABASE, recursive=False,
                        filter=lambda i: _private(i))
        raw.flush()
        os.fsync(raw.fileno())


def _private(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.mode, info.uid, info.gid, info.uname, info.gname = 0o600, 0, 0, "", ""
    return info


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# ---- restore ---------------------------------------------------------------------------

def read_manifest(path: Path) -> Manifest:
    """Return a backup's manifest, or refuse a file that is not a reportbot backup."""
    try:
        with tarfile.open(path, mode="r:gz") as archive:
            member = archive.extractfile(MANIFEST)
            data = json.loads(member.read()) if member else None
    except (OSError, tarfile.TarError, KeyError, ValueError):
        data = None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise BackupRefused(f"{path} is not a reportbot backup")
    try:
        return Manifest(**data)
    except TypeError:
        raise BackupRefused(f"{path}: the manifest is damaged") from None


def restore(settings: Settings, vault: Vault, source: Path) -> Manifest:
    """Put the backup at `source` in place of the (empty) instance database."""
    if not settings.is_sqlite:
        raise BackupRefused(PG_DUMP_ADVICE)
    target = sqlite_path(settings)
    manifest = read_manifest(source)
    missing = [fp for fp in manifest.keys_in_use if fp not in vault.fingerprints]
    if missing:
        raise BackupRefused(
            f"this backup is sealed with key(s) {', '.join(missing)}, which are not "
            f"configured (configured: {', '.join(vault.fingerprints)}); set "
            "REPORTBOT_SECRET_KEY (or the instance's secret.key) to the key kept with this "
            "backup; nothing was changed")
    script = ScriptDirectory.from_config(alembic_config(settings.database_url))
    for revision in manifest.schema_revision:
        if revision not in {r.revision for r in script.walk_revisions()}:
            raise BackupRefused(f"this backup's schema ({revision}) is newer than this "
                                "reportbot; upgrade reportbot first")
    _refuse_unless_empty(target)
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".reportbot-restore-", dir=target.parent))
    try:
        staged = work / DATABASE
        _extract(source, staged, manifest)
        staged_url = f"sqlite:///{staged}"
        upgrade_database(staged_url)
        db = Database(staged_url)
        try:
            unreadable = key_usage.check(db, vault).unreadable
        finally:
            db.dispose()
        if unreadable:
            raise BackupRefused(f"{unreadable} sealed value(s) in this backup open with none "
                                "of the configured keys; nothing was changed")
        for suffix in ("", "-wal", "-shm", ".writer-lock"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        os.replace(staged, target)
        os.chmod(target, 0o600)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return manifest


def _refuse_unless_empty(target: Path) -> None:
    """Refuse to overwrite a database that holds anything but an empty schema."""
    if not target.exists():
        return
    conn = sqlite3.connect(target)
    try:
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
        for table in tables:
            if table == "alembic_version":
                continue
            if conn.execute(f'SELECT 1 FROM "{table}" LIMIT 1').fetchone():  # noqa: S608
                raise BackupRefused(f"{target} already holds data; restore only into a new, "
                                    "empty instance (set REPORTBOT_INSTANCE_DIR to a new "
                                    "folder)")
    finally:
        conn.close()


def _extract(source: Path, staged: Path, manifest: Manifest) -> None:
    fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    digest = hashlib.sha256()
    with os.fdopen(fd, "wb") as out, tarfile.open(source, mode="r:gz") as archive:
        member = archive.extractfile(DATABASE)
        if member is None:
            raise BackupRefused(f"{source} holds no database")
        for block in iter(lambda: member.read(1 << 20), b""):
            digest.update(block)
            out.write(block)
    if digest.hexdigest() != manifest.sha256:
        raise BackupRefused(f"{source} is damaged: its database does not match the manifest")
    conn = sqlite3.connect(staged)
    try:
        if conn.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            raise BackupRefused(f"{source} is damaged: the database fails its integrity check")
    finally:
        conn.close()


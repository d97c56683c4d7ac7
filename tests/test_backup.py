"""Backups while residents are reporting, restored into a new instance: every case reads back;
a backup never holds the key, and is refused by an instance with another key."""

from __future__ import annotations

import gzip
import io
import os
import stat
import subprocess
import sys
import tarfile
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from bot import backup as backups
from bot.cli import main
from bot.crypto import Vault
from bot.db import Database
from bot.models import Case, Conversation
from bot.services import build_services
from bot.settings import Settings
from tests.conftest import TEST_SECRET, english_only_org, make_settings
from tests.helpers import VICTIM_REPORT, Resident
from tests.sealed_support import PHOTO, populate, sealed_values, victim_report

BIN = Path(sys.executable).parent
OTHER_SECRET = "another-landlords-secret-key-0123456789abcdefghijkl"


def _env(tmp_path: Path, instance: str, key: str = TEST_SECRET) -> dict[str, str]:
    return {**os.environ, "REPORTBOT_INSTANCE_DIR": str(tmp_path / instance),
            "REPORTBOT_SECRET_KEY": key, "REPORTBOT_ORG_FILE": str(english_only_org(tmp_path))}


def _reportbot(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "reportbot"), *args], env=env, capture_output=True,
                          text=True, timeout=120)


def test_backup_while_residents_report_then_restore_reads_every_case(services, tmp_path):
    populate(services, reports=4)
    stop, problems, done = threading.Event(), [], []

    def keep_reporting(number: int) -> None:
        try:
            for n in range(200):
                if stop.is_set():
                    return
                victim_report(services, "sms", f"+44770082{number}{n:03d}")
                done.append(1)
        except Exception as exc:  # noqa: BLE001 - reported below
            problems.append(repr(exc))

    threads = [threading.Thread(target=keep_reporting, args=(i,)) for i in range(3)]
    for thread in threads:
        thread.start()
    try:
        while len(done) < 2 and not problems:
            threading.Event().wait(0.05)
        # The live instance, backed up by the command while the three residents write.
        before = len(done)
        result = _reportbot(_env(tmp_path, "instance"), "backup", str(tmp_path / "b.tar.gz"))
        during = len(done)
    finally:
        stop.set()
        for thread in threads:
            thread.join(60)
    assert problems == []
    assert result.returncode == 0, result.stderr
    assert during > before, "no report was made while the backup ran"
    assert "NOT in this backup" in result.stdout
    archive = tmp_path / "b.tar.gz"
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    manifest = backups.read_manifest(archive)
    assert manifest.keys_in_use == [Vault((TEST_SECRET,)).fingerprints[0]]
    assert manifest.schema_revision and manifest.created_at
    assert TEST_SECRET.encode() not in gzip.decompress(archive.read_bytes())

    restored = _reportbot(_env(tmp_path, "restored"), "restore", str(archive))
    assert restored.returncode == 0, restored.stderr

    fresh = build_services(make_settings(tmp_path, f"sqlite:///"
                                         f"{tmp_path / 'restored' / 'reportbot.sqlite'}"))
    live = Database(services.settings.database_url)
    with fresh.db.read() as session, live.read() as original:
        cases = session.scalars(select(Case).order_by(Case.id)).all()
        assert len(cases) == manifest.cases >= 6
        for case in cases:
            copy = original.get(Case, case.id)
            details = fresh.store.details(case)
            # A resident may add optional details after the snapshot: the backup holds
            # everything the case had when it was taken.
            assert details.items() <= services.store.details(copy).items()
            assert details["reporter_name"] == "Sam Fictional"
            assert case.reference == copy.reference
        assert session.scalar(select(func.count(Conversation.id))) == manifest.conversations
    # Every sealed value in the copy opens with the configured key, files included.
    assert sum(1 for _ in sealed_values(fresh.db)) > 0
    for _table, _column, token in sealed_values(fresh.db):
        fresh.vault.open(token)
    assert any(fresh.vault.open(t) == PHOTO for tb, _c, t in sealed_values(fresh.db)
               if tb == "evidence")
    # The restored instance serves: a resident carries on where the backup left them.
    resident = Resident(fresh, channel="sms", sender="+447700900999")
    resident.follow(VICTIM_REPORT)
    fresh.db.dispose()
    live.dispose()


def test_restore_refuses_a_backup_sealed_with_another_key(services, tmp_path):
    populate(services, reports=1)
    archive = tmp_path / "b.tar.gz"
    backups.backup(services.settings, services.vault, archive)
    result = _reportbot(_env(tmp_path, "other", OTHER_SECRET), "restore", str(archive))
    assert result.returncode != 0
    assert "not configured" in result.stderr and "nothing was changed" in result.stderr
    assert not (tmp_path / "other" / "reportbot.sqlite").exists()


def test_restore_refuses_an_instance_that_holds_data(services, tmp_path):
    populate(services, reports=1)
    archive = tmp_path / "b.tar.gz"
    backups.backup(services.settings, services.vault, archive)
    with pytest.raises(backups.BackupRefused, match="already holds data"):
        backups.restore(services.settings, services.vault, archive)


def test_restore_refuses_a_damaged_backup(services, tmp_path):
    populate(services, reports=1)
    archive = tmp_path / "b.tar.gz"
    backups.backup(services.settings, services.vault, archive)
    damaged = tmp_path / "damaged.tar.gz"
    with tarfile.open(archive) as src, tarfile.open(damaged, "w:gz") as dst:
        for member in src.getmembers():
            data = src.extractfile(member).read()
            if member.name == backups.DATABASE:
                data = data[:5000] + bytes(b ^ 0xFF for b in data[5000:5100]) + data[5100:]
            dst.addfile(member, io.BytesIO(data))
    empty = make_settings(tmp_path, f"sqlite:///{tmp_path / 'empty' / 'reportbot.sqlite'}")
    with pytest.raises(backups.BackupRefused, match="damaged"):
        backups.restore(empty, services.vault, damaged)


def test_backup_never_overwrites(services, tmp_path):
    target = tmp_path / "b.tar.gz"
    target.write_text("keep me")
    with pytest.raises(backups.BackupRefused, match="already exists"):
        backups.backup(services.settings, services.vault, target)
    assert target.read_text() == "keep me"


def test_postgres_is_refused_with_pg_dump_advice(tmp_path):
    settings = make_settings(tmp_path, "postgresql+psycopg://reportbot@db.invalid/reportbot")
    with pytest.raises(backups.BackupRefused, match="pg_dump"):
        backups.backup(settings, Vault(settings.secret_keys), tmp_path / "b.tar.gz")
    with pytest.raises(backups.BackupRefused, match="pg_dump"):
        backups.restore(settings, Vault(settings.secret_keys), tmp_path / "b.tar.gz")


def test_keys_add_then_rotate_then_remove_in_the_instance_key_file(tmp_path):
    """The embedded default end to end: the key file gets a new first key, everything moves
    to it, and the old key can then be removed."""
    env = {"REPORTBOT_INSTANCE_DIR": str(tmp_path / "instance"),
           "REPORTBOT_ORG_FILE": str(english_only_org(tmp_path))}
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade"], env=env).exit_code == 0
    key_file = tmp_path / "instance" / "secret.key"
    old = key_file.read_text().strip()
    services = build_services(Settings.from_env(env))
    victim_report(services, "sms", "+447700900321")
    services.db.dispose()

    added = runner.invoke(main, ["keys", "add"], env=env)
    assert added.exit_code == 0, added.output
    assert key_file.read_text().splitlines()[1] == old
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    rotated = runner.invoke(main, ["keys", "rotate"], env=env)
    assert rotated.exit_code == 0, rotated.output
    old_print = Vault((old,)).fingerprints[0]
    assert f"Key(s) {old_print} no longer used" in rotated.output
    removed = runner.invoke(main, ["keys", "remove", old_print], env=env)
    assert removed.exit_code == 0, removed.output
    assert old not in key_file.read_text()
    check = runner.invoke(main, ["keys", "check"], env=env)
    assert check.exit_code == 0 and "0 value(s)" not in check.output

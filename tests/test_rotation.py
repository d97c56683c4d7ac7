"""Key rotation: every sealed field and blind index moves to the new key, resumably, while
residents keep reporting; afterwards the new key alone reads everything."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from bot import key_usage, rotation
from bot.crypto import Vault
from bot.db import Database
from bot.models import Case, Conversation
from bot.services import Services, build_services
from tests.conftest import TEST_SECRET
from tests.helpers import VICTIM_REPORT, Resident
from tests.sealed_support import assert_all_readable_with, populate, victim_report

NEW_SECRET = "a-new-secret-key-for-rotation-tests-0123456789abcdefgh"
BIN = Path(sys.executable).parent


def _with_keys(services: Services, *keys: str) -> Services:
    """The same database and landlord, as a process restarted with `keys` would see them."""
    settings = services.settings.model_copy(update={"secret_key": ",".join(keys)})
    return build_services(settings, db=Database(services.settings.database_url))


def test_rotation_moves_everything_to_the_new_key(any_services):
    populate(any_services, reports=4)
    rotated = _with_keys(any_services, NEW_SECRET, TEST_SECRET)
    before = key_usage.check(rotated.db, rotated.vault)
    assert before.old_keys_in_use == [rotated.vault.fingerprints[1]]
    assert before.sealed[0] == 0 and before.sealed[1] > 0

    result = rotation.rotate(rotated.db, rotated.vault, batch_rows=3)

    assert result.usage.old_keys_in_use == [] and result.usage.unreadable == 0
    assert result.reindexed >= 4 and result.conflicts == 0
    new_only = _with_keys(any_services, NEW_SECRET)
    assert assert_all_readable_with(new_only.db, new_only.vault) == before.sealed[1]
    # The new key alone finds every resident again and reads every case.
    with new_only.db.read() as session:
        for case in session.scalars(select(Case)):
            assert new_only.store.details(case)["reporter_name"] == "Sam Fictional"
    for db in (rotated.db, new_only.db):
        db.dispose()


def test_a_resident_mid_report_is_found_under_the_old_index(any_services):
    """After the restart with the new key first, and before rotation, a resident carries on
    in the same conversation (lookups try the index under every key)."""
    resident = Resident(any_services, channel="sms", sender="+447700900555")
    resident.follow(VICTIM_REPORT[:10])
    rotated = _with_keys(any_services, NEW_SECRET, TEST_SECRET)
    resident.services = rotated
    resident.follow(VICTIM_REPORT[10:])
    with rotated.db.read() as session:
        assert session.scalar(select(func.count(Conversation.id))) == 1
        assert session.scalar(select(func.count(Case.id))) == 1
    rotated.db.dispose()


def test_rotation_refuses_with_a_single_key(services):
    with pytest.raises(rotation.RotationRefused, match="only one key"):
        rotation.rotate(services.db, services.vault)


def test_rotation_refuses_an_unknown_blind_index(services):
    with services.db.write() as session:
        session.execute(text("ALTER TABLE cases ADD COLUMN witness_index VARCHAR(64)"))
    rotated = _with_keys(services, NEW_SECRET, TEST_SECRET)
    with pytest.raises(rotation.RotationRefused, match="cases.witness_index"):
        rotation.rotate(rotated.db, rotated.vault)
    rotated.db.dispose()


def test_a_table_added_later_is_rotated_too(services):
    """Rotation reads the live schema: a sealed column nobody listed is re-sealed."""
    with services.db.write() as session:
        session.execute(text("CREATE TABLE later_table (id INTEGER PRIMARY KEY, "
                             "entry_enc BLOB)"))
        session.execute(text("INSERT INTO later_table (id, entry_enc) VALUES (1, :t)"),
                        {"t": services.vault.seal("a fictional diary entry")})
    rotated = _with_keys(services, NEW_SECRET, TEST_SECRET)
    rotation.rotate(rotated.db, rotated.vault)
    with rotated.db.read() as session:
        token = session.scalar(text("SELECT entry_enc FROM later_table"))
    assert Vault((NEW_SECRET,)).open_text(bytes(token)) == "a fictional diary entry"
    rotated.db.dispose()


# ---- interrupted by SIGKILL, while residents keep reporting --------------------------------

def _rotate_command(services: Services, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "REPORTBOT_DATABASE_URL": services.settings.database_url,
           "REPORTBOT_SECRET_KEY": f"{NEW_SECRET},{TEST_SECRET}",
           "REPORTBOT_ORG_FILE": str(services.settings.org_file),
           "REPORTBOT_INSTANCE_DIR": str(services.settings.instance_dir)}
    return subprocess.Popen([str(BIN / "reportbot"), "keys", "rotate", *extra], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_rotation_killed_and_resumed_while_serving(any_services, tmp_path):
    populate(any_services, reports=8)
    # Four residents are mid-report when every process restarts with the new key first.
    residents = [Resident(any_services, channel="sms", sender=f"+44770090{i:04d}")
                 for i in range(4)]
    for resident in residents:
        resident.follow(VICTIM_REPORT[:6])
    serving = _with_keys(any_services, NEW_SECRET, TEST_SECRET)
    problems: list[str] = []
    rotating, stop = threading.Event(), threading.Event()
    turns_during: list[int] = []

    def carry_on(number: int, resident: Resident) -> None:
        resident.services = serving
        rotating.wait(60)
        try:
            for said, asked in VICTIM_REPORT[6:]:
                resident.says(said)
                turns_during.append(1)
                if resident.asked != asked:
                    problems.append(f"expected {asked}, got {resident.asked}")
                    return
                time.sleep(0.02)
            # New residents keep arriving until the rotation is over.
            for n in range(8):
                if stop.is_set():
                    break
                victim_report(serving, "sms", f"+44770081{number}{n:03d}")
        except Exception as exc:  # noqa: BLE001 - reported below with the type
            problems.append(repr(exc))

    threads = [threading.Thread(target=carry_on, args=item) for item in enumerate(residents)]
    for thread in threads:
        thread.start()
    first = _rotate_command(any_services, "--batch-size", "2", "--pause", "0.1")
    seen = []
    for line in first.stderr:
        seen.append(line)
        rotating.set()  # the load starts with the first batch
        if line.startswith("cases:"):
            first.send_signal(signal.SIGKILL)
            break
    first.wait(30)
    first.stdout.close()
    first.stderr.close()
    assert first.returncode == -signal.SIGKILL, "".join(seen)
    assert turns_during, "no resident turn happened while the rotation ran"
    halfway = key_usage.check(serving.db, serving.vault)
    assert halfway.old_keys_in_use, "the kill came too late to interrupt anything"

    second = _rotate_command(any_services, "--batch-size", "20")
    out, err = second.communicate(timeout=100)
    stop.set()
    for thread in threads:
        thread.join(60)
        assert not thread.is_alive()
    assert second.returncode == 0, out + err
    assert problems == []
    assert "no longer used" in out

    # Every resident's report is stored once; nothing is left under the old key.
    with serving.db.read() as session:
        senders = session.scalar(select(func.count(func.distinct(Conversation.sender_index))))
        assert senders == session.scalar(select(func.count(Conversation.id)))
    assert key_usage.check(serving.db, serving.vault).old_keys_in_use == []
    new_only = _with_keys(any_services, NEW_SECRET)
    assert_all_readable_with(new_only.db, new_only.vault)
    late = residents[0]
    late.services = new_only
    with new_only.db.read() as session:
        conversations = session.scalar(select(func.count(Conversation.id)))
    assert late.says("hello").replies
    with new_only.db.read() as session:
        # Found by the new key alone: no second conversation for the same resident.
        assert session.scalar(select(func.count(Conversation.id))) == conversations
    for db in (serving.db, new_only.db):
        db.dispose()


def test_a_conversation_duplicated_by_a_process_without_the_old_key_is_reported(services):
    """If the old key was dropped too early, a resident gets a second conversation under the
    new key; rotation leaves the older one as it was and says the old key is still needed."""
    old = Resident(services, channel="sms", sender="+447700900666")
    old.follow(VICTIM_REPORT[:4])
    victim_report(services, "sms", "+447700900667")
    too_early = _with_keys(services, NEW_SECRET)
    Resident(too_early, channel="sms", sender="+447700900666").follow(VICTIM_REPORT[:2])
    rotated = _with_keys(services, NEW_SECRET, TEST_SECRET)
    result = rotation.rotate(rotated.db, rotated.vault, batch_rows=10)
    assert result.conflicts == 1
    assert result.usage.old_keys_in_use == [rotated.vault.fingerprints[1]]
    with rotated.db.read() as session:
        indexes = session.scalars(select(Conversation.sender_index)).all()
    assert rotated.vault.index("sms", "+447700900667") in indexes  # the others moved on
    for db in (too_early.db, rotated.db):
        db.dispose()

"""`reportbot backup`, `restore`, `keys`, `retention` and `subjects`: looking after the data.

Attached to the main `reportbot` group in bot/cli.py. Nothing here prints personal data
except a subject access export written to the file named, or a key the operator asked
`keys new` for.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from sqlalchemy import select

from bot import backup as backups
from bot import key_usage, keyfile, retention, rotation, subject_requests, subjects
from bot.crypto import Vault
from bot.models import Case
from bot.services import Services
from bot.settings import Settings, instance_key_file

CLI_ACTOR = "cli"


def _runtime():
    """Return the `reportbot` group's context object (bot/cli.py `Runtime`)."""
    return click.get_current_context().find_root().obj


def _settings() -> Settings:
    """Return the checked settings; a problem is one line, exit status 2 (bot/cli_errors)."""
    return _runtime().settings()


def _services(settings: Settings | None = None) -> Services:
    """Return the services on an up-to-date schema (the embedded SQLite is upgraded)."""
    runtime = _runtime()
    runtime.migrate()
    return runtime.services()


def _key_source(settings: Settings) -> str:
    if os.environ.get("REPORTBOT_SECRET_KEY"):
        return "REPORTBOT_SECRET_KEY"
    return str(instance_key_file(settings.instance_dir))


# ---- backup and restore ------------------------------------------------------------------

@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def backup_command(path: Path) -> None:
    """Write a consistent snapshot of the embedded database to PATH (mode 0600)."""
    settings = _settings()
    services = _services(settings)
    try:
        manifest = backups.backup(settings, services.vault, path)
    except backups.BackupRefused as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        services.db.dispose()
    click.echo(f"backed up {manifest.cases} case(s) and {manifest.conversations} "
               f"conversation(s) to {path} (schema {', '.join(manifest.schema_revision)})")
    click.echo(f"The secret key is NOT in this backup. It is sealed with key "
               f"{', '.join(manifest.keys_in_use) or manifest.key_fingerprints[0]} "
               f"({_key_source(settings)}): keep a copy of that key somewhere else "
               "(a password manager or an offline copy), never beside the backup. Without it "
               "the backup cannot be read.")


@click.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def restore_command(path: Path) -> None:
    """Restore the backup at PATH into this (new, empty) instance."""
    settings = _settings()
    try:
        manifest = backups.restore(settings, Vault(settings.secret_keys), path)
    except backups.BackupRefused as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"restored {manifest.cases} case(s) and {manifest.conversations} "
               f"conversation(s) from the backup of {manifest.created_at}")


# ---- keys --------------------------------------------------------------------------------

@click.group("keys")
def keys() -> None:
    """Rotate the secret key and see which keys the data still needs."""


@keys.command("new")
def keys_new() -> None:
    """Print a new random key, to put first in REPORTBOT_SECRET_KEY."""
    key = keyfile.new_key()
    click.echo("A new key (put it FIRST in REPORTBOT_SECRET_KEY, keep the old one after a "
               "comma, restart every process, then run `reportbot keys rotate`):", err=True)
    click.echo(key)


@keys.command("add")
def keys_add() -> None:
    """Put a new key first in the instance's key file (the embedded default)."""
    settings = _settings()
    if os.environ.get("REPORTBOT_SECRET_KEY"):
        raise click.ClickException("the keys come from REPORTBOT_SECRET_KEY: get a key with "
                                   "`reportbot keys new` and put it first there")
    try:
        added = keyfile.add_key(settings.instance_dir)
    except keyfile.KeyFileRefused as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"added key {added} first in {instance_key_file(settings.instance_dir)}. Now "
               "restart every `reportbot serve` and `reportbot worker`, then run `reportbot "
               "keys rotate`. Back the key file up again: the new key is not in any backup.")


@keys.command("rotate")
@click.option("--batch-size", default=rotation.BATCH_ROWS, show_default=True, type=int,
              help="Rows re-sealed per transaction.")
@click.option("--pause", default=0.0, show_default=True, type=float,
              help="Seconds to wait between batches, to go easy on a busy server.")
def keys_rotate(batch_size: int, pause: float) -> None:
    """Re-seal every personal field and blind index under the first key; resumable."""
    settings = _settings()
    services = _services(settings)
    vault = services.vault
    click.echo("Before this runs, every serve and worker process must have been restarted "
               f"with key {vault.fingerprints[0]} first.", err=True)
    try:
        result = rotation.rotate(services.db, vault, batch_rows=max(1, batch_size),
                                 pause=pause, report=lambda line: click.echo(line, err=True))
    except rotation.RotationRefused as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        services.db.dispose()
    click.echo(f"re-sealed {result.resealed} value(s) and re-indexed {result.reindexed} "
               f"row(s) in {result.passes} pass(es)")
    if result.conflicts:
        click.echo(f"{result.conflicts} conversation(s) could not be re-indexed: another "
                   "conversation of the same sender has the new index (a process was still "
                   "running with the old keys only)", err=True)
    _explain(settings, result.usage)
    if result.usage.old_keys_in_use or result.usage.unreadable:
        sys.exit(1)


@keys.command("check")
def keys_check() -> None:
    """Say which configured keys the data still needs."""
    settings = _settings()
    services = _services(settings)
    try:
        usage = key_usage.check(services.db, services.vault)
    finally:
        services.db.dispose()
    _explain(settings, usage)
    if usage.unreadable:
        sys.exit(1)


def _explain(settings: Settings, usage: key_usage.KeyUsage) -> None:
    for position, fp in enumerate(usage.fingerprints):
        role = "current, encrypts" if position == 0 else "older"
        click.echo(f"key {fp} ({role}): {usage.sealed[position]} sealed value(s), "
                   f"{usage.indexes[position]} blind index(es)")
    if usage.unreadable:
        click.echo(f"{usage.unreadable} value(s) or index(es) match none of the configured "
                   "keys: a key is missing", err=True)
    unused = [fp for i, fp in enumerate(usage.fingerprints) if i and not usage.in_use(i)]
    if unused:
        how = ("`reportbot keys remove " + unused[0] + "`"
               if not os.environ.get("REPORTBOT_SECRET_KEY")
               else "remove it from REPORTBOT_SECRET_KEY")
        click.echo(f"Key(s) {', '.join(unused)} no longer used by anything in the database: "
                   f"it can be removed ({how}), then restart serve and worker. Keep each old "
                   "key with the backups made before the rotation for as long as you keep "
                   "those backups.")
    if usage.old_keys_in_use:
        click.echo(f"Key(s) {', '.join(usage.old_keys_in_use)} still in use: run `reportbot "
                   "keys rotate` (again) before removing them.")


@keys.command("remove")
@click.argument("fingerprint")
def keys_remove(fingerprint: str) -> None:
    """Remove a retired key from the instance's key file, if nothing needs it."""
    settings = _settings()
    if os.environ.get("REPORTBOT_SECRET_KEY"):
        raise click.ClickException("the keys come from REPORTBOT_SECRET_KEY: remove it there")
    services = _services(settings)
    try:
        usage = key_usage.check(services.db, services.vault)
    finally:
        services.db.dispose()
    if fingerprint in usage.fingerprints_in_use:
        raise click.ClickException(f"key {fingerprint} still seals data: run `reportbot keys "
                                   "rotate` first")
    try:
        keyfile.remove_key(settings.instance_dir, fingerprint)
    except keyfile.KeyFileRefused as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"removed key {fingerprint}; restart serve and worker")


# ---- retention ---------------------------------------------------------------------------

@click.command("retention")
@click.option("--dry-run", is_flag=True, help="Only count what is due.")
def retention_command(dry_run: bool) -> None:
    """Erase personal data past the organisation's retention period now."""
    settings = _settings()
    services = _services(settings)
    years = services.org.retention_years
    try:
        if dry_run:
            click.echo(f"{len(retention.due(services))} closed case(s) are more than "
                       f"{years} year(s) past closure and due for erasure")
            return
        result = retention.run(services)
    finally:
        services.db.dispose()
    click.echo(f"erased the personal data of {result.cases} case(s) closed before "
               f"{result.closed_before.date().isoformat()} ({years} year(s)) and "
               f"{result.orphan_files} file(s) from abandoned conversations")


# ---- subject requests --------------------------------------------------------------------

def _identifier_options(command):
    for kind in reversed(subjects.KINDS):
        command = click.option(f"--{kind}", kind, default=None,
                               help=f"Find by {kind}.")(command)
    return command


def _identifier(**given: str | None) -> subjects.Identifier:
    named = [(kind, value) for kind, value in given.items() if value]
    if len(named) != 1:
        raise click.UsageError("give exactly one of --phone, --email, --telegram, "
                               "--reference")
    try:
        return subjects.parse(*named[0])
    except subjects.BadIdentifier as exc:
        raise click.UsageError(str(exc)) from None


@click.group("subjects")
def subjects_group() -> None:
    """Subject access and erasure requests (also in the console)."""


@subjects_group.command("find")
@_identifier_options
def subjects_find(**given: str | None) -> None:
    """List the cases and conversations linked to one person; audited."""
    identifier = _identifier(**given)
    services = _services(_settings())
    with services.db.write() as session:
        found = subject_requests.search(session, services, identifier, CLI_ACTOR)
        rows = session.execute(select(Case.id, Case.reference, Case.status, Case.erased_at)
                               .where(Case.id.in_(found.cases)).order_by(Case.id)).all()
    for case_id, reference, status, erased_at in rows:
        erased = ", personal data erased" if erased_at else ""
        click.echo(f"case {reference}: {status}{erased} ({found.cases[case_id]})")
    click.echo(f"{len(rows)} case(s), {len(found.conversations)} conversation(s)")


@subjects_group.command("export")
@_identifier_options
@click.option("--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The HTML file to write (mode 0600).")
@click.option("--language", default=None, help="Language of the file (default: the "
              "person's report's).")
def subjects_export(output: Path, language: str | None, **given: str | None) -> None:
    """Write one readable file of everything held about one person; audited."""
    identifier = _identifier(**given)
    services = _services(_settings())
    with services.db.write() as session:
        found = subjects.find(session, services.vault, identifier)
        if language is None:
            language = session.scalar(select(Case.language).where(
                Case.id.in_([i for i, role in found.cases.items() if role == "reporter"]))
                .order_by(Case.id.desc()).limit(1))
        locale = services.catalogs.negotiate(language) or "en"
        request_id, html = subject_requests.export(session, services, identifier,
                                                   CLI_ACTOR, locale)
    fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(html)
    click.echo(f"request {request_id}: wrote {len(found.cases)} case(s) and "
               f"{len(found.conversations)} conversation(s) to {output} ({locale}). Read "
               "the free text for other people's details before sending it.")


@subjects_group.command("erase")
@_identifier_options
@click.option("--ground", required=True, type=click.Choice(sorted(subject_requests.GROUNDS)))
@click.option("--note", required=True, help="Who asked, how their identity was checked, "
              "and why erasure is allowed.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def subjects_erase(ground: str, note: str, yes: bool, **given: str | None) -> None:
    """Erase one person's closed cases and conversations; audited."""
    identifier = _identifier(**given)
    services = _services(_settings())
    if not yes:
        click.confirm("Erase every closed case and conversation of this person? This "
                      "cannot be undone", abort=True)
    try:
        with services.db.write() as session:
            done = subject_requests.erase(session, services, identifier, CLI_ACTOR, ground,
                                          note)
    except subject_requests.ErasureRefused as exc:
        raise click.ClickException(f"{exc} Nothing was erased.") from None
    click.echo(f"request {done.request_id}: erased {done.cases} case(s) and "
               f"{done.conversations} conversation(s); kept {done.kept} report(s) made by "
               "someone else")


@subjects_group.command("reindex")
def subjects_reindex() -> None:
    """Index the contact details of every case (once, after upgrading to this version)."""
    services = _services(_settings())
    changed = 0
    after = 0
    while True:
        with services.db.write() as session:
            cases = session.scalars(select(Case).where(Case.id > after).order_by(Case.id)
                                    .limit(200)).all()
            if not cases:
                break
            changed += sum(subjects.index_case(session, services.vault, c) for c in cases)
            after = cases[-1].id
    click.echo(f"indexed the contact details of {changed} case(s)")


COMMANDS = (backup_command, restore_command, keys, retention_command, subjects_group)

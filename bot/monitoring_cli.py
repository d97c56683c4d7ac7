"""`reportbot monitoring rebuild`: recount the yearly profile counts from the sealed answers.

Needed once for a database that held cases before the counts existed (migration
i16_console), and harmless at any time: it replaces every count in one transaction.
"""

from __future__ import annotations

import click

from bot import profiles


@click.group("monitoring")
def monitoring() -> None:
    """Monitoring figures (policy 13)."""


@monitoring.command("rebuild")
@click.pass_obj
def rebuild(runtime) -> None:
    """Recount the victims' and perpetrators' profile counts from the sealed answers.

    `runtime` is the `reportbot` group's context object (bot/cli.py `Runtime`).
    """
    runtime.migrate()
    services = runtime.services()
    with services.db.write() as session:
        count = profiles.rebuild(session, services.vault, services.org.timezone)
    click.echo(f"recounted the profiles of {count} case(s)")

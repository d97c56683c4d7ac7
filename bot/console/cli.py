"""`reportbot create-user`: add a staff account for the console."""

from __future__ import annotations

import sys

import click

from bot.console import audit
from bot.console.auth import create_user as create
from bot.models import STAFF_ROLES


@click.command("create-user")
@click.option("--username", required=True, help="The sign-in name.")
@click.option("--role", required=True, type=click.Choice(STAFF_ROLES))
@click.option("--name", "display_name", default=None, help="The name shown to colleagues.")
@click.option("--password-stdin", is_flag=True,
              help="Read the password from the first line of standard input.")
@click.pass_obj
def create_user(runtime, username: str, role: str, display_name: str | None,
                password_stdin: bool) -> None:
    """Create a staff account; the password is asked for twice (or read from stdin).

    `runtime` is the `reportbot` group's context object (bot/cli.py `Runtime`).
    """
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    runtime.migrate()
    services = runtime.services()
    try:
        with services.db.write() as session:
            user = create(session, services, username, role, password, display_name)
            audit.record(session, "cli", "user_created", username=user.username, role=role)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"created {role} {user.username!r}")

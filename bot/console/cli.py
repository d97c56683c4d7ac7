"""Staff accounts and API tokens from the command line: the admin page's twins, audited.

`reportbot create-user` (a password of your own) and `reportbot staff ...` (temporary
passwords), `reportbot api-tokens ...`. Each change is recorded in the audit log with the
actor "cli".
"""

from __future__ import annotations

import sys
from contextlib import contextmanager

import click

from bot.audit import record
from bot.console import staff as accounts
from bot.models import API_SCOPES, STAFF_ROLES
from bot.store import DEFAULT_SCOPES

ACTOR = "cli"


@contextmanager
def _session():
    """Open a write session on the configured database (upgrading the embedded one).

    The `reportbot` group's context object (bot/cli.py `Runtime`) builds the services.
    """
    runtime = click.get_current_context().find_root().obj
    runtime.migrate()
    services = runtime.services()
    try:
        with services.db.write() as session:
            yield session, services
    except ValueError as exc:  # AccountRefused, WeakPassword: the message says why
        raise click.ClickException(str(exc)) from None


def _shown_once(label: str, secret: str) -> None:
    click.echo(f"{label} (shown once):", err=True)
    click.echo(secret)


@click.command("create-user")
@click.option("--username", required=True, help="The sign-in name.")
@click.option("--role", required=True, type=click.Choice(STAFF_ROLES))
@click.option("--name", "display_name", default=None, help="The name shown to colleagues.")
@click.option("--password-stdin", is_flag=True,
              help="Read the password from the first line of standard input.")
def create_user(username: str, role: str, display_name: str | None,
                password_stdin: bool) -> None:
    """Create a staff account; the password is asked for twice (or read from stdin)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    with _session() as (session, services):
        user = accounts.create_user(session, services, username, role, password, display_name)
        record(session, ACTOR, "user_created", username=user.username, role=role)
    click.echo(f"created {role} {user.username!r}")


@click.group("staff")
def staff() -> None:
    """List and change staff accounts."""


@staff.command("list")
def list_staff() -> None:
    """List every account: user name, role, status and name."""
    with _session() as (session, _services):
        for user in accounts.list_accounts(session):
            status = "deactivated" if not user.active else \
                "temporary password" if user.must_change_password else "active"
            click.echo(f"{user.username:<24} {user.role:<13} {status:<19} {user.display_name}")


@staff.command("create")
@click.option("--username", required=True, help="The sign-in name.")
@click.option("--role", required=True, type=click.Choice(STAFF_ROLES))
@click.option("--name", "display_name", default=None, help="The name shown to colleagues.")
def create_staff(username: str, role: str, display_name: str | None) -> None:
    """Create an account with a temporary password, printed once on the last line."""
    with _session() as (session, services):
        user, password = accounts.create_account(session, services, ACTOR, username, role,
                                                 display_name)
    _shown_once(f"temporary password for {user.username} (must be changed at sign-in)",
                password)


@staff.command("set-role")
@click.argument("username")
@click.argument("role", type=click.Choice(STAFF_ROLES))
def set_role(username: str, role: str) -> None:
    """Change an account's role."""
    with _session() as (session, _services):
        user = accounts.set_role(session, ACTOR, username, role)
    click.echo(f"{user.username} is now {role}")


@staff.command("deactivate")
@click.argument("username")
def deactivate(username: str) -> None:
    """Deactivate an account; its sessions end at once."""
    with _session() as (session, _services):
        user = accounts.set_active(session, ACTOR, username, False)
    click.echo(f"{user.username} is deactivated")


@staff.command("activate")
@click.argument("username")
def activate(username: str) -> None:
    """Reactivate an account."""
    with _session() as (session, _services):
        user = accounts.set_active(session, ACTOR, username, True)
    click.echo(f"{user.username} is active")


@staff.command("reset-password")
@click.argument("username")
def reset_password(username: str) -> None:
    """Give an account a temporary password, printed once; its sessions end."""
    with _session() as (session, services):
        user, password = accounts.reset_password(session, services, ACTOR, username)
    _shown_once(f"temporary password for {user.username} (must be changed at sign-in)",
                password)


SCOPE_OPTION = click.option("--scope", "scopes", multiple=True, type=click.Choice(API_SCOPES),
                      default=DEFAULT_SCOPES, show_default=True,
                      help="What the token may read; repeat for several.")


@click.group("api-tokens")
def api_tokens() -> None:
    """List, create and revoke API tokens."""


@api_tokens.command("list")
def list_tokens() -> None:
    """List every API token (never the token itself)."""
    with _session() as (session, _services):
        for t in accounts.list_tokens(session):
            status = f"revoked {t.revoked_at:%Y-%m-%d}" if t.revoked_at else "live"
            used = f"last used {t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else \
                "never used"
            click.echo(f"{t.id:>4}  {t.name:<24} {' '.join(t.scopes):<28} {status:<18} {used}")


@api_tokens.command("create")
@click.option("--name", required=True, help="Who or what will use the token.")
@SCOPE_OPTION
def create_token(name: str, scopes: tuple[str, ...]) -> None:
    """Create a token; printed once, alone on the last line."""
    with _session() as (session, _services):
        row, token = accounts.create_token(session, ACTOR, name, scopes)
    _shown_once(f"API token for {row.name!r} with scopes {row.scopes!r}; store it safely",
                token)


@api_tokens.command("revoke")
@click.argument("token_id", type=int)
def revoke_token(token_id: int) -> None:
    """Revoke a token by its number (see `api-tokens list`)."""
    with _session() as (session, _services):
        row = accounts.revoke_token(session, ACTOR, token_id)
    click.echo(f"API token {row.id} ({row.name}) is revoked")

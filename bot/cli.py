"""The `reportbot` command: serve, migrate, chat in the terminal, manage API tokens."""

from __future__ import annotations

import logging
import sys

import click

from bot.errors import ConfigError
from bot.settings import Settings


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except ConfigError as exc:
        raise click.ClickException(f"configuration: {exc}") from None


def _services(settings: Settings):
    from bot.services import build_services

    try:
        return build_services(settings)
    except ConfigError as exc:
        raise click.ClickException(f"configuration: {exc}") from None


def _ensure_schema(settings: Settings) -> None:
    """Upgrade the embedded SQLite; refuse to start on an outdated PostgreSQL schema."""
    from alembic.script import ScriptDirectory

    from bot.db import alembic_config, current_revisions, upgrade_database

    if settings.is_sqlite:
        upgrade_database(settings.database_url)
        return
    heads = set(ScriptDirectory.from_config(alembic_config(settings.database_url)).get_heads())
    if current_revisions(settings.database_url) != heads:
        raise click.ClickException("the database schema is not up to date: run "
                                   "`reportbot db upgrade` first")


@click.group()
def main() -> None:
    """Report hate-related incidents to a social landlord, on any channel."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s "
                        "%(message)s")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int)
@click.option("--threads", default=4, show_default=True, type=int,
              help="Threads per worker (1 for gunicorn's sync workers).")
def serve(host: str, port: int, workers: int, threads: int) -> None:
    """Serve the web chat, webhooks, API and console with gunicorn."""
    from bot.app import create_app
    from bot.serving import Server

    settings = _settings()
    _ensure_schema(settings)
    services = _services(settings)
    flask_app = create_app(services=services)
    services.db.dispose()  # each worker opens its own connections after the fork

    click.echo(f"reportbot serving {services.org.name} on http://{host}:{port}/chat")
    Server(flask_app, f"{host}:{port}", workers, threads).run()


@main.group()
def db() -> None:
    """Manage the database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply all migrations to the configured database."""
    from bot.db import upgrade_database

    settings = _settings()
    upgrade_database(settings.database_url)
    click.echo("database schema is up to date")


@main.command("create-api-token")
@click.option("--name", required=True, help="Who or what will use the token.")
def create_api_token(name: str) -> None:
    """Create a bearer token for the duty queue API; printed once, alone on the last line."""
    from bot.store import create_api_token as create

    settings = _settings()
    _ensure_schema(settings)
    services = _services(settings)
    with services.db.write() as session:
        token = create(session, name)
    click.echo(f"API token for {name!r} (shown once; store it safely):", err=True)
    click.echo(token)


@main.command()
def chat() -> None:
    """Make a report in this terminal, through the same flow as every channel."""
    from channels import terminal

    settings = _settings()
    _ensure_schema(settings)
    terminal.run(_services(settings))


@main.command()
def worker() -> None:
    """Deliver queued messages and notifications, and expire abandoned conversations."""
    from bot import worker as worker_loop

    settings = _settings()
    _ensure_schema(settings)
    worker_loop.run(_services(settings))


@main.command()
def expire() -> None:
    """Wipe the answers of conversations abandoned longer than the expiry period."""
    settings = _settings()
    _ensure_schema(settings)
    services = _services(settings)
    count = services.conversations.purge_expired()
    click.echo(f"expired {count} abandoned conversation(s)")


from bot.console.cli import create_user  # noqa: E402 - attached after the group exists

main.add_command(create_user)


from channels.telegram_cli import telegram as _telegram  # noqa: E402

main.add_command(_telegram)


from bot.maintenance_cli import COMMANDS as _maintenance  # noqa: E402

for _command in _maintenance:
    main.add_command(_command)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

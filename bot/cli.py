"""The `reportbot` command: serve, migrate, chat in the terminal, work the outbox, tokens.

Every command gets a `Runtime` as its context object: the settings, the services and the
assembled channels, each built on first use. Commands that other packages add (the staff
console's `create-user`, a channel's own commands) read the same runtime, so nothing here
is imported back by them. Configuration and connection problems are one line each, exit
status 2 (bot/cli_errors.py).
"""

from __future__ import annotations

import errno
import logging
import socket
import sys

import click
from alembic.script import ScriptDirectory

from bot import metrics
from bot import worker as worker_loop
from bot.app import Assembly, assemble, create_app
from bot.cli_errors import Problem, ReportbotGroup
from bot.console.cli import SCOPE_OPTION, api_tokens, create_token, create_user, staff
from bot.db import alembic_config, current_revisions, upgrade_database
from bot.maintenance_cli import COMMANDS as maintenance_commands
from bot.monitoring_cli import monitoring
from bot.services import Services, build_services
from bot.serving import Server
from bot.settings import Settings
from channels import telegram
from channels.base import Channels


class Runtime:
    """What a command needs, built on first use and kept for the command's life."""

    def __init__(self, ctx: click.Context) -> None:
        self._ctx = ctx
        self._settings: Settings | None = None
        self._assembly: Assembly | None = None

    def settings(self) -> Settings:
        """Return the checked settings (problems raise ConfigError, one line each)."""
        if self._settings is None:
            self._settings = Settings.from_env()
            self._ctx.meta["reportbot.database_url"] = self._settings.database_url
        return self._settings

    def assembly(self) -> Assembly:
        """Return the services, runner and channels (connects to nothing yet)."""
        if self._assembly is None:
            self._assembly = assemble(build_services(self.settings()))
        return self._assembly

    def services(self) -> Services:
        """Return the services."""
        return self.assembly().services

    def channels(self) -> Channels:
        """Return the configured channels."""
        return self.assembly().channels

    def close(self) -> None:
        """Close the database connections this command opened."""
        if self._assembly is not None:
            self._assembly.services.db.dispose()

    def migrate(self) -> None:
        """Upgrade the embedded SQLite; refuse to go on with an outdated PostgreSQL schema."""
        settings = self.settings()
        if settings.is_sqlite:
            upgrade_database(settings.database_url)
            return
        heads = set(ScriptDirectory.from_config(alembic_config(settings.database_url))
                    .get_heads())
        if current_revisions(settings.database_url) != heads:
            raise Problem("REPORTBOT_DATABASE_URL: the database schema is not up to date; "
                          "run `reportbot db upgrade` first")


def _check_port(host: str, port: int) -> None:
    """Refuse a port that is taken before anything claims to be serving on it."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise Problem(f"--host {host}: not an address of this machine") from None
    family, kind, proto, _name, address = infos[0]
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise Problem(f"--port {port}: {host}:{port} is already in use; choose "
                              "another port (make run PORT=8080)") from None
            raise Problem(f"--host {host} --port {port}: cannot listen there "
                          f"({exc.strerror})") from None


def _verbose() -> None:
    """Show the service's progress (serving, worker, polling) at INFO."""
    logging.getLogger().setLevel(logging.INFO)


@click.group(cls=ReportbotGroup)
@click.option("--debug", is_flag=True, envvar="REPORTBOT_DEBUG",
              help="Show tracebacks instead of one-line errors.")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """Report hate-related incidents to a social landlord, on any channel."""
    ctx.meta["reportbot.debug"] = debug
    ctx.obj = Runtime(ctx)
    ctx.call_on_close(ctx.obj.close)
    # Quiet by default, so the terminal chat starts with the greeting; commands that run
    # a service turn on INFO themselves.
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s "
                        "%(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int)
@click.option("--threads", default=4, show_default=True, type=int,
              help="Threads per worker (1 for gunicorn's sync workers).")
@click.pass_obj
def serve(runtime: Runtime, host: str, port: int, workers: int, threads: int) -> None:
    """Serve the web chat, webhooks, API and console with gunicorn."""
    _verbose()
    settings = runtime.settings()
    _check_port(host, port)
    runtime.migrate()
    if settings.metrics_token:
        metrics.use_worker_files(settings.instance_dir / "metrics")
    assembly = runtime.assembly()
    flask_app = create_app(assembly=assembly)
    assembly.services.db.dispose()  # each worker opens its own connections after the fork
    click.echo(f"reportbot serving {assembly.services.org.name} on http://{host}:{port}/chat")
    Server(flask_app, f"{host}:{port}", workers, threads,
           child_exit=metrics.worker_exited if settings.metrics_token else None).run()


@main.group()
def db() -> None:
    """Manage the database schema."""


@db.command("upgrade")
@click.pass_obj
def db_upgrade(runtime: Runtime) -> None:
    """Apply all migrations to the configured database."""
    _verbose()
    logging.getLogger("alembic.runtime.migration").setLevel(logging.INFO)  # each step
    upgrade_database(runtime.settings().database_url)
    click.echo("database schema is up to date")


@main.command("create-api-token")
@click.option("--name", required=True, help="Who or what will use the token.")
@SCOPE_OPTION
@click.pass_context
def create_api_token(ctx: click.Context, name: str, scopes: tuple[str, ...]) -> None:
    """Create a bearer token for the API; printed once, alone on the last line."""
    ctx.invoke(create_token, name=name, scopes=scopes)


@main.command()
@click.pass_obj
def chat(runtime: Runtime) -> None:
    """Make a report in this terminal, through the same flow as every channel."""
    # The person at the prompt is making a report; operational warnings are not for them.
    logging.getLogger().setLevel(logging.ERROR)
    runtime.migrate()
    runtime.channels().get("terminal").run()


@main.command()
@click.pass_obj
def worker(runtime: Runtime) -> None:
    """Deliver queued messages and notifications, and expire abandoned conversations."""
    _verbose()
    runtime.migrate()
    worker_loop.run(runtime.assembly())


@main.command()
@click.pass_obj
def expire(runtime: Runtime) -> None:
    """Wipe the answers of conversations abandoned longer than the expiry period."""
    runtime.migrate()
    count = runtime.assembly().runner.purge_expired()
    click.echo(f"expired {count} abandoned conversation(s)")


main.add_command(create_user)
main.add_command(staff)
main.add_command(api_tokens)
main.add_command(telegram.commands)
main.add_command(monitoring)
for _command in maintenance_commands:
    main.add_command(_command)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

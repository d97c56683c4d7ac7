"""The one place that knows every channel: assemble the application; no I/O at import.

`assemble(services)` builds the conversation runner, the ports channels are given, and the
registry of configured channels; `create_app()` turns an assembly into a Flask app. The
worker and the CLI read the same assembly, so a channel is registered here and nowhere
else.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import Flask

from bot import api, console, metrics, openapi, web_defaults, webhook_events, websecurity
from bot.delivery import Delivery
from bot.media import MediaInbox
from bot.runner import ConversationRunner
from bot.services import Services, build_services
from bot.settings import Settings
from bot.voice_config import VoiceLine
from channels import telegram
from channels.base import Channel, ChannelPorts, Channels
from channels.telegram import TelegramChannel
from channels.terminal import Terminal
from channels.twilio import TwilioChannel
from channels.twilio.voice import VoiceChannel
from channels.webchat import WebChat

MAX_REQUEST_BYTES = 256 * 1024


@dataclass(frozen=True)
class Assembly:
    """The services, the conversation runner and the configured channels, built once."""

    services: Services
    runner: ConversationRunner
    channels: Channels


def assemble(services: Services) -> Assembly:
    """Build the runner, the channels' ports and every configured channel."""
    settings = services.settings
    kinds: list[type] = [WebChat, Terminal]
    if settings.twilio is not None:
        kinds.append(TwilioChannel)
    if settings.telegram is not None:
        kinds.append(TelegramChannel)
    line = voice_line(services)
    if line is not None:
        kinds.append(VoiceChannel)
    reply_later = frozenset(limits.name for kind in kinds for limits in kind.limits
                            if limits.can_reply_later)
    runner = ConversationRunner(services, reply_later)
    ports = ChannelPorts(runner=runner, delivery=Delivery(services, runner),
                         media=MediaInbox(services), catalogs=services.catalogs,
                         flow=services.flow, org=services.org)
    built: list[Channel] = [WebChat(ports, settings.webchat), Terminal(ports)]
    if settings.twilio is not None:
        built.append(TwilioChannel(ports, settings.twilio))
    else:
        logging.getLogger("reportbot.twilio").info(
            "SMS/WhatsApp is disabled: TWILIO_AUTH_TOKEN is not set")
    if line is not None and settings.twilio is not None:
        built.append(VoiceChannel(ports, settings.twilio, line))
    if settings.telegram is not None:
        built.append(TelegramChannel(ports, telegram.config_from(settings.telegram)))
    else:
        logging.getLogger("reportbot.telegram").info(
            "telegram: disabled (TELEGRAM_BOT_TOKEN is not set); /webhooks/telegram answers 404")
    return Assembly(services, runner, Channels(built))


def voice_line(services: Services) -> VoiceLine | None:
    """Return the phone line's settings when voice is configured (a number or [voice])."""
    twilio = services.settings.twilio
    if twilio is None or (twilio.voice_number is None and services.org.voice is None):
        return None
    return services.org.voice or VoiceLine()


def create_app(settings: Settings | None = None, services: Services | None = None,
               assembly: Assembly | None = None) -> Flask:
    """Build the application; configuration errors are raised here, at start-up."""
    if assembly is None:
        assembly = assemble(services or build_services(settings or Settings.from_env()))
    services = assembly.services
    public = services.settings.public_url or ""
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=services.settings.secret_keys[0],
        MAX_CONTENT_LENGTH=MAX_REQUEST_BYTES,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=public.startswith("https://"),
        JSON_SORT_KEYS=False,
    )
    app.extensions["reportbot"] = services
    app.extensions["reportbot.assembly"] = assembly
    exempt = [api.bp.name]
    for channel in assembly.channels:
        if channel.blueprint is not None:
            app.register_blueprint(channel.blueprint)
            if channel.webhooks:
                exempt.append(channel.blueprint.name)
    app.register_blueprint(api.bp)
    openapi.install(app, webhooks=webhook_events.DOCUMENTED)
    app.register_blueprint(console.bp)
    console.init_app(app, csrf_exempt=exempt)
    web_defaults.install(app, services)
    metrics.install(app, services, frozenset(
        channel.blueprint.name for channel in assembly.channels if channel.blueprint is not None))
    websecurity.install(app, services.settings)
    return app

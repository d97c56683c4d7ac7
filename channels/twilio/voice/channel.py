"""The phone line through Twilio Voice, as one channel object."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from flask import Blueprint
from twilio.twiml.voice_response import VoiceResponse

from channels.twilio.outbound import rest_client
from channels.twilio.voice import recordings
from channels.twilio.voice.calls import VOICE, Call, Calls
from channels.twilio.voice.texts import ReferenceTexter
from channels.twilio.voice.twiml import BASE, Speaker

if TYPE_CHECKING:
    from bot.sending import Sender
    from bot.settings import TwilioSettings
    from bot.voice_config import VoiceLine
    from channels.base import ChannelLimits, ChannelPorts
    from flows.messages import Outbound

log = logging.getLogger("reportbot.twilio.voice")


class VoiceChannel:
    """Calls to the landlord's number: signed voice webhooks, TwiML, recordings."""

    name = "twilio_voice"
    limits = (VOICE,)
    webhooks = True

    def __init__(self, ports: ChannelPorts, config: TwilioSettings, line: VoiceLine) -> None:
        self.ports = ports
        self.config = config
        self.line = line
        self.client = rest_client(config)
        self.texter = ReferenceTexter(ports.delivery, config, self.client)
        self.deleter = recordings.RecordingDeleter(self.client)
        self.calls = Calls(ports, config, line, self.texter)
        self.blueprint = Blueprint("twilio_voice", __name__)
        self.blueprint.add_url_rule(BASE, "incoming", self.calls.webhook, methods=["POST"])
        self.blueprint.add_url_rule(f"{BASE}/<action>", "action", self.calls.webhook,
                                    methods=["POST"])
        log.info("voice webhook enabled at %s", BASE)

    def parse(self, payload) -> Call:
        """Parse Twilio's voice form fields into the call they describe."""
        return Call(payload)

    def render(self, replies: Sequence[Outbound], limits: ChannelLimits = VOICE,
               locale: str = "en") -> str:
        """Render replies as TwiML (the first step of a call)."""
        response = VoiceResponse()
        Speaker(self.line, self.ports.catalogs, locale, 1).replies(response, replies)
        return str(response)

    def senders(self) -> dict[str, Sender]:
        """Return the deleter of recordings, and the sender of texts to callers."""
        senders: dict[str, Sender] = {recordings.DELETIONS: self.deleter}
        if self.config.sms_from:
            senders[VOICE.name] = self.texter
        return senders

    def fetch_media(self) -> int:
        """Fetch due call recordings, keep them sealed, delete them from Twilio."""
        return recordings.fetch_recordings(self.ports.media, self.config,
                                           self.ports.delivery, self.deleter)

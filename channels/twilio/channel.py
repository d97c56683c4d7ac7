"""SMS and WhatsApp through one Twilio account, as one channel object."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from flask import Blueprint

from bot.rota import staff_addresses
from channels.twilio import media, staff
from channels.twilio.messaging import LIMITS, PATH, SMS, WHATSAPP, Messaging, parse
from channels.twilio.outbound import TwilioSender, rest_client
from channels.twilio.render import render_replies

if TYPE_CHECKING:
    from bot.sending import Sender
    from bot.settings import TwilioSettings
    from channels.base import ChannelLimits, ChannelPorts
    from flows.messages import Inbound, Outbound

log = logging.getLogger("reportbot.twilio")


class TwilioChannel:
    """SMS and WhatsApp: the signed messaging webhook, outbound messages, MMS files."""

    name = "twilio"
    limits = (SMS, WHATSAPP)
    webhooks = True

    def __init__(self, ports: ChannelPorts, config: TwilioSettings) -> None:
        self.ports = ports
        self.config = config
        self.messaging = Messaging(ports, config)
        self.client = rest_client(config)
        self.blueprint = Blueprint("twilio", __name__)
        self.blueprint.add_url_rule(PATH, "messaging", self.messaging.webhook,
                                    methods=["POST"])
        log.info("SMS/WhatsApp webhook enabled at %s", PATH)

    def parse(self, payload: Mapping[str, str]) -> Inbound | None:
        """Parse Twilio's form fields into an Inbound, or None if it cannot be answered."""
        return parse(payload)

    def render(self, replies: Sequence[Outbound], limits: ChannelLimits = SMS) -> list[str]:
        """Render replies as SMS/WhatsApp bodies within Twilio's limits."""
        return render_replies(replies, LIMITS[limits.name], self.ports.catalogs)

    def senders(self) -> dict[str, Sender]:
        """Return the senders for each number configured, and for staff SMS."""
        send = TwilioSender(self.ports.delivery, self.config, self.client)
        senders: dict[str, Sender] = {}
        if self.config.sms_from:
            senders["sms"] = send
            senders[staff.KIND] = staff.staff_sender(
                self.client, self.config.sms_from, staff_addresses(self.ports.org, "sms"))
        if self.config.whatsapp_from:
            senders["whatsapp"] = send
        return senders

    def fetch_media(self) -> int:
        """Fetch due MMS and WhatsApp attachments."""
        return media.fetch_pending_media(self.ports.media, self.config)

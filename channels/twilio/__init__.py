"""SMS and WhatsApp through Twilio: webhook, rendering, outbound messages, media."""

from channels.twilio.channel import TwilioChannel

__all__ = ["TwilioChannel"]

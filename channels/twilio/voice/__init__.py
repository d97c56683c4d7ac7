"""The out-of-hours phone line through Twilio Voice: webhooks, TwiML, recordings."""

from channels.twilio.voice.channel import VoiceChannel

__all__ = ["VoiceChannel"]

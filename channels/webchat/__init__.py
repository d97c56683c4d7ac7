"""The web chat: the page at /chat and the small JSON API it uses."""

from channels.webchat.channel import LIMITS, WebChat

__all__ = ["LIMITS", "WebChat"]

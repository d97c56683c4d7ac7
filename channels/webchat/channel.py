"""The web chat: the page at /chat and the small JSON API it uses.

Views verify, parse, hand off to the conversation runner and return; nothing else. The
session token in the URL is the resident's only credential, so the JSON API needs no CSRF
token (`webhooks = True`).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from typing import Any

from flask import Blueprint, jsonify, render_template, request

from channels.base import ChannelLimits, ChannelPorts
from flows.messages import Inbound, Outbound

LIMITS = ChannelLimits(name="webchat", max_text=5000, buttons=True, can_reply_later=False)


def gettext(message: str) -> str:
    """Mark a message for extraction; it is translated when the reply is made."""
    return message


_TOKEN = re.compile(r"^[A-Za-z0-9_-]{32,64}$")
_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
MAX_TEXT = 5000
MAX_CHOICES = 20
GONE = gettext("This conversation has ended or does not exist. Please start a new report.")


class WebChat:
    """The web chat channel: a page, and a JSON API keyed by an opaque session token."""

    name = "webchat"
    limits = (LIMITS,)
    webhooks = True

    def __init__(self, ports: ChannelPorts) -> None:
        self.ports = ports
        self.blueprint = self._routes()

    def parse(self, payload: tuple[str, Any]) -> Inbound | tuple[str, dict]:
        """Parse (token, JSON body) into an Inbound, or say why not (msgid, values)."""
        token, body = payload
        if not isinstance(body, dict):
            return gettext("The request body must be a JSON object."), {}
        text = body.get("text", "")
        choices = body.get("choices")
        choice = body.get("choice")
        client_id = body.get("client_id")
        if not isinstance(text, str):
            return gettext("text must be a string."), {}
        if len(text) > MAX_TEXT:
            return gettext("Please keep a message under %(limit)d characters."), \
                {"limit": MAX_TEXT}
        if choice is not None:
            if not isinstance(choice, str) or not _ID.match(choice):
                return gettext("choice must be a choice id."), {}
            choices = [choice]
        if choices is not None and (
            not isinstance(choices, list) or len(choices) > MAX_CHOICES
            or not all(isinstance(c, str) and _ID.match(c) for c in choices)
        ):
            return gettext("choices must be a list of choice ids."), {}
        if client_id is not None and (not isinstance(client_id, str)
                                      or not _ID.match(client_id)):
            return gettext("client_id must be a short id."), {}
        return Inbound(
            channel=LIMITS.name, sender=token,
            message_id=client_id or secrets.token_hex(16),
            text=text, choices=tuple(choices or ()),
        )

    def render(self, replies: Sequence[Outbound], limits: ChannelLimits = LIMITS
               ) -> list[dict]:
        """Return the replies in the web chat API's JSON shape."""
        return [m.as_json() for m in replies]

    def senders(self) -> dict:
        """Return no senders: the web chat can carry only replies."""
        return {}

    def fetch_media(self) -> int:
        """Return 0: web chat files arrive with the request."""
        return 0

    # ---- routes ----------------------------------------------------------------------

    def _routes(self) -> Blueprint:
        bp = Blueprint("webchat", __name__)
        bp.add_url_rule("/chat", "page", self.page, methods=["GET"])
        bp.add_url_rule("/api/chat/sessions", "open_session", self.open_session,
                        methods=["POST"])
        bp.add_url_rule("/api/chat/sessions/<token>/messages", "post_message",
                        self.post_message, methods=["POST"])
        return bp

    def page(self):
        """Serve the chat page in the browser's preferred enabled language."""
        catalogs, org = self.ports.catalogs, self.ports.org
        # ?lang= is the language the resident chose in the conversation; otherwise the
        # browser's.
        locale = (catalogs.negotiate(request.args.get("lang"))
                  or catalogs.negotiate(request.accept_languages.best) or "en")
        t = catalogs(locale)
        rtl = any(lang.code == locale and lang.rtl for lang in catalogs.languages)

        def translate(message: str, **values) -> str:
            text = t.gettext(message)
            return text % values if values else text

        return render_template(
            "chat.html", lang=locale, dir="rtl" if rtl else "ltr", _=translate,
            org_name=org.name_in(locale), quick_exit_url=org.quick_exit_url,
        )

    def open_session(self):
        """Start a conversation and return its opaque session token and first messages."""
        body = request.get_json(silent=True)
        if body is None and request.content_length:
            return self._error(400, "bad_request", gettext("The request body must be JSON."))
        language = (body or {}).get("language")
        if language is not None and not isinstance(language, str):
            return self._error(400, "bad_request",
                               gettext("language must be a language code."))
        token = secrets.token_urlsafe(32)
        hint = language or request.accept_languages.best
        result = self.ports.runner.open(LIMITS.name, token, language_hint=hint)
        return jsonify({"session": token, "messages": self.render(result.replies)}), 201

    def post_message(self, token: str):
        """Hand the resident's message to the conversation and return the replies."""
        if not _TOKEN.match(token):
            return self._error(404, "unknown_session", GONE)
        inbound = self.parse((token, request.get_json(silent=True)))
        if isinstance(inbound, tuple):
            return self._error(400, "bad_request", inbound[0], **inbound[1])
        result = self.ports.runner.handle(inbound, create=False)
        if result is None:
            return self._error(404, "unknown_session", GONE)
        return jsonify({"messages": self.render(result.replies), "done": result.done})

    def _error(self, status: int, code: str, message: str, **values):
        """Answer with a kind message in the browser's language (msgids extracted by Babel)."""
        catalogs = self.ports.catalogs
        t = catalogs(catalogs.negotiate(request.accept_languages.best) or "en")
        text = t.gettext(message)
        return jsonify({"error": code, "message": text % values if values else text}), status

"""The web chat: the page at /chat and the small JSON API it uses.

Views verify, parse, hand off to the conversation runner and return; nothing else. The
session token in the URL is the resident's only credential, so the JSON API needs no CSRF
token (`webhooks = True`).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from flask import Blueprint, jsonify, render_template, request
from pydantic import ValidationError

from bot import filetypes
from bot.openapi import operation, problem
from bot.ratelimit import HOUR, WEBCHAT_ADDRESS
from bot.turns import RateLimit
from bot.websecurity import client_address
from channels.base import ChannelLimits, ChannelPorts
from channels.webchat.schema import (
    MAX_TEXT,
    ChatMessage,
    OpenSession,
    Replies,
    SendMessage,
    SessionOpened,
    UploadFile,
)
from flows.messages import Inbound, Media, Outbound

if TYPE_CHECKING:
    from bot.settings import WebChatSettings

LIMITS = ChannelLimits(name="webchat", max_text=5000, buttons=True, can_reply_later=False)


def gettext(message: str) -> str:
    """Mark a message for extraction; it is translated when the reply is made."""
    return message


_TOKEN = re.compile(r"^[A-Za-z0-9_-]{32,64}$")
GONE = gettext("This conversation has ended or does not exist. Please start a new report.")
# What to tell the page about a body that does not fit SendMessage, by the first bad field.
_REFUSALS = {
    "text": gettext("text must be a string."),
    "choice": gettext("choice must be a choice id."),
    "choices": gettext("choices must be a list of choice ids."),
    "client_id": gettext("client_id must be a short id."),
}
_TOO_LONG = gettext("Please keep a message under %(limit)d characters.")
_NO_FILE = gettext("Please choose a file to send.")
_TOO_BIG = gettext("This file is too big. Please send a file smaller than %(size)d MB.")
_WRONG_KIND = gettext("We cannot take this kind of file. Please send a photo, a video, a "
                      "voice recording or a PDF.")
# The multipart envelope around the file: boundaries, headers, a client id.
_FORM_OVERHEAD = 16 * 1024
# The same words as the SMS limit's notice (one msgid, already in every catalog).
SLOW_DOWN = gettext("You are sending messages faster than we can read them. Please wait a "
                    "minute, then send your last answer again.")
TOO_MANY_SESSIONS = gettext("Many reports have been started from this connection in the last "
                            "hour. Please wait a while, then try again. If you are in danger "
                            "now, call 999.")
_TOO_MANY = "Too many requests: wait for the number of seconds in `Retry-After`."


def _refusal(exc: ValidationError) -> tuple[str, dict]:
    """Return the kind message (msgid, values) for the first problem of a message body."""
    error = exc.errors(include_url=False)[0]
    field = str(error["loc"][0])
    if field == "text" and error["type"] == "string_too_long":
        return _TOO_LONG, {"limit": MAX_TEXT}
    return _REFUSALS[field], {}


class WebChat:
    """The web chat channel: a page, and a JSON API keyed by an opaque session token."""

    name = "webchat"
    limits = (LIMITS,)
    webhooks = True

    def __init__(self, ports: ChannelPorts, config: WebChatSettings) -> None:
        self.ports = ports
        self.config = config
        self.rate_limit = RateLimit(config.messages_per_minute, SLOW_DOWN)
        self.max_file_bytes = config.max_file_bytes
        self.blueprint = self._routes()

    def parse(self, payload: tuple[str, Any]) -> Inbound | tuple[str, dict]:
        """Parse (token, JSON body) into an Inbound, or say why not (msgid, values)."""
        token, body = payload
        if not isinstance(body, dict):
            return gettext("The request body must be a JSON object."), {}
        try:
            message = SendMessage.model_validate(body)
        except ValidationError as exc:
            return _refusal(exc)
        choices = [message.choice] if message.choice is not None else message.choices
        return Inbound(
            channel=LIMITS.name, sender=token,
            message_id=message.client_id or secrets.token_hex(16),
            text=message.text, choices=tuple(choices or ()),
        )

    def render(self, replies: Sequence[Outbound], limits: ChannelLimits = LIMITS
               ) -> list[dict]:
        """Return the replies in the web chat API's JSON shape."""
        return [ChatMessage.of(m).model_dump() for m in replies]

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
        bp.add_url_rule("/api/chat/sessions/<token>/files", "post_file", self.post_file,
                        methods=["POST"])
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

    @operation(tags=["web chat"], json=OpenSession, ok={201: SessionOpened}, errors={
        400: "The body is not JSON, not an object, or `language` is not text.",
        429: _TOO_MANY + " Too many sessions were started from this client address in the "
                         "last hour.",
    })
    def open_session(self):
        """Start a conversation.

        Returns its opaque session token and the first messages (the greeting, the 999
        reminder and the first question). The body is optional.
        """
        body = request.get_json(silent=True)
        if body is None and request.content_length:
            return self._error(400, "bad_request", gettext("The request body must be JSON."))
        try:
            wanted = OpenSession.model_validate(body if body is not None else {})
        except ValidationError:
            return self._error(400, "bad_request",
                               gettext("language must be a language code."))
        verdict = self.ports.runner.allow(WEBCHAT_ADDRESS, client_address(),
                                          self.config.sessions_per_hour, HOUR)
        if not verdict.allowed:
            return self._error(429, "too_many_requests", TOO_MANY_SESSIONS,
                               headers={"Retry-After": str(verdict.retry_after)})
        token = secrets.token_urlsafe(32)
        hint = wanted.language or request.accept_languages.best
        result = self.ports.runner.open(LIMITS.name, token, language_hint=hint)
        opened = SessionOpened(session=token, language=result.locale,
                               messages=[ChatMessage.of(m) for m in result.replies])
        return jsonify(opened.model_dump()), 201

    @operation(tags=["web chat"], json=SendMessage, ok={200: Replies}, errors={
        400: "The body is not a JSON object, or a field does not fit (the message says "
             "which, in the resident's language).",
        404: "No conversation has that token, or it has ended or expired.",
        429: _TOO_MANY + " This session sent too many messages this minute; the message "
                         "was not taken (send it again later).",
    }, path={"token": "The session token from `POST /api/chat/sessions`."})
    def post_message(self, token: str):
        """Send the resident's message and get the replies.

        A message carries typed `text`, one `choice` or several `choices`. A retry with
        the same `client_id` is answered with the same replies and changes nothing.
        """
        if not _TOKEN.match(token):
            return self._error(404, "unknown_session", GONE)
        inbound = self.parse((token, request.get_json(silent=True)))
        if isinstance(inbound, tuple):
            return self._error(400, "bad_request", inbound[0], **inbound[1])
        result = self.ports.runner.handle(inbound, create=False, rate_limit=self.rate_limit)
        if result is None:
            return self._error(404, "unknown_session", GONE)
        if result.refused:
            return self._error(429, "too_many_requests", SLOW_DOWN, locale=result.locale,
                               headers={"Retry-After": str(result.retry_after)})
        # `language` is the conversation's chosen language: the page changes its own
        # language only when this does, never because a reply is in another one.
        replies = Replies(messages=[ChatMessage.of(m) for m in result.replies],
                          done=result.done, language=result.locale)
        return jsonify(replies.model_dump())

    @operation(tags=["web chat"], form=UploadFile, ok={200: Replies}, errors={
        400: "No file in the form.",
        404: "No conversation has that token, or it has ended or expired.",
        413: "The file is larger than REPORTBOT_WEBCHAT_MAX_FILE_BYTES (10 MB by default).",
        415: "The file's content is not a kind we keep (photos, videos, voice recordings, "
             "PDF).",
    }, path={"token": "The session token from `POST /api/chat/sessions`."})
    def post_file(self, token: str):
        """Send a photo or file with the report, as evidence.

        It is kept sealed with its SHA-256, like files from the other channels, and the
        replies thank the resident and ask the question again. The same file sent again
        in the conversation (a retry) is kept once.
        """
        if not _TOKEN.match(token):
            return self._error(404, "unknown_session", GONE)
        request.max_content_length = self.max_file_bytes + _FORM_OVERHEAD
        size_mb = max(1, self.max_file_bytes // (1024 * 1024))
        if (request.content_length or 0) > self.max_file_bytes + _FORM_OVERHEAD:
            return self._error(413, "request_entity_too_large", _TOO_BIG, size=size_mb)
        upload = request.files.get("file")
        if upload is None:
            return self._error(400, "bad_request", _NO_FILE)
        data = upload.stream.read(self.max_file_bytes + 1)
        if len(data) > self.max_file_bytes:
            return self._error(413, "request_entity_too_large", _TOO_BIG, size=size_mb)
        kind = filetypes.sniff(data) if data else None
        if kind is None:
            return self._error(415, "unsupported_media_type", _WRONG_KIND)
        message_id = "file:" + hashlib.sha256(data).hexdigest()
        inbound = Inbound(channel=LIMITS.name, sender=token, message_id=message_id,
                          media=(Media(kind.mime, data=data),))
        result = self.ports.runner.handle(inbound, create=False, rate_limit=self.rate_limit)
        if result is None:
            return self._error(404, "unknown_session", GONE)
        replies = Replies(messages=[ChatMessage.of(m) for m in result.replies],
                          done=result.done, language=result.locale)
        return jsonify(replies.model_dump())

    def _error(self, status: int, code: str, message: str, locale: str | None = None,
               headers: dict[str, str] | None = None, **values):
        """Answer with a kind message in the session's language, else the browser's."""
        catalogs = self.ports.catalogs
        t = catalogs(locale or catalogs.negotiate(request.accept_languages.best) or "en")
        text = t.gettext(message)
        return problem(status, code, text % values if values else text, headers)

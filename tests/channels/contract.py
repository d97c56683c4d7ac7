"""The contract every channel keeps, as a test class each channel's tests subclass.

A subclass provides `resident(app, services)`: a `ChannelResident` that talks to the app
through the channel's real wire format (HTTP webhook bodies, the web chat API) and returns
the texts the resident would see. The contract then checks the promises every channel makes.
"""

from __future__ import annotations

from sqlalchemy import func, select

from bot.models import Case, InboundMessage
from bot.reference import normalise
from tests.helpers import VICTIM_REPORT

OPT_OUT_WORDS = ("STOP", "END", "QUIT", "CANCEL", "UNSUBSCRIBE", "STOPALL")


class ChannelResident:
    """One fictional resident on one channel."""

    def start(self) -> list[str]:
        """Open the conversation (send a first message) and return what the bot said."""
        raise NotImplementedError

    def says(self, text: str, message_id: str | None = None) -> list[str]:
        """Send typed text, optionally with a fixed provider message id (for retries)."""
        raise NotImplementedError


class ChannelContract:
    """Promises every channel keeps; subclass and implement `resident`."""

    channel: str = ""

    def resident(self, app, services) -> ChannelResident:  # pragma: no cover - abstract
        raise NotImplementedError

    def _case_count(self, services) -> int:
        with services.db.read() as session:
            return session.scalar(select(func.count()).select_from(Case))

    def test_full_report_reaches_acknowledgement(self, app, services):
        resident = self.resident(app, services)
        seen = resident.start()
        for message, _ in VICTIM_REPORT:
            seen = resident.says(message if isinstance(message, str) else message[0])
        with services.db.read() as session:
            [case] = session.scalars(select(Case)).all()
        assert case.channel == self.channel
        text = "\n".join(seen)
        assert any(normalise(word) == case.reference for word in
                   text.replace("\u2068", " ").replace("\u2069", " ").split())
        assert "999" in text

    def test_retried_delivery_changes_nothing(self, app, services):
        resident = self.resident(app, services)
        resident.start()
        first = resident.says("no", message_id="retry-me-1")
        again = resident.says("no", message_id="retry-me-1")
        assert again == first
        with services.db.read() as session:
            assert session.scalar(select(func.count()).select_from(InboundMessage).where(
                InboundMessage.message_key == "retry-me-1")) == 1
        after = resident.says("1")
        assert not any("did not understand" in t for t in after)

    def test_nonsense_gets_a_kind_reply_not_an_error(self, app, services):
        resident = self.resident(app, services)
        resident.start()
        for junk in ("🙂🙂🙂", "\u202eتجربة", "x" * 1600, "   "):
            replies = resident.says(junk)
            assert replies and all(r.strip() for r in replies)

    def test_never_asks_for_opt_out_words(self, app, services):
        resident = self.resident(app, services)
        seen = resident.start()
        for message, _ in VICTIM_REPORT:
            seen += resident.says(message if isinstance(message, str) else message[0])
        words = {w.strip(".,:;!?()\"'").upper() for text in seen for w in text.split()}
        assert not words & set(OPT_OUT_WORDS)

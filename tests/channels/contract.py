"""The contract every channel keeps, as a test class each channel's tests subclass.

A subclass provides `resident(app, services)`: a `ChannelResident` that talks to the app
through the channel's real wire format (HTTP webhook bodies, the web chat API) and returns
the texts the resident would see. The contract then checks the promises every channel makes.
"""

from __future__ import annotations

from sqlalchemy import func, select

from bot.models import Case, Consent, InboundMessage
from bot.reference import normalise
from tests.helpers import (
    ANONYMOUS_REPORT,
    DANGER_REPORT,
    NOT_NOW,
    THIRD_PARTY_REPORT,
    VICTIM_DETAILS,
    VICTIM_REPORT,
)

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

    def _play(self, resident: ChannelResident, transcript) -> list[str]:
        """Type each message of a transcript; return everything the bot said."""
        seen: list[str] = []
        for message, _ in transcript:
            replies = resident.says(message if isinstance(message, str) else message[0])
            assert replies and all(r.strip() for r in replies), message
            seen += replies
        return seen

    def _case(self, services) -> Case:
        with services.db.read() as session:
            return session.scalars(select(Case)).one()

    def test_victim_essentials_then_details_after_the_acknowledgement(self, app, services):
        resident = self.resident(app, services)
        resident.start()
        seen = self._play(resident, VICTIM_REPORT)
        case = self._case(services)
        assert case.channel == self.channel and case.hate_related and not case.anonymous
        text = " ".join(seen).replace("\u2068", " ").replace("\u2069", " ")
        assert any(normalise(word) == case.reference for word in text.split())
        assert "about 11 questions" in seen[-1] or "about 11 questions" in text
        assert case.incident_types == [] and case.answer_times.get("narrative")
        seen = self._play(resident, VICTIM_DETAILS)
        assert "added these details" in seen[-1]
        case = self._case(services)
        assert case.incident_types == ["name_calling", "threats"]
        assert services.store.details(case)["police_reference"] == "CR/0000/26"
        with services.db.read() as session:
            consents = {c.recipient: c.granted for c in session.scalars(select(Consent))}
        assert consents == {"police": True, "local_authority": False, "support_services": True}

    def test_anonymous_essentials_then_not_now(self, app, services):
        resident = self.resident(app, services)
        resident.start()
        seen = self._play(resident, ANONYMOUS_REPORT)
        assert any("cannot contact you" in t for t in seen)
        seen = self._play(resident, NOT_NOW)
        assert "sent as it is" in seen[-1]
        case = self._case(services)
        assert case.anonymous and case.strands == ["religion"]
        assert case.answers["incident_when"] == "ongoing"

    def test_third_party_essentials(self, app, services):
        resident = self.resident(app, services)
        resident.start()
        self._play(resident, THIRD_PARTY_REPORT)
        case = self._case(services)
        assert case.reporter_role == "third_party" and case.perceived_by == ["reporter",
                                                                              "victim"]
        assert services.store.details(case)["victim_details"] == "My dad, Pat Example, flat 3"

    def test_danger_essentials(self, app, services):
        resident = self.resident(app, services)
        resident.start()
        advice = resident.says("yes")
        assert any("999" in t and "55" in t for t in advice)
        self._play(resident, DANGER_REPORT[1:])
        case = self._case(services)
        assert case.immediate_danger and case.anonymous

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

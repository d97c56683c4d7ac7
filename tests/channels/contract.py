"""The contract every channel keeps, as a test class each channel's tests subclass.

A subclass provides `resident(app, services)`: a `ChannelResident` that talks to the app
through the channel's real wire format (HTTP webhook bodies, the web chat API) and returns
the texts the resident would see. The contract then checks the promises every channel makes.
"""

from __future__ import annotations

import re

from sqlalchemy import func, select

from bot.models import Case, Consent, DiaryEntry, InboundMessage
from bot.reference import normalise
from tests.helpers import (
    ANONYMOUS_REPORT,
    DANGER_REPORT,
    NOT_NOW,
    THIRD_PARTY_REPORT,
    VICTIM_DETAILS,
    VICTIM_REPORT,
    Resident,
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

    # ---- following up after the acknowledgement (issue 15) -----------------------------

    def _reported(self, app, services) -> tuple[ChannelResident, str, str]:
        """Report here; return the resident, the reference and the follow-up code."""
        resident = self.resident(app, services)
        resident.start()
        seen = " ".join(self._play(resident, VICTIM_REPORT))
        [code] = re.findall(r"follow-up code is \u2068?(\d{6})", seen)
        self._play(resident, NOT_NOW)
        return resident, self._case(services).reference, code

    def test_returning_on_the_same_identity_adds_a_diary_entry(self, app, services):
        resident, reference, _code = self._reported(app, services)
        assert reference in " ".join(resident.says("hello"))
        self._play(resident, [("1", None), ("They wrote on my door again.", None),
                              ("yesterday", None), ("1", None), ("1", None),
                              ("graffiti", None)])
        done = " ".join(resident.says("none"))
        assert f"added this to your report {reference}" in done.replace("\u2068", "") \
            .replace("\u2069", "")
        with services.db.read() as session:
            [entry] = session.scalars(select(DiaryEntry)).all()
        assert entry.channel == self.channel and entry.incident_types == ["graffiti"]
        assert "graffiti" in self._case(services).incident_types

    def test_returning_from_another_channel_with_reference_and_code(self, app, services):
        elsewhere = "sms" if self.channel != "sms" else "webchat"
        other = Resident(services, channel=elsewhere, sender="+447700900999")
        other.follow(ANONYMOUS_REPORT)
        [code] = re.findall(r"(\d{6})", other.said.replace("\u2068", "").replace("\u2069", ""))
        reference = self._case(services).reference
        resident = self.resident(app, services)
        resident.start()
        assert "follow-up code" in " ".join(resident.says(reference))
        assert reference in " ".join(resident.says(code))
        assert "has been received" in " ".join(resident.says("4"))

    def test_wrong_codes_lock_the_reference(self, app, services):
        other = Resident(services, channel="terminal", sender="elsewhere")
        other.follow(ANONYMOUS_REPORT)
        [code] = re.findall(r"(\d{6})", other.said.replace("\u2068", "").replace("\u2069", ""))
        reference = self._case(services).reference
        resident = self.resident(app, services)
        resident.start()
        wrong = "123456" if code != "123456" else "654321"
        for _ in range(4):
            resident.says(reference)
            assert "could not match" in " ".join(resident.says(wrong))
        resident.says(reference)
        assert "too many tries" in " ".join(resident.says(wrong))
        resident.says(reference)
        assert "too many tries" in " ".join(resident.says(code))

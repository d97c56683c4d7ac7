"""Property-based: anything a resident types, at any step, in any language, gets a
non-empty reply in the conversation's language and never an exception."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.services import build_services
from flows.messages import Inbound
from flows.places import place_from
from tests.conftest import make_settings
from tests.databases import migrated
from tests.helpers import VICTIM_DETAILS, VICTIM_REPORT, runner_of
from tests.test_languages import ALL, multilingual_org

# The essentials, the offer after the acknowledgement, and every optional detail.
ANSWERS = [m for m, _ in (*VICTIM_REPORT, *VICTIM_DETAILS)]

awkward_text = st.one_of(
    st.text(max_size=50),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=300),
    st.sampled_from(["", " ", "\x00\x01\x1b[31m", "\u202e\u2066evil\u2069", "🙂" * 400,
                     "ال" * 300, "9" * 5000, "x" * 20000, "1 2 3 4 5 6 7 8 9 10 11 12",
                     "back back", "STOP", "help", "%(org)s {reference} %s", "<script>"]),
)


@pytest.fixture(scope="module")
def multi_services(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("properties")
    built = make_settings(tmp, REPORTBOT_ORG_FILE=str(multilingual_org(tmp)))
    migrated(built.database_url)
    services = build_services(built)
    yield services
    services.db.dispose()


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(language=st.sampled_from(ALL), depth=st.integers(0, len(ANSWERS) - 1),
       junk=st.lists(awkward_text, min_size=1, max_size=3),
       as_choice=st.booleans())
def test_any_input_at_any_step_gets_a_reply_in_the_conversation_language(
        multi_services, language, depth, junk, as_choice):
    """Arbitrary text or button ids after `depth` good answers in `language`."""
    conversations = runner_of(multi_services)
    sender = uuid.uuid4().hex
    conversations.open("sms", sender)
    conversations.handle(Inbound(channel="sms", sender=sender, message_id=uuid.uuid4().hex,
                                 choices=(language,)))
    for answer in ANSWERS[:depth]:
        conversations.handle(Inbound(
            channel="sms", sender=sender, message_id=uuid.uuid4().hex,
            text=answer if isinstance(answer, str) else "",
            choices=tuple(answer) if isinstance(answer, list) else ()))
    for text in junk:
        inbound = Inbound(channel="sms", sender=sender, message_id=uuid.uuid4().hex,
                          text="" if as_choice else text,
                          choices=(text[:64],) if as_choice else ())
        result = conversations.handle(inbound)
        assert result.replies
        # The resident may change language (by command or by taking an offered one), so
        # the property is: every reply is in the conversation's language as now stored.
        locale = _stored_locale(multi_services, sender)
        for reply in result.replies:
            assert reply.text.strip()
            assert reply.lang == locale or reply.question == "language"


def _stored_locale(services, sender: str) -> str:
    from sqlalchemy import select

    from bot.models import Conversation

    with services.db.read() as session:
        return session.scalar(select(Conversation.locale).where(
            Conversation.sender_index == services.vault.index("sms", sender)))


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(language=st.sampled_from(ALL), depth=st.integers(0, len(ANSWERS) - 1),
       latitude=st.floats(-90, 90), longitude=st.floats(-180, 180),
       address=awkward_text, text=awkward_text)
def test_a_location_at_any_step_gets_a_reply_in_the_conversation_language(
        multi_services, language, depth, latitude, longitude, address, text):
    """A shared map pin (with any address text and any words) after `depth` answers."""
    conversations = runner_of(multi_services)
    sender = uuid.uuid4().hex
    conversations.open("sms", sender)
    conversations.handle(Inbound(channel="sms", sender=sender, message_id=uuid.uuid4().hex,
                                 choices=(language,)))
    for answer in ANSWERS[:depth]:
        conversations.handle(Inbound(
            channel="sms", sender=sender, message_id=uuid.uuid4().hex,
            text=answer if isinstance(answer, str) else "",
            choices=tuple(answer) if isinstance(answer, list) else ()))
    place = place_from(latitude, longitude, address, text[:50])
    result = conversations.handle(Inbound(channel="sms", sender=sender,
                                          message_id=uuid.uuid4().hex, text=text,
                                          location=place))
    assert result.replies and all(r.text.strip() for r in result.replies)
    assert all(r.lang == language for r in result.replies)

"""SMS rendering: GSM-7 and UCS-2 segment counts, look-alike folding, packing, and the
segment count of every prompt of the report flow and of the acknowledgement.

Run with ``pytest -s tests/channels/test_twilio_render.py`` to see the table.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.services import build_services
from bot.settings import DEMO_ORG_FILE
from channels.twilio.messaging import SMS
from channels.twilio.render import gsm_fold, pack, render_replies, segments
from flows.engine import ConversationState, TurnContext
from flows.messages import Choice, Outbound, Progress
from tests.conftest import make_settings
from tests.databases import migrated
from tests.helpers import VICTIM_REPORT, Resident


@pytest.mark.parametrize("text, encoding, units, count", [
    ("", "GSM-7", 0, 0),
    ("a" * 160, "GSM-7", 160, 1),
    ("a" * 161, "GSM-7", 161, 2),
    ("a" * 306, "GSM-7", 306, 2),
    ("a" * 307, "GSM-7", 307, 3),
    ("€" * 80, "GSM-7", 160, 1),  # extension characters cost two septets
    ("a" * 152 + "€", "GSM-7", 154, 1),
    ("a" * 152 + "€" + "a" * 152, "GSM-7", 306, 3),  # the escape pair is never split
    ("ł" * 70, "UCS-2", 70, 1),
    ("ł" * 71, "UCS-2", 71, 2),
    ("a" * 133 + "ł", "UCS-2", 134, 2),
    ("a" * 134 + "ł", "UCS-2", 135, 3),
    ("🙂" * 35, "UCS-2", 70, 1),  # outside the BMP: two UTF-16 units each
    ("🙂" * 36, "UCS-2", 72, 2),
    ("Zażółć", "UCS-2", 6, 1),
    ("Ça va? Où? àèéìòù ÄÖÜ ß", "GSM-7", 23, 1),
    ("ça va", "UCS-2", 5, 1),  # lower-case ç is not in GSM-7, only Ç
])
def test_segment_counts(text, encoding, units, count):
    result = segments(text)
    assert (result.encoding, result.units, result.count) == (encoding, units, count)


def test_look_alikes_are_used_only_when_they_make_the_text_gsm7():
    assert gsm_fold("• Yes – I’m “sure”…") == "- Yes - I'm \"sure\"..."
    assert gsm_fold("• Tak – łatwo") == "• Tak – łatwo"  # ł stays UCS-2 anyway
    assert gsm_fold("Ref \u2068AB12\u2069") == "Ref AB12"


def test_packing_keeps_order_and_never_costs_a_segment():
    assert pack(["one", "two", "", "three"]) == ["one\n\ntwo\n\nthree"]
    long_gsm = "a" * 150
    assert pack([long_gsm, "b" * 150]) == [f"{long_gsm}\n\n{'b' * 150}"]
    assert pack(["ł" * 60, "a" * 150]) == ["ł" * 60, "a" * 150]  # joined would be UCS-2
    assert all(len(p) <= 1600 for p in pack(["x" * 1000, "y" * 1000]))


def test_choices_are_numbered_and_multi_select_explained(services):
    question = Outbound(text="Which?", choices=(Choice("a", "Alpha"), Choice("b", "Beta")),
                        multiple=True, input="choice")
    [body] = render_replies((question,), SMS, services.catalogs)
    assert body.startswith("Which?\n") and "\n1. Alpha\n2. Beta" in body and "1 3" in body


def _ctx(services) -> TurnContext:
    return TurnContext(translate=services.catalogs, languages=services.catalogs.languages,
                       now=datetime(2026, 11, 23, 21, 0, tzinfo=UTC), channel="sms",
                       org=services.org, ports=None, can_reply_later=True)


@pytest.fixture
def every_language(tmp_path):
    settings = make_settings(tmp_path, REPORTBOT_ORG_FILE=str(DEMO_ORG_FILE))
    migrated(settings.database_url)
    built = build_services(settings)
    yield built
    built.db.dispose()


def test_segment_count_of_every_prompt_and_the_acknowledgement(services, every_language):
    """Print a table: one row per prompt, one column per language, SMS segments in each
    (a * marks UCS-2), then the English review and acknowledgement."""
    flow = every_language.flow
    catalogs = every_language.catalogs
    ctx = _ctx(every_language)
    table: dict[str, dict[str, str]] = {}
    for locale in catalogs.codes:
        table.setdefault("greeting", {})[locale] = render_replies(
            flow.start(ctx, locale).replies, SMS, catalogs)[0]
        for step in flow.steps:
            state = ConversationState(locale=locale)
            [body] = render_replies((flow.ask(step, state, ctx),), SMS, catalogs)
            table.setdefault(step.id, {})[locale] = body
        # The offer after the acknowledgement, for a named victim (the most questions).
        state = ConversationState(locale=locale, answers={"reporter_role": "victim",
                                                          "anonymous": "named"})
        [body] = render_replies((flow.details_offer(state, ctx),), SMS, catalogs)
        table.setdefault("details_offer", {})[locale] = body
    print(f"\n{'prompt':26}" + "".join(f"{code:>5}" for code in catalogs.codes))
    for name, row in table.items():
        cells = []
        for code in catalogs.codes:
            seg = segments(row[code])
            cells.append(f"{seg.count}{'*' if seg.encoding == 'UCS-2' else ' '}".rjust(5))
            assert 0 < len(row[code]) <= 1600
        print(f"{name:26}" + "".join(cells))

    resident = Resident(services, channel="sms", sender="+447700900123")
    finals: list[tuple[str, str]] = []
    for message, _ in VICTIM_REPORT:
        resident.says(message if isinstance(message, str) else message[0])
        if resident.asked in ("review", "details_offer"):
            label = "ack" if resident.asked == "details_offer" else "review"
            finals += [(f"en {label} #{i + 1}", body) for i, body in enumerate(
                render_replies(resident.replies, SMS, services.catalogs))]
    print(f"\n{'message':26} {'encoding':8} {'chars':>5} {'units':>5} {'segments':>8}")
    for name, body in finals:
        seg = segments(body)
        print(f"{name:26} {seg.encoding:8} {len(body):5} {seg.units:5} {seg.count:8}")
        assert 0 < len(body) <= 1600

    # Nothing in our own English wording forces UCS-2, and no question is long.
    english = {name: segments(row["en"]) for name, row in table.items()}
    assert all(seg.encoding == "GSM-7" for seg in english.values()), english
    assert max(seg.count for seg in english.values()) <= 3
    acks = [segments(b) for n, b in finals if " ack " in n]
    assert acks and all(a.encoding == "GSM-7" for a in acks)
    assert sum(a.count for a in acks) <= 10
    # In every language, every question fits in 3 segments even as UCS-2 (issue 5). The
    # opening (greeting with the language menu, sent once) is allowed 6.
    too_long = [(name, code, segments(body).count) for name, row in table.items()
                for code, body in row.items()
                if segments(body).count > (6 if name == "greeting" else 3)]
    assert too_long == []


STEP_3 = Progress(step=3, total=8, text="Step 3 of about 8", section="When and where")


def test_progress_is_shown_on_sms_where_it_costs_no_segment(services):
    question = Outbound(text="When did it happen?", question="incident_when",
                        choices=(Choice("today", "Today"),), input="choice", progress=STEP_3)
    [body] = render_replies((question,), SMS, services.catalogs)
    assert body == "(Step 3 of about 8)\nWhen did it happen?\n1. Today"


def test_progress_is_left_out_where_it_would_cost_a_segment(services):
    text = "a" * (160 - len("\n1. Today"))  # exactly one segment without progress
    question = Outbound(text=text, question="q", choices=(Choice("today", "Today"),),
                        input="choice", progress=STEP_3)
    [body] = render_replies((question,), SMS, services.catalogs)
    assert "Step 3" not in body and segments(body).count == 1

"""The essentials path and the details phase as the engine exposes them to other channels
(a voice call runs only the essentials; a follow-up menu can start the details later)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from bot.i18n import Catalogs
from flows.engine import ConversationState, Phase, TurnContext
from flows.errors import FlowDefinitionError
from flows.messages import Inbound
from flows.report import REPORT_STEPS, SECTIONS, build_flow

ESSENTIALS = [
    "immediate_danger", "danger_advice", "reporter_role", "anonymous", "reporter_name",
    "victim_details", "victim_aware", "narrative", "incident_when", "incident_date",
    "location_type", "location", "perception", "perception_recheck", "strands",
    "perceived_by", "repair_needed", "repair_keep", "contact_method", "contact_details",
    "leave_message", "review",
]


class RecordingPorts:
    """The flow's side-effect port for a pure engine test: remembers what it was asked."""

    def __init__(self) -> None:
        self.details: list[tuple[str, object]] = []

    def submit_report(self, state):  # pragma: no cover - not reached in these tests
        raise AssertionError("no report is submitted here")

    def add_detail(self, state, step):
        self.details.append((step, state.answers[step]))


@pytest.fixture(scope="module")
def flow():
    return build_flow()


@pytest.fixture
def ctx():
    catalogs = Catalogs(["en"])
    return TurnContext(translate=catalogs, languages=catalogs.languages,
                       now=datetime(2026, 11, 23, 10, 0, tzinfo=UTC), channel="voice",
                       org=None, ports=RecordingPorts())


def test_the_essentials_are_marked_in_the_flow_definition(flow):
    assert [s.id for s in flow.essentials] == ESSENTIALS
    assert flow.essentials[-1].id == "review"
    # Everything the policy needs is still asked, before or after the acknowledgement.
    optional = [s.id for s in REPORT_STEPS if not s.essential]
    assert {"incident_types", "perpetrator_known", "evidence", "impact", "safe_times",
            "language_needs", "interview", "consent_police", "consent_council",
            "consent_support", "monitoring_offer"} <= set(optional)


def test_a_follow_up_can_begin_the_details_of_a_submitted_report(flow, ctx):
    state = ConversationState(phase=Phase.SUBMITTED, answers={
        "reporter_role": "victim", "anonymous": "named", "incident_types": ["threats"]})
    assert [s.id for s in flow.details_pending(state.answers)][:2] == [
        "perpetrator_known", "evidence"]
    turn = flow.begin_details(state, ctx)
    assert turn.state.phase is Phase.ADDING_DETAILS
    assert turn.replies[-1].question == "perpetrator_known"
    turn = flow.handle(turn.state, Inbound("voice", "x", "1", text="3"), ctx)
    assert ctx.ports.details == [("perpetrator_known", "unknown")]
    assert turn.replies[-1].question == "evidence"


def test_nothing_left_to_add_ends_at_once(flow, ctx):
    answers = {s.id: "x" for s in REPORT_STEPS if not s.essential}
    turn = flow.begin_details(ConversationState(answers=answers), ctx)
    assert turn.state.phase is Phase.SUBMITTED and turn.replies[-1].input == "none"


def test_the_review_step_must_be_essential(flow):
    steps = [replace(s, essential=False) if s.id == "review" else s for s in REPORT_STEPS]
    with pytest.raises(FlowDefinitionError, match="review step must be essential"):
        type(flow)(steps, SECTIONS, greeting=flow.greeting, complete=flow.complete,
                   help_text=flow.help_text, after_submit=flow.after_submit)

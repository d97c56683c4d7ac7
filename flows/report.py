"""The report flow: the questions the policy needs, in the order a frightened person can answer.

Policy references are in brackets. Before the acknowledgement only the essentials, what the
duty officer needs to act within one working day and to contact the resident safely (steps
marked ``essential=True``): safety first (999), who is reporting (2.4) and the victim's
details when it is someone else, name or anonymity, free recall in their own words, when
(one question that also covers "it keeps happening"), where, perception of prejudice (2.1)
with the gentle re-ask, damage or graffiti needing repair (4.8), safe contact (3.7), review
and submit, then the formal acknowledgement (3.6). Straight after it the resident is offered
the optional details (the other steps): incident types, the alleged perpetrator, evidence,
impact (7.x), safe times, interpreter or BSL, interview or visit, consent per recipient
(8.x) and the equality questions (13.4), each stored on the case as it arrives.

Nothing here performs I/O: the report is stored through `ctx.ports.submit_report`, which
returns a `Receipt`, and each detail through `ctx.ports.add_detail`.
"""

from __future__ import annotations

from typing import Any

from flows import places
from flows.acknowledgement import acknowledgement, isolate
from flows.contact import check_contact, contact_prompt
from flows.diary import diary_steps
from flows.engine import (
    N_,
    Answers,
    ConversationState,
    Flow,
    Kind,
    Option,
    Section,
    Step,
    Translator,
    TurnContext,
)
from flows.monitoring import MONITORING_STEPS, PREFER_NOT

__all__ = [
    "CONSENT_WORDING_VERSION", "MONITORING_STEPS", "PREFER_NOT", "REPORT_STEPS", "SECTIONS",
    "SIGNS_ANSWER", "STRANDS", "answer_text", "build_flow", "isolate", "perceived_strands",
]

CONSENT_WORDING_VERSION = "consent-v1"

STRANDS = ("ethnic_origin", "religion", "gender", "sexual_orientation", "age", "disability",
           "other")

# Kept beside the narrative: the strands whose plain signs its words show (never the words).
SIGNS_ANSWER = "narrative.signs"

YES = Option("yes", N_("Yes"))
NO = Option("no", N_("No"))
NOT_SURE = Option("not_sure", N_("I'm not sure"), summary=N_("Not sure"))


# ---- predicates over the answers (pure) ---------------------------------------------

def _is(step: str, *values: str):
    return lambda a: a.get(step) in values


def _has(step: str, *values: str):
    return lambda a: bool(set(a.get(step) or ()) & set(values))


def _not_victim(a: Answers) -> bool:
    return a.get("reporter_role") not in (None, "victim")


def _named(a: Answers) -> bool:
    return a.get("anonymous") == "named"


def _perceives(a: Answers) -> bool:
    return a.get("perception") == "yes" or a.get("perception_recheck") == "yes"


def perceived_strands(a: Answers) -> list[str]:
    """Return the strands the reporter perceives, taking the gentle re-ask into account."""
    if not _perceives(a):
        return []
    return [s for s in a.get("strands") or [] if s in STRANDS]


def _needs_recheck(a: Answers) -> bool:
    return a.get("perception") in ("no", "not_sure") and bool(a.get(SIGNS_ANSWER))


def _signs(text: Any, ctx: TurnContext, locale: str) -> dict[str, list[str]]:
    """Find plain signs of prejudice in the narrative, in the resident's language and English."""
    if ctx.prejudice_signs is None or not isinstance(text, str):
        return {"signs": []}
    return {"signs": ctx.prejudice_signs(text, locale)}


# ---- prompts that depend on the answers ---------------------------------------------

def _perception_prompt(t: Translator, a: Answers) -> str:
    if a.get("reporter_role") == "victim":
        return t.gettext("Do you think this happened because of who you are, or who someone "
                         "thinks you are?")
    return t.gettext("Do you, or anyone else, think this happened because of who the person "
                     "is, or who someone thinks they are?")


def _recheck_prompt(t: Translator, a: Answers) -> str:
    return t.gettext("Thank you. Sometimes people are targeted for who they are, even if "
                     "nobody says so. Could that be part of this?")


# The summary speaks to the resident about their report ("you"); where the person it
# happened to is the resident, their part reads as "you" too.
_VICTIM_SUMMARIES = {"perception": N_("Because of who you are")}


def _review_prompt(t: Translator, a: Answers) -> str:
    lines = [t.gettext("Here is a summary of your report:")]
    for step in REPORT_STEPS:
        if step.summary is None or step.id not in a or not step.applies(a):
            continue
        label = _VICTIM_SUMMARIES.get(step.id, step.summary) \
            if a.get("reporter_role") == "victim" else step.summary
        lines.append(f"• {t.gettext(label)}: {answer_text(step, a[step.id], t)}")
    lines.append(t.gettext("Is this right? You can send it now or change something."))
    return "\n".join(lines)


def answer_text(step: Step, value, t: Translator, shorten: bool = True) -> str:
    """Return an answer as the summary and the case show it, in `t`'s language."""
    if value is None:
        return t.gettext("(skipped)")
    labels = {o.id: t.gettext(o.summary or o.label) for o in step.options}
    if isinstance(value, list):
        return ", ".join(labels.get(v, v) for v in value)
    if step.kind is Kind.CHOICE or (isinstance(value, str) and value in labels):
        return labels.get(value, value)
    text = " ".join(places.describe(value).split())
    return text if len(text) <= 80 or not shorten else text[:77] + "…"


# ---- the steps ----------------------------------------------------------------------

SECTIONS = (
    Section("safety", N_("Your safety")),
    Section("you", N_("About you")),
    Section("victim", N_("The person it happened to")),
    Section("incident", N_("What happened")),
    Section("when_where", N_("When and where")),
    Section("why", N_("Why it happened")),
    Section("repairs", N_("Damage and repairs")),
    Section("contact", N_("Contacting you")),
    Section("review", N_("Check and send")),
    Section("perpetrator", N_("Who did it")),
    Section("evidence", N_("Evidence")),
    Section("impact", N_("How it affects you")),
    Section("consent", N_("Sharing your report")),
    Section("monitoring", N_("Questions about you (optional)")),
)

STRAND_OPTIONS = (
    Option("ethnic_origin", N_("Race or nationality")),
    Option("religion", N_("Religion or belief")),
    Option("gender", N_("Gender or being trans")),
    Option("sexual_orientation", N_("Sexuality")),
    Option("age", N_("Age")),
    Option("disability", N_("Disability")),
    Option("other", N_("Another reason")),
)

ESSENTIAL_STEPS: tuple[Step, ...] = (
    Step("immediate_danger", N_("Are you in danger right now?"), Kind.CHOICE,
         (Option("yes", N_("Yes, I am in danger"), summary=N_("Yes")), NO), section="safety",
         summary=N_("In danger now"), essential=True),
    Step("danger_advice",
         N_("Please call 999 now. If you cannot talk, call 999 and press 55. When you are "
            "safe, do you want to carry on?"),
         Kind.CHOICE,
         (Option("continue", N_("Carry on now")), Option("later", N_("Not now"))),
         applies=_is("immediate_danger", "yes"), section="safety", essential=True,
         pauses={"later": N_("Please stay safe. When you are ready, send any message here "
                             "and we will carry on from where you left off.")}),
    Step("reporter_role", N_("Which best describes you?"), Kind.CHOICE, (
        Option("victim", N_("It happened to me"),
               summary=N_("The person it happened to")),
        Option("witness", N_("I saw or heard it"), summary=N_("A witness")),
        Option("third_party", N_("I'm reporting for family or a friend"),
               summary=N_("Family or a friend of theirs")),
        Option("agency", N_("I'm a support worker or agency"),
               summary=N_("A support worker or agency")),
        Option("staff", N_("I'm staff or a contractor"), summary=N_("Staff or a contractor")),
    ), section="you", summary=N_("You are"), essential=True),
    Step("anonymous",
         N_("Will you give your name? Without it we cannot contact you, and we may be able "
            "to do less."), Kind.CHOICE,
         (Option("named", N_("Yes, I'll give my name"), summary=N_("Yes")),
          Option("anonymous", N_("No, stay anonymous"), summary=N_("No, anonymous"))),
         section="you", summary=N_("Name given"), essential=True),
    Step("reporter_name", N_("What is your name?"), Kind.TEXT, applies=_named,
         section="you", summary=N_("Your name"), max_length=200, essential=True),
    Step("victim_details",
         N_("Who did it happen to? Please give their name, and their address or phone "
            "number if you know them."), Kind.TEXT, applies=_not_victim, optional=True,
         section="victim", summary=N_("The person it happened to"), max_length=500,
         essential=True),
    Step("victim_aware", N_("Does the person know about this report, and agree to it?"),
         Kind.CHOICE, (
        Option("agrees", N_("Yes, and they agree")),
        Option("knows", N_("They know, but have not agreed")),
        Option("unaware", N_("No, they don't know")),
        NOT_SURE,
    ), applies=_not_victim, section="victim", summary=N_("They know and agree"),
         essential=True),
    Step("narrative",
         N_("In your own words, what happened? Take your time, and include anything you "
            "think is important."), Kind.TEXT, section="incident",
         summary=N_("What happened"), max_length=4000, essential=True, derive=_signs),
    Step("incident_when", N_("When did it happen?"), Kind.CHOICE, (
        Option("today", N_("Today")),
        Option("yesterday", N_("Yesterday")),
        Option("this_week", N_("Earlier this week")),
        Option("earlier", N_("Before that")),
        Option("ongoing", N_("It keeps happening")),
    ), section="when_where", summary=N_("When"), essential=True),
    Step("incident_date", N_("Roughly when was it? For example, a date or \"last month\"."),
         Kind.TEXT, (Option("dont_know", N_("I don't know")),),
         applies=_is("incident_when", "earlier"), section="when_where",
         summary=N_("Date"), max_length=200, essential=True),
    Step("location_type", N_("Where did it happen?"), Kind.CHOICE, (
        Option("home", N_("At or near the home")),
        Option("communal", N_("Shared area, like stairs or a lift")),
        Option("estate", N_("On the estate or street")),
        Option("online", N_("Online, phone or text")),
        Option("elsewhere", N_("Somewhere else")),
    ), section="when_where", summary=N_("Where"), essential=True),
    Step("location", N_("What is the address, or the name of the estate or street?"),
         Kind.TEXT, applies=lambda a: a.get("location_type") not in (None, "online"),
         optional=True, section="when_where", summary=N_("Address"), max_length=300,
         essential=True, place=True),
    Step("perception", _perception_prompt, Kind.CHOICE, (YES, NO, NOT_SURE), section="why",
         summary=N_("Because of who they are"), essential=True),
    Step("perception_recheck", _recheck_prompt, Kind.CHOICE, (YES, NO, NOT_SURE),
         applies=_needs_recheck, section="why", summary=N_("On reflection"), essential=True),
    Step("strands", N_("Because of what? Choose any that apply."), Kind.MULTI,
         STRAND_OPTIONS, applies=_perceives, section="why", summary=N_("Because of"),
         essential=True),
    Step("perceived_by", N_("Who thinks this happened because of who they are? Choose all "
                            "that apply."), Kind.MULTI, (
        Option("reporter", N_("I do"), summary=N_("You")),
        Option("victim", N_("The person it happened to")),
        Option("someone_else", N_("Someone else")),
    ), applies=lambda a: _not_victim(a) and bool(perceived_strands(a)), section="why",
         summary=N_("Who thinks so"), essential=True),
    Step("repair_needed", N_("Is there any damage or graffiti that needs repairing or "
                             "removing?"), Kind.CHOICE, (YES, NO, NOT_SURE),
         section="repairs", summary=N_("Repair needed"), essential=True),
    Step("repair_keep", N_("Should we leave it for now, so the police can see it? If you "
                           "are not sure, we will check first."), Kind.CHOICE,
         (Option("keep", N_("Yes, leave it for now")),
          Option("remove", N_("No, remove it soon")), NOT_SURE),
         applies=_is("repair_needed", "yes"), section="repairs",
         summary=N_("Keep for evidence"), essential=True),
    Step("contact_method", N_("How should we contact you?"), Kind.CHOICE, (
        Option("this_chat", N_("Message me here"), reply_channel_only=True,
               summary=N_("A message here")),
        Option("phone", N_("Phone call")),
        Option("sms", N_("Text message")),
        Option("email", N_("Email")),
        Option("letter", N_("Letter")),
    ), applies=_named, section="contact", summary=N_("Contact by"), essential=True),
    Step("contact_details", contact_prompt,
         Kind.TEXT, applies=lambda a: _named(a) and a.get("contact_method") in (
             "phone", "sms", "email", "letter"),
         section="contact", summary=N_("Contact details"), max_length=300, essential=True,
         check=check_contact),
    Step("leave_message", N_("If we cannot reach you, is it safe to leave a message?"),
         Kind.CHOICE, (YES, NO), applies=_named, section="contact",
         summary=N_("Leave a message"), essential=True),
    Step("review", _review_prompt, Kind.CHOICE, (
        Option("submit", N_("Send my report")),
        Option("change", N_("Change something")),
    ), section="review", essential=True),
)

# Offered after the acknowledgement; each answer is stored on the case as it arrives.
DETAIL_STEPS: tuple[Step, ...] = (
    Step("incident_types", N_("What kind of incident was it? Choose any that apply."),
         Kind.MULTI, (
        Option("name_calling", N_("Verbal abuse")),
        Option("threats", N_("Threats")),
        Option("harassment", N_("Harassment")),
        Option("assault_person", N_("Physical attack")),
        Option("damage_property", N_("Damage or fire")),
        Option("graffiti", N_("Graffiti")),
        Option("abusive_communication", N_("Letters, posters or calls")),
        Option("other", N_("Something else")),
    ), section="incident", summary=N_("Type")),
    Step("perpetrator_known", N_("Do you know who did it?"), Kind.CHOICE, (
        Option("known", N_("Yes, I know who"), summary=N_("Yes")),
        Option("seen", N_("I don't know them, but I saw them"),
               summary=N_("Not known, but seen")),
        Option("unknown", N_("No")),
    ), section="perpetrator", summary=N_("Know who did it")),
    Step("perpetrator_description",
         N_("Please tell us briefly who did it, or what they looked like. Only share what you "
            "are comfortable with."), Kind.TEXT,
         applies=_is("perpetrator_known", "known", "seen"), optional=True,
         section="perpetrator", summary=N_("About them"), max_length=1000),
    Step("evidence", N_("Do you have any evidence? Choose any that apply."), Kind.MULTI, (
        Option("photos", N_("Photos or videos")),
        Option("messages", N_("Messages or letters")),
        Option("police", N_("A police reference number")),
        Option("witnesses", N_("People who saw it")),
        Option("none", N_("None"), exclusive=True),
    ), section="evidence", summary=N_("Evidence")),
    Step("police_reference", N_("What is the police crime reference number?"), Kind.TEXT,
         applies=_has("evidence", "police"), optional=True, section="evidence",
         summary=N_("Police reference"), max_length=100),
    Step("impact", N_("How is this affecting you or others? Choose any that apply."),
         Kind.MULTI, (
        Option("unsafe_home", N_("Unsafe at home")),
        Option("health", N_("Health or wellbeing")),
        Option("children", N_("Children are affected")),
        Option("support_needs", N_("Extra support needed")),
        Option("prefer_not", N_("I'd rather not say"), exclusive=True),
    ), section="impact", summary=N_("Impact")),
    Step("safe_times", N_("When is it safe to contact you? For example \"weekday mornings\". "
                          "Skip if any time is fine."), Kind.TEXT, applies=_named,
         optional=True, section="contact", summary=N_("Safe times"), max_length=200),
    Step("language_needs", N_("Do you need an interpreter or British Sign Language (BSL)?"),
         Kind.CHOICE, (
             Option("none", N_("No")),
             Option("interpreter", N_("An interpreter")),
             Option("bsl", N_("BSL")),
             Option("other", N_("Other support, like large print")),
         ), applies=_named, section="contact", summary=N_("Language support")),
    Step("language_needs_detail", N_("Which language or support do you need?"), Kind.TEXT,
         applies=lambda a: _named(a) and a.get("language_needs") in ("interpreter", "other"),
         optional=True, section="contact", summary=N_("Support needed"), max_length=200),
    Step("interview", N_("Would you like to talk to one of our officers about this?"),
         Kind.CHOICE, (
             Option("visit", N_("Yes, a home visit")),
             Option("phone", N_("Yes, by phone")),
             Option("office", N_("Yes, somewhere else")),
             Option("no", N_("No, not now")),
         ), applies=_named, section="contact", summary=N_("Talk to an officer")),
    Step("consent_police", N_("May we share your report with the police if it helps deal with "
                              "it? We only share what is needed."), Kind.CHOICE, (YES, NO),
         section="consent", summary=N_("Share with police")),
    Step("consent_council", N_("May we share it with the local council if it helps?"),
         Kind.CHOICE, (YES, NO), section="consent", summary=N_("Share with council")),
    Step("consent_support", N_("May we pass your details to a support service for victims, "
                               "so they can offer you help?"), Kind.CHOICE,
         (YES, NO), section="consent", summary=N_("Share with support services")),
    *MONITORING_STEPS,
)

REPORT_STEPS: tuple[Step, ...] = (*ESSENTIAL_STEPS, *DETAIL_STEPS)

# The path most reports take, assumed only to estimate "step 3 of about 8" before the
# answers that decide it are given.
TYPICAL_ANSWERS = {"reporter_role": "victim", "anonymous": "named"}


# ---- greeting, help, acknowledgement ------------------------------------------------

def _greeting(ctx: TurnContext, t: Translator, locale: str) -> str:
    return t.gettext(
        "Hello. This is the confidential service of %(org)s for reporting hate incidents "
        "and abuse. In danger now? Call 999. If you cannot speak, call 999 and press 55."
    ) % {"org": ctx.org.name_in(locale)}


def _help(step: Step, t: Translator) -> str:
    return t.gettext(
        "Answer with a button, the number of an answer, or your own words. You can also "
        "type: back (the last question again), start again, language. If you are in "
        "danger, call 999."
    )


def _after_submit(state: ConversationState, t: Translator) -> str:
    return t.gettext(
        "Your report has been sent. Your reference is %(reference)s. To report something "
        "else, type: start again. If you are in danger, call 999."
    ) % {"reference": isolate(state.reference or "", state.locale)}


def build_flow() -> Flow:
    """Return the report flow, checked for consistency."""
    return Flow(
        REPORT_STEPS, SECTIONS, greeting=_greeting, complete=acknowledgement,
        help_text=_help, after_submit=_after_submit, assume=TYPICAL_ANSWERS,
        diary=diary_steps({s.id: s for s in REPORT_STEPS}),
    )

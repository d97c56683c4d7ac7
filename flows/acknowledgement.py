"""The formal acknowledgement (policy 3.6) and the support pack (4.3).

Composed in the resident's language from the receipt the case store returns: the
reference, that the report is confidential, who will contact them and by when (in words,
in the landlord's local time), the landlord's contacts, the 999 reminder and support
contacts. Left-to-right fragments are isolated inside right-to-left text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time

from flows.messages import Outbound
from flows.types import ConversationState, Translator, TurnContext


@dataclass(frozen=True)
class Receipt:
    """What the case store hands back once a report is safely stored."""

    reference: str
    received_at: datetime
    out_of_hours: bool
    first_contact_due: datetime
    action_plan_due: datetime
    hate_related: bool
    follow_up_code: str | None = None


RTL_LOCALES = frozenset({"ar", "ur", "fa", "he", "ps", "ckb", "yi"})


def isolate(fragment: str, locale: str) -> str:
    """Wrap a left-to-right fragment (a reference, a phone number) for right-to-left text."""
    return f"\u2068{fragment}\u2069" if locale.split("-")[0] in RTL_LOCALES else fragment


def format_deadline(instant: datetime, timezone: str, locale: str,
                    t: Translator) -> str:
    """Say a deadline in words in the resident's language, in the landlord's local time."""
    local = instant.astimezone(ZoneInfo(timezone))
    # Babel's "en" is American; the landlord is British.
    babel_locale = "en_GB" if locale == "en" else locale.replace("-", "_")
    return t.gettext("%(time)s on %(date)s") % {
        "time": format_time(local.time(), format="short", locale=babel_locale),
        "date": format_date(local.date(), format="full", locale=babel_locale),
    }


def acknowledgement(state: ConversationState, ctx: TurnContext,
                    t: Translator) -> tuple[Outbound, ...]:
    """Store the report and return the formal acknowledgement (3.6) and support pack (4.3)."""
    receipt: Receipt = ctx.ports.submit_report(state)
    state.reference = receipt.reference
    org = ctx.org
    loc = state.locale
    direction = "rtl" if loc.split("-")[0] in RTL_LOCALES else "ltr"
    a = state.answers
    deadline = format_deadline(receipt.first_contact_due, org.timezone, loc, t)

    first = [
        t.gettext("Thank you. Your report has been received and will be treated in "
                  "confidence."),
        t.gettext("Your reference number is %(reference)s. Please keep it.")
        % {"reference": isolate(receipt.reference, loc)},
    ]
    if receipt.follow_up_code:
        first.append(t.gettext("Your follow-up code is %(code)s. Keep it private: with your "
                               "reference number it lets you add to your report or read our "
                               "messages, on any of our channels.")
                     % {"code": isolate(receipt.follow_up_code, loc)})
    if receipt.follow_up_code and ctx.channel == "webchat":
        first.append(t.gettext("Leaving this site quickly clears this page, so please keep "
                               "your reference number and code somewhere safe: copy them, or "
                               "write them down."))
    if receipt.hate_related:
        first.append(t.gettext("We treat this as a hate incident and a high priority."))
    if a.get("anonymous") == "named":
        first.append(t.gettext("One of our officers will contact you by %(deadline)s.")
                     % {"deadline": deadline})
    else:
        first.append(t.gettext("An officer will look at your report by %(deadline)s. As you "
                               "did not give contact details, we cannot contact you: please "
                               "call us if you can, and quote your reference.")
                     % {"deadline": deadline})
    if receipt.out_of_hours:
        first.append(t.gettext("Our offices are closed now, so your report will be picked up "
                               "at the start of the next working day."))

    contact = [
        t.gettext("To contact us: phone %(phone)s, email %(email)s. Out of hours: "
                  "%(ooh)s.") % {"phone": isolate(org.phone, loc),
                                 "email": isolate(org.email, loc),
                                 "ooh": isolate(org.out_of_hours_phone, loc)},
        t.gettext("If you are in danger, call 999."),
    ]
    if a.get("repair_needed") == "yes":
        contact.append(t.gettext("We will arrange the repair or graffiti removal. Our "
                                 "repairs timescale: %(timescale)s")
                       % {"timescale": org.repairs_timescale_in(loc)})

    support = [t.gettext("Other help you can contact:")]
    for c in org.support_contacts:
        parts = [c.name_in(loc), isolate(c.phone, loc) if c.phone else "",
                 isolate(c.web, loc) if c.web else ""]
        line = " – ".join(p for p in parts if p)
        support.append(f"• {line}: {c.helps_with_in(loc)}")

    messages = ["\n".join(first), "\n".join(contact)]
    if len(support) > 1:
        messages.append("\n".join(support))
    return tuple(Outbound(text=m, lang=loc, dir=direction, input="none") for m in messages)

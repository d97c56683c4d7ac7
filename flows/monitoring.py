"""Optional equality monitoring (policy 13.4): offered among the details after the
acknowledgement, only to the person it happened to, each question with "I'd rather not say".

Answers are sealed with the personal fields and never shown in the review summary or to
officers on the case page; analysts see only counts.
"""

from __future__ import annotations

from flows.types import N_, Answers, Kind, Option, Step

YES = Option("yes", N_("Yes"))
NO = Option("no", N_("No"))
PREFER_NOT = Option("prefer_not", N_("I'd rather not say"), exclusive=True)


def _monitoring(a: Answers) -> bool:
    # Only the person it happened to answers for themselves; nobody is asked about another
    # person's ethnicity, religion, sexuality or health (special-category data).
    return a.get("reporter_role") == "victim" and a.get("monitoring_offer") == "yes"


MONITORING_STEPS: tuple[Step, ...] = (
    Step("monitoring_offer", N_("Would you answer a few optional questions about yourself? "
                                "They help us check we treat everyone fairly, and do not "
                                "change how we deal with your report."), Kind.CHOICE,
         (YES, Option("no", N_("No, skip them"))),
         applies=lambda a: a.get("reporter_role") == "victim", section="monitoring"),
    Step("monitoring_age", N_("How old are you?"), Kind.CHOICE, (
        Option("under_18", N_("Under 18")), Option("18_34", N_("18 to 34")),
        Option("35_54", N_("35 to 54")), Option("55_74", N_("55 to 74")),
        Option("75_plus", N_("75 or over")), PREFER_NOT,
    ), applies=_monitoring, section="monitoring"),
    Step("monitoring_ethnicity", N_("What is your ethnic group?"), Kind.CHOICE, (
        Option("asian", N_("Asian or Asian British")),
        Option("black", N_("Black, African or Caribbean")),
        Option("mixed", N_("Mixed or multiple groups")),
        Option("white", N_("White")),
        Option("other", N_("Another group")), PREFER_NOT,
    ), applies=_monitoring, section="monitoring"),
    Step("monitoring_religion", N_("What is your religion?"), Kind.CHOICE, (
        Option("none", N_("No religion")), Option("christian", N_("Christian")),
        Option("muslim", N_("Muslim")), Option("hindu", N_("Hindu")),
        Option("sikh", N_("Sikh")), Option("jewish", N_("Jewish")),
        Option("buddhist", N_("Buddhist")), Option("other", N_("Another religion")),
        PREFER_NOT,
    ), applies=_monitoring, section="monitoring"),
    Step("monitoring_disability", N_("Do you consider yourself disabled?"), Kind.CHOICE,
         (YES, NO, PREFER_NOT), applies=_monitoring, section="monitoring"),
    Step("monitoring_sexuality", N_("Which best describes your sexual orientation?"),
         Kind.CHOICE, (
             Option("straight", N_("Straight")), Option("gay_lesbian", N_("Gay or lesbian")),
             Option("bisexual", N_("Bisexual")), Option("other", N_("Another")), PREFER_NOT,
         ), applies=_monitoring, section="monitoring"),
    Step("monitoring_gender_identity", N_("Is your gender the same as the sex you were "
                                          "registered at birth?"), Kind.CHOICE,
         (YES, NO, PREFER_NOT), applies=_monitoring, section="monitoring"),
)

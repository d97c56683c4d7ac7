"""Victims' and perpetrators' profiles for monitoring (policy 13.4), counted without exposure.

The answers are special-category and criminal-offence data, so they stay sealed on their
cases: the victim's optional equality answers with the personal fields, the perpetrator
profile an officer records in `Case.perpetrator_enc`. Monitoring must still add them up in
SQL, for a year of 100,000 cases, without opening every case. So each case's contribution
is also counted in `profile_counts`: totals per calendar year, hate-related or not, with no
link back to any case. Every change that alters a contribution (a new case, the hate flag,
the perpetrator profile) moves the counts in the same transaction: `move(before, after)`.

`rebuild` recomputes the whole table from the sealed answers (`reportbot monitoring
rebuild`), for a database upgraded from before the table existed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.models import Case, ProfileCount
from bot.upsert import insert
from flows.report import MONITORING_STEPS

Key = tuple[int, bool, str, str, str]

# The victim's own optional answers, by dimension (the flow's step id without its prefix).
VICTIM_DIMENSIONS: dict[str, str] = {
    step.id.removeprefix("monitoring_"): step.id
    for step in MONITORING_STEPS if step.id != "monitoring_offer"
}
NOT_ANSWERED = "not_answered"

# What an officer may record about the alleged perpetrator(s), each answer optional.
PERPETRATOR_FIELDS: dict[str, tuple[tuple[str, str], ...]] = {
    "age": (("under_18", "Under 18"), ("18_34", "18 to 34"), ("35_54", "35 to 54"),
            ("55_74", "55 to 74"), ("75_plus", "75 or over"), ("mixed", "Mixed ages")),
    "gender": (("male", "Male"), ("female", "Female"), ("another", "Another gender"),
               ("mixed", "Mixed group")),
    "landlord_resident": (("yes", "Our resident"), ("no", "Not our resident"),
                          ("some", "Some are our residents")),
    "people": (("one", "One person"), ("two_three", "2 or 3 people"),
               ("four_plus", "4 or more people")),
}
PERPETRATOR_LABELS = {"age": "Age", "gender": "Gender",
                      "landlord_resident": "Our resident?", "people": "Number of people"}
NOT_RECORDED = "not_recorded"


def case_year(case: Case, timezone: str) -> int:
    """Return the calendar year the case was received in, in the landlord's time zone."""
    return case.received_at.astimezone(ZoneInfo(timezone)).year


def contributions(year: int, hate_related: bool, victim: Mapping | None,
                  perpetrator: Mapping | None) -> Counter[Key]:
    """Return what one case adds to the profile counts.

    Every case counts once per dimension, as its answer or as not answered, so a
    dimension's counts add up to the year's cases.
    """
    victim, perpetrator = victim or {}, perpetrator or {}
    counts: Counter[Key] = Counter()
    for dimension, step_id in VICTIM_DIMENSIONS.items():
        value = victim.get(step_id)
        counts[(year, hate_related, "victim", dimension,
                value if isinstance(value, str) and value else NOT_ANSWERED)] += 1
    for dimension, options in PERPETRATOR_FIELDS.items():
        value = perpetrator.get(dimension)
        known = {code for code, _label in options}
        counts[(year, hate_related, "perpetrator", dimension,
                value if value in known else NOT_RECORDED)] += 1
    return counts


def of_case(case: Case, vault, timezone: str, details: Mapping | None = None,
            perpetrator: Mapping | None = None) -> Counter[Key]:
    """Return a stored case's contribution, opening its sealed answers unless given."""
    if details is None:
        details = vault.open_json(case.details_enc) or {}
    if perpetrator is None:
        perpetrator = vault.open_json(case.perpetrator_enc) or {}
    return contributions(case_year(case, timezone), bool(case.hate_related), details,
                         perpetrator)


def move(session: Session, before: Counter[Key], after: Counter[Key]) -> None:
    """Change the counts from one contribution to another, in the caller's transaction."""
    deltas = Counter(after)
    deltas.subtract(before)
    changes = [(key, n) for key, n in deltas.items() if n]
    if not changes:
        return
    for (year, hate, subject, dimension, value), n in sorted(changes):
        statement = insert(session, ProfileCount).values(
            year=year, hate_related=hate, subject=subject, dimension=dimension,
            value=value, n=n)
        session.execute(statement.on_conflict_do_update(
            index_elements=["year", "hate_related", "subject", "dimension", "value"],
            set_={"n": ProfileCount.n + statement.excluded.n}))


def rebuild(session: Session, vault, timezone: str, batch: int = 1000) -> int:
    """Recompute every count from the sealed answers; return how many cases were read."""
    session.execute(delete(ProfileCount))
    total: Counter[Key] = Counter()
    seen = 0
    last_id = 0
    while True:
        cases = session.scalars(select(Case).where(Case.id > last_id).order_by(Case.id)
                                .limit(batch)).all()
        if not cases:
            break
        for case in cases:
            total.update(of_case(case, vault, timezone))
        seen += len(cases)
        last_id = cases[-1].id
    move(session, Counter(), total)
    return seen

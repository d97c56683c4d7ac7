"""The figures policy section 13 asks for, added up in SQL for a date range or a year.

Every figure is a GROUP BY in the database, so a year of 100,000 cases costs a few index
range scans, not a loop over rows: the monthly trend, strands (cases and mentions) by
incident type, areas, channels and languages, deadlines met (4.3, 4.4) with the median
working hours to first contact, closure outcomes, repeat victims, the victims' and
perpetrators' profiles (13.4, from the anonymous yearly counts of bot/profiles.py) and
satisfaction (13.1). Counts are of cases received in the period.

Nothing personal leaves this module: no reference, no free text, no single case's date.
The profiles and satisfaction are people's own answers, so counts from 1 to 4 are
suppressed (`bot/suppression.py`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, select, true
from sqlalchemy import case as when
from sqlalchemy.orm import Session

from bot.models import Case, Conversation, ProfileCount, SatisfactionSurvey
from bot.suppression import Cell, suppress

SCOPES = ("hate", "all")


@dataclass(frozen=True)
class Period:
    """Whole local days from `first` to `last`, as UTC instants [start, end)."""

    first: date
    last: date
    start: datetime
    end: datetime
    year: int | None = None

    @property
    def years(self) -> tuple[int, ...]:
        """Return the calendar years the period touches (the profiles are yearly)."""
        return tuple(range(self.first.year, self.last.year + 1))

    @property
    def label(self) -> str:
        """Return the period in words, e.g. "2026" or "1 Mar 2026 to 31 May 2026"."""
        if self.year is not None:
            return str(self.year)
        return f"{self.first:%-d %b %Y} to {self.last:%-d %b %Y}"


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def period(first: date, last: date, timezone: str, year: int | None = None) -> Period:
    """Return the period of whole local days from `first` to `last` inclusive."""
    if last < first:
        raise ValueError("the end of the period is before its start")
    tz = ZoneInfo(timezone)
    return Period(first, last, _midnight(first, tz),
                  _midnight(date.fromordinal(last.toordinal() + 1), tz), year)


def year_period(year: int, timezone: str) -> Period:
    """Return the calendar year `year` in the landlord's time zone."""
    return period(date(year, 1, 1), date(year, 12, 31), timezone, year)


def months(p: Period, timezone: str) -> list[tuple[str, datetime]]:
    """Return each month the period touches with the UTC instant it ends."""
    tz = ZoneInfo(timezone)
    out = []
    year, month = p.first.year, p.first.month
    while (year, month) <= (p.last.year, p.last.month):
        nxt = (year + 1, 1) if month == 12 else (year, month + 1)
        end = min(_midnight(date(*nxt, 1), tz), p.end)
        out.append((f"{year:04d}-{month:02d}", end))
        year, month = nxt
    return out


@dataclass
class Figures:
    """Everything the monitoring page, the exports and the annual report show."""

    period: Period
    scope: str
    cases: int = 0
    hate_cases: int = 0
    cases_with_strand: int = 0
    strand_mentions: int = 0
    trend: list[tuple[str, int, int]] = field(default_factory=list)
    strands: list[tuple[str, int]] = field(default_factory=list)
    types: list[tuple[str, int]] = field(default_factory=list)
    strand_types: dict[str, dict[str, int]] = field(default_factory=dict)
    areas: list[tuple[str, int]] = field(default_factory=list)
    channels: list[tuple[str, int]] = field(default_factory=list)
    languages: list[tuple[str, int]] = field(default_factory=list)
    first_contact: dict[str, int] = field(default_factory=dict)
    action_plan: dict[str, int] = field(default_factory=dict)
    median_hours_to_contact: float | None = None
    outcomes: list[tuple[str, int]] = field(default_factory=list)
    repeat_people: int = 0
    repeat_people_cases: int = 0
    said_happened_before: int = 0
    victims: dict[str, list[Cell]] = field(default_factory=dict)
    perpetrators: dict[str, list[Cell]] = field(default_factory=dict)
    satisfaction: list[Cell] = field(default_factory=list)
    report_again: list[Cell] = field(default_factory=list)
    surveys_asked: int = 0
    surveys_answered: int = 0
    average_satisfaction: float | None = None


def within(f: Figures, state: dict[str, int]) -> float | None:
    """Return the percentage of decided cases that met a deadline, or None if none decided."""
    decided = state.get("met", 0) + state.get("missed", 0)
    return round(100 * state.get("met", 0) / decided, 1) if decided else None


def _elements(dialect: str, column):
    """Return the JSON array `column` as a table of its text elements, per engine."""
    if dialect == "postgresql":
        return func.json_array_elements_text(column).table_valued("value").lateral()
    return func.json_each(column).table_valued("value")


def _pairs(session: Session, *query) -> list[tuple[str, int]]:
    rows = session.execute(*query).all()
    return sorted(((str(k) if k is not None else "", int(n)) for k, n in rows),
                  key=lambda kv: (-kv[1], kv[0]))


def figures(session: Session, p: Period, timezone: str, now: datetime,
            scope: str = "hate") -> Figures:
    """Add up the period's cases in the database; `scope` is "hate" or "all" cases."""
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}")
    dialect = session.get_bind().dialect.name
    base = [Case.received_at >= p.start, Case.received_at < p.end]
    if scope == "hate":
        base.append(Case.hate_related.is_(True))
    f = Figures(period=p, scope=scope)

    totals = session.execute(select(
        func.count(), func.coalesce(func.sum(when((Case.hate_related, 1), else_=0)), 0),
    ).where(*base)).one()
    f.cases, f.hate_cases = int(totals[0]), int(totals[1])

    ends = months(p, timezone)
    by_month = {label: (0, 0) for label, _end in ends}
    if len(ends) == 1:
        by_month[ends[0][0]] = (f.cases, f.hate_cases)
    else:
        month = when(*((Case.received_at < end, label) for label, end in ends[:-1]),
                     else_=ends[-1][0])
        for label, n, hate in _grouped(session, month, base, Case.hate_related):
            by_month[str(label)] = (int(n), int(hate or 0))
    f.trend = [(label, *by_month[label]) for label, _end in ends]

    strand = _elements(dialect, Case.strands)
    f.strands = _pairs(session, select(strand.c.value, func.count()).select_from(Case)
                       .join(strand, true()).where(*base).group_by(strand.c.value))
    f.strand_mentions = sum(n for _s, n in f.strands)
    named = _elements(dialect, Case.strands)
    f.cases_with_strand = session.scalar(
        select(func.count(func.distinct(Case.id))).select_from(Case).join(named, true())
        .where(*base)) or 0
    kind = _elements(dialect, Case.incident_types)
    f.types = _pairs(session, select(kind.c.value, func.count()).select_from(Case)
                     .join(kind, true()).where(*base).group_by(kind.c.value))
    strand2, kind2 = _elements(dialect, Case.strands), _elements(dialect, Case.incident_types)
    for s, k, n in session.execute(
            select(strand2.c.value, kind2.c.value, func.count()).select_from(Case)
            .join(strand2, true()).join(kind2, true()).where(*base)
            .group_by(strand2.c.value, kind2.c.value)).all():
        f.strand_types.setdefault(str(s), {})[str(k)] = int(n)

    f.areas = _pairs(session, select(Case.area, func.count()).where(*base)
                     .group_by(Case.area))
    f.channels = _pairs(session, select(Case.channel, func.count()).where(*base)
                        .group_by(Case.channel))
    f.languages = _pairs(session, select(Case.language, func.count()).where(*base)
                         .group_by(Case.language))
    f.first_contact = _sla(session, base, Case.first_contact_at, Case.first_contact_due, now)
    f.action_plan = _sla(session, base, Case.action_plan_at, Case.action_plan_due, now)
    f.median_hours_to_contact = _median(session, base, Case.first_contact_hours)
    f.outcomes = _pairs(session, select(Case.outcome, func.count()).where(
        *base, Case.status == "closed").group_by(Case.outcome))

    # The same person (phone number, chat) reporting as the victim more than once; people
    # who reported by other routes, or on two channels, cannot be matched.
    repeat = (select(func.count(Case.id).label("n"))
              .join(Conversation, Conversation.id == Case.conversation_id)
              .where(*base, Case.reporter_role == "victim")
              .group_by(Conversation.channel, Conversation.sender_index)
              .having(func.count(Case.id) > 1).subquery())
    people, their_cases = session.execute(select(
        func.count(), func.coalesce(func.sum(repeat.c.n), 0))).one()
    f.repeat_people, f.repeat_people_cases = int(people), int(their_cases)
    f.said_happened_before = session.scalar(select(func.count()).where(
        *base, Case.answers["ongoing"].as_string() == "ongoing")) or 0

    f.victims = _profile(session, p, scope, "victim")
    f.perpetrators = _profile(session, p, scope, "perpetrator")
    _satisfaction(session, base, f)
    return f


def _grouped(session: Session, expression, base, flag=None):
    """Count rows by an expression with bound values (a CASE over dates).

    Grouped in an outer query over a labelled subquery: PostgreSQL does not accept the same
    CASE in GROUP BY when its bound values are rendered as new parameters.
    """
    columns = [expression.label("key")]
    if flag is not None:
        columns.append(flag.label("flag"))
    inner = select(*columns).where(*base).subquery()
    counted = [inner.c.key, func.count()]
    if flag is not None:
        counted.append(func.sum(when((inner.c.flag, 1), else_=0)))
    return session.execute(select(*counted).group_by(inner.c.key)).all()


def _sla(session: Session, base, done, due, now: datetime) -> dict[str, int]:
    state = when((and_(done.is_(None), due < now), "missed"), (done.is_(None), "pending"),
                 (done <= due, "met"), else_="missed")
    counts = dict.fromkeys(("met", "missed", "pending"), 0)
    for name, n in _grouped(session, state, base):
        counts[str(name)] = int(n)
    return counts


def _median(session: Session, base, column) -> float | None:
    """Return the median of a column in SQL on both engines (no percentile_cont in SQLite)."""
    n = session.scalar(select(func.count(column)).where(*base, column.is_not(None))) or 0
    if not n:
        return None
    middle = session.scalars(select(column).where(*base, column.is_not(None))
                             .order_by(column).offset((n - 1) // 2)
                             .limit(1 if n % 2 else 2)).all()
    return round(sum(middle) / len(middle), 1)


def _profile(session: Session, p: Period, scope: str, subject: str) -> dict[str, list[Cell]]:
    query = (select(ProfileCount.dimension, ProfileCount.value, func.sum(ProfileCount.n))
             .where(ProfileCount.subject == subject, ProfileCount.year.in_(p.years))
             .group_by(ProfileCount.dimension, ProfileCount.value))
    if scope == "hate":
        query = query.where(ProfileCount.hate_related.is_(True))
    table: dict[str, dict[str, int]] = {}
    for dimension, value, n in session.execute(query).all():
        if n:
            table.setdefault(dimension, {})[value] = int(n)
    return {dimension: suppress(counts) for dimension, counts in sorted(table.items())}


def _satisfaction(session: Session, base, f: Figures) -> None:
    joined = (select(SatisfactionSurvey.satisfaction, func.count())
              .join(Case, Case.id == SatisfactionSurvey.case_id).where(*base))
    asked = session.execute(select(
        func.count(), func.count(SatisfactionSurvey.satisfaction),
        func.avg(SatisfactionSurvey.satisfaction))
        .join(Case, Case.id == SatisfactionSurvey.case_id).where(*base)).one()
    f.surveys_asked, f.surveys_answered = int(asked[0]), int(asked[1])
    scores = {str(score): int(n) for score, n in session.execute(
        joined.where(SatisfactionSurvey.satisfaction.is_not(None))
        .group_by(SatisfactionSurvey.satisfaction)).all()}
    f.satisfaction = suppress({str(i): scores.get(str(i), 0) for i in range(1, 6)},
                              keep_zeros=True)
    # An average of fewer than five answers would give away how those few felt.
    f.average_satisfaction = round(float(asked[2]), 2) if asked[2] is not None \
        and f.surveys_answered >= 5 else None
    again = {str(k): int(n) for k, n in session.execute(
        select(SatisfactionSurvey.report_again, func.count())
        .join(Case, Case.id == SatisfactionSurvey.case_id)
        .where(*base, SatisfactionSurvey.report_again.is_not(None))
        .group_by(SatisfactionSurvey.report_again)).all()}
    f.report_again = suppress({k: again.get(k, 0) for k in ("yes", "no", "not_sure")},
                              keep_zeros=True)

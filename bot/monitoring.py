"""The figures policy section 13 asks for, added up in SQL for a date range or a year.

Every figure is a GROUP BY in the database, in one statement that reads the period's
cases once, so a year of 100,000 cases costs one index range scan, not a loop over rows:
the monthly trend, strands (cases and mentions) by incident type, areas, channels and
languages, deadlines met (4.3, 4.4) with the median working hours to first contact,
closure outcomes, repeat victims, the victims' and perpetrators' profiles (13.4, from the
anonymous yearly counts of bot/profiles.py) and satisfaction (13.1). Counts are of cases
received in the period.

Nothing personal leaves this module: no reference, no free text, no single case's date.
The profiles and satisfaction are people's own answers, so counts from 1 to 4 are
suppressed (`bot/suppression.py`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import (
    JSON,
    BigInteger,
    Float,
    String,
    Text,
    and_,
    cast,
    func,
    literal,
    null,
    select,
    text,
    true,
    union_all,
)
from sqlalchemy import case as when
from sqlalchemy.orm import Session

from bot.models import Case, ProfileCount, SatisfactionSurvey
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


def _as_json(dialect: str, text_column):
    """Read serialised JSON text as JSON again (PostgreSQL needs the cast; SQLite does not)."""
    return cast(text_column, JSON) if dialect == "postgresql" else text_column


def _state(done, due, now: datetime):
    """Say whether a deadline was met, missed, or is still running."""
    return when((and_(done.is_(None), due < now), "missed"), (done.is_(None), "pending"),
                (done <= due, "met"), else_="missed")


def _row(kind: str, key=None, key2=None, n=None, x=None) -> list:
    """One row of the combined answer: (kind, key, key2, count, number)."""
    def text(value):
        return cast(value, String) if value is not None else null().cast(String)
    return [literal(kind, String).label("kind"), text(key).label("key"),
            text(key2).label("key2"),
            (cast(n, BigInteger) if n is not None else null().cast(BigInteger)).label("n"),
            (cast(x, Float) if x is not None else null().cast(Float)).label("x")]


def figures(session: Session, p: Period, timezone: str, now: datetime,
            scope: str = "hate") -> Figures:
    """Add up the period's cases in the database; `scope` is "hate" or "all" cases.

    One statement: the period's cases are read once into a narrow common table (an index
    range scan on the received time), and every figure is a GROUP BY over it, joined by
    UNION ALL, so a year of 100,000 cases is one pass, not twenty.
    """
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}")
    dialect = session.get_bind().dialect.name
    where = [Case.received_at >= p.start, Case.received_at < p.end]
    if scope == "hate":
        where.append(Case.hate_related.is_(True))
    ends = months(p, timezone)
    month = when(*((Case.received_at < end, label) for label, end in ends[:-1]),
                 else_=ends[-1][0]) if len(ends) > 1 else literal(ends[0][0], String)
    y = select(
        Case.id, Case.hate_related, Case.channel, Case.language, Case.area,
        (Case.status == "closed").label("closed"), Case.outcome, Case.conversation_id,
        Case.reporter_role, Case.first_contact_hours, Case.strands, Case.incident_types,
        month.label("month"),
        _state(Case.first_contact_at, Case.first_contact_due, now).label("fc"),
        _state(Case.action_plan_at, Case.action_plan_due, now).label("ap"),
        # The serialised answers, searched as text: parsing each case's whole JSON to read
        # one answer would cost more than every other figure together.
        cast(Case.answers, Text).like('%"ongoing": "ongoing"%').label("ongoing"),
    ).where(*where).cte("y").prefix_with("MATERIALIZED")

    def count_if(condition):
        return func.sum(when((condition, 1), else_=0))

    # Single-row figures in one pass: totals, deadlines, strands named, "happened before".
    singles = {"total": func.count(), "hate": count_if(y.c.hate_related),
               "ongoing": count_if(y.c.ongoing)}
    for clock in ("fc", "ap"):
        for state in ("met", "missed", "pending"):
            singles[f"{clock}_{state}"] = count_if(y.c[clock] == state)
    one = select(*(e.label(name) for name, e in singles.items())).select_from(y) \
        .cte("one").prefix_with("MATERIALIZED")
    # The plain dimensions in one pass: cases counted by every combination that occurs,
    # then each figure adds up the combinations.
    keys = (y.c.month, y.c.channel, y.c.language, y.c.area, y.c.outcome, y.c.closed,
            y.c.hate_related)
    dims = select(*keys, func.count().label("n")).group_by(*keys) \
        .cte("dims").prefix_with("MATERIALIZED")
    # The lists of strands and types take few distinct forms (["religion"], ...): count the
    # cases of each form first, then unnest only the forms, weighted by their counts.
    forms = select(cast(y.c.strands, Text).label("strands"),
                   cast(y.c.incident_types, Text).label("types"),
                   func.count().label("n")).group_by(cast(y.c.strands, Text),
                                                     cast(y.c.incident_types, Text)) \
        .cte("forms").prefix_with("MATERIALIZED")
    strand = _elements(dialect, _as_json(dialect, forms.c.strands))
    kind = _elements(dialect, _as_json(dialect, forms.c.types))
    strand2 = _elements(dialect, _as_json(dialect, forms.c.strands))
    kind2 = _elements(dialect, _as_json(dialect, forms.c.types))
    # A conversation is one resident on one channel: the same one reporting again.
    repeat = (select(func.count().label("n")).select_from(y)
              .where(y.c.reporter_role == "victim", y.c.conversation_id.is_not(None))
              .group_by(y.c.conversation_id).having(func.count() > 1).subquery())
    surveys = select(SatisfactionSurvey.satisfaction, SatisfactionSurvey.report_again) \
        .join(y, y.c.id == SatisfactionSurvey.case_id).cte("surveys")
    parts = [
        *(select(*_row(name, n=one.c[name])) for name in singles),
        select(*_row("month", dims.c.month, n=func.sum(dims.c.n),
                     x=func.sum(when((dims.c.hate_related, dims.c.n), else_=0))))
        .group_by(dims.c.month),
        *(select(*_row(name, dims.c[name], n=func.sum(dims.c.n))).group_by(dims.c[name])
          for name in ("channel", "language", "area")),
        select(*_row("outcome", dims.c.outcome, n=func.sum(dims.c.n)))
        .where(dims.c.closed).group_by(dims.c.outcome),
        select(*_row("strand", strand.c.value, n=func.sum(forms.c.n))).select_from(forms)
        .join(strand, true()).group_by(strand.c.value),
        select(*_row("named", n=func.sum(forms.c.n))).where(
            func.json_array_length(_as_json(dialect, forms.c.strands)) > 0),
        select(*_row("type", kind.c.value, n=func.sum(forms.c.n))).select_from(forms)
        .join(kind, true()).group_by(kind.c.value),
        select(*_row("strand_type", strand2.c.value, kind2.c.value, n=func.sum(forms.c.n)))
        .select_from(forms).join(strand2, true()).join(kind2, true())
        .group_by(strand2.c.value, kind2.c.value),
        select(*_row("median", x=_median(dialect, y))),
        select(*_row("repeat", n=func.count(), x=func.sum(repeat.c.n))).select_from(repeat),
        select(*_row("surveys", n=func.count(), x=func.avg(surveys.c.satisfaction)))
        .select_from(surveys),
        select(*_row("score", surveys.c.satisfaction, n=func.count()))
        .where(surveys.c.satisfaction.is_not(None)).group_by(surveys.c.satisfaction),
        select(*_row("again", surveys.c.report_again, n=func.count()))
        .where(surveys.c.report_again.is_not(None)).group_by(surveys.c.report_again),
    ]
    if dialect == "postgresql":
        # The planner overestimates the unnested JSON lists a hundredfold and would spend
        # seconds compiling this one-off statement to machine code; and the combinations of
        # a year's dimensions are grouped in memory (a few MB) rather than by sorting.
        session.execute(text("SET LOCAL jit = off"))
        session.execute(text("SET LOCAL work_mem = '64MB'"))
    rows: dict[str, list[tuple]] = {}
    for kind_, key, key2, n, x in session.execute(union_all(*parts)).all():
        rows.setdefault(kind_, []).append((key, key2, n, x))
    f = Figures(period=p, scope=scope)
    _fill(f, rows, ends)
    f.victims = _profile(session, p, scope, "victim")
    f.perpetrators = _profile(session, p, scope, "perpetrator")
    return f


def _median(dialect: str, y):
    """Return the median working hours to first contact, in SQL on either engine."""
    hours = y.c.first_contact_hours
    if dialect == "postgresql":
        return func.percentile_cont(0.5).within_group(hours)
    # SQLite has no percentile_cont: average the one or two middle rows of the ranking.
    ranked = select(hours.label("h"), func.row_number().over(order_by=hours).label("rn"),
                    func.count().over().label("c")).where(hours.is_not(None)).subquery()
    return select(func.avg(ranked.c.h)).where(ranked.c.rn.in_(
        [(ranked.c.c + 1) / 2, (ranked.c.c + 2) / 2])).scalar_subquery()


def _pairs(rows: list[tuple]) -> list[tuple[str, int]]:
    return sorted(((key or "", int(n)) for key, _k2, n, _x in rows),
                  key=lambda kv: (-kv[1], kv[0]))


def _fill(f: Figures, rows: dict[str, list[tuple]], ends) -> None:
    """Put the combined answer's rows into their figures."""
    def single(name: str) -> int:
        return int(rows[name][0][2] or 0)

    f.cases, f.hate_cases = single("total"), single("hate")
    by_month = {key: (int(n), int(x or 0)) for key, _k2, n, x in rows.get("month", [])}
    f.trend = [(label, *by_month.get(label, (0, 0))) for label, _end in ends]
    f.strands = _pairs(rows.get("strand", []))
    f.strand_mentions = sum(n for _s, n in f.strands)
    f.cases_with_strand = single("named")
    f.types = _pairs(rows.get("type", []))
    for strand, kind, n, _x in rows.get("strand_type", []):
        f.strand_types.setdefault(strand, {})[kind] = int(n)
    f.areas = _pairs(rows.get("area", []))
    f.channels = _pairs(rows.get("channel", []))
    f.languages = _pairs(rows.get("language", []))
    for name, target in (("fc", f.first_contact), ("ap", f.action_plan)):
        target.update({state: single(f"{name}_{state}")
                       for state in ("met", "missed", "pending")})
    median = rows["median"][0][3]
    f.median_hours_to_contact = round(float(median), 1) if median is not None else None
    f.outcomes = _pairs(rows.get("outcome", []))
    [(_k, _k2, people, their_cases)] = rows["repeat"]
    f.repeat_people, f.repeat_people_cases = int(people), int(their_cases or 0)
    f.said_happened_before = single("ongoing")
    [(_k, _k2, asked, average)] = rows["surveys"]
    scores = {key: int(n) for key, _k2, n, _x in rows.get("score", [])}
    f.surveys_asked = int(asked)
    f.surveys_answered = sum(scores.values())
    f.satisfaction = suppress({str(i): scores.get(str(i), 0) for i in range(1, 6)},
                              keep_zeros=True)
    # An average of fewer than five answers would give away how those few felt.
    f.average_satisfaction = round(float(average), 2) if average is not None \
        and f.surveys_answered >= 5 else None
    again = {key: int(n) for key, _k2, n, _x in rows.get("again", [])}
    f.report_again = suppress({k: again.get(k, 0) for k in ("yes", "no", "not_sure")},
                              keep_zeros=True)


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

"""The monitoring figures as sections a person reads: a title, a note, a chart, a table.

One list of sections feeds the monitoring page, the annual report and both exports, so
they can never disagree. Labels are the flow's own (strands, types, profile answers) in
the officer's language.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from babel import Locale

from bot.console import charts, wording
from bot.console.forms import OUTCOMES
from bot.monitoring import Figures, within
from bot.profiles import NOT_ANSWERED, NOT_RECORDED, PERPETRATOR_FIELDS, PERPETRATOR_LABELS
from bot.suppression import THRESHOLD, Cell, shown
from flows import survey
from flows.report import MONITORING_STEPS

NOT_SET = "Not set"
_DIMENSION_TITLES = {"age": "Age", "ethnicity": "Ethnic group", "religion": "Religion",
                     "disability": "Disabled", "sexuality": "Sexual orientation",
                     "gender_identity": "Gender same as registered at birth"}
_OUTCOMES = dict(OUTCOMES)


@dataclass
class Section:
    """One figure: its table (header and rows), an optional chart and a plain note."""

    id: str
    title: str
    header: list[str]
    rows: list[list[str]]
    note: str = ""
    chart: str | None = None
    chart_alt: str = ""
    parts: list[Section] = field(default_factory=list)


def _language_name(code: str) -> str:
    try:
        return Locale.parse(code.replace("-", "_")).get_display_name("en") or code
    except (ValueError, TypeError):
        return code


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value}%"


def _bars(section_id: str, title: str, pairs, what: str = "Cases", note: str = "",
          draw: bool = True) -> Section:
    rows = [[label, str(n)] for label, n in pairs]
    chart = charts.bars(title, pairs) if draw and pairs else None
    return Section(section_id, title, [title.split(" by ")[-1].capitalize()
                                       if " by " in title else "Value", what], rows, note,
                   chart, f"Bar chart: {title}. The same figures are in the table below.")


def sections(f: Figures, t) -> list[Section]:
    """Return the figures as sections, in the order the page and report show them."""
    scope_words = "hate-related cases" if f.scope == "hate" else "cases"
    out: list[Section] = []
    out.append(Section("totals", "Cases received", ["Measure", "Count"], [
        ["Cases received" if f.scope == "all" else "Hate-related cases received",
         str(f.cases)],
        ["of which hate-related", str(f.hate_cases)],
        ["Cases naming at least one strand", str(f.cases_with_strand)],
        ["Strand mentions (a case can name several)", str(f.strand_mentions)],
    ], f"Counts of {scope_words} received from {f.period.first:%-d %b %Y} to "
       f"{f.period.last:%-d %b %Y}. No personal details."))

    series = {"Hate-related": [hate for _m, _n, hate in f.trend]}
    if f.scope == "all":
        series = {"All cases": [n for _m, n, _h in f.trend], **series}
    out.append(Section(
        "trend", "Month by month", ["Month", "Cases", "Hate-related"],
        [[m, str(n), str(h)] for m, n, h in f.trend], "",
        charts.trend("Cases received each month", _month_names(f), series),
        "Line chart: cases received each month. The same figures are in the table below."))

    strands = [(", ".join(wording.labels_of("strands", [code], t)), n)
               for code, n in f.strands]
    out.append(_bars("strands", "Cases by strand", strands, note=(
        f"{f.cases_with_strand} cases named at least one strand, {f.strand_mentions} "
        f"strands in all. A case can name several strands, so each row counts the cases "
        f"naming that strand and the rows add up to {f.strand_mentions} mentions, not "
        f"{f.cases_with_strand} cases.")))

    type_codes = [code for code, _n in f.types]
    out.append(Section(
        "strand_types", "Strands by type of incident",
        ["Strand", *wording.labels_of("incident_types", type_codes, t)],
        [[wording.labels_of("strands", [s], t)[0],
          *(str(f.strand_types.get(s, {}).get(k, 0)) for k in type_codes)]
         for s, _n in f.strands],
        "Cases naming both the strand and the type. A case can name several of each, so "
        "it can be counted in more than one cell."))
    out.append(_bars("types", "Cases by type of incident",
                     [(wording.labels_of("incident_types", [c], t)[0], n)
                      for c, n in f.types],
                     note="A case can be of several types."))
    out.append(_bars("areas", "Cases by area", [(a or NOT_SET, n) for a, n in f.areas],
                     note="Areas come from the postcode given, or the officer sets them."))
    out.append(_bars("channels", "Cases by channel",
                     [(c.replace("_", " "), n) for c, n in f.channels]))
    out.append(_bars("languages", "Cases by language",
                     [(_language_name(c), n) for c, n in f.languages]))

    out.append(_deadlines(f))
    out.append(_bars("outcomes", "Closed cases by outcome",
                     [(_OUTCOMES.get(o, o.replace("_", " ") if o else NOT_SET), n)
                      for o, n in f.outcomes],
                     note="Cases received in the period that are now closed."))
    out.append(Section("repeat", "Repeat victims", ["Measure", "Count"], [
        ["People who reported as the victim more than once", str(f.repeat_people)],
        ["Their cases", str(f.repeat_people_cases)],
        ["Reports saying it has happened more than once", str(f.said_happened_before)],
    ], "People are matched by the phone number or chat they reported from; reports taken "
       "by staff, or made on two different channels, cannot be matched."))
    out.append(_profile("victims", "Victims' profile", f.victims, _victim_labels(t),
                        NOT_ANSWERED, "not answered", f))
    out.append(_profile("perpetrators", "Alleged perpetrators' profile", f.perpetrators,
                        {d: dict(o) for d, o in PERPETRATOR_FIELDS.items()}, NOT_RECORDED,
                        "not recorded", f, PERPETRATOR_LABELS))
    out.append(_satisfaction(f, t))
    return out


def _month_names(f: Figures) -> list[str]:
    """Return "Jan", "Feb"… for the chart, with the year when the period spans two."""
    one_year = len(f.period.years) == 1
    out = []
    for month, _n, _h in f.trend:
        year, number = month.split("-")
        name = date(int(year), int(number), 1).strftime("%b")
        out.append(name if one_year else f"{name} {year[2:]}")
    return out


def _deadlines(f: Figures) -> Section:
    fc, ap = f.first_contact, f.action_plan
    rows = [
        ["First contact within 1 working day (4.3)", str(fc["met"]), str(fc["missed"]),
         str(fc["pending"]), _pct(within(f, fc))],
        ["Action plan within 10 working days (4.4)", str(ap["met"]), str(ap["missed"]),
         str(ap["pending"]), _pct(within(f, ap))],
    ]
    median = "—" if f.median_hours_to_contact is None else \
        f"{f.median_hours_to_contact} working hours"
    return Section(
        "deadlines", "Deadlines met", ["Deadline", "Met", "Missed", "Still running",
                                       "Met, of those decided"], rows,
        f"Median time to first contact: {median}. Missed includes cases still waiting "
        "after their deadline.",
        charts.grouped("Deadlines met", ["First contact", "Action plan"], {
            "Met": [fc["met"], ap["met"]], "Missed": [fc["missed"], ap["missed"]],
            "Still running": [fc["pending"], ap["pending"]]}),
        "Bar chart: deadlines met and missed. The same figures are in the table below.")


def _victim_labels(t) -> dict[str, dict[str, str]]:
    labels: dict[str, dict[str, str]] = {}
    for step in MONITORING_STEPS:
        if step.id == "monitoring_offer":
            continue
        labels[step.id.removeprefix("monitoring_")] = {
            o.id: wording.option_label(step, o.id, t) for o in step.options}
    return labels


def _cells(cells: list[Cell], labels: dict[str, str], missing: str, missing_words: str
           ) -> list[list[str]]:
    return [[missing_words if c.value == missing else labels.get(c.value, c.value),
             c.shown] for c in cells]


def _profile(section_id: str, title: str, table: dict[str, list[Cell]],
             labels: dict[str, dict[str, str]], missing: str, missing_words: str,
             f: Figures, titles: dict[str, str] | None = None) -> Section:
    years = ", ".join(str(y) for y in f.period.years)
    parts = [Section(f"{section_id}_{dimension}",
                     (titles or _DIMENSION_TITLES).get(dimension, dimension),
                     ["Answer", "People"],
                     _cells(cells, labels.get(dimension, {}), missing, missing_words))
             for dimension, cells in table.items()]
    who = "victims who chose to answer the optional questions about themselves" \
        if section_id == "victims" else "what officers recorded about alleged perpetrators"
    return Section(section_id, f"{title}, {years}", [], [], (
        f"From {who}, counted for the whole calendar year{'s' if len(f.period.years) > 1 else ''} "
        f"{years}. Counts from 1 to {THRESHOLD - 1} are shown as \"fewer than {THRESHOLD}\"; "
        "where that alone could be worked out from the others, the next smallest is "
        "hidden too."), parts=parts)


def _satisfaction(f: Figures, t) -> Section:
    score_labels = {o.id: f"{o.id}: {t.gettext(o.label)}" for o in survey.SATISFACTION.options}
    again_labels = {o.id: t.gettext(o.label) for o in survey.REPORT_AGAIN.options}
    pairs = [(score_labels[c.value], c.count or 0) for c in f.satisfaction]
    drawable = f.satisfaction and not any(c.hidden for c in f.satisfaction) and any(
        n for _l, n in pairs)
    average = "—" if f.average_satisfaction is None else f"{f.average_satisfaction} out of 5"
    return Section(
        "satisfaction", "Satisfaction after closure", [], [],
        f"Surveys sent: {f.surveys_asked}; answered: {shown(f.surveys_answered)}; average "
        f"score: {average}. Asked only where the resident allowed contact on their channel "
        "and said a message is safe.",
        charts.bars("How satisfied residents were", pairs) if drawable else None,
        "Bar chart: satisfaction scores. The same figures are in the table below.",
        parts=[
            Section("satisfaction_scores", "How satisfied with how we dealt with it",
                    ["Score", "People"], [[score_labels[c.value], c.shown]
                                          for c in f.satisfaction]),
            Section("satisfaction_again", "Would report again", ["Answer", "People"],
                    [[again_labels.get(c.value, c.value), c.shown]
                     for c in f.report_again]),
        ])


def flat_rows(secs: list[Section]) -> list[list[str]]:
    """Return every figure as (section, row, column, value), for CSV and spreadsheets."""
    rows: list[list[str]] = []
    for section in secs:
        for part in [section, *section.parts]:
            name = part.title if part is section else f"{section.title}: {part.title}"
            for row in part.rows:
                for column, value in zip(part.header[1:], row[1:], strict=False):
                    rows.append([name, row[0], column, value])
    return rows

"""Monitoring for analysts and managers (policy 13): figures only, never a person's details.

`/console/reports` shows a year or any date range (monthly trend, strands by type, areas,
channels and languages, deadlines, outcomes, repeat victims, profiles, satisfaction) with
charts drawn on the server and a table beside each; the same figures download as CSV or
as a spreadsheet, and `/console/reports/annual` is the year's report, laid out to print.
Viewing and exporting are audited.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from flask import Response, abort, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

from bot import monitoring
from bot.console import audit
from bot.console.monitoring_view import Section, flat_rows, sections
from bot.console.web import ANALYSTS, bp, officer_translator, roles_required, services
from bot.models import Case, utcnow

if TYPE_CHECKING:
    from openpyxl import Workbook

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _choice() -> tuple[monitoring.Period, str]:
    """Read the period (a year, or from/to dates) and the scope from the query string."""
    s = services()
    tz = s.org.timezone
    args = request.args
    scope = args.get("scope") or "hate"
    if scope not in monitoring.SCOPES:
        abort(400)
    if args.get("from") or args.get("to"):
        try:
            first = date.fromisoformat(args.get("from", ""))
            last = date.fromisoformat(args.get("to", ""))
            return monitoring.period(first, last, tz), scope
        except ValueError:
            abort(400)
    today = utcnow().astimezone(ZoneInfo(tz)).date()
    year = args.get("year", type=int) or today.year
    if not 2000 <= year <= today.year + 1:
        abort(400)
    return monitoring.year_period(year, tz), scope


def _years(session, timezone: str) -> list[int]:
    first = session.scalar(select(func.min(Case.received_at)))
    this_year = utcnow().astimezone(ZoneInfo(timezone)).year
    start = first.astimezone(ZoneInfo(timezone)).year if first else this_year
    return list(range(this_year, start - 1, -1))


def _figures(action: str):
    """Compute the figures for the chosen period, recording who looked."""
    s = services()
    p, scope = _choice()
    with s.db.write() as session:
        figures = monitoring.figures(session, p, s.org.timezone, utcnow(), scope)
        years = _years(session, s.org.timezone)
        audit.record(session, current_user.username, action, scope=scope,
                     first=p.first.isoformat(), last=p.last.isoformat())
    return figures, sections(figures, officer_translator()), years


def _query(**extra) -> dict:
    keep = {k: v for k, v in request.args.items() if k in ("year", "from", "to", "scope")}
    return {**keep, **extra}


@bp.get("/reports")
@roles_required(*ANALYSTS)
def reports():
    """Show the monitoring page for a year or a date range."""
    figures, secs, years = _figures("figures_viewed")
    return render_template(
        "console/monitoring.html", f=figures, sections=secs, years=years,
        csv_url=url_for("console.reports_csv", **_query()),
        xlsx_url=url_for("console.reports_xlsx", **_query()),
        annual_url=url_for("console.annual_report", year=figures.period.year
                           or figures.period.last.year, scope=figures.scope))


@bp.get("/reports/annual")
@roles_required(*ANALYSTS)
def annual_report():
    """Show the year's report on hate-related cases (13.4), laid out to print as PDF."""
    if request.args.get("from") or request.args.get("to"):
        abort(400)
    figures, secs, _years = _figures("annual_report_viewed")
    return render_template("console/annual.html", f=figures, sections=secs,
                           org=services().org, generated=utcnow())


@bp.get("/reports.csv")
@roles_required(*ANALYSTS)
def reports_csv():
    """Export the figures of the chosen period as CSV; audited."""
    figures, secs, _years = _figures("figures_exported")
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["section", "row", "column", "value"])
    writer.writerows(flat_rows(secs))
    return Response(buffer.getvalue(), content_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{_filename(figures)}.csv"'})


@bp.get("/reports.xlsx")
@roles_required(*ANALYSTS)
def reports_xlsx():
    """Export the figures of the chosen period as a spreadsheet, a sheet per figure."""
    # openpyxl is imported here, not with the module: it is 15 MB in every worker that
    # would otherwise never make a spreadsheet.
    from openpyxl import Workbook

    figures, secs, _years = _figures("figures_exported")
    book = Workbook()
    book.active.title = "About"
    about = book.active
    about.append(["reportbot monitoring", services().org.name])
    about.append(["Period", figures.period.label])
    about.append(["Cases", "hate-related only" if figures.scope == "hate" else "all"])
    for section in secs:
        _sheet(book, section)
    buffer = io.BytesIO()
    book.save(buffer)
    return Response(buffer.getvalue(), content_type=XLSX, headers={
        "Content-Disposition": f'attachment; filename="{_filename(figures)}.xlsx"'})


def _sheet(book: Workbook, section: Section) -> None:
    from openpyxl.styles import Font

    # Sheet names: at most 31 characters and unique.
    sheet = book.create_sheet(section.title[:31])
    sheet.append([section.title])
    sheet["A1"].font = Font(bold=True, size=13)
    if section.note:
        sheet.append([section.note])
    for part in [section, *section.parts]:
        if not part.header:
            continue
        sheet.append([])
        if part is not section:
            sheet.append([part.title])
            sheet.cell(sheet.max_row, 1).font = Font(bold=True)
        sheet.append(part.header)
        for cell in sheet[sheet.max_row]:
            cell.font = Font(bold=True)
        for row in part.rows:
            sheet.append([int(v) if v.isdigit() else v for v in row])
    sheet.column_dimensions["A"].width = 48


def _filename(figures: monitoring.Figures) -> str:
    p = figures.period
    span = str(p.year) if p.year else f"{p.first.isoformat()}_{p.last.isoformat()}"
    return f"reportbot-monitoring-{span}-{figures.scope}"
